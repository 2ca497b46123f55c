package storagetest

import (
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// testUpdateSourceMovesContent checks that UpdateSource giving a source
// another bot moves the source's documents and chunks to that bot: their
// BotID changes (nothing else does), SearchLexical filtered by the new bot
// finds their text and filtered by the old bot does not, and other
// sources and other tenants are left alone. A rejected or rolled back
// update moves nothing.
func testUpdateSourceMovesContent(f *fixture) {
	s, ctx := f.s, f.ctx
	ten, other := f.newTenant(), f.newTenant()
	oldBot, newBot := f.newBot(ten.ID), f.newBot(ten.ID)
	src := f.newSource(ten.ID, oldBot.ID)
	stay := f.newSource(ten.ID, oldBot.ID) // same bot, not moved
	otherSrc := f.newSource(other.ID, f.newBot(other.ID).ID)

	d1, c1 := f.putDoc(src, "a.md", "Okapi field guide", "zebras graze quietly", "the herd rests at noon")
	d2, c2 := f.putDoc(src, "b.md", "Savanna notes", "zebras drink at dusk")
	dStay, cStay := f.putDoc(stay, "stay.md", "Staying put", "zebras of the source that stays")
	dOther, cOther := f.putDoc(otherSrc, "other.md", "Okapi field guide", "zebras of another tenant")
	moved := []record.Document{d1, d2}
	movedChunks := append(append([]record.Chunk{}, c1...), c2...)
	for _, d := range moved {
		if d.BotID != oldBot.ID {
			f.t.Fatalf("PutDocument of %s: stored BotID %q, want the source's bot %q", d.ID, d.BotID, oldBot.ID)
		}
	}

	// find returns the IDs of tenant's chunks SearchLexical finds for text
	// filtered by botID (all bots when empty) and sources.
	find := func(tenantID, botID, text string, sources ...string) []string {
		f.t.Helper()
		return matchIDs(f.search(storage.LexicalQuery{TenantID: tenantID, BotID: botID, SourceIDs: sources, Text: text, Limit: 50}))
	}
	chunkIDs := func(l ...[]record.Chunk) []string {
		var out []string
		for _, cs := range l {
			out = append(out, ids(cs, func(c record.Chunk) string { return c.ID })...)
		}
		return out
	}
	// wantFound fails unless got holds exactly the chunks of want, in any
	// order (ranking is checked elsewhere).
	wantFound := func(what string, want, got []string) {
		f.t.Helper()
		ok := len(got) == len(want)
		for _, id := range want {
			ok = ok && contains(got, id)
		}
		if !ok {
			f.t.Errorf("%s: got chunks %q, want exactly %q", what, got, want)
		}
	}
	// onBot checks that the moved source's documents and chunks are all
	// stored with botID and otherwise as they were put, and that search
	// finds their text with botID only.
	onBot := func(when string, botID, notBotID string) {
		f.t.Helper()
		for i, d := range moved {
			want := d
			want.BotID = botID
			got, err := s.GetDocument(ctx, ten.ID, d.ID)
			f.must(err, "GetDocument "+when)
			f.equal("GetDocument "+when+" (BotID the source's bot, nothing else changed)", want, got)
			moved[i] = want
		}
		docs, err := s.ListDocuments(ctx, ten.ID, src.ID)
		f.must(err, "ListDocuments "+when)
		f.equal("ListDocuments of the source "+when, moved, docs)
		got, err := s.GetDocuments(ctx, ten.ID, []string{d1.ID, d2.ID})
		f.must(err, "GetDocuments "+when)
		for _, d := range got {
			if d.BotID != botID {
				f.t.Errorf("GetDocuments %s: document %s has BotID %q, want %q", when, d.ID, d.BotID, botID)
			}
		}
		if len(got) != 2 {
			f.t.Errorf("GetDocuments %s: got %d documents, want 2", when, len(got))
		}
		for i := range movedChunks {
			movedChunks[i].BotID = botID
		}
		for _, d := range moved {
			list, err := s.ListChunks(ctx, ten.ID, d.ID)
			f.must(err, "ListChunks "+when)
			var want []record.Chunk
			for _, c := range movedChunks {
				if c.DocumentID == d.ID {
					want = append(want, c)
				}
			}
			f.equal("ListChunks of "+d.Key+" "+when+" (BotID the source's bot, nothing else changed)", want, list)
		}
		cs, err := s.GetChunks(ctx, ten.ID, chunkIDs(movedChunks))
		f.must(err, "GetChunks "+when)
		f.equal("GetChunks "+when+" (BotID the source's bot)", movedChunks, cs)

		srcs, err := s.ListSources(ctx, ten.ID, botID)
		f.must(err, "ListSources "+when)
		if !contains(ids(srcs, func(s record.Source) string { return s.ID }), src.ID) {
			f.t.Errorf("ListSources of bot %s %s: source %s missing", botID, when, src.ID)
		}
		srcs, err = s.ListSources(ctx, ten.ID, notBotID)
		f.must(err, "ListSources "+when)
		if contains(ids(srcs, func(s record.Source) string { return s.ID }), src.ID) {
			f.t.Errorf("ListSources of bot %s %s: source %s listed, it belongs to bot %s", notBotID, when, src.ID, botID)
		}

		// Chunk text and the document title ("okapi") are both searched.
		wantFound("SearchLexical(zebras) filtered by the source's bot "+when, chunkIDs(c1[:1], c2[:1]),
			find(ten.ID, botID, "zebras", src.ID))
		wantFound("SearchLexical(okapi), a title word, filtered by the source's bot "+when, chunkIDs(c1),
			find(ten.ID, botID, "okapi"))
		wantFound("SearchLexical(zebras) filtered by the other bot and the source "+when, nil, find(ten.ID, notBotID, "zebras", src.ID))
		wantFound("SearchLexical(okapi) filtered by the other bot "+when, nil, find(ten.ID, notBotID, "okapi"))
		wantFound("SearchLexical(zebras) without a bot "+when, chunkIDs(c1[:1], c2[:1], cStay),
			find(ten.ID, "", "zebras"))

		// The source that was not moved stays with the old bot.
		gotStay, err := s.GetDocument(ctx, ten.ID, dStay.ID)
		f.must(err, "GetDocument of a source that was not moved "+when)
		f.equal("GetDocument of a source that was not moved "+when, dStay, gotStay)
		cs, err = s.ListChunks(ctx, ten.ID, dStay.ID)
		f.must(err, "ListChunks of a source that was not moved "+when)
		f.equal("ListChunks of a source that was not moved "+when, cStay, cs)
		wantFound("SearchLexical(zebras) filtered by the old bot, another of its sources, "+when, chunkIDs(cStay),
			find(ten.ID, oldBot.ID, "zebras", stay.ID))

		// The other tenant sees none of it and keeps its own.
		gotOther, err := s.GetDocument(ctx, other.ID, dOther.ID)
		f.must(err, "GetDocument of the other tenant "+when)
		f.equal("GetDocument of the other tenant "+when, dOther, gotOther)
		wantFound("SearchLexical(zebras) in the other tenant "+when, chunkIDs(cOther), find(other.ID, "", "zebras"))
		wantFound("SearchLexical(zebras) in the other tenant filtered by bot "+botID+" "+when, nil, find(other.ID, botID, "zebras"))
		for _, d := range moved {
			_, err := s.GetDocument(ctx, other.ID, d.ID)
			f.wantErr(err, record.ErrNotFound, "GetDocument in the other tenant of a moved document "+when)
		}
		cs, err = s.GetChunks(ctx, other.ID, chunkIDs(movedChunks))
		f.must(err, "GetChunks in the other tenant "+when)
		f.equal("GetChunks in the other tenant of moved chunks "+when, []record.Chunk{}, cs)
	}

	onBot("before any move", oldBot.ID, newBot.ID)

	// The move.
	upd := src
	upd.BotID, upd.UpdatedAt = newBot.ID, f.tick()
	f.must(s.UpdateSource(ctx, upd), "UpdateSource to another bot")
	onBot("after UpdateSource moved the source to the new bot", newBot.ID, oldBot.ID)

	// An update that keeps the bot keeps the content where it is.
	upd.Name, upd.UpdatedAt = "renamed after the move", f.tick()
	f.must(s.UpdateSource(ctx, upd), "UpdateSource keeping the bot")
	onBot("after UpdateSource kept the bot", newBot.ID, oldBot.ID)

	// Rejected updates move nothing: another tenant's attempt (not found)
	// and a bot that is not a live bot of the tenant (bad input).
	gone := f.newBot(ten.ID)
	f.must(s.DeleteBot(ctx, ten.ID, gone.ID, f.tick()), "DeleteBot")
	hijack := upd
	hijack.TenantID, hijack.BotID, hijack.UpdatedAt = other.ID, otherSrc.BotID, f.tick()
	f.wantErr(s.UpdateSource(ctx, hijack), record.ErrNotFound, "UpdateSource by the other tenant, to its bot, of this tenant's source")
	for _, bad := range []struct{ name, botID string }{
		{"a deleted bot", gone.ID}, {"another tenant's bot", otherSrc.BotID}, {"an unknown bot", f.id("no-bot")},
	} {
		rej := upd
		rej.BotID, rej.UpdatedAt = bad.botID, f.tick()
		f.wantField(s.UpdateSource(ctx, rej), "bot_id", "UpdateSource to "+bad.name)
	}
	onBot("after rejected UpdateSource calls", newBot.ID, oldBot.ID)

	// A move inside a transaction that rolls back moves nothing.
	back := upd
	back.BotID, back.UpdatedAt = oldBot.ID, f.tick()
	err := s.InTx(ctx, func(tx storage.Storage) error {
		if err := tx.UpdateSource(ctx, back); err != nil {
			return err
		}
		return errRollback
	})
	f.wantErr(err, errRollback, "InTx around UpdateSource whose fn fails")
	onBot("after a move in a rolled back InTx", newBot.ID, oldBot.ID)

	// Moving back moves the content back.
	f.must(s.UpdateSource(ctx, back), "UpdateSource back to the first bot")
	onBot("after UpdateSource moved the source back", oldBot.ID, newBot.ID)
}
