package chunk

import (
	"strings"
	"testing"
)

// TestPieceCacheMatchesRanks checks that counts and token offsets taken
// from a warm pieceCache, and from one whose slots all hold other
// pre-tokens, equal those of the rank map alone (encode): a cached entry
// is used only for the exact pre-token it was filled with.
func TestPieceCacheMatchesRanks(t *testing.T) {
	e, err := loadEncoder(Cl100kBase)
	if err != nil {
		t.Fatal(err)
	}
	words := []string{"the", " the", " The", " encoding", " tokenization", " Prometheus", "ünïcödé", " 日本語",
		" antidisestablishmentarianism", "1234567", "...", " \n\n", " scrape_interval", " retention"}
	var b strings.Builder
	for i := range 3000 {
		b.WriteString(words[(i*7+i/5)%len(words)])
	}
	text := b.String()
	want := len(e.encode(text, nil))
	for round := range 3 {
		// Round 0 fills the cache, round 1 reads it, round 2 runs on a
		// cache whose every slot holds an entry of another pre-token.
		if round == 2 {
			c := e.getCache()
			for i := range c.e {
				c.e[i] = pieceEntry{klen: 3, n: 1, sizes: [maxCachedTokens]uint8{3}, key: [maxCachedPiece]byte{'z', 'z', 'z'}}
			}
			e.putCache(c)
		}
		if got := e.count(text); got != want {
			t.Fatalf("round %d: count = %d, want %d", round, got, want)
		}
		off := e.offsets(text, nil)
		if len(off) != want {
			t.Fatalf("round %d: %d offsets, want %d", round, len(off), want)
		}
		pos := 0
		for i, id := range e.encode(text, nil) {
			if off[i] != pos {
				t.Fatalf("round %d: token %d starts at %d, want %d", round, i, off[i], pos)
			}
			pos += len(e.vocab[id])
		}
	}
}
