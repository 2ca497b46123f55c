package chunk

import (
	"strings"
)

// MarkdownChunker splits markdown into pieces of at most MaxTokens tokens
// along its structure:
//
//   - A section is an ATX heading ("# Title" to "###### Title") and the
//     blocks up to the next heading. A piece never spans two sections, except
//     that a heading with no text of its own (directly followed by another
//     heading) goes with the next section.
//   - A heading starts the first piece of its section: it is never left at
//     the end of a piece without the text that follows it.
//   - A fenced code block (``` or ~~~) and a table row (a line starting with
//     '|') are never split, unless one alone exceeds MaxTokens; then it is
//     split by lines, and further like plain text. An overlap never starts
//     inside them either.
//   - Other blocks (paragraphs, lists, front matter, HTML) are split like the
//     TokenChunker does: at line, then sentence, then word boundaries.
//
// HeadingPath lists the headings of the piece's section, outermost first
// ("Install" then "From source" for a "## From source" under "# Install");
// it is nil before the first heading. Setext headings (underlined with ===
// or ---) and tables without a leading '|' are treated as plain text.
//
// The offset, count, order and coverage guarantees are those of
// TokenChunker. A MarkdownChunker is safe for concurrent use.
type MarkdownChunker struct {
	opts Options
	enc  *encoder
}

var _ Chunker = (*MarkdownChunker)(nil)

// NewMarkdownChunker returns a MarkdownChunker. Bad options are an error
// wrapping record.ErrInvalidInput that names each bad field.
func NewMarkdownChunker(opts Options) (*MarkdownChunker, error) {
	enc, err := opts.validate()
	if err != nil {
		return nil, err
	}
	if opts.Encoding == "" {
		opts.Encoding = Cl100kBase
	}
	return &MarkdownChunker{opts: opts, enc: enc}, nil
}

// Options returns the chunker's options (with the encoding filled in).
func (c *MarkdownChunker) Options() Options { return c.opts }

// Tokenizer returns a Tokenizer of the chunker's encoding.
func (c *MarkdownChunker) Tokenizer() *Tokenizer { return &Tokenizer{enc: c.enc} }

// Chunk splits markdown text. Text must be valid UTF-8 (an error wrapping
// ErrInvalidUTF8 otherwise). Empty or all-space text yields no pieces.
func (c *MarkdownChunker) Chunk(text string) ([]Piece, error) {
	z, err := c.enc.tokenizeChecked(text)
	if z == nil {
		return nil, err
	}
	m := mdChunker{
		z:     z,
		s:     splitter{z: z, max: c.opts.MaxTokens},
		p:     packer{z: z, max: c.opts.MaxTokens, overlap: c.opts.Overlap},
		paraS: -1,
	}
	m.run()
	return m.out, nil
}

type heading struct {
	level int
	title string
}

type mdChunker struct {
	z   *tokenized
	s   splitter // s.units holds the current section's units
	p   packer
	out []Piece

	stack        []heading
	path         []string // heading path of the current section
	hasContent   bool     // the current section has units besides headings
	paraS, paraE int      // pending paragraph, paraS < 0 when none
	tableRow     int      // index of the current row in a table, -1 outside
}

func (m *mdChunker) run() {
	t := m.z.text
	m.tableRow = -1
	var fence string // the opening fence's run ("```", "~~~~"...) while in a code block
	fenceStart := 0
	for ls := 0; ls < len(t); {
		le := strings.IndexByte(t[ls:], '\n')
		next := len(t)
		if le < 0 {
			le = len(t)
		} else {
			le += ls
			next = le + 1
		}
		line := t[ls:le]
		if fence != "" {
			if isFenceClose(line, fence) {
				m.block(fenceStart, le)
				fence = ""
			}
			ls = next
			continue
		}
		trimmed := strings.TrimLeft(line, " \t")
		switch {
		case strings.TrimSpace(line) == "":
			m.flushPara()
			m.tableRow = -1
		case indentOK(line) && fenceRun(trimmed) != "":
			m.flushPara()
			m.tableRow = -1
			fence = fenceRun(trimmed)
			fenceStart = ls
		case indentOK(line) && headingLevel(trimmed) > 0:
			m.flushPara()
			m.tableRow = -1
			m.heading(ls, le, headingLevel(trimmed), trimmed)
		case strings.HasPrefix(trimmed, "|"):
			m.flushPara()
			m.tableRow++
			m.row(ls, le, trimmed)
		default:
			m.tableRow = -1
			if m.paraS < 0 {
				m.paraS = ls
			}
			m.paraE = le
		}
		ls = next
	}
	if fence != "" {
		m.block(fenceStart, len(t)) // an unclosed fence runs to the end
	}
	m.flushPara()
	m.flushSection()
}

// flushPara turns the pending paragraph into units.
func (m *mdChunker) flushPara() {
	if m.paraS < 0 {
		return
	}
	n := len(m.s.units)
	m.s.split(m.paraS, m.paraE, levelLine)
	if len(m.s.units) > n {
		m.hasContent = true
		m.s.units[len(m.s.units)-1].brk = levelParagraph
	}
	m.paraS = -1
}

// block adds a fenced code block: one atomic unit, or atomic line units when
// it alone exceeds the limit.
func (m *mdChunker) block(a, b int) {
	a, b = trimSpace(m.z.text, a, b)
	if a >= b {
		return
	}
	m.s.atomic = true
	if m.z.approx(a, b) <= m.s.max {
		m.s.emit(a, b, levelLine)
	} else {
		m.s.split(a, b, levelLine)
	}
	m.s.atomic = false
	m.s.units[len(m.s.units)-1].brk = levelParagraph
	m.hasContent = true
}

// row adds a table row; the header and delimiter rows are glued to the
// rows after them.
func (m *mdChunker) row(a, b int, trimmed string) {
	n := len(m.s.units)
	m.block(a, b)
	if len(m.s.units) > n {
		m.s.units[len(m.s.units)-1].brk = levelLine
	}
	if len(m.s.units) > n && m.tableRow <= 1 && !(m.tableRow == 1 && !isDelimiterRow(trimmed)) {
		m.s.units[len(m.s.units)-1].glue = true
	}
}

// heading ends the current section (unless it only holds headings) and
// starts a new one.
func (m *mdChunker) heading(a, b, level int, trimmed string) {
	if m.hasContent {
		m.flushSection()
	}
	for len(m.stack) > 0 && m.stack[len(m.stack)-1].level >= level {
		m.stack = m.stack[:len(m.stack)-1]
	}
	m.stack = append(m.stack, heading{level: level, title: headingTitle(trimmed, level)})
	m.path = make([]string, len(m.stack))
	for i, h := range m.stack {
		m.path[i] = h.title
	}
	n := len(m.s.units)
	m.s.split(a, b, levelWord)
	for i := n; i < len(m.s.units); i++ {
		m.s.units[i].glue = true
	}
}

// flushSection packs the current section's units into pieces.
func (m *mdChunker) flushSection() {
	m.out = m.p.pack(m.s.units, m.path, m.out)
	m.s.units = m.s.units[:0]
	m.hasContent = false
}

// indentOK reports whether line is indented by at most three spaces (a
// deeper indentation makes an indented code line, not a heading or fence).
func indentOK(line string) bool {
	i := 0
	for i < len(line) && line[i] == ' ' {
		i++
	}
	return i <= 3 && (i == len(line) || line[i] != '\t')
}

// fenceRun returns the fence ("```", "~~~~"...) that trimmed opens, or "".
func fenceRun(trimmed string) string {
	if len(trimmed) < 3 || (trimmed[0] != '`' && trimmed[0] != '~') {
		return ""
	}
	c := trimmed[0]
	n := 0
	for n < len(trimmed) && trimmed[n] == c {
		n++
	}
	if n < 3 {
		return ""
	}
	if c == '`' && strings.IndexByte(trimmed[n:], '`') >= 0 {
		return "" // a backtick fence's info string has no backtick
	}
	return trimmed[:n]
}

// isFenceClose reports whether line closes a block opened by fence.
func isFenceClose(line, fence string) bool {
	if !indentOK(line) {
		return false
	}
	t := strings.TrimSpace(line)
	if len(t) < len(fence) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] != fence[0] {
			return false
		}
	}
	return true
}

// headingLevel returns the level of an ATX heading line (trimmed of its
// indentation), or 0.
func headingLevel(trimmed string) int {
	n := 0
	for n < len(trimmed) && trimmed[n] == '#' {
		n++
	}
	if n == 0 || n > 6 {
		return 0
	}
	if n < len(trimmed) && trimmed[n] != ' ' && trimmed[n] != '\t' {
		return 0
	}
	return n
}

// headingTitle returns the text of an ATX heading without its markers.
func headingTitle(trimmed string, level int) string {
	t := strings.TrimSpace(trimmed[level:])
	// A closing sequence of '#' preceded by a space is not part of the title.
	if end := strings.TrimRight(t, "#"); end != t && (end == "" || strings.HasSuffix(end, " ") || strings.HasSuffix(end, "\t")) {
		t = strings.TrimSpace(end)
	}
	return t
}

// isDelimiterRow reports whether a table line is a delimiter row
// ("|---|:--:|").
func isDelimiterRow(trimmed string) bool {
	dash := false
	for i := 0; i < len(trimmed); i++ {
		switch trimmed[i] {
		case '-':
			dash = true
		case '|', ':', ' ', '\t':
		default:
			return false
		}
	}
	return dash
}
