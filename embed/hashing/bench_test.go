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
// prose: a real document from the repository's corpus
// (testdata/prometheus-docs).
func text500(b *testing.B) string {
	b.Helper()
	var src string
	_ = filepath.WalkDir("../../testdata/prometheus-docs", func(path string, d fs.DirEntry, err error) error {
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
		b.Fatal("no document over 4000 bytes in ../../testdata/prometheus-docs")
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
