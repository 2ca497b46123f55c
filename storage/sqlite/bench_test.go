package sqlite_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/sqlite"
)

// benchText returns n words drawn from a Zipf distribution over a
// vocabulary of 20,000 words, as in natural text.
func benchText(r *rand.Rand, n int) string {
	z := rand.NewZipf(r, 1.1, 1, 19999)
	w := make([]string, n)
	for i := range w {
		w[i] = "w" + strconv.FormatUint(z.Uint64(), 10)
	}
	return strings.Join(w, " ")
}

// benchStore opens a file store with a tenant, a bot and a source.
func benchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(b.Context(), b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := b.Context()
	now := time.Now()
	for _, err := range []error{
		s.CreateTenant(ctx, record.Tenant{ID: "t", Slug: "t", CreatedAt: now, UpdatedAt: now}),
		s.CreateBot(ctx, record.Bot{ID: "b", TenantID: "t", CreatedAt: now, UpdatedAt: now}),
		s.CreateSource(ctx, record.Source{ID: "s", TenantID: "t", BotID: "b", Type: record.SourceText, Status: record.StatusPending}),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func benchDoc(r *rand.Rand, i, chunks int) (record.Document, []record.Chunk) {
	d := record.Document{ID: fmt.Sprintf("d%d", i), TenantID: "t", SourceID: "s", Key: fmt.Sprintf("k%d", i), Title: benchText(r, 4)}
	cs := make([]record.Chunk, chunks)
	for j := range cs {
		cs[j] = record.Chunk{ID: fmt.Sprintf("d%d-c%d", i, j), Ordinal: j, Text: benchText(r, 200)}
	}
	return d, cs
}

// BenchmarkPutDocument stores documents of 10 chunks of 200 words.
func BenchmarkPutDocument(b *testing.B) {
	s := benchStore(b)
	r := rand.New(rand.NewPCG(1, 2))
	i := 0
	for b.Loop() {
		d, cs := benchDoc(r, i%500, 10) // replaces after 500 documents
		if _, err := s.PutDocument(b.Context(), d, cs); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "chunks/s")
}

// BenchmarkSearchLexical searches 10,000 chunks of 200 words for three
// words of rank 30, 300 and 3,000 in the vocabulary, top 10.
func BenchmarkSearchLexical(b *testing.B) {
	s := benchStore(b)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 1000 {
		d, cs := benchDoc(r, i, 10)
		if _, err := s.PutDocument(b.Context(), d, cs); err != nil {
			b.Fatal(err)
		}
	}
	q := storage.LexicalQuery{TenantID: "t", BotID: "b", Text: "w30 w300 w3000", Limit: 10}
	for b.Loop() {
		m, err := s.SearchLexical(b.Context(), q)
		if err != nil || len(m) != 10 {
			b.Fatalf("SearchLexical: %d matches, %v", len(m), err)
		}
	}
}

// BenchmarkClaimJob claims and completes jobs from a queue of 1,000.
func BenchmarkClaimJob(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	now := time.Now()
	n := 0
	for b.Loop() {
		if n%1000 == 0 {
			b.StopTimer()
			for i := range 1000 {
				j := record.Job{ID: fmt.Sprintf("j%d", n+i), TenantID: "t", SourceID: "s", Kind: "ingest", Status: record.JobQueued, RunAt: now}
				if err := s.EnqueueJob(ctx, j); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
		j, err := s.ClaimJob(ctx, "w", now, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.CompleteJob(ctx, j.ID, "w", now); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// ingestDoc is a document shaped like the ingestion benchmark's: one
// chunk of about 130 tokens, a heading path and a little metadata.
func ingestDoc(r *rand.Rand, i int) (record.Document, []record.Chunk) {
	d := record.Document{ID: fmt.Sprintf("d%d", i), TenantID: "t", SourceID: "s", Key: fmt.Sprintf("part/service-%05d.md", i),
		Title: fmt.Sprintf("Service %d", i), ContentHash: fmt.Sprintf("%064x", i), ByteSize: 700, TokenCount: 130,
		Metadata: record.Metadata{"format": "markdown", "path": fmt.Sprintf("part/service-%05d.md", i)}}
	c := record.Chunk{ID: fmt.Sprintf("d%d-c0", i), Ordinal: 0, Text: benchText(r, 100), TokenCount: 130, End: 700,
		HeadingPath: []string{d.Title}}
	return d, []record.Chunk{c}
}

// BenchmarkPutDocumentGroup stores documents of one chunk of 100 words in
// groups of 64, as the ingestion writer does: one InTx per group, one
// PutDocument per document.
func BenchmarkPutDocumentGroup(b *testing.B) {
	s := benchStore(b)
	r := rand.New(rand.NewPCG(5, 6))
	const group = 64
	docs := make([]record.Document, group)
	chunks := make([][]record.Chunk, group)
	i := 0
	for b.Loop() {
		for j := range group {
			docs[j], chunks[j] = ingestDoc(r, i)
			i++
		}
		err := s.InTx(b.Context(), func(tx storage.Storage) error {
			for j := range group {
				if _, err := tx.PutDocument(b.Context(), docs[j], chunks[j]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*group)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkPutDocuments stores the documents of BenchmarkPutDocumentGroup
// in the same groups of 64, one PutDocuments call per group.
func BenchmarkPutDocuments(b *testing.B) {
	s := benchStore(b)
	r := rand.New(rand.NewPCG(5, 6))
	const group = 64
	items := make([]storage.DocumentWithChunks, group)
	i := 0
	for b.Loop() {
		for j := range group {
			items[j].Document, items[j].Chunks = ingestDoc(r, i)
			i++
		}
		if _, err := s.PutDocuments(b.Context(), items); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*group)/b.Elapsed().Seconds(), "docs/s")
}
