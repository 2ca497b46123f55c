package chunk

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrInvalidUTF8 reports text that is not valid UTF-8. Normalize,
// NormalizeDocument and the chunkers' Chunk return errors that wrap it (test
// with errors.Is); the error text gives the byte offset of the first bad
// byte, and for NormalizeDocument the document's name.
var ErrInvalidUTF8 = errors.New("chunk: invalid UTF-8")

// invalidUTF8 returns an error wrapping ErrInvalidUTF8 naming the offset of
// the first invalid byte of text, or nil when text is valid.
func invalidUTF8(text string) error {
	if utf8.ValidString(text) {
		return nil
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Errorf("%w at byte %d", ErrInvalidUTF8, i)
		}
		i += size
	}
	return ErrInvalidUTF8
}

// Normalize returns text in the form the chunkers and the index expect. It
// rejects invalid UTF-8 with an error wrapping ErrInvalidUTF8 (use
// NormalizeDocument to have the error name the document, or Repair first to
// replace bad bytes instead). The steps, in order:
//
//  1. CRLF and lone CR become LF.
//  2. Control characters (Unicode category Cc) other than LF and tab are
//     removed, as is the byte order mark U+FEFF.
//  3. Unicode NFC.
//  4. Inside a line, every run of spaces and tabs becomes one space. The
//     indentation at the start of a line is kept as it is (spaces and tabs
//     alike), because it carries meaning in markdown lists, code blocks and
//     YAML; a line that holds only spaces and tabs becomes empty.
//  5. Spaces and tabs at the end of every line are removed.
//  6. Three or more consecutive newlines become two (one blank line).
//  7. Leading and trailing whitespace of the whole text is removed.
//
// Normalize is idempotent: Normalize(Normalize(x)) == Normalize(x). Other
// Unicode spaces (such as U+00A0) are kept as they are.
func Normalize(text string) (string, error) {
	if err := invalidUTF8(text); err != nil {
		return "", err
	}
	return normalizeValid(text), nil
}

// NormalizeDocument is Normalize for a named document: an error wraps
// ErrInvalidUTF8 and its text names the document, for example
// `chunk: document "docs/a.md": chunk: invalid UTF-8 at byte 17`.
func NormalizeDocument(name, text string) (string, error) {
	out, err := Normalize(text)
	if err != nil {
		return "", fmt.Errorf("chunk: document %q: %w", name, err)
	}
	return out, nil
}

// Repair returns text with every invalid UTF-8 byte sequence replaced by
// U+FFFD (one replacement character per maximal invalid run), so that
// Normalize then succeeds. Valid text is returned unchanged.
func Repair(text string) string {
	if utf8.ValidString(text) {
		return text
	}
	return strings.ToValidUTF8(text, "\uFFFD")
}

// NormalizeRepair is Normalize(Repair(text)): it never fails.
func NormalizeRepair(text string) string {
	return normalizeValid(Repair(text))
}

func normalizeValid(text string) string {
	// Steps 1 and 2.
	if needsClean(text) {
		var b strings.Builder
		b.Grow(len(text))
		for i := 0; i < len(text); {
			c := text[i]
			if c < utf8.RuneSelf {
				switch {
				case c == '\r':
					b.WriteByte('\n')
					if i+1 < len(text) && text[i+1] == '\n' {
						i++
					}
				case c == '\n' || c == '\t' || (c >= ' ' && c != 0x7f):
					b.WriteByte(c)
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(text[i:])
			if r != '\uFEFF' && !unicode.IsControl(r) {
				b.WriteString(text[i : i+size])
			}
			i += size
		}
		text = b.String()
	}
	// Step 3.
	if !norm.NFC.IsNormalString(text) {
		text = norm.NFC.String(text)
	}
	// Steps 4 to 7, line by line.
	var b strings.Builder
	b.Grow(len(text))
	newlines := 0 // newlines pending since the last non-empty line
	started := false
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		line = strings.TrimRight(line, " \t")
		if line == "" {
			newlines++
			continue
		}
		if started {
			if newlines >= 1 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		newlines = 0
		// Keep the indentation; collapse runs inside the line.
		j := 0
		if started {
			for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
				j++
			}
			b.WriteString(line[:j])
		} else {
			for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
				j++
			}
		}
		started = true
		space := false
		for ; j < len(line); j++ {
			c := line[j]
			if c == ' ' || c == '\t' {
				space = true
				continue
			}
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteByte(c)
		}
	}
	// Step 7 for the other Unicode spaces (U+00A0, U+2028...).
	return strings.TrimSpace(b.String())
}

// needsClean reports whether text holds a CR, a control character other
// than LF and tab, or a BOM.
func needsClean(text string) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c < ' ' && c != '\n' && c != '\t' || c == 0x7f {
			return true
		}
		if c == 0xC2 && i+1 < len(text) && text[i+1] >= 0x80 && text[i+1] <= 0x9F {
			return true // C1 control U+0080..U+009F
		}
		if c == 0xEF && strings.HasPrefix(text[i:], "\uFEFF") {
			return true
		}
	}
	return false
}
