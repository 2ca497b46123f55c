package pdf

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/loader"
)

// The fixtures are in ../testdata/formats (made by
// scripts/make-format-fixtures.sh from the Prometheus docs corpus):
// faq.pdf by groff -ms (outline, hyphenation, running header and footer),
// overview.pdf by LibreOffice from a DOCX, scanned.pdf by img2pdf from a
// rendered page (no text layer).
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "formats", name))
	require.NoError(t, err)
	return b
}

func parse(t *testing.T, name string) loader.Parsed {
	t.Helper()
	p, err := Parse(context.Background(), fixture(t, name), loader.Limits{})
	require.NoError(t, err)
	return p
}

func TestGroffPDF(t *testing.T) {
	p := parse(t, "faq.pdf")
	assert.Equal(t, "Prometheus FAQ", p.Title)
	assert.Equal(t, "4", p.Metadata["pages"])
	for n := 1; n <= 4; n++ {
		assert.Contains(t, p.Text, fmt.Sprintf("###### Page %d\n", n))
	}
	// Outline entries become headings at their printed line, the page
	// heading repeated under them.
	assert.Contains(t, p.Text, "# General\n\n###### Page 1\n\n## What is Prometheus?\n\n###### Page 1\n\nPrometheus is an open-source")
	assert.Contains(t, p.Text, "### What license is Prometheus released under?\n\n###### Page 2\n\nPrometheus is released under the Apache 2.0 license.")
	// groff hyphenated "in-stances" and "devel-oping" at line ends.
	assert.Contains(t, p.Text, "multiple Alertmanager instances to build")
	assert.Contains(t, p.Text, "when developing changes")
	assert.NotContains(t, p.Text, "in-\nstances")
	// The running header ("Prometheus FAQ", page number) and footer
	// ("Prometheus documentation") are gone.
	assert.NotContains(t, p.Text, "Prometheus documentation")
	assert.NotContains(t, p.Text, "Prometheus FAQ")
	assert.NotContains(t, p.Text, "\n- 2 -\n")
}

func TestLibreOfficePDF(t *testing.T) {
	p := parse(t, "overview.pdf")
	assert.Equal(t, "Prometheus overview", p.Title)
	assert.Equal(t, "3", p.Metadata["pages"])
	assert.Contains(t, p.Text, "# What is Prometheus?\n\n###### Page 1\n\nPrometheus is an open-source systems monitoring and alerting toolkit\noriginally built at SoundCloud")
	assert.Contains(t, p.Text, "## Features\n")
	assert.Contains(t, p.Text, "• PromQL, a flexible query language to leverage this dimensionality")
}

func TestScannedPDFHasNoTextLayer(t *testing.T) {
	_, err := Parse(context.Background(), fixture(t, "scanned.pdf"), loader.Limits{})
	require.ErrorIs(t, err, ErrNoTextLayer)
	require.ErrorIs(t, err, loader.ErrNoText)
	assert.Contains(t, err.Error(), "no text layer")
}

// buildPDF writes a PDF of the given object bodies (object i+1 is
// objs[i]) with a correct cross-reference table.
func buildPDF(objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

func stream(data string, deflate bool) string {
	if !deflate {
		return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(data), data)
	}
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	_, _ = w.Write([]byte(data))
	_ = w.Close()
	return fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", z.Len(), z.String())
}

const font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"

func TestPDFReferenceLoopsEnd(t *testing.T) {
	content := stream("BT /F1 12 Tf 72 700 Td (Hello loops) Tj ET", false)
	page := "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
	t.Run("outline", func(t *testing.T) {
		data := buildPDF(
			"<< /Type /Catalog /Pages 2 0 R /Outlines 6 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			page, content, font,
			"<< /Type /Outlines /First 7 0 R /Last 7 0 R >>",
			"<< /Title (Hello loops) /Parent 6 0 R /Next 7 0 R /First 7 0 R >>", // its own next and child
		)
		p, err := Parse(context.Background(), data, loader.Limits{})
		require.NoError(t, err)
		assert.Contains(t, p.Text, "Hello loops")
	})
	t.Run("page tree", func(t *testing.T) {
		data := buildPDF(
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>", // lists itself
			page, content, font,
		)
		_, err := Parse(context.Background(), data, loader.Limits{})
		require.ErrorIs(t, err, loader.ErrLimit)
		assert.Contains(t, err.Error(), "page tree too deep or looping")
	})
}

func TestPDFDecompressionBomb(t *testing.T) {
	body := "BT /F1 12 Tf 72 700 Td (bomb) Tj ET\n" + strings.Repeat(" ", 8<<20)
	data := buildPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		stream(body, true), font,
	)
	require.Less(t, len(data), 64<<10)
	_, err := Parse(context.Background(), data, loader.Limits{MaxDecompressedBytes: 1 << 20})
	require.ErrorIs(t, err, loader.ErrLimit)
	assert.Contains(t, err.Error(), "page 1: content decompresses to more than 1048576 bytes")

	p, err := Parse(context.Background(), data, loader.Limits{})
	require.NoError(t, err, "within the default budget the same file reads")
	assert.Contains(t, p.Text, "bomb")
}

func TestPDFPageLimit(t *testing.T) {
	_, err := Parse(context.Background(), fixture(t, "faq.pdf"), loader.Limits{MaxPages: 3})
	require.ErrorIs(t, err, loader.ErrLimit)
	assert.Contains(t, err.Error(), "more than 3 pages")
}

func TestPDFThroughFileLoader(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"faq.pdf", "scanned.pdf"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), fixture(t, n), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "page.pdf"), []byte("<!doctype html><html><body>Not found</body></html>"), 0o644))
	var skips []loader.Skipped
	l, err := loader.NewFile(loader.FileConfig{Path: dir}, loader.Options{OnSkip: func(s loader.Skipped) { skips = append(skips, s) }})
	require.NoError(t, err)
	var docs []loader.Document
	require.NoError(t, l.Load(context.Background(), func(d loader.Document) error { docs = append(docs, d); return nil }))
	require.Len(t, docs, 1)
	assert.Equal(t, "faq.pdf", docs[0].Key)
	assert.Equal(t, "Prometheus FAQ", docs[0].Title)
	assert.Equal(t, "application/pdf", docs[0].Metadata["content_type"])
	assert.Equal(t, "pdf", docs[0].Metadata["format_name"])
	assert.Equal(t, "markdown", docs[0].Metadata["format"])
	reasons := map[string]string{}
	for _, s := range skips {
		reasons[s.Key] = s.Reason
	}
	assert.Equal(t, "content is not PDF (it looks like HTML)", reasons["page.pdf"])
	assert.Equal(t, "pdf: no text layer (a scanned PDF? run OCR on it first): no text", reasons["scanned.pdf"])
	assert.Contains(t, loader.Formats(), "pdf")
}

func TestHyphenated(t *testing.T) {
	assert.True(t, hyphenated("config-", "uration"))
	assert.False(t, hyphenated("key-", "Value"), "a capital starts a new word")
	assert.False(t, hyphenated("2-", "3"))
	assert.False(t, hyphenated("-", "x"))
}

func FuzzPDF(f *testing.F) {
	for _, n := range []string{"faq.pdf", "overview.pdf", "scanned.pdf"} {
		f.Add(fixture(f, n))
	}
	f.Add(buildPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [2 0 R] /Count 1 >>"))
	f.Add([]byte("%PDF-1.7\n"))
	lim := loader.Limits{MaxPages: 20, MaxDecompressedBytes: 4 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := Parse(ctx, data, lim)
		if err == nil && strings.TrimSpace(p.Text) == "" {
			t.Fatal("success without text")
		}
		if err != nil && p.Text != "" {
			t.Fatal("text with an error")
		}
	})
}
