package storagetest

import (
	"encoding/json"
	"fmt"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

func testSources(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	b1, b2 := f.newBot(ten.ID), f.newBot(ten.ID)

	full := record.Source{ID: f.id("src"), TenantID: ten.ID, BotID: b1.ID, Name: "Docs", Type: record.SourceURL,
		Config: json.RawMessage(`{"url":"https://example.com/docs","max_pages":5,"include":["a","b"]}`),
		Status: record.StatusReady, Error: "earlier failure", DocumentCount: 3, ChunkCount: 7,
		LastIngestedAt: ptr(at(15)), CreatedAt: at(20), UpdatedAt: at(21)}
	bare := record.Source{ID: f.id("src"), TenantID: ten.ID, BotID: b2.ID, Name: "Inline", Type: record.SourceText,
		Status: record.StatusPending, CreatedAt: at(10), UpdatedAt: at(11)}
	third := record.Source{ID: f.id("src"), TenantID: ten.ID, BotID: b1.ID, Name: "Files", Type: record.SourceFile,
		Config: json.RawMessage(`{}`), Status: record.StatusPending, CreatedAt: at(30), UpdatedAt: at(30)}
	f.must(s.CreateSource(ctx, full), "CreateSource with every field set")
	f.must(s.CreateSource(ctx, bare), "CreateSource with nil Config")
	f.must(s.CreateSource(ctx, third), "CreateSource with empty object Config")

	for _, want := range []record.Source{full, bare, third} {
		got, err := s.GetSource(ctx, ten.ID, want.ID)
		f.must(err, "GetSource")
		f.equal("GetSource "+want.Name, want, got)
	}
	_, err := s.GetSource(ctx, ten.ID, f.id("missing"))
	f.wantErr(err, record.ErrNotFound, "GetSource of an unknown ID")

	list, err := s.ListSources(ctx, ten.ID, "")
	f.must(err, "ListSources")
	f.equal("ListSources (all, oldest first)", []record.Source{bare, full, third}, list)
	list, err = s.ListSources(ctx, ten.ID, b1.ID)
	f.must(err, "ListSources by bot")
	f.equal("ListSources of one bot", []record.Source{full, third}, list)
	list, err = s.ListSources(ctx, ten.ID, f.id("no-bot"))
	f.must(err, "ListSources of an unknown bot")
	f.equal("ListSources of an unknown bot", []record.Source{}, list)

	dup := bare
	f.wantErr(s.CreateSource(ctx, dup), record.ErrConflict, "CreateSource with a duplicate ID")

	// UpdateSource writes BotID, Name, Type, Config and UpdatedAt only.
	upd := full
	upd.BotID, upd.Name, upd.Type, upd.Config, upd.UpdatedAt = b2.ID, "Renamed", record.SourceText, json.RawMessage(`{"text":"new"}`), at(40)
	upd.Status, upd.Error, upd.DocumentCount, upd.ChunkCount, upd.LastIngestedAt, upd.CreatedAt =
		record.StatusError, "ignored", 99, 99, nil, at(99)
	f.must(s.UpdateSource(ctx, upd), "UpdateSource")
	want := full
	want.BotID, want.Name, want.Type, want.Config, want.UpdatedAt = b2.ID, "Renamed", record.SourceText, json.RawMessage(`{"text":"new"}`), at(40)
	got, err := s.GetSource(ctx, ten.ID, full.ID)
	f.must(err, "GetSource after UpdateSource")
	f.equal("GetSource after UpdateSource (state and CreatedAt must not change)", want, got)
	upd.ID = f.id("missing")
	f.wantErr(s.UpdateSource(ctx, upd), record.ErrNotFound, "UpdateSource of an unknown source")

	// SetSourceState writes the ingestion state only.
	st := record.SourceState{Status: record.StatusProcessing, Error: "", DocumentCount: 11, ChunkCount: 42,
		LastIngestedAt: ptr(at(50)), UpdatedAt: at(51)}
	f.must(s.SetSourceState(ctx, ten.ID, bare.ID, st), "SetSourceState")
	wantState := bare
	wantState.Status, wantState.DocumentCount, wantState.ChunkCount, wantState.LastIngestedAt, wantState.UpdatedAt =
		st.Status, 11, 42, ptr(at(50)), at(51)
	got, err = s.GetSource(ctx, ten.ID, bare.ID)
	f.must(err, "GetSource after SetSourceState")
	f.equal("GetSource after SetSourceState", wantState, got)
	st = record.SourceState{Status: record.StatusError, Error: "fetch failed: timeout", UpdatedAt: at(52)}
	f.must(s.SetSourceState(ctx, ten.ID, bare.ID, st), "SetSourceState (error, nil LastIngestedAt)")
	wantState.Status, wantState.Error, wantState.DocumentCount, wantState.ChunkCount, wantState.LastIngestedAt, wantState.UpdatedAt =
		record.StatusError, "fetch failed: timeout", 0, 0, nil, at(52)
	got, err = s.GetSource(ctx, ten.ID, bare.ID)
	f.must(err, "GetSource after SetSourceState")
	f.equal("GetSource after second SetSourceState", wantState, got)
	f.wantErr(s.SetSourceState(ctx, ten.ID, f.id("missing"), st), record.ErrNotFound, "SetSourceState of an unknown source")

	f.must(s.DeleteSource(ctx, ten.ID, third.ID), "DeleteSource")
	_, err = s.GetSource(ctx, ten.ID, third.ID)
	f.wantErr(err, record.ErrNotFound, "GetSource after DeleteSource")
	f.wantErr(s.DeleteSource(ctx, ten.ID, third.ID), record.ErrNotFound, "DeleteSource of a deleted source")
}

func testSourceBotReference(f *fixture) {
	s, ctx := f.s, f.ctx
	a, b := f.newTenant(), f.newTenant()
	botA, botB, gone := f.newBot(a.ID), f.newBot(b.ID), f.newBot(a.ID)
	f.must(s.DeleteBot(ctx, a.ID, gone.ID, f.tick()), "DeleteBot")

	mk := func(botID string) record.Source {
		return record.Source{ID: f.id("src"), TenantID: a.ID, BotID: botID, Name: "s", Type: record.SourceText,
			Status: record.StatusPending, CreatedAt: f.tick(), UpdatedAt: f.tick()}
	}
	cases := []struct{ name, botID string }{
		{"a bot of another tenant", botB.ID},
		{"an unknown bot", f.id("no-bot")},
		{"a deleted bot", gone.ID},
		{"an empty bot ID", ""},
	}
	for _, c := range cases {
		f.wantField(s.CreateSource(ctx, mk(c.botID)), "bot_id", "CreateSource with "+c.name)
	}
	list, err := s.ListSources(ctx, a.ID, "")
	f.must(err, "ListSources")
	f.equal("ListSources after rejected creates", []record.Source{}, list)

	good := mk(botA.ID)
	f.must(s.CreateSource(ctx, good), "CreateSource with a live bot of the tenant")
	for _, c := range cases {
		upd := good
		upd.BotID, upd.Name, upd.UpdatedAt = c.botID, "changed", f.tick()
		f.wantField(s.UpdateSource(ctx, upd), "bot_id", "UpdateSource with "+c.name)
	}
	got, err := s.GetSource(ctx, a.ID, good.ID)
	f.must(err, "GetSource")
	f.equal("GetSource after rejected updates", good, got)
}

func testDeleteSourceCascades(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	bot := f.newBot(ten.ID)
	doomed, kept := f.newSource(ten.ID, bot.ID), f.newSource(ten.ID, bot.ID)
	d1, c1 := f.putDoc(doomed, "a.md", "Doomed", "zebra migration patterns")
	d2, c2 := f.putDoc(kept, "b.md", "Kept", "zebra stripes kept")
	j1 := f.newJob(ten.ID, doomed.ID, at(0))
	j2 := f.newJob(ten.ID, kept.ID, at(0))

	f.must(s.DeleteSource(ctx, ten.ID, doomed.ID), "DeleteSource")
	_, err := s.GetDocument(ctx, ten.ID, d1.ID)
	f.wantErr(err, record.ErrNotFound, "GetDocument of a deleted source's document")
	docs, err := s.ListDocuments(ctx, ten.ID, doomed.ID)
	f.must(err, "ListDocuments")
	f.equal("ListDocuments of a deleted source", []record.Document{}, docs)
	chunks, err := s.GetChunks(ctx, ten.ID, []string{c1[0].ID, c2[0].ID})
	f.must(err, "GetChunks")
	f.sameIDs("GetChunks after DeleteSource", []string{c2[0].ID}, ids(chunks, func(c record.Chunk) string { return c.ID }))
	chunks, err = s.ListChunks(ctx, ten.ID, d1.ID)
	f.must(err, "ListChunks")
	f.equal("ListChunks of a deleted source's document", []record.Chunk{}, chunks)
	_, err = s.GetJob(ctx, ten.ID, j1.ID)
	f.wantErr(err, record.ErrNotFound, "GetJob of a deleted source's job")
	jobs, err := s.ListJobs(ctx, ten.ID, "")
	f.must(err, "ListJobs")
	f.sameIDs("ListJobs after DeleteSource", []string{j2.ID}, ids(jobs, func(j record.Job) string { return j.ID }))
	m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: ten.ID, Text: "zebra", Limit: 10})
	f.must(err, "SearchLexical")
	f.sameIDs("SearchLexical after DeleteSource", []string{c2[0].ID}, ids(m, func(m storage.LexicalMatch) string { return m.ChunkID }))
	_, err = s.GetDocument(ctx, ten.ID, d2.ID)
	f.must(err, "GetDocument of another source's document")
}

func testDocuments(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	bot := f.newBot(ten.ID)
	src := f.newSource(ten.ID, bot.ID)

	d, chunks := f.newDoc(src, "b/intro.md", "Introduction", "first chunk text", "second chunk text", "third chunk text")
	chunks[2].HeadingPath = nil
	// Given out of order: ListChunks orders by Ordinal.
	given := []record.Chunk{chunks[2], chunks[0], chunks[1]}
	stored, err := s.PutDocument(ctx, d, given)
	f.must(err, "PutDocument (create)")
	want := d
	want.ChunkCount = 3
	f.equal("PutDocument result", want, stored)
	got, err := s.GetDocument(ctx, ten.ID, d.ID)
	f.must(err, "GetDocument")
	f.equal("GetDocument", want, got)

	list, err := s.ListChunks(ctx, ten.ID, d.ID)
	f.must(err, "ListChunks")
	f.equal("ListChunks (by ordinal)", chunks, list)

	bare := record.Document{ID: f.id("doc"), TenantID: ten.ID, BotID: bot.ID, SourceID: src.ID, Key: "a/empty.txt",
		CreatedAt: f.tick(), UpdatedAt: f.tick()}
	stored, err = s.PutDocument(ctx, bare, nil)
	f.must(err, "PutDocument without chunks or metadata")
	f.equal("PutDocument result without chunks", bare, stored)
	got, err = s.GetDocument(ctx, ten.ID, bare.ID)
	f.must(err, "GetDocument")
	f.equal("GetDocument without metadata", bare, got)

	docs, err := s.ListDocuments(ctx, ten.ID, src.ID)
	f.must(err, "ListDocuments")
	f.equal("ListDocuments (by key)", []record.Document{bare, want}, docs)

	byID, err := s.GetDocuments(ctx, ten.ID, []string{want.ID, f.id("missing"), bare.ID})
	f.must(err, "GetDocuments")
	if len(byID) != 2 {
		f.t.Errorf("GetDocuments: got %d documents, want 2 (unknown IDs left out)", len(byID))
	} else {
		m := map[string]record.Document{byID[0].ID: byID[0], byID[1].ID: byID[1]}
		f.equal("GetDocuments", map[string]record.Document{want.ID: want, bare.ID: bare}, m)
	}

	_, err = s.GetDocument(ctx, ten.ID, f.id("missing"))
	f.wantErr(err, record.ErrNotFound, "GetDocument of an unknown ID")
	f.wantErr(s.DeleteDocument(ctx, ten.ID, f.id("missing")), record.ErrNotFound, "DeleteDocument of an unknown ID")

	orphan, orphanChunks := f.newDoc(src, "orphan.md", "Orphan", "text")
	orphan.SourceID = f.id("no-source")
	_, err = s.PutDocument(ctx, orphan, orphanChunks)
	f.wantErr(err, record.ErrNotFound, "PutDocument with an unknown source")

	f.must(s.DeleteDocument(ctx, ten.ID, d.ID), "DeleteDocument")
	_, err = s.GetDocument(ctx, ten.ID, d.ID)
	f.wantErr(err, record.ErrNotFound, "GetDocument after DeleteDocument")
	list, err = s.ListChunks(ctx, ten.ID, d.ID)
	f.must(err, "ListChunks after DeleteDocument")
	f.equal("ListChunks after DeleteDocument", []record.Chunk{}, list)
	cs, err := s.GetChunks(ctx, ten.ID, []string{chunks[0].ID})
	f.must(err, "GetChunks after DeleteDocument")
	f.equal("GetChunks after DeleteDocument", []record.Chunk{}, cs)
	m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: ten.ID, Text: "chunk", Limit: 10})
	f.must(err, "SearchLexical after DeleteDocument")
	f.equal("SearchLexical after DeleteDocument", []storage.LexicalMatch{}, m)
}

func testPutDocumentReplace(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	bot := f.newBot(ten.ID)
	src := f.newSource(ten.ID, bot.ID)
	first, oldChunks := f.putDoc(src, "page.md", "Old title", "old alpha", "old beta", "old gamma")

	// Same source and key, new ID and times: the document keeps its ID and
	// CreatedAt; its chunks are replaced.
	next, newChunks := f.newDoc(src, "page.md", "New title", "new delta", "new epsilon")
	next.ContentHash, next.ByteSize, next.TokenCount = "feedface", 99, 12
	next.Metadata = record.Metadata{"version": "2"}
	for i := range newChunks {
		newChunks[i].DocumentID = next.ID // the caller's guess; the store uses the kept ID
	}
	stored, err := s.PutDocument(ctx, next, newChunks)
	f.must(err, "PutDocument (replace)")
	want := next
	want.ID, want.CreatedAt, want.ChunkCount = first.ID, first.CreatedAt, 2
	f.equal("PutDocument result (replace keeps ID and CreatedAt)", want, stored)
	got, err := s.GetDocument(ctx, ten.ID, first.ID)
	f.must(err, "GetDocument after replace")
	f.equal("GetDocument after replace", want, got)
	_, err = s.GetDocument(ctx, ten.ID, next.ID)
	f.wantErr(err, record.ErrNotFound, "GetDocument by the ID given to a replacing PutDocument")

	list, err := s.ListChunks(ctx, ten.ID, first.ID)
	f.must(err, "ListChunks after replace")
	wantChunks := make([]record.Chunk, len(newChunks))
	for i, c := range newChunks {
		c.DocumentID = first.ID
		wantChunks[i] = c
	}
	f.equal("ListChunks after replace", wantChunks, list)
	old, err := s.GetChunks(ctx, ten.ID, ids(oldChunks, func(c record.Chunk) string { return c.ID }))
	f.must(err, "GetChunks of replaced chunks")
	f.equal("GetChunks of replaced chunks", []record.Chunk{}, old)

	m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: ten.ID, Text: "alpha beta gamma", Limit: 10})
	f.must(err, "SearchLexical")
	f.equal("SearchLexical for replaced text", []storage.LexicalMatch{}, m)
	m, err = s.SearchLexical(ctx, storage.LexicalQuery{TenantID: ten.ID, Text: "epsilon", Limit: 10})
	f.must(err, "SearchLexical")
	f.sameIDs("SearchLexical for new text", []string{newChunks[1].ID}, ids(m, func(m storage.LexicalMatch) string { return m.ChunkID }))

	// The same key in another source is another document.
	src2 := f.newSource(ten.ID, bot.ID)
	other, _ := f.putDoc(src2, "page.md", "Other", "other text")
	if other.ID == first.ID {
		f.t.Error("PutDocument: the same key in another source replaced the first source's document")
	}
	docs, err := s.ListDocuments(ctx, ten.ID, src.ID)
	f.must(err, "ListDocuments")
	f.sameIDs("ListDocuments of the first source", []string{first.ID}, ids(docs, func(d record.Document) string { return d.ID }))

	// A new document whose ID is already used is a conflict.
	clash, _ := f.newDoc(src, "clash.md", "Clash")
	clash.ID = first.ID
	_, err = s.PutDocument(ctx, clash, nil)
	f.wantErr(err, record.ErrConflict, "PutDocument of a new key with a used document ID")
}

func testPutDocumentAtomic(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	bot := f.newBot(ten.ID)
	src := f.newSource(ten.ID, bot.ID)
	doc, chunks := f.putDoc(src, "atomic.md", "Atomic", "original one", "original two")
	_, otherChunks := f.putDoc(src, "other.md", "Other", "someone else's chunk")

	// The replacement's second chunk reuses a chunk ID of another document:
	// the whole replacement must fail and leave everything as it was.
	repl, replChunks := f.newDoc(src, "atomic.md", "Changed", "replacement one", "replacement two")
	replChunks[1].ID = otherChunks[0].ID
	_, err := s.PutDocument(ctx, repl, replChunks)
	f.wantErr(err, record.ErrConflict, "PutDocument with a chunk ID used by another document")

	got, err := s.GetDocument(ctx, ten.ID, doc.ID)
	f.must(err, "GetDocument after failed replace")
	f.equal("GetDocument after failed replace", doc, got)
	list, err := s.ListChunks(ctx, ten.ID, doc.ID)
	f.must(err, "ListChunks after failed replace")
	f.equal("ListChunks after failed replace", chunks, list)
	m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: ten.ID, Text: "replacement", Limit: 10})
	f.must(err, "SearchLexical")
	f.equal("SearchLexical for text of a failed replace", []storage.LexicalMatch{}, m)

	// Duplicate chunk IDs within one call fail too.
	dupe, dupeChunks := f.newDoc(src, "dupe.md", "Dupe", "x one", "x two")
	dupeChunks[1].ID = dupeChunks[0].ID
	_, err = s.PutDocument(ctx, dupe, dupeChunks)
	f.wantErr(err, record.ErrConflict, "PutDocument with a repeated chunk ID")
	_, err = s.GetDocument(ctx, ten.ID, dupe.ID)
	f.wantErr(err, record.ErrNotFound, "GetDocument of a document whose PutDocument failed")
}

func cwd(c record.Chunk, d record.Document) storage.ChunkWithDocument {
	return storage.ChunkWithDocument{Chunk: c, Document: d}
}

func testGetChunksWithDocuments(f *fixture) {
	s, ctx := f.s, f.ctx
	a, b := f.newTenant(), f.newTenant()
	botA := f.newBot(a.ID)
	srcA, srcA2 := f.newSource(a.ID, botA.ID), f.newSource(a.ID, botA.ID)
	srcB := f.newSource(b.ID, f.newBot(b.ID).ID)
	da, ca := f.putDoc(srcA, "a.md", "A", "a0", "a1", "a2")
	d2, c2 := f.putDoc(srcA2, "m.md", "M", "m0")
	db, cb := f.putDoc(srcB, "b.md", "B", "b0")

	order := []string{ca[2].ID, c2[0].ID, cb[0].ID, f.id("missing"), ca[0].ID, ca[2].ID}
	got, err := s.GetChunksWithDocuments(ctx, a.ID, order)
	f.must(err, "GetChunksWithDocuments")
	want := []storage.ChunkWithDocument{cwd(ca[2], da), cwd(c2[0], d2), cwd(ca[0], da)}
	f.equal("GetChunksWithDocuments (order of ids; other tenant's, unknown and repeated IDs left out)", want, got)
	// The same records GetChunks and GetDocuments return.
	chunks, err := s.GetChunks(ctx, a.ID, order)
	f.must(err, "GetChunks")
	docs, err := s.GetDocuments(ctx, a.ID, []string{da.ID, d2.ID})
	f.must(err, "GetDocuments")
	byDoc := map[string]record.Document{}
	for _, d := range docs {
		byDoc[d.ID] = d
	}
	var again []storage.ChunkWithDocument
	for _, c := range chunks {
		again = append(again, storage.ChunkWithDocument{Chunk: c, Document: byDoc[c.DocumentID]})
	}
	f.equal("GetChunksWithDocuments is GetChunks and GetDocuments", again, got)

	got, err = s.GetChunksWithDocuments(ctx, b.ID, order)
	f.must(err, "GetChunksWithDocuments of the other tenant")
	f.equal("GetChunksWithDocuments of the other tenant", []storage.ChunkWithDocument{cwd(cb[0], db)}, got)

	got, err = s.GetChunksWithDocuments(ctx, a.ID, nil)
	f.must(err, "GetChunksWithDocuments with no IDs")
	f.equal("GetChunksWithDocuments with no IDs", []storage.ChunkWithDocument{}, got)

	_, err = s.GetChunksWithDocuments(ctx, "", order)
	f.wantErr(err, record.ErrEmptyTenant, "GetChunksWithDocuments with no tenant")

	f.must(s.DeleteDocument(ctx, a.ID, da.ID), "DeleteDocument")
	got, err = s.GetChunksWithDocuments(ctx, a.ID, order)
	f.must(err, "GetChunksWithDocuments after DeleteDocument")
	f.equal("GetChunksWithDocuments after DeleteDocument", []storage.ChunkWithDocument{cwd(c2[0], d2)}, got)

	// Many IDs at once (adapters that batch must keep the order).
	many := make([]string, 0, 1200)
	for i := range 1200 {
		if i == 1100 {
			many = append(many, c2[0].ID)
		} else {
			many = append(many, fmt.Sprintf("%s-nope-%d", f.tag, i))
		}
	}
	got, err = s.GetChunksWithDocuments(ctx, a.ID, many)
	f.must(err, "GetChunksWithDocuments with 1200 IDs")
	f.equal("GetChunksWithDocuments with 1200 IDs", []storage.ChunkWithDocument{cwd(c2[0], d2)}, got)
}

func testGetChunks(f *fixture) {
	s, ctx := f.s, f.ctx
	a, b := f.newTenant(), f.newTenant()
	srcA := f.newSource(a.ID, f.newBot(a.ID).ID)
	srcB := f.newSource(b.ID, f.newBot(b.ID).ID)
	_, ca := f.putDoc(srcA, "a.md", "A", "a0", "a1", "a2", "a3")
	_, cb := f.putDoc(srcB, "b.md", "B", "b0")

	order := []string{ca[3].ID, ca[0].ID, cb[0].ID, f.id("missing"), ca[2].ID}
	got, err := s.GetChunks(ctx, a.ID, order)
	f.must(err, "GetChunks")
	f.equal("GetChunks (order of ids; other tenant's and unknown IDs left out)", []record.Chunk{ca[3], ca[0], ca[2]}, got)

	got, err = s.GetChunks(ctx, a.ID, nil)
	f.must(err, "GetChunks with no IDs")
	f.equal("GetChunks with no IDs", []record.Chunk{}, got)

	// Many IDs at once (adapters that batch must keep the order).
	many := make([]string, 0, 1200)
	for i := range 1200 {
		if i%300 == 7 {
			many = append(many, ca[(i/300)%4].ID)
		} else {
			many = append(many, fmt.Sprintf("%s-nope-%d", f.tag, i))
		}
	}
	got, err = s.GetChunks(ctx, a.ID, many)
	f.must(err, "GetChunks with 1200 IDs")
	var want []string
	seen := map[string]bool{}
	for _, id := range many {
		for _, c := range ca {
			if c.ID == id && !seen[id] {
				want = append(want, id)
				seen[id] = true
			}
		}
	}
	f.sameIDs("GetChunks with 1200 IDs", want, ids(got, func(c record.Chunk) string { return c.ID }))
}
