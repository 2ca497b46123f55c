package hashing_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minirag/minirag/embed/hashing"
)

// text500 is about 500 cl100k tokens (about 2,000 bytes) of documentation
// prose: a real document from the shared corpus when present, else a
// built-in paragraph.
func text500(b *testing.B) string {
	b.Helper()
	var src string
	_ = filepath.WalkDir("../../../shared/corpus/prometheus-docs", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".md") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err == nil && len(data) > 4000 {
			src = string(data[1000:]) // past the front matter
			return fs.SkipAll
		}
		return nil
	})
	if src == "" {
		src = strings.Repeat("Prometheus collects and stores its metrics as time series data, i.e. metrics "+
			"information is stored with the timestamp at which it was recorded, alongside optional "+
			"key-value pairs called labels. Alerting rules fire when an expression holds for a duration. ", 10)
	}
	return src[:2000]
}

func BenchmarkVector500Tokens(b *testing.B) {
	e, err := hashing.New(hashing.Config{})
	if err != nil {
		b.Fatal(err)
	}
	text := text500(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Vector(text)
	}
}

func BenchmarkEmbedBatch64(b *testing.B) {
	e, err := hashing.New(hashing.Config{})
	if err != nil {
		b.Fatal(err)
	}
	text := text500(b)
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = text[i:] // distinct texts
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(texts)), "ns/text")
}
