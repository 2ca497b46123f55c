package vectorstoretest

import (
	"errors"
	"testing"

	"github.com/minirag/minirag/vectorstore"
)

// testCounter checks vectorstore.Counter (optional): ErrNotInitialized
// before Init, then the records of every tenant, an upsert of an existing
// ID counted once and deletes subtracted.
func (s *suite) testCounter(t *testing.T) {
	ctx := t.Context()
	fresh := s.newStore(t)
	if _, ok := fresh.(vectorstore.Counter); !ok {
		_ = fresh.Close()
		t.Skipf("vectorstoretest: %T does not implement vectorstore.Counter (optional)", fresh)
	}
	_, err := fresh.(vectorstore.Counter).CountRecords(ctx)
	if !errors.Is(err, vectorstore.ErrNotInitialized) {
		t.Errorf("CountRecords before Init: got %v, want ErrNotInitialized", err)
	}
	if err := fresh.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	st, _ := s.open(t)
	c := st.(vectorstore.Counter)
	count := func(what string, want int64) {
		t.Helper()
		n, err := c.CountRecords(ctx)
		if err != nil {
			t.Fatalf("CountRecords %s: %v", what, err)
		}
		if n != want {
			t.Errorf("CountRecords %s: got %d, want %d", what, n, want)
		}
	}
	count("of an empty space", 0)
	mustUpsert(t, st,
		vectorstore.Record{ID: "a", TenantID: "t1", BotID: "b1", SourceID: "s1", Vector: s.vec(1)},
		vectorstore.Record{ID: "b", TenantID: "t1", BotID: "b1", SourceID: "s2", Vector: s.vec(0, 1)},
		vectorstore.Record{ID: "a", TenantID: "t2", BotID: "b2", SourceID: "s3", Vector: s.vec(1, 1)},
	)
	count("after three records in two tenants", 3)
	mustUpsert(t, st, vectorstore.Record{ID: "a", TenantID: "t1", BotID: "b1", SourceID: "s1", Vector: s.vec(0, 0, 1)})
	count("after replacing a record", 3)
	mustDelete(t, st, vectorstore.Filter{TenantID: "t1", SourceIDs: []string{"s2"}})
	count("after deleting one", 2)
	mustDelete(t, st, vectorstore.Filter{TenantID: "t2"})
	count("after deleting a tenant's", 1)
}
