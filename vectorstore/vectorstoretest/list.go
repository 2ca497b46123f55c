package vectorstoretest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// listData is a tenant of n records spread over 3 bots, 5 sources and 10
// documents, with IDs that do not sort in insertion order.
func (s *suite) listData(tenant string, n int) []vectorstore.Record {
	r := rand.New(rand.NewPCG(7, uint64(n)))
	recs := make([]vectorstore.Record, n)
	for i := range recs {
		recs[i] = vectorstore.Record{
			ID:         fmt.Sprintf("c%03d-%x", (i*37)%n, i),
			TenantID:   tenant,
			BotID:      fmt.Sprintf("bot%d", i%3),
			SourceID:   fmt.Sprintf("src%d", i%5),
			DocumentID: fmt.Sprintf("doc%d", i%10),
			Vector:     s.randVec(r),
		}
	}
	return recs
}

// listAll pages through f with limit and returns every record in the order
// List gave them, checking the page contract on the way.
func listAll(t *testing.T, st vectorstore.VectorStore, f vectorstore.Filter, limit int) []vectorstore.Record {
	t.Helper()
	var all []vectorstore.Record
	cursor := ""
	for page := 0; ; page++ {
		if page > 100000 {
			t.Fatalf("List(%+v, limit %d): more than 100000 pages", f, limit)
		}
		recs, next, err := st.List(t.Context(), f, cursor, limit)
		if err != nil {
			t.Fatalf("List(%+v, page %d, limit %d): %v", f, page, limit, err)
		}
		if len(recs) > limit {
			t.Fatalf("List(limit %d) returned %d records", limit, len(recs))
		}
		if next != "" && len(recs) < limit {
			t.Fatalf("List(%+v, limit %d): a short page (%d) with a next cursor", f, limit, len(recs))
		}
		if next != "" && next == cursor {
			t.Fatalf("List: next cursor %q equals the cursor given", next)
		}
		for _, r := range recs {
			if r.Vector != nil {
				t.Fatalf("List: record %q has a vector, want nil", r.ID)
			}
			if r.TenantID != f.TenantID {
				t.Fatalf("List(tenant %q): record %q of tenant %q", f.TenantID, r.ID, r.TenantID)
			}
		}
		all = append(all, recs...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

func recordIDs(recs []vectorstore.Record) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

// wantListed checks that listing f (at several page sizes) returns exactly
// the records of want, each once, with their fields, in the same order
// every time.
func wantListed(t *testing.T, st vectorstore.VectorStore, f vectorstore.Filter, want []vectorstore.Record) {
	t.Helper()
	byID := map[string]vectorstore.Record{}
	for _, r := range want {
		byID[r.ID] = r
	}
	var order []string
	for _, limit := range []int{1, 3, 7, 1000} {
		got := listAll(t, st, f, limit)
		ids := recordIDs(got)
		if order == nil {
			order = ids
		} else if !slices.Equal(ids, order) {
			t.Fatalf("List(%+v, limit %d): order %q differs from another page size's %q", f, limit, ids, order)
		}
		sorted := slices.Clone(ids)
		sort.Strings(sorted)
		wantIDs := make([]string, 0, len(byID))
		for id := range byID {
			wantIDs = append(wantIDs, id)
		}
		sort.Strings(wantIDs)
		if !slices.Equal(sorted, wantIDs) {
			t.Fatalf("List(%+v, limit %d): got IDs %q, want %q", f, limit, sorted, wantIDs)
		}
		for _, r := range got {
			w := byID[r.ID]
			if r.BotID != w.BotID || r.SourceID != w.SourceID || r.DocumentID != w.DocumentID || r.TenantID != w.TenantID {
				t.Fatalf("List: record %+v, want IDs of %+v", r, vectorstore.Record{ID: w.ID, TenantID: w.TenantID, BotID: w.BotID, SourceID: w.SourceID, DocumentID: w.DocumentID})
			}
		}
	}
}

func matching(recs []vectorstore.Record, keep func(r vectorstore.Record) bool) []vectorstore.Record {
	var out []vectorstore.Record
	for _, r := range recs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func (s *suite) testListPages(t *testing.T) {
	ctx := t.Context()
	st, _ := s.open(t)
	a := s.listData("tenant-a", 57)
	b := s.listData("tenant-b", 23) // the same IDs as some of A's, other fields
	for i := range b {
		b[i].BotID, b[i].SourceID, b[i].DocumentID = "bot-b", "src-b", "doc-b"
	}
	mustUpsert(t, st, a...)
	mustUpsert(t, st, b...)

	wantListed(t, st, vectorstore.Filter{TenantID: "tenant-a"}, a)
	wantListed(t, st, vectorstore.Filter{TenantID: "tenant-b"}, b)
	wantListed(t, st, vectorstore.Filter{TenantID: "tenant-c"}, nil)
	recs, next, err := st.List(ctx, vectorstore.Filter{TenantID: "tenant-c"}, "", 10)
	if err != nil || len(recs) != 0 || next != "" {
		t.Fatalf("List of a tenant with no records = %v, %q, %v; want no records, no cursor", recs, next, err)
	}
	// Exactly one full page: no cursor after it.
	recs, next, err = st.List(ctx, vectorstore.Filter{TenantID: "tenant-b"}, "", len(b))
	if err != nil || len(recs) != len(b) || next != "" {
		t.Fatalf("List(limit = count) = %d records, next %q, %v; want %d, no cursor", len(recs), next, err, len(b))
	}

	// Filters narrow, alone and together, and never leave the tenant.
	ids := []string{a[3].ID, a[10].ID, a[11].ID, a[40].ID, "missing", b[0].ID}
	inIDs := func(r vectorstore.Record) bool { return slices.Contains(ids, r.ID) }
	for _, tc := range []struct {
		f    vectorstore.Filter
		keep func(r vectorstore.Record) bool
	}{
		{vectorstore.Filter{TenantID: "tenant-a", BotID: "bot1"}, func(r vectorstore.Record) bool { return r.BotID == "bot1" }},
		{vectorstore.Filter{TenantID: "tenant-a", SourceIDs: []string{"src0", "src4"}}, func(r vectorstore.Record) bool { return r.SourceID == "src0" || r.SourceID == "src4" }},
		{vectorstore.Filter{TenantID: "tenant-a", DocumentIDs: []string{"doc3"}}, func(r vectorstore.Record) bool { return r.DocumentID == "doc3" }},
		{vectorstore.Filter{TenantID: "tenant-a", IDs: ids}, inIDs},
		{vectorstore.Filter{TenantID: "tenant-a", BotID: "bot1", IDs: ids}, func(r vectorstore.Record) bool { return inIDs(r) && r.BotID == "bot1" }},
		{vectorstore.Filter{TenantID: "tenant-a", BotID: "bot-b"}, func(vectorstore.Record) bool { return false }},
		{vectorstore.Filter{TenantID: "tenant-a", IDs: []string{"missing"}}, func(vectorstore.Record) bool { return false }},
	} {
		wantListed(t, st, tc.f, matching(a, tc.keep))
	}
	wantListed(t, st, vectorstore.Filter{TenantID: "tenant-b", IDs: ids}, matching(b, inIDs))

	// Bad arguments.
	_, _, err = st.List(ctx, vectorstore.Filter{}, "", 10)
	wantErr(t, "List without tenant", err, record.ErrInvalidInput)
	_, _, err = st.List(ctx, vectorstore.Filter{BotID: "bot1"}, "", 10)
	wantErr(t, "List with a bot but without tenant", err, record.ErrInvalidInput)
	for _, limit := range []int{0, -1} {
		_, _, err = st.List(ctx, vectorstore.Filter{TenantID: "tenant-a"}, "", limit)
		wantErr(t, fmt.Sprintf("List with limit %d", limit), err, record.ErrInvalidInput)
	}
	_, _, err = st.List(ctx, vectorstore.Filter{TenantID: "tenant-a"}, "not a cursor", 10)
	wantErr(t, "List with a made-up cursor", err, record.ErrInvalidInput)

	// A cursor of one tenant used in another reads only the other tenant.
	_, next, err = st.List(ctx, vectorstore.Filter{TenantID: "tenant-a"}, "", 5)
	if err != nil || next == "" {
		t.Fatalf("List(tenant-a, limit 5) = next %q, %v; want a cursor", next, err)
	}
	recs, _, err = st.List(ctx, vectorstore.Filter{TenantID: "tenant-b"}, next, 100)
	if err != nil {
		t.Fatalf("List(tenant-b) with tenant-a's cursor: %v", err)
	}
	for _, r := range recs {
		if r.TenantID != "tenant-b" || r.BotID != "bot-b" {
			t.Fatalf("List(tenant-b) with tenant-a's cursor returned %+v", r)
		}
	}
}

// testListUnderChanges checks that a listing interleaved with upserts and
// deletes returns every record present throughout exactly once.
func (s *suite) testListUnderChanges(t *testing.T) {
	st, _ := s.open(t)
	a := s.listData("tenant-a", 60)
	mustUpsert(t, st, a...)
	f := vectorstore.Filter{TenantID: "tenant-a"}
	r := rand.New(rand.NewPCG(11, 12))
	deleted := map[string]bool{}
	seen := map[string]int{}
	cursor := ""
	for page := 0; ; page++ {
		recs, next, err := st.List(t.Context(), f, cursor, 7)
		if err != nil {
			t.Fatalf("List page %d: %v", page, err)
		}
		for _, rec := range recs {
			seen[rec.ID]++
		}
		if next == "" {
			break
		}
		cursor = next
		// Delete two records at random (listed or not), add two new ones.
		for range 2 {
			id := a[r.IntN(len(a))].ID
			deleted[id] = true
			mustDelete(t, st, vectorstore.Filter{TenantID: "tenant-a", IDs: []string{id}})
		}
		mustUpsert(t, st,
			vectorstore.Record{ID: fmt.Sprintf("new-%d-a", page), TenantID: "tenant-a", Vector: s.randVec(r)},
			vectorstore.Record{ID: fmt.Sprintf("a-new-%d", page), TenantID: "tenant-a", Vector: s.randVec(r)},
		)
	}
	for _, rec := range a {
		if !deleted[rec.ID] && seen[rec.ID] != 1 {
			t.Fatalf("record %q, present throughout, listed %d times", rec.ID, seen[rec.ID])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Fatalf("record %q listed %d times", id, n)
		}
	}
}

func (s *suite) testDeleteByIDs(t *testing.T) {
	ctx := t.Context()
	st, _ := s.open(t)
	a := s.listData("tenant-a", 40)
	b := s.listData("tenant-b", 40) // the same IDs
	mustUpsert(t, st, a...)
	mustUpsert(t, st, b...)

	// Only the named records of the tenant go; the same IDs in B stay.
	doomed := []string{a[0].ID, a[5].ID, a[6].ID, "missing", a[5].ID}
	mustDelete(t, st, vectorstore.Filter{TenantID: "tenant-a", IDs: doomed})
	left := matching(a, func(r vectorstore.Record) bool { return !slices.Contains(doomed, r.ID) })
	wantListed(t, st, vectorstore.Filter{TenantID: "tenant-a"}, left)
	wantListed(t, st, vectorstore.Filter{TenantID: "tenant-b"}, b)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-a"}, recordIDs(left)...)

	// IDs and other fields: only records matching both.
	ids := recordIDs(left[:10])
	mustDelete(t, st, vectorstore.Filter{TenantID: "tenant-a", BotID: "bot2", IDs: ids})
	left = matching(left, func(r vectorstore.Record) bool { return !(slices.Contains(ids, r.ID) && r.BotID == "bot2") })
	wantListed(t, st, vectorstore.Filter{TenantID: "tenant-a"}, left)

	// Many IDs, most of them unknown (adapters batch them).
	many := make([]string, 0, 6000)
	for i := range 6000 {
		many = append(many, fmt.Sprintf("unknown-%d", i))
	}
	many = append(many, recordIDs(left[5:])...)
	mustDelete(t, st, vectorstore.Filter{TenantID: "tenant-a", IDs: many})
	wantListed(t, st, vectorstore.Filter{TenantID: "tenant-a"}, left[:5])
	wantListed(t, st, vectorstore.Filter{TenantID: "tenant-b"}, b)

	wantErr(t, "Delete by IDs without tenant", st.Delete(ctx, vectorstore.Filter{IDs: ids}), record.ErrInvalidInput)
	wantListed(t, st, vectorstore.Filter{TenantID: "tenant-b"}, b)

}

// testDeleteByIDsReopen checks that deletions by ID are durable.
func (s *suite) testDeleteByIDsReopen(t *testing.T) {
	if s.opts.Reopen == nil {
		t.Skip("vectorstoretest: store does not offer Options.Reopen")
	}
	ctx := t.Context()
	st := s.newStore(t)
	sp := vectorstore.Space{Model: modelName(t), Dims: s.dims}
	if err := st.Init(ctx, sp); err != nil {
		t.Fatalf("Init: %v", err)
	}
	a := s.listData("tenant-a", 30)
	mustUpsert(t, st, a...)
	doomed := recordIDs(a[3:9])
	mustDelete(t, st, vectorstore.Filter{TenantID: "tenant-a", IDs: doomed})
	left := matching(a, func(r vectorstore.Record) bool { return !slices.Contains(doomed, r.ID) })
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st2 := s.opts.Reopen(t, st)
	defer func() {
		if err := st2.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if err := st2.Init(ctx, sp); err != nil {
		t.Fatalf("Init after reopen: %v", err)
	}
	wantListed(t, st2, vectorstore.Filter{TenantID: "tenant-a"}, left)
}

func (s *suite) testSearchByIDs(t *testing.T) {
	st, _ := s.open(t)
	a := s.listData("tenant-a", 30)
	b := s.listData("tenant-b", 30)
	mustUpsert(t, st, a...)
	mustUpsert(t, st, b...)
	ids := []string{a[1].ID, a[2].ID, a[3].ID, a[4].ID, "missing"}
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-a", IDs: ids}, ids[:4]...)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-b", IDs: ids}, recordIDs(matching(b, func(r vectorstore.Record) bool { return slices.Contains(ids, r.ID) }))...)
	want := recordIDs(matching(a[1:5], func(r vectorstore.Record) bool { return r.BotID == "bot1" }))
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-a", BotID: "bot1", IDs: ids}, want...)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-a", IDs: []string{"missing"}})

	// Scores are those of the named records: the best is a[2] when queried
	// with its own vector, and TopK still applies.
	ms := mustSearch(t, st, vectorstore.Query{Vector: a[2].Vector, TopK: 2, Filter: vectorstore.Filter{TenantID: "tenant-a", IDs: ids}})
	if len(ms) != 2 || ms[0].ID != a[2].ID || ms[0].Score < 1-tol {
		t.Fatalf("Search with IDs by %q's own vector = %v, want it first with score 1, 2 matches", a[2].ID, ms)
	}
}

func (s *suite) testListNotInitialized(t *testing.T) {
	st := s.newStore(t)
	defer func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	_, _, err := st.List(t.Context(), vectorstore.Filter{TenantID: "t1"}, "", 10)
	wantErr(t, "List before Init", err, vectorstore.ErrNotInitialized)
}
