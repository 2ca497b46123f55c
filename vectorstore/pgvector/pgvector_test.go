package pgvector_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/pgvector"
	"github.com/minirag/minirag/vectorstore/vectorstoretest"
)

// env is a pool on the pgvector test server and a fresh schema.
type env struct {
	pool   *pgxpool.Pool
	schema string
}

func newEnv(t *testing.T, maxConns int32) env {
	t.Helper()
	url := testsvc.PGVectorURL(t)
	cfg := testsvc.PoolConfig(t, url, maxConns)
	return env{pool: testsvc.Pool(t, cfg), schema: testsvc.Schema(t, url)}
}

func (e env) store(t *testing.T, opts pgvector.Options) *pgvector.Store {
	t.Helper()
	opts.Schema = e.schema
	st, err := pgvector.New(t.Context(), e.pool, opts)
	require.NoError(t, err)
	return st
}

func TestConformance(t *testing.T) {
	e := newEnv(t, 4)
	newStore := func(t *testing.T) vectorstore.VectorStore { return e.store(t, pgvector.Options{}) }
	vectorstoretest.RunOptions(t, newStore, 8, vectorstoretest.Options{
		Reopen: func(t *testing.T, _ vectorstore.VectorStore) vectorstore.VectorStore { return newStore(t) },
	})
}

// TestConformanceIndexPath runs the suite with every search through the
// HNSW index (no exact scans but for zero query vectors): on pgvector 0.8+
// iterative scans keep filtered results complete.
func TestConformanceIndexPath(t *testing.T) {
	e := newEnv(t, 4)
	st := e.store(t, pgvector.Options{})
	require.NoError(t, st.Init(t.Context(), vectorstore.Space{Model: "probe", Dims: 4}))
	if !st.IterativeScan() {
		t.Skipf("pgvector %s has no iterative index scans: the index path may return fewer than TopK (documented)", st.Version())
	}
	vectorstoretest.RunOptions(t, func(t *testing.T) vectorstore.VectorStore {
		return e.store(t, pgvector.Options{ExactThreshold: -1, EfSearch: 40})
	}, 8, vectorstoretest.Options{
		Approximate: true, // HNSW: the Metadata area checks recall@10 >= 0.95
	})
}

func TestOptionsValidated(t *testing.T) {
	e := newEnv(t, 1)
	for _, o := range []pgvector.Options{
		{TablePrefix: "Bad-Prefix"},
		{M: 1},
		{M: 16, EfConstruction: 8},
		{EfSearch: 5000},
		{FilterEfSearch: 1001},
		{ExactThreshold: -2},
		{MaintenanceWorkMem: "lots"},
		{IndexWorkers: -2},
	} {
		_, err := pgvector.New(t.Context(), e.pool, o)
		require.ErrorIs(t, err, record.ErrInvalidInput, "%+v", o)
		var v *record.ValidationError
		require.ErrorAs(t, err, &v)
	}
	_, err := pgvector.New(t.Context(), nil, pgvector.Options{})
	require.ErrorIs(t, err, record.ErrInvalidInput)
}

func TestTableNames(t *testing.T) {
	st, err := pgvector.New(context.Background(), &pgxpool.Pool{}, pgvector.Options{})
	require.NoError(t, err)
	a := st.TableName("text-embedding-3-small")
	require.Regexp(t, `^minirag_vec_text_embedding_3_small_[0-9a-f]{8}$`, a)
	require.NotEqual(t, a, st.TableName("text_embedding_3_small"), "models differing by punctuation share a table")
	long := st.TableName(`"; DROP TABLE x; -- ` + string(make([]byte, 200)))
	require.LessOrEqual(t, len(long), 59)
	require.Regexp(t, `^[a-z0-9_]+$`, long)
	require.Regexp(t, `^minirag_vec_[0-9a-f]{8}$`, st.TableName("!!!"))
}

// TestSchemaAndIndexes checks the table Init creates: tenant-leading btree
// indexes, the HNSW index with the configured parameters and the GIN index
// of the metadata column.
func TestSchemaAndIndexes(t *testing.T) {
	e := newEnv(t, 1)
	ctx := t.Context()
	st := e.store(t, pgvector.Options{M: 8, EfConstruction: 32})
	defer st.Close()
	require.NoError(t, st.Init(ctx, vectorstore.Space{Model: "idx-model", Dims: 5}))
	rows, err := e.pool.Query(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname`,
		e.schema, st.TableName("idx-model"))
	require.NoError(t, err)
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, defs, 6, "%q", defs)
	var hnsw, gin string
	for _, d := range defs {
		if strings.Contains(d, "USING hnsw") {
			hnsw = d
			continue
		}
		if strings.Contains(d, "USING gin") {
			gin = d
			continue
		}
		require.Regexp(t, `\(tenant_id(, |\))`, d, "every btree index leads with tenant_id")
	}
	require.Regexp(t, `vector_cosine_ops`, hnsw)
	require.Regexp(t, `m='?8'?`, hnsw)
	require.Regexp(t, `ef_construction='?32'?`, hnsw)
	require.Contains(t, gin, "(metadata)", "the metadata column has a GIN index")
	require.Regexp(t, `fastupdate='?off'?`, gin, "no pending list for searches to read through")
}

// TestLargeDimsNoIndex: above 2000 dimensions there is no HNSW index and
// searches are exact.
func TestLargeDimsNoIndex(t *testing.T) {
	e := newEnv(t, 1)
	ctx := t.Context()
	st := e.store(t, pgvector.Options{ExactThreshold: -1})
	defer st.Close()
	const dims = 2048
	require.NoError(t, st.Init(ctx, vectorstore.Space{Model: "big", Dims: dims}))
	v := func(i int) []float32 { x := make([]float32, dims); x[i] = 1; return x }
	require.NoError(t, st.Upsert(ctx, []vectorstore.Record{{ID: "a", TenantID: "t", Vector: v(0)}, {ID: "b", TenantID: "t", Vector: v(1)}}))
	ms, err := st.Search(ctx, vectorstore.Query{Vector: v(1), TopK: 1, Filter: vectorstore.Filter{TenantID: "t"}})
	require.NoError(t, err)
	require.Equal(t, []vectorstore.Match{{ID: "b", Score: 1}}, ms)
}

// TestConcurrentInit: several stores (each on its own pool, as separate
// processes would be) initialize the same space at once.
func TestConcurrentInit(t *testing.T) {
	url := testsvc.PGVectorURL(t)
	schema := testsvc.Schema(t, url)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		pool := testsvc.Pool(t, testsvc.PoolConfig(t, url, 1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := pgvector.New(t.Context(), pool, pgvector.Options{Schema: schema})
			if err == nil {
				err = st.Init(t.Context(), vectorstore.Space{Model: "shared", Dims: 4})
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

// TestFilteredRecallSmallTenant: a tenant owning 1% of the rows still gets
// its TopK nearest, on both search paths.
func TestFilteredRecallSmallTenant(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts 3000 vectors")
	}
	e := newEnv(t, 2)
	ctx := t.Context()
	const dims, n, k = 16, 3000, 10
	r := rand.New(rand.NewPCG(3, 4))
	randVec := func() []float32 {
		v := make([]float32, dims)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	var recs []vectorstore.Record
	small := map[string][]float32{}
	for i := range n {
		tenant := "big"
		if i%100 == 0 {
			tenant = "small"
		}
		rec := vectorstore.Record{ID: fmt.Sprintf("r%d", i), TenantID: tenant, Vector: randVec()}
		if tenant == "small" {
			small[rec.ID] = rec.Vector
		}
		recs = append(recs, rec)
	}
	for _, threshold := range []int{0 /* default: exact for 30 rows */, -1 /* index */} {
		t.Run(fmt.Sprintf("threshold%d", threshold), func(t *testing.T) {
			st := e.store(t, pgvector.Options{ExactThreshold: threshold, EfSearch: 20})
			defer st.Close()
			require.NoError(t, st.Init(ctx, vectorstore.Space{Model: fmt.Sprintf("recall%d", threshold), Dims: dims}))
			require.NoError(t, st.Upsert(ctx, recs))
			if threshold == -1 && !st.IterativeScan() {
				t.Skipf("pgvector %s: no iterative scans, filtered index search may return fewer than k (documented)", st.Version())
			}
			found, total := 0, 0
			for range 10 {
				q := randVec()
				type sc struct {
					id string
					s  float64
				}
				var want []sc
				for id, v := range small {
					want = append(want, sc{id, cos(q, v)})
				}
				sort.Slice(want, func(i, j int) bool { return want[i].s > want[j].s })
				ms, err := st.Search(ctx, vectorstore.Query{Vector: q, TopK: k, Filter: vectorstore.Filter{TenantID: "small"}})
				require.NoError(t, err)
				require.Len(t, ms, k, "a small tenant gets TopK matches")
				got := map[string]bool{}
				for _, m := range ms {
					_, ok := small[m.ID]
					require.True(t, ok, "match %s is not the small tenant's", m.ID)
					got[m.ID] = true
				}
				for _, w := range want[:k] {
					total++
					if got[w.id] {
						found++
					}
				}
			}
			recall := float64(found) / float64(total)
			t.Logf("recall@%d for a 1%% tenant: %.3f", k, recall)
			if threshold == 0 {
				require.Equal(t, 1.0, recall, "exact path")
			} else {
				require.GreaterOrEqual(t, recall, 0.9)
			}
		})
	}
}

func TestContextCancelled(t *testing.T) {
	e := newEnv(t, 1)
	st := e.store(t, pgvector.Options{})
	defer st.Close()
	require.NoError(t, st.Init(t.Context(), vectorstore.Space{Model: "ctx", Dims: 4}))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := st.Search(ctx, vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 1, Filter: vectorstore.Filter{TenantID: "t"}})
	require.ErrorIs(t, err, context.Canceled)
	err = st.Upsert(ctx, []vectorstore.Record{{ID: "a", TenantID: "t", Vector: []float32{1, 0, 0, 0}}})
	require.ErrorIs(t, err, context.Canceled)
	var se *pgvector.ServerError
	require.False(t, errors.As(err, &se))
}

func TestClosed(t *testing.T) {
	e := newEnv(t, 1)
	st := e.store(t, pgvector.Options{})
	require.NoError(t, st.Init(t.Context(), vectorstore.Space{Model: "closed", Dims: 4}))
	require.NoError(t, st.Close())
	require.NoError(t, st.Close())
	_, err := st.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 1, Filter: vectorstore.Filter{TenantID: "t"}})
	require.ErrorIs(t, err, pgvector.ErrClosed)
	// The caller's pool is still open.
	require.NoError(t, e.pool.Ping(t.Context()))
}

func TestOpenOwnsPool(t *testing.T) {
	url := testsvc.PGVectorURL(t)
	lite, err := testsvc.IsPGlite(t.Context(), url)
	require.NoError(t, err)
	if lite {
		url += "&default_query_exec_mode=simple_protocol"
	}
	schema := testsvc.Schema(t, url)
	st, err := pgvector.Open(t.Context(), url, pgvector.Options{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, st.Init(t.Context(), vectorstore.Space{Model: "open", Dims: 4}))
	require.NoError(t, st.Upsert(t.Context(), []vectorstore.Record{{ID: "a", TenantID: "t", Vector: []float32{0, 1, 0, 0}}}))
	require.NoError(t, st.Close())
}

func cos(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}
