package pgvector_test

import (
	"context"
	"fmt"
	"os"

	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

// ExampleOpen stores and searches vectors on a PostgreSQL with pgvector
// (PGVECTOR_URL). It needs a server, so it has no Output and is not run by
// go test.
func ExampleOpen() {
	ctx := context.Background()
	store, err := pgvector.Open(ctx, os.Getenv("PGVECTOR_URL"), pgvector.Options{Schema: "minirag", EfSearch: 100})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	if err := store.Init(ctx, vectorstore.Space{Model: "text-embedding-3-small", Dims: 1536}); err != nil {
		panic(err)
	}
	vec := make([]float32, 1536)
	vec[0] = 1
	err = store.Upsert(ctx, []vectorstore.Record{{ID: "chunk-1", TenantID: "t1", BotID: "b1", SourceID: "s1", DocumentID: "d1", Vector: vec}})
	if err != nil {
		panic(err)
	}
	matches, err := store.Search(ctx, vectorstore.Query{Vector: vec, TopK: 5, Filter: vectorstore.Filter{TenantID: "t1", BotID: "b1"}})
	fmt.Println(matches, err)
}
