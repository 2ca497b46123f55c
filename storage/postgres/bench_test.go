package postgres_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
)

// benchPGStore returns a store on a fresh schema of the PostgreSQL test
// server (skipped when MINIRAG_TEST_POSTGRES_URL is unset) with a tenant, a
// bot and a source.
func benchPGStore(b *testing.B) *postgres.Store {
	url := testsvc.PostgresURL(b)
	p := testsvc.Pool(b, testsvc.PoolConfig(b, url, 4))
	s, err := postgres.New(b.Context(), p, postgres.WithSchema(testsvc.Schema(b, url)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	now := time.Now()
	for _, err := range []error{
		s.CreateTenant(ctx, record.Tenant{ID: "t", Slug: "t", CreatedAt: now, UpdatedAt: now}),
		s.CreateBot(ctx, record.Bot{ID: "b", TenantID: "t", CreatedAt: now, UpdatedAt: now}),
		s.CreateSource(ctx, record.Source{ID: "s", TenantID: "t", BotID: "b", Type: record.SourceText, Status: record.StatusPending, CreatedAt: now, UpdatedAt: now}),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// benchItem is a document of one chunk shaped like the ingestion
// benchmark's.
func benchItem(i int) storage.DocumentWithChunks {
	d := record.Document{ID: fmt.Sprintf("d%d", i), TenantID: "t", SourceID: "s", Key: fmt.Sprintf("k%d", i), Title: fmt.Sprintf("Service %d", i),
		Metadata: record.Metadata{"format": "markdown"}}
	return storage.DocumentWithChunks{Document: d, Chunks: []record.Chunk{{ID: fmt.Sprintf("c%d", i),
		Text: fmt.Sprintf("Service %d handles request class %d with a timeout of %d seconds and retries %d times.", i, i%6, i%90, i%5), HeadingPath: []string{d.Title}}}}
}

// BenchmarkPutDocumentGroup stores one-chunk documents in groups of 64,
// one PutDocument each inside one InTx.
func BenchmarkPutDocumentGroup(b *testing.B) {
	s := benchPGStore(b)
	i := 0
	for b.Loop() {
		err := s.InTx(b.Context(), func(tx storage.Storage) error {
			for range 64 {
				it := benchItem(i)
				i++
				if _, err := tx.PutDocument(b.Context(), it.Document, it.Chunks); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkPutDocuments stores the same documents in groups of 64, one
// PutDocuments call (one pgx.Batch) per group.
func BenchmarkPutDocuments(b *testing.B) {
	s := benchPGStore(b)
	i := 0
	items := make([]storage.DocumentWithChunks, 64)
	for b.Loop() {
		for j := range items {
			items[j] = benchItem(i)
			i++
		}
		if _, err := s.PutDocuments(b.Context(), items); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkLexicalFiltered: SearchLexical (top 10) over 20,000 one-chunk
// documents of one bot, without a filter and with metadata filters
// applied in the candidate query: selective (Eq on a field 1% of the
// documents match; a range 4% match) and broad (a Not 90% match; an In
// with an Exists 86%), each the adaptive way SearchLexical applies them,
// and always candidate by candidate or always as a join, to compare.
// MINIRAG_BENCH_LEXICAL_DOCS changes the corpus size.
func BenchmarkLexicalFiltered(b *testing.B) {
	s := benchPGStore(b)
	ctx := b.Context()
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("MINIRAG_BENCH_LEXICAL_DOCS")); err == nil && v > 0 {
		n = v
	}
	r := rand.New(rand.NewPCG(7, 8))
	z := rand.NewZipf(r, 1.1, 2, 5000)
	words := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = fmt.Sprintf("w%d", z.Uint64())
		}
		return strings.Join(w, " ")
	}
	items := make([]storage.DocumentWithChunks, 0, 200)
	for i := range n {
		lang := "en"
		if i%10 == 0 {
			lang = "de"
		}
		d := record.Document{ID: fmt.Sprintf("d%d", i), TenantID: "t", SourceID: "s", Key: fmt.Sprintf("k%06d", i), Title: words(3),
			Metadata: record.Metadata{"category": fmt.Sprintf("c%d", i%100), "year": float64(2000 + i%25), "lang": lang, "tags": []any{"x", fmt.Sprintf("t%d", i%7)}}}
		items = append(items, storage.DocumentWithChunks{Document: d, Chunks: []record.Chunk{{ID: fmt.Sprintf("c%d", i), Text: words(40 + r.IntN(80))}}})
		if len(items) == cap(items) || i == n-1 {
			if _, err := s.PutDocuments(ctx, items); err != nil {
				b.Fatal(err)
			}
			items = items[:0]
		}
	}
	s.FoldStats(ctx, "t")
	if _, err := s.Pool().Exec(ctx, "ANALYZE "+pgx.Identifier{s.SchemaName()}.Sanitize()+".documents"); err != nil {
		b.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, "ANALYZE "+pgx.Identifier{s.SchemaName()}.Sanitize()+".chunks"); err != nil {
		b.Fatal(err)
	}
	queries := make([]string, 50)
	for i := range queries {
		queries[i] = words(2) + fmt.Sprintf(" w%d", 20+r.IntN(500))
	}
	for _, c := range []struct {
		name string
		f    filter.Filter
	}{
		{"none", filter.Filter{}},
		{"selective-eq-1pct", filter.Eq("category", "c7")},
		{"selective-range-4pct", filter.Between("year", 2003, 2004)},
		{"broad-not-90pct", filter.Not(filter.Eq("lang", "de"))},
		{"broad-in-86pct", filter.And(filter.In("tags", "t0", "t1", "t2", "t3", "t4", "t5"), filter.Exists("category"))},
	} {
		modes := []string{"adaptive", "each", "join"}
		if c.f.IsZero() {
			modes = modes[:1]
		}
		for _, mode := range modes {
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				s.SetLexicalFilterMode(mode)
				i := 0
				for b.Loop() {
					_, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", BotID: "b", Text: queries[i%len(queries)], Limit: 10, Filter: c.f})
					if err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
