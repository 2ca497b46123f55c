package minirag

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/loader"
	_ "github.com/minirag/minirag/loader/pdf"
	_ "github.com/minirag/minirag/loader/xlsx"
)

// A folder of mixed PDF, DOCX, PPTX, XLSX, ODT, EPUB, CSV, JSON Lines,
// markdown and HTML files ingests into one source; every document is
// searchable and every passage of a paged, slid, sheeted or row-wise file
// carries its location, which Citation shows. Hostile files fail alone.
func TestIngestMixedFormatsWithLocations(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "formats")
	dir := t.TempDir()
	for _, n := range []string{"faq.pdf", "scanned.pdf", "overview.docx", "data_model.pptx", "glossary.xlsx", "naming.odt", "glossary.epub", "glossary.csv", "glossary.jsonl"} {
		b, err := os.ReadFile(filepath.Join("loader", "testdata", "formats", n))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), b, 0o644))
	}
	writeFiles(t, dir, map[string]string{
		"readme.md":  "# Readme\n\nThe quarterly zebra census is kept in this folder.\n",
		"page.html":  "<html><head><title>Page</title></head><body><h1>Page</h1><p>Octopus gardens are indexed too.</p></body></html>",
		"fake.docx":  "<html><body>an error page saved as .docx</body></html>",
		"broken.pdf": "%PDF-1.4\nnot really",
	})
	src, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "mixed", Type: SourceFile, Config: loader.FileConfig{
		Path:    dir,
		Records: &loader.RecordsConfig{Text: []string{"term", "definition"}, Title: "term", Key: "id"},
	}})
	require.NoError(t, err)
	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Empty(t, res.Failed)
	// 8 files of one document each, 27 CSV rows, 27 JSON lines.
	assert.Equal(t, 8+27+27, res.Documents)
	reasons := map[string]string{}
	for _, s := range res.Skipped {
		reasons[s.Key] = s.Reason
	}
	assert.Contains(t, reasons["scanned.pdf"], "no text layer")
	assert.Equal(t, "content is not DOCX (it looks like HTML)", reasons["fake.docx"])
	assert.Contains(t, reasons["broken.pdf"], "pdf: ")
	assert.Len(t, res.Skipped, 3)

	search := func(q string) []SearchResult {
		t.Helper()
		rs, err := h.Search(e.ctx, SearchRequest{BotID: bot.ID, Query: q, TopK: 20, Mode: SearchLexical})
		require.NoError(t, err)
		return rs
	}
	// where returns the locations of the results of a document.
	where := func(rs []SearchResult, title string) []string {
		var out []string
		for _, r := range rs {
			if r.DocumentTitle == title {
				out = append(out, loader.Location(r.HeadingPath))
			}
		}
		return out
	}
	assert.Contains(t, where(search("Prometheus is released under the Apache 2.0 license"), "Prometheus FAQ"), "page 2")
	assert.Contains(t, where(search("uniquely identified by its metric name and optional key-value pairs called labels"), "Data model"), "slide 3")
	promdash := search("Promdash was a native dashboard builder for Prometheus")
	assert.Contains(t, where(promdash, "glossary"), "sheet glossary, rows 2–21")
	assert.Contains(t, where(promdash, "Promdash"), "record id g13") // the CSV row and the JSON line
	assert.Contains(t, where(promdash, "Glossary"), "")              // the EPUB: headings only
	assert.NotEmpty(t, where(search("originally built at SoundCloud"), "Prometheus overview"))
	assert.NotEmpty(t, where(search("MUST comply with the data model for valid characters"), "Metric and label naming"))
	assert.NotEmpty(t, where(search("quarterly zebra census"), "Readme"))
	assert.NotEmpty(t, where(search("Octopus gardens"), "Page"))

	ans, err := h.Ask(e.ctx, AskRequest{BotID: bot.ID, Question: "Which license is Prometheus released under?", Extractive: true, Mode: SearchLexical})
	require.NoError(t, err)
	require.NotEmpty(t, ans.Citations)
	locs := []string{}
	for _, c := range ans.Citations {
		locs = append(locs, c.DocumentTitle+": "+c.Location)
		if c.DocumentTitle == "Prometheus FAQ" {
			assert.True(t, strings.HasPrefix(c.Location, "page "), c.Location)
			assert.Equal(t, c.Location, loader.Location(c.HeadingPath))
		}
	}
	assert.True(t, slices.ContainsFunc(locs, func(s string) bool { return strings.HasPrefix(s, "Prometheus FAQ: page ") }), locs)

	// Re-ingest after one CSV row changed and a row was inserted on top:
	// only those two documents are written; the JSON Lines rows and the
	// other CSV rows are unchanged.
	csvPath := filepath.Join(dir, "glossary.csv")
	b, err := os.ReadFile(csvPath)
	require.NoError(t, err)
	body := strings.Replace(string(b), "Promdash was a native dashboard builder", "Promdash was an old dashboard builder", 1)
	body = strings.Replace(body, "id,term,definition,area\n", "id,term,definition,area\ng0,Zebra,A striped census animal.,core\n", 1)
	require.NoError(t, os.WriteFile(csvPath, []byte(body), 0o644))
	res, err = h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Added)
	assert.Equal(t, 1, res.Updated)
	assert.Equal(t, 0, res.Deleted)

	// A records file that cannot be read any more keeps its rows.
	require.NoError(t, os.WriteFile(csvPath, []byte("id,other\n"), 0o644))
	res, err = h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Deleted)
	assert.Contains(t, res.Skipped, loader.Skipped{Key: "glossary.csv", Reason: `column "term", "definition" not in the header (columns: id, other)`})
}
