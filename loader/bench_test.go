package loader

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func BenchmarkHTMLToText(b *testing.B) {
	page, err := os.ReadFile("testdata/html/article.html")
	if err != nil {
		b.Fatal(err)
	}
	// About 1 MB: the article's body repeated.
	body := string(page)
	i, j := strings.Index(body, "<article>"), strings.Index(body, "</article>")
	big := body[:i] + strings.Repeat(body[i:j+len("</article>")], 500) + body[j+len("</article>"):]
	for _, c := range []struct {
		name string
		data []byte
	}{{"article", page}, {"1MB", []byte(big)}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := HTMLToText(bytes.NewReader(c.data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFileLoaderCorpus(b *testing.B) {
	if _, err := os.Stat(corpusDir); err != nil {
		b.Skipf("shared corpus absent (%s): %v", corpusDir, err)
	}
	l, err := NewFile(FileConfig{Path: corpusDir, Include: []string{"*.md"}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	b.ReportAllocs()
	for b.Loop() {
		total = 0
		err := l.Load(context.Background(), func(d Document) error {
			total += int64(len(d.Text))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(total)
}
