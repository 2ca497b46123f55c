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
	"sync"
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

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkIngest ingests sources of three sizes and reports documents per
// second against the embedding server's capacity: nominal (slots / delay ×
// documents per request) and served (what a bare client that keeps the
// slots busy gets, measured in the same run). Concurrency is the server's
// slots + 2, so that a request is always waiting when a slot frees.
func BenchmarkIngest(b *testing.B) {
	for _, n := range []int{1000, 4000, 16000} {
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) { benchIngest(b, n) })
	}
}

// BenchmarkIngestMemory ingests sources of three sizes against a server
// without delay and samples the live heap (after a forced GC) every 5% of
// the documents: the pipeline's own memory is the peak live heap less what
// is retained after the run (the index and the database).
func BenchmarkIngestMemory(b *testing.B) {
	for _, n := range []int{1000, 4000, 16000} {
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) { benchIngestMemory(b, n) })
	}
}

// ingestTarget is a Client with one file source, ready to ingest.
type ingestTarget struct {
	c     *minirag.Client
	h     *minirag.TenantHandle
	srcID string
}

func newIngestTarget(b *testing.B, srv *openaitest.Server, dir string) ingestTarget {
	b.Helper()
	ctx := context.Background()
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
	// Initialize the index and warm the connections outside the timing.
	if _, err := h.Search(ctx, minirag.SearchRequest{BotID: bot.ID, Query: "warm up", Mode: minirag.SearchDense}); err != nil {
		b.Fatal(err)
	}
	return ingestTarget{c: c, h: h, srcID: src.ID}
}

func checkIngest(b *testing.B, res minirag.IngestResult, err error, n int) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
	if res.Added != n || res.Embedded != n {
		b.Fatalf("added %d, embedded %d chunks, want %d documents of one chunk", res.Added, res.Embedded, n)
	}
}

func benchIngest(b *testing.B, n int) {
	ctx := context.Background()
	dir := ingestDocs(b, n)
	srv := openaitest.Start(openaitest.Options{Dimensions: ingestDims, Delay: ingestDelay, MaxConcurrent: ingestSlots, NoRecord: true, Embed: cheapVector})
	defer srv.Close()
	capacity := float64(ingestSlots) / ingestDelay.Seconds() * ingestBatch // documents per second, nominal
	served := measureCapacity(b, srv)                                      // documents per second, served to a bare client

	var docsPerSec, ratio, ratioServed []float64
	for b.Loop() {
		b.StopTimer()
		t := newIngestTarget(b, srv, dir)
		b.StartTimer()
		start := time.Now()
		res, err := t.h.Ingest(ctx, t.srcID, minirag.IngestOptions{Concurrency: ingestSlots + 2, BatchSize: ingestBatch})
		elapsed := time.Since(start)
		b.StopTimer()
		checkIngest(b, res, err, n)
		dps := float64(n) / elapsed.Seconds()
		docsPerSec = append(docsPerSec, dps)
		ratio = append(ratio, dps/capacity)
		ratioServed = append(ratioServed, dps/served)
		if err := t.c.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(median(docsPerSec), "docs/s")
	b.ReportMetric(capacity, "nominal-docs/s")
	b.ReportMetric(served, "served-docs/s")
	b.ReportMetric(median(ratio), "ratio-nominal")
	b.ReportMetric(median(ratioServed), "ratio-served")
	b.ReportMetric(float64(srv.PeakConcurrency()), "peak-requests")
}

func benchIngestMemory(b *testing.B, n int) {
	ctx := context.Background()
	dir := ingestDocs(b, n)
	srv := openaitest.Start(openaitest.Options{Dimensions: ingestDims, NoRecord: true, Embed: cheapVector})
	defer srv.Close()
	var livePeakMB, retainedMB, pipelineMB []float64
	for b.Loop() {
		b.StopTimer()
		t := newIngestTarget(b, srv, dir)
		base := heapInuse()
		var peak uint64
		every := max(n/20, 1)
		b.StartTimer()
		res, err := t.h.Ingest(ctx, t.srcID, minirag.IngestOptions{Concurrency: ingestSlots, BatchSize: ingestBatch,
			Progress: func(p minirag.IngestProgress) {
				if p.Documents%every == 0 {
					peak = max(peak, heapInuse())
				}
			}})
		b.StopTimer()
		checkIngest(b, res, err, n)
		retained := heapInuse()
		peak = max(peak, retained)
		livePeakMB = append(livePeakMB, mb(peak-min(peak, base)))
		retainedMB = append(retainedMB, mb(retained-min(retained, base)))
		pipelineMB = append(pipelineMB, mb(peak-retained))
		if err := t.c.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(median(livePeakMB), "live-peak-MB")
	b.ReportMetric(median(retainedMB), "retained-MB")
	b.ReportMetric(median(pipelineMB), "pipeline-MB")
}

// measureCapacity returns the documents per second the server serves to a
// bare client that keeps ingestSlots requests of ingestBatch texts in
// flight and does nothing else: the nominal capacity less the server's and
// HTTP's own overhead per request.
func measureCapacity(b *testing.B, srv *openaitest.Server) float64 {
	b.Helper()
	emb, err := embedopenai.New(embedopenai.Config{BaseURL: srv.URL, Model: "bench-embed", Dimensions: ingestDims,
		HTTPClient: srv.Client(), BatchSize: ingestBatch, MaxRetries: -1})
	if err != nil {
		b.Fatal(err)
	}
	texts := make([]string, ingestBatch)
	for i := range texts {
		texts[i] = fmt.Sprintf("Service %d handles request class %d with a timeout of %d seconds.", i, i%6, i+10)
	}
	const perSlot = 25
	run := func() time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for range ingestSlots {
			wg.Go(func() {
				for range perSlot {
					if _, err := emb.Embed(context.Background(), texts); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	run() // warm the connections
	el := run()
	return float64(ingestSlots*perSlot*ingestBatch) / el.Seconds()
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

// BenchmarkIngestDocsCorpus ingests the prometheus-docs corpus of
// testdata/ (131 markdown files, 1.2 MB) on the embedded stack as Open
// builds it (storage/sqlite, vectorstore/local on disk with its default
// fsync, the offline hashing embedder, the default chunkers and
// IngestOptions) into a new folder each iteration, and reports MB/s of
// source text, chunks per second and the CPU time of the process per
// ingestion (user + system, all threads: what a busy machine inflates
// least; BenchmarkIngestMemory measures the heap). Nothing waits on a network, so this is the
// pipeline's own cost (issue 11, item 6):
//
//	cd bench && go test -run '^$' -bench IngestDocsCorpus -benchtime 10x -count 5
func BenchmarkIngestDocsCorpus(b *testing.B) {
	ctx := context.Background()
	var size int64
	err := filepath.WalkDir(chunkCorpusDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			info, err := d.Info()
			if err != nil {
				return err
			}
			size += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	dir, err := filepath.Abs(chunkCorpusDir)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	var chunks int
	var elapsed, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
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
			Config: loader.FileConfig{Path: dir, Include: []string{"*.md"}}})
		if err != nil {
			b.Fatal(err)
		}
		start, cpu0 := time.Now(), cpuTime()
		b.StartTimer()
		res, err := h.Ingest(ctx, src.ID, minirag.IngestOptions{})
		b.StopTimer()
		elapsed += time.Since(start)
		cpu += cpuTime() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Failed) > 0 || res.Added == 0 {
			b.Fatalf("ingest: %+v", res)
		}
		chunks += res.Embedded
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(chunks)/elapsed.Seconds(), "chunks/s")
	b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
}
