package chunk

import (
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/minirag/minirag/record"
)

// Suggested option values (a zero MaxTokens is an error, not a default).
const (
	// DefaultMaxTokens is a common chunk size for embedding models.
	DefaultMaxTokens = 512
	// DefaultOverlap is a common overlap for DefaultMaxTokens.
	DefaultOverlap = 64
)

// Options configure the token and markdown chunkers.
type Options struct {
	// MaxTokens is the largest token count of a piece (>= MinMaxTokens).
	MaxTokens int
	// Overlap is roughly how many tokens consecutive pieces share
	// (0 <= Overlap < MaxTokens). The overlap starts at a word boundary, so
	// it can be a few tokens smaller; it is dropped when keeping it would
	// not leave room for new text.
	Overlap int
	// Encoding is the tiktoken encoding: Cl100kBase (default when empty) or
	// O200kBase.
	Encoding string
}

// validate checks o and loads its encoder.
func (o Options) validate() (*encoder, error) {
	var v record.ValidationError
	if o.MaxTokens <= 0 {
		v.Add("max_tokens", "must be positive")
	} else if o.MaxTokens < MinMaxTokens {
		v.Add("max_tokens", fmt.Sprintf("must be at least %d", MinMaxTokens))
	}
	if o.Overlap < 0 {
		v.Add("overlap", "must not be negative")
	} else if o.MaxTokens > 0 && o.Overlap >= o.MaxTokens {
		v.Add("overlap", "must be smaller than max_tokens")
	}
	if o.Encoding != "" && encodingSlot(o.Encoding) < 0 {
		v.Add("encoding", fmt.Sprintf("unknown encoding %q (want %q or %q)", o.Encoding, Cl100kBase, O200kBase))
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("chunk: %w", err)
	}
	return loadEncoder(o.Encoding)
}

// TokenChunker splits plain text into pieces of at most MaxTokens tokens,
// preferring paragraph, then line, then sentence (. ! ? ; followed by a
// space, or 。！？；… anywhere), then word boundaries. It cuts inside a word
// only when the word alone exceeds the limit, and then at a token boundary
// moved back to a character boundary, never inside a UTF-8 sequence.
//
// Pieces are filled greedily, then ended at the strongest boundary (a
// paragraph end over a line end over a sentence end over a word end) that
// keeps at least half of the piece.
//
// Every piece satisfies Text == text[Start:End], starts and ends with a
// non-space character, and has Tokens == the token count of Text encoded on
// its own, which never exceeds MaxTokens. Pieces come in order of Start;
// together they cover every non-space character of the text. Consecutive
// pieces overlap by roughly Overlap tokens, starting at a word boundary.
//
// Chunk encodes the text once, maps tokens to byte offsets, chooses the
// boundaries on that map, and then encodes only the first and last words of
// each piece to get its exact count (text without ASCII spaces, such as
// CJK, is counted piece by piece instead, which costs about one more
// encoding).
//
// A TokenChunker is safe for concurrent use.
type TokenChunker struct {
	opts Options
	enc  *encoder
}

var _ Chunker = (*TokenChunker)(nil)

// NewTokenChunker returns a TokenChunker. Bad options are an error wrapping
// record.ErrInvalidInput that names each bad field (max_tokens, overlap,
// encoding).
func NewTokenChunker(opts Options) (*TokenChunker, error) {
	enc, err := opts.validate()
	if err != nil {
		return nil, err
	}
	if opts.Encoding == "" {
		opts.Encoding = Cl100kBase
	}
	return &TokenChunker{opts: opts, enc: enc}, nil
}

// Options returns the chunker's options (with the encoding filled in).
func (c *TokenChunker) Options() Options { return c.opts }

// Tokenizer returns a Tokenizer of the chunker's encoding.
func (c *TokenChunker) Tokenizer() *Tokenizer { return &Tokenizer{enc: c.enc} }

// Chunk splits text. Text must be valid UTF-8 (an error wrapping
// ErrInvalidUTF8 otherwise); it is normally the output of Normalize, but any
// valid text works. Empty or all-space text yields no pieces.
func (c *TokenChunker) Chunk(text string) ([]Piece, error) {
	z, err := c.enc.tokenizeChecked(text)
	if z == nil {
		return nil, err
	}
	s := splitter{z: z, max: c.opts.MaxTokens}
	s.split(0, len(text), levelParagraph)
	p := packer{z: z, max: c.opts.MaxTokens, overlap: c.opts.Overlap}
	return p.pack(s.units, nil, nil), nil
}

// Split levels, coarsest first.
const (
	levelParagraph = iota
	levelLine
	levelSentence
	levelWord
	levelToken
)

// unit is an indivisible span the packer places whole into a piece.
type unit struct {
	s, e  int
	level int // level at which the span was produced (for refinement)
	// atomic marks a markdown code block or table row: an overlap never
	// starts inside it.
	atomic bool
	// glue asks the packer not to end a piece right after this unit (a
	// heading, a table header).
	glue bool
	// brk is the strength of the boundary after the unit: the level of the
	// separator that follows it (levelParagraph is the strongest).
	brk int
}

// splitter cuts a range into units of at most max tokens (by the
// whole-text map), recursively by level.
type splitter struct {
	z     *tokenized
	max   int
	units []unit
	// atomic is copied to the units split from an atomic markdown block.
	atomic bool
}

func (s *splitter) emit(a, b, level int) {
	s.units = append(s.units, unit{s: a, e: b, level: level, atomic: s.atomic, brk: levelToken})
}

// split appends the units of text[a:b], trimmed of surrounding space,
// starting with separators of the given level.
func (s *splitter) split(a, b, level int) {
	a, b = trimSpace(s.z.text, a, b)
	if a >= b {
		return
	}
	if s.z.approx(a, b) <= s.max {
		s.emit(a, b, level)
		return
	}
	for ; level < levelToken; level++ {
		parts := s.parts(a, b, level)
		if len(parts) <= 2 {
			continue // no separator of this level inside
		}
		for i := 0; i+1 < len(parts); i += 2 {
			n := len(s.units)
			s.split(parts[i], parts[i+1], level+1)
			if len(s.units) > n {
				s.units[len(s.units)-1].brk = level
			}
		}
		return
	}
	s.tokenCut(a, b, s.max)
}

// tokenCut cuts text[a:b] (a single word) at token boundaries moved back to
// character starts, about limit tokens each.
func (s *splitter) tokenCut(a, b, limit int) {
	z := s.z
	for a < b {
		t := z.tokenAt(a) + limit
		cut := b
		if t < z.ntok() && z.off[t] < b {
			cut = z.off[t]
		}
		for cut > a && cut < b && !utf8.RuneStart(z.text[cut]) {
			cut--
		}
		if cut <= a {
			_, size := utf8.DecodeRuneInString(z.text[a:b])
			cut = a + size
		}
		s.emit(a, cut, levelToken)
		a = cut
	}
}

// parts returns the sub-ranges of text[a:b] between separators of level as
// start, end pairs (unTrimmed).
func (s *splitter) parts(a, b, level int) []int {
	t := s.z.text
	var out []int
	start := a
	switch level {
	case levelParagraph:
		// A blank line: "\n", optional spaces/tabs, "\n".
		for i := a; i < b; i++ {
			if t[i] != '\n' {
				continue
			}
			j := i + 1
			for j < b && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r') {
				j++
			}
			if j < b && t[j] == '\n' {
				out = append(out, start, i)
				for j < b && (t[j] == '\n' || t[j] == ' ' || t[j] == '\t' || t[j] == '\r') {
					j++
				}
				start = j
				i = j - 1
			}
		}
	case levelLine:
		for i := a; i < b; i++ {
			if t[i] == '\n' {
				out = append(out, start, i)
				start = i + 1
			}
		}
	case levelSentence:
		for i := a; i < b; {
			r, size := utf8.DecodeRuneInString(t[i:b])
			i += size
			switch r {
			case '.', '!', '?', ';':
				if i < b {
					r2, _ := utf8.DecodeRuneInString(t[i:b])
					if unicode.IsSpace(r2) {
						out = append(out, start, i)
						start = i
					}
				}
			case '。', '！', '？', '；', '…':
				if i < b {
					out = append(out, start, i)
					start = i
				}
			}
		}
	case levelWord:
		for i := a; i < b; {
			r, size := utf8.DecodeRuneInString(t[i:b])
			if unicode.IsSpace(r) {
				out = append(out, start, i)
				i += size
				for i < b {
					r, size = utf8.DecodeRuneInString(t[i:b])
					if !unicode.IsSpace(r) {
						break
					}
					i += size
				}
				start = i
				continue
			}
			i += size
		}
	}
	return append(out, start, b)
}

// packer groups units into pieces.
type packer struct {
	z       *tokenized
	max     int
	overlap int
}

// pack places units into pieces with the overlap. path, when not nil, is set
// as the HeadingPath of every piece; out is appended to.
func (p *packer) pack(units []unit, path []string, out []Piece) []Piece {
	z := p.z
	if len(units) == 0 {
		return out
	}
	i := 0
	start := units[0].s
	prevStart := -1
	for i < len(units) {
		if start < units[i].s && z.approx(start, units[i].e) > p.max {
			start = units[i].s // the overlap leaves no room: drop it
		}
		j := i
		for j+1 < len(units) && z.approx(start, units[j+1].e) <= p.max {
			j++
		}
		for j > i && units[j].glue {
			j--
		}
		j = p.softEnd(units, start, i, j)
		n := z.exact(start, units[j].e)
		for n > p.max && j > i {
			j--
			n = z.exact(start, units[j].e)
		}
		if n > p.max && start < units[i].s {
			start = units[i].s
			continue
		}
		if n > p.max {
			var ok bool
			if units, ok = p.refine(units, i); ok {
				continue
			}
			// Unreachable: refine fails only on a single character, at
			// most four tokens <= MinMaxTokens. Never loop forever.
		}
		end := units[j].e
		out = append(out, Piece{Text: z.text[start:end], Start: start, End: end, Tokens: n, HeadingPath: slices.Clone(path)})
		prevStart = start
		i = j + 1
		if i < len(units) {
			start = p.overlapStart(units, prevStart, end, i)
		}
	}
	return out
}

// softEnd prefers ending a piece at a stronger boundary (a paragraph end
// rather than a sentence end, a sentence end rather than a word end) when
// that keeps at least half of the piece: it returns the last unit of the
// piece among units[i..j].
func (p *packer) softEnd(units []unit, start, i, j int) int {
	if j+1 >= len(units) {
		return j // the rest fits: no choice to make
	}
	best := j
	total := p.z.approx(start, units[j].e)
	for k := j - 1; k >= i; k-- {
		if 2*p.z.approx(start, units[k].e) < total {
			break
		}
		if units[k].brk < units[best].brk && !units[k].glue {
			best = k
		}
	}
	return best
}

// refine replaces units[i], whose exact count exceeds the limit although the
// whole-text map said it fits, by smaller units.
// It reports false when the unit cannot be made smaller.
func (p *packer) refine(units []unit, i int) ([]unit, bool) {
	u := units[i]
	s := splitter{z: p.z, max: p.max, atomic: u.atomic}
	for level := u.level; level < levelToken; level++ {
		parts := s.parts(u.s, u.e, level)
		if len(parts) <= 2 {
			continue
		}
		for k := 0; k+1 < len(parts); k += 2 {
			n := len(s.units)
			s.split(parts[k], parts[k+1], level+1)
			if len(s.units) > n {
				s.units[len(s.units)-1].brk = level
			}
		}
		break
	}
	if len(s.units) < 2 {
		// A single word (or a token cut) that still exceeds: cut shorter.
		s.units = s.units[:0]
		limit := p.z.approx(u.s, u.e) - 1
		if limit < 1 {
			limit = 1
		}
		s.tokenCut(u.s, u.e, limit)
		if len(s.units) < 2 {
			// Inside one token of the whole text: halve at a character
			// boundary. A single character (at most four tokens) never
			// exceeds MaxTokens >= MinMaxTokens.
			s.units = s.units[:0]
			mid := u.s + (u.e-u.s)/2
			for mid > u.s && !utf8.RuneStart(s.z.text[mid]) {
				mid--
			}
			if mid <= u.s {
				_, size := utf8.DecodeRuneInString(s.z.text[u.s:u.e])
				mid = u.s + size
			}
			if mid >= u.e {
				return units, false
			}
			s.emit(u.s, mid, levelToken)
			s.emit(mid, u.e, levelToken)
		}
	}
	for k := range s.units {
		s.units[k].glue = u.glue && k == len(s.units)-1
	}
	s.units[len(s.units)-1].brk = u.brk
	out := make([]unit, 0, len(units)+len(s.units)-1)
	out = append(out, units[:i]...)
	out = append(out, s.units...)
	return append(out, units[i+1:]...), true
}

// overlapStart returns where the piece after one ending at end starts: a
// word start after prevStart such that about p.overlap tokens of the
// previous piece repeat, or units[next].s when there is no such start.
func (p *packer) overlapStart(units []unit, prevStart, end, next int) int {
	z := p.z
	if p.overlap <= 0 {
		return units[next].s
	}
	t := z.tokenAt(end-1) + 1 - p.overlap
	if t <= 0 {
		t = 0
	}
	pos := z.off[t]
	if pos <= prevStart {
		pos = prevStart + 1
	}
	w := nextWordStart(z.text, pos, end)
	if w >= end {
		return units[next].s
	}
	// Prefer a unit start after a stronger boundary (a line or sentence
	// start) when it keeps at least half of the overlap.
	best, bestBrk := -1, levelWord
	for k := next - 1; k > 0 && units[k].s >= w; k-- {
		if units[k].s <= prevStart {
			break
		}
		if 2*z.approx(units[k].s, end) < p.overlap {
			continue // too little overlap; earlier units give more
		}
		if units[k-1].brk <= bestBrk {
			best, bestBrk = k, units[k-1].brk
		}
	}
	if best >= 0 && bestBrk < levelWord {
		return units[best].s
	}
	// Not inside an atomic unit: move to the next unit start after it.
	k := next - 1
	for k > 0 && units[k].s > w {
		k--
	}
	if units[k].s < w && w < units[k].e && units[k].atomic {
		if k+1 >= len(units) || units[k+1].s >= end {
			return units[next].s
		}
		w = units[k+1].s
	}
	return w
}

// nextWordStart returns the first position x in [pos, end) where a
// non-space character follows a space character (or pos itself when text
// before it is a space), or end.
func nextWordStart(t string, pos, end int) int {
	for pos < end && !utf8.RuneStart(t[pos]) {
		pos++
	}
	prevSpace := false
	if pos > 0 {
		r, _ := utf8.DecodeLastRuneInString(t[:pos])
		prevSpace = unicode.IsSpace(r)
	}
	for pos < end {
		r, size := utf8.DecodeRuneInString(t[pos:end])
		sp := unicode.IsSpace(r)
		if prevSpace && !sp {
			return pos
		}
		prevSpace = sp
		pos += size
	}
	return end
}

// trimSpace narrows [a, b) to exclude leading and trailing space runes.
func trimSpace(t string, a, b int) (int, int) {
	for a < b {
		c := t[a]
		if c < utf8.RuneSelf {
			if !asciiSpace(c) {
				break
			}
			a++
			continue
		}
		r, size := utf8.DecodeRuneInString(t[a:b])
		if !unicode.IsSpace(r) {
			break
		}
		a += size
	}
	for a < b {
		c := t[b-1]
		if c < utf8.RuneSelf {
			if !asciiSpace(c) {
				break
			}
			b--
			continue
		}
		r, size := utf8.DecodeLastRuneInString(t[a:b])
		if !unicode.IsSpace(r) {
			break
		}
		b -= size
	}
	return a, b
}

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}

// isBlank reports whether t has no non-space character.
func isBlank(t string) bool {
	a, b := trimSpace(t, 0, len(t))
	return a >= b
}
