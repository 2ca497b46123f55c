package bench

// Search latency through the SDK on the embedded stack (issue 11, item 1):
// TenantHandle.Search in dense, lexical and hybrid mode, top 10, on a
// Client built by minirag.Open (storage/sqlite, vectorstore/local, the
// hashing embedder), over one tenant's bot holding N chunks.
//
//	cd bench && MINIRAG_BENCH_SEARCH_SIZES=10000,100000 go test -run '^$' -bench SearchLatency -benchtime 600x -timeout 60m
//
// Sizes (chunks) come from MINIRAG_BENCH_SEARCH_SIZES (default "2000", so
// that the test command's run-once pass stays short). The corpus is
// synthetic and written as N markdown files of one chunk each (120 to 200
// words drawn by Zipf's law over a 30,000-word vocabulary whose 40 most
// common words are English stop words, as in BenchmarkLexical), ingested
// by Ingest before the clock starts. Each operation is one search for one
// of 200 question-like queries, in turn, after one untimed pass over them;
// the benchmark reports the median, 95th and 99th percentile latency
// (p50-ms, p95-ms, p99-ms). Figures: docs/PERFORMANCE.md.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/loader"
)

func searchSizes() []int {
	v := os.Getenv("MINIRAG_BENCH_SEARCH_SIZES")
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

// searchTarget is a Client holding n chunks in one bot, and the queries.
type searchTarget struct {
	c       *minirag.Client
	h       *minirag.TenantHandle
	botID   string
	queries []string
}

// newSearchTarget writes n one-chunk documents and ingests them.
func newSearchTarget(b *testing.B, n int) searchTarget {
	b.Helper()
	ctx := context.Background()
	corpus := newLexCorpus(1)
	dir := b.TempDir()
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("part-%03d", i%500))
		if i < 500 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		text := "# " + corpus.words(3) + "\n\n" + corpus.words(120+corpus.r.IntN(81)) + "\n"
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("doc-%07d.md", i)), []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	c, err := minirag.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	boot, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Bench", Slug: "bench", OwnerEmail: "b@bench.example"})
	if err != nil {
		b.Fatal(err)
	}
	h := c.Tenant(boot.Tenant.ID)
	bot, err := h.CreateBot(ctx, minirag.BotParams{Name: "docs"})
	if err != nil {
		b.Fatal(err)
	}
	src, err := h.CreateSource(ctx, minirag.SourceParams{BotID: bot.ID, Name: "docs", Type: minirag.SourceFile,
		Config: loader.FileConfig{Path: dir}})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	res, err := h.Ingest(ctx, src.ID, minirag.IngestOptions{})
	if err != nil {
		b.Fatal(err)
	}
	// A text of long synthetic words now and then takes two chunks.
	if res.Chunks < n {
		b.Fatalf("ingested %d chunks, want at least %d", res.Chunks, n)
	}
	b.Logf("%d chunks ingested in %s", res.Chunks, time.Since(start).Round(time.Millisecond))
	os.RemoveAll(dir)
	queries := make([]string, 200)
	for i := range queries {
		queries[i] = corpus.query()
	}
	return searchTarget{c: c, h: h, botID: bot.ID, queries: queries}
}

// BenchmarkSearchLatency reports latency percentiles of dense, lexical
// and hybrid search by corpus size.
func BenchmarkSearchLatency(b *testing.B) {
	for _, n := range searchSizes() {
		t := newSearchTarget(b, n)
		for _, mode := range []minirag.SearchMode{minirag.SearchDense, minirag.SearchLexical, minirag.SearchHybrid} {
			b.Run(fmt.Sprintf("chunks=%d/%s", n, mode), func(b *testing.B) { searchLatency(b, t, mode) })
		}
		if err := t.c.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func searchLatency(b *testing.B, t searchTarget, mode minirag.SearchMode) {
	ctx := context.Background()
	search := func(q string) {
		res, err := t.h.Search(ctx, minirag.SearchRequest{BotID: t.botID, Query: q, Mode: mode, TopK: 10})
		if err != nil {
			b.Fatal(err)
		}
		if len(res) == 0 {
			b.Fatalf("%s search for %q found nothing", mode, q)
		}
	}
	for _, q := range t.queries {
		search(q)
	}
	lat := make([]time.Duration, 0, b.N)
	i := 0
	for b.Loop() {
		start := time.Now()
		search(t.queries[i%len(t.queries)])
		lat = append(lat, time.Since(start))
		i++
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	pct := func(p int) time.Duration { return lat[min(len(lat)-1, len(lat)*p/100)] }
	b.ReportMetric(ms(pct(50)), "p50-ms")
	b.ReportMetric(ms(pct(95)), "p95-ms")
	b.ReportMetric(ms(pct(99)), "p99-ms")
}
