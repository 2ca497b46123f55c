package postgres_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage/postgres"
)

// ExampleNew opens a store on a pool the program built, in its own schema.
// It needs a server (DATABASE_URL), so it has no Output and is not run by
// go test.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		panic(err)
	}
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	store, err := postgres.New(ctx, pool, postgres.WithSchema("minirag"))
	if err != nil {
		panic(err)
	}
	defer store.Close() // the pool stays the program's

	now := time.Now()
	err = store.CreateTenant(ctx, record.Tenant{ID: "t1", Name: "Acme", Slug: "acme", CreatedAt: now, UpdatedAt: now})
	fmt.Println(err)
}
