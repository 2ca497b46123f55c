package xlsx

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/textscore"
	"github.com/minirag/minirag/loader"
)

// TestExtractionQuality compares the workbook's term and definition
// columns with the glossary they came from (docs/FORMATS.md).
func TestExtractionQuality(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "prometheus-docs", "docs", "introduction", "glossary.md"))
	require.NoError(t, err)
	p, err := Parse(context.Background(), fixture(t), loader.Limits{})
	require.NoError(t, err)
	var got strings.Builder
	for _, l := range strings.Split(p.Text, "\n") {
		cells := strings.Split(l, " | ")
		if len(cells) == 4 && !strings.HasPrefix(l, "| id |") {
			got.WriteString(cells[1] + "\n" + cells[2] + "\n")
		}
	}
	f1, pairs := textscore.Score(textscore.Words(textscore.MarkdownSource(string(src))), textscore.Words(got.String()))
	t.Logf("glossary.xlsx: word F1 %.3f, pair recall %.3f", f1, pairs)
	assert.GreaterOrEqual(t, f1, 0.97)
	assert.GreaterOrEqual(t, pairs, 0.95)
}

func BenchmarkParse(b *testing.B) {
	data := fixture(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(context.Background(), data, loader.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
