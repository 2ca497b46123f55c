package chunk

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"

	"github.com/minirag/minirag/record"
)

// Encoding names accepted by NewTokenizer and Options.Encoding.
const (
	// Cl100kBase is the encoding of GPT-3.5/GPT-4 and of OpenAI's
	// text-embedding-3 and ada-002 models. It is the default.
	Cl100kBase = "cl100k_base"
	// O200kBase is the encoding of GPT-4o and later OpenAI models.
	O200kBase = "o200k_base"
)

// MinMaxTokens is the smallest accepted MaxTokens: one UTF-8 character can
// take up to four tokens, and a piece never cuts a character in two.
const MinMaxTokens = 4

// Tokenizer counts and encodes text with a tiktoken encoding. Its token ids
// are those of tiktoken-go's EncodeOrdinary (the tests check this on the
// corpus and on generated text), computed by a faster port: the BPE ranks
// are the files embedded in github.com/pkoukk/tiktoken-go-loader, read
// through its offline loader (nothing is ever downloaded), and the
// pre-tokenizer regular expressions are hand-written (see pretoken.go).
//
// A Tokenizer is safe for concurrent use. Building the first one of an
// encoding loads its ranks (about 50 ms and 7 MB of heap for cl100k_base,
// about twice that for o200k_base); they are cached for the life of the process, so
// further Tokenizers and chunkers are cheap. Nothing happens at import.
type Tokenizer struct {
	enc *encoder
}

// encoder is a process-wide, lazily loaded encoding.
type encoder struct {
	name string
	// ranks maps the bytes of every ordinary token to its id (the id is
	// the merge rank).
	ranks map[string]int
	// vocab[id] is the bytes of token id ("" for an unused id).
	vocab []string
	// next returns the end of the pre-token starting at byte i of a text.
	next func(s string, i int) int
	// free holds pieceCaches for reuse (see getCache).
	free chan *pieceCache
}

var (
	encoderOnce  [2]sync.Once
	encoderCache [2]*encoder
	encoderErr   [2]error
)

func encodingSlot(name string) int {
	switch name {
	case Cl100kBase:
		return 0
	case O200kBase:
		return 1
	}
	return -1
}

// NewTokenizer returns a Tokenizer for the named encoding (Cl100kBase or
// O200kBase; "" means Cl100kBase). An unknown name is an error wrapping
// record.ErrInvalidInput.
func NewTokenizer(encoding string) (*Tokenizer, error) {
	enc, err := loadEncoder(encoding)
	if err != nil {
		return nil, err
	}
	return &Tokenizer{enc: enc}, nil
}

func loadEncoder(name string) (*encoder, error) {
	if name == "" {
		name = Cl100kBase
	}
	slot := encodingSlot(name)
	if slot < 0 {
		return nil, fmt.Errorf("chunk: %w", record.Invalid("encoding",
			fmt.Sprintf("unknown encoding %q (want %q or %q)", name, Cl100kBase, O200kBase)))
	}
	encoderOnce[slot].Do(func() {
		ranks, err := tiktoken_loader.NewOfflineLoader().LoadTiktokenBpe(name + ".tiktoken")
		if err != nil {
			encoderErr[slot] = fmt.Errorf("chunk: load encoding %s: %w", name, err)
			return
		}
		e := &encoder{name: name, ranks: ranks, next: cl100kNext, free: make(chan *pieceCache, pieceFreeList)}
		if name == O200kBase {
			e.next = o200kNext
		}
		for tok, id := range ranks {
			if id >= len(e.vocab) {
				e.vocab = slices.Grow(e.vocab, id+1-len(e.vocab))[:id+1]
			}
			e.vocab[id] = tok
		}
		encoderCache[slot] = e
	})
	return encoderCache[slot], encoderErr[slot]
}

// encode appends the token ids of text to ids.
func (e *encoder) encode(text string, ids []int) []int {
	for i := 0; i < len(text); {
		j := e.next(text, i)
		if id, ok := e.ranks[text[i:j]]; ok {
			ids = append(ids, id)
		} else {
			bytePairMerge(text[i:j], e.ranks, func(id, _ int) {
				ids = append(ids, id)
			})
		}
		i = j
	}
	return ids
}

// offsets appends the start offset of each token of text to off.
func (e *encoder) offsets(text string, off []int) []int {
	c := e.getCache()
	for i := 0; i < len(text); {
		j := e.next(text, i)
		off, _ = e.pieceTokens(c, text[i:j], i, off, true)
		i = j
	}
	e.putCache(c)
	return off
}

// count returns the number of tokens of text.
func (e *encoder) count(text string) int {
	c := e.getCache()
	n := 0
	for i := 0; i < len(text); {
		j := e.next(text, i)
		_, k := e.pieceTokens(c, text[i:j], i, nil, false)
		n += k
		i = j
	}
	e.putCache(c)
	return n
}

// Encoding returns the encoding's name.
func (t *Tokenizer) Encoding() string { return t.enc.name }

// Encode returns the token ids of text. Special-token text such as
// "<|endoftext|>" is encoded as ordinary text, never as a special token.
// Invalid UTF-8 bytes are encoded as U+FFFD, as tiktoken-go does.
func (t *Tokenizer) Encode(text string) []int {
	if text == "" {
		return nil
	}
	ids := t.enc.encode(replaceInvalid(text), make([]int, 0, len(text)/3+1))
	return ids
}

// Count returns the number of tokens Encode would return, without
// allocating them.
func (t *Tokenizer) Count(text string) int {
	if text == "" {
		return 0
	}
	return t.enc.count(replaceInvalid(text))
}

// replaceInvalid replaces every invalid byte of text by U+FFFD, as Go's
// string to []rune conversion (and so tiktoken-go) does.
func replaceInvalid(text string) string {
	if utf8.ValidString(text) {
		return text
	}
	var b strings.Builder
	for _, r := range text {
		b.WriteRune(r)
	}
	return b.String()
}

// Decode returns the text of tokens; unknown ids are skipped.
func (t *Tokenizer) Decode(tokens []int) string {
	var b strings.Builder
	for _, id := range tokens {
		if id >= 0 && id < len(t.enc.vocab) {
			b.WriteString(t.enc.vocab[id])
		}
	}
	return b.String()
}

// tokenized is a text encoded once, with the byte offset of every token.
type tokenized struct {
	text string
	enc  *encoder
	// off[i] is the byte offset where token i starts; off[len(off)-1] ==
	// len(text). A token may start or end inside a multi-byte character.
	off []int
}

// tokenize encodes text (valid UTF-8) once and maps tokens to byte offsets.
func (e *encoder) tokenize(text string) *tokenized {
	// Only the offsets are kept: the pre-tokens tile the text, and so do
	// the tokens of each pre-token.
	off := e.offsets(text, make([]int, 0, len(text)/4+2))
	off = append(off, len(text))
	return &tokenized{text: text, enc: e, off: off}
}

// ntok returns the number of tokens of the whole text.
func (z *tokenized) ntok() int { return len(z.off) - 1 }

// tokenAt returns the index of the token containing byte pos (pos <
// len(text)), or ntok() when pos == len(text).
func (z *tokenized) tokenAt(pos int) int {
	i, found := slices.BinarySearch(z.off, pos)
	if found {
		if i >= z.ntok() {
			return z.ntok()
		}
		// Zero-length tokens do not occur, so off is strictly increasing.
		return i
	}
	return i - 1
}

// approx returns the number of tokens of the whole-text encoding that
// overlap text[a:b]. It is close to, but not always equal to, the token count
// of text[a:b] encoded alone (see exact).
func (z *tokenized) approx(a, b int) int {
	if b <= a {
		return 0
	}
	return z.tokenAt(b-1) - z.tokenAt(a) + 1
}

// isHard reports whether byte position x of the text is a "hard" pre-token
// boundary: one where the tiktoken pre-tokenizer (cl100k_base and
// o200k_base patterns) splits whatever text precedes x and whatever follows
// it. Encoding text[a:b] alone then yields the same tokens as the whole text
// between two hard boundaries p and q with a <= p <= q <= b, which lets
// exact count a piece by encoding only its two edges. Two cases, both
// conservative and ASCII-only:
//
//   - text[x] == ' ' and text[x-1] is a printable non-space ASCII byte: no
//     pattern alternative continues from such a byte into a space;
//   - text[x-1] == '\n' and text[x] is a printable non-space ASCII byte other
//     than '/': every alternative that covers a newline ends at the end of
//     the newline run unless a '/' follows (o200k_base).
//
// Positions 0 and len(text) are boundaries of every encoding.
func (z *tokenized) isHard(x int) bool {
	t := z.text
	if x <= 0 || x >= len(t) {
		return true
	}
	c, p := t[x], t[x-1]
	if c == ' ' {
		return p > ' ' && p < 0x7f
	}
	if p == '\n' {
		return c > ' ' && c < 0x7f && c != '/'
	}
	return false
}

// maxEdgeScan bounds how far exact looks for a hard boundary from each edge
// before it encodes the whole piece instead.
const maxEdgeScan = 256

// exact returns the token count of text[a:b] encoded on its own. It encodes
// only the piece's edges (up to the first and from the last hard boundary)
// and takes the middle from the whole-text encoding; when the piece has no
// hard boundary near its edges (text without ASCII spaces, such as CJK), it
// encodes the whole piece.
func (z *tokenized) exact(a, b int) int {
	if b <= a {
		return 0
	}
	p := -1
	for x := a; x <= b && x-a <= maxEdgeScan; x++ {
		if z.isHard(x) {
			p = x
			break
		}
	}
	q := -1
	if p >= 0 {
		for x := b; x >= p && b-x <= maxEdgeScan; x-- {
			if z.isHard(x) {
				q = x
				break
			}
		}
	}
	if p < 0 || q < 0 {
		return z.enc.count(z.text[a:b])
	}
	ip, okp := slices.BinarySearch(z.off, p)
	iq, okq := slices.BinarySearch(z.off, q)
	if !okp || !okq {
		// Not a token boundary of the whole text: cannot happen for a hard
		// boundary, but never guess.
		return z.enc.count(z.text[a:b])
	}
	n := iq - ip
	if p > a {
		n += z.enc.count(z.text[a:p])
	}
	if b > q {
		n += z.enc.count(z.text[q:b])
	}
	return n
}

// tokenizeChecked is tokenize for Chunk: it rejects invalid UTF-8 and
// returns (nil, nil) for blank text.
func (e *encoder) tokenizeChecked(text string) (*tokenized, error) {
	if err := invalidUTF8(text); err != nil {
		return nil, err
	}
	if isBlank(text) {
		return nil, nil
	}
	return e.tokenize(text), nil
}
