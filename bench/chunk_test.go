package bench

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
	"github.com/tmc/langchaingo/textsplitter"

	"github.com/minirag/minirag/chunk"
)

// Chunking benchmarks on the prometheus-docs corpus of testdata/ (131
// markdown files, ~1.2 MB), 512-token limit, 64-token overlap, cl100k_base. Every
// benchmark processes the whole corpus once per iteration and reports MB/s
// of input (b.SetBytes), so the figures compare directly:
//
//		cd bench && go test -run '^$' -bench Chunk -benchmem -count 5
//
//	  - ChunkBaselineEncode: one tiktoken-go EncodeOrdinary per document (what
//	    "tokenize each text once" costs with tiktoken-go; chunk's own encoder
//	    produces the same ids, faster).
//	  - ChunkToken / ChunkMarkdown: chunk.TokenChunker / MarkdownChunker, one
//	    document after another on one goroutine.
//	  - ChunkLangchaingoPerDoc: textsplitter.TokenSplitter.SplitText called
//	    once per document, as a user calls it (it builds its encoder per call).
//	  - ChunkLangchaingoCorpus: the same on the whole corpus in one call.
//	  - ChunkTokenParallel / ChunkMarkdownParallel: chunk.ChunkAll over all
//	    documents on GOMAXPROCS goroutines.
const (
	chunkCorpusDir = "../testdata/prometheus-docs"
	chunkMax       = 512
	chunkOverlap   = 64
)

var (
	chunkDocsOnce sync.Once
	chunkDocs     []string
	chunkDocsErr  error
)

// loadChunkCorpus returns the corpus documents, normalized, in path order;
// it fails the benchmark when the corpus is absent.
func loadChunkCorpus(b *testing.B) ([]string, int64) {
	b.Helper()
	if _, err := os.Stat(chunkCorpusDir); err != nil {
		b.Fatalf("corpus not found at %s: %v", chunkCorpusDir, err)
	}
	chunkDocsOnce.Do(func() {
		var paths []string
		chunkDocsErr = filepath.WalkDir(chunkCorpusDir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
				paths = append(paths, path)
			}
			return err
		})
		slices.Sort(paths)
		for _, p := range paths {
			raw, err := os.ReadFile(p)
			if err != nil {
				chunkDocsErr = err
				return
			}
			text, err := chunk.NormalizeDocument(p, string(raw))
			if err != nil {
				chunkDocsErr = err
				return
			}
			chunkDocs = append(chunkDocs, text)
		}
	})
	if chunkDocsErr != nil {
		b.Fatal(chunkDocsErr)
	}
	var n int64
	for _, d := range chunkDocs {
		n += int64(len(d))
	}
	return chunkDocs, n
}

func chunkOptions() chunk.Options {
	return chunk.Options{MaxTokens: chunkMax, Overlap: chunkOverlap, Encoding: chunk.Cl100kBase}
}

var offlineOnce sync.Once

// offlineTiktoken points tiktoken-go's global BPE loader (used by the
// baseline and by langchaingo) at the embedded offline files, so that no
// benchmark reaches the network.
func offlineTiktoken() {
	offlineOnce.Do(func() { tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader()) })
}

func newTokenChunker(b *testing.B) *chunk.TokenChunker {
	c, err := chunk.NewTokenChunker(chunkOptions())
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkChunkBaselineEncode(b *testing.B) {
	docs, n := loadChunkCorpus(b)
	offlineTiktoken()
	tk, err := tiktoken.GetEncoding(chunk.Cl100kBase)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n)
	b.ResetTimer()
	for b.Loop() {
		for _, d := range docs {
			tk.EncodeOrdinary(d)
		}
	}
}

func benchChunker(b *testing.B, c chunk.Chunker) {
	docs, n := loadChunkCorpus(b)
	pieces := 0
	b.SetBytes(n)
	b.ResetTimer()
	for b.Loop() {
		pieces = 0
		for _, d := range docs {
			ps, err := c.Chunk(d)
			if err != nil {
				b.Fatal(err)
			}
			pieces += len(ps)
		}
	}
	b.ReportMetric(float64(pieces), "pieces")
}

func BenchmarkChunkToken(b *testing.B) {
	benchChunker(b, newTokenChunker(b))
}

func BenchmarkChunkMarkdown(b *testing.B) {
	c, err := chunk.NewMarkdownChunker(chunkOptions())
	if err != nil {
		b.Fatal(err)
	}
	benchChunker(b, c)
}

func langchaingoSplitter() textsplitter.TokenSplitter {
	return textsplitter.NewTokenSplitter(
		textsplitter.WithChunkSize(chunkMax),
		textsplitter.WithChunkOverlap(chunkOverlap),
		textsplitter.WithEncodingName(chunk.Cl100kBase),
	)
}

func BenchmarkChunkLangchaingoPerDoc(b *testing.B) {
	docs, n := loadChunkCorpus(b)
	offlineTiktoken()
	s := langchaingoSplitter()
	pieces := 0
	b.SetBytes(n)
	b.ResetTimer()
	for b.Loop() {
		pieces = 0
		for _, d := range docs {
			ps, err := s.SplitText(d)
			if err != nil {
				b.Fatal(err)
			}
			pieces += len(ps)
		}
	}
	b.ReportMetric(float64(pieces), "pieces")
}

func BenchmarkChunkLangchaingoCorpus(b *testing.B) {
	docs, n := loadChunkCorpus(b)
	offlineTiktoken()
	s := langchaingoSplitter()
	all := strings.Join(docs, "\n\n")
	pieces := 0
	b.SetBytes(n)
	b.ResetTimer()
	for b.Loop() {
		ps, err := s.SplitText(all)
		if err != nil {
			b.Fatal(err)
		}
		pieces = len(ps)
	}
	b.ReportMetric(float64(pieces), "pieces")
}

func benchChunkAll(b *testing.B, c chunk.Chunker) {
	docs, n := loadChunkCorpus(b)
	pieces := 0
	b.SetBytes(n)
	b.ResetTimer()
	for b.Loop() {
		out, err := chunk.ChunkAll(context.Background(), c, docs, 0)
		if err != nil {
			b.Fatal(err)
		}
		pieces = 0
		for _, ps := range out {
			pieces += len(ps)
		}
	}
	b.ReportMetric(float64(pieces), "pieces")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "workers")
}

func BenchmarkChunkTokenParallel(b *testing.B) {
	benchChunkAll(b, newTokenChunker(b))
}

func BenchmarkChunkMarkdownParallel(b *testing.B) {
	c, err := chunk.NewMarkdownChunker(chunkOptions())
	if err != nil {
		b.Fatal(err)
	}
	benchChunkAll(b, c)
}

// ratiosRound rotates BenchmarkChunkRatios' order from one run to the next.
var ratiosRound int

// BenchmarkChunkRatios measures the targets as ratios within one run, robust
// to a shared machine's changing load: each iteration times one pass over
// the whole corpus for every contender, one after another, in an order that
// rotates from one iteration (and one -count run) to the next, with the heap
// collected before each pass. Contenders: a tiktoken-go encode per document
// (baseline), our token and markdown chunkers per document, langchaingo's
// TokenSplitter once per document and once on the whole corpus, and
// chunk.ChunkAll over both cores. Metrics are throughput ratios ("x" =
// times faster): token/baseline and markdown/baseline (target >= 0.8),
// token/lcgo-doc and token/lcgo-corpus (target >= 4), and
// parallel/lcgo-corpus.
func BenchmarkChunkRatios(b *testing.B) {
	docs, _ := loadChunkCorpus(b)
	offlineTiktoken()
	tk, err := tiktoken.GetEncoding(chunk.Cl100kBase)
	if err != nil {
		b.Fatal(err)
	}
	tc := newTokenChunker(b)
	mc, err := chunk.NewMarkdownChunker(chunkOptions())
	if err != nil {
		b.Fatal(err)
	}
	lc := langchaingoSplitter()
	all := strings.Join(docs, "\n\n")
	perDoc := func(f func(string) error) func() error {
		return func() error {
			for _, d := range docs {
				if err := f(d); err != nil {
					return err
				}
			}
			return nil
		}
	}
	var base, tok, md, lcDoc, lcAll, par time.Duration
	contenders := []struct {
		d *time.Duration
		f func() error
	}{
		{&base, perDoc(func(d string) error { tk.EncodeOrdinary(d); return nil })},
		{&tok, perDoc(func(d string) error { _, err := tc.Chunk(d); return err })},
		{&md, perDoc(func(d string) error { _, err := mc.Chunk(d); return err })},
		{&lcDoc, perDoc(func(d string) error { _, err := lc.SplitText(d); return err })},
		{&lcAll, func() error { _, err := lc.SplitText(all); return err }},
		{&par, func() error { _, err := chunk.ChunkAll(context.Background(), tc, docs, 0); return err }},
	}
	for b.Loop() {
		ratiosRound++
		for k := range contenders {
			c := contenders[(ratiosRound+k)%len(contenders)]
			runtime.GC()
			t0 := time.Now()
			if err := c.f(); err != nil {
				b.Fatal(err)
			}
			*c.d += time.Since(t0)
		}
	}
	ratio := func(slow, fast time.Duration) float64 { return float64(slow) / float64(fast) }
	b.ReportMetric(ratio(base, tok), "x-token/baseline")
	b.ReportMetric(ratio(base, md), "x-markdown/baseline")
	b.ReportMetric(ratio(lcDoc, tok), "x-token/lcgo-doc")
	b.ReportMetric(ratio(lcAll, tok), "x-token/lcgo-corpus")
	b.ReportMetric(ratio(lcAll, par), "x-parallel/lcgo-corpus")
}
