package chunk

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"

	"github.com/minirag/minirag/record"
)

var (
	setLoaderOnce sync.Once
	refMu         sync.Mutex
	refCache      = map[string]*tiktoken.Tiktoken{}
)

// referenceEncoding returns tiktoken-go's own encoder, the reference our
// encoder must match, loaded offline (tiktoken-go's global loader is set
// here, in tests only).
func referenceEncoding(name string) (*tiktoken.Tiktoken, error) {
	setLoaderOnce.Do(func() { tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader()) })
	refMu.Lock()
	defer refMu.Unlock()
	if tk := refCache[name]; tk != nil {
		return tk, nil
	}
	tk, err := tiktoken.GetEncoding(name)
	if err == nil {
		refCache[name] = tk
	}
	return tk, err
}

const cl100kPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// regexpPretokens returns the pre-token boundaries (byte offsets) regexp2
// finds with pattern, as tiktoken-go runs it.
func regexpPretokens(t testing.TB, re *regexp2.Regexp, s string) []int {
	t.Helper()
	runes := []rune(s)
	var out []int
	m, err := re.FindRunesMatch(runes)
	pos, bytePos := 0, 0
	for ; m != nil && err == nil; m, err = re.FindNextMatch(m) {
		for pos < m.Index+m.Length {
			bytePos += len(string(runes[pos]))
			pos++
		}
		out = append(out, bytePos)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ourPretokens(next func(string, int) int, s string) []int {
	var out []int
	for i := 0; i < len(s); {
		i = next(s, i)
		out = append(out, i)
	}
	return out
}

// pretokenSamples returns texts that exercise every alternative of the
// pre-tokenizer patterns: contractions, letters of every category, digits,
// punctuation runs, all kinds of whitespace and newlines, marks.
func pretokenSamples(n int) []string {
	alphabet := []string{"a", "Z", "é", "ß", "ǅ", "ʰ", "中", "\u0301", "\u0903", "1", "٣", "Ⅻ", "½",
		"'", "'s", "'S", "'re", "'LL", "'ve", "'d", "'m", "'t", "'x", "ſ", "K",
		" ", "  ", "\t", "\n", "\r", "\r\n", "\n\n", "\u00a0", "\u2028", "\u3000", "\u0085", "\v", "\f",
		".", ",", "!", "/", "//", "-", "_", "(", ")", "#", "`", "😀", "\u200d", "\x00", "\x7f", "word", " the", "123456"}
	r := rand.New(rand.NewPCG(1, 2))
	out := []string{"", "'s", "hello world", "  x", "a  1", "x \n\n y", "end   ", "\n", " \n ", "it's", "I'LL", "'", "a'", "ab'r"}
	for range n {
		var b strings.Builder
		for k := r.IntN(12) + 1; k > 0; k-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		out = append(out, b.String())
	}
	return out
}

func TestCl100kPretokenizerMatchesRegexp(t *testing.T) {
	re := regexp2.MustCompile(cl100kPattern, regexp2.None)
	samples := pretokenSamples(20000)
	for _, d := range corpus(t) {
		samples = append(samples, d[:min(len(d), 20000)])
	}
	for _, s := range samples {
		want := regexpPretokens(t, re, s)
		if got := ourPretokens(cl100kNext, s); !slices.Equal(got, want) {
			t.Fatalf("%q: got %v, want %v", s, got, want)
		}
	}
}

func TestEncodeMatchesTiktoken(t *testing.T) {
	for _, name := range []string{Cl100kBase, O200kBase} {
		tk, err := NewTokenizer(name)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := referenceEncoding(name)
		if err != nil {
			t.Fatal(err)
		}
		samples := pretokenSamples(3000)
		docs := corpus(t)
		if testing.Short() {
			n := 0
			for k, d := range docs {
				if n++; n > 20 {
					delete(docs, k)
				} else {
					docs[k] = d[:min(len(d), 10000)]
				}
			}
		}
		for _, d := range docs {
			samples = append(samples, d)
		}
		samples = append(samples, strings.Repeat("supercalifragilistic", 50), "<|endoftext|> x", strings.Repeat("🙂", 40))
		for _, s := range samples {
			want := ref.EncodeOrdinary(s)
			got := tk.Encode(s)
			if len(want) == 0 {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s %.80q: got %v, want %v", name, s, got[:min(len(got), 20)], want[:min(len(want), 20)])
			}
			if n := tk.Count(s); n != len(want) {
				t.Fatalf("%s %.80q: Count %d, want %d", name, s, n, len(want))
			}
		}
	}
}

func TestNewTokenizer(t *testing.T) {
	tk, err := NewTokenizer("")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Encoding() != Cl100kBase {
		t.Fatalf("default encoding %q", tk.Encoding())
	}
	if got := tk.Decode(tk.Encode("hello world")); got != "hello world" {
		t.Fatalf("round trip: %q", got)
	}
	if tk.Count("hello world") != 2 {
		t.Fatalf("Count(hello world) = %d, want 2", tk.Count("hello world"))
	}
	_, err = NewTokenizer("p50k_base")
	if !errors.Is(err, record.ErrInvalidInput) || !strings.Contains(err.Error(), "encoding") {
		t.Fatalf("unknown encoding: %v", err)
	}
}

func TestTokenizerConcurrent(t *testing.T) {
	tk, err := NewTokenizer(Cl100kBase)
	if err != nil {
		t.Fatal(err)
	}
	want := tk.Count("The quick brown fox jumps over the lazy dog.")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if n := tk.Count("The quick brown fox jumps over the lazy dog."); n != want {
					t.Errorf("Count = %d, want %d", n, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

const o200kPattern = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`

func TestO200kPretokenizerMatchesRegexp(t *testing.T) {
	re := regexp2.MustCompile(o200kPattern, regexp2.None)
	samples := pretokenSamples(20000)
	for _, d := range corpus(t) {
		samples = append(samples, d[:min(len(d), 20000)])
	}
	for _, s := range samples {
		want := regexpPretokens(t, re, s)
		if got := ourPretokens(o200kNext, s); !slices.Equal(got, want) {
			t.Fatalf("%q: got %v, want %v", s, got, want)
		}
	}
}
