package chunk

import (
	"strings"
	"testing"
)

// BenchmarkChunkLongRuns chunks texts with no space at all (one long
// pre-token each), the inputs where a quadratic byte-pair merge would take
// minutes. See bench/ for the corpus benchmarks against peers.
func BenchmarkChunkLongRuns(b *testing.B) {
	inputs := map[string]string{
		"cjk":   strings.Repeat("日本語のテキストには空白がありません", 6000),
		"punct": strings.Repeat(".!?;", 30000),
		"emoji": strings.Repeat("👨‍👩‍👧", 10000),
	}
	c := mustToken(b, Options{MaxTokens: 512, Overlap: 64})
	for name, in := range inputs {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := c.Chunk(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
