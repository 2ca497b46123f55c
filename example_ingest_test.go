package minirag_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore/local"
)

// Open keeps the whole embedded stack in one folder; a source is ingested
// inline, searched, and ingested again without embedding anything.
func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "minirag-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// A folder of markdown documents to ingest.
	docs := filepath.Join(dir, "docs")
	os.MkdirAll(docs, 0o755)
	os.WriteFile(filepath.Join(docs, "backups.md"), []byte("# Backups\n\nA backup of every project is written each night and kept for 30 days.\n"), 0o644)
	os.WriteFile(filepath.Join(docs, "billing.md"), []byte("# Billing\n\nInvoices are sent on the first day of the month.\n"), 0o644)

	c, err := minirag.Open(ctx, filepath.Join(dir, "data"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "owner@acme.example"})
	if err != nil {
		log.Fatal(err)
	}
	h := c.Tenant(b.Tenant.ID)
	bot, err := h.CreateBot(ctx, minirag.BotParams{Name: "Helpdesk"})
	if err != nil {
		log.Fatal(err)
	}
	src, err := h.CreateSource(ctx, minirag.SourceParams{BotID: bot.ID, Name: "Handbook", Type: minirag.SourceFile, Config: loader.FileConfig{Path: docs}})
	if err != nil {
		log.Fatal(err)
	}

	res, err := h.Ingest(ctx, src.ID, minirag.IngestOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("first run: %d added, %d chunks embedded\n", res.Added, res.Embedded)

	results, err := h.Search(ctx, minirag.SearchRequest{BotID: bot.ID, Query: "how long are backups kept?", TopK: 1})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Printf("%s (found by %v): %s\n", r.DocumentTitle, r.FoundBy, r.Text)
	}

	res, err = h.Ingest(ctx, src.ID, minirag.IngestOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("second run: %d unchanged, %d chunks embedded\n", res.Unchanged, res.Embedded)
	// Output:
	// first run: 2 added, 2 chunks embedded
	// Backups (found by [dense lexical]): # Backups
	//
	// A backup of every project is written each night and kept for 30 days.
	// second run: 2 unchanged, 0 chunks embedded
}

// A host queues ingestions (for example from an HTTP handler answering
// 202) and workers drain the queue; Drain runs until it is empty.
func ExampleWorker() {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.MemoryPath)
	if err != nil {
		log.Fatal(err)
	}
	vs, err := local.Open("") // in memory
	if err != nil {
		log.Fatal(err)
	}
	emb, err := hashing.New(hashing.Config{})
	if err != nil {
		log.Fatal(err)
	}
	c, err := minirag.New(minirag.Config{Storage: st, VectorStore: vs, Embedder: emb})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "owner@acme.example"})
	if err != nil {
		log.Fatal(err)
	}
	h := c.Tenant(b.Tenant.ID)
	bot, err := h.CreateBot(ctx, minirag.BotParams{Name: "Helpdesk"})
	if err != nil {
		log.Fatal(err)
	}
	src, err := h.CreateSource(ctx, minirag.SourceParams{BotID: bot.ID, Name: "Opening hours", Type: minirag.SourceText,
		Config: loader.TextConfig{Content: "The office is open from nine to five, Monday to Friday."}})
	if err != nil {
		log.Fatal(err)
	}

	job, err := h.EnqueueIngest(ctx, src.ID)
	if err != nil {
		log.Fatal(err)
	}
	s, _ := h.GetSource(ctx, src.ID)
	fmt.Println("queued:", job.Status, "source:", s.Status)

	w, err := c.NewWorker(minirag.WorkerConfig{Concurrency: 2})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Drain(ctx); err != nil {
		log.Fatal(err)
	}
	job, _ = h.GetJob(ctx, job.ID)
	s, _ = h.GetSource(ctx, src.ID)
	fmt.Println("after drain:", job.Status, "attempts:", job.Attempts, "source:", s.Status, "chunks:", s.ChunkCount)
	// Output:
	// queued: queued source: pending
	// after drain: done attempts: 1 source: ready chunks: 1
}
