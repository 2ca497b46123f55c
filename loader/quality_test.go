package loader

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/textscore"
)

// corpusDoc reads the markdown a fixture was made from.
func corpusDoc(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "prometheus-docs", "docs", rel))
	require.NoError(t, err)
	return textscore.MarkdownSource(string(b))
}

// qualityCases pair each fixture with its source and the least word F1
// and pair recall its extraction must keep (docs/FORMATS.md has the
// figures).
var qualityCases = []struct {
	fixture, source string
	f1, pairs       float64
}{
	{"overview.docx", "introduction/overview.md", 0.97, 0.95},
	{"naming.odt", "practices/naming.md", 0.97, 0.95},
	{"glossary.epub", "introduction/glossary.md", 0.97, 0.95},
	{"data_model.pptx", "concepts/data_model.md", 0.95, 0.90},
}

func TestExtractionQuality(t *testing.T) {
	for _, c := range qualityCases {
		t.Run(c.fixture, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(formatsDir, c.fixture))
			require.NoError(t, err)
			f, ok := formatByExt(c.fixture)
			require.True(t, ok)
			p, err := f.Parse(context.Background(), data, Limits{}.WithDefaults())
			require.NoError(t, err)
			f1, pairs := textscore.Score(textscore.Words(corpusDoc(t, c.source)), textscore.Words(textscore.Extracted(p.Text)))
			t.Logf("%s: word F1 %.3f, pair recall %.3f", c.fixture, f1, pairs)
			assert.GreaterOrEqual(t, f1, c.f1)
			assert.GreaterOrEqual(t, pairs, c.pairs)
		})
	}
	t.Run("glossary.csv", func(t *testing.T) {
		docs, _, err := loadAll(t, fileSource(FileConfig{Path: filepath.Join(formatsDir, "glossary.csv"), Records: &RecordsConfig{Text: []string{"term", "definition"}, Key: "id"}}))
		require.NoError(t, err)
		var all strings.Builder
		for _, d := range docs {
			all.WriteString(strings.NewReplacer("term: ", "", "definition: ", "").Replace(textscore.Extracted(d.Text)))
		}
		f1, pairs := textscore.Score(textscore.Words(corpusDoc(t, "introduction/glossary.md")), textscore.Words(all.String()))
		t.Logf("glossary.csv: word F1 %.3f, pair recall %.3f", f1, pairs)
		assert.GreaterOrEqual(t, f1, 0.97)
		assert.GreaterOrEqual(t, pairs, 0.95)
	})
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"overview.docx", "naming.odt", "glossary.epub", "data_model.pptx"} {
		data, err := os.ReadFile(filepath.Join(formatsDir, name))
		require.NoError(b, err)
		f, _ := formatByExt(name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := f.Parse(context.Background(), data, Limits{}.WithDefaults()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	data, err := os.ReadFile(filepath.Join(formatsDir, "glossary.csv"))
	require.NoError(b, err)
	b.Run("glossary.csv", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			n := 0
			err := recordsFile(context.Background(), &RecordsConfig{Key: "id"}, data, "g.csv", "g.csv", "file:///g.csv", Limits{}.WithDefaults(), nil,
				func(string, string) {}, func(Document) error { n++; return nil })
			if err != nil || n != 27 {
				b.Fatal(err, n)
			}
		}
	})
}
