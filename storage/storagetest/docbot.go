package storagetest

import (
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// testDocumentBotFromSource checks that PutDocument (and PutDocuments,
// when the store offers storage.DocumentBatcher) store the source's bot as
// the BotID of the document and of every chunk, whatever BotID the caller
// gave (none, or another bot of the same tenant), so that lexical search
// scoped to the source's bot finds them; and that a document whose source
// is not one of the tenant's is record.ErrNotFound.
func testDocumentBotFromSource(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	bot := f.newBot(ten.ID)
	otherBot := f.newBot(ten.ID)
	src := f.newSource(ten.ID, bot.ID)
	batcher, hasBatch := s.(storage.DocumentBatcher)

	type put struct {
		name string
		fn   func(d record.Document, chunks []record.Chunk) (record.Document, error)
	}
	puts := []put{{"PutDocument", func(d record.Document, chunks []record.Chunk) (record.Document, error) {
		return s.PutDocument(ctx, d, chunks)
	}}}
	if hasBatch {
		puts = append(puts, put{"PutDocuments", func(d record.Document, chunks []record.Chunk) (record.Document, error) {
			out, err := batcher.PutDocuments(ctx, []storage.DocumentWithChunks{{Document: d, Chunks: chunks}})
			if err != nil {
				return record.Document{}, err
			}
			if len(out) != 1 {
				f.t.Fatalf("PutDocuments of one item: got %d documents, want 1", len(out))
			}
			return out[0], nil
		}})
	} else {
		f.t.Logf("storagetest: %T does not implement storage.DocumentBatcher (optional): PutDocuments not checked", s)
	}
	bots := []struct{ what, id string }{{"an empty BotID", ""}, {"another bot's BotID", otherBot.ID}}
	// One distinct searchable word per case.
	words := []string{"aardvark", "bison", "caribou", "dingo"}

	n := 0
	for _, p := range puts {
		for _, b := range bots {
			word := words[n]
			n++
			what := p.name + " with " + b.what
			d, chunks := f.newDoc(src, word+".md", "Title "+word, "the "+word+" grazes", "another "+word+" sleeps")
			d.BotID = b.id
			for i := range chunks {
				chunks[i].BotID = b.id
			}
			stored, err := p.fn(d, chunks)
			f.must(err, what)
			if stored.BotID != bot.ID {
				f.t.Errorf("%s: result has BotID %q, want the source's bot %q", what, stored.BotID, bot.ID)
			}
			got, err := s.GetDocument(ctx, ten.ID, d.ID)
			f.must(err, what+": GetDocument")
			if got.BotID != bot.ID {
				f.t.Errorf("%s: GetDocument has BotID %q, want the source's bot %q", what, got.BotID, bot.ID)
			}
			list, err := s.ListChunks(ctx, ten.ID, d.ID)
			f.must(err, what+": ListChunks")
			byID, err := s.GetChunks(ctx, ten.ID, ids(chunks, func(c record.Chunk) string { return c.ID }))
			f.must(err, what+": GetChunks")
			for _, l := range []struct {
				name   string
				chunks []record.Chunk
			}{{"ListChunks", list}, {"GetChunks", byID}} {
				if len(l.chunks) != len(chunks) {
					f.t.Errorf("%s: %s: got %d chunks, want %d", what, l.name, len(l.chunks), len(chunks))
				}
				for _, c := range l.chunks {
					if c.BotID != bot.ID {
						f.t.Errorf("%s: %s: chunk %q has BotID %q, want the source's bot %q", what, l.name, c.ID, c.BotID, bot.ID)
					}
				}
			}
			want := sortedIDs(ids(chunks, func(c record.Chunk) string { return c.ID }))
			f.sameIDs(what+": SearchLexical scoped to the source's bot", want,
				sortedIDs(matchIDs(f.search(storage.LexicalQuery{TenantID: ten.ID, BotID: bot.ID, Text: word, Limit: 10}))))
			if m := f.search(storage.LexicalQuery{TenantID: ten.ID, BotID: otherBot.ID, Text: word, Limit: 10}); len(m) != 0 {
				f.t.Errorf("%s: SearchLexical scoped to the other bot found %q, want nothing", what, matchIDs(m))
			}
		}
	}

	// A source that is not one of the tenant's: unknown, or another
	// tenant's. Nothing is stored.
	other := f.newTenant()
	otherSrc := f.newSource(other.ID, f.newBot(other.ID).ID)
	for _, c := range []struct{ what, source string }{
		{"an unknown source", f.id("no-source")},
		{"a source of another tenant", otherSrc.ID},
	} {
		for _, p := range puts {
			what := p.name + " with " + c.what
			d, chunks := f.newDoc(src, "lost.md", "Lost", "lost text")
			d.SourceID = c.source
			for i := range chunks {
				chunks[i].SourceID = c.source
			}
			_, err := p.fn(d, chunks)
			f.wantErr(err, record.ErrNotFound, what)
			if _, err := s.GetDocument(ctx, ten.ID, d.ID); err == nil {
				f.t.Errorf("%s: the document was stored", what)
			}
			if _, err := s.GetDocument(ctx, other.ID, d.ID); err == nil {
				f.t.Errorf("%s: the document was stored in the other tenant", what)
			}
		}
	}
	if docs, err := s.ListDocuments(ctx, other.ID, otherSrc.ID); err != nil || len(docs) != 0 {
		f.t.Errorf("ListDocuments of the other tenant's source: %d documents, %v; want none", len(docs), err)
	}
}
