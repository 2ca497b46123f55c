package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// richMetadata is metadata with a value of every JSON kind, nested
// objects and arrays, a time, and strings and numbers at their edges, in
// its normalized form.
func (f *fixture) richMetadata() record.Metadata {
	f.t.Helper()
	m, err := record.NormalizeMetadata("metadata", record.Metadata{
		"title":    "Ünïcode “quotes” and \"escapes\" \\ / \n\t",
		"empty":    "",
		"count":    42,
		"ratio":    -0.125,
		"big":      1e20,
		"exact":    9007199254740991, // 2^53 - 1
		"flag":     true,
		"off":      false,
		"none":     nil,
		"tags":     []string{"go", "sql", "go"},
		"mixed":    []any{"a", 1, true, nil, []any{"nested"}, map[string]any{"k": "v"}},
		"nothing":  []any{},
		"when":     time.Date(2025, 12, 31, 23, 59, 59, 123456789, time.FixedZone("X", -5*3600)),
		"obj":      map[string]any{"a": map[string]any{"b": []any{1, "two", map[string]any{}}}, "weird key . $[0]": "ok"},
		"numstr":   "1",
		"Key-with": "dash_and_Case",
	})
	f.must(err, "NormalizeMetadata")
	return m
}

// testDocumentMetadata: metadata of every JSON kind (nested objects and
// arrays, times, numbers at their edges, null, empty arrays) round-trips
// through every call that returns documents; a replacing PutDocument
// replaces it (no merge); returned maps are copies, and the caller's map
// is not kept.
func testDocumentMetadata(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	src := f.newSource(ten.ID, f.newBot(ten.ID).ID)

	d, chunks := f.newDoc(src, "rich.md", "Rich", "some text")
	d.Metadata = f.richMetadata()
	want := d.Metadata.Clone()
	stored, err := s.PutDocument(ctx, d, chunks)
	f.must(err, "PutDocument with metadata")
	f.equal("PutDocument's returned Metadata", want, stored.Metadata)

	// The caller changes its map afterwards: the store kept its own.
	d.Metadata["title"] = "changed"
	d.Metadata["tags"].([]any)[0] = "changed"
	d.Metadata["obj"].(map[string]any)["a"] = "changed"
	d.Metadata["added"] = 1.0

	check := func(what string, got record.Document) {
		f.t.Helper()
		f.equal(what+" Metadata", want, got.Metadata)
	}
	got, err := s.GetDocument(ctx, ten.ID, stored.ID)
	f.must(err, "GetDocument")
	check("GetDocument", got)
	// A returned map is the caller's: changing it changes nothing stored.
	got.Metadata["title"] = "changed"
	got.Metadata["tags"].([]any)[1] = "changed"
	got.Metadata["obj"].(map[string]any)["a"].(map[string]any)["b"] = nil
	delete(got.Metadata, "count")

	got, err = s.GetDocument(ctx, ten.ID, stored.ID)
	f.must(err, "GetDocument again")
	check("GetDocument after changing a returned map", got)
	got, err = s.GetDocumentByKey(ctx, ten.ID, src.ID, "rich.md")
	f.must(err, "GetDocumentByKey")
	check("GetDocumentByKey", got)
	list, err := s.ListDocuments(ctx, ten.ID, src.ID)
	f.must(err, "ListDocuments")
	if len(list) != 1 {
		f.t.Fatalf("ListDocuments: %d documents, want 1", len(list))
	}
	check("ListDocuments", list[0])
	page, _, err := s.ListDocumentsPage(ctx, ten.ID, src.ID, storage.Page{Limit: 10})
	f.must(err, "ListDocumentsPage")
	if len(page) == 1 {
		check("ListDocumentsPage", page[0])
	}
	docs, err := s.GetDocuments(ctx, ten.ID, []string{stored.ID})
	f.must(err, "GetDocuments")
	if len(docs) == 1 {
		check("GetDocuments", docs[0])
	}
	page, _, err = s.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: ten.ID, SourceID: src.ID}, storage.Page{Limit: 10})
	f.must(err, "QueryDocumentsPage")
	if len(page) != 1 {
		f.t.Fatalf("QueryDocumentsPage: %d documents, want 1", len(page))
	}
	check("QueryDocumentsPage", page[0])
	page[0].Metadata["mixed"].([]any)[0] = "changed"
	got, err = s.GetDocument(ctx, ten.ID, stored.ID)
	f.must(err, "GetDocument")
	check("GetDocument after changing a map QueryDocumentsPage returned", got)
	if ts, _ := got.Metadata["when"].(string); ts != "2026-01-01T04:59:59.123456Z" {
		f.t.Errorf("a time in metadata: got %q, want it in record.TimeLayout, UTC", ts)
	}

	// Replacing the document replaces its metadata, no merge.
	d2, chunks2 := f.newDoc(src, "rich.md", "Rich", "other text")
	d2.Metadata = record.Metadata{"only": "this"}
	_, err = s.PutDocument(ctx, d2, chunks2)
	f.must(err, "PutDocument replacing")
	got, err = s.GetDocument(ctx, ten.ID, stored.ID)
	f.must(err, "GetDocument after replace")
	f.equal("Metadata after a replacing PutDocument", record.Metadata{"only": "this"}, got.Metadata)

	// No metadata comes back as none.
	d3, chunks3 := f.newDoc(src, "plain.md", "Plain", "text")
	d3.Metadata = nil
	_, err = s.PutDocument(ctx, d3, chunks3)
	f.must(err, "PutDocument without metadata")
	got, err = s.GetDocumentByKey(ctx, ten.ID, src.ID, "plain.md")
	f.must(err, "GetDocumentByKey without metadata")
	if len(got.Metadata) != 0 {
		f.t.Errorf("a document stored without metadata came back with %v", got.Metadata)
	}
}

// testGetDocumentByKey: found by source and exact key (byte-wise, so case
// and normalization matter); another source's key, another tenant's
// source, an unknown key are ErrNotFound; empty tenant rejected.
func testGetDocumentByKey(f *fixture) {
	s, ctx := f.s, f.ctx
	a, b := f.newTenant(), f.newTenant()
	botA := f.newBot(a.ID)
	src1, src2 := f.newSource(a.ID, botA.ID), f.newSource(a.ID, botA.ID)
	srcB := f.newSource(b.ID, f.newBot(b.ID).ID)

	lower, _ := f.putDoc(src1, "readme", "lower", "text")
	upper, _ := f.putDoc(src1, "README", "upper", "text")
	composed, _ := f.putDoc(src1, "caf\u00e9", "composed", "text")
	decomposed, _ := f.putDoc(src1, "cafe\u0301", "decomposed", "text")
	other, _ := f.putDoc(src2, "readme", "other source", "text")
	inB, _ := f.putDoc(srcB, "readme", "tenant b", "text")

	for _, c := range []struct {
		src  record.Source
		key  string
		want record.Document
	}{
		{src1, "readme", lower}, {src1, "README", upper}, {src1, "caf\u00e9", composed}, {src1, "cafe\u0301", decomposed},
		{src2, "readme", other}, {srcB, "readme", inB},
	} {
		got, err := s.GetDocumentByKey(ctx, c.src.TenantID, c.src.ID, c.key)
		f.must(err, fmt.Sprintf("GetDocumentByKey(%q)", c.key))
		f.equal(fmt.Sprintf("GetDocumentByKey(%q)", c.key), c.want, got)
	}
	for _, c := range []struct {
		tenant, source, key, what string
	}{
		{a.ID, src1.ID, "Readme", "a key differing in case"},
		{a.ID, src1.ID, "readme ", "a key with a trailing space"},
		{a.ID, src1.ID, "", "an empty key"},
		{a.ID, src2.ID, "README", "a key of another source"},
		{a.ID, srcB.ID, "readme", "tenant B's source asked as tenant A"},
		{b.ID, src1.ID, "readme", "tenant A's source asked as tenant B"},
		{a.ID, f.id("src"), "readme", "an unknown source"},
	} {
		_, err := s.GetDocumentByKey(ctx, c.tenant, c.source, c.key)
		f.wantErr(err, record.ErrNotFound, "GetDocumentByKey of "+c.what)
	}
	_, err := s.GetDocumentByKey(ctx, "", src1.ID, "readme")
	f.wantErr(err, record.ErrEmptyTenant, "GetDocumentByKey with an empty tenant")

	// Gone with its document.
	f.must(s.DeleteDocument(ctx, a.ID, upper.ID), "DeleteDocument")
	_, err = s.GetDocumentByKey(ctx, a.ID, src1.ID, "README")
	f.wantErr(err, record.ErrNotFound, "GetDocumentByKey of a deleted document")
}

// docOrder sorts documents by SourceID then Key, byte-wise.
func docOrder(docs []record.Document) {
	sort.Slice(docs, func(i, j int) bool {
		if docs[i].SourceID != docs[j].SourceID {
			return docs[i].SourceID < docs[j].SourceID
		}
		return bytes.Compare([]byte(docs[i].Key), []byte(docs[j].Key)) < 0
	})
}

func docIDs(docs []record.Document) []string {
	return ids(docs, func(d record.Document) string { return d.ID })
}

// queryPager pages QueryDocumentsPage with q.
func (f *fixture) queryPager(what string, q storage.DocumentQuery) pager[record.Document] {
	return pager[record.Document]{"QueryDocumentsPage(" + what + ")", func(d record.Document) string { return d.ID },
		func(p storage.Page) ([]record.Document, string, error) { return f.s.QueryDocumentsPage(f.ctx, q, p) }}
}

// testQueryDocumentsPage: the tenant's documents, of a bot, of a source,
// matching a filter, ordered by SourceID then Key byte-wise, in pages of
// every size; bad limits and cursors, and a cursor of another query,
// rejected; tenants apart; an invalid filter names "filter"; stable under
// inserts.
func testQueryDocumentsPage(f *fixture) {
	s, ctx := f.s, f.ctx
	a, b := f.newTenant(), f.newTenant()
	bot1, bot2 := f.newBot(a.ID), f.newBot(a.ID)
	srcs := []record.Source{f.newSource(a.ID, bot1.ID), f.newSource(a.ID, bot2.ID), f.newSource(a.ID, bot1.ID)}
	srcB := f.newSource(b.ID, f.newBot(b.ID).ID)
	var all []record.Document
	keys := []string{"b", "a", "B", "é", "a/b", "a b", "Z", "ab", "_", "~"}
	for i, src := range srcs {
		for j, key := range keys[:4+3*i] {
			d, chunks := f.newDoc(src, key, fmt.Sprintf("doc %d/%d", i, j), "text")
			d.Metadata = record.Metadata{"n": float64(j % 3), "src": float64(i)}
			got, err := s.PutDocument(ctx, d, chunks)
			f.must(err, "PutDocument")
			all = append(all, got)
		}
	}
	for _, key := range keys {
		d, chunks := f.newDoc(srcB, key, "b", "text")
		d.Metadata = record.Metadata{"n": 1.0}
		_, err := s.PutDocument(ctx, d, chunks)
		f.must(err, "PutDocument (tenant B)")
	}

	sel := func(keep func(record.Document) bool) []string {
		var out []record.Document
		for _, d := range all {
			if keep(d) {
				out = append(out, d)
			}
		}
		docOrder(out)
		return docIDs(out)
	}
	one := filter.Eq("n", 1)
	for _, c := range []struct {
		what string
		q    storage.DocumentQuery
		keep func(record.Document) bool
	}{
		{"tenant", storage.DocumentQuery{TenantID: a.ID}, func(record.Document) bool { return true }},
		{"bot", storage.DocumentQuery{TenantID: a.ID, BotID: bot1.ID}, func(d record.Document) bool { return d.BotID == bot1.ID }},
		{"source", storage.DocumentQuery{TenantID: a.ID, SourceID: srcs[2].ID}, func(d record.Document) bool { return d.SourceID == srcs[2].ID }},
		{"bot and source", storage.DocumentQuery{TenantID: a.ID, BotID: bot1.ID, SourceID: srcs[1].ID}, func(record.Document) bool { return false }},
		{"filter", storage.DocumentQuery{TenantID: a.ID, Filter: one}, func(d record.Document) bool { return one.Match(d.Metadata) }},
		{"bot and filter", storage.DocumentQuery{TenantID: a.ID, BotID: bot1.ID, Filter: one},
			func(d record.Document) bool { return d.BotID == bot1.ID && one.Match(d.Metadata) }},
		{"unknown bot", storage.DocumentQuery{TenantID: a.ID, BotID: f.id("bot")}, func(record.Document) bool { return false }},
		{"tenant B's source", storage.DocumentQuery{TenantID: a.ID, SourceID: srcB.ID}, func(record.Document) bool { return false }},
	} {
		want := sel(c.keep)
		checkPages(f, f.queryPager(c.what, c.q), want)
	}
	got, _, err := s.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: a.ID}, storage.Page{Limit: 1000})
	f.must(err, "QueryDocumentsPage")
	f.equal("QueryDocumentsPage's documents", func() []record.Document {
		out := append([]record.Document(nil), all...)
		docOrder(out)
		return out
	}(), got)

	// Tenant B sees only its own.
	bDocs, _, err := s.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: b.ID}, storage.Page{Limit: 1000})
	f.must(err, "QueryDocumentsPage of tenant B")
	if len(bDocs) != len(keys) {
		f.t.Errorf("QueryDocumentsPage of tenant B: %d documents, want %d", len(bDocs), len(keys))
	}
	for _, d := range bDocs {
		if d.TenantID != b.ID {
			f.t.Errorf("QueryDocumentsPage of tenant B returned a document of %s", d.TenantID)
		}
	}

	// A cursor belongs to its query.
	_, next, err := s.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: a.ID, BotID: bot1.ID}, storage.Page{Limit: 2})
	f.must(err, "QueryDocumentsPage")
	if next == "" {
		f.t.Fatal("QueryDocumentsPage(limit 2 of more): no next cursor")
	}
	for _, q := range []storage.DocumentQuery{
		{TenantID: a.ID, BotID: bot2.ID},
		{TenantID: a.ID},
		{TenantID: a.ID, BotID: bot1.ID, SourceID: srcs[0].ID},
		{TenantID: a.ID, BotID: bot1.ID, Filter: one},
	} {
		_, _, err := s.QueryDocumentsPage(ctx, q, storage.Page{Limit: 2, Cursor: next})
		f.wantField(err, "cursor", "QueryDocumentsPage with the cursor of another query")
	}
	_, next, err = s.ListDocumentsPage(ctx, a.ID, srcs[0].ID, storage.Page{Limit: 2})
	f.must(err, "ListDocumentsPage")
	_, _, err = s.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: a.ID, SourceID: srcs[0].ID}, storage.Page{Limit: 2, Cursor: next})
	f.wantField(err, "cursor", "QueryDocumentsPage with a cursor of ListDocumentsPage")

	_, _, err = s.QueryDocumentsPage(ctx, storage.DocumentQuery{}, storage.Page{Limit: 2})
	f.wantErr(err, record.ErrEmptyTenant, "QueryDocumentsPage with an empty tenant")
	_, _, err = s.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: a.ID, Filter: filter.Eq("bad field", 1)}, storage.Page{Limit: 2})
	f.wantFieldUnder(err, "filter", "QueryDocumentsPage with an invalid filter")

	// Stable under inserts: keys added before and after the cursor while
	// paging never make a document appear twice or not at all.
	q := storage.DocumentQuery{TenantID: a.ID, BotID: bot1.ID}
	want := sel(func(d record.Document) bool { return d.BotID == bot1.ID })
	seen := map[string]int{}
	cursor := ""
	for n := 0; ; n++ {
		page, next, err := s.QueryDocumentsPage(ctx, q, storage.Page{Limit: 3, Cursor: cursor})
		f.must(err, "QueryDocumentsPage while inserting")
		for _, d := range page {
			seen[d.ID]++
		}
		if next == "" {
			break
		}
		cursor = next
		f.putDoc(srcs[n%2*2], fmt.Sprintf("!early-%d", n), "early", "text") // sorts first
		f.putDoc(srcs[n%2*2], fmt.Sprintf("~late-%d", n), "late", "text")
	}
	for _, id := range want {
		if seen[id] != 1 {
			f.t.Errorf("QueryDocumentsPage while inserting: document %s listed %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			f.t.Errorf("QueryDocumentsPage while inserting: document %s listed %d times", id, n)
		}
	}
}

// wantFieldUnder fails the test unless err wraps record.ErrInvalidInput
// and carries a *record.ValidationError naming field or a path under it
// ("filter" or "filter.and[0].field").
func (f *fixture) wantFieldUnder(err error, field, what string) {
	f.t.Helper()
	f.wantErr(err, record.ErrInvalidInput, what)
	if err == nil {
		return
	}
	var ve *record.ValidationError
	if !errors.As(err, &ve) {
		f.t.Errorf("%s: error %q carries no *record.ValidationError", what, err)
		return
	}
	for _, fe := range ve.Fields {
		if fe.Field == field || len(fe.Field) > len(field) && fe.Field[:len(field)] == field && (fe.Field[len(field)] == '.' || fe.Field[len(field)] == '[') {
			return
		}
	}
	f.t.Errorf("%s: validation error %q does not name field %q", what, err, field)
}
