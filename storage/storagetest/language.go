package storagetest

import (
	"github.com/minirag/minirag/storage"
)

// testLanguagePerBot: a bot's Language chooses how its chunks are indexed.
// "english" stems (a search for "running" finds "runs"); "simple" (a
// PostgreSQL text search configuration, and not English for
// storage/sqlite) does not. Changing a bot's language re-indexes its
// chunks, and moving a source to a bot of another language re-indexes the
// moved chunks. Searches pass the bot's language, as the SDK does.
func testLanguagePerBot(f *fixture) {
	ten := f.newTenant()
	en := f.newBot(ten.ID)
	plain := f.newBot(ten.ID)
	plain.Language = "simple"
	plain.UpdatedAt = f.tick()
	f.must(f.s.UpdateBot(f.ctx, plain), "UpdateBot(language simple)")
	srcEn, srcPlain := f.newSource(ten.ID, en.ID), f.newSource(ten.ID, plain.ID)
	_, cEn := f.putDoc(srcEn, "en.md", "Handbook", append([]string{"the daemon runs nightly backups"}, filler...)...)
	_, cPlain := f.putDoc(srcPlain, "plain.md", "Handbook", append([]string{"the daemon runs nightly backups"}, filler...)...)

	find := func(what string, botID, language, text string, want []string) {
		f.t.Helper()
		got := matchIDs(f.search(storage.LexicalQuery{TenantID: ten.ID, BotID: botID, Text: text, Language: language, Limit: 10}))
		f.sameIDs(what, want, got)
	}
	find("english bot, stemmed word", en.ID, "english", "running", []string{cEn[0].ID})
	find("simple bot, stemmed word", plain.ID, "simple", "running", nil)
	find("simple bot, exact word", plain.ID, "simple", "runs", []string{cPlain[0].ID})

	// The simple bot becomes English: its chunks are stemmed now.
	plain.Language = "english"
	plain.UpdatedAt = f.tick()
	f.must(f.s.UpdateBot(f.ctx, plain), "UpdateBot(language english)")
	find("bot changed to english, stemmed word", plain.ID, "english", "running", []string{cPlain[0].ID})

	// And back: no longer stemmed.
	plain.Language = "simple"
	plain.UpdatedAt = f.tick()
	f.must(f.s.UpdateBot(f.ctx, plain), "UpdateBot(language simple again)")
	find("bot changed back to simple, stemmed word", plain.ID, "simple", "running", nil)
	find("bot changed back to simple, exact word", plain.ID, "simple", "runs", []string{cPlain[0].ID})

	// The English source moves to the simple bot: its chunks follow the
	// simple bot's language.
	srcEn.BotID = plain.ID
	srcEn.UpdatedAt = f.tick()
	f.must(f.s.UpdateSource(f.ctx, srcEn), "UpdateSource(to the simple bot)")
	find("moved source, stemmed word", plain.ID, "simple", "running", nil)
	find("moved source, exact word", plain.ID, "simple", "runs", []string{cEn[0].ID, cPlain[0].ID})
}
