package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/sqlite"
)

// Open a private in-memory database and store a tenant in it.
func Example() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	now := time.Now()
	err = store.CreateTenant(ctx, record.Tenant{ID: "t1", Name: "Acme", Slug: "acme", CreatedAt: now, UpdatedAt: now})
	if err != nil {
		log.Fatal(err)
	}
	t, err := store.GetTenantBySlug(ctx, "acme")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.ID, t.Name, t.CreatedAt.Location())

	// A second tenant with the same slug is a conflict.
	err = store.CreateTenant(ctx, record.Tenant{ID: "t2", Name: "Other", Slug: "acme", CreatedAt: now, UpdatedAt: now})
	fmt.Println(err)
	// Output:
	// t1 Acme UTC
	// sqlite: create tenant: minirag: conflict: tenant slug already used
}

// Store several documents in one call (the optional
// storage.DocumentBatcher capability), found by type assertion as a caller
// holding a storage.Storage would.
func ExampleStore_PutDocuments() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	for _, err := range []error{
		store.CreateTenant(ctx, record.Tenant{ID: "t1", Name: "Acme", Slug: "acme", CreatedAt: now, UpdatedAt: now}),
		store.CreateBot(ctx, record.Bot{ID: "b1", TenantID: "t1", Name: "Help", CreatedAt: now, UpdatedAt: now}),
		store.CreateSource(ctx, record.Source{ID: "s1", TenantID: "t1", BotID: "b1", Name: "Docs", Type: record.SourceText,
			Status: record.StatusPending, CreatedAt: now, UpdatedAt: now}),
	} {
		if err != nil {
			log.Fatal(err)
		}
	}

	var s storage.Storage = store
	items := []storage.DocumentWithChunks{
		{Document: record.Document{ID: "d1", TenantID: "t1", SourceID: "s1", Key: "install.md", Title: "Install", CreatedAt: now, UpdatedAt: now},
			Chunks: []record.Chunk{{ID: "c1", Text: "Run the installer."}}},
		{Document: record.Document{ID: "d2", TenantID: "t1", SourceID: "s1", Key: "backup.md", Title: "Backups", CreatedAt: now, UpdatedAt: now},
			Chunks: []record.Chunk{{ID: "c2", Text: "Backups run nightly."}, {ID: "c3", Ordinal: 1, Text: "Restore with one command."}}},
	}
	if b, ok := s.(storage.DocumentBatcher); ok {
		docs, err := b.PutDocuments(ctx, items)
		if err != nil {
			log.Fatal(err)
		}
		for _, d := range docs {
			fmt.Println(d.Key, d.BotID, d.ChunkCount)
		}
	}

	// A chunk ID already used fails the whole call, naming the item.
	items[0].Document.Key, items[0].Document.ID = "other.md", "d3"
	items[0].Chunks = []record.Chunk{{ID: "c3", Text: "Taken."}}
	_, err = store.PutDocuments(ctx, items[:1])
	fmt.Println(err)
	// Output:
	// install.md b1 1
	// backup.md b1 2
	// sqlite: put documents: documents[0] (key "other.md"): minirag: conflict: duplicate chunk id
}
