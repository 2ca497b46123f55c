package minirag

// The push faults and the tenant erase on PostgreSQL + pgvector and
// PostgreSQL + Qdrant (internal/qdrantfake); skipped without
// MINIRAG_TEST_POSTGRES_URL (and MINIRAG_TEST_PGVECTOR_URL).

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/qdrantfake"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/vectorstore/qdrant"
)

func TestPushFaultsPostgresPGVector(t *testing.T) {
	s := postgresFaultStack(t)
	n := runFaultOpList(t, s, pushFaultOps)
	t.Logf("PostgreSQL + pgvector: %d faults injected over %d push operations, each checked and retried", n, len(pushFaultOps))
}

// TestDeleteTenantPostgresPGVector: the erase check, and its faults, on
// PostgreSQL + pgvector.
func TestDeleteTenantPostgresPGVector(t *testing.T) {
	s := postgresFaultStack(t)
	checkDeleteTenant(t, s.c, s.st, s.vs)
	checkDeleteTenantFaults(t, s)
}

// TestDeleteTenantPostgresQdrant: the erase check, and its faults, on
// PostgreSQL + Qdrant (internal/qdrantfake).
func TestDeleteTenantPostgresQdrant(t *testing.T) {
	ctx := t.Context()
	pgURL := testsvc.PostgresURL(t)
	st, err := postgres.New(ctx, testsvc.Pool(t, testsvc.PoolConfig(t, pgURL, 4)), postgres.WithSchema(testsvc.Schema(t, pgURL)))
	require.NoError(t, err)
	fake := qdrantfake.Start(t, qdrantfake.Options{})
	vs, err := qdrant.New(fake.Client(t), qdrant.Options{CollectionPrefix: "erase_"})
	require.NoError(t, err)
	s := newFaultStack(t, st, vs)
	checkDeleteTenant(t, s.c, s.st, s.vs)
	checkDeleteTenantFaults(t, s)
}
