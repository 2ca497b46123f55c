package pdf

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/textscore"
	"github.com/minirag/minirag/loader"
)

// TestExtractionQuality holds the PDF extraction to the word F1 and pair
// recall measured against the markdown each fixture was made from
// (docs/FORMATS.md compares them with PDFium's).
func TestExtractionQuality(t *testing.T) {
	for _, c := range []struct {
		fixture, source string
		f1, pairs       float64
	}{
		{"faq.pdf", "introduction/faq.md", 0.94, 0.92},
		{"overview.pdf", "introduction/overview.md", 0.98, 0.97},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "prometheus-docs", "docs", c.source))
			require.NoError(t, err)
			p, err := Parse(context.Background(), fixture(t, c.fixture), loader.Limits{})
			require.NoError(t, err)
			f1, pairs := textscore.Score(textscore.Words(textscore.MarkdownSource(string(src))), textscore.Words(textscore.Extracted(p.Text)))
			t.Logf("%s: word F1 %.3f, pair recall %.3f", c.fixture, f1, pairs)
			assert.GreaterOrEqual(t, f1, c.f1)
			assert.GreaterOrEqual(t, pairs, c.pairs)
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"faq.pdf", "overview.pdf"} {
		data := fixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			pages := 0
			for b.Loop() {
				p, err := Parse(context.Background(), data, loader.Limits{})
				if err != nil {
					b.Fatal(err)
				}
				n, _ := strconv.Atoi(p.Metadata["pages"])
				pages += n
			}
			b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
		})
	}
}
