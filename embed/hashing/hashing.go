// Package hashing is a deterministic, offline embedder built on feature
// hashing. It is the embedded stack's default because it needs no model
// file, no network and no GPU, and gives the same vector for the same text
// on every machine and every run.
//
// It is lexical, not semantic: two texts are close when they share words,
// word pairs and word fragments, not when they mean the same thing in
// different words ("car" and "automobile" are unrelated to it). Use
// embed/openai with a real embedding model when meaning matters. As a
// measure of what it does: finding, among the 383 "##" sections of the
// shared Prometheus docs, the section a heading belongs to gives an
// MRR@10 of 0.26 (0.20 with words alone; see quality_test.go). Embedding a
// text of about 500 tokens takes about 50µs on one core.
//
// # How a text becomes a vector
//
//	text ─► NFC ─► lowercase ─► words (runs of letters, digits and marks;
//	        │                   each Han, Hiragana, Katakana, Thai, Lao,
//	        │                   Khmer or Myanmar character is a word of its
//	        │                   own, as these scripts put no spaces between
//	        │                   words)
//	        ├─► word unigrams                weight 1.0 (0.3 for words of
//	        │                                1–2 bytes, 0.6 for 3 bytes: mostly
//	        │                                function words like "of", "the")
//	        ├─► word bigrams (adjacent)      weight 0.5  (Config.NoBigrams)
//	        └─► character 3-, 4- and 5-grams of "<word>", for words of more
//	            than 3 bytes                 weight 0.5  (Config.NoCharNGrams)
//	each distinct feature f with count tf adds ±weight·(1+ln tf) to
//	dimension hash(f) mod Dimensions (the sign is another bit of the hash,
//	so collisions cancel out on average instead of piling up), and the
//	vector is scaled to unit length (L2).
//
// A text with no word at all (empty, only spaces or punctuation) gets the
// zero vector: all of its coordinates are 0 and its cosine similarity with
// any vector is taken as 0. It is not an error, so that a batch never fails
// because of one blank query; callers that must reject empty texts do so
// before embedding.
//
// Model() names the version of this algorithm and every setting that
// changes vectors (for example "hashing-v1-d384"), so vectors made with
// other settings are never mixed with these.
package hashing

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/record"
)

// Version is the version of the hashing algorithm. It changes whenever a
// change to this package would change any vector, and it is part of Model().
const Version = 1

// DefaultDimensions is the vector size used when Config.Dimensions is 0.
const DefaultDimensions = 384

// MaxDimensions is the largest accepted Config.Dimensions.
const MaxDimensions = 65536

const (
	wordWeight   = 1.0
	bigramWeight = 0.5
	charWeight   = 0.5
	minN, maxN   = 3, 5
	// Words of up to shortWord bytes are mostly function words (the, of,
	// is, to): they weigh less and give no character n-grams.
	shortWord = 3
	// maxCharWord bounds the character n-grams taken from one word (in
	// runes), so that a long base64 blob does not cost more than text.
	maxCharWord = 40
)

// Config sets up an Embedder. The zero value is the default.
type Config struct {
	// Dimensions is the vector size: 0 means DefaultDimensions. Larger
	// sizes mean fewer hash collisions and bigger indexes.
	Dimensions int
	// NoBigrams leaves out word bigrams.
	NoBigrams bool
	// NoCharNGrams leaves out character n-grams (which otherwise make
	// "alert" and "alerting" close).
	NoCharNGrams bool
}

// Embedder is the hashing embedder. It is safe for concurrent use; its
// zero value is not usable, call New.
type Embedder struct {
	dims    int
	bigrams bool
	chars   bool
	model   string
}

// freeScratch keeps the scratch buffers of finished calls for the next
// ones, of any Embedder (a scratch holds buffers only). Not a sync.Pool:
// a pool is emptied by every garbage collection, and a batch of long
// texts then allocates its feature tables (about 0.5 MB) again, which was
// a third of the bytes an ingestion allocated. Not one list per Embedder
// either: a program that builds an Embedder per client (or per run) grew
// the tables from nothing each time, 10 MB of allocation per ingestion of
// a 1.2 MB corpus.
var freeScratch = make(chan *scratch, max(4, runtime.GOMAXPROCS(0)))

var _ embed.Embedder = (*Embedder)(nil)

// New returns an Embedder. It fails with record.ErrInvalidInput when
// Dimensions is negative or above MaxDimensions.
func New(cfg Config) (*Embedder, error) {
	if cfg.Dimensions == 0 {
		cfg.Dimensions = DefaultDimensions
	}
	if cfg.Dimensions < 1 || cfg.Dimensions > MaxDimensions {
		return nil, fmt.Errorf("hashing: %w", record.Invalid("dimensions",
			"must be between 1 and "+strconv.Itoa(MaxDimensions)))
	}
	e := &Embedder{dims: cfg.Dimensions, bigrams: !cfg.NoBigrams, chars: !cfg.NoCharNGrams}
	e.model = "hashing-v" + strconv.Itoa(Version) + "-d" + strconv.Itoa(cfg.Dimensions)
	if cfg.NoBigrams {
		e.model += "-nobigrams"
	}
	if cfg.NoCharNGrams {
		e.model += "-nochars"
	}
	return e, nil
}

// Dimensions implements embed.Embedder.
func (e *Embedder) Dimensions() int { return e.dims }

// Model implements embed.Embedder: "hashing-v<Version>-d<Dimensions>",
// followed by "-nobigrams" and "-nochars" when those are set.
func (e *Embedder) Model() string { return e.model }

// Lexical reports true: this embedder's vectors are lexical (shared words
// and word fragments, not meaning), so hybrid search weights the lexical
// ranking higher (see minirag.Fusion). It is the optional capability
// described in package embed.
func (*Embedder) Lexical() bool { return true }

// Embed implements embed.Embedder. It never calls out and fails only when
// ctx is done. The vectors share one allocation; each has its own capacity,
// so appending to one never writes into another.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hashing: %w", err)
	}
	out := make([][]float32, len(texts))
	slab := make([]float32, len(texts)*e.dims)
	s := e.getScratch()
	defer e.putScratch(s)
	for i, t := range texts {
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("hashing: %w", err)
			}
		}
		v := slab[i*e.dims : (i+1)*e.dims : (i+1)*e.dims]
		e.vector(s, v, t)
		out[i] = v
	}
	return out, nil
}

// Vector returns the vector of one text; it allocates only the result.
func (e *Embedder) Vector(text string) []float32 {
	v := make([]float32, e.dims)
	s := e.getScratch()
	e.vector(s, v, text)
	e.putScratch(s)
	return v
}

// getScratch returns a free scratch, or a new one.
func (e *Embedder) getScratch() *scratch {
	select {
	case s := <-freeScratch:
		return s
	default:
		return new(scratch)
	}
}

// putScratch keeps s for a later call, unless enough are kept already.
func (e *Embedder) putScratch(s *scratch) {
	select {
	case freeScratch <- s:
	default:
	}
}

// scratch holds the reusable buffers of one embedding call.
type scratch struct {
	buf   []byte     // lowercased words, back to back
	words []wordSpan // words in order
	uniq  table      // distinct words with counts
	feats table      // bigrams and character n-grams with counts
	ext   []byte     // "<word>"
	offs  []int      // rune starts in ext, plus len(ext)
	acc   []float64
}

type wordSpan struct {
	start, end int32
	hash       uint64
}

// vector writes text's vector into v (len(v) == e.dims, zeroed).
func (e *Embedder) vector(s *scratch, v []float32, text string) {
	s.tokenize(text)
	s.uniq.reset(len(s.words))
	for _, w := range s.words {
		s.uniq.add(w.hash, 1, w.start, w.end)
	}
	s.feats.reset(e.featureHint(len(s.words)))
	if e.bigrams {
		for i := 1; i < len(s.words); i++ {
			h := mix(s.words[i-1].hash*0x9E3779B97F4A7C15 ^ s.words[i].hash ^ 0xB16B00B5)
			s.feats.add(h, 1, -1, 0)
		}
	}
	if e.chars {
		for i := range s.uniq.slots {
			sl := &s.uniq.slots[i]
			if sl.count == 0 || sl.end-sl.start <= shortWord {
				continue
			}
			s.charGrams(sl.start, sl.end, sl.count)
		}
	}
	if cap(s.acc) < len(v) {
		s.acc = make([]float64, len(v))
	}
	acc := s.acc[:len(v)]
	clear(acc)
	dims := uint64(len(v))
	put := func(h uint64, w float64) {
		i := (h >> 32) * dims >> 32
		if h&1 != 0 {
			w = -w
		}
		acc[i] += w
	}
	for i := range s.uniq.slots {
		sl := &s.uniq.slots[i]
		if sl.count != 0 {
			put(sl.key, wordWeight*shortWeight(sl.end-sl.start)*tfWeight(sl.count))
		}
	}
	for i := range s.feats.slots {
		sl := &s.feats.slots[i]
		if sl.count == 0 {
			continue
		}
		w := charWeight
		if sl.start < 0 {
			w = bigramWeight
		}
		put(sl.key, w*tfWeight(sl.count))
	}
	var norm2 float64
	for _, x := range acc {
		norm2 += x * x
	}
	if norm2 == 0 {
		clear(v)
		return
	}
	inv := 1 / math.Sqrt(norm2)
	for i, x := range acc {
		v[i] = float32(x * inv)
	}
}

func (e *Embedder) featureHint(words int) int {
	n := 0
	if e.bigrams {
		n += words
	}
	if e.chars {
		n += 8 * words
	}
	return n
}

// shortWeight is the weight factor of a word of n bytes.
func shortWeight(n int32) float64 {
	switch {
	case n <= 2:
		return 0.3
	case n <= shortWord:
		return 0.6
	}
	return 1
}

// tfWeight is the sublinear term weight 1 + ln(tf).
func tfWeight(tf uint32) float64 {
	if tf < uint32(len(tfTable)) {
		return tfTable[tf]
	}
	return 1 + math.Log(float64(tf))
}

// tfTable caches 1 + ln(tf) for small tf.
var tfTable = func() (t [64]float64) {
	for i := 1; i < len(t); i++ {
		t[i] = 1 + math.Log(float64(i))
	}
	return t
}()

// tokenize fills s.buf and s.words with the lowercased words of text.
func (s *scratch) tokenize(text string) {
	s.buf = s.buf[:0]
	s.words = s.words[:0]
	if !isASCII(text) && !norm.NFC.IsNormalString(text) {
		text = norm.NFC.String(text)
	}
	start := -1
	end := func() {
		if start >= 0 {
			s.words = append(s.words, wordSpan{int32(start), int32(len(s.buf)), hashBytes(s.buf[start:], 0)})
			start = -1
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				end()
				continue
			}
			if start < 0 {
				start = len(s.buf)
			}
			s.buf = append(s.buf, c)
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		switch {
		case r == utf8.RuneError:
			end()
		case isolated(r):
			end()
			start = len(s.buf)
			s.buf = utf8.AppendRune(s.buf, r)
			end()
		case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
			if start < 0 {
				start = len(s.buf)
			}
			s.buf = utf8.AppendRune(s.buf, unicode.ToLower(r))
		default:
			end()
		}
	}
	end()
}

// isolated reports whether r belongs to a script written without spaces
// between words; each such character is a word of its own.
func isolated(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// charGrams counts the character n-grams of "<word>" (word = s.buf[start:end]).
func (s *scratch) charGrams(start, end int32, count uint32) {
	w := s.buf[start:end]
	s.ext = append(append(append(s.ext[:0], '<'), w...), '>')
	s.offs = s.offs[:0]
	for i := 0; i < len(s.ext); {
		s.offs = append(s.offs, i)
		if s.ext[i] < utf8.RuneSelf {
			i++
		} else {
			_, size := utf8.DecodeRune(s.ext[i:])
			i += size
		}
		if len(s.offs) > maxCharWord+2 {
			break
		}
	}
	runes := len(s.offs)
	s.offs = append(s.offs, len(s.ext))
	for n := minN; n <= maxN; n++ {
		for i := 0; i+n <= runes; i++ {
			h := hashBytes(s.ext[s.offs[i]:s.offs[i+n]], 0xC4A7)
			s.feats.add(h, count, 0, 0)
		}
	}
}

// hashBytes is FNV-1a 64 with a seed, followed by a finalizer so that every
// bit of the result depends on every input byte.
func hashBytes(b []byte, seed uint64) uint64 {
	h := uint64(14695981039346656037) ^ seed
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return mix(h)
}

// mix is the splitmix64 finalizer.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 27
	h *= 0x94D049BB133111EB
	h ^= h >> 31
	return h
}

// table is an open-addressing hash table from feature hash to count.
// start < 0 marks a bigram in the feature table; in the word table start
// and end locate the word in scratch.buf.
type table struct {
	slots []slot
	used  int
}

type slot struct {
	key        uint64
	count      uint32
	start, end int32
}

func (t *table) reset(hint int) {
	n := 16
	for n < 2*hint {
		n <<= 1
	}
	if c := cap(t.slots); c >= n {
		// Reuse the buffer; keep a larger size learned from earlier texts
		// unless it is far too large for this one.
		if c <= 4*n {
			n = c
		}
		t.slots = t.slots[:n]
		clear(t.slots)
	} else {
		t.slots = make([]slot, n)
	}
	t.used = 0
}

// add counts key, remembering start and end with its first occurrence.
func (t *table) add(key uint64, count uint32, start, end int32) {
	if 2*(t.used+1) > len(t.slots) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.count == 0 {
			*sl = slot{key: key, count: count, start: start, end: end}
			t.used++
			return
		}
		if sl.key == key {
			sl.count += count
			return
		}
	}
}

func (t *table) grow() {
	old := t.slots
	t.slots = make([]slot, 2*len(old))
	t.used = 0
	mask := uint64(len(t.slots) - 1)
	for _, sl := range old {
		if sl.count == 0 {
			continue
		}
		for i := sl.key & mask; ; i = (i + 1) & mask {
			if t.slots[i].count == 0 {
				t.slots[i] = sl
				t.used++
				break
			}
		}
	}
}
