package chunk

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestBytePairMergeLargeMatchesSmall(t *testing.T) {
	tk, err := NewTokenizer(Cl100kBase)
	if err != nil {
		t.Fatal(err)
	}
	ranks := tk.enc.ranks
	collect := func(f func(string, map[string]int, func(int, int)), piece string) [][2]int {
		var out [][2]int
		f(piece, ranks, func(id, size int) { out = append(out, [2]int{id, size}) })
		return out
	}
	// The quadratic reference (the port of tiktoken-go's), at any length.
	small := bytePairMergeSmall
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "ab", "中", "文", "日本", ".", "!", "?", "😀", "‍", "x", "ing", "\xff"}
	pieces := []string{"ab", "abc", strings.Repeat("a", 300), strings.Repeat(".!?;", 100), strings.Repeat("日本語", 120)}
	for range 500 {
		var b strings.Builder
		for k := r.IntN(200) + 2; k > 0; k-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		pieces = append(pieces, b.String())
	}
	for _, p := range pieces {
		want := collect(small, p)
		got := collect(bytePairMergeLarge, p)
		if !slices.Equal(got, want) {
			t.Fatalf("%q: large %v, small %v", p, got, want)
		}
	}
}
