package storagetest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// batcher returns the store's storage.DocumentBatcher, or skips the test
// when it offers none (the capability is optional).
func (f *fixture) batcher() storage.DocumentBatcher {
	f.t.Helper()
	b, ok := f.s.(storage.DocumentBatcher)
	if !ok {
		f.t.Skipf("storagetest: %T does not implement storage.DocumentBatcher (optional)", f.s)
	}
	return b
}

// item builds (without storing) a PutDocuments item of src.
func (f *fixture) item(src record.Source, key, title string, texts ...string) storage.DocumentWithChunks {
	d, c := f.newDoc(src, key, title, texts...)
	return storage.DocumentWithChunks{Document: d, Chunks: c}
}

// wantNoDocs fails the test if any of items' documents or chunks is stored.
func (f *fixture) wantNoDocs(what string, items []storage.DocumentWithChunks) {
	f.t.Helper()
	for i, it := range items {
		d := it.Document
		if d.TenantID == "" {
			continue
		}
		if _, err := f.s.GetDocument(f.ctx, d.TenantID, d.ID); err == nil {
			f.t.Errorf("%s: documents[%d] (key %q) was stored", what, i, d.Key)
		}
		cs, err := f.s.GetChunks(f.ctx, d.TenantID, ids(it.Chunks, func(c record.Chunk) string { return c.ID }))
		f.must(err, what+": GetChunks")
		// A chunk ID may be one of another document on purpose: what
		// must not be stored is this item's text under it.
		texts := map[string]string{}
		for _, c := range it.Chunks {
			texts[c.ID] = c.Text
		}
		for _, c := range cs {
			if c.Text == texts[c.ID] {
				f.t.Errorf("%s: chunk %q of documents[%d] (key %q) was stored", what, c.ID, i, d.Key)
			}
		}
	}
}

// wantItemNamed fails the test unless err's text names item i and its key.
func (f *fixture) wantItemNamed(err error, i int, key, what string) {
	f.t.Helper()
	if err == nil {
		return
	}
	if name := fmt.Sprintf("documents[%d]", i); !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), key) {
		f.t.Errorf("%s: error %q does not name %s (key %q)", what, err, name, key)
	}
}

// testPutDocuments checks storage.DocumentBatcher, when the store offers it:
// the same results as PutDocument one by one, all or nothing, errors that
// name the failing item, tenant rules, statements of many rows, and InTx.
func testPutDocuments(f *fixture) {
	b := f.batcher()
	s, ctx := f.s, f.ctx
	ten, other := f.newTenant(), f.newTenant()
	bot := f.newBot(ten.ID)
	src, src2 := f.newSource(ten.ID, bot.ID), f.newSource(ten.ID, f.newBot(ten.ID).ID)
	otherSrc := f.newSource(other.ID, f.newBot(other.ID).ID)

	got, err := b.PutDocuments(ctx, nil)
	f.must(err, "PutDocuments with no items")
	if len(got) != 0 {
		f.t.Errorf("PutDocuments with no items: got %d documents", len(got))
	}

	// A document to replace, stored the ordinary way.
	old, oldChunks := f.putDoc(src, "replace.md", "Old title", "obsolete walrus text")

	items := []storage.DocumentWithChunks{
		f.item(src, "a.md", "Alpha page", "first narwhal chunk", "second narwhal chunk", "third narwhal chunk"),
		f.item(src, "replace.md", "New title", "fresh pelican text", "more pelican text"),
		f.item(src2, "a.md", "Marsupial page", "platypus in another source"),
		f.item(src, "empty.md", "Empty"),
	}
	items[3].Document.Metadata = nil
	// Chunks given out of order: ListChunks orders by Ordinal.
	items[0].Chunks = []record.Chunk{items[0].Chunks[2], items[0].Chunks[0], items[0].Chunks[1]}
	stored, err := b.PutDocuments(ctx, items)
	f.must(err, "PutDocuments")
	if len(stored) != len(items) {
		f.t.Fatalf("PutDocuments: got %d documents for %d items", len(stored), len(items))
	}
	for i, it := range items {
		want := it.Document
		want.ChunkCount = len(it.Chunks)
		wantChunks := make([]record.Chunk, len(it.Chunks))
		for _, c := range it.Chunks {
			wantChunks[c.Ordinal] = c
		}
		if i == 1 { // replaces: keeps the stored ID and CreatedAt
			want.ID, want.CreatedAt = old.ID, old.CreatedAt
			for j := range wantChunks {
				wantChunks[j].DocumentID = old.ID
			}
		}
		what := fmt.Sprintf("PutDocuments documents[%d]", i)
		f.equal(what+" result", want, stored[i])
		got, err := s.GetDocument(ctx, ten.ID, want.ID)
		f.must(err, what+": GetDocument")
		f.equal(what+": GetDocument", want, got)
		list, err := s.ListChunks(ctx, ten.ID, want.ID)
		f.must(err, what+": ListChunks")
		f.equal(what+": ListChunks", wantChunks, list)
	}
	_, err = s.GetDocument(ctx, ten.ID, items[1].Document.ID)
	f.wantErr(err, record.ErrNotFound, "GetDocument by the ID given to a replacing item")
	cs, err := s.GetChunks(ctx, ten.ID, ids(oldChunks, func(c record.Chunk) string { return c.ID }))
	f.must(err, "GetChunks of replaced chunks")
	f.equal("GetChunks of replaced chunks", []record.Chunk{}, cs)
	f.equal("SearchLexical for replaced text", []storage.LexicalMatch{},
		f.search(storage.LexicalQuery{TenantID: ten.ID, Text: "walrus", Limit: 10}))
	f.sameIDs("SearchLexical for a batch's text", sortedIDs([]string{items[1].Chunks[0].ID, items[1].Chunks[1].ID}),
		sortedIDs(matchIDs(f.search(storage.LexicalQuery{TenantID: ten.ID, Text: "pelican", Limit: 10}))))
	f.sameIDs("SearchLexical for a batch's title", []string{items[2].Chunks[0].ID},
		matchIDs(f.search(storage.LexicalQuery{TenantID: ten.ID, Text: "marsupial", Limit: 10})))
	if m := f.search(storage.LexicalQuery{TenantID: other.ID, Text: "narwhal pelican platypus", Limit: 10}); len(m) != 0 {
		f.t.Errorf("SearchLexical of another tenant found %d chunks of the batch", len(m))
	}

	// Inputs and results share no memory with the store.
	items[0].Document.Metadata["lang"] = "changed"
	items[0].Chunks[0].HeadingPath[0] = "changed"
	stored[0].Metadata["key"] = "changed"
	got0, err := s.GetDocument(ctx, ten.ID, items[0].Document.ID)
	f.must(err, "GetDocument")
	if got0.Metadata["lang"] != "en" || got0.Metadata["key"] != "a.md" {
		f.t.Errorf("PutDocuments: changing an item or a result after the call changed the stored metadata: %v", got0.Metadata)
	}
	list0, err := s.ListChunks(ctx, ten.ID, items[0].Document.ID)
	f.must(err, "ListChunks")
	if len(list0) == 3 && list0[2].HeadingPath[0] != "Alpha page" {
		f.t.Errorf("PutDocuments: changing an item's chunk after the call changed the stored heading path: %q", list0[2].HeadingPath)
	}

	// All or nothing: a conflict in the last item leaves the new
	// documents unstored and the replaced one as it was.
	before, err := s.GetDocument(ctx, ten.ID, old.ID)
	f.must(err, "GetDocument")
	bad := []storage.DocumentWithChunks{
		f.item(src, "new-1.md", "New one", "kangaroo one"),
		f.item(src, "replace.md", "Replaced again", "kangaroo two"),
		f.item(src, "new-3.md", "New three", "kangaroo three", "kangaroo four"),
	}
	bad[2].Chunks[1].ID = items[2].Chunks[0].ID // a chunk of another stored document
	_, err = b.PutDocuments(ctx, bad)
	f.wantErr(err, record.ErrConflict, "PutDocuments with a chunk ID used by another document")
	f.wantItemNamed(err, 2, "new-3.md", "PutDocuments with a chunk ID used by another document")
	f.wantNoDocs("after a failed PutDocuments", []storage.DocumentWithChunks{bad[0], bad[2]})
	after, err := s.GetDocument(ctx, ten.ID, old.ID)
	f.must(err, "GetDocument after a failed PutDocuments")
	f.equal("document replaced by a failed PutDocuments", before, after)
	if m := f.search(storage.LexicalQuery{TenantID: ten.ID, Text: "kangaroo", Limit: 10}); len(m) != 0 {
		f.t.Errorf("SearchLexical after a failed PutDocuments: found %d chunks of it", len(m))
	}
	// A chunk ID repeated within one batch.
	dupe := []storage.DocumentWithChunks{f.item(src, "d1.md", "D1", "x one"), f.item(src, "d2.md", "D2", "x two")}
	dupe[1].Chunks[0].ID = dupe[0].Chunks[0].ID
	_, err = b.PutDocuments(ctx, dupe)
	f.wantErr(err, record.ErrConflict, "PutDocuments with a chunk ID repeated in the batch")
	f.wantItemNamed(err, 1, "d2.md", "PutDocuments with a chunk ID repeated in the batch")
	f.wantNoDocs("after PutDocuments with a repeated chunk ID", dupe[:1])

	// An unknown source, and a source of another tenant.
	for _, c := range []struct {
		what   string
		source string
	}{{"an unknown source", f.id("no-source")}, {"a source of another tenant", otherSrc.ID}} {
		l := []storage.DocumentWithChunks{f.item(src, "ok.md", "OK", "ok text"), f.item(src, "lost.md", "Lost", "lost text")}
		l[1].Document.SourceID = c.source
		_, err = b.PutDocuments(ctx, l)
		f.wantErr(err, record.ErrNotFound, "PutDocuments with "+c.what)
		f.wantItemNamed(err, 1, "lost.md", "PutDocuments with "+c.what)
		f.wantNoDocs("after PutDocuments with "+c.what, l)
	}
	if docs, err := s.ListDocuments(ctx, other.ID, otherSrc.ID); err != nil || len(docs) != 0 {
		f.t.Errorf("ListDocuments of the other tenant's source: %d documents, %v; want none", len(docs), err)
	}

	// Invalid input names the field and the item; nothing is stored.
	for _, c := range []struct {
		field  string
		change func(l []storage.DocumentWithChunks)
	}{
		{"documents[1].id", func(l []storage.DocumentWithChunks) { l[1].Document.ID = "" }},
		{"documents[1].source_id", func(l []storage.DocumentWithChunks) { l[1].Document.SourceID = "" }},
		{"documents[1].key", func(l []storage.DocumentWithChunks) { l[1].Document.Key = "" }},
		{"documents[0].chunks[1].id", func(l []storage.DocumentWithChunks) { l[0].Chunks[1].ID = "" }},
		{"documents[1].key", func(l []storage.DocumentWithChunks) { l[1].Document.Key = l[0].Document.Key }},
	} {
		l := []storage.DocumentWithChunks{f.item(src, "v0.md", "V0", "v one", "v two"), f.item(src, "v1.md", "V1", "v three")}
		c.change(l)
		_, err := b.PutDocuments(ctx, l)
		f.wantField(err, c.field, "PutDocuments with an invalid "+c.field)
		f.wantNoDocs("after PutDocuments with an invalid "+c.field, l)
	}
	// An empty tenant in any item.
	l := []storage.DocumentWithChunks{f.item(src, "t0.md", "T0", "t one"), f.item(src, "t1.md", "T1", "t two")}
	l[1].Document.TenantID = ""
	_, err = b.PutDocuments(ctx, l)
	f.wantErr(err, record.ErrInvalidInput, "PutDocuments with an empty tenant ID in one item")
	f.wantErr(err, record.ErrEmptyTenant, "PutDocuments with an empty tenant ID in one item")
	f.wantNoDocs("after PutDocuments with an empty tenant ID", l)

	// A cancelled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	l = []storage.DocumentWithChunks{f.item(src, "c0.md", "C0", "c one")}
	_, err = b.PutDocuments(cctx, l)
	f.wantErr(err, context.Canceled, "PutDocuments with a cancelled context")
	f.wantNoDocs("after PutDocuments with a cancelled context", l)

	testPutDocumentsMany(f, b, ten, src)
	testPutDocumentsInTx(f, ten, src)
}

// sortedIDs returns a sorted copy of l: for comparing matches whose order
// is a tie.
func sortedIDs(l []string) []string {
	out := slices.Clone(l)
	slices.Sort(out)
	return out
}

// testPutDocumentsMany stores a batch larger than an adapter's statements
// are likely to be (700 documents, one of 300 chunks), then fails one whose
// conflict is deep inside.
func testPutDocumentsMany(f *fixture, b storage.DocumentBatcher, ten record.Tenant, src record.Source) {
	s, ctx := f.s, f.ctx
	src = f.newSource(ten.ID, src.BotID)
	items := make([]storage.DocumentWithChunks, 0, 701)
	for i := range 700 {
		items = append(items, f.item(src, fmt.Sprintf("many/%04d.md", i), fmt.Sprintf("Page %d", i),
			fmt.Sprintf("page %d of many says bulk%d", i, i)))
	}
	texts := make([]string, 300)
	for i := range texts {
		texts[i] = fmt.Sprintf("long document part %d says part%d", i, i)
	}
	items = append(items, f.item(src, "many/long.md", "Long", texts...))
	stored, err := b.PutDocuments(ctx, items)
	f.must(err, "PutDocuments of 701 documents")
	docs, err := s.ListDocuments(ctx, ten.ID, src.ID)
	f.must(err, "ListDocuments")
	if len(docs) != len(items) || len(stored) != len(items) {
		f.t.Fatalf("PutDocuments of 701 documents: %d returned, %d listed", len(stored), len(docs))
	}
	for _, i := range []int{0, 255, 256, 511, 699} {
		f.sameIDs(fmt.Sprintf("SearchLexical for documents[%d]'s word", i), []string{items[i].Chunks[0].ID},
			matchIDs(f.search(storage.LexicalQuery{TenantID: ten.ID, Text: fmt.Sprintf("bulk%d", i), Limit: 10})))
	}
	long := items[700]
	list, err := s.ListChunks(ctx, ten.ID, long.Document.ID)
	f.must(err, "ListChunks of the 300-chunk document")
	f.equal("ListChunks of the 300-chunk document", long.Chunks, list)
	f.sameIDs("SearchLexical for the last chunk of the 300-chunk document", []string{long.Chunks[299].ID},
		matchIDs(f.search(storage.LexicalQuery{TenantID: ten.ID, Text: "part299", Limit: 10})))

	// Replace them all, with a conflict in item 600 of 650: nothing moves.
	repl := make([]storage.DocumentWithChunks, 650)
	for i := range repl {
		repl[i] = f.item(src, fmt.Sprintf("many/%04d.md", i), fmt.Sprintf("Page %d v2", i), fmt.Sprintf("second version wombat%d", i))
	}
	repl[600].Chunks[0].ID = long.Chunks[10].ID
	_, err = b.PutDocuments(ctx, repl)
	f.wantErr(err, record.ErrConflict, "PutDocuments of 650 documents with a conflict in documents[600]")
	f.wantItemNamed(err, 600, "many/0600.md", "PutDocuments of 650 documents with a conflict in documents[600]")
	got, err := s.GetDocument(ctx, ten.ID, stored[3].ID)
	f.must(err, "GetDocument after a failed replacement of 650")
	f.equal("a document after a failed replacement of 650", stored[3], got)
	if m := f.search(storage.LexicalQuery{TenantID: ten.ID, Text: "wombat3 wombat599 wombat649", Limit: 10}); len(m) != 0 {
		f.t.Errorf("SearchLexical after a failed replacement of 650: found %d of its chunks", len(m))
	}
	f.sameIDs("SearchLexical after a failed replacement of 650", []string{items[3].Chunks[0].ID},
		matchIDs(f.search(storage.LexicalQuery{TenantID: ten.ID, Text: "bulk3", Limit: 10})))
}

// testPutDocumentsInTx uses the capability of the store an InTx callback
// receives, when it has it: its writes commit and roll back with the
// transaction, and a failed PutDocuments inside undoes only its own.
func testPutDocumentsInTx(f *fixture, ten record.Tenant, src record.Source) {
	s, ctx := f.s, f.ctx
	kept := f.item(src, "tx/kept.md", "Kept", "committed echidna")
	rolled := f.item(src, "tx/rolled.md", "Rolled", "rolled back echidna")
	before, beforeChunks := f.newDoc(src, "tx/before.md", "Before", "written before the failure")
	failing := []storage.DocumentWithChunks{f.item(src, "tx/f1.md", "F1", "failing one"), f.item(src, "tx/f2.md", "F2", "failing two")}
	failing[1].Chunks[0].ID = kept.Chunks[0].ID

	batchIn := func(tx storage.Storage) storage.DocumentBatcher {
		b, ok := tx.(storage.DocumentBatcher)
		if !ok {
			f.t.Skipf("storagetest: the InTx store %T does not implement storage.DocumentBatcher", tx)
		}
		return b
	}
	f.must(s.InTx(ctx, func(tx storage.Storage) error {
		_, err := batchIn(tx).PutDocuments(ctx, []storage.DocumentWithChunks{kept})
		return err
	}), "InTx with PutDocuments")
	_, err := s.GetDocument(ctx, ten.ID, kept.Document.ID)
	f.must(err, "GetDocument of a document put by PutDocuments in a committed InTx")

	sentinel := fmt.Errorf("storagetest: roll back")
	err = s.InTx(ctx, func(tx storage.Storage) error {
		if _, err := batchIn(tx).PutDocuments(ctx, []storage.DocumentWithChunks{rolled}); err != nil {
			return err
		}
		return sentinel
	})
	f.wantErr(err, sentinel, "InTx with PutDocuments, then an error")
	f.wantNoDocs("PutDocuments in a rolled-back InTx", []storage.DocumentWithChunks{rolled})

	f.must(s.InTx(ctx, func(tx storage.Storage) error {
		if _, err := tx.PutDocument(ctx, before, beforeChunks); err != nil {
			return err
		}
		_, err := batchIn(tx).PutDocuments(ctx, failing)
		f.wantErr(err, record.ErrConflict, "PutDocuments failing inside InTx")
		return nil
	}), "InTx with a failing PutDocuments")
	_, err = s.GetDocument(ctx, ten.ID, before.ID)
	f.must(err, "GetDocument of a document written in the same InTx before a failed PutDocuments")
	f.wantNoDocs("a failed PutDocuments inside a committed InTx", failing)
}
