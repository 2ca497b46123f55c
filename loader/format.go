package loader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
)

// Format is a document type that file and url sources read besides plain
// text, markdown and HTML: one whose bytes a parser turns into markdown.
//
// This package registers DOCX, PPTX, ODT and EPUB (standard library zip and
// XML only). Parsers that need a dependency live in their own packages and
// register themselves when imported, so a host that does not import them
// does not link them:
//
//	import _ "github.com/minirag/minirag/loader/pdf"  // PDF
//	import _ "github.com/minirag/minirag/loader/xlsx" // XLSX
//
// CSV and JSON Lines are records, not formats: see RecordsConfig.
type Format struct {
	// Name is the format's short lower-case name ("pdf", "docx"); it is
	// the document's Metadata["format_name"].
	Name string
	// ContentType is the media type recorded as Metadata["content_type"]
	// and recognized in HTTP responses.
	ContentType string
	// Extensions are the lower-case file extensions, with the dot.
	Extensions []string
	// Sniff reports whether head (the first bytes of the content, at
	// most 8 KiB) can be of this format. It must be cheap and must not
	// panic. A file whose extension names this format but whose content
	// Sniff rejects is skipped, not parsed.
	Sniff func(head []byte) bool
	// Parse turns the content into markdown. It should check ctx between
	// pages or parts and stop when it is done, and must respect lim. A
	// panic is recovered and becomes the document's skip reason.
	Parse func(ctx context.Context, data []byte, lim Limits) (Parsed, error)
}

// Parsed is what a Format's parser makes of one file.
type Parsed struct {
	// Title is the document's title from the file's own metadata, if any.
	Title string
	// Text is markdown. Locations are headings, so that every chunk's
	// heading path carries them: "Page 12" (PDF), "Slide 3: Title"
	// (PPTX), "Sheet1" then "Rows 2–41" (XLSX). Build it with
	// MarkdownBuilder, which escapes text that would read as markdown.
	Text string
	// Metadata is merged into the document's (for example "pages").
	Metadata map[string]string
}

// Limits bound what a parser may spend on one file. The zero value of each
// field means its default.
type Limits struct {
	// MaxPages bounds the pages (PDF), slides (PPTX), chapters (EPUB) or
	// rows (XLSX, CSV, JSON Lines) read from one file; a file with more
	// is skipped. Zero means DefaultMaxPages.
	MaxPages int
	// MaxDecompressedBytes bounds the bytes inflated from one file (the
	// zip entries of an office document or e-book, the streams of a PDF),
	// whatever the archive claims: a zip bomb is skipped. Zero means
	// DefaultMaxDecompressedBytes.
	MaxDecompressedBytes int64
	// MaxRecords bounds the rows of one CSV or JSON Lines file; a file
	// with more is skipped. Zero means DefaultMaxRecords.
	MaxRecords int
	// ParseTimeout bounds the time one file's parser runs. Zero means
	// DefaultParseTimeout.
	ParseTimeout time.Duration
}

// Defaults of Limits.
const (
	DefaultMaxPages             = 5000
	DefaultMaxDecompressedBytes = 200 << 20
	DefaultParseTimeout         = 60 * time.Second
)

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxPages <= 0 {
		l.MaxPages = DefaultMaxPages
	}
	if l.MaxDecompressedBytes <= 0 {
		l.MaxDecompressedBytes = DefaultMaxDecompressedBytes
	}
	if l.MaxRecords <= 0 {
		l.MaxRecords = DefaultMaxRecords
	}
	if l.ParseTimeout <= 0 {
		l.ParseTimeout = DefaultParseTimeout
	}
	return l
}

// ErrNoText reports a file that parsed but holds no text to index, such as
// a scanned PDF without a text layer. Parsers return errors wrapping it; the
// loader reports the file as skipped with the error's text as the reason.
var ErrNoText = errors.New("no text")

// ErrLimit reports a file over one of the Limits (pages, decompressed
// bytes, time). Parsers return errors wrapping it.
var ErrLimit = errors.New("over a limit")

var (
	formatsMu sync.RWMutex
	formats   []Format
)

// RegisterFormat makes a Format available to every file and url loader.
// It is meant for init functions. It panics when the format has no name,
// sniffer or parser, or when its name, content type or an extension is
// already registered.
func RegisterFormat(f Format) {
	if f.Name == "" || f.Sniff == nil || f.Parse == nil || f.ContentType == "" {
		panic("loader: RegisterFormat: name, content type, Sniff and Parse are required")
	}
	formatsMu.Lock()
	defer formatsMu.Unlock()
	for _, g := range formats {
		if g.Name == f.Name || g.ContentType == f.ContentType {
			panic("loader: RegisterFormat: " + f.Name + " is already registered")
		}
		for _, e := range f.Extensions {
			if slices.Contains(g.Extensions, e) {
				panic("loader: RegisterFormat: extension " + e + " is already registered by " + g.Name)
			}
		}
	}
	for _, e := range f.Extensions {
		if _, ok := kindOf("x" + e); ok || isRecordsExt(e) {
			panic("loader: RegisterFormat: extension " + e + " is built in")
		}
	}
	formats = append(formats, f)
}

// Formats returns the names of the registered formats, sorted.
func Formats() []string {
	formatsMu.RLock()
	defer formatsMu.RUnlock()
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.Name
	}
	slices.Sort(names)
	return names
}

// formatByExt returns the registered format of a file name's extension.
func formatByExt(name string) (Format, bool) {
	ext := strings.ToLower(path.Ext(name))
	if ext == "" {
		return Format{}, false
	}
	formatsMu.RLock()
	defer formatsMu.RUnlock()
	for _, f := range formats {
		if slices.Contains(f.Extensions, ext) {
			return f, true
		}
	}
	return Format{}, false
}

// formatByMedia returns the registered format of a Content-Type header.
func formatByMedia(ct string) (Format, bool) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return Format{}, false
	}
	formatsMu.RLock()
	defer formatsMu.RUnlock()
	for _, f := range formats {
		if f.ContentType == mt {
			return f, true
		}
	}
	return Format{}, false
}

// formatBySniff returns the first registered format whose sniffer accepts
// head and whose magic is unambiguous (not a bare zip header).
func formatBySniff(head []byte) (Format, bool) {
	formatsMu.RLock()
	defer formatsMu.RUnlock()
	for _, f := range formats {
		if bytes.HasPrefix(head, zipMagic) && !zipMimetypeIs(head, f.ContentType) {
			continue
		}
		if f.Sniff(head) {
			return f, true
		}
	}
	return Format{}, false
}

// describeContent names what head looks like, for a skip reason when it is
// not what the file's extension says.
func describeContent(head []byte) string {
	t := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	lower := bytes.ToLower(t[:min(len(t), 512)])
	switch {
	case bytes.HasPrefix(lower, []byte("<!doctype html")), bytes.HasPrefix(lower, []byte("<html")),
		bytes.Contains(lower, []byte("<head")), bytes.Contains(lower, []byte("<body")):
		return "HTML"
	case bytes.HasPrefix(t, []byte("%PDF-")):
		return "PDF"
	case bytes.HasPrefix(t, zipMagic):
		return "a zip archive"
	case bytes.HasPrefix(t, []byte("<?xml")):
		return "XML"
	case len(t) == 0:
		return "empty"
	case bytes.IndexByte(head, 0) >= 0:
		return "binary data"
	}
	return "text"
}

// parseFormat runs f's parser on data with lim, in a goroutine bounded by
// lim.ParseTimeout; a panic becomes an error. When the time runs out, the
// parser's goroutine is abandoned (parsers stop at their next check of ctx).
func parseFormat(ctx context.Context, f Format, data []byte, lim Limits) (Parsed, error) {
	lim = lim.WithDefaults()
	ctx, cancel := context.WithTimeout(ctx, lim.ParseTimeout)
	defer cancel()
	type result struct {
		p   Parsed
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- result{err: fmt.Errorf("%s parser failed (recovered panic: %v) at %s", f.Name, r, panicSite(debug.Stack()))}
			}
		}()
		p, err := f.Parse(ctx, data, lim)
		ch <- result{p, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil && ctx.Err() == context.DeadlineExceeded {
			return Parsed{}, fmt.Errorf("%s parser took longer than %s: %w", f.Name, lim.ParseTimeout, ErrLimit)
		}
		return r.p, r.err
	case <-ctx.Done():
		if ctx.Err() == context.DeadlineExceeded {
			return Parsed{}, fmt.Errorf("%s parser took longer than %s: %w", f.Name, lim.ParseTimeout, ErrLimit)
		}
		return Parsed{}, ctx.Err()
	}
}

// panicSite returns the first stack frame below the runtime's panic
// machinery, to say where a parser panicked.
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i := 0; i+1 < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "panic(") {
			for j := i + 2; j+1 < len(lines); j += 2 {
				fn := strings.TrimSpace(lines[j])
				if !strings.HasPrefix(fn, "runtime.") {
					return fn
				}
			}
		}
	}
	return "unknown"
}

// MarkdownBuilder writes the markdown of a parsed document: headings that
// carry locations, paragraphs whose lines are escaped so that they never
// read as headings or code fences, and table rows.
type MarkdownBuilder struct {
	b strings.Builder
}

// Heading writes a heading of level 1 to 6 (clamped) on a line of its own.
func (m *MarkdownBuilder) Heading(level int, text string) {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return
	}
	level = max(1, min(6, level))
	m.sep()
	m.b.WriteString(strings.Repeat("#", level))
	m.b.WriteByte(' ')
	m.b.WriteString(text)
	m.b.WriteString("\n\n")
}

// Paragraph writes text as a paragraph followed by a blank line. Lines
// starting with '#', '|', "```", "~~~" or '>' are escaped with a backslash.
func (m *MarkdownBuilder) Paragraph(text string) {
	text = strings.Trim(text, "\n")
	if strings.TrimSpace(text) == "" {
		return
	}
	m.sep()
	for line := range strings.SplitSeq(text, "\n") {
		m.b.WriteString(EscapeMarkdownLine(line))
		m.b.WriteByte('\n')
	}
	m.b.WriteByte('\n')
}

// TableRow writes one row of a markdown table ("| a | b |"); cells have
// their pipes escaped and their line breaks turned into spaces. Rows
// written one after another form one table.
func (m *MarkdownBuilder) TableRow(cells []string) {
	m.b.WriteByte('|')
	for _, c := range cells {
		c = strings.Join(strings.Fields(c), " ")
		c = strings.ReplaceAll(c, "|", `\|`)
		m.b.WriteByte(' ')
		m.b.WriteString(c)
		m.b.WriteString(" |")
	}
	m.b.WriteByte('\n')
}

// EndTable ends a table written with TableRow.
func (m *MarkdownBuilder) EndTable() {
	if strings.HasSuffix(m.b.String(), "|\n") {
		m.b.WriteByte('\n')
	}
}

// Len returns the number of bytes written.
func (m *MarkdownBuilder) Len() int { return m.b.Len() }

// String returns the markdown written.
func (m *MarkdownBuilder) String() string { return m.b.String() }

func (m *MarkdownBuilder) sep() {
	if s := m.b.String(); s != "" && !strings.HasSuffix(s, "\n\n") {
		if strings.HasSuffix(s, "\n") {
			m.b.WriteByte('\n')
		} else {
			m.b.WriteString("\n\n")
		}
	}
}

// EscapeMarkdownLine escapes a line of plain text that would otherwise read
// as a markdown heading, table row, code fence or quote.
func EscapeMarkdownLine(line string) string {
	t := strings.TrimLeft(line, " \t")
	if t == "" {
		return ""
	}
	switch {
	case t[0] == '#', t[0] == '|', t[0] == '>', strings.HasPrefix(t, "```"), strings.HasPrefix(t, "~~~"):
		return line[:len(line)-len(t)] + `\` + t
	}
	return line
}

// parseWith checks that data is of format f and parses it within lim. It
// returns the document's title (maybe empty), markdown text and metadata,
// or a reason to skip it.
func parseWith(ctx context.Context, f Format, data []byte, lim Limits) (title, text string, meta map[string]string, reason string) {
	head := data[:min(len(data), sniffBytes)]
	if !sniffOK(f, head) {
		return "", "", nil, fmt.Sprintf("content is not %s (it looks like %s)", strings.ToUpper(f.Name), describeContent(head))
	}
	p, err := parseFormat(ctx, f, data, lim)
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, f.Name) {
			msg = f.Name + ": " + msg
		}
		return "", "", nil, msg
	}
	if strings.TrimSpace(p.Text) == "" {
		return "", "", nil, f.Name + ": no text"
	}
	meta = map[string]string{"content_type": f.ContentType, "format": "markdown", "format_name": f.Name}
	for k, v := range p.Metadata {
		if _, set := meta[k]; !set {
			meta[k] = v
		}
	}
	return strings.Join(strings.Fields(p.Title), " "), p.Text, meta, ""
}

// sniffOK runs f.Sniff, a panic counting as a rejection.
func sniffOK(f Format, head []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return f.Sniff(head)
}
