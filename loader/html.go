package loader

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTMLToText parses an HTML document (UTF-8) with golang.org/x/net/html and
// returns its title and its readable text.
//
// The title is the <title> element's text, or else the first <h1>'s. When
// the page has one <main> element (or role="main"), only its content is
// rendered, leaving out site headers and sidebars. The text leaves out what a reader does not read as content (head, script,
// style, noscript, template, svg, canvas, iframe, object, nav, footer, form
// controls, and elements marked hidden or aria-hidden) and keeps the
// structure a markdown chunker can use:
//
//   - headings as markdown ATX headings ("# ", "## ", …) on their own lines;
//   - paragraphs and other blocks separated by a blank line;
//   - list items as "- " or "1. " lines, nested lists indented;
//   - pre blocks as fenced code blocks (```), their text kept verbatim;
//   - table rows as "| a | b |" lines, with a separator after a header row;
//   - other whitespace collapsed to single spaces.
//
// Link targets and images are dropped; their text (anchor text) is kept.
// HTMLToText fails only when reading r fails; the parser itself accepts any
// input, as browsers do. To decode another charset first, see
// golang.org/x/net/html/charset.NewReader (the url and file loaders do).
func HTMLToText(r io.Reader) (title, text string, err error) {
	doc, err := html.Parse(r)
	if err != nil {
		return "", "", fmt.Errorf("loader: parse html: %w", err)
	}
	title, text = renderHTML(doc)
	return title, text, nil
}

// renderHTML returns the title and readable text of a parsed document.
func renderHTML(doc *html.Node) (title, text string) {
	title = findTitle(doc)
	var rd *renderer
	if m := mainElement(doc); m != nil {
		rd = &renderer{}
		rd.node(m)
		if strings.TrimSpace(rd.b.String()) == "" {
			rd = nil // an empty <main> (filled by scripts): use the whole page
		}
	}
	if rd == nil {
		rd = &renderer{}
		rd.node(doc)
	}
	if title == "" {
		title = rd.firstH1
	}
	if title == "" {
		title = firstH1(doc)
	}
	return title, strings.TrimSpace(rd.b.String())
}

// firstH1 returns the text of the first non-empty <h1> outside skipped
// elements.
func firstH1(n *html.Node) string {
	if n.Type == html.ElementNode {
		if skipped(n) {
			return ""
		}
		if n.DataAtom == atom.H1 {
			return inlineText(n)
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if t := firstH1(c); t != "" {
			return t
		}
	}
	return ""
}

// mainElement returns the page's one <main> (or role="main") element, or nil
// when there is none or more than one.
func mainElement(doc *html.Node) *html.Node {
	var found *html.Node
	n := 0
	var walk func(*html.Node)
	walk = func(c *html.Node) {
		if c.Type == html.ElementNode {
			if skipped(c) {
				return
			}
			if c.DataAtom == atom.Main || strings.EqualFold(attr(c, "role"), "main") {
				found = c
				n++
				return // a main inside a main counts once
			}
		}
		for d := c.FirstChild; d != nil; d = d.NextSibling {
			walk(d)
		}
	}
	walk(doc)
	if n != 1 {
		return nil
	}
	return found
}

// skipped reports whether an element and its subtree carry no readable
// content.
func skipped(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Head, atom.Script, atom.Style, atom.Noscript, atom.Template,
		atom.Svg, atom.Math, atom.Canvas, atom.Iframe, atom.Object, atom.Embed,
		atom.Nav, atom.Footer, atom.Button, atom.Select, atom.Textarea,
		atom.Input, atom.Audio, atom.Video, atom.Map, atom.Dialog:
		return true
	}
	for _, a := range n.Attr {
		switch {
		case a.Namespace != "":
		case a.Key == "hidden":
			return true
		case a.Key == "aria-hidden" && strings.EqualFold(strings.TrimSpace(a.Val), "true"):
			return true
		}
	}
	return false
}

func findTitle(n *html.Node) string {
	if n.Type == html.ElementNode && n.DataAtom == atom.Title {
		return collapse(rawText(n))
	}
	if n.Type == html.ElementNode && (n.DataAtom == atom.Svg || n.DataAtom == atom.Math) {
		return "" // their <title> elements are not the document's
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if t := findTitle(c); t != "" {
			return t
		}
	}
	return ""
}

// rawText concatenates the text nodes under n verbatim.
func rawText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			return
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.Br {
			b.WriteByte('\n')
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// inlineText is the readable text under n on one line: skipped elements
// are left out and whitespace is collapsed.
func inlineText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			return
		case html.ElementNode:
			if skipped(n) {
				return
			}
			if n.DataAtom == atom.Br || isBlock(n.DataAtom) {
				b.WriteByte(' ')
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type == html.ElementNode && isBlock(n.DataAtom) {
			b.WriteByte(' ')
		}
	}
	walk(n)
	return collapse(b.String())
}

// collapse trims s and turns each run of whitespace into one space.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func isBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Section, atom.Article, atom.Main, atom.Header,
		atom.Aside, atom.Blockquote, atom.Address, atom.Figure, atom.Figcaption,
		atom.Details, atom.Summary, atom.Dl, atom.Dt, atom.Dd, atom.Hr,
		atom.Center, atom.Fieldset, atom.Legend, atom.Caption, atom.Body, atom.Html,
		atom.Ul, atom.Ol, atom.Li, atom.Table, atom.Tr, atom.Td, atom.Th,
		atom.Thead, atom.Tbody, atom.Tfoot, atom.Pre,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return true
	}
	return false
}

func headingLevel(a atom.Atom) int {
	switch a {
	case atom.H1:
		return 1
	case atom.H2:
		return 2
	case atom.H3:
		return 3
	case atom.H4:
		return 4
	case atom.H5:
		return 5
	case atom.H6:
		return 6
	}
	return 0
}

type listState struct {
	ordered bool
	n       int
}

// renderer writes the readable text of a tree. Breaks are requested and
// written lazily, just before the next text, so that empty elements leave
// no blank lines behind and the output has no trailing spaces.
type renderer struct {
	b       strings.Builder
	nl      int  // newlines owed before the next text
	space   bool // a space is owed before the next word
	bol     bool // at the beginning of a line (after indentation)
	lists   []listState
	indent  string // continuation indentation inside list items
	marker  bool   // a list marker was the last thing written
	firstH1 string
}

// brk asks for n newlines (1: new line, 2: blank line) before the next text.
func (r *renderer) brk(n int) {
	if r.marker { // the item's first block starts on the marker's line
		r.space = false
		return
	}
	if len(r.lists) > 0 && n > 1 {
		n = 1
	}
	if n > r.nl {
		r.nl = n
	}
	r.space = false
}

// flush writes owed breaks and an owed space.
func (r *renderer) flush() {
	if r.b.Len() == 0 {
		r.nl, r.space = 0, false
		r.bol = true
		return
	}
	if r.nl > 0 {
		r.b.WriteString(strings.Repeat("\n", r.nl))
		r.b.WriteString(r.indent)
		r.nl, r.space = 0, false
		r.bol = true
		return
	}
	if r.space && !r.bol {
		r.b.WriteByte(' ')
	}
	r.space = false
}

// raw writes s after owed breaks, without collapsing it.
func (r *renderer) raw(s string) {
	r.flush()
	r.b.WriteString(s)
	r.bol, r.marker = false, false
}

// words writes inline text with whitespace collapsed.
func (r *renderer) words(s string) {
	if s == "" {
		return
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		if r.nl == 0 {
			r.space = true
		}
		return
	}
	if isSpace(s[0]) && r.nl == 0 {
		r.space = true
	}
	for i, f := range fields {
		if i > 0 {
			r.space = true
		}
		r.flush()
		r.b.WriteString(f)
		r.bol, r.marker = false, false
	}
	if isSpace(s[len(s)-1]) {
		r.space = true
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func (r *renderer) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		r.node(c)
	}
}

func (r *renderer) node(n *html.Node) {
	switch n.Type {
	case html.DocumentNode:
		r.children(n)
		return
	case html.TextNode:
		r.words(n.Data)
		return
	case html.ElementNode:
	default:
		return // comments, doctype
	}
	if skipped(n) {
		return
	}
	a := n.DataAtom
	if lvl := headingLevel(a); lvl > 0 {
		t := inlineText(n)
		if lvl == 1 && r.firstH1 == "" {
			r.firstH1 = t
		}
		if t == "" {
			return
		}
		if len(r.lists) > 0 {
			r.brk(1)
			r.raw(t)
			r.brk(1)
			return
		}
		r.brk(2)
		r.raw(strings.Repeat("#", lvl) + " " + t)
		r.brk(2)
		return
	}
	switch a {
	case atom.Br:
		r.brk(1)
		return
	case atom.Hr:
		r.brk(2)
		return
	case atom.Img:
		return
	case atom.Pre:
		r.pre(n)
		return
	case atom.Table:
		r.table(n)
		return
	case atom.Ul, atom.Ol:
		r.list(n, a == atom.Ol)
		return
	case atom.Li:
		r.item(n)
		return
	case atom.Td, atom.Th:
		r.space = true
		r.children(n)
		r.space = true
		return
	}
	if isBlock(a) {
		r.brk(2)
		r.children(n)
		r.brk(2)
		return
	}
	r.children(n) // inline element
}

func (r *renderer) pre(n *html.Node) {
	lang := ""
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.DataAtom == atom.Code {
			for _, at := range c.Attr {
				if at.Key != "class" {
					continue
				}
				for f := range strings.FieldsSeq(at.Val) {
					if l, ok := strings.CutPrefix(f, "language-"); ok {
						lang = l
					} else if l, ok := strings.CutPrefix(f, "lang-"); ok {
						lang = l
					}
				}
			}
		}
	}
	body := strings.ReplaceAll(rawText(n), "\r\n", "\n")
	body = strings.TrimRight(strings.TrimLeft(body, "\n"), " \t\n")
	if strings.TrimSpace(body) == "" {
		return
	}
	fence := "```"
	for strings.Contains(body, fence) {
		fence += "`"
	}
	r.brk(2)
	lines := strings.Split(body, "\n")
	r.raw(fence + lang)
	for _, l := range lines {
		r.brk(1)
		r.flush()
		r.b.WriteString(l)
		r.bol = false
	}
	r.brk(1)
	r.raw(fence)
	r.brk(2)
}

func (r *renderer) list(n *html.Node, ordered bool) {
	if len(r.lists) == 0 {
		r.brk(2)
	} else {
		r.brk(1)
	}
	saved := r.indent
	r.lists = append(r.lists, listState{ordered: ordered})
	r.children(n)
	r.lists = r.lists[:len(r.lists)-1]
	r.indent = saved
	if len(r.lists) == 0 {
		r.nl = 0
		r.brk(2)
	} else {
		r.brk(1)
	}
}

func (r *renderer) item(n *html.Node) {
	if len(r.lists) == 0 { // a stray <li>: a list of its own
		r.lists = append(r.lists, listState{})
		defer func() { r.lists = r.lists[:0]; r.indent = ""; r.nl = 0; r.brk(2) }()
	}
	ls := &r.lists[len(r.lists)-1]
	ls.n++
	marker := "- "
	if ls.ordered {
		marker = strconv.Itoa(ls.n) + ". "
	}
	saved := r.indent
	depth := saved // nested lists align under their parent item's text
	r.brk(1)
	r.indent = depth
	r.raw(marker)
	r.bol, r.marker = true, true
	r.indent = depth + strings.Repeat(" ", len(marker))
	r.children(n)
	r.indent = saved
	r.marker = false
	r.brk(1)
}

func (r *renderer) table(n *html.Node) {
	var rows [][]string
	var header []bool
	var caption string
	var walk func(*html.Node)
	walk = func(c *html.Node) {
		if c.Type != html.ElementNode || skipped(c) {
			return
		}
		switch c.DataAtom {
		case atom.Caption:
			caption = inlineText(c)
			return
		case atom.Tr:
			var cells []string
			allTH := true
			for d := c.FirstChild; d != nil; d = d.NextSibling {
				if d.Type != html.ElementNode || (d.DataAtom != atom.Td && d.DataAtom != atom.Th) {
					continue
				}
				if d.DataAtom != atom.Th {
					allTH = false
				}
				cells = append(cells, strings.ReplaceAll(inlineText(d), "|", `\|`))
			}
			if len(cells) > 0 {
				rows = append(rows, cells)
				header = append(header, allTH)
			}
			return
		case atom.Table:
			if c != n { // a nested table: its rows become rows of this one
				for d := c.FirstChild; d != nil; d = d.NextSibling {
					walk(d)
				}
				return
			}
		}
		for d := c.FirstChild; d != nil; d = d.NextSibling {
			walk(d)
		}
	}
	walk(n)
	r.brk(2)
	if caption != "" {
		r.raw(caption)
		r.brk(2)
	}
	for i, cells := range rows {
		nonEmpty := false
		for _, c := range cells {
			if c != "" {
				nonEmpty = true
			}
		}
		if !nonEmpty {
			continue
		}
		r.brk(1)
		r.raw("| " + strings.Join(cells, " | ") + " |")
		if i == 0 && header[0] {
			r.brk(1)
			r.raw("|" + strings.Repeat(" --- |", len(cells)))
		}
	}
	r.brk(2)
}
