package chunk

import (
	"unicode"
	"unicode/utf8"
)

// This file holds hand-written equivalents of tiktoken's pre-tokenizer
// regular expressions. cl100k_base's is
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// with the semantics tiktoken-go gives it through regexp2 (leftmost
// alternative first, backtracking; \s is unicode.IsSpace, \p{L} and \p{N}
// are Go's unicode tables, (?i) compares unicode.ToLower). It avoids
// regexp2's cost (tiktoken-go spends most of its time there); the tests
// compare them with regexp2 on the same patterns, match by match, and the
// resulting token ids with tiktoken-go's EncodeOrdinary.

// Character classes for the ASCII fast path.
const (
	clsOther = iota
	clsLetter
	clsNumber
	clsSpace   // space, tab, \v, \f
	clsNewline // \r, \n
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := 0; c < utf8.RuneSelf; c++ {
		switch {
		case c == '\r' || c == '\n':
			t[c] = clsNewline
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			t[c] = clsSpace
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[c] = clsLetter
		case c >= '0' && c <= '9':
			t[c] = clsNumber
		default:
			t[c] = clsOther
		}
	}
	return t
}()

// classAt returns the class of the rune at byte i of s and its size.
func classAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsLetter(r):
		return clsLetter, size
	case unicode.IsNumber(r):
		return clsNumber, size
	case unicode.IsSpace(r):
		return clsSpace, size
	}
	return clsOther, size
}

// lowerAt returns unicode.ToLower of the rune at byte i of s and its size.
func lowerAt(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		return rune(c), 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	return unicode.ToLower(r), size
}

// runOf returns the end of the run of class cls starting at byte i.
func runOf(s string, i int, cls uint8) int {
	for i < len(s) {
		c, size := classAt(s, i)
		if c != cls {
			break
		}
		i += size
	}
	return i
}

// contraction returns the end of a match of (?i:'s|'t|'re|'ve|'m|'ll|'d)
// at byte i of s, or -1.
func contraction(s string, i int) int {
	if i+1 >= len(s) || s[i] != '\'' {
		return -1
	}
	r1, n1 := lowerAt(s, i+1)
	switch r1 {
	case 's', 't', 'm', 'd':
		return i + 1 + n1
	case 'r', 'v', 'l':
		j := i + 1 + n1
		if j >= len(s) {
			return -1
		}
		r2, n2 := lowerAt(s, j)
		if (r1 == 'l' && r2 == 'l') || (r1 != 'l' && r2 == 'e') {
			return j + n2
		}
	}
	return -1
}

// cl100kNext returns the end of the cl100k_base pre-token starting at byte
// i < len(s).
func cl100kNext(s string, i int) int {
	if s[i] == '\'' {
		if e := contraction(s, i); e >= 0 {
			return e
		}
	}
	c0, n0 := classAt(s, i)
	switch c0 {
	case clsLetter:
		return runOf(s, i+n0, clsLetter)
	case clsNumber:
		j := i + n0
		for k := 1; k < 3 && j < len(s); k++ {
			c, size := classAt(s, j)
			if c != clsNumber {
				break
			}
			j += size
		}
		return j
	}
	j := i + n0
	var c1 uint8 = 255
	n1 := 0
	if j < len(s) {
		c1, n1 = classAt(s, j)
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c0 != clsNewline && c1 == clsLetter {
		return runOf(s, j+n1, clsLetter)
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n]*
	if c0 == clsOther || (s[i] == ' ' && c1 == clsOther) {
		if c0 != clsOther {
			j += n1
		}
		j = runOf(s, j, clsOther)
		for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
			j++
		}
		return j
	}
	// c0 is a space or a newline: the whitespace run [i, end).
	end, lastNL, lastStart := i, -1, i
	for end < len(s) {
		c, size := classAt(s, end)
		if c != clsSpace && c != clsNewline {
			break
		}
		if c == clsNewline {
			lastNL = end
		}
		lastStart = end
		end += size
	}
	// \s*[\r\n]+
	if lastNL >= 0 {
		return lastNL + 1
	}
	// \s+(?!\S)
	if end == len(s) || lastStart == i {
		return end // at the end of text, or \s+ of a single space
	}
	return lastStart
}

// The o200k_base pattern, alternative by alternative:
//
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	\p{N}{1,3}
//	 ?[^\s\p{L}\p{N}]+[\r\n/]*
//	\s*[\r\n]+
//	\s+(?!\S)
//	\s+

// Bits of a rune's classes for o200k_base.
const (
	bU  = 1 << iota // Lu Lt Lm Lo M
	bW              // Ll Lm Lo M
	bL              // L
	bN              // N
	bS              // \s
	bNL             // \r \n
)

var asciiBits = func() (t [utf8.RuneSelf]uint8) {
	for c := 0; c < utf8.RuneSelf; c++ {
		switch {
		case c == '\r' || c == '\n':
			t[c] = bS | bNL
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			t[c] = bS
		case c >= 'A' && c <= 'Z':
			t[c] = bU | bL
		case c >= 'a' && c <= 'z':
			t[c] = bW | bL
		case c >= '0' && c <= '9':
			t[c] = bN
		}
	}
	return t
}()

// bitsAt returns the o200k class bits of the rune at byte i of s and its
// size.
func bitsAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiBits[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	var b uint8
	switch {
	case unicode.Is(unicode.Lu, r) || unicode.Is(unicode.Lt, r):
		b = bU | bL
	case unicode.Is(unicode.Ll, r):
		b = bW | bL
	case unicode.Is(unicode.Lm, r) || unicode.Is(unicode.Lo, r):
		b = bU | bW | bL
	case unicode.Is(unicode.M, r):
		b = bU | bW
	case unicode.IsNumber(r):
		b = bN
	case unicode.IsSpace(r):
		b = bS
	}
	return b, size
}

// runBits returns the end of the run of runes having bit starting at i.
func runBits(s string, i int, bit uint8) int {
	for i < len(s) {
		b, size := bitsAt(s, i)
		if b&bit == 0 {
			break
		}
		i += size
	}
	return i
}

// withContraction extends a letter match ending at e by an optional
// contraction.
func withContraction(s string, e int) int {
	if e < len(s) && s[e] == '\'' {
		if c := contraction(s, e); c >= 0 {
			return c
		}
	}
	return e
}

// o200kA1 matches U* W+ C? at start, or returns -1.
func o200kA1(s string, start int) int {
	u := runBits(s, start, bU)
	if u < len(s) {
		if b, _ := bitsAt(s, u); b&bW != 0 {
			return withContraction(s, runBits(s, u, bW))
		}
	}
	// Backtrack U*: the last rune of [start, u) that is also in W.
	for k := u; k > start; {
		_, size := utf8.DecodeLastRuneInString(s[start:k])
		k -= size
		if b, _ := bitsAt(s, k); b&bW != 0 {
			return withContraction(s, k+size)
		}
	}
	return -1
}

// o200kA2 matches U+ W* C? at start, or returns -1.
func o200kA2(s string, start int) int {
	u := runBits(s, start, bU)
	if u == start {
		return -1
	}
	return withContraction(s, runBits(s, u, bW))
}

// o200kNext returns the end of the o200k_base pre-token starting at byte
// i < len(s).
func o200kNext(s string, i int) int {
	b0, n0 := bitsAt(s, i)
	prefix := b0&(bNL|bL|bN) == 0 // [^\r\n\p{L}\p{N}]
	for _, alt := range [2]func(string, int) int{o200kA1, o200kA2} {
		if prefix && i+n0 < len(s) {
			if e := alt(s, i+n0); e >= 0 {
				return e
			}
		}
		if e := alt(s, i); e >= 0 {
			return e
		}
	}
	if b0&bN != 0 {
		j := i + n0
		for k := 1; k < 3 && j < len(s); k++ {
			b, size := bitsAt(s, j)
			if b&bN == 0 {
				break
			}
			j += size
		}
		return j
	}
	const other = bS | bL | bN // [^\s\p{L}\p{N}] has none of these bits
	j := i + n0
	var b1 uint8 = bS
	n1 := 0
	if j < len(s) {
		b1, n1 = bitsAt(s, j)
	}
	if b0&other == 0 || (s[i] == ' ' && b1&other == 0) {
		if b0&other != 0 {
			j += n1
		}
		for j < len(s) {
			b, size := bitsAt(s, j)
			if b&other != 0 {
				break
			}
			j += size
		}
		for j < len(s) && (s[j] == '\r' || s[j] == '\n' || s[j] == '/') {
			j++
		}
		return j
	}
	// A whitespace run [i, end).
	end, lastNL, lastStart := i, -1, i
	for end < len(s) {
		b, size := bitsAt(s, end)
		if b&bS == 0 {
			break
		}
		if b&bNL != 0 {
			lastNL = end
		}
		lastStart = end
		end += size
	}
	if lastNL >= 0 {
		return lastNL + 1
	}
	if end == len(s) || lastStart == i {
		return end
	}
	return lastStart
}
