// Package pdf registers PDF with package loader: importing it, even as
//
//	import _ "github.com/minirag/minirag/loader/pdf"
//
// makes file and url sources read .pdf files and application/pdf responses.
// It lives in its own package so that a host that does not import it does
// not link a PDF parser (github.com/ledongthuc/pdf, a pure-Go reader chosen
// over PDFium in WebAssembly by the measurements in docs/FORMATS.md).
//
// A PDF becomes markdown with one "###### Page N" heading per page, so
// every chunk's heading path ends with its page. Where the file has an
// outline (bookmarks), its entries become headings (level 1 to 5, by depth)
// at the line of the page where their title is printed, or at the top of
// the page when it is not found, and the page heading is repeated under
// them. Words hyphenated at the end of a line are joined. Lines repeated at
// the top or bottom of most pages (running headers, footers, page numbers,
// compared with digits masked) are dropped. A PDF whose pages hold no text
// (a scan without OCR) is skipped with a "no text layer" reason.
//
// Limits (loader.Limits): MaxPages pages; MaxDecompressedBytes for the page
// content streams and font maps, counted before they are interpreted; the
// page tree and outline are walked with a bound on nodes, so reference
// loops end; ParseTimeout as for every format.
package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	lpdf "github.com/ledongthuc/pdf"

	"github.com/minirag/minirag/loader"
)

// Format is the PDF format as registered with loader.RegisterFormat.
var Format = loader.Format{
	Name:        "pdf",
	ContentType: "application/pdf",
	Extensions:  []string{".pdf"},
	Sniff:       Sniff,
	Parse:       Parse,
}

func init() { loader.RegisterFormat(Format) }

// Sniff reports whether head holds the "%PDF-" header within its first
// 1024 bytes (where readers look for it).
func Sniff(head []byte) bool {
	return bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-"))
}

// ErrNoTextLayer reports a PDF whose pages hold no text, such as a scan
// that was not run through OCR. It wraps loader.ErrNoText.
var ErrNoTextLayer = fmt.Errorf("no text layer (a scanned PDF? run OCR on it first): %w", loader.ErrNoText)

// maxOutline bounds the outline entries read (and so reference loops).
const maxOutline = 10000

// Parse reads a PDF into markdown (see the package documentation).
func Parse(ctx context.Context, data []byte, lim loader.Limits) (p loader.Parsed, err error) {
	lim = lim.WithDefaults()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unreadable PDF: %v", r)
		}
	}()
	r, err := lpdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return loader.Parsed{}, fmt.Errorf("unreadable PDF: %w", err)
	}
	pages, err := pageList(r, lim.MaxPages)
	if err != nil {
		return loader.Parsed{}, err
	}
	budget := lim.MaxDecompressedBytes
	texts := make([][]line, len(pages))
	any := false
	for i, pg := range pages {
		if err := ctx.Err(); err != nil {
			return loader.Parsed{}, err
		}
		if budget, err = spend(pg, budget, lim.MaxDecompressedBytes); err != nil {
			return loader.Parsed{}, fmt.Errorf("page %d: %w", i+1, err)
		}
		texts[i] = pageLines(pg)
		if len(texts[i]) > 0 {
			any = true
		}
	}
	if !any {
		return loader.Parsed{}, ErrNoTextLayer
	}
	dropRepeated(texts)
	outline := outlineEntries(r)
	md := render(texts, outline)
	title := strings.TrimSpace(r.Trailer().Key("Info").Key("Title").Text())
	return loader.Parsed{Title: title, Text: md, Metadata: map[string]string{"pages": strconv.Itoa(len(pages))}}, nil
}

// pageList walks the page tree in order, visiting at most a bounded number
// of nodes (a loop in the tree ends there).
func pageList(r *lpdf.Reader, maxPages int) ([]lpdf.Page, error) {
	var pages []lpdf.Page
	visits := 0
	limit := 4*maxPages + 1000
	var walk func(v lpdf.Value, depth int) error
	walk = func(v lpdf.Value, depth int) error {
		if visits++; visits > limit || depth > 64 {
			return fmt.Errorf("page tree too deep or looping: %w", loader.ErrLimit)
		}
		switch v.Key("Type").Name() {
		case "Pages":
			kids := v.Key("Kids")
			for i := 0; i < kids.Len(); i++ {
				if err := walk(kids.Index(i), depth+1); err != nil {
					return err
				}
			}
		case "Page":
			if len(pages) >= maxPages {
				return fmt.Errorf("more than %d pages: %w", maxPages, loader.ErrLimit)
			}
			pages = append(pages, lpdf.Page{V: v})
		default:
			if v.Key("Kids").Kind() == lpdf.Array { // a Pages node without /Type
				kids := v.Key("Kids")
				for i := 0; i < kids.Len(); i++ {
					if err := walk(kids.Index(i), depth+1); err != nil {
						return err
					}
				}
			} else if v.Key("Contents").Kind() != lpdf.Null {
				pages = append(pages, lpdf.Page{V: v})
			}
		}
		return nil
	}
	root := r.Trailer().Key("Root").Key("Pages")
	if root.Kind() != lpdf.Dict {
		return nil, errors.New("unreadable PDF: no page tree")
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	return pages, nil
}

// spend counts the decompressed bytes of a page's content streams and font
// maps against budget, reading them once before they are interpreted.
func spend(pg lpdf.Page, budget, limit int64) (int64, error) {
	var streams []lpdf.Value
	c := pg.V.Key("Contents")
	if c.Kind() == lpdf.Array {
		for i := 0; i < c.Len() && i < 10000; i++ {
			streams = append(streams, c.Index(i))
		}
	} else if c.Kind() == lpdf.Stream {
		streams = append(streams, c)
	}
	fonts := pg.Resources().Key("Font")
	for i, name := range fonts.Keys() {
		if i > 1000 {
			break
		}
		if tu := fonts.Key(name).Key("ToUnicode"); tu.Kind() == lpdf.Stream {
			streams = append(streams, tu)
		}
	}
	for _, s := range streams {
		if s.Kind() != lpdf.Stream {
			continue
		}
		rc := s.Reader()
		n, err := io.Copy(io.Discard, io.LimitReader(rc, budget+1))
		rc.Close()
		if err != nil {
			return budget, fmt.Errorf("unreadable content stream: %w", err)
		}
		if n > budget {
			return budget, fmt.Errorf("content decompresses to more than %d bytes: %w", limit, loader.ErrLimit)
		}
		budget -= n
	}
	return budget, nil
}

// line is one line of a page's text and its baseline.
type line struct {
	text string
	y    float64
	size float64
	gap  bool // a paragraph break comes before it
}

// pageLines returns a page's text as lines in content order: glyphs on the
// same baseline join one line, with a space where the gap between two
// glyphs is wide; a page that cannot be read yields no lines.
func pageLines(pg lpdf.Page) (lines []line) {
	defer func() {
		if recover() != nil {
			lines = nil
		}
	}()
	glyphs := pg.Content().Text
	var b strings.Builder
	var cur line
	var lastX, lastEnd float64
	flush := func() {
		if t := strings.TrimSpace(b.String()); t != "" {
			cur.text = strings.Join(strings.Fields(t), " ")
			lines = append(lines, cur)
		}
		b.Reset()
	}
	afterBreak := false // a control character came between the last glyph and this one
	for i, g := range glyphs {
		if strings.Trim(g.S, "\r\n\t\x00") == "" {
			afterBreak = g.S != ""
			continue // control characters some encoders emit between runs
		}
		size := math.Abs(g.FontSize)
		if size == 0 {
			size = 10
		}
		// A gap this wide (in ems) is a word space; wider after a control
		// character, which some writers (groff) emit at kerning points.
		space := 0.2
		if afterBreak {
			space = 0.24
		}
		afterBreak = false
		if i == 0 || b.Len() == 0 && len(lines) == 0 {
			cur = line{y: g.Y, size: size}
		} else if math.Abs(g.Y-cur.y) > size*0.5 || g.X < lastX-size*4 {
			flush()
			cur = line{y: g.Y, size: size}
		} else if g.X-lastEnd > size*space && !strings.HasSuffix(b.String(), " ") && g.S != " " {
			b.WriteByte(' ')
		}
		b.WriteString(g.S)
		lastX, lastEnd = g.X, g.X+g.W
	}
	flush()
	// Paragraph breaks: a vertical gap clearly wider than the usual one.
	var steps []float64
	for i := 1; i < len(lines); i++ {
		if d := lines[i-1].y - lines[i].y; d > 0 {
			steps = append(steps, d)
		}
	}
	if len(steps) > 0 {
		sort.Float64s(steps)
		usual := steps[len(steps)/2]
		for i := 1; i < len(lines); i++ {
			d := lines[i-1].y - lines[i].y
			if d > usual*1.4 || d < 0 {
				lines[i].gap = true
			}
		}
	}
	return lines
}

var digits = regexp.MustCompile(`[0-9]+`)

// dropRepeated removes, from every page, the first and last two lines
// whose text (digits masked) is at the same end of at least 60% of the
// pages (and of at least 3 pages): running headers, footers and page
// numbers.
func dropRepeated(pages [][]line) {
	if len(pages) < 3 {
		return
	}
	const edge = 2
	count := map[string]int{}
	for _, ls := range pages {
		seen := map[string]bool{}
		for i, l := range ls {
			if i >= edge && i < len(ls)-edge {
				continue
			}
			k := edgeKey(i < edge, l.text)
			if !seen[k] {
				seen[k] = true
				count[k]++
			}
		}
	}
	need := max(3, (len(pages)*6+9)/10)
	for p, ls := range pages {
		out := ls[:0]
		for i, l := range ls {
			if (i < edge || i >= len(ls)-edge) && count[edgeKey(i < edge, l.text)] >= need {
				continue
			}
			out = append(out, l)
		}
		pages[p] = out
	}
}

func edgeKey(top bool, text string) string {
	k := digits.ReplaceAllString(strings.ToLower(text), "#")
	if top {
		return "t:" + k
	}
	return "b:" + k
}

// outlineEntry is one outline item: its title and depth (1 for top level).
type outlineEntry struct {
	title string
	depth int
}

// outlineEntries flattens the outline in document order, reading at most
// maxOutline entries and 5 levels.
func outlineEntries(r *lpdf.Reader) (out []outlineEntry) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	visits := 0
	var walk func(v lpdf.Value, depth int)
	walk = func(v lpdf.Value, depth int) {
		for c := v.Key("First"); c.Kind() == lpdf.Dict; c = c.Key("Next") {
			if visits++; visits > maxOutline {
				return
			}
			if t := strings.Join(strings.Fields(c.Key("Title").Text()), " "); t != "" {
				out = append(out, outlineEntry{title: t, depth: min(depth, 5)})
			}
			if depth < 16 {
				walk(c, depth+1)
			}
		}
	}
	walk(r.Trailer().Key("Root").Key("Outlines"), 1)
	return out
}

// render writes the pages as markdown: page headings, outline headings
// where their titles are printed, paragraphs with hyphenation joined.
func render(pages [][]line, outline []outlineEntry) string {
	at := placeOutline(pages, outline)
	var md loader.MarkdownBuilder
	for p, ls := range pages {
		pageHead := fmt.Sprintf("Page %d", p+1)
		md.Heading(6, pageHead)
		var para strings.Builder
		flush := func() {
			md.Paragraph(para.String())
			para.Reset()
		}
		for i, l := range ls {
			if hs, ok := at[[2]int{p, i}]; ok {
				flush()
				for _, h := range hs {
					md.Heading(h.depth, h.title)
				}
				md.Heading(6, pageHead)
				continue // the heading line itself
			} else if l.gap {
				flush()
			}
			appendLine(&para, l.text)
		}
		flush()
	}
	return md.String()
}

// outlineWindow bounds how many pages ahead an outline title is looked for.
const outlineWindow = 50

// placeOutline finds, in order, the line (page, index) printing each
// outline entry's title, searching forward from the previous entry's line;
// an entry whose title is not found within outlineWindow pages is left out.
func placeOutline(pages [][]line, outline []outlineEntry) map[[2]int][]outlineEntry {
	at := map[[2]int][]outlineEntry{}
	cp, cl := 0, 0
	for _, e := range outline {
	search:
		for p := cp; p < len(pages) && p < cp+outlineWindow; p++ {
			start := 0
			if p == cp {
				start = cl
			}
			for i := start; i < len(pages[p]); i++ {
				if matchTitle(pages[p][i].text, e.title) {
					at[[2]int{p, i}] = append(at[[2]int{p, i}], e)
					cp, cl = p, i+1
					break search
				}
			}
		}
	}
	return at
}

// appendLine adds a line to a paragraph, joining a word hyphenated at the
// end of the previous line ("configu-" + "ration").
func appendLine(b *strings.Builder, text string) {
	s := b.String()
	if s == "" {
		b.WriteString(text)
		return
	}
	if hyphenated(s, text) {
		cut := strings.TrimSuffix(s, "-")
		b.Reset()
		b.WriteString(cut)
		b.WriteString(text)
		return
	}
	b.WriteByte('\n')
	b.WriteString(text)
}

// hyphenated reports whether prev ends with a letter and a hyphen and next
// starts with a lower-case letter.
func hyphenated(prev, next string) bool {
	if !strings.HasSuffix(prev, "-") || len(prev) < 2 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(prev[:len(prev)-1])
	n, _ := utf8.DecodeRuneInString(next)
	return unicode.IsLetter(r) && unicode.IsLower(n)
}

// findTitle returns the index of the line printing title, or -1.
func findTitle(ls []line, title string) int {
	for i, l := range ls {
		if matchTitle(l.text, title) {
			return i
		}
	}
	return -1
}

// matchTitle reports whether a line prints an outline title: equal, or
// the title preceded by a section number ("2.1 Install"), ignoring case and
// spacing.
func matchTitle(text, title string) bool {
	a := strings.ToLower(strings.Join(strings.Fields(text), " "))
	b := strings.ToLower(strings.Join(strings.Fields(title), " "))
	if a == b {
		return true
	}
	if rest, ok := strings.CutSuffix(a, b); ok {
		rest = strings.TrimSpace(rest)
		return rest != "" && strings.Trim(rest, "0123456789.") == ""
	}
	if rest, ok := strings.CutSuffix(b, a); ok { // the outline has the number
		rest = strings.TrimSpace(rest)
		return rest != "" && strings.Trim(rest, "0123456789.") == ""
	}
	return false
}
