package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/minirag/minirag/record"
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
