package local_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/local"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "minirag-vectors")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := local.Open(dir) // "" keeps everything in memory only
	if err != nil {
		log.Fatal(err)
	}
	space := vectorstore.Space{Model: "demo", Dims: 3}
	if err := store.Init(ctx, space); err != nil {
		log.Fatal(err)
	}
	err = store.Upsert(ctx, []vectorstore.Record{
		{ID: "chunk-1", TenantID: "acme", BotID: "support", Vector: []float32{1, 0, 0}},
		{ID: "chunk-2", TenantID: "acme", BotID: "support", Vector: []float32{1, 1, 0}},
		{ID: "chunk-3", TenantID: "acme", BotID: "sales", Vector: []float32{0, 0, 1}},
		{ID: "chunk-1", TenantID: "globex", Vector: []float32{1, 0, 0}},
	})
	if err != nil {
		log.Fatal(err)
	}
	store.Close()

	// A new Store on the same folder finds the records again.
	store, err = local.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Init(ctx, space); err != nil {
		log.Fatal(err)
	}
	matches, err := store.Search(ctx, vectorstore.Query{
		Vector: []float32{2, 0, 0},
		TopK:   5,
		Filter: vectorstore.Filter{TenantID: "acme", BotID: "support"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range matches {
		fmt.Printf("%s %.3f\n", m.ID, m.Score)
	}
	// Output:
	// chunk-1 1.000
	// chunk-2 0.707
}
