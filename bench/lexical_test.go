package bench

// Lexical search latency: storage/postgres (BM25 over the tsvector and its
// GIN index) against storage/sqlite (FTS5's BM25), on the same synthetic
// corpus and queries, one process, the same machine.
//
//	eval "$(../scripts/services start)"     # from bench/, or export MINIRAG_TEST_POSTGRES_URL
//	MINIRAG_BENCH_LEXICAL_SIZES=100000 go test -run '^$' -bench Lexical -benchtime 400x -count 1
//
// Sizes (chunks) come from MINIRAG_BENCH_LEXICAL_SIZES (default "2000", so
// that the test command's run-once pass stays short). Each operation is one
// SearchLexical for the top 10 of one of 200 queries, in turn; besides
// ns/op the benchmark reports the median and 90th percentile latency
// (p50-ms, p90-ms). Figures: docs/PERFORMANCE.md, "Lexical search".

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/storage/sqlite"
)

// lexCorpus is a synthetic corpus whose words follow Zipf's law, as words
// of natural text do: a few very common words (English stop words first)
// in most chunks, a long tail of rare ones.
type lexCorpus struct {
	vocab []string
	r     *rand.Rand
	zipf  *rand.Zipf
}

var lexStopWords = strings.Fields(`the of and to a in is that for it as with was on be by this are or from at
	which an not have has but can its all when each more their will one also other than into only how what`)

func newLexCorpus(seed uint64) *lexCorpus {
	r := rand.New(rand.NewPCG(seed, 7))
	vocab := append([]string(nil), lexStopWords...)
	seen := map[string]bool{}
	for _, w := range vocab {
		seen[w] = true
	}
	const cons, vows = "bcdfghklmnprstvz", "aeiou"
	for len(vocab) < 30000 {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteByte(cons[r.IntN(len(cons))])
			b.WriteByte(vows[r.IntN(len(vows))])
		}
		b.WriteByte(cons[r.IntN(len(cons))])
		w := b.String()
		if !seen[w] {
			seen[w] = true
			vocab = append(vocab, w)
		}
	}
	return &lexCorpus{vocab: vocab, r: r, zipf: rand.NewZipf(r, 1.07, 2, uint64(len(vocab)-1))}
}

func (c *lexCorpus) words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = c.vocab[c.zipf.Uint64()]
	}
	return strings.Join(w, " ")
}

// query is a question-like query: six words of the text's distribution
// (mostly common ones) and two content words of middling rank.
func (c *lexCorpus) query() string {
	w := strings.Fields(c.words(6))
	for range 2 {
		w = append(w, c.vocab[100+c.r.IntN(5000)])
	}
	return strings.Join(w, " ")
}

// lexItems returns n chunks as documents of 5 chunks of 120 to 200 words.
func lexItems(c *lexCorpus, n int) []storage.DocumentWithChunks {
	var out []storage.DocumentWithChunks
	for i := 0; i < n; i += 5 {
		d := record.Document{ID: "d" + strconv.Itoa(i), TenantID: "t", SourceID: "s", Key: "k" + strconv.Itoa(i), Title: c.words(3)}
		var chunks []record.Chunk
		for j := i; j < min(i+5, n); j++ {
			chunks = append(chunks, record.Chunk{ID: "c" + strconv.Itoa(j), Ordinal: j - i, Text: c.words(120 + c.r.IntN(81))})
		}
		out = append(out, storage.DocumentWithChunks{Document: d, Chunks: chunks})
	}
	return out
}

func lexicalSizes() []int {
	v := os.Getenv("MINIRAG_BENCH_LEXICAL_SIZES")
	if v == "" {
		v = "2000"
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n >= 100 {
			out = append(out, n)
		}
	}
	return out
}

// lexFill creates the tenant, bot and source and stores items in batches.
func lexFill(b *testing.B, st storage.Storage, items []storage.DocumentWithChunks) {
	ctx := b.Context()
	now := time.Now().UTC()
	for _, err := range []error{
		st.CreateTenant(ctx, record.Tenant{ID: "t", Slug: "t", CreatedAt: now, UpdatedAt: now}),
		st.CreateBot(ctx, record.Bot{ID: "bot", TenantID: "t", Language: "english", CreatedAt: now, UpdatedAt: now}),
		st.CreateSource(ctx, record.Source{ID: "s", TenantID: "t", BotID: "bot", Type: record.SourceText,
			Status: record.StatusPending, CreatedAt: now, UpdatedAt: now}),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < len(items); i += 100 {
		batch := items[i:min(i+100, len(items))]
		for j := range batch {
			batch[j].Document.CreatedAt, batch[j].Document.UpdatedAt = now, now
		}
		if _, err := st.(storage.DocumentBatcher).PutDocuments(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// lexRun searches the queries in turn, b.N times, and reports the median
// and 90th percentile latency.
func lexRun(b *testing.B, st storage.Storage, queries []string) {
	ctx := b.Context()
	// One pass first: caches warm, plans made.
	for _, q := range queries {
		if _, err := st.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", BotID: "bot", Text: q, Limit: 10}); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		start := time.Now()
		m, err := st.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", BotID: "bot", Text: queries[i%len(queries)], Limit: 10})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if len(m) == 0 {
			b.Fatalf("query %q found nothing", queries[i%len(queries)])
		}
		i++
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*9/10]), "p90-ms")
}

// BenchmarkLexical compares SearchLexical on SQLite (FTS5) and PostgreSQL
// on the same corpus and queries.
func BenchmarkLexical(b *testing.B) {
	for _, n := range lexicalSizes() {
		c := newLexCorpus(1)
		items := lexItems(c, n)
		queries := make([]string, 200)
		for i := range queries {
			queries[i] = c.query()
		}
		b.Run(fmt.Sprintf("sqlite/chunks=%d", n), func(b *testing.B) {
			st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "lex.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			lexFill(b, st, items)
			lexRun(b, st, queries)
		})
		b.Run(fmt.Sprintf("postgres/chunks=%d", n), func(b *testing.B) {
			url := testsvc.PostgresURL(b)
			ctx := context.Background()
			pool := testsvc.Pool(b, testsvc.PoolConfig(b, url, 4))
			schema := testsvc.Schema(b, url)
			st, err := postgres.New(ctx, pool, postgres.WithSchema(schema))
			if err != nil {
				b.Fatal(err)
			}
			lexFill(b, st, items)
			// The steady state of a live table: autovacuum's statistics and
			// visibility map.
			if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+pgxIdent(schema)+".chunks"); err != nil {
				b.Fatal(err)
			}
			lexRun(b, st, queries)
		})
	}
}

func pgxIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
