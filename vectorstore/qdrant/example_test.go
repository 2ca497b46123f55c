package qdrant_test

import (
	"context"
	"fmt"
	"log"

	"github.com/minirag/minirag/internal/qdrantfake"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/qdrant"
)

// Example writes two tenants' vectors and searches one tenant. It runs
// against the in-process fake server; against a real Qdrant, use its host
// and gRPC port (6334) instead.
func Example() {
	srv, err := qdrantfake.Listen(qdrantfake.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	ctx := context.Background()
	store, err := qdrant.Dial(ctx, qdrant.Config{Host: srv.Host(), Port: srv.Port()})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	if err := store.Init(ctx, vectorstore.Space{Model: "demo-embedder", Dims: 3}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("collection:", store.Collection())

	err = store.Upsert(ctx, []vectorstore.Record{
		{ID: "chunk-a", TenantID: "acme", BotID: "support", Vector: []float32{1, 0, 0}},
		{ID: "chunk-b", TenantID: "acme", BotID: "support", Vector: []float32{1, 1, 0}},
		{ID: "chunk-c", TenantID: "acme", BotID: "sales", Vector: []float32{1, 0, 0}},
		{ID: "chunk-z", TenantID: "globex", BotID: "support", Vector: []float32{1, 0, 0}},
	})
	if err != nil {
		log.Fatal(err)
	}

	matches, err := store.Search(ctx, vectorstore.Query{
		Vector: []float32{2, 0, 0},
		TopK:   10,
		Filter: vectorstore.Filter{TenantID: "acme", BotID: "support"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range matches {
		fmt.Printf("%s %.3f\n", m.ID, m.Score)
	}

	_, err = store.Search(ctx, vectorstore.Query{Vector: []float32{1, 0, 0}, TopK: 1})
	fmt.Println(err)
	// Output:
	// collection: minirag_demo-embedder
	// chunk-a 1.000
	// chunk-b 0.707
	// qdrant: search: minirag: invalid input: tenant_id: is required
}
