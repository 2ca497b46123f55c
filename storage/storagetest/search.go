package storagetest

import (
	"fmt"
	"strings"

	"github.com/minirag/minirag/storage"
)

func matchIDs(m []storage.LexicalMatch) []string {
	return ids(m, func(m storage.LexicalMatch) string { return m.ChunkID })
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func (f *fixture) search(q storage.LexicalQuery) []storage.LexicalMatch {
	f.t.Helper()
	m, err := f.s.SearchLexical(f.ctx, q)
	f.must(err, fmt.Sprintf("SearchLexical(%q)", q.Text))
	for i := 1; i < len(m); i++ {
		if m[i].Score > m[i-1].Score {
			f.t.Errorf("SearchLexical(%q): scores not in descending order: %v", q.Text, m)
			break
		}
	}
	return m
}

// filler is text that shares no word with the suite's queries, so that the
// query words are rare in the corpus (as ranking functions expect).
var filler = []string{
	"kubernetes pods scale horizontally across nodes",
	"a recipe with tomatoes basil and olive oil",
	"the river flows slowly toward the sea",
	"compilers translate source code into machine code",
	"bicycles need regular chain maintenance",
	"mountains are covered with snow in winter",
	"the library opens at nine every morning",
	"quantum computers use qubits",
	"coffee beans are roasted before grinding",
	"trains depart from platform four",
}

func testLexical(f *fixture) {
	a, b := f.newTenant(), f.newTenant()
	botA1, botA2 := f.newBot(a.ID), f.newBot(a.ID)
	srcA1, srcA2 := f.newSource(a.ID, botA1.ID), f.newSource(a.ID, botA2.ID)
	srcA3 := f.newSource(a.ID, botA1.ID)
	srcB := f.newSource(b.ID, f.newBot(b.ID).ID)

	_, c1 := f.putDoc(srcA1, "alerts.md", "Operations handbook",
		append([]string{
			"prometheus evaluates alerting rules and sends alerting notifications; prometheus alerting is configured per rule",
			"prometheus stores time series samples on local disk",
		}, filler...)...)
	_, c2 := f.putDoc(srcA2, "other.md", "Operations handbook", append([]string{"grafana draws prometheus dashboards"}, filler...)...)
	_, c3 := f.putDoc(srcA3, "title.md", "Zeppelin", append([]string{"airships once crossed the atlantic"}, filler...)...)
	_, cb := f.putDoc(srcB, "alerts.md", "Operations handbook", append([]string{"prometheus alerting in tenant b"}, filler...)...)

	// Ranking: the chunk with the most query terms comes first.
	m := f.search(storage.LexicalQuery{TenantID: a.ID, Text: "prometheus alerting", Limit: 10})
	got := matchIDs(m)
	if len(got) == 0 || got[0] != c1[0].ID {
		f.t.Errorf("SearchLexical(prometheus alerting): got %q, want %q (the chunk with both terms, repeated) first", got, c1[0].ID)
	}
	for _, want := range []string{c1[0].ID, c1[1].ID, c2[0].ID} {
		if !contains(got, want) {
			f.t.Errorf("SearchLexical(prometheus alerting): chunk %s (contains a query term) missing from %q", want, got)
		}
	}
	for _, c := range append(c1[2:], cb...) {
		if contains(got, c.ID) {
			f.t.Errorf("SearchLexical(prometheus alerting): chunk %s (%q) should not match", c.ID, c.Text)
		}
	}
	if len(m) > 1 && m[0].Score == m[len(m)-1].Score {
		f.t.Errorf("SearchLexical(prometheus alerting): best and worst match have the same score %v: no ranking", m[0].Score)
	}

	// Limit.
	m = f.search(storage.LexicalQuery{TenantID: a.ID, Text: "prometheus alerting", Limit: 2})
	if len(m) != 2 {
		f.t.Errorf("SearchLexical with Limit 2: got %d matches", len(m))
	}

	// Bot filter.
	m = f.search(storage.LexicalQuery{TenantID: a.ID, BotID: botA2.ID, Text: "prometheus", Limit: 10})
	f.sameIDs("SearchLexical filtered by bot", []string{c2[0].ID}, matchIDs(m))
	m = f.search(storage.LexicalQuery{TenantID: a.ID, BotID: f.id("no-bot"), Text: "prometheus", Limit: 10})
	f.sameIDs("SearchLexical filtered by an unknown bot", nil, matchIDs(m))

	// Source filter.
	m = f.search(storage.LexicalQuery{TenantID: a.ID, SourceIDs: []string{srcA2.ID}, Text: "prometheus", Limit: 10})
	f.sameIDs("SearchLexical filtered by source", []string{c2[0].ID}, matchIDs(m))
	m = f.search(storage.LexicalQuery{TenantID: a.ID, SourceIDs: []string{srcA1.ID, srcA2.ID}, Text: "dashboards samples", Limit: 10})
	if g := matchIDs(m); len(g) != 2 || !contains(g, c1[1].ID) || !contains(g, c2[0].ID) {
		f.t.Errorf("SearchLexical filtered by two sources: got %q, want %s and %s", g, c1[1].ID, c2[0].ID)
	}
	m = f.search(storage.LexicalQuery{TenantID: a.ID, BotID: botA1.ID, SourceIDs: []string{srcA2.ID}, Text: "prometheus", Limit: 10})
	f.sameIDs("SearchLexical filtered by a bot and another bot's source", nil, matchIDs(m))

	// Document titles are indexed: a word found only in a title matches
	// the document's chunks.
	m = f.search(storage.LexicalQuery{TenantID: a.ID, Text: "zeppelin", Limit: 100})
	if g := matchIDs(m); len(g) == 0 || !contains(g, c3[0].ID) {
		f.t.Errorf("SearchLexical(zeppelin), a word of a document title only: got %q, want the document's chunks", g)
	}

	// Tenant isolation.
	m = f.search(storage.LexicalQuery{TenantID: b.ID, Text: "prometheus alerting", Limit: 10})
	f.sameIDs("SearchLexical in tenant B", []string{cb[0].ID}, matchIDs(m))
	m = f.search(storage.LexicalQuery{TenantID: b.ID, BotID: botA1.ID, Text: "prometheus", Limit: 10})
	f.sameIDs("SearchLexical in tenant B with tenant A's bot", nil, matchIDs(m))
	m = f.search(storage.LexicalQuery{TenantID: b.ID, SourceIDs: []string{srcA1.ID}, Text: "prometheus", Limit: 10})
	f.sameIDs("SearchLexical in tenant B with tenant A's source", nil, matchIDs(m))

	// No match.
	m = f.search(storage.LexicalQuery{TenantID: a.ID, Text: "xylophone", Limit: 10})
	f.sameIDs("SearchLexical(xylophone)", nil, matchIDs(m))
}

func testLexicalHostile(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	src := f.newSource(ten.ID, f.newBot(ten.ID).ID)
	_, chunks := f.putDoc(src, "doc.md", "Title", "prometheus alerting rules", "another chunk about grafana")

	for _, text := range []string{"", "   ", "\t\n", `"`, `""`, `'`, "*", ":", "-", "(", ")", "!?.,;", "--", "()", `""''**::`,
		"!@#$%^&*()_+={}[]|\\<>/~`", "…—–·•", "   ,  ,   "} {
		m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: ten.ID, Text: text, Limit: 10})
		if err != nil {
			f.t.Errorf("SearchLexical(%q), text without words: got error %v, want no matches and no error", text, err)
			continue
		}
		if len(m) != 0 {
			f.t.Errorf("SearchLexical(%q), text without words: got matches %v, want none", text, m)
		}
	}
	for _, text := range []string{`prometheus"`, `"prometheus`, `"prometheus alerting"`, `prom*`, `prometheus*`, `title:prometheus`,
		`text:prometheus`, `-prometheus`, `prometheus -grafana`, `(prometheus OR`, `prometheus AND`, `AND`, `OR`, `NOT`,
		`NEAR(prometheus alerting)`, `^prometheus`, `{text title}: prometheus`, `prometheus + grafana`, `a:b:c`, `x'y`,
		`'); DELETE FROM chunks; --`, `prometheus'; DROP TABLE chunks; --`, `%prometheus%`, `_`, `\prometheus`, `prometheus\`,
		`émoji 🚀 prometheus`, `日本語 テキスト`, `col:"quoted" AND (a OR b) NOT c*`, `''`, `"""prometheus"""`, `!prometheus`,
		`prometheus & grafana | alerting`, `<->`, `prometheus:*`, `@@`, `$$ prometheus $$`, strings.Repeat("prometheus ", 500)} {
		if _, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: ten.ID, Text: text, Limit: 10}); err != nil {
			f.t.Errorf("SearchLexical(%.60q): got error %v, want none (query text is never syntax)", text, err)
		}
	}
	m := f.search(storage.LexicalQuery{TenantID: ten.ID, Text: `"prometheus`, Limit: 10})
	if !contains(matchIDs(m), chunks[0].ID) {
		f.t.Errorf(`SearchLexical("\"prometheus"): got %q, want %s: punctuation around a word must not hide it`, matchIDs(m), chunks[0].ID)
	}
	got, err := s.ListChunks(ctx, ten.ID, chunks[0].DocumentID)
	f.must(err, "ListChunks after hostile queries")
	f.equal("ListChunks after hostile queries", chunks, got)
}
