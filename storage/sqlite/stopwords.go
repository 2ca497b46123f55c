package sqlite

import (
	"strings"
	"unicode"
)

// englishStopWords are the words left out of a full-text query against
// the chunks of English bots (chunks_fts): PostgreSQL's "english" text
// search configuration (Snowball's list), which storage/postgres leaves
// out of both its index and its queries. Such words are in nearly every
// chunk, so FTS5 would read their whole posting lists, and score every
// chunk holding them, for terms whose BM25 weight is close to zero
// (docs/PERFORMANCE.md, "Lexical search on SQLite without stop words").
var englishStopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`i me my myself we our ours ourselves you your yours yourself yourselves
		he him his himself she her hers herself it its itself they them their theirs themselves what which who
		whom this that these those am is are was were be been being have has had having do does did doing a an
		the and but if or because as until while of at by for with about against between into through during
		before after above below to from up down in out on off over under again further then once here there when
		where why how all any both each few more most other some such no nor not only own same so than too very s
		t can will just don should now`) {
		m[w] = true
	}
	return m
}()

// withoutStopWords returns text without the words of stop (compared
// lowercased, words split as ftsTerms splits them), or text itself when
// every word is one: a query of stop words alone still searches them.
func withoutStopWords(text string, stop map[string]bool) string {
	words := strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Mn, r)
	})
	kept := words[:0]
	for _, w := range words {
		if !stop[strings.ToLower(w)] {
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 {
		return text
	}
	return strings.Join(kept, " ")
}
