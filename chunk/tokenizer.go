package chunk

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
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

// Tokenizer counts and encodes text with a tiktoken encoding. It is safe for
// concurrent use; create it once and share it (building one after the first
// is cheap: the encoding's tables are built once per process and cached).
type Tokenizer struct {
	enc *encoder
}

// encoder is a process-wide, lazily built tiktoken encoding plus the byte
// length of every token, which maps a token sequence back to byte offsets.
type encoder struct {
	name string
	tk   *tiktoken.Tiktoken
	lens []uint16 // lens[id] = len(bytes of token id)
	// ranks maps the bytes of every ordinary token to its id.
	ranks map[string]int
	// next returns the end of the pre-token starting at byte i of a text:
	// a hand-written equivalent of the encoding's regular expression, or
	// nil when there is none (then tiktoken-go encodes).
	next func(s string, i int) int
}

var (
	// loaderOnce installs tiktoken-go's offline BPE loader (the BPE files
	// embedded in github.com/pkoukk/tiktoken-go-loader) the first time a
	// Tokenizer is built, so that tiktoken never reaches the network. It is
	// done here rather than in init() so that importing the package has no
	// side effect.
	loaderOnce sync.Once

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
//
// The first call for an encoding builds its tables from the BPE data embedded
// in the binary (roughly a second of CPU and tens of MB of memory for
// o200k_base); the result is cached for the life of the process. The first
// call also points tiktoken-go's global BPE loader at the offline loader:
// nothing is ever downloaded.
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
		loaderOnce.Do(func() { tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader()) })
		tk, err := tiktoken.GetEncoding(name)
		if err != nil {
			encoderErr[slot] = fmt.Errorf("chunk: load encoding %s: %w", name, err)
			return
		}
		e := &encoder{name: name, tk: tk}
		e.lens, e.ranks = tokenTables(tk, name)
		e.next = cl100kNext
		if name == O200kBase {
			e.next = o200kNext
		}
		encoderCache[slot] = e
	})
	return encoderCache[slot], encoderErr[slot]
}

// tokenTables decodes every token id once and records its byte length and
// the map from token bytes to id (ordinary tokens only).
func tokenTables(tk *tiktoken.Tiktoken, name string) ([]uint16, map[string]int) {
	n, special := 100_256, 100_300 // cl100k_base: ordinary ids < 100256
	if name == O200kBase {
		n, special = 199_998, 200_100
	}
	lens := make([]uint16, special)
	ranks := make(map[string]int, n)
	ids := []int{0}
	for id := range lens {
		ids[0] = id
		b := tk.Decode(ids)
		lens[id] = uint16(len(b))
		if id < n && b != "" {
			ranks[b] = id
		}
	}
	return lens, ranks
}

// encode appends the tokens of text to ids and their start offsets to off.
func (e *encoder) encode(text string, ids, off []int) ([]int, []int) {
	if e.next == nil {
		pos := 0
		for _, id := range e.tk.EncodeOrdinary(text) {
			ids = append(ids, id)
			off = append(off, pos)
			pos += e.tokenLen(id)
		}
		return ids, off
	}
	for i := 0; i < len(text); {
		j := e.next(text, i)
		if id, ok := e.ranks[text[i:j]]; ok {
			ids = append(ids, id)
			off = append(off, i)
		} else {
			pos := i
			bytePairMerge(text[i:j], e.ranks, func(id, size int) {
				ids = append(ids, id)
				off = append(off, pos)
				pos += size
			})
		}
		i = j
	}
	return ids, off
}

// count returns the number of tokens of text.
func (e *encoder) count(text string) int {
	if e.next == nil {
		return len(e.tk.EncodeOrdinary(text))
	}
	n := 0
	for i := 0; i < len(text); {
		j := e.next(text, i)
		if _, ok := e.ranks[text[i:j]]; ok {
			n++
		} else {
			bytePairMerge(text[i:j], e.ranks, func(int, int) { n++ })
		}
		i = j
	}
	return n
}

// Encoding returns the encoding's name.
func (t *Tokenizer) Encoding() string { return t.enc.name }

// Encode returns the token ids of text. Special-token text such as
// "<|endoftext|>" is encoded as ordinary text, never as a special token.
// Invalid UTF-8 bytes are encoded as U+FFFD.
func (t *Tokenizer) Encode(text string) []int {
	if text == "" {
		return nil
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD") // as tiktoken-go does
	}
	ids, _ := t.enc.encode(text, nil, nil)
	return ids
}

// Count returns the number of tokens Encode would return.
func (t *Tokenizer) Count(text string) int {
	if text == "" {
		return 0
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	return t.enc.count(text)
}

// Decode returns the text of tokens.
func (t *Tokenizer) Decode(tokens []int) string {
	return t.enc.tk.Decode(tokens)
}

// tokenLen returns the byte length of token id.
func (e *encoder) tokenLen(id int) int {
	if id >= 0 && id < len(e.lens) {
		return int(e.lens[id])
	}
	return len(e.tk.Decode([]int{id}))
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
func (e *encoder) tokenize(text string) (*tokenized, error) {
	if !utf8.ValidString(text) {
		return nil, ErrInvalidUTF8
	}
	ids, off := e.encode(text, make([]int, 0, len(text)/4+1), make([]int, 0, len(text)/4+2))
	last := 0
	if len(ids) > 0 {
		last = off[len(off)-1] + e.tokenLen(ids[len(ids)-1])
	}
	if last != len(text) {
		return nil, fmt.Errorf("chunk: token offsets do not add up (%d of %d bytes)", last, len(text))
	}
	off = append(off, len(text))
	return &tokenized{text: text, enc: e, off: off}, nil
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

// tokenizeChecked is tokenize for Chunk: it returns (nil, nil) for blank
// text and wraps errors with the package prefix.
func (e *encoder) tokenizeChecked(text string) (*tokenized, error) {
	if err := invalidUTF8(text); err != nil {
		return nil, err
	}
	if isBlank(text) {
		return nil, nil
	}
	z, err := e.tokenize(text)
	if err != nil {
		return nil, fmt.Errorf("chunk: %w", err)
	}
	return z, nil
}
