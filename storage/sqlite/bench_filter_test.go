package sqlite_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// BenchmarkSearchLexicalFilter searches 10,000 documents (20,000 chunks of
// 100 words) with no metadata filter, a broad one (half the documents), a
// selective one (1%) and a compound one (a range and an array element,
// about 5%), for a query of frequent words and one of a rare word, top 10.
// Each iteration runs every variant once, so their ratios hold under a
// loaded machine; the metrics are each variant's median.
func BenchmarkSearchLexicalFilter(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	r := rand.New(rand.NewPCG(5, 6))
	const docs = 10000
	for start := 0; start < docs; start += 500 {
		var batch []storage.DocumentWithChunks
		for i := start; i < start+500; i++ {
			d := record.Document{ID: fmt.Sprintf("d%d", i), TenantID: "t", SourceID: "s", Key: fmt.Sprintf("k%d", i), Title: benchText(r, 4),
				Metadata: record.Metadata{
					"lang":    []string{"en", "de"}[i%2],
					"product": fmt.Sprintf("p%d", i%100),
					"year":    float64(2000 + i%25),
					"tags":    []any{fmt.Sprintf("t%d", i%10), fmt.Sprintf("t%d", i%7)},
					"updated": record.FormatTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)),
				}}
			cs := []record.Chunk{{ID: fmt.Sprintf("d%d-c0", i), Text: benchText(r, 100)}, {ID: fmt.Sprintf("d%d-c1", i), Ordinal: 1, Text: benchText(r, 100)}}
			batch = append(batch, storage.DocumentWithChunks{Document: d, Chunks: cs})
		}
		if _, err := s.PutDocuments(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	filters := []struct {
		name string
		f    filter.Filter
	}{
		{"none", filter.Filter{}},
		{"broad", filter.Eq("lang", "en")},
		{"selective", filter.Eq("product", "p7")},
		{"compound", filter.And(filter.Gte("year", 2020), filter.Eq("tags", "t3"))},
	}
	queries := []struct{ name, text string }{{"frequent", "w30 w300 w3000"}, {"rare", "w3000"}}
	times := map[string][]time.Duration{}
	var names []string
	for _, q := range queries {
		for _, f := range filters {
			names = append(names, q.name+"/"+f.name)
		}
	}
	for b.Loop() {
		for _, q := range queries {
			for _, f := range filters {
				t0 := time.Now()
				m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", BotID: "b", Text: q.text, Limit: 10, Filter: f.f})
				d := time.Since(t0)
				if err != nil || len(m) == 0 {
					b.Fatalf("SearchLexical(%s, %s): %d matches, %v", q.text, f.name, len(m), err)
				}
				times[q.name+"/"+f.name] = append(times[q.name+"/"+f.name], d)
			}
		}
	}
	for _, n := range names {
		t := times[n]
		slices.Sort(t)
		b.ReportMetric(float64(t[len(t)/2].Microseconds())/1000, n+"-ms")
	}
}
