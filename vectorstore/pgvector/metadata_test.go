package pgvector_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

// metaValues are the values the generated metadata holds: every JSON
// kind, arrays (empty, of nulls, mixed, nested), strings that look like
// numbers, times, non-ASCII and case.
var metaValues = []any{
	nil, "a", "b", "c", "", "10", "B", "é", "2024-01-01T00:00:00.000000Z", "2025-06-30T12:00:00.000000Z",
	1.0, 2.0, 10.0, -1.5, 0.0, 1e21, 0.30000000000000004, true, false,
	[]any{}, []any{nil}, []any{"a", "b"}, []any{1.0, "a"}, []any{[]any{"a"}}, []any{[]any{1.0}, 3.0},
	[]any{true, nil}, []any{"2024-01-01T00:00:00.000000Z", 2.0}, map[string]any{"a": 1.0}, map[string]any{},
}

// filterScalars are the values and bounds generated filters use.
var (
	filterScalars = []any{"a", "b", "c", "", "10", "B", "é", "zz", 1.0, 2.0, 3.0, 10.0, 0.0, -1.5, 1e21, 0.3, true, false}
	numberBounds  = []any{-2.0, 0.0, 0.3, 0.30000000000000004, 1.0, 2.0, 5.0, 10.0, 1e21}
	stringBounds  = []any{"", "a", "b", "B", "c", "10", "é", "2024-06-01T00:00:00.000000Z"}
	metaFields    = []string{"f1", "f2", "f3"}
)

func randMeta(r *rand.Rand) record.Metadata {
	m := record.Metadata{}
	for _, f := range metaFields {
		if r.IntN(5) == 0 {
			continue // missing
		}
		m[f] = metaValues[r.IntN(len(metaValues))]
	}
	return m
}

func randFilter(r *rand.Rand, depth int) filter.Filter {
	field := metaFields[r.IntN(len(metaFields))]
	pick := func(vs []any) any { return vs[r.IntN(len(vs))] }
	n := 7
	if depth >= 3 {
		n = 4 // leaves only
	}
	switch r.IntN(n) {
	case 0:
		return filter.Eq(field, pick(filterScalars))
	case 1:
		vs := make([]any, 1+r.IntN(3))
		for i := range vs {
			vs[i] = pick(filterScalars)
		}
		return filter.In(field, vs...)
	case 2:
		bounds := numberBounds
		if r.IntN(2) == 0 {
			bounds = stringBounds
		}
		f := filter.Filter{Op: filter.OpRange, Field: field}
		switch r.IntN(3) {
		case 0:
			f.Gt = pick(bounds)
		case 1:
			f.Gte = pick(bounds)
		}
		if f.Gt == nil && f.Gte == nil || r.IntN(2) == 0 {
			if r.IntN(2) == 0 {
				f.Lt = pick(bounds)
			} else {
				f.Lte = pick(bounds)
			}
		}
		return f
	case 3:
		return filter.Exists(field)
	case 4:
		return filter.Not(randFilter(r, depth+1))
	case 5:
		return filter.And(randFilter(r, depth+1), randFilter(r, depth+1))
	default:
		return filter.Or(randFilter(r, depth+1), randFilter(r, depth+1), randFilter(r, depth+1))
	}
}

func metaRecords(r *rand.Rand, tenant string, n, dims int) []vectorstore.Record {
	recs := make([]vectorstore.Record, n)
	for i := range recs {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		recs[i] = vectorstore.Record{ID: fmt.Sprintf("m%03d", i), TenantID: tenant, BotID: "bot", Vector: v, Metadata: randMeta(r)}
	}
	return recs
}

func wantMatching(recs []vectorstore.Record, f filter.Filter) []string {
	var ids []string
	for _, r := range recs {
		if f.Match(r.Metadata) {
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

func listIDs(t *testing.T, st vectorstore.VectorStore, f vectorstore.Filter) []string {
	t.Helper()
	recs, next, err := st.List(t.Context(), f, "", 10_000)
	require.NoError(t, err)
	require.Empty(t, next)
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

func searchIDs(t *testing.T, st vectorstore.VectorStore, q []float32, f vectorstore.Filter, k int) []string {
	t.Helper()
	ms, err := st.Search(t.Context(), vectorstore.Query{Vector: q, TopK: k, Filter: f})
	require.NoError(t, err)
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestMetadataFilterMatchesReference: generated filters over generated
// metadata (every JSON kind, arrays, missing fields) select exactly the
// records filter.Match selects, in List, Search on the exact path and on
// the HNSW index path, and Delete; another tenant's identical records are
// never returned.
func TestMetadataFilterMatchesReference(t *testing.T) {
	e := newEnv(t, 2)
	ctx := t.Context()
	const dims, n = 8, 120
	r := rand.New(rand.NewPCG(10, 11))
	recs := metaRecords(r, "ta", n, dims)
	other := make([]vectorstore.Record, n)
	for i, rec := range recs {
		rec.TenantID = "tb"
		other[i] = rec
	}
	space := vectorstore.Space{Model: "meta-ref", Dims: dims}
	exact := e.store(t, pgvector.Options{})
	defer exact.Close()
	require.NoError(t, exact.Init(ctx, space))
	require.NoError(t, exact.Upsert(ctx, append(slices.Clone(recs), other...)))
	index := e.store(t, pgvector.Options{ExactThreshold: -1})
	defer index.Close()
	require.NoError(t, index.Init(ctx, space))

	q := recs[0].Vector
	fixed := []filter.Filter{
		filter.Eq("f1", "a"), filter.Eq("f1", 1.0), filter.Eq("f1", "10"), filter.Eq("f1", 10.0), filter.Eq("f2", false),
		filter.In("f1", "a", 2.0, true), filter.Exists("f1"), filter.Not(filter.Exists("f1")), filter.Not(filter.Eq("f1", "a")),
		filter.Gte("f1", 1.0), filter.Lt("f1", "b"), filter.Between("f2", "2024-01-01T00:00:00.000000Z", "2025-01-01T00:00:00.000000Z"),
		filter.Gt("f3", 0.3), filter.Lte("f3", 0.30000000000000004), filter.Eq("f1", "a\x00b"),
		filter.Or(filter.Eq("f1", "a"), filter.Not(filter.Exists("f2"))),
	}
	sizes := map[int]int{}
	for i := range 400 {
		f := randFilter(r, 1)
		if i < len(fixed) {
			f = fixed[i]
		}
		require.NoError(t, f.Validate("filter"))
		want := wantMatching(recs, f)
		sizes[min(len(want)/10, 10)]++
		vf := vectorstore.Filter{TenantID: "ta", Metadata: f}
		js, _ := f.MarshalJSON()
		require.Equal(t, want, listIDs(t, exact, vf), "list %s", js)
		require.Equal(t, want, searchIDs(t, exact, q, vf, n), "exact search %s", js)
		if i%4 == 0 {
			require.Equal(t, want, searchIDs(t, index, q, vf, n), "index search %s", js)
		}
	}
	t.Logf("filters by matching records (tens): %v", sizes)

	// Delete by a metadata filter removes exactly the matching records of
	// the tenant.
	del := filter.Or(filter.Eq("f1", "a"), filter.Gte("f2", 2.0))
	require.NoError(t, exact.Delete(ctx, vectorstore.Filter{TenantID: "ta", Metadata: del}))
	require.Equal(t, wantMatching(recs, filter.Not(del)), listIDs(t, exact, vectorstore.Filter{TenantID: "ta"}))
	require.Len(t, listIDs(t, exact, vectorstore.Filter{TenantID: "tb"}), n, "the other tenant keeps every record")
}

// TestSetMetadata: SetMetadata replaces the metadata of the records its
// filter selects (by document, by a metadata condition), in the tenant
// only; nil clears it; the vector stays.
func TestSetMetadata(t *testing.T) {
	e := newEnv(t, 1)
	ctx := t.Context()
	st := e.store(t, pgvector.Options{})
	defer st.Close()
	require.NoError(t, st.Init(ctx, vectorstore.Space{Model: "setmeta", Dims: 4}))
	v := []float32{1, 0, 0, 0}
	var recs []vectorstore.Record
	for _, tenant := range []string{"ta", "tb"} {
		for i, doc := range []string{"d1", "d1", "d2"} {
			recs = append(recs, vectorstore.Record{ID: fmt.Sprint("c", i), TenantID: tenant, DocumentID: doc, Vector: v,
				Metadata: record.Metadata{"lang": "en", "n": i}})
		}
	}
	require.NoError(t, st.Upsert(ctx, recs))
	lang := func(tenant, l string) []string {
		return listIDs(t, st, vectorstore.Filter{TenantID: tenant, Metadata: filter.Eq("lang", l)})
	}
	require.NoError(t, st.SetMetadata(ctx, vectorstore.Filter{TenantID: "ta", DocumentIDs: []string{"d1"}}, record.Metadata{"lang": "fr"}))
	require.Equal(t, []string{"c0", "c1"}, lang("ta", "fr"))
	require.Equal(t, []string{"c2"}, lang("ta", "en"))
	require.Equal(t, []string{"c0", "c1", "c2"}, lang("tb", "en"), "the other tenant is untouched")
	require.Empty(t, lang("tb", "fr"))

	// By a metadata condition; the numbers ints were stored as float64.
	require.NoError(t, st.SetMetadata(ctx, vectorstore.Filter{TenantID: "ta", Metadata: filter.Eq("n", 2)}, record.Metadata{"lang": "de"}))
	require.Equal(t, []string{"c2"}, lang("ta", "de"))
	// nil clears: Not(Exists) now matches.
	require.NoError(t, st.SetMetadata(ctx, vectorstore.Filter{TenantID: "ta", IDs: []string{"c0"}}, nil))
	require.Equal(t, []string{"c0"}, listIDs(t, st, vectorstore.Filter{TenantID: "ta", Metadata: filter.Not(filter.Exists("lang"))}))
	ms, err := st.Search(ctx, vectorstore.Query{Vector: v, TopK: 1, Filter: vectorstore.Filter{TenantID: "ta", IDs: []string{"c0"}}})
	require.NoError(t, err)
	require.Equal(t, []vectorstore.Match{{ID: "c0", Score: 1}}, ms, "the vector is kept")

	// Invalid input: errors name the field; nothing changes.
	err = st.SetMetadata(ctx, vectorstore.Filter{TenantID: "ta"}, record.Metadata{"bad key": 1})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	require.ErrorContains(t, err, "metadata")
	err = st.SetMetadata(ctx, vectorstore.Filter{TenantID: "ta"}, record.Metadata{"k": "a\x00b"})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	require.ErrorContains(t, err, "metadata.k")
	err = st.SetMetadata(ctx, vectorstore.Filter{}, record.Metadata{"k": 1})
	require.ErrorIs(t, err, record.ErrEmptyTenant)
	err = st.SetMetadata(ctx, vectorstore.Filter{TenantID: "ta", Metadata: filter.Filter{Op: "eq", Field: "k"}}, nil)
	require.ErrorIs(t, err, record.ErrInvalidInput)
	require.ErrorContains(t, err, "filter")
	require.Equal(t, []string{"c1"}, lang("ta", "fr"))
}

// TestMetadataInvalidInput: Upsert rejects bad metadata (naming the
// record and key) and stores nothing of the batch; Search, List and
// Delete reject an invalid metadata filter.
func TestMetadataInvalidInput(t *testing.T) {
	e := newEnv(t, 1)
	ctx := t.Context()
	st := e.store(t, pgvector.Options{})
	defer st.Close()
	require.NoError(t, st.Init(ctx, vectorstore.Space{Model: "metabad", Dims: 4}))
	v := []float32{0, 1, 0, 0}
	for _, m := range []record.Metadata{{"bad key": 1}, {"k": "nul\x00"}, {"k": []any{map[string]any{"x\x00": 1}}}} {
		err := st.Upsert(ctx, []vectorstore.Record{{ID: "ok", TenantID: "t", Vector: v}, {ID: "bad", TenantID: "t", Vector: v, Metadata: m}})
		require.ErrorIs(t, err, record.ErrInvalidInput, "%v", m)
		require.ErrorContains(t, err, "record 1")
	}
	require.Empty(t, listIDs(t, st, vectorstore.Filter{TenantID: "t"}))
	bad := vectorstore.Filter{TenantID: "t", Metadata: filter.In("k")}
	_, err := st.Search(ctx, vectorstore.Query{Vector: v, TopK: 1, Filter: bad})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	_, _, err = st.List(ctx, bad, "", 10)
	require.ErrorIs(t, err, record.ErrInvalidInput)
	require.ErrorIs(t, st.Delete(ctx, bad), record.ErrInvalidInput)
	err = st.Delete(ctx, vectorstore.Filter{TenantID: "t", Metadata: filter.Gte("k", "a\x00")})
	require.ErrorIs(t, err, record.ErrInvalidInput)
}

// TestUpgradeAddsMetadata: Init on a table of the layout before metadata
// (no metadata column, no GIN index) adds both in place, keeps every row
// (with empty metadata, which Not and Exists treat as missing), and the
// next Init sends no DDL.
func TestUpgradeAddsMetadata(t *testing.T) {
	e := newEnv(t, 1)
	ctx := t.Context()
	st := e.store(t, pgvector.Options{})
	defer st.Close()
	name := st.TableName("upgrade-model")
	table := pgx.Identifier{e.schema, name}.Sanitize()
	var extSchema string
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT n.nspname FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
		WHERE x.extname = 'vector'`).Scan(&extSchema))
	vec := pgx.Identifier{extSchema}.Sanitize()
	// The layout Init created before issue 10.
	for _, q := range []string{
		`CREATE TABLE ` + table + ` (tenant_id text NOT NULL, id text NOT NULL, bot_id text NOT NULL DEFAULT '',
			source_id text NOT NULL DEFAULT '', document_id text NOT NULL DEFAULT '', embedding ` + vec + `.vector(4) NOT NULL,
			PRIMARY KEY (tenant_id, id))`,
		`CREATE INDEX ` + pgx.Identifier{name + "_bot"}.Sanitize() + ` ON ` + table + ` (tenant_id, bot_id)`,
		`CREATE INDEX ` + pgx.Identifier{name + "_hnsw"}.Sanitize() + ` ON ` + table + ` USING hnsw (embedding ` + vec + `.vector_cosine_ops)`,
		`INSERT INTO ` + table + ` (tenant_id, id, embedding) VALUES ('t', 'old1', '[1,0,0,0]'), ('t', 'old2', '[0,1,0,0]')`,
	} {
		_, err := e.pool.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	space := vectorstore.Space{Model: "upgrade-model", Dims: 4}
	require.NoError(t, st.Init(ctx, space))
	var indexes []string
	rows, err := e.pool.Query(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2`, e.schema, name)
	require.NoError(t, err)
	indexes, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(indexes, func(d string) bool { return strings.Contains(d, "USING gin (metadata)") }), "%q", indexes)

	all := vectorstore.Filter{TenantID: "t"}
	require.Equal(t, []string{"old1", "old2"}, listIDs(t, st, all))
	require.Equal(t, []string{"old1", "old2"}, listIDs(t, st, vectorstore.Filter{TenantID: "t", Metadata: filter.Not(filter.Eq("lang", "en"))}))
	require.Empty(t, listIDs(t, st, vectorstore.Filter{TenantID: "t", Metadata: filter.Exists("lang")}))
	require.NoError(t, st.Upsert(ctx, []vectorstore.Record{{ID: "new", TenantID: "t", Vector: []float32{0, 0, 1, 0}, Metadata: record.Metadata{"lang": "en"}}}))
	require.NoError(t, st.SetMetadata(ctx, vectorstore.Filter{TenantID: "t", IDs: []string{"old1"}}, record.Metadata{"lang": "en"}))
	require.Equal(t, []string{"new", "old1"}, searchIDs(t, st, []float32{1, 0, 1, 0}, vectorstore.Filter{TenantID: "t", Metadata: filter.Eq("lang", "en")}, 10))

	// Upgraded: another Init sends no DDL.
	var log statementLog
	cfg := e.pool.Config()
	cfg.ConnConfig.Tracer = &log
	cfg.MaxConns = 1
	p := testsvc.Pool(t, cfg)
	again, err := pgvector.New(ctx, p, pgvector.Options{Schema: e.schema})
	require.NoError(t, err)
	require.NoError(t, again.Init(ctx, space))
	require.Empty(t, ddl(log.take()))
}
