package chunk

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// corpusDir is the repository's prometheus-docs corpus
// (testdata/prometheus-docs), relative to this package.
const corpusDir = "../testdata/prometheus-docs"

// checkPieces verifies the guarantees every chunker gives: offsets valid and
// in order, Text == text[Start:End], no piece over max tokens (counted on the
// piece text itself), Tokens exact, every non-space byte covered, and pieces
// trimmed of space. It returns a description of the first violation or "".
func checkPieces(tk *Tokenizer, text string, pieces []Piece, max int) string {
	covered := make([]bool, len(text))
	prevStart, prevEnd := -1, -1
	for i, p := range pieces {
		if p.Start < 0 || p.Start >= p.End || p.End > len(text) {
			return fmt.Sprintf("piece %d: bad offsets [%d,%d) for len %d", i, p.Start, p.End, len(text))
		}
		if p.Start < prevStart {
			return fmt.Sprintf("piece %d: start %d before previous start %d", i, p.Start, prevStart)
		}
		if p.End <= prevEnd {
			return fmt.Sprintf("piece %d: end %d not after previous end %d", i, p.End, prevEnd)
		}
		prevStart, prevEnd = p.Start, p.End
		if p.Text != text[p.Start:p.End] {
			return fmt.Sprintf("piece %d: Text != text[%d:%d]", i, p.Start, p.End)
		}
		if !utf8.ValidString(p.Text) {
			return fmt.Sprintf("piece %d: cuts a UTF-8 sequence: %q", i, p.Text)
		}
		if n := tk.Count(p.Text); n != p.Tokens {
			return fmt.Sprintf("piece %d: Tokens %d, counted %d: %q", i, p.Tokens, n, p.Text)
		}
		if p.Tokens > max {
			return fmt.Sprintf("piece %d: %d tokens > %d: %q", i, p.Tokens, max, p.Text)
		}
		if strings.TrimSpace(p.Text) != p.Text {
			return fmt.Sprintf("piece %d: not trimmed: %q", i, p.Text)
		}
		for j := p.Start; j < p.End; j++ {
			covered[j] = true
		}
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) && !covered[i] {
			return fmt.Sprintf("byte %d (%q) not covered", i, r)
		}
		i += size
	}
	return ""
}

// corpus returns the markdown files of the corpus; it fails when the
// corpus is missing.
func corpus(t testing.TB) map[string]string {
	t.Helper()
	if _, err := os.Stat(corpusDir); err != nil {
		t.Fatalf("corpus not found at %s: %v", corpusDir, err)
	}
	docs := map[string]string{}
	err := filepath.WalkDir(corpusDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".md") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		docs[path] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func TestCorpus(t *testing.T) {
	docs := corpus(t)
	for _, enc := range []string{Cl100kBase, O200kBase} {
		for _, o := range []Options{{MaxTokens: 512, Overlap: 64}, {MaxTokens: 64, Overlap: 16}, {MaxTokens: 8}} {
			o.Encoding = enc
			tc, err := NewTokenChunker(o)
			if err != nil {
				t.Fatal(err)
			}
			mc, err := NewMarkdownChunker(o)
			if err != nil {
				t.Fatal(err)
			}
			tk := tc.Tokenizer()
			var nt, nm int
			for name, raw := range docs {
				text, err := NormalizeDocument(name, raw)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range []Chunker{tc, mc} {
					pieces, err := c.Chunk(text)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if msg := checkPieces(tk, text, pieces, o.MaxTokens); msg != "" {
						t.Fatalf("%s %T %+v: %s", name, c, o, msg)
					}
					if c == Chunker(tc) {
						nt += len(pieces)
					} else {
						nm += len(pieces)
					}
				}
			}
			t.Logf("%+v: %d token pieces, %d markdown pieces", o, nt, nm)
		}
	}
}
