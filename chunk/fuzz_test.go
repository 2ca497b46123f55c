package chunk

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds are short texts plus a few real snippets of the
// prometheus-docs corpus (testdata/prometheus-docs, Apache-2.0).
func fuzzSeeds(f *testing.F) []string {
	seeds := []string{
		"",
		" \n\t ",
		"word",
		"antidisestablishmentarianism" + "antidisestablishmentarianism",
		"日本語のテキストには空白がありません。次の文。",
		"👨‍👩‍👧👍🏽🇫🇷 emoji and text 🙂🙂🙂",
		"a\n\nb\n\n\n\nc",
		"It's a 'quoted' sentence! Isn't it? Yes.",
		"<|endoftext|> special text",
		"---\ntitle: Interview with Compose\ncreated_at: 2016-09-21\n---\n\n## Can you tell us about yourself?\n\n[Compose](https://www.compose.com/) delivers production-ready database clusters\nas a service to developers around the world.",
		"# Configuration\n\n```yaml\nglobal:\n  scrape_interval:     15s\n  evaluation_interval: 15s\n```\n\n| Name | Value |\n|---|---|\n| up | 1 |",
		"```\nunclosed code fence\n# not a heading",
		"Prometheus's main features are:\n\n* a multi-dimensional data model with time series data identified by metric name and key/value pairs\n* PromQL, a flexible query language",
		"rate(http_requests_total{job=\"api-server\"}[5m])",
		"x \xff invalid",
		strings.Repeat("日本語の", 80), // one long pre-token: the O(n log n) merge
		strings.Repeat(".!?;", 80),
	}
	// Openings of a few real documents.
	for _, rel := range []string{"docs/introduction/overview.md", "docs/practices/naming.md", "docs/specs/native_histograms.md"} {
		b, err := os.ReadFile(filepath.Join(corpusDir, rel))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, string(b[:min(len(b), 3000)]))
	}
	return seeds
}

// fuzzChunk runs one chunker on text and checks every guarantee.
func fuzzChunk(t *testing.T, c Chunker, tk *Tokenizer, text string, maxTokens int) {
	pieces, err := c.Chunk(text)
	if err != nil {
		if errors.Is(err, ErrInvalidUTF8) {
			text = Repair(text)
			if pieces, err = c.Chunk(text); err != nil {
				t.Fatalf("repaired text: %v", err)
			}
		} else {
			t.Fatal(err)
		}
	}
	if msg := checkPieces(tk, text, pieces, maxTokens); msg != "" {
		t.Fatalf("max %d: %s\ntext: %q", maxTokens, msg, text)
	}
}

func fuzzOptions(maxb, ovb uint8, o200k bool) Options {
	o := Options{MaxTokens: MinMaxTokens + int(maxb)%61}
	o.Overlap = int(ovb) % o.MaxTokens
	if o200k {
		o.Encoding = O200kBase
	}
	return o
}

func FuzzTokenChunker(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, uint8(i*7), uint8(i*3), i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, text string, maxb, ovb uint8, o200k bool) {
		o := fuzzOptions(maxb, ovb, o200k)
		c := mustToken(t, o)
		fuzzChunk(t, c, c.Tokenizer(), text, o.MaxTokens)
	})
}

func FuzzMarkdownChunker(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, uint8(i*5), uint8(i*2), i%2 == 1)
	}
	f.Fuzz(func(t *testing.T, text string, maxb, ovb uint8, o200k bool) {
		o := fuzzOptions(maxb, ovb, o200k)
		c := mustMarkdown(t, o)
		fuzzChunk(t, c, c.Tokenizer(), text, o.MaxTokens)
	})
}

// FuzzEncode checks the hand-written pre-tokenizers against regexp2 and the
// token ids against tiktoken-go.
func FuzzEncode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, name := range []string{Cl100kBase, O200kBase} {
			tk, err := NewTokenizer(name)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := referenceEncoding(name)
			if err != nil {
				t.Fatal(err)
			}
			want := ref.EncodeOrdinary(text)
			got := tk.Encode(text)
			if len(got) != len(want) {
				t.Fatalf("%s: %d tokens, want %d", name, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: token %d is %d, want %d", name, i, got[i], want[i])
				}
			}
		}
	})
}
