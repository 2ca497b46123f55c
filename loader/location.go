package loader

import (
	"strings"
)

// Location headings: the loaders put where a piece of text comes from into
// markdown headings that start with one of these words, so that chunk
// heading paths carry them ("Page 12", "Slide 3: Pricing", "Rows 2–21"
// under a sheet's heading, "Row 7", "Record sku A-42").
var locationWords = []string{"Page ", "Slide ", "Rows ", "Row ", "Record "}

// Location returns where a chunk with this heading path lies in its
// document, from the location headings the loaders write: "page 12",
// "slide 3", "sheet Prices, rows 2–21", "row 7", "record sku A-42"; several
// joined with ", ". It returns "" for a path without location headings
// (markdown, HTML, DOCX sections are named by their headings alone).
func Location(headingPath []string) string {
	var parts []string
	for i, h := range headingPath {
		w := ""
		for _, lw := range locationWords {
			if strings.HasPrefix(h, lw) {
				w = lw
				break
			}
		}
		switch w {
		case "":
			continue
		case "Slide ":
			if n, _, ok := strings.Cut(h, ":"); ok {
				h = n
			}
		case "Rows ":
			if i > 0 {
				parts = append(parts, "sheet "+headingPath[i-1])
			}
		}
		loc := strings.ToLower(w) + strings.TrimPrefix(h, w)
		if len(parts) == 0 || parts[len(parts)-1] != loc {
			parts = append(parts, loc)
		}
	}
	return strings.Join(parts, ", ")
}

// CoveredBySkip reports whether a stored document's key belongs to an item
// a load reported as skipped: the key itself, or a row of a skipped
// records file (keys "<file>#<row key>"). A caller that deletes the
// documents a source no longer yields keeps those covered.
func CoveredBySkip(skipped map[string]bool, key string) bool {
	if skipped[key] {
		return true
	}
	for i := strings.IndexByte(key, '#'); i >= 0; {
		if skipped[key[:i]] {
			return true
		}
		j := strings.IndexByte(key[i+1:], '#')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}
