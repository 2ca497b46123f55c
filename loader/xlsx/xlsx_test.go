package xlsx

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/minirag/minirag/loader"
)

// glossary.xlsx was made by LibreOffice Calc from glossary.csv (see
// scripts/make-format-fixtures.sh).
func fixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "formats", "glossary.xlsx"))
	require.NoError(t, err)
	return b
}

func TestLibreOfficeWorkbook(t *testing.T) {
	p, err := Parse(context.Background(), fixture(t), loader.Limits{})
	require.NoError(t, err)
	assert.Equal(t, "1", p.Metadata["sheets"])
	assert.Equal(t, "27", p.Metadata["rows"])
	assert.True(t, strings.HasPrefix(p.Text, "# glossary\n\n###### Rows 2–21\n\n| id | term | definition | area |\n| g1 | Alert | An alert is the outcome"), p.Text[:200])
	// The second block repeats the header row.
	assert.Contains(t, p.Text, "###### Rows 22–28\n\n| id | term | definition | area |\n| g21 |")
}

// workbook builds a workbook with excelize: two sheets, a header row, a
// blank row and a short row.
func workbook(t testing.TB, rows int) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	require.NoError(t, f.SetSheetName("Sheet1", "Prices"))
	require.NoError(t, f.SetSheetRow("Prices", "A1", &[]any{"sku", "name", "price"}))
	for i := 0; i < rows; i++ {
		require.NoError(t, f.SetSheetRow("Prices", fmt.Sprintf("A%d", i+3), &[]any{fmt.Sprintf("S%d", i), "item | pipe", 1.5}))
	}
	_, err := f.NewSheet("Notes")
	require.NoError(t, err)
	require.NoError(t, f.SetSheetRow("Notes", "B2", &[]any{"note"}))
	require.NoError(t, f.SetSheetRow("Notes", "B3", &[]any{"only one cell"}))
	require.NoError(t, f.SetDocProps(&excelize.DocProperties{Title: "Price list"}))
	var buf bytes.Buffer
	require.NoError(t, f.Write(&buf))
	return buf.Bytes()
}

func TestWorkbookSheetsAndBlocks(t *testing.T) {
	p, err := Parse(context.Background(), workbook(t, 25), loader.Limits{})
	require.NoError(t, err)
	assert.Equal(t, "Price list", p.Title)
	assert.Equal(t, "2", p.Metadata["sheets"])
	assert.Contains(t, p.Text, "# Prices\n\n###### Rows 3–22\n\n| sku | name | price |\n| S0 | item \\| pipe | 1.5 |\n")
	assert.Contains(t, p.Text, "###### Rows 23–27\n\n| sku | name | price |\n| S20 |")
	assert.Contains(t, p.Text, "# Notes\n\n###### Rows 3–3\n\n|  | note |\n|  | only one cell |\n")
	assert.Equal(t, "sheet Prices, rows 23–27", loader.Location([]string{"Prices", "Rows 23–27"}))
}

func TestWorkbookLimits(t *testing.T) {
	_, err := Parse(context.Background(), workbook(t, 30), loader.Limits{MaxRecords: 10})
	require.ErrorIs(t, err, loader.ErrLimit)
	assert.Contains(t, err.Error(), "more than 10 rows")

	_, err = Parse(context.Background(), []byte("PK\x03\x04 nope"), loader.Limits{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a readable workbook")
}

func TestWorkbookThroughFileLoader(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "glossary.xlsx"), fixture(t), 0o644))
	l, err := loader.NewFile(loader.FileConfig{Path: dir}, loader.Options{})
	require.NoError(t, err)
	var docs []loader.Document
	require.NoError(t, l.Load(context.Background(), func(d loader.Document) error { docs = append(docs, d); return nil }))
	require.Len(t, docs, 1)
	assert.Equal(t, "glossary", docs[0].Title)
	assert.Equal(t, "xlsx", docs[0].Metadata["format_name"])
	assert.Contains(t, loader.Formats(), "xlsx")
}

func FuzzXLSX(f *testing.F) {
	f.Add(fixture(f))
	f.Add(workbook(f, 3))
	f.Add([]byte("PK\x03\x04"))
	lim := loader.Limits{MaxPages: 20, MaxDecompressedBytes: 4 << 20, MaxRecords: 500}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := Parse(ctx, data, lim)
		if err == nil && strings.TrimSpace(p.Text) == "" {
			t.Fatal("success without text")
		}
	})
}
