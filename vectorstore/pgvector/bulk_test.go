package pgvector_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
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

// logRecords collects the attributes of the log records with a message.
type logRecords struct {
	mu    sync.Mutex
	attrs []map[string]string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecords) WithGroup(string) slog.Handler            { return l }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	l.mu.Lock()
	l.attrs = append(l.attrs, m)
	l.mu.Unlock()
	return nil
}

// TestBuildIndexSettings: without Options.MaintenanceWorkMem, BuildIndex
// raises the session's maintenance_work_mem to the graph's estimated size
// when the setting is smaller, runs with IndexWorkers as
// max_parallel_maintenance_workers, and hands the connection back to the
// pool with both reset.
func TestBuildIndexSettings(t *testing.T) {
	e := newEnv(t, 1) // one connection: the one BuildIndex used
	ctx := t.Context()
	var mem0, workers0 string
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT current_setting('maintenance_work_mem'), current_setting('max_parallel_maintenance_workers')").Scan(&mem0, &workers0))
	logs := &logRecords{}
	st := e.store(t, pgvector.Options{DeferIndex: true, IndexWorkers: 1, Logger: slog.New(logs)})
	require.NoError(t, st.Init(ctx, vectorstore.Space{Model: "settings", Dims: 8}))
	r := rand.New(rand.NewPCG(7, 8))
	recs := bulkRecs(r, 2000, 8, "t", "s")
	require.NoError(t, st.Upsert(ctx, recs))
	// Smaller than the graph of 2,000 rows (about 1.6MB).
	_, err := e.pool.Exec(ctx, "SET maintenance_work_mem = '1MB'")
	require.NoError(t, err)
	require.NoError(t, st.BuildIndex(ctx))

	var build map[string]string
	for _, a := range logs.attrs {
		if a["msg"] == "pgvector: index build" {
			build = a
		}
	}
	require.NotNil(t, build, "no index build logged")
	kb, ok := strings.CutSuffix(build["maintenance_work_mem"], "kB")
	require.True(t, ok, "maintenance_work_mem %q", build["maintenance_work_mem"])
	n, err := strconv.Atoi(kb)
	require.NoError(t, err)
	require.Greater(t, n, 1024, "maintenance_work_mem not raised above the session's 1MB")
	require.Equal(t, "1", build["workers"])

	var mem, workers string
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT current_setting('maintenance_work_mem'), current_setting('max_parallel_maintenance_workers')").Scan(&mem, &workers))
	require.Equal(t, mem0, mem, "maintenance_work_mem not reset")
	require.Equal(t, workers0, workers, "max_parallel_maintenance_workers not reset")
	ms, err := st.Search(ctx, vectorstore.Query{Vector: recs[11].Vector, TopK: 1, Filter: vectorstore.Filter{TenantID: "t"}})
	require.NoError(t, err)
	require.Equal(t, "s11", ms[0].ID)
}
