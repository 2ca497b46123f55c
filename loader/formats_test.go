package loader

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/record"
)

// The fixtures of testdata/formats were made from the Prometheus docs
// corpus with pandoc, groff, LibreOffice and img2pdf
// (scripts/make-format-fixtures.sh; testdata/formats/SOURCE.md).
const formatsDir = "testdata/formats"

func byKey(docs []Document) map[string]Document {
	m := map[string]Document{}
	for _, d := range docs {
		m[d.Key] = d
	}
	return m
}

func TestFormatsOfficeFixtures(t *testing.T) {
	docs, skips, err := loadAll(t, fileSource(FileConfig{Path: formatsDir, Include: []string{"*.docx", "*.pptx", "*.odt", "*.epub"}}))
	require.NoError(t, err)
	assert.Empty(t, skips)
	m := byKey(docs)
	require.Len(t, m, 4)

	docx := m["overview.docx"]
	assert.Equal(t, "Prometheus overview", docx.Title)
	assert.Equal(t, "docx", docx.Metadata["format_name"])
	assert.Equal(t, "markdown", docx.Metadata["format"])
	assert.Contains(t, docx.Text, "### What is Prometheus?\n")
	assert.Contains(t, docx.Text, "#### Features\n")
	assert.Contains(t, docx.Text, "- PromQL, a flexible query language")
	assert.Contains(t, docx.Text, "originally built at SoundCloud")

	pptx := m["data_model.pptx"]
	assert.Equal(t, "5", pptx.Metadata["slides"])
	assert.Contains(t, pptx.Text, "## Slide 1: Data model\n")
	assert.Contains(t, pptx.Text, "## Slide 3: Metric names and labels\n")
	assert.Contains(t, pptx.Text, "Every time series is uniquely identified by its metric name")

	odt := m["naming.odt"]
	assert.Equal(t, "Metric and label naming", odt.Title)
	assert.Contains(t, odt.Text, "## Metric names\n")
	assert.Contains(t, odt.Text, "- …MUST comply with the data model")
	assert.Contains(t, odt.Text, "| ", "the base units table is kept as rows")

	epub := m["glossary.epub"]
	assert.Equal(t, "Glossary", epub.Title)
	assert.Contains(t, epub.Text, "### Alertmanager\n")
	assert.Contains(t, epub.Text, "de-duplicates, applies silences")
}

func TestFormatsUnregisteredTypesAreSkipped(t *testing.T) {
	// PDF and XLSX need their packages imported; the loader package alone
	// passes them over.
	_, skips, err := loadAll(t, fileSource(FileConfig{Path: formatsDir, Include: []string{"*.pdf", "*.xlsx"}}))
	require.NoError(t, err)
	sm := skipMap(skips)
	assert.Equal(t, "unsupported file type (.pdf)", sm["faq.pdf"])
	assert.Equal(t, "unsupported file type (.xlsx)", sm["glossary.xlsx"])
}

func TestRecordsCSVDefault(t *testing.T) {
	docs, skips, err := loadAll(t, fileSource(FileConfig{Path: filepath.Join(formatsDir, "glossary.csv")}))
	require.NoError(t, err)
	assert.Empty(t, skips)
	require.Len(t, docs, 27)
	d := docs[1]
	assert.Equal(t, "glossary.csv#row-2", d.Key)
	assert.Equal(t, "glossary row 2", d.Title)
	assert.True(t, strings.HasSuffix(d.URI, "glossary.csv#row=2"), d.URI)
	assert.Equal(t, "2", d.Metadata["row"])
	assert.Equal(t, "text/csv", d.Metadata["content_type"])
	assert.Equal(t, "###### Row 2\n\nid: g2\n\nterm: Alertmanager\n\n", d.Text[:len("###### Row 2\n\nid: g2\n\nterm: Alertmanager\n\n")])
}

func TestRecordsKeyedCSVAndJSONL(t *testing.T) {
	rc := &RecordsConfig{Text: []string{"term", "definition"}, Title: "term", Key: "id", Metadata: []string{"area", "tags"}}
	for _, name := range []string{"glossary.csv", "glossary.jsonl"} {
		t.Run(name, func(t *testing.T) {
			rc := *rc
			if name == "glossary.csv" {
				rc.Metadata = []string{"area"}
			}
			docs, skips, err := loadAll(t, fileSource(FileConfig{Path: filepath.Join(formatsDir, name), Records: &rc}))
			require.NoError(t, err)
			assert.Empty(t, skips)
			require.Len(t, docs, 27)
			m := byKey(docs)
			d, ok := m[name+"#g2"]
			require.True(t, ok, keys(docs))
			assert.Equal(t, "Alertmanager", d.Title)
			assert.True(t, strings.HasPrefix(d.Text, "###### Record id g2\n\nterm: Alertmanager\n\ndefinition: The [Alertmanager]"), d.Text)
			assert.NotContains(t, d.Text, "ecosystem", "metadata columns are not text")
			if name == "glossary.csv" {
				assert.Equal(t, "ecosystem", d.Metadata["area"])
			} else {
				assert.Equal(t, `["ecosystem"]`, d.Metadata["tags"])
			}
		})
	}
}

// A keyed records file re-keys nothing when rows move: an inserted row and
// an edited row are the only documents whose text changes.
func TestRecordsKeyedReloadChangesOnlyEditedRows(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "faq.csv")
	write := func(body string) map[string]string {
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		docs, _, err := loadAll(t, fileSource(FileConfig{Path: p, Records: &RecordsConfig{Text: []string{"a"}, Key: "id"}}))
		require.NoError(t, err)
		out := map[string]string{}
		for _, d := range docs {
			out[d.Key] = d.Text
		}
		return out
	}
	before := write("id,a\n1,one\n2,two\n3,three\n")
	after := write("id,a\n0,zero\n1,one\n2,TWO\n3,three\n")
	assert.Equal(t, before["faq.csv#1"], after["faq.csv#1"])
	assert.Equal(t, before["faq.csv#3"], after["faq.csv#3"])
	assert.NotEqual(t, before["faq.csv#2"], after["faq.csv#2"])
	assert.Contains(t, after, "faq.csv#0")
}

func TestRecordsRowProblems(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id,text\n1,one\n1,again\n,no key\n2,\n3,three\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.jsonl"), []byte("{\"id\":\"x\",\"text\":\"ok\"}\nnot json\n\n[1,2]\n{\"id\":\"y\",\"text\":\"fine\"}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c.csv"), []byte("name,body\nx,y\n"), 0o644))
	docs, skips, err := loadAll(t, fileSource(FileConfig{Path: dir, Records: &RecordsConfig{Text: []string{"text"}, Key: "id"}}))
	require.NoError(t, err)
	assert.Equal(t, []string{"a.csv#1", "a.csv#3", "b.jsonl#x", "b.jsonl#y"}, keys(docs))
	sm := skipMap(skips)
	assert.Equal(t, `row 2 repeats id "1"`, sm["a.csv#1"])
	assert.Equal(t, "row 3 has no id", sm["a.csv#row-3"])
	assert.Equal(t, "row 4 has no text", sm["a.csv#2"])
	assert.Equal(t, "line 2 is not a JSON object", sm["b.jsonl#line-2"])
	assert.Equal(t, "line 4 is not a JSON object", sm["b.jsonl#line-4"])
	assert.Equal(t, `column "text", "id" not in the header (columns: name, body)`, sm["c.csv"])
}

func TestRecordsConfigValidation(t *testing.T) {
	raw := json.RawMessage(`{"path":"x","records":{"text":["a","a",""],"key":" ","metadata":["row","m","m"],"delimiter":"ab"}}`)
	_, err := ParseConfig(record.SourceFile, raw)
	require.ErrorIs(t, err, record.ErrInvalidInput)
	var v *record.ValidationError
	require.True(t, errors.As(err, &v))
	msg := err.Error()
	for _, f := range []string{"config.records.text[1]", "config.records.text[2]", "config.records.key", "config.records.metadata[0]", "config.records.metadata[2]", "config.records.delimiter"} {
		assert.Contains(t, msg, f)
	}
	_, err = ParseConfig(record.SourceFile, json.RawMessage(`{"path":"x","records":{"text":["q"],"bogus":1}}`))
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "config.bogus")
	_, err = ParseConfig(record.SourceFile, json.RawMessage(`{"path":"x","records":{"text":["q"],"title":"t","key":"k","metadata":["m"],"delimiter":";"}}`))
	assert.NoError(t, err)
}

func TestRecordsTooManyRows(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.csv"), []byte("a\n1\n2\n3\n4\n"), 0o644))
	var skips []Skipped
	l, err := NewFile(FileConfig{Path: dir}, Options{OnSkip: func(s Skipped) { skips = append(skips, s) }, Limits: Limits{MaxRecords: 3}})
	require.NoError(t, err)
	n := 0
	require.NoError(t, l.Load(context.Background(), func(Document) error { n++; return nil }))
	assert.Equal(t, 3, n)
	require.Len(t, skips, 1)
	assert.Equal(t, "big.csv", skips[0].Key)
	assert.Contains(t, skips[0].Reason, "more than 3 rows")
}

// zipOf builds a zip archive of the given entries (deflated).
func zipOf(t testing.TB, entries map[string][]byte, order ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range order {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, err = w.Write(entries[name])
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

const docxBody = `<?xml version="1.0"?><w:document xmlns:w="w"><w:body><w:p><w:r><w:t>%s</w:t></w:r></w:p></w:body></w:document>`

// Hostile files fail alone, each with a clear reason; the good file of
// the same directory is loaded.
func TestFormatsHostileFilesFailAlone(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(formatsDir, "overview.docx"))
	require.NoError(t, err)
	files := map[string][]byte{
		"good.docx": good,
		// 64 MiB of zeros deflate to about 64 KiB: over a 16 MiB budget.
		"bomb.docx": zipOf(t, map[string][]byte{"word/document.xml": make([]byte, 64<<20)}, "word/document.xml"),
		"laughs.docx": zipOf(t, map[string][]byte{"word/document.xml": []byte(`<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>`)}, "word/document.xml"),
		"page.docx":   []byte("<!DOCTYPE html><html><body><p>Not a Word file</p></body></html>"),
		"notzip.pptx": []byte("PK\x03\x04 but truncated"),
		"empty.odt":   zipOf(t, map[string][]byte{"content.xml": []byte(`<office:document-content xmlns:office="o"/>`)}, "content.xml"),
		"nobook.epub": zipOf(t, map[string][]byte{"mimetype": []byte("application/epub+zip")}, "mimetype"),
	}
	for name, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	var skips []Skipped
	l, err := NewFile(FileConfig{Path: dir}, Options{OnSkip: func(s Skipped) { skips = append(skips, s) }, Limits: Limits{MaxDecompressedBytes: 16 << 20}})
	require.NoError(t, err)
	var docs []Document
	require.NoError(t, l.Load(context.Background(), func(d Document) error { docs = append(docs, d); return nil }))
	assert.Equal(t, []string{"good.docx"}, keys(docs))
	sm := skipMap(skips)
	assert.Contains(t, sm["bomb.docx"], "decompresses to more than 16777216 bytes (a zip bomb?)")
	assert.Contains(t, sm["laughs.docx"], "XML declares entities (refused)")
	assert.Equal(t, "content is not DOCX (it looks like HTML)", sm["page.docx"])
	assert.Contains(t, sm["notzip.pptx"], "pptx: not a valid zip archive")
	assert.Contains(t, sm["empty.odt"], "odt: the document has no text")
	assert.Contains(t, sm["nobook.epub"], "not an EPUB")
	assert.Len(t, skips, 6)
}

var (
	testFormatsOnce bool
	slowRelease     = make(chan struct{})
)

// registerTestFormats registers formats whose parsers panic or hang.
func registerTestFormats() {
	if testFormatsOnce {
		return
	}
	testFormatsOnce = true
	any := func([]byte) bool { return true }
	RegisterFormat(Format{Name: "boom", ContentType: "application/x-boom", Extensions: []string{".boom"}, Sniff: any,
		Parse: func(context.Context, []byte, Limits) (Parsed, error) {
			var m map[string]int
			m["x"] = 1 // a nil map write: a runtime panic
			return Parsed{}, nil
		}})
	RegisterFormat(Format{Name: "slow", ContentType: "application/x-slow", Extensions: []string{".slow"}, Sniff: any,
		Parse: func(ctx context.Context, _ []byte, _ Limits) (Parsed, error) {
			select { // a parser that never looks at ctx is abandoned too
			case <-slowRelease:
			case <-time.After(time.Minute):
			}
			return Parsed{Text: "late"}, nil
		}})
}

func TestFormatsPanicAndTimeBudget(t *testing.T) {
	registerTestFormats()
	dir := t.TempDir()
	for _, n := range []string{"a.boom", "b.slow", "c.txt"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("data"), 0o644))
	}
	var skips []Skipped
	l, err := NewFile(FileConfig{Path: dir}, Options{OnSkip: func(s Skipped) { skips = append(skips, s) }, Limits: Limits{ParseTimeout: 100 * time.Millisecond}})
	require.NoError(t, err)
	var docs []Document
	require.NoError(t, l.Load(context.Background(), func(d Document) error { docs = append(docs, d); return nil }))
	close(slowRelease)
	assert.Equal(t, []string{"c.txt"}, keys(docs))
	sm := skipMap(skips)
	assert.Contains(t, sm["a.boom"], "boom parser failed (recovered panic: assignment to entry in nil map)")
	assert.Equal(t, "slow parser took longer than 100ms: over a limit", sm["b.slow"])
	assert.Contains(t, Formats(), "docx")
}

func TestFormatsNoExtensionSniffed(t *testing.T) {
	dir := t.TempDir()
	epub, err := os.ReadFile(filepath.Join(formatsDir, "glossary.epub"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "GLOSSARY"), epub, 0o644))
	docs, skips, err := loadAll(t, fileSource(FileConfig{Path: dir}))
	require.NoError(t, err)
	assert.Empty(t, skips)
	require.Len(t, docs, 1)
	assert.Equal(t, "epub", docs[0].Metadata["format_name"])
}

func TestURLLoaderFormats(t *testing.T) {
	docx, err := os.ReadFile(filepath.Join(formatsDir, "overview.docx"))
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/typed":
			w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
		case "/files/overview.docx":
			w.Header().Set("Content-Type", "application/octet-stream")
		case "/lying":
			w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
			_, _ = w.Write([]byte("<html><body>error page</body></html>"))
			return
		}
		_, _ = w.Write(docx)
	}))
	defer srv.Close()
	for _, p := range []string{"/typed", "/files/overview.docx"} {
		docs, _, err := loadAll(t, func(o Options) (Loader, error) { return NewURL(URLConfig{URL: srv.URL + p}, o) })
		require.NoError(t, err, p)
		require.Len(t, docs, 1)
		assert.Equal(t, "Prometheus overview", docs[0].Title)
		assert.Equal(t, "docx", docs[0].Metadata["format_name"])
		assert.Contains(t, docs[0].Text, "### What is Prometheus?")
	}
	_, _, err = loadAll(t, func(o Options) (Loader, error) { return NewURL(URLConfig{URL: srv.URL + "/lying"}, o) })
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "content is not DOCX (it looks like HTML)")
}

func TestLocation(t *testing.T) {
	for _, c := range []struct {
		path []string
		want string
	}{
		{nil, ""},
		{[]string{"Install", "From source"}, ""},
		{[]string{"General", "What is Prometheus?", "Page 2"}, "page 2"},
		{[]string{"Slide 3: Metric names and labels"}, "slide 3"},
		{[]string{"glossary", "Rows 2–21"}, "sheet glossary, rows 2–21"},
		{[]string{"Row 7"}, "row 7"},
		{[]string{"Record id g2"}, "record id g2"},
	} {
		assert.Equal(t, c.want, Location(c.path), c.path)
	}
}

func TestCoveredBySkip(t *testing.T) {
	skipped := map[string]bool{"data/a.csv": true, "b.md": true}
	assert.True(t, CoveredBySkip(skipped, "data/a.csv"))
	assert.True(t, CoveredBySkip(skipped, "data/a.csv#42"))
	assert.True(t, CoveredBySkip(skipped, "data/a.csv#x#y"))
	assert.True(t, CoveredBySkip(skipped, "b.md"))
	assert.False(t, CoveredBySkip(skipped, "data/a.csv2#1"))
	assert.False(t, CoveredBySkip(skipped, "c.csv#1"))
}

func TestMarkdownBuilderEscapes(t *testing.T) {
	var m MarkdownBuilder
	m.Heading(9, "  Deep   heading ")
	m.Paragraph("# not a heading\n```not a fence\n| not a row\nplain")
	m.TableRow([]string{"a|b", "c\nd"})
	m.EndTable()
	assert.Equal(t, "###### Deep heading\n\n\\# not a heading\n\\```not a fence\n\\| not a row\nplain\n\n| a\\|b | c d |\n\n", m.String())
}
