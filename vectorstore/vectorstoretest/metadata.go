package vectorstoretest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// The Metadata area: Filter.Metadata narrows Search, Delete and List as
// filter.Match says, SetMetadata changes what filters see and nothing
// else, and metadata never crosses tenants.

func (s *suite) testMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Search", s.testMetadataSearch},
		{"DeleteAndList", s.testMetadataDeleteList},
		{"SetMetadata", s.testSetMetadata},
		{"TenantIsolation", s.testMetadataTenants},
		{"InvalidFilter", s.testMetadataInvalid},
		{"Reopen", s.testMetadataReopen},
	} {
		t.Run(tc.name, tc.fn)
	}
}

var (
	mdLangs = []string{"en", "fr", "de", "es"}
	mdTags  = []string{"go", "sql", "rag", "api", "ops"}
	mdEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
)

// docMetadata returns varied metadata in its JSON form: strings, numbers,
// bools, arrays (some empty), times, nulls, nested objects, fields of two
// types across documents, and fields missing from some documents; nil for
// about one document in twelve.
func docMetadata(r *rand.Rand, owner string, doc int) record.Metadata {
	if r.IntN(12) == 0 {
		return nil
	}
	m := record.Metadata{"owner": owner, "doc": float64(doc)}
	if r.IntN(6) != 0 {
		m["lang"] = mdLangs[r.IntN(len(mdLangs))]
	}
	if r.IntN(5) != 0 {
		m["year"] = float64(2015 + r.IntN(10))
	}
	m["score"] = math.Round(r.Float64()*1000) / 100 // 0..10, two decimals
	if r.IntN(4) != 0 {
		m["draft"] = r.IntN(3) == 0
	}
	if r.IntN(5) != 0 {
		var tags []any
		for _, tg := range mdTags {
			if r.IntN(3) == 0 {
				tags = append(tags, tg)
			}
		}
		if tags == nil {
			tags = []any{}
		}
		m["tags"] = tags
	}
	if r.IntN(3) == 0 {
		m["ratings"] = []any{float64(r.IntN(5) + 1), float64(r.IntN(5) + 1)}
	}
	if r.IntN(4) != 0 {
		m["published"] = record.FormatTime(mdEpoch.Add(time.Duration(r.IntN(1500)) * 24 * time.Hour).Add(time.Duration(r.IntN(86400)) * time.Second))
	}
	switch r.IntN(4) {
	case 0:
		m["version"] = "3"
	case 1:
		m["version"] = float64(3)
	case 2:
		m["version"] = nil
	}
	if r.IntN(3) == 0 {
		m["nested"] = map[string]any{"lang": "en", "n": float64(1)}
	}
	return m
}

// metadataData is a tenant of n records in n/8 documents (over 2 bots and
// 4 sources); every record carries its document's metadata.
func (s *suite) metadataData(r *rand.Rand, tenant string, n int) []vectorstore.Record {
	docs := max(1, n/8)
	mds := make([]record.Metadata, docs)
	for d := range mds {
		mds[d] = docMetadata(r, tenant, d)
	}
	recs := make([]vectorstore.Record, n)
	for i := range recs {
		d := r.IntN(docs)
		recs[i] = vectorstore.Record{
			ID:         fmt.Sprintf("m%04d", i),
			TenantID:   tenant,
			BotID:      fmt.Sprintf("b%d", d%2),
			SourceID:   fmt.Sprintf("s%d", d%4),
			DocumentID: fmt.Sprintf("d%03d", d),
			Vector:     s.randVec(r),
			Metadata:   mds[d].Clone(),
		}
	}
	return recs
}

// randLeaf returns a random condition on the fields docMetadata writes.
func randLeaf(r *rand.Rand) filter.Filter {
	year := func() float64 { return float64(2014 + r.IntN(12)) }
	day := func() time.Time { return mdEpoch.Add(time.Duration(r.IntN(1600)) * 24 * time.Hour) }
	switch r.IntN(19) {
	case 0:
		return filter.Eq("lang", mdLangs[r.IntN(len(mdLangs))])
	case 1:
		return filter.In("lang", mdLangs[r.IntN(len(mdLangs))], mdLangs[r.IntN(len(mdLangs))])
	case 2:
		return filter.Eq("year", year())
	case 3:
		return filter.In("year", year(), year(), year())
	case 4:
		return filter.Gte("year", year())
	case 5:
		return filter.Between("year", year(), year())
	case 6:
		return filter.Lt("score", r.Float64()*10)
	case 7:
		return filter.Filter{Op: filter.OpRange, Field: "score", Gt: r.Float64() * 5, Lte: 5 + r.Float64()*5}
	case 8:
		return filter.Eq("draft", r.IntN(2) == 0)
	case 9:
		return filter.Eq("tags", mdTags[r.IntN(len(mdTags))])
	case 10:
		return filter.In("tags", mdTags[r.IntN(len(mdTags))], mdTags[r.IntN(len(mdTags))])
	case 11:
		return filter.Gte("ratings", float64(r.IntN(5)+1))
	case 12:
		return filter.Between("published", day(), day())
	case 13:
		return filter.Lt("published", day())
	case 14:
		return filter.Exists([]string{"lang", "year", "tags", "draft", "version", "nested", "published", "ratings", "absent"}[r.IntN(9)])
	case 15:
		if r.IntN(2) == 0 {
			return filter.Eq("version", "3")
		}
		return filter.Eq("version", float64(3))
	case 16:
		return filter.Gte("lang", "es") // strings compare as strings
	case 17:
		return filter.Eq("doc", float64(r.IntN(40)))
	default:
		return filter.Eq("lang", "en")
	}
}

// randFilter returns a random filter of depth at most depth.
func randFilter(r *rand.Rand, depth int) filter.Filter {
	if depth <= 1 || r.IntN(3) == 0 {
		return randLeaf(r)
	}
	switch r.IntN(3) {
	case 0:
		return filter.Not(randFilter(r, depth-1))
	case 1:
		return filter.And(randFilter(r, depth-1), randFilter(r, depth-1))
	default:
		return filter.Or(randFilter(r, depth-1), randFilter(r, depth-1), randFilter(r, depth-1))
	}
}

// metadataFilters returns fixed filters covering each operator, then n
// random ones.
func metadataFilters(r *rand.Rand, n int) []filter.Filter {
	fs := []filter.Filter{
		filter.Eq("lang", "en"),
		filter.Eq("lang", "xx"),
		filter.In("lang", "fr", "de"),
		filter.Eq("draft", false),
		filter.Eq("draft", true),
		filter.Eq("tags", "go"),
		filter.Between("year", 2017, 2020),
		filter.Gt("score", 9.5),
		filter.Gte("published", mdEpoch.Add(1000*24*time.Hour)),
		filter.Exists("tags"),
		filter.Exists("version"),
		filter.Not(filter.Exists("lang")),
		filter.Not(filter.Eq("lang", "en")),
		filter.Eq("version", "3"),
		filter.Eq("version", 3),
		filter.And(filter.Eq("lang", "en"), filter.Gte("year", 2019)),
		filter.Or(filter.Eq("tags", "sql"), filter.Lt("year", 2016)),
		filter.And(filter.Not(filter.Eq("draft", true)), filter.Or(filter.In("lang", "en", "de"), filter.Exists("nested"))),
	}
	for range n {
		fs = append(fs, randFilter(r, 4))
	}
	return fs
}

func matchMetadata(recs []vectorstore.Record, f vectorstore.Filter) []vectorstore.Record {
	var out []vectorstore.Record
	for _, rec := range recs {
		if slices.Contains(matchIDs([]vectorstore.Record{rec}, f), rec.ID) && f.Metadata.Match(rec.Metadata) {
			out = append(out, rec)
		}
	}
	return out
}

// checkFiltered runs q and compares it with brute force over live: every
// match matches the filter, and for an exact store the scores are the
// brute-force top k; it returns the recall@k against brute force.
func (s *suite) checkFiltered(t *testing.T, st vectorstore.VectorStore, live []vectorstore.Record, q vectorstore.Query) (recall float64, ok bool) {
	t.Helper()
	want := matchMetadata(live, q.Filter)
	byID := map[string]vectorstore.Record{}
	for _, rec := range want {
		byID[rec.ID] = rec
	}
	sort.Slice(want, func(i, j int) bool {
		ci, cj := cosine(q.Vector, want[i].Vector), cosine(q.Vector, want[j].Vector)
		if ci != cj {
			return ci > cj
		}
		return want[i].ID < want[j].ID
	})
	if len(want) > q.TopK {
		want = want[:q.TopK]
	}
	ms := mustSearch(t, st, q)
	for _, m := range ms {
		rec, found := byID[m.ID]
		if !found {
			t.Fatalf("Search(%s): match %q does not match the filter (or is not the tenant's)", describe(q.Filter), m.ID)
		}
		if c := cosine(q.Vector, rec.Vector); math.Abs(float64(m.Score)-c) > tol {
			t.Fatalf("Search(%s): match %q scores %v, its cosine is %v", describe(q.Filter), m.ID, m.Score, c)
		}
	}
	if len(want) == 0 {
		if len(ms) != 0 {
			t.Fatalf("Search(%s): %d matches, none expected", describe(q.Filter), len(ms))
		}
		return 1, false
	}
	if !s.opts.Approximate {
		if len(ms) != len(want) {
			t.Fatalf("Search(%s, TopK %d): %d matches, brute force finds %d", describe(q.Filter), q.TopK, len(ms), len(want))
		}
		for i, m := range ms {
			if c := cosine(q.Vector, want[i].Vector); math.Abs(float64(m.Score)-c) > tol {
				t.Fatalf("Search(%s): match %d (%q) scores %v, brute force has %q at %v", describe(q.Filter), i, m.ID, m.Score, want[i].ID, c)
			}
		}
	}
	got := map[string]bool{}
	for _, m := range ms {
		got[m.ID] = true
	}
	hits := 0
	for _, w := range want {
		if got[w.ID] {
			hits++
		}
	}
	return float64(hits) / float64(len(want)), true
}

func describe(f vectorstore.Filter) string {
	b, err := f.Metadata.MarshalJSON()
	if err != nil {
		b = []byte(err.Error())
	}
	var extra []string
	if f.BotID != "" {
		extra = append(extra, "bot "+f.BotID)
	}
	if len(f.SourceIDs) > 0 {
		extra = append(extra, fmt.Sprintf("sources %q", f.SourceIDs))
	}
	if len(f.DocumentIDs) > 0 {
		extra = append(extra, fmt.Sprintf("documents %q", f.DocumentIDs))
	}
	return fmt.Sprintf("tenant %s, metadata %s %s", f.TenantID, b, strings.Join(extra, ", "))
}

// minRecall is the mean recall@10 of filtered searches an approximate
// store must reach against brute force.
const minRecall = 0.95

func (s *suite) testMetadataSearch(t *testing.T) {
	st, _ := s.open(t)
	r := rand.New(rand.NewPCG(10, 1))
	recs := append(s.metadataData(r, "t1", 320), s.metadataData(r, "t2", 160)...)
	for i := 0; i < len(recs); i += 100 {
		mustUpsert(t, st, recs[i:min(i+100, len(recs))]...)
	}
	// Replace some records with other metadata and vectors, as re-ingestion
	// would: filters must see the new metadata only.
	for i := 0; i < 60; i += 3 {
		recs[i].Metadata = record.Metadata{"owner": recs[i].TenantID, "lang": "zz", "year": float64(1990)}
		recs[i].Vector = s.randVec(r)
	}
	mustUpsert(t, st, recs[:60]...)
	filters := metadataFilters(r, 60)
	var sum float64
	var n, nonEmpty int
	for fi, mf := range filters {
		tenant := []string{"t1", "t2"}[fi%2]
		f := vectorstore.Filter{TenantID: tenant, Metadata: mf}
		switch fi % 5 {
		case 3:
			f.BotID = "b1"
		case 4:
			f.SourceIDs = []string{"s0", "s3"}
		}
		for _, k := range []int{10, 3} {
			q := vectorstore.Query{Vector: s.randVec(r), TopK: k, Filter: f}
			rc, ok := s.checkFiltered(t, st, recs, q)
			if k == 10 {
				sum += rc
				n++
				if ok {
					nonEmpty++
				}
			}
		}
		if !s.opts.Approximate {
			// Every matching record, with TopK above their count.
			want := recordIDs(matchMetadata(recs, f))
			sort.Strings(want)
			if want == nil {
				want = []string{}
			}
			if got := s.all(t, st, f); !slices.Equal(got, want) {
				t.Fatalf("records matching %s: got %q, want %q", describe(f), got, want)
			}
		}
	}
	if nonEmpty < len(filters)/2 {
		t.Fatalf("only %d of %d filters match a record: the generated data does not exercise the filters", nonEmpty, len(filters))
	}
	if mean := sum / float64(n); mean < minRecall {
		t.Fatalf("mean recall@10 of %d filtered searches is %.3f, want >= %.2f", n, mean, minRecall)
	} else {
		t.Logf("mean recall@10 of %d filtered searches: %.3f", n, mean)
	}
}

func (s *suite) testMetadataDeleteList(t *testing.T) {
	st, _ := s.open(t)
	r := rand.New(rand.NewPCG(10, 2))
	recs := append(s.metadataData(r, "t1", 120), s.metadataData(r, "t2", 120)...)
	mustUpsert(t, st, recs...)
	// List honours Filter.Metadata (with the other fields).
	for i, mf := range metadataFilters(r, 6) {
		f := vectorstore.Filter{TenantID: []string{"t1", "t2"}[i%2], Metadata: mf}
		if i%3 == 2 {
			f.SourceIDs = []string{"s1", "s2"}
		}
		wantListed(t, st, f, matchMetadata(recs, f))
	}
	// Delete honours it: only the matching records of the tenant go.
	live := recs
	for _, f := range []vectorstore.Filter{
		{TenantID: "t1", Metadata: filter.Eq("lang", "en")},
		{TenantID: "t1", BotID: "b0", Metadata: filter.Not(filter.Exists("year"))},
		{TenantID: "t2", Metadata: filter.Or(filter.Eq("tags", "go"), filter.Eq("draft", true))},
		{TenantID: "t2", IDs: []string{"m0001", "m0002", "m0003", "m0050", "m0099"}, Metadata: filter.Exists("lang")},
		{TenantID: "t1", Metadata: filter.Eq("lang", "nowhere")},
	} {
		gone := map[string]bool{}
		for _, rec := range matchMetadata(live, f) {
			if len(f.IDs) == 0 || slices.Contains(f.IDs, rec.ID) {
				gone[rec.TenantID+"/"+rec.ID] = true
			}
		}
		mustDelete(t, st, f)
		live = matching(live, func(rec vectorstore.Record) bool { return !gone[rec.TenantID+"/"+rec.ID] })
		for _, tenant := range []string{"t1", "t2"} {
			wantListed(t, st, vectorstore.Filter{TenantID: tenant}, matching(live, func(rec vectorstore.Record) bool { return rec.TenantID == tenant }))
		}
	}
	// Searches agree with the records left.
	for i, mf := range metadataFilters(r, 4) {
		f := vectorstore.Filter{TenantID: []string{"t1", "t2"}[i%2], Metadata: mf}
		s.checkFiltered(t, st, live, vectorstore.Query{Vector: s.randVec(r), TopK: 5, Filter: f})
	}
}

func (s *suite) testSetMetadata(t *testing.T) {
	ctx := t.Context()
	st, _ := s.open(t)
	r := rand.New(rand.NewPCG(10, 3))
	recs := append(s.metadataData(r, "t1", 96), s.metadataData(r, "t2", 96)...)
	mustUpsert(t, st, recs...)
	doc := recs[0].DocumentID
	set := func(f vectorstore.Filter, m record.Metadata) {
		t.Helper()
		if err := st.SetMetadata(ctx, f, m); err != nil {
			t.Fatalf("SetMetadata(%s): %v", describe(f), err)
		}
		for i := range recs {
			if slices.Contains(matchIDs([]vectorstore.Record{recs[i]}, f), recs[i].ID) &&
				f.Metadata.Match(recs[i].Metadata) && (len(f.IDs) == 0 || slices.Contains(f.IDs, recs[i].ID)) {
				recs[i].Metadata = m.Clone()
			}
		}
	}
	mark := record.Metadata{"lang": "xx", "year": float64(1999), "tags": []any{"marked"}}
	set(vectorstore.Filter{TenantID: "t1", DocumentIDs: []string{doc}}, mark)
	want := matching(recs, func(rec vectorstore.Record) bool { return rec.TenantID == "t1" && rec.DocumentID == doc })
	if len(want) == 0 {
		t.Fatal("no record in the document")
	}
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1", Metadata: filter.Eq("lang", "xx")}, recordIDs(want)...)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1", Metadata: filter.Eq("tags", "marked")}, recordIDs(want)...)
	// The other tenant's document of the same ID keeps its metadata.
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t2", Metadata: filter.Eq("lang", "xx")})
	// Vectors are untouched: scores are the original cosines.
	for _, rec := range want {
		ms := mustSearch(t, st, vectorstore.Query{Vector: rec.Vector, TopK: 1, Filter: vectorstore.Filter{TenantID: "t1", IDs: []string{rec.ID}}})
		if len(ms) != 1 || math.Abs(float64(ms[0].Score)-1) > tol {
			t.Fatalf("after SetMetadata, record %q against its own vector: %v, want score 1", rec.ID, ms)
		}
	}
	// By a metadata filter, and nil clears.
	set(vectorstore.Filter{TenantID: "t2", Metadata: filter.Eq("lang", "fr")}, record.Metadata{"lang": "fr", "reviewed": true})
	set(vectorstore.Filter{TenantID: "t1", Metadata: filter.Eq("draft", true)}, nil)
	set(vectorstore.Filter{TenantID: "t2", BotID: "b1", Metadata: filter.Not(filter.Exists("lang"))}, record.Metadata{"lang": "none"})
	set(vectorstore.Filter{TenantID: "t3", DocumentIDs: []string{doc}}, mark) // no records: nothing happens
	for i, mf := range append(metadataFilters(r, 8),
		filter.Eq("reviewed", true), filter.Not(filter.Exists("owner")), filter.Eq("lang", "none")) {
		f := vectorstore.Filter{TenantID: []string{"t1", "t2"}[i%2], Metadata: mf}
		s.checkFiltered(t, st, recs, vectorstore.Query{Vector: s.randVec(r), TopK: 10, Filter: f})
		f.TenantID = []string{"t2", "t1"}[i%2]
		s.checkFiltered(t, st, recs, vectorstore.Query{Vector: s.randVec(r), TopK: 10, Filter: f})
	}
	// Replacing a record replaces its metadata too.
	up := recs[5]
	up.Metadata = record.Metadata{"lang": "after"}
	mustUpsert(t, st, up)
	recs[5] = up
	s.wantIDs(t, st, vectorstore.Filter{TenantID: up.TenantID, Metadata: filter.Eq("lang", "after")}, up.ID)
	err := st.SetMetadata(ctx, vectorstore.Filter{DocumentIDs: []string{doc}}, mark)
	wantErr(t, "SetMetadata with an empty tenant", err, record.ErrInvalidInput)
}

func (s *suite) testMetadataTenants(t *testing.T) {
	ctx := t.Context()
	st, _ := s.open(t)
	a := record.Metadata{"owner": "a", "lang": "en", "year": float64(2020), "tags": []any{"secret"}}
	b := record.Metadata{"owner": "b", "lang": "de"}
	var recs []vectorstore.Record
	for i := range 6 {
		for _, tn := range []struct {
			tenant string
			md     record.Metadata
		}{{"tenant-a", a}, {"tenant-b", b}} {
			recs = append(recs, vectorstore.Record{
				ID: fmt.Sprintf("r%d", i), TenantID: tn.tenant, BotID: "bot", SourceID: "src",
				DocumentID: "doc", Vector: s.vec(1, float32(i)), Metadata: tn.md.Clone(),
			})
		}
	}
	mustUpsert(t, st, recs...)
	aOnly := []filter.Filter{
		filter.Eq("owner", "a"),
		filter.Eq("tags", "secret"),
		filter.And(filter.Eq("lang", "en"), filter.Gte("year", 2000)),
		filter.Exists("year"),
	}
	for _, mf := range aOnly {
		f := vectorstore.Filter{TenantID: "tenant-b", Metadata: mf}
		s.wantIDs(t, st, f)
		wantListed(t, st, f, nil)
		mustDelete(t, st, f)
		if err := st.SetMetadata(ctx, f, record.Metadata{"owner": "b-took-over"}); err != nil {
			t.Fatalf("SetMetadata(%s): %v", describe(f), err)
		}
	}
	allIDs := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-b"}, allIDs...)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-b", Metadata: filter.Eq("owner", "b")}, allIDs...)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-a", Metadata: filter.Eq("owner", "a")}, allIDs...)
	// SetMetadata in A touches A only; deleting by A's metadata in A
	// leaves B alone.
	if err := st.SetMetadata(ctx, vectorstore.Filter{TenantID: "tenant-a", DocumentIDs: []string{"doc"}}, record.Metadata{"owner": "a2"}); err != nil {
		t.Fatalf("SetMetadata: %v", err)
	}
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-b", Metadata: filter.Eq("owner", "b")}, allIDs...)
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-b", Metadata: filter.Eq("owner", "a2")})
	mustDelete(t, st, vectorstore.Filter{TenantID: "tenant-a", Metadata: filter.Eq("owner", "a2")})
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-a"})
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "tenant-b"}, allIDs...)
}

func (s *suite) testMetadataInvalid(t *testing.T) {
	ctx := t.Context()
	st, _ := s.open(t)
	mustUpsert(t, st, vectorstore.Record{ID: "a", TenantID: "t1", DocumentID: "d", Vector: s.vec(1), Metadata: record.Metadata{"lang": "en"}})
	for _, bad := range []filter.Filter{
		{Op: "like", Field: "lang", Values: []any{"e%"}},
		filter.Eq("not a key!", "x"),
		{Op: filter.OpEq, Field: "lang"},
		{Op: filter.OpRange, Field: "year", Gte: float64(1), Lt: "2"},
		{Op: filter.OpAnd},
		filter.Not(filter.Filter{}),
	} {
		f := vectorstore.Filter{TenantID: "t1", Metadata: bad}
		check := func(what string, err error) {
			t.Helper()
			wantErr(t, what, err, record.ErrInvalidInput)
			var ve *record.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), "filter") {
				t.Fatalf("%s with filter %+v: error %q is not a *record.ValidationError naming \"filter\"", what, bad, err)
			}
		}
		_, err := st.Search(ctx, vectorstore.Query{Vector: s.vec(1), TopK: 3, Filter: f})
		check("Search", err)
		check("Delete", st.Delete(ctx, f))
		_, _, err = st.List(ctx, f, "", 10)
		check("List", err)
		check("SetMetadata", st.SetMetadata(ctx, f, record.Metadata{"lang": "de"}))
	}
	// Nothing was deleted or changed.
	s.wantIDs(t, st, vectorstore.Filter{TenantID: "t1", Metadata: filter.Eq("lang", "en")}, "a")
}

func (s *suite) testMetadataReopen(t *testing.T) {
	if s.opts.Reopen == nil {
		t.Skip("vectorstoretest: store does not offer Options.Reopen")
	}
	ctx := t.Context()
	st := s.newStore(t)
	sp := vectorstore.Space{Model: modelName(t), Dims: s.dims}
	if err := st.Init(ctx, sp); err != nil {
		t.Fatalf("Init: %v", err)
	}
	r := rand.New(rand.NewPCG(10, 4))
	recs := append(s.metadataData(r, "t1", 64), s.metadataData(r, "t2", 64)...)
	mustUpsert(t, st, recs[:70]...)
	mustUpsert(t, st, recs[70:]...)
	if err := st.SetMetadata(ctx, vectorstore.Filter{TenantID: "t1", DocumentIDs: []string{recs[0].DocumentID}}, record.Metadata{"lang": "set"}); err != nil {
		t.Fatalf("SetMetadata: %v", err)
	}
	for i := range recs {
		if recs[i].TenantID == "t1" && recs[i].DocumentID == recs[0].DocumentID {
			recs[i].Metadata = record.Metadata{"lang": "set"}
		}
	}
	filters := append(metadataFilters(r, 10), filter.Eq("lang", "set"))
	for range 2 {
		if err := st.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		st = s.opts.Reopen(t, st)
		if err := st.Init(ctx, sp); err != nil {
			t.Fatalf("Init after reopen: %v", err)
		}
		for i, mf := range filters {
			f := vectorstore.Filter{TenantID: []string{"t1", "t2"}[i%2], Metadata: mf}
			s.checkFiltered(t, st, recs, vectorstore.Query{Vector: s.randVec(r), TopK: 10, Filter: f})
		}
		// A change after the reopen persists too.
		mustDelete(t, st, vectorstore.Filter{TenantID: "t2", Metadata: filter.Eq("lang", "en")})
		recs = matching(recs, func(rec vectorstore.Record) bool {
			return !(rec.TenantID == "t2" && filter.Eq("lang", "en").Match(rec.Metadata))
		})
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
