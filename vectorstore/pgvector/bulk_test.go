package pgvector_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

func bulkRecs(r *rand.Rand, n, dims int, tenant, prefix string) []vectorstore.Record {
	recs := make([]vectorstore.Record, n)
	for i := range recs {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		recs[i] = vectorstore.Record{ID: fmt.Sprint(prefix, i), TenantID: tenant, BotID: fmt.Sprint("b", i%3),
			SourceID: fmt.Sprint("s", i%7), DocumentID: fmt.Sprint("d", i/4), Vector: v}
	}
	return recs
}

// TestBulkUpsert: a batch large enough for the COPY path (or its INSERT
// fallback on PGlite) stores every record once, the last of a duplicated
// key winning, replaces existing records, and keeps tenants apart.
func TestBulkUpsert(t *testing.T) {
	e := newEnv(t, 2)
	ctx := t.Context()
	st := e.store(t, pgvector.Options{})
	require.NoError(t, st.Init(ctx, vectorstore.Space{Model: "bulk", Dims: 8}))
	r := rand.New(rand.NewPCG(1, 2))
	recs := bulkRecs(r, 1200, 8, "t1", "c")
	// A duplicate key in the batch: the last one wins.
	dup := recs[5]
	dup.Vector = recs[900].Vector
	dup.BotID = "moved"
	recs = append(recs, dup)
	require.NoError(t, st.Upsert(ctx, recs))
	require.NoError(t, st.Upsert(ctx, bulkRecs(r, 300, 8, "t2", "c")))

	var n int
	table := pgx.Identifier{e.schema, st.TableName("bulk")}.Sanitize()
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE tenant_id = 't1'").Scan(&n))
	require.Equal(t, 1200, n)
	var bot string
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT bot_id FROM "+table+" WHERE tenant_id = 't1' AND id = 'c5'").Scan(&bot))
	require.Equal(t, "moved", bot)

	// Each record is its own nearest neighbour, in its tenant only.
	for _, i := range []int{0, 17, 900, 1199} {
		ms, err := st.Search(ctx, vectorstore.Query{Vector: recs[i].Vector, TopK: 2, Filter: vectorstore.Filter{TenantID: "t1"}})
		require.NoError(t, err)
		require.NotEmpty(t, ms)
		if i == 900 { // c5 now holds the same vector
			require.ElementsMatch(t, []string{"c5", "c900"}, []string{ms[0].ID, ms[1].ID})
		} else {
			require.Equal(t, recs[i].ID, ms[0].ID)
		}
	}
	// Replacing in bulk updates in place.
	again := bulkRecs(r, 1200, 8, "t1", "c")
	require.NoError(t, st.Upsert(ctx, again))
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n))
	require.Equal(t, 1500, n)
	ms, err := st.Search(ctx, vectorstore.Query{Vector: again[42].Vector, TopK: 1, Filter: vectorstore.Filter{TenantID: "t1"}})
	require.NoError(t, err)
	require.Equal(t, "c42", ms[0].ID)
	require.InDelta(t, 1, ms[0].Score, 1e-5)
}

// TestDeferIndex: with DeferIndex a new table has no HNSW index and
// searches are exact; BuildIndex creates it concurrently and Reindex
// rebuilds it, results unchanged.
func TestDeferIndex(t *testing.T) {
	e := newEnv(t, 2)
	ctx := t.Context()
	st := e.store(t, pgvector.Options{DeferIndex: true, ExactThreshold: -1, MaintenanceWorkMem: "64MB"})
	require.NoError(t, st.Init(ctx, vectorstore.Space{Model: "deferred", Dims: 8}))
	index := pgx.Identifier{e.schema, st.TableName("deferred") + "_hnsw"}.Sanitize()
	var exists bool
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", index).Scan(&exists))
	require.False(t, exists, "index created despite DeferIndex")

	r := rand.New(rand.NewPCG(3, 4))
	recs := bulkRecs(r, 400, 8, "t", "x")
	require.NoError(t, st.Upsert(ctx, recs))
	search := func() []vectorstore.Match {
		ms, err := st.Search(ctx, vectorstore.Query{Vector: recs[7].Vector, TopK: 3, Filter: vectorstore.Filter{TenantID: "t"}})
		require.NoError(t, err)
		return ms
	}
	before := search()
	require.Equal(t, "x7", before[0].ID)

	require.NoError(t, st.BuildIndex(ctx))
	var valid bool
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", index).Scan(&valid))
	require.True(t, valid)
	require.NoError(t, st.BuildIndex(ctx), "BuildIndex again does nothing")
	require.Equal(t, "x7", search()[0].ID)
	require.NoError(t, st.Reindex(ctx))
	require.Equal(t, "x7", search()[0].ID)

	// A new Store on the existing table finds the index.
	st2 := e.store(t, pgvector.Options{DeferIndex: true})
	require.NoError(t, st2.Init(ctx, vectorstore.Space{Model: "deferred", Dims: 8}))
	ms, err := st2.Search(ctx, vectorstore.Query{Vector: recs[9].Vector, TopK: 1, Filter: vectorstore.Filter{TenantID: "t"}})
	require.NoError(t, err)
	require.Equal(t, "x9", ms[0].ID)
}

// TestSearchPathWithoutExtension: a role whose search_path does not hold
// the vector extension's schema (docs/postgres.md recommends
// search_path = minirag) can Init, upsert (both paths), search and build
// the index: the store qualifies the extension's type, operator and
// operator class.
func TestSearchPathWithoutExtension(t *testing.T) {
	url := testsvc.PGVectorURL(t)
	schema := testsvc.Schema(t, url)
	cfg := testsvc.PoolConfig(t, url, 2)
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool := testsvc.Pool(t, cfg)
	ctx := t.Context()
	var path string
	require.NoError(t, pool.QueryRow(ctx, "SHOW search_path").Scan(&path))
	if path != schema && path != `"`+schema+`"` {
		t.Skipf("the pgvector test server ignores the startup search_path (got %q; PGlite serves every connection from one session)", path)
	}
	var visible bool
	require.NoError(t, pool.QueryRow(ctx, "SELECT to_regtype('vector') IS NOT NULL").Scan(&visible))
	require.False(t, visible, "precondition: the vector type is not on the search_path")

	st, err := pgvector.New(ctx, pool, pgvector.Options{Schema: schema, DeferIndex: true})
	require.NoError(t, err)
	require.NoError(t, st.Init(ctx, vectorstore.Space{Model: "path", Dims: 4}))
	r := rand.New(rand.NewPCG(5, 6))
	require.NoError(t, st.Upsert(ctx, bulkRecs(r, 10, 4, "t", "small")))
	big := bulkRecs(r, 600, 4, "t", "big")
	require.NoError(t, st.Upsert(ctx, big))
	require.NoError(t, st.BuildIndex(ctx))
	for _, th := range []int{0, -1} {
		s2, err := pgvector.New(ctx, pool, pgvector.Options{Schema: schema, ExactThreshold: th})
		require.NoError(t, err)
		require.NoError(t, s2.Init(ctx, vectorstore.Space{Model: "path", Dims: 4}))
		ms, err := s2.Search(ctx, vectorstore.Query{Vector: big[3].Vector, TopK: 1, Filter: vectorstore.Filter{TenantID: "t"}})
		require.NoError(t, err)
		require.Equal(t, "big3", ms[0].ID)
	}
}
