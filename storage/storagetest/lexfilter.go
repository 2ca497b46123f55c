package storagetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Value pools of the generated metadata and filters. They overlap on
// purpose across types ("1", 1 and true; "true" and true), so that a store
// that mixes types (JSON true read as 1, a number compared with a string)
// returns documents filter.Match does not.
var (
	poolStrings = []any{"alpha", "beta", "Beta", "gamma", "1", "true", "", "o'brien \"q\" %_\\", "é"}
	poolNumbers = []any{-1.0, 0.0, 1.0, 2.5, 3.0, 100.0, 1e20}
	poolBools   = []any{true, false}
	poolTimes   = []time.Time{
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 6, 30, 12, 0, 0, 500000000, time.UTC),
		time.Date(2025, 2, 3, 4, 5, 6, 7000, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999999000, time.UTC),
	}
	// poolFields are the fields of the generated metadata, and "absent",
	// which no document has.
	poolFields = []string{"s", "n", "b", "tags", "t", "mix", "obj", "absent"}
)

func pick[T any](r *rand.Rand, l []T) T { return l[r.IntN(len(l))] }

// anyScalar is a value of any of the pools.
func anyScalar(r *rand.Rand) any {
	switch r.IntN(4) {
	case 0:
		return pick(r, poolStrings)
	case 1:
		return pick(r, poolNumbers)
	case 2:
		return pick(r, poolBools)
	}
	return record.FormatTime(pick(r, poolTimes))
}

// genMetadata returns varied metadata: each field missing, null, a value
// of its usual type, a value of another type, or an array (empty, with
// nulls, mixed).
func genMetadata(r *rand.Rand) record.Metadata {
	m := record.Metadata{}
	maybe := func(k string, v func() any) {
		switch r.IntN(8) {
		case 0: // missing
		case 1:
			m[k] = nil
		default:
			m[k] = v()
		}
	}
	arr := func(n int, v func() any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = v()
		}
		return out
	}
	maybe("s", func() any {
		if r.IntN(4) == 0 {
			return arr(r.IntN(3), func() any { return pick(r, poolStrings) })
		}
		return pick(r, poolStrings)
	})
	maybe("n", func() any {
		switch r.IntN(6) {
		case 0:
			return arr(r.IntN(4), func() any { return pick(r, poolNumbers) })
		case 1:
			return "2.5" // a string that reads as a number
		}
		return pick(r, poolNumbers)
	})
	maybe("b", func() any {
		if r.IntN(5) == 0 {
			return "true"
		}
		return pick(r, poolBools)
	})
	maybe("tags", func() any {
		switch r.IntN(6) {
		case 0:
			return []any{}
		case 1:
			return []any{nil}
		case 2:
			return "go"
		}
		return arr(1+r.IntN(3), func() any { return pick(r, []any{"go", "sql", "rust", 1.0, nil}) })
	})
	maybe("t", func() any { return record.FormatTime(pick(r, poolTimes)) })
	maybe("mix", func() any {
		switch r.IntN(5) {
		case 0:
			return map[string]any{"s": "alpha", "n": 1.0}
		case 1:
			return []any{[]any{"alpha"}, map[string]any{"n": 1.0}}
		case 2:
			return arr(1+r.IntN(3), func() any { return anyScalar(r) })
		}
		return anyScalar(r)
	})
	if r.IntN(3) == 0 {
		m["obj"] = map[string]any{"s": pick(r, poolStrings), "list": []any{1.0, "two"}}
	}
	return m
}

// genLeaf returns a random condition on one field.
func genLeaf(r *rand.Rand) filter.Filter {
	field := pick(r, poolFields)
	switch r.IntN(7) {
	case 0, 1:
		return filter.Eq(field, anyScalar(r))
	case 2:
		vs := make([]any, 1+r.IntN(4))
		for i := range vs {
			vs[i] = anyScalar(r)
		}
		return filter.In(field, vs...)
	case 3:
		return filter.Exists(field)
	case 4: // a time range
		a, b := pick(r, poolTimes), pick(r, poolTimes)
		if b.Before(a) {
			a, b = b, a
		}
		switch r.IntN(3) {
		case 0:
			return filter.Between(field, a, b)
		case 1:
			return filter.Gt(field, a)
		}
		return filter.Lte(field, b)
	case 5: // a string range
		a, b := pick(r, poolStrings).(string), pick(r, poolStrings).(string)
		if b < a {
			a, b = b, a
		}
		return filter.Filter{Op: filter.OpRange, Field: field, Gte: a, Lt: b}
	}
	// A number range.
	a, b := pick(r, poolNumbers).(float64), pick(r, poolNumbers).(float64)
	if b < a {
		a, b = b, a
	}
	switch r.IntN(4) {
	case 0:
		return filter.Gt(field, a)
	case 1:
		return filter.Lt(field, b)
	case 2:
		return filter.Filter{Op: filter.OpRange, Field: field, Gt: a, Lte: b}
	}
	return filter.Between(field, a, b)
}

// genFilter returns a random filter of at most depth levels.
func genFilter(r *rand.Rand, depth int) filter.Filter {
	if depth <= 1 || r.IntN(3) == 0 {
		return genLeaf(r)
	}
	switch r.IntN(3) {
	case 0:
		return filter.Not(genFilter(r, depth-1))
	case 1:
		return filter.And(genFilter(r, depth-1), genFilter(r, depth-1), genFilter(r, depth-1))
	}
	return filter.Or(genFilter(r, depth-1), genFilter(r, depth-1))
}

// filterCases are hand-written filters over the generated fields, edge
// cases first; generated ones follow.
func filterCases(r *rand.Rand) []filter.Filter {
	t1, t2 := poolTimes[1], poolTimes[2]
	fs := []filter.Filter{
		filter.Eq("s", "alpha"),
		filter.Eq("s", "Beta"),
		filter.Eq("s", ""),
		filter.Eq("s", "o'brien \"q\" %_\\"),
		filter.Eq("s", 1.0), // "1" is a string: never equal to 1
		filter.Eq("n", 1.0),
		filter.Eq("n", "2.5"),
		filter.Eq("n", 1e20),
		filter.Eq("b", true),
		filter.Eq("b", false),
		filter.Eq("b", 1.0), // true is not 1
		filter.Eq("b", "true"),
		filter.Eq("mix", 1.0),
		filter.Eq("mix", "alpha"), // never inside an object or a nested array
		filter.Eq("obj", "alpha"),
		filter.Eq("tags", "go"),
		filter.In("tags", "sql", "rust"),
		filter.In("s", "alpha", 1.0, true),
		filter.In("n", 0.0, 3.0, "1"),
		filter.Exists("tags"), // not for [] and [null]
		filter.Exists("s"),    // not for null
		filter.Exists("obj"),
		filter.Exists("mix"),
		filter.Exists("absent"),
		filter.Not(filter.Exists("tags")),
		filter.Not(filter.Eq("s", "alpha")), // documents without s match
		filter.Not(filter.Eq("absent", "x")),
		filter.Gt("n", 0.0),
		filter.Gte("n", 1.0),
		filter.Lt("n", 2.5),
		filter.Lte("n", -1.0),
		filter.Between("n", 0.0, 100.0),
		filter.Gte("s", "alpha"), // strings compare byte-wise: "Beta" < "alpha"
		filter.Lt("s", "beta"),
		filter.Filter{Op: filter.OpRange, Field: "s", Gt: "", Lte: "gamma"},
		filter.Gte("t", t1),
		filter.Between("t", t1, t2),
		filter.Lt("t", t2),
		filter.Gte("mix", 0.0),
		filter.And(filter.Exists("n"), filter.Not(filter.Gte("n", 1.0))),
		filter.Or(filter.Eq("b", true), filter.Eq("tags", "go")),
		filter.Not(filter.Or(filter.Eq("b", true), filter.Eq("tags", "go"))),
		filter.And(filter.Or(filter.Eq("s", "alpha"), filter.Gt("n", 1.0)), filter.Not(filter.Exists("t"))),
	}
	for range 150 {
		fs = append(fs, genFilter(r, 4))
	}
	return fs
}

// invalidFilters are filters Validate rejects.
func invalidFilters() []filter.Filter {
	return []filter.Filter{
		{Op: "bogus", Field: "s", Values: []any{"x"}},
		filter.Eq("bad.field", "x"),
		filter.Eq("", "x"),
		filter.Eq("s", []any{"x"}),
		{Op: filter.OpIn, Field: "s"},
		{Op: filter.OpRange, Field: "n"},
		{Op: filter.OpRange, Field: "n", Gte: 1.0, Lt: "x"},
		{Op: filter.OpNot},
		{Op: filter.OpAnd},
		filter.And(filter.Eq("s", "a"), filter.Filter{Op: filter.OpEq, Field: "s"}),
	}
}

func describe(fl filter.Filter) string {
	b, err := json.Marshal(fl)
	if err != nil {
		return fmt.Sprintf("%+v", fl)
	}
	return string(b)
}

// testLexicalFilter: LexicalQuery.Filter over varied metadata (every
// field missing, null, of its type, of another type, arrays empty, with
// nulls, mixed; objects) and many filters (hand-written edge cases and
// generated trees of eq, in, ranges of numbers, strings and times, exists,
// and, or, not): every search returns exactly the chunks that contain the
// term and whose document matches filter.Match, with the bot and source
// filters too, never a chunk of another tenant holding the same content.
// QueryDocumentsPage with each filter returns exactly the documents
// filter.Match accepts. Invalid filters are ErrInvalidInput naming
// "filter".
func testLexicalFilter(f *fixture) {
	s, ctx := f.s, f.ctx
	a, b := f.newTenant(), f.newTenant()
	bot1, bot2 := f.newBot(a.ID), f.newBot(a.ID)
	srcs := []record.Source{f.newSource(a.ID, bot1.ID), f.newSource(a.ID, bot2.ID), f.newSource(a.ID, bot1.ID)}
	srcB := f.newSource(b.ID, f.newBot(b.ID).ID)

	r := rand.New(rand.NewPCG(10, 20))
	type docInfo struct {
		doc     record.Document
		chunk   string
		hasTerm bool
	}
	var docsA []docInfo
	var docsB []record.Document
	chunkOfB := map[string]bool{}
	for i := range 60 {
		m := genMetadata(r)
		hasTerm := i%5 != 0
		text := filler[i%len(filler)]
		if hasTerm {
			text = "zebra " + text
		}
		src := srcs[i%len(srcs)]
		d, chunks := f.newDoc(src, fmt.Sprintf("doc-%02d", i), fmt.Sprintf("document %d", i), text)
		d.Metadata = m
		got, err := s.PutDocument(ctx, d, chunks)
		f.must(err, "PutDocument")
		docsA = append(docsA, docInfo{got, chunks[0].ID, hasTerm})

		// Tenant B holds the same documents.
		db, chunksB := f.newDoc(srcB, fmt.Sprintf("doc-%02d", i), fmt.Sprintf("document %d", i), text)
		db.Metadata = m.Clone()
		gotB, err := s.PutDocument(ctx, db, chunksB)
		f.must(err, "PutDocument (tenant B)")
		docsB = append(docsB, gotB)
		chunkOfB[chunksB[0].ID] = true
	}

	sorted := func(l []string) []string {
		l = append([]string(nil), l...)
		sort.Strings(l)
		return l
	}
	for n, fl := range filterCases(r) {
		f.must(fl.Validate("filter"), "generated filter "+describe(fl))
		q := storage.LexicalQuery{TenantID: a.ID, Text: "zebra", Limit: 1000, Filter: fl}
		var keep func(d record.Document) bool
		switch n % 4 {
		case 1:
			q.BotID = bot1.ID
			keep = func(d record.Document) bool { return d.BotID == bot1.ID }
		case 2:
			q.SourceIDs = []string{srcs[1].ID, srcs[2].ID}
			keep = func(d record.Document) bool { return d.SourceID != srcs[0].ID }
		default:
			keep = func(record.Document) bool { return true }
		}
		var want []string
		for _, di := range docsA {
			if di.hasTerm && keep(di.doc) && fl.Match(di.doc.Metadata) {
				want = append(want, di.chunk)
			}
		}
		m, err := s.SearchLexical(ctx, q)
		f.must(err, "SearchLexical with filter "+describe(fl))
		got := matchIDs(m)
		for _, id := range got {
			if chunkOfB[id] {
				f.t.Errorf("SearchLexical of tenant A with filter %s returned tenant B's chunk %s", describe(fl), id)
			}
		}
		if strings.Join(sorted(got), ",") != strings.Join(sorted(want), ",") {
			f.t.Errorf("SearchLexical(bot %q, sources %v) with filter %s:\n\tgot  %d chunks %q\n\twant %d chunks %q (containing the term, document matching filter.Match)",
				q.BotID, q.SourceIDs, describe(fl), len(got), sorted(got), len(want), sorted(want))
		}

		// The documents the filter selects, in order.
		var wantDocs []record.Document
		for _, di := range docsA {
			if fl.Match(di.doc.Metadata) {
				wantDocs = append(wantDocs, di.doc)
			}
		}
		docOrder(wantDocs)
		page, next, err := s.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: a.ID, Filter: fl}, storage.Page{Limit: 1000})
		f.must(err, "QueryDocumentsPage with filter "+describe(fl))
		if next != "" {
			f.t.Errorf("QueryDocumentsPage with filter %s: a next cursor on the only page", describe(fl))
		}
		f.sameIDs("QueryDocumentsPage with filter "+describe(fl), docIDs(wantDocs), docIDs(page))

		// Tenant B, with the same content, sees its own only.
		if n%5 == 0 {
			q := storage.LexicalQuery{TenantID: b.ID, Text: "zebra", Limit: 1000, Filter: fl}
			var wantB []string
			for i, d := range docsB {
				if docsA[i].hasTerm && fl.Match(d.Metadata) {
					chunks, err := s.ListChunks(ctx, b.ID, d.ID)
					f.must(err, "ListChunks")
					wantB = append(wantB, chunks[0].ID)
				}
			}
			m, err := s.SearchLexical(ctx, q)
			f.must(err, "SearchLexical of tenant B with filter "+describe(fl))
			if strings.Join(sorted(matchIDs(m)), ",") != strings.Join(sorted(wantB), ",") {
				f.t.Errorf("SearchLexical of tenant B with filter %s: got %q, want %q", describe(fl), sorted(matchIDs(m)), sorted(wantB))
			}
		}
	}

	// A filter applies before the limit: the best matches that pass it,
	// not the passing ones among the best.
	only := docsA[len(docsA)-1]
	for _, di := range docsA {
		if di.hasTerm {
			only = di
		}
	}
	fl := filter.Eq("key", only.doc.Key) // newDoc's metadata has no "key": set one document's
	d := only.doc
	d.Metadata = only.doc.Metadata.Clone()
	d.Metadata["key"] = d.Key
	chunks, err := s.ListChunks(ctx, a.ID, d.ID)
	f.must(err, "ListChunks")
	_, err = s.PutDocument(ctx, d, chunks)
	f.must(err, "PutDocument")
	m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: a.ID, Text: "zebra", Limit: 1, Filter: fl})
	f.must(err, "SearchLexical with Limit 1 and a filter only one document passes")
	f.sameIDs("SearchLexical with Limit 1 and a filter only one document passes", []string{chunks[0].ID}, matchIDs(m))

	for _, bad := range invalidFilters() {
		_, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: a.ID, Text: "zebra", Filter: bad})
		f.wantFieldUnder(err, "filter", "SearchLexical with invalid filter "+describe(bad))
		_, _, err = s.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: a.ID, Filter: bad}, storage.Page{Limit: 10})
		f.wantFieldUnder(err, "filter", "QueryDocumentsPage with invalid filter "+describe(bad))
	}
}
