// Package vectorstoretest is the conformance suite every
// vectorstore.VectorStore implementation must pass.
//
// An adapter's test calls Run (or RunOptions) with a function that returns a
// fresh, not yet initialized store:
//
//	func TestConformance(t *testing.T) {
//		vectorstoretest.Run(t, func(t *testing.T) vectorstore.VectorStore {
//			return mystore.New(...)
//		}, 16)
//	}
//
// Each subtest gets its own store from newStore and calls Init with a Space
// whose Model is unique to that subtest and run ("vst-<name>-<random>"), so
// adapters sharing one backend (a Postgres database, a Qdrant server) keep
// subtests apart by space. The suite closes every store it gets exactly
// once; newStore may register t.Cleanup hooks to drop what the subtest
// created.
//
// The suite is plain testing (no assertion library) and needs dims >= 4.
//
// # Optional capability: reopening
//
// A store whose data outlives the Go value (a folder on disk, a server) can
// prove it by setting Options.Reopen and calling RunOptions. The suite then
// writes, closes the store, calls Reopen with the closed store, initializes
// the result with the same Space and checks that every record is still
// there, and that a different Dims for the same Model is rejected with
// vectorstore.ErrDimensionMismatch. A memory-only store leaves Reopen nil and
// those subtests are skipped (reported with t.Skip, never as passed).
//
// # Optional capability: counting
//
// A store implementing vectorstore.Counter has CountRecords checked (every
// tenant's records, replacements counted once, deletes subtracted,
// ErrNotInitialized before Init); the subtest is skipped otherwise.
//
// # Contract checked
//
//   - Init validates the Space (empty Model or Dims <= 0 wraps
//     record.ErrInvalidInput), is idempotent for the same Space, and rejects
//     the same Model with other Dims with vectorstore.ErrDimensionMismatch.
//   - Upsert, Search and Delete before Init fail with
//     vectorstore.ErrNotInitialized.
//   - An empty tenant (in a Record or a Filter) wraps record.ErrInvalidInput;
//     so do an empty record ID and TopK <= 0. A vector of the wrong size wraps
//     vectorstore.ErrDimensionMismatch (which matches record.ErrInvalidInput).
//     A batch with one bad record stores nothing.
//   - Records are keyed by (TenantID, ID): the same ID in two tenants is two
//     records, and nothing done in one tenant reads or changes the other.
//   - Upsert replaces by ID (vector and fields); within one batch the last
//     record with a given ID wins.
//   - Filters: BotID, SourceIDs and DocumentIDs narrow (all set fields must
//     match; within a list, any ID).
//   - Search returns at most TopK matches, best first, Score the cosine
//     similarity (within 1e-4), all matches when TopK exceeds the count;
//     MinScore drops matches scoring below it. A zero vector (stored or
//     queried) scores 0.
//   - Filter.IDs narrows Search, Delete and List to the named records of
//     the tenant (with the other fields); Delete takes any number of IDs.
//   - List pages through the records matching a filter: every record once,
//     Vector nil and its IDs filled, in the same order at every page size,
//     next "" exactly at the end, a record present throughout a listing
//     interleaved with upserts and deletes listed exactly once; empty
//     tenant, limit <= 0 and a made-up cursor wrap record.ErrInvalidInput.
//   - Concurrent Upsert, Delete and Search are safe (run the suite with
//     -race).
//   - Metadata: records carry their document's metadata (strings, numbers,
//     bools, arrays, times, nulls, nested objects, missing fields).
//     Filter.Metadata narrows Search exactly as filter.Match says, with the
//     other fields: for generated eq/in/range/exists/not/and/or filters the
//     matches are the brute-force top k (or, with Options.Approximate,
//     every match matches and mean recall@10 >= 0.95). Delete and List
//     honour it; SetMetadata changes what filters see (by document or by
//     filter, nil clears) and leaves vectors alone; an Upsert replaces a
//     record's metadata; a filter in tenant B never sees, deletes or
//     changes tenant A's records even when A's metadata would match; an
//     invalid filter is a *record.ValidationError naming "filter" from
//     Search, Delete, List and SetMetadata; with Options.Reopen, metadata
//     and SetMetadata survive a reopen.
package vectorstoretest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// Options holds the optional capabilities of the store under test.
type Options struct {
	// Reopen, when set, returns a new store over the same backing data as
	// old (the same folder, database or server). The suite has already
	// closed old when it calls Reopen, and calls Init on the result itself.
	Reopen func(t *testing.T, old vectorstore.VectorStore) vectorstore.VectorStore
	// Approximate says that Search goes through an approximate index (HNSW,
	// quantization without exact rescoring): the Metadata area then checks
	// that every filtered match matches the filter and that the mean
	// recall@10 against brute force is at least 0.95, instead of the exact
	// top k. The other areas use data small enough for every store to be
	// exact.
	Approximate bool
	// Skip names areas (top-level subtests, such as "Metadata") the suite
	// reports as skipped with the given reason instead of running them:
	// for an adapter that has not yet implemented a newly added area. A
	// skipped area is reported by t.Skip, never as passed.
	Skip map[string]string
}

// Run runs the conformance suite without optional capabilities. newStore
// must return a fresh store on which Init has not been called; dims is the
// vector size the suite uses (at least 4).
func Run(t *testing.T, newStore func(t *testing.T) vectorstore.VectorStore, dims int) {
	t.Helper()
	RunOptions(t, newStore, dims, Options{})
}

// RunOptions runs the conformance suite with the optional capabilities in
// opts.
func RunOptions(t *testing.T, newStore func(t *testing.T) vectorstore.VectorStore, dims int, opts Options) {
	t.Helper()
	if dims < 4 {
		t.Fatalf("vectorstoretest: dims must be at least 4, got %d", dims)
	}
	s := &suite{newStore: newStore, dims: dims, opts: opts}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Init", s.testInit},
		{"NotInitialized", s.testNotInitialized},
		{"EmptyTenantRejected", s.testEmptyTenant},
		{"InvalidRecordRejected", s.testInvalidRecord},
		{"TenantIsolation", s.testTenantIsolation},
		{"Filters", s.testFilters},
		{"IdempotentUpsert", s.testIdempotentUpsert},
		{"DeleteByFilter", s.testDeleteByFilter},
		{"DimensionMismatch", s.testDimensionMismatch},
		{"TopKOrderAndScores", s.testTopK},
		{"MinScore", s.testMinScore},
		{"ZeroVector", s.testZeroVector},
		{"BruteForce", s.testBruteForce},
		{"ConcurrentReadersWriters", s.testConcurrent},
		{"ListPages", s.testListPages},
		{"ListUnderChanges", s.testListUnderChanges},
		{"ListNotInitialized", s.testListNotInitialized},
		{"DeleteByIDs", s.testDeleteByIDs},
		{"DeleteByIDsReopen", s.testDeleteByIDsReopen},
		{"SearchByIDs", s.testSearchByIDs},
		{"Counter", s.testCounter},
		{"ReopenKeepsData", s.testReopen},
		{"ReopenOtherDims", s.testReopenOtherDims},
		{"Close", s.testClose},
		{"Metadata", s.testMetadata},
	}
	for _, tc := range tests {
		if reason, skip := opts.Skip[tc.name]; skip {
			t.Run(tc.name, func(t *testing.T) { t.Skip(reason) })
			continue
		}
		t.Run(tc.name, tc.fn)
	}
}

type suite struct {
	newStore func(t *testing.T) vectorstore.VectorStore
	dims     int
	opts     Options
}

var modelSeq atomic.Uint64

// modelName returns a Model unique to this subtest and run, short and made
// of [a-z0-9-] so that every backend can use it in a name.
func modelName(t *testing.T) string {
	name := t.Name()
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
		if b.Len() >= 16 {
			break
		}
	}
	n := uint64(time.Now().UnixNano())*31 + modelSeq.Add(1)
	return fmt.Sprintf("vst-%s-%x", b.String(), n&0xffffffffff)
}

// open returns a fresh store initialized with a space unique to t, closed
// at the end of t.
func (s *suite) open(t *testing.T) (vectorstore.VectorStore, vectorstore.Space) {
	t.Helper()
	st := s.newStore(t)
	sp := vectorstore.Space{Model: modelName(t), Dims: s.dims}
	if err := st.Init(t.Context(), sp); err != nil {
		t.Fatalf("Init(%+v): %v", sp, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st, sp
}

// vec returns a vector of s.dims with the given leading components.
func (s *suite) vec(comps ...float32) []float32 {
	v := make([]float32, s.dims)
	copy(v, comps)
	return v
}

// angle returns scale*(cos θ e0 + sin θ e1), whose cosine with e0 is cosine.
func (s *suite) angle(cosine, scale float64) []float32 {
	sin := math.Sqrt(1 - cosine*cosine)
	return s.vec(float32(scale*cosine), float32(scale*sin))
}

func (s *suite) randVec(r *rand.Rand) []float32 {
	v := make([]float32, s.dims)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

const tol = 1e-4

func mustUpsert(t *testing.T, st vectorstore.VectorStore, recs ...vectorstore.Record) {
	t.Helper()
	if err := st.Upsert(t.Context(), recs); err != nil {
		t.Fatalf("Upsert(%d records): %v", len(recs), err)
	}
}

func mustDelete(t *testing.T, st vectorstore.VectorStore, f vectorstore.Filter) {
	t.Helper()
	if err := st.Delete(t.Context(), f); err != nil {
		t.Fatalf("Delete(%+v): %v", f, err)
	}
}

func mustSearch(t *testing.T, st vectorstore.VectorStore, q vectorstore.Query) []vectorstore.Match {
	t.Helper()
	ms, err := st.Search(t.Context(), q)
	if err != nil {
		t.Fatalf("Search(TopK=%d, Filter=%+v): %v", q.TopK, q.Filter, err)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Score > ms[i-1].Score+tol {
			t.Fatalf("Search: matches not best first: %v", ms)
		}
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.ID] {
			t.Fatalf("Search: ID %q returned twice: %v", m.ID, ms)
		}
		seen[m.ID] = true
		if math.IsNaN(float64(m.Score)) || math.IsInf(float64(m.Score), 0) {
			t.Fatalf("Search: match %q has score %v", m.ID, m.Score)
		}
	}
	if len(ms) > q.TopK {
		t.Fatalf("Search: %d matches for TopK %d", len(ms), q.TopK)
	}
	return ms
}

// all returns the sorted IDs of every record matching f (the query vector
// does not matter: no MinScore, TopK above the count).
func (s *suite) all(t *testing.T, st vectorstore.VectorStore, f vectorstore.Filter) []string {
	t.Helper()
	ms := mustSearch(t, st, vectorstore.Query{Vector: s.vec(1), TopK: 10000, Filter: f})
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	sort.Strings(ids)
	return ids
}

func (s *suite) wantIDs(t *testing.T, st vectorstore.VectorStore, f vectorstore.Filter, want ...string) {
	t.Helper()
	got := s.all(t, st, f)
	want = slices.Clone(want)
	sort.Strings(want)
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("records matching %+v: got %q, want %q", f, got, want)
	}
}

func wantErr(t *testing.T, what string, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got nil error, want %v", what, targets)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("%s: error %q does not match %v", what, err, target)
		}
	}
}

func (s *suite) testInit(t *testing.T) {
	ctx := t.Context()
	st := s.newStore(t)
	defer func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	wantErr(t, "Init with empty Model", st.Init(ctx, vectorstore.Space{Dims: s.dims}), record.ErrInvalidInput)
	model := modelName(t)
	wantErr(t, "Init with Dims 0", st.Init(ctx, vectorstore.Space{Model: model}), record.ErrInvalidInput)
	wantErr(t, "Init with Dims -1", st.Init(ctx, vectorstore.Space{Model: model, Dims: -1}), record.ErrInvalidInput)
	sp := vectorstore.Space{Model: model, Dims: s.dims}
	if err := st.Init(ctx, sp); err != nil {
		t.Fatalf("Init(%+v): %v", sp, err)
	}
	mustUpsert(t, st, vectorstore.Record{ID: "a", TenantID: "t1", Vector: s.vec(1)})
	if err := st.Init(ctx, sp); err != nil {
		t.Fatalf("second Init of the same space: %v", err)
	}
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, "a")
	err := st.Init(ctx, vectorstore.Space{Model: model, Dims: s.dims + 1})
	wantErr(t, "Init of the same Model with other Dims", err, vectorstore.ErrDimensionMismatch, record.ErrInvalidInput)
	// The store still works on its space.
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, "a")
}

func (s *suite) testNotInitialized(t *testing.T) {
	ctx := t.Context()
	st := s.newStore(t)
	defer func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	err := st.Upsert(ctx, []vectorstore.Record{{ID: "a", TenantID: "t1", Vector: s.vec(1)}})
	wantErr(t, "Upsert before Init", err, vectorstore.ErrNotInitialized)
	_, err = st.Search(ctx, vectorstore.Query{Vector: s.vec(1), TopK: 1, Filter: vectorstore.Filter{TenantID: "t1"}})
	wantErr(t, "Search before Init", err, vectorstore.ErrNotInitialized)
	err = st.Delete(ctx, vectorstore.Filter{TenantID: "t1"})
	wantErr(t, "Delete before Init", err, vectorstore.ErrNotInitialized)
}

func (s *suite) testEmptyTenant(t *testing.T) {
	ctx := t.Context()
	st, _ := s.open(t)
	mustUpsert(t, st, vectorstore.Record{ID: "a", TenantID: "t1", BotID: "b1", Vector: s.vec(1)})

	err := st.Upsert(ctx, []vectorstore.Record{
		{ID: "ok", TenantID: "t1", Vector: s.vec(1)},
		{ID: "b", Vector: s.vec(1)},
	})
	wantErr(t, "Upsert of a record without tenant", err, record.ErrInvalidInput)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, "a") // nothing of the bad batch stored

	_, err = st.Search(ctx, vectorstore.Query{Vector: s.vec(1), TopK: 5})
	wantErr(t, "Search without tenant", err, record.ErrInvalidInput)
	_, err = st.Search(ctx, vectorstore.Query{Vector: s.vec(1), TopK: 5, Filter: vectorstore.Filter{BotID: "b1"}})
	wantErr(t, "Search with a bot but without tenant", err, record.ErrInvalidInput)

	wantErr(t, "Delete without tenant", st.Delete(ctx, vectorstore.Filter{}), record.ErrInvalidInput)
	wantErr(t, "Delete with a bot but without tenant", st.Delete(ctx, vectorstore.Filter{BotID: "b1"}), record.ErrInvalidInput)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, "a")
}

func (s *suite) testInvalidRecord(t *testing.T) {
	ctx := t.Context()
	st, _ := s.open(t)
	mustUpsert(t, st, vectorstore.Record{ID: "a", TenantID: "t1", Vector: s.vec(1)})
	err := st.Upsert(ctx, []vectorstore.Record{{ID: "", TenantID: "t1", Vector: s.vec(1)}})
	wantErr(t, "Upsert of a record without ID", err, record.ErrInvalidInput)
	if err := st.Upsert(ctx, nil); err != nil {
		t.Fatalf("Upsert of no records: %v", err)
	}
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, "a")
}

func (s *suite) testTenantIsolation(t *testing.T) {
	ctx := t.Context()
	st, _ := s.open(t)
	mustUpsert(t, st,
		vectorstore.Record{ID: "a1", TenantID: "tenant-a", BotID: "bot", SourceID: "src", DocumentID: "doc", Vector: s.vec(1)},
		vectorstore.Record{ID: "a2", TenantID: "tenant-a", BotID: "bot", SourceID: "src", DocumentID: "doc", Vector: s.vec(1, 1)},
		vectorstore.Record{ID: "shared", TenantID: "tenant-a", BotID: "bot", SourceID: "src", DocumentID: "doc", Vector: s.vec(1)},
	)
	mustUpsert(t, st,
		vectorstore.Record{ID: "b1", TenantID: "tenant-b", BotID: "bot", SourceID: "src", DocumentID: "doc", Vector: s.vec(0, 1)},
		vectorstore.Record{ID: "shared", TenantID: "tenant-b", BotID: "bot", SourceID: "src", DocumentID: "doc", Vector: s.vec(0, 1)},
	)
	// Searching B never returns A's records, even with A's bot/source/doc IDs.
	for _, f := range []vectorstore.Filter{
		{TenantID: "tenant-b"},
		{TenantID: "tenant-b", BotID: "bot"},
		{TenantID: "tenant-b", SourceIDs: []string{"src"}, DocumentIDs: []string{"doc"}},
	} {
		s.wantIDs(t, st, f, "b1", "shared")
	}
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-a"}, "a1", "a2", "shared")
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-c"})

	// The same ID in two tenants is two records: B's vector is B's.
	ms := mustSearch(t, st, vectorstore.Query{Vector: s.vec(1), TopK: 10, Filter: vectorstore.Filter{TenantID: "tenant-b"}})
	for _, m := range ms {
		if math.Abs(float64(m.Score)) > tol {
			t.Fatalf("tenant-b record %q scores %v against e0, want 0 (tenant-a's vector leaked?)", m.ID, m.Score)
		}
	}
	ms = mustSearch(t, st, vectorstore.Query{Vector: s.vec(1), TopK: 1, Filter: vectorstore.Filter{TenantID: "tenant-a", DocumentIDs: []string{"doc"}}})
	if len(ms) != 1 || math.Abs(float64(ms[0].Score)-1) > tol {
		t.Fatalf("tenant-a best match = %v, want a1 or shared with score 1", ms)
	}

	// Upserting B's "shared" again does not touch A's.
	mustUpsert(t, st, vectorstore.Record{ID: "shared", TenantID: "tenant-b", BotID: "other", Vector: s.vec(0, 0, 1)})
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-a", BotID: "bot"}, "a1", "a2", "shared")

	// Deletes in B never remove A's records.
	mustDelete(t, st, vectorstore.Filter{TenantID: "tenant-b", DocumentIDs: []string{"doc"}})
	mustDelete(t, st, vectorstore.Filter{TenantID: "tenant-b", SourceIDs: []string{"src"}})
	mustDelete(t, st, vectorstore.Filter{TenantID: "tenant-b", BotID: "bot"})
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-b"}, "shared")
	mustDelete(t, st, vectorstore.Filter{TenantID: "tenant-b"})
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-b"})
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-a"}, "a1", "a2", "shared")
	if err := st.Delete(ctx, vectorstore.Filter{TenantID: "tenant-c"}); err != nil {
		t.Fatalf("Delete in a tenant with no records: %v", err)
	}
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-a"}, "a1", "a2", "shared")
}

// filterData is a small tenant: 2 bots, 3 sources, 6 documents, 12 records.
func (s *suite) filterData(tenant string) []vectorstore.Record {
	var recs []vectorstore.Record
	for i := range 12 {
		doc := i / 2                    // d0..d5, two records each
		src := doc / 2                  // s0..s2, two documents each
		bot := []int{0, 0, 1}[src]      // b0: s0,s1; b1: s2
		v := s.vec(1, float32(i)*0.125) // all positive against e0
		recs = append(recs, vectorstore.Record{
			ID:         fmt.Sprintf("r%02d", i),
			TenantID:   tenant,
			BotID:      fmt.Sprintf("b%d", bot),
			SourceID:   fmt.Sprintf("s%d", src),
			DocumentID: fmt.Sprintf("d%d", doc),
			Vector:     v,
		})
	}
	return recs
}

func matchIDs(recs []vectorstore.Record, f vectorstore.Filter) []string {
	ids := []string{}
	for _, r := range recs {
		if r.TenantID != f.TenantID {
			continue
		}
		if f.BotID != "" && r.BotID != f.BotID {
			continue
		}
		if len(f.SourceIDs) > 0 && !slices.Contains(f.SourceIDs, r.SourceID) {
			continue
		}
		if len(f.DocumentIDs) > 0 && !slices.Contains(f.DocumentIDs, r.DocumentID) {
			continue
		}
		ids = append(ids, r.ID)
	}
	return ids
}

func filterCases(tenant string) []vectorstore.Filter {
	return []vectorstore.Filter{
		{TenantID: tenant},
		{TenantID: tenant, BotID: "b0"},
		{TenantID: tenant, BotID: "b1"},
		{TenantID: tenant, BotID: "nobot"},
		{TenantID: tenant, SourceIDs: []string{"s1"}},
		{TenantID: tenant, SourceIDs: []string{"s0", "s2"}},
		{TenantID: tenant, SourceIDs: []string{"nosrc"}},
		{TenantID: tenant, SourceIDs: []string{}},
		{TenantID: tenant, DocumentIDs: []string{"d3"}},
		{TenantID: tenant, DocumentIDs: []string{"d0", "d5", "nodoc"}},
		{TenantID: tenant, BotID: "b0", SourceIDs: []string{"s1", "s2"}},
		{TenantID: tenant, BotID: "b1", SourceIDs: []string{"s0"}},
		{TenantID: tenant, BotID: "b0", DocumentIDs: []string{"d1", "d4"}},
		{TenantID: tenant, SourceIDs: []string{"s0", "s1"}, DocumentIDs: []string{"d1", "d2", "d5"}},
		{TenantID: tenant, BotID: "b0", SourceIDs: []string{"s0", "s1"}, DocumentIDs: []string{"d0", "d3"}},
		{TenantID: tenant, BotID: "b1", SourceIDs: []string{"s2"}, DocumentIDs: []string{"d0"}},
	}
}

func (s *suite) testFilters(t *testing.T) {
	st, _ := s.open(t)
	recs := append(s.filterData("t1"), s.filterData("t2")...)
	mustUpsert(t, st, recs...)
	for _, tenant := range []string{"t1", "t2"} {
		for _, f := range filterCases(tenant) {
			s.wantIDs(t, st, f, matchIDs(recs, f)...)
		}
	}
	// Filters also apply with a small TopK: the best matching records first.
	f := vectorstore.Filter{TenantID: "t1", BotID: "b0", DocumentIDs: []string{"d0", "d3"}}
	ms := mustSearch(t, st, vectorstore.Query{Vector: s.vec(0, 1), TopK: 2, Filter: f})
	if len(ms) != 2 || ms[0].ID != "r07" || ms[1].ID != "r06" {
		t.Fatalf("Search(TopK 2, %+v) = %v, want r07 then r06", f, ms)
	}
}

func (s *suite) testIdempotentUpsert(t *testing.T) {
	st, _ := s.open(t)
	rec := vectorstore.Record{ID: "x", TenantID: "t1", BotID: "b1", SourceID: "s1", DocumentID: "d1", Vector: s.vec(1)}
	mustUpsert(t, st, rec)
	mustUpsert(t, st, rec)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, "x")

	// Replace vector and every field.
	rec2 := vectorstore.Record{ID: "x", TenantID: "t1", BotID: "b2", SourceID: "s2", DocumentID: "d2", Vector: s.vec(0, 1)}
	mustUpsert(t, st, rec2)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, "x")
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1", BotID: "b1"})
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1", SourceIDs: []string{"s1"}})
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1", DocumentIDs: []string{"d1"}})
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1", BotID: "b2", SourceIDs: []string{"s2"}, DocumentIDs: []string{"d2"}}, "x")
	ms := mustSearch(t, st, vectorstore.Query{Vector: s.vec(0, 1), TopK: 5, Filter: vectorstore.Filter{TenantID: "t1"}})
	if len(ms) != 1 || math.Abs(float64(ms[0].Score)-1) > tol {
		t.Fatalf("after replacing the vector: %v, want x with score 1", ms)
	}

	// Within one batch, the last record with an ID wins.
	mustUpsert(t, st,
		vectorstore.Record{ID: "y", TenantID: "t1", BotID: "b1", Vector: s.vec(1)},
		vectorstore.Record{ID: "y", TenantID: "t1", BotID: "b3", Vector: s.vec(0, 0, 1)},
	)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, "x", "y")
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1", BotID: "b3"}, "y")
	ms = mustSearch(t, st, vectorstore.Query{Vector: s.vec(0, 0, 1), TopK: 1, Filter: vectorstore.Filter{TenantID: "t1"}})
	if len(ms) != 1 || ms[0].ID != "y" || math.Abs(float64(ms[0].Score)-1) > tol {
		t.Fatalf("after a batch with y twice: %v, want y with score 1", ms)
	}

	// Upsert after delete brings the record back.
	mustDelete(t, st, vectorstore.Filter{TenantID: "t1", DocumentIDs: []string{"d2"}})
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, "y")
	mustUpsert(t, st, rec)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, "x", "y")
}

func (s *suite) testDeleteByFilter(t *testing.T) {
	for _, f := range []vectorstore.Filter{
		{TenantID: "t1", SourceIDs: []string{"s1"}},
		{TenantID: "t1", SourceIDs: []string{"s0", "s2"}},
		{TenantID: "t1", DocumentIDs: []string{"d3"}},
		{TenantID: "t1", DocumentIDs: []string{"d0", "d5"}},
		{TenantID: "t1", BotID: "b0"},
		{TenantID: "t1", BotID: "b0", SourceIDs: []string{"s1", "s2"}},
		{TenantID: "t1", BotID: "b1", DocumentIDs: []string{"d2"}},
		{TenantID: "t1", SourceIDs: []string{"s0"}, DocumentIDs: []string{"d1", "d2"}},
		{TenantID: "t1", BotID: "nobot"},
		{TenantID: "t1"},
	} {
		t.Run(fmt.Sprintf("%s-%s-%v-%v", f.TenantID, f.BotID, f.SourceIDs, f.DocumentIDs), func(t *testing.T) {
			st, _ := s.open(t)
			recs := append(s.filterData("t1"), s.filterData("t2")...)
			mustUpsert(t, st, recs...)
			mustDelete(t, st, f)
			deleted := map[string]bool{}
			for _, id := range matchIDs(recs, f) {
				deleted[id] = true
			}
			var left []string
			for _, r := range recs {
				if r.TenantID == "t1" && !deleted[r.ID] {
					left = append(left, r.ID)
				}
			}
			s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, left...)
			s.wantIDs(t, st, vectorstore.Filter{TenantID: "t2"}, matchIDs(recs, vectorstore.Filter{TenantID: "t2"})...)
			// Deleting again is not an error and changes nothing.
			mustDelete(t, st, f)
			s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, left...)
		})
	}
}

func (s *suite) testDimensionMismatch(t *testing.T) {
	ctx := t.Context()
	st, _ := s.open(t)
	mustUpsert(t, st, vectorstore.Record{ID: "a", TenantID: "t1", Vector: s.vec(1)})
	for _, v := range [][]float32{nil, make([]float32, s.dims-1), make([]float32, s.dims+1)} {
		err := st.Upsert(ctx, []vectorstore.Record{
			{ID: "ok", TenantID: "t1", Vector: s.vec(1)},
			{ID: "bad", TenantID: "t1", Vector: v},
		})
		wantErr(t, fmt.Sprintf("Upsert of a %d-dim vector", len(v)), err, vectorstore.ErrDimensionMismatch, record.ErrInvalidInput)
		_, err = st.Search(ctx, vectorstore.Query{Vector: v, TopK: 1, Filter: vectorstore.Filter{TenantID: "t1"}})
		wantErr(t, fmt.Sprintf("Search with a %d-dim vector", len(v)), err, vectorstore.ErrDimensionMismatch, record.ErrInvalidInput)
	}
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, "a")
}

func (s *suite) testTopK(t *testing.T) {
	ctx := t.Context()
	st, _ := s.open(t)
	// Cosines with e0 are known; magnitudes vary to check normalization.
	want := []struct {
		id  string
		cos float64
	}{
		{"c100", 1}, {"c090", 0.9}, {"c050", 0.5}, {"c000", 0}, {"cm050", -0.5}, {"cm100", -1},
	}
	for i, w := range slices.Backward(want) { // insert in reverse order
		mustUpsert(t, st, vectorstore.Record{ID: w.id, TenantID: "t1", Vector: s.angle(w.cos, float64(i)+0.5)})
	}
	check := func(q vectorstore.Query, n int) {
		t.Helper()
		ms := mustSearch(t, st, q)
		if len(ms) != n {
			t.Fatalf("Search(TopK %d) returned %d matches, want %d: %v", q.TopK, len(ms), n, ms)
		}
		for i, m := range ms {
			if m.ID != want[i].id || math.Abs(float64(m.Score)-want[i].cos) > tol {
				t.Fatalf("Search(TopK %d) match %d = %+v, want %s with score %v (all: %v)", q.TopK, i, m, want[i].id, want[i].cos, ms)
			}
		}
	}
	f := vectorstore.Filter{TenantID: "t1"}
	check(vectorstore.Query{Vector: s.vec(2), TopK: 1, Filter: f}, 1)
	check(vectorstore.Query{Vector: s.vec(0.25), TopK: 3, Filter: f}, 3)
	check(vectorstore.Query{Vector: s.vec(1), TopK: 6, Filter: f}, 6)
	check(vectorstore.Query{Vector: s.vec(1), TopK: 100, Filter: f}, 6)
	for _, k := range []int{0, -1} {
		_, err := st.Search(ctx, vectorstore.Query{Vector: s.vec(1), TopK: k, Filter: f})
		wantErr(t, fmt.Sprintf("Search with TopK %d", k), err, record.ErrInvalidInput)
	}
	// A query along e1 sees the mirror image.
	ms := mustSearch(t, st, vectorstore.Query{Vector: s.vec(0, 1), TopK: 1, Filter: f})
	if len(ms) != 1 || ms[0].ID != "c000" || math.Abs(float64(ms[0].Score)-1) > tol {
		t.Fatalf("Search along e1 = %v, want c000 with score 1", ms)
	}
}

func (s *suite) testMinScore(t *testing.T) {
	st, _ := s.open(t)
	for _, c := range []struct {
		id  string
		cos float64
	}{{"c100", 1}, {"c090", 0.9}, {"c050", 0.5}, {"c000", 0}, {"cm050", -0.5}} {
		mustUpsert(t, st, vectorstore.Record{ID: c.id, TenantID: "t1", Vector: s.angle(c.cos, 1)})
	}
	f := vectorstore.Filter{TenantID: "t1"}
	for _, c := range []struct {
		min  float32
		want []string
	}{
		{0.95, []string{"c100"}},
		{0.6, []string{"c100", "c090"}},
		{0.45, []string{"c100", "c090", "c050"}},
		{-0.25, []string{"c100", "c090", "c050", "c000"}},
		{0, []string{"c100", "c090", "c050", "c000", "cm050"}},
	} {
		ms := mustSearch(t, st, vectorstore.Query{Vector: s.vec(1), TopK: 10, Filter: f, MinScore: c.min})
		var got []string
		for _, m := range ms {
			got = append(got, m.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Fatalf("MinScore %v: got %q, want %q", c.min, got, c.want)
		}
	}
	ms := mustSearch(t, st, vectorstore.Query{Vector: s.vec(1), TopK: 1, Filter: f, MinScore: 0.6})
	if len(ms) != 1 || ms[0].ID != "c100" {
		t.Fatalf("MinScore 0.6, TopK 1: %v, want c100", ms)
	}
}

func (s *suite) testZeroVector(t *testing.T) {
	st, _ := s.open(t)
	mustUpsert(t, st,
		vectorstore.Record{ID: "zero", TenantID: "t1", Vector: s.vec()},
		vectorstore.Record{ID: "c090", TenantID: "t1", Vector: s.angle(0.9, 1)},
		vectorstore.Record{ID: "c050", TenantID: "t1", Vector: s.angle(0.5, 1)},
	)
	f := vectorstore.Filter{TenantID: "t1"}
	ms := mustSearch(t, st, vectorstore.Query{Vector: s.vec(1), TopK: 3, Filter: f})
	if len(ms) != 3 || ms[0].ID != "c090" || ms[1].ID != "c050" || ms[2].ID != "zero" || math.Abs(float64(ms[2].Score)) > tol {
		t.Fatalf("search with a stored zero vector: %v, want c090, c050, zero (score 0)", ms)
	}
	ms = mustSearch(t, st, vectorstore.Query{Vector: s.vec(1), TopK: 3, Filter: f, MinScore: 0.1})
	if len(ms) != 2 {
		t.Fatalf("MinScore 0.1 must drop the zero vector: %v", ms)
	}
	ms = mustSearch(t, st, vectorstore.Query{Vector: s.vec(), TopK: 2, Filter: f})
	if len(ms) != 2 {
		t.Fatalf("zero query, TopK 2: %d matches, want 2: %v", len(ms), ms)
	}
	for _, m := range ms {
		if math.Abs(float64(m.Score)) > tol {
			t.Fatalf("zero query: match %+v, want score 0", m)
		}
	}
}

func (s *suite) testBruteForce(t *testing.T) {
	st, _ := s.open(t)
	r := rand.New(rand.NewPCG(1, 2))
	var recs []vectorstore.Record
	for i := range 600 {
		tenant := []string{"t1", "t2"}[i%2]
		doc := r.IntN(30)
		src := doc % 6
		recs = append(recs, vectorstore.Record{
			ID:         fmt.Sprintf("%s-r%03d", tenant, i),
			TenantID:   tenant,
			BotID:      fmt.Sprintf("b%d", src%3),
			SourceID:   fmt.Sprintf("s%d", src),
			DocumentID: fmt.Sprintf("d%d", doc),
			Vector:     s.randVec(r),
		})
	}
	for i := 0; i < len(recs); i += 150 {
		mustUpsert(t, st, recs[i:i+150]...)
	}
	// Replace 50 and delete one source, as a live index would.
	for i := 0; i < 100; i += 2 {
		recs[i].Vector = s.randVec(r)
	}
	mustUpsert(t, st, recs[:100]...)
	mustDelete(t, st, vectorstore.Filter{TenantID: "t1", SourceIDs: []string{"s4"}})
	live := recs[:0:0]
	for _, rec := range recs {
		if !(rec.TenantID == "t1" && rec.SourceID == "s4") {
			live = append(live, rec)
		}
	}
	byID := map[string]vectorstore.Record{}
	for _, rec := range live {
		byID[rec.TenantID+"/"+rec.ID] = rec
	}
	filters := []vectorstore.Filter{
		{TenantID: "t1"},
		{TenantID: "t2"},
		{TenantID: "t1", BotID: "b1"},
		{TenantID: "t2", SourceIDs: []string{"s1", "s4"}},
		{TenantID: "t1", DocumentIDs: []string{"d1", "d2", "d3", "d7", "d11"}},
		{TenantID: "t2", BotID: "b2", SourceIDs: []string{"s2", "s5"}},
	}
	for qi := range 20 {
		q := s.randVec(r)
		f := filters[qi%len(filters)]
		k := []int{1, 5, 10, 40}[qi%4]
		var minScore float32
		if qi%5 == 4 {
			minScore = 0.1
		}
		var want []float64
		for _, id := range matchIDs(live, f) {
			c := cosine(q, byID[f.TenantID+"/"+id].Vector)
			if minScore != 0 && c < float64(minScore) {
				continue
			}
			want = append(want, c)
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(want)))
		if len(want) > k {
			want = want[:k]
		}
		ms := mustSearch(t, st, vectorstore.Query{Vector: q, TopK: k, Filter: f, MinScore: minScore})
		if len(ms) != len(want) {
			t.Fatalf("query %d (%+v, TopK %d): %d matches, want %d", qi, f, k, len(ms), len(want))
		}
		for i, m := range ms {
			rec, ok := byID[f.TenantID+"/"+m.ID]
			if !ok || !slices.Contains(matchIDs(live, f), m.ID) {
				t.Fatalf("query %d: match %q does not match filter %+v", qi, m.ID, f)
			}
			if c := cosine(q, rec.Vector); math.Abs(float64(m.Score)-c) > tol {
				t.Fatalf("query %d: match %q scores %v, want %v", qi, m.ID, m.Score, c)
			}
			if math.Abs(float64(m.Score)-want[i]) > tol {
				t.Fatalf("query %d: match %d scores %v, brute force has %v", qi, i, m.Score, want[i])
			}
		}
	}
}

func (s *suite) testConcurrent(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st, _ := s.open(t)
	const writers, batches, perBatch = 4, 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for b := range batches {
				recs := make([]vectorstore.Record, perBatch)
				for i := range recs {
					recs[i] = vectorstore.Record{
						ID: fmt.Sprintf("w%d-%d-%d", w, b, i), TenantID: "t1",
						BotID: fmt.Sprintf("b%d", w), DocumentID: fmt.Sprintf("w%d-d%d", w, b), Vector: s.randVec(r),
					}
				}
				if err := st.Upsert(ctx, recs); err != nil {
					errs <- fmt.Errorf("writer %d: Upsert: %w", w, err)
					return
				}
				if b%4 == 3 { // delete the previous batch's document, then restore it
					f := vectorstore.Filter{TenantID: "t1", DocumentIDs: []string{fmt.Sprintf("w%d-d%d", w, b-1)}}
					if err := st.Delete(ctx, f); err != nil {
						errs <- fmt.Errorf("writer %d: Delete: %w", w, err)
						return
					}
				}
			}
		}()
	}
	var stop atomic.Bool
	var rg sync.WaitGroup
	for rd := range 4 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			r := rand.New(rand.NewPCG(uint64(rd), 9))
			for !stop.Load() {
				f := vectorstore.Filter{TenantID: "t1"}
				if rd%2 == 1 {
					f.BotID = fmt.Sprintf("b%d", rd)
				}
				ms, err := st.Search(ctx, vectorstore.Query{Vector: s.randVec(r), TopK: 10, Filter: f})
				if err != nil {
					errs <- fmt.Errorf("reader %d: Search: %w", rd, err)
					return
				}
				for _, m := range ms {
					if f.BotID != "" && !strings.HasPrefix(m.ID, fmt.Sprintf("w%d-", rd)) {
						errs <- fmt.Errorf("reader %d: match %q outside bot filter", rd, m.ID)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	var want []string
	for w := range writers {
		for b := range batches {
			if b%4 == 2 {
				continue // deleted
			}
			for i := range perBatch {
				want = append(want, fmt.Sprintf("w%d-%d-%d", w, b, i))
			}
		}
	}
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1"}, want...)
}

func (s *suite) testReopen(t *testing.T) {
	if s.opts.Reopen == nil {
		t.Skip("vectorstoretest: store does not offer Options.Reopen")
	}
	ctx := t.Context()
	st := s.newStore(t)
	sp := vectorstore.Space{Model: modelName(t), Dims: s.dims}
	if err := st.Init(ctx, sp); err != nil {
		t.Fatalf("Init: %v", err)
	}
	recs := append(s.filterData("t1"), s.filterData("t2")...)
	mustUpsert(t, st, recs[:10]...)
	mustUpsert(t, st, recs[10:]...)
	mustUpsert(t, st, vectorstore.Record{ID: "r00", TenantID: "t1", BotID: "b9", Vector: s.vec(0, 0, 1)})
	mustDelete(t, st, vectorstore.Filter{TenantID: "t2", SourceIDs: []string{"s1"}})
	before := map[string][]string{}
	for _, tenant := range []string{"t1", "t2"} {
		for _, f := range filterCases(tenant) {
			before[fmt.Sprint(f)] = s.all(t, st, f)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for round := range 2 {
		st2 := s.opts.Reopen(t, st)
		if err := st2.Init(ctx, sp); err != nil {
			t.Fatalf("Init after reopen: %v", err)
		}
		for _, tenant := range []string{"t1", "t2"} {
			for _, f := range filterCases(tenant) {
				if got := s.all(t, st2, f); !slices.Equal(got, before[fmt.Sprint(f)]) {
					t.Fatalf("round %d: after reopen, %+v matches %q, before %q", round, f, got, before[fmt.Sprint(f)])
				}
			}
		}
		ms := mustSearch(t, st2, vectorstore.Query{Vector: s.vec(0, 0, 1), TopK: 1, Filter: vectorstore.Filter{TenantID: "t1", BotID: "b9"}})
		if len(ms) != 1 || ms[0].ID != "r00" || math.Abs(float64(ms[0].Score)-1) > tol {
			t.Fatalf("round %d: replaced record after reopen: %v", round, ms)
		}
		// Writes after a reopen persist too.
		mustUpsert(t, st2, vectorstore.Record{ID: fmt.Sprintf("new%d", round), TenantID: "t1", BotID: "b9", Vector: s.vec(1)})
		before[fmt.Sprint(vectorstore.Filter{TenantID: "t1"})] = s.all(t, st2, vectorstore.Filter{TenantID: "t1"})
		if err := st2.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		st = st2
	}
}

func (s *suite) testReopenOtherDims(t *testing.T) {
	if s.opts.Reopen == nil {
		t.Skip("vectorstoretest: store does not offer Options.Reopen")
	}
	ctx := t.Context()
	st := s.newStore(t)
	sp := vectorstore.Space{Model: modelName(t), Dims: s.dims}
	if err := st.Init(ctx, sp); err != nil {
		t.Fatalf("Init: %v", err)
	}
	mustUpsert(t, st, vectorstore.Record{ID: "a", TenantID: "t1", Vector: s.vec(1)})
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st2 := s.opts.Reopen(t, st)
	err := st2.Init(ctx, vectorstore.Space{Model: sp.Model, Dims: s.dims * 2})
	wantErr(t, "Init after reopen with other Dims", err, vectorstore.ErrDimensionMismatch, record.ErrInvalidInput)
	if err := st2.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st3 := s.opts.Reopen(t, st2)
	if err := st3.Init(ctx, sp); err != nil {
		t.Fatalf("Init with the right Dims after a rejected one: %v", err)
	}
	s.wantIDs(t, st3, vectorstore.Filter{TenantID: "t1"}, "a")
	if err := st3.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func (s *suite) testClose(t *testing.T) {
	st := s.newStore(t)
	sp := vectorstore.Space{Model: modelName(t), Dims: s.dims}
	if err := st.Init(t.Context(), sp); err != nil {
		t.Fatalf("Init: %v", err)
	}
	mustUpsert(t, st, vectorstore.Record{ID: "a", TenantID: "t1", Vector: s.vec(1)})
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
