package openai_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/minirag/minirag/embed/openai"
	"github.com/minirag/minirag/internal/openaitest"
)

// BenchmarkEmbed measures the client's own cost per text (request
// building, JSON decoding, checks) against a local server answering at
// once with 384-dimension vectors; the server's work is included.
func BenchmarkEmbed(b *testing.B) {
	srv := openaitest.Start(openaitest.Options{NoRecord: true, Embed: func(_ string, dims int) []float32 {
		v := make([]float32, dims)
		for i := range v {
			v[i] = float32(i) / float32(dims)
		}
		return v
	}})
	defer srv.Close()
	e, err := openai.New(openai.Config{BaseURL: srv.URL, Model: "m", HTTPClient: srv.Client(), BatchSize: 64, Concurrency: 2})
	if err != nil {
		b.Fatal(err)
	}
	texts := make([]string, 256)
	for i := range texts {
		texts[i] = fmt.Sprintf("chunk %d of a document about scraping metrics and alerting rules", i)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(texts)), "ns/text")
}
