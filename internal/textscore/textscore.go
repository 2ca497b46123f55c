// Package textscore measures how much of a source text an extraction
// recovers, for the extraction-quality tests and figures of the loaders
// (docs/FORMATS.md).
package textscore

import (
	"regexp"
	"strings"
)

var word = regexp.MustCompile(`[\p{L}\p{N}]+`)

// Words returns the lower-case words (letters and digits) of s, with
// typographic ligatures and apostrophes folded.
func Words(s string) []string {
	s = strings.NewReplacer("’", "'", "ﬁ", "fi", "ﬂ", "fl", "ﬀ", "ff", "ﬃ", "ffi", "ﬄ", "ffl").Replace(s)
	return word.FindAllString(strings.ToLower(s), -1)
}

// Score compares the words of an extraction (got) with those of its source
// (want): F1 is the harmonic mean of word precision and recall counted as
// multisets (order ignored); Pairs is the share of the source's adjacent
// word pairs found in the extraction (order, spacing and joined words
// matter).
func Score(want, got []string) (f1, pairs float64) {
	cnt := map[string]int{}
	for _, w := range want {
		cnt[w]++
	}
	match := 0
	for _, w := range got {
		if cnt[w] > 0 {
			cnt[w]--
			match++
		}
	}
	if len(want) == 0 || len(got) == 0 {
		return 0, 0
	}
	p := float64(match) / float64(len(got))
	r := float64(match) / float64(len(want))
	if p+r > 0 {
		f1 = 2 * p * r / (p + r)
	}
	gp := map[string]int{}
	for i := 1; i < len(got); i++ {
		gp[got[i-1]+" "+got[i]]++
	}
	hit := 0
	for i := 1; i < len(want); i++ {
		if k := want[i-1] + " " + want[i]; gp[k] > 0 {
			gp[k]--
			hit++
		}
	}
	if len(want) > 1 {
		pairs = float64(hit) / float64(len(want)-1)
	}
	return f1, pairs
}

var (
	mdLink    = regexp.MustCompile(`\]\([^)]*\)`)
	mdHTML    = regexp.MustCompile(`<[^>]+>`)
	frontLine = regexp.MustCompile(`(?s)\A---\n.*?\n---\n`)
)

// MarkdownSource returns the text a reader sees of a markdown source: no
// front matter, link targets or HTML tags.
func MarkdownSource(md string) string {
	md = frontLine.ReplaceAllString(md, "")
	md = mdLink.ReplaceAllString(md, "]")
	return mdHTML.ReplaceAllString(md, " ")
}

// Extracted returns the text of a loader's markdown without its location
// headings' words ("Page 3", "Slide 2", "Rows 2–21", "Row 4", "Record …")
// and heading marks.
func Extracted(md string) string {
	var b strings.Builder
	for _, l := range strings.Split(md, "\n") {
		t := strings.TrimLeft(l, "#")
		if t != l {
			t = strings.TrimSpace(t)
			if strings.HasPrefix(t, "Page ") || strings.HasPrefix(t, "Rows ") || strings.HasPrefix(t, "Row ") || strings.HasPrefix(t, "Record ") {
				continue
			}
			if strings.HasPrefix(t, "Slide ") {
				if _, rest, ok := strings.Cut(t, ":"); ok {
					t = rest
				} else {
					continue
				}
			}
		}
		b.WriteString(t)
		b.WriteByte('\n')
	}
	return b.String()
}
