package bench

// Ingestion benchmark: a directory of small markdown documents ingested
// through the whole pipeline (file loader → normalize → hash → markdown
// chunker → embed/openai → vectorstore/local → storage/sqlite) against an
// OpenAI-compatible embedding server (internal/openaitest) that answers each
// request after a fixed delay and serves at most N requests at once. Such a
// server can serve at most N / delay requests per second, so
// N / delay × (documents per request) documents per second: the pipeline
// should get within 90% of that (it is never the bottleneck), with memory
// that does not grow with the source. Run with:
//
//	cd bench && go test -run '^$' -bench Ingest -benchtime 3x
//
// Figures and targets: docs/perf-ingest.md.

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minirag/minirag"
	embedopenai "github.com/minirag/minirag/embed/openai"
	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore/local"
)

const (
	ingestDims = 64
	// The embedding server: each request answered after ingestDelay, at
	// most ingestSlots at once; the pipeline keeps ingestSlots requests of
	// ingestBatch chunks in flight.
	ingestDelay = 50 * time.Millisecond
	ingestSlots = 4
	ingestBatch = 16
)

// ingestDocs writes n markdown documents of one chunk each under a new
// temporary directory.
func ingestDocs(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("part-%02d", i%50))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "# Service %d\n\n", i)
		for j := range 6 {
			fmt.Fprintf(&sb, "Service %d handles request class %d with a timeout of %d seconds and retries %d times. ", i, j, (i+j)%90+10, j%5)
		}
		sb.WriteString("\n")
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("service-%05d.md", i)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// cheapVector is the server's embedding: deterministic and cheap, so that
// the fake server takes no CPU from the pipeline it measures.
func cheapVector(text string, dims int) []float32 {
	v := make([]float32, dims)
	h := uint32(2166136261)
	for i := 0; i < len(text); i++ {
		h = (h ^ uint32(text[i])) * 16777619
	}
	for i := range v {
		h = h*1664525 + 1013904223
		v[i] = float32(h>>8)/float32(1<<24) - 0.5
	}
	return v
}

// heapPeak samples HeapInuse until stopped and returns the largest value.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var ms runtime.MemStats
		var peak uint64
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkIngest ingests sources of two sizes and reports documents per
// second against the embedding server's capacity, and the heap.
func BenchmarkIngest(b *testing.B) {
	for _, n := range []int{1000, 4000} {
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) { benchIngest(b, n) })
	}
}

func benchIngest(b *testing.B, n int) {
	ctx := context.Background()
	dir := ingestDocs(b, n)
	srv := openaitest.Start(openaitest.Options{Dimensions: ingestDims, Delay: ingestDelay, MaxConcurrent: ingestSlots, NoRecord: true, Embed: cheapVector})
	defer srv.Close()
	capacity := float64(ingestSlots) / ingestDelay.Seconds() * ingestBatch // documents per second

	var docsPerSec, ratio, peakMB, retainedMB, workMB []float64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		emb, err := embedopenai.New(embedopenai.Config{BaseURL: srv.URL, Model: "bench-embed", Dimensions: ingestDims,
			HTTPClient: srv.Client(), BatchSize: ingestBatch, Concurrency: ingestSlots, MaxRetries: -1})
		if err != nil {
			b.Fatal(err)
		}
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "minirag.db"))
		if err != nil {
			b.Fatal(err)
		}
		vs, err := local.Open(filepath.Join(b.TempDir(), "vectors"), local.WithSync(false))
		if err != nil {
			b.Fatal(err)
		}
		c, err := minirag.New(minirag.Config{Storage: st, VectorStore: vs, Embedder: emb})
		if err != nil {
			b.Fatal(err)
		}
		boot, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Bench", Slug: "bench", OwnerEmail: "b@bench.example"})
		if err != nil {
			b.Fatal(err)
		}
		h := c.Tenant(boot.Tenant.ID)
		bot, err := h.CreateBot(ctx, minirag.BotParams{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		src, err := h.CreateSource(ctx, minirag.SourceParams{BotID: bot.ID, Name: "docs", Type: minirag.SourceFile, Config: loader.FileConfig{Path: dir}})
		if err != nil {
			b.Fatal(err)
		}
		// Learn the vector size and warm the connections outside the timing.
		if _, err := h.Search(ctx, minirag.SearchRequest{BotID: bot.ID, Query: "warm up", Mode: minirag.SearchDense}); err != nil {
			b.Fatal(err)
		}
		base := heapInuse()
		stop := make(chan struct{})
		peakCh := heapPeak(stop)
		var done atomic.Int64
		b.StartTimer()

		start := time.Now()
		res, err := h.Ingest(ctx, src.ID, minirag.IngestOptions{Concurrency: ingestSlots, BatchSize: ingestBatch,
			Progress: func(p minirag.IngestProgress) { done.Store(int64(p.Documents)) }})
		elapsed := time.Since(start)

		b.StopTimer()
		close(stop)
		peak := <-peakCh
		if err != nil {
			b.Fatal(err)
		}
		if res.Added != n || res.Embedded != n {
			b.Fatalf("added %d, embedded %d chunks, want %d documents of one chunk", res.Added, res.Embedded, n)
		}
		retained := heapInuse()
		dps := float64(n) / elapsed.Seconds()
		docsPerSec = append(docsPerSec, dps)
		ratio = append(ratio, dps/capacity)
		peakMB = append(peakMB, mb(peak-min(peak, base)))
		retainedMB = append(retainedMB, mb(retained-min(retained, base)))
		workMB = append(workMB, mb(peak-min(peak, retained)))
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(median(docsPerSec), "docs/s")
	b.ReportMetric(capacity, "server-docs/s")
	b.ReportMetric(median(ratio), "ratio")
	b.ReportMetric(median(peakMB), "peak-heap-MB")
	b.ReportMetric(median(retainedMB), "retained-heap-MB")
	b.ReportMetric(median(workMB), "working-heap-MB")
	b.ReportMetric(float64(srv.PeakConcurrency()), "peak-requests")
}

func mb(n uint64) float64 { return math.Round(float64(n)/(1<<20)*10) / 10 }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
