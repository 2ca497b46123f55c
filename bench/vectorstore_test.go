package bench

// Vector store benchmarks: vectorstore/local against the machine's memory
// bandwidth and against chromem-go v0.7.0, on 100,000 vectors of 384
// dimensions in one tenant. Run with:
//
//	cd bench && go test -run '^$' -bench 'Vector|Chromem|Bandwidth' -benchmem -count 5
//
// Figures and targets: docs/perf-vectorstore.md.

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/local"
	"github.com/philippgille/chromem-go"
)

const (
	vsCount = 100_000
	vsDims  = 384
	vsTopK  = 10
	// vsRawBytes is the size of the vectors as float32s.
	vsRawBytes = vsCount * vsDims * 4
)

var vsSpace = vectorstore.Space{Model: "bench-384", Dims: vsDims}

// vsData is the dataset, built once per process: unit vectors with
// uniformly random components (normalized up front so that chromem-go does
// not copy them), their IDs, and a few query vectors.
var vsData = sync.OnceValue(func() (d struct {
	flat    []float32
	vecs    [][]float32
	ids     []string
	queries [][]float32
}) {
	r := rand.New(rand.NewPCG(42, 384))
	d.flat = make([]float32, vsCount*vsDims)
	d.vecs = make([][]float32, vsCount)
	d.ids = make([]string, vsCount)
	for i := range d.vecs {
		v := d.flat[i*vsDims : (i+1)*vsDims : (i+1)*vsDims]
		randUnit(r, v)
		d.vecs[i] = v
		d.ids[i] = "chunk-" + strconv.Itoa(i)
	}
	for range 16 {
		q := make([]float32, vsDims)
		randUnit(r, q)
		d.queries = append(d.queries, q)
	}
	return d
})

func randUnit(r *rand.Rand, v []float32) {
	var ss float64
	for j := range v {
		x := r.Float64()*2 - 1
		v[j] = float32(x)
		ss += x * x
	}
	inv := 1 / math.Sqrt(ss)
	for j := range v {
		v[j] = float32(float64(v[j]) * inv)
	}
}

func vsRecords(ids []string) []vectorstore.Record {
	d := vsData()
	recs := make([]vectorstore.Record, vsCount)
	for i := range recs {
		recs[i] = vectorstore.Record{TenantID: "tenant", BotID: "bot", SourceID: "source-" + strconv.Itoa(i%10), DocumentID: "doc-" + strconv.Itoa(i/20), Vector: d.vecs[i]}
		if ids != nil {
			recs[i].ID = ids[i]
		}
	}
	return recs
}

// localStore is the memory-only local store holding the dataset.
var localStore = sync.OnceValues(func() (*local.Store, error) {
	s, err := local.Open("")
	if err != nil {
		return nil, err
	}
	if err := s.Init(context.Background(), vsSpace); err != nil {
		return nil, err
	}
	recs := vsRecords(vsData().ids)
	for i := 0; i < len(recs); i += 1000 {
		if err := s.Upsert(context.Background(), recs[i:i+1000]); err != nil {
			return nil, err
		}
	}
	return s, nil
})

var errNoEmbedding = errors.New("bench: chromem-go must not embed: every document has its vector")

func noEmbed(context.Context, string) ([]float32, error) { return nil, errNoEmbedding }

func chromemDocs() []chromem.Document {
	d := vsData()
	docs := make([]chromem.Document, vsCount)
	for i := range docs {
		docs[i] = chromem.Document{ID: d.ids[i], Embedding: d.vecs[i], Metadata: map[string]string{"tenant": "tenant"}}
	}
	return docs
}

// chromemCollection is a chromem-go in-memory collection holding the dataset.
var chromemCollection = sync.OnceValues(func() (*chromem.Collection, error) {
	db := chromem.NewDB()
	c, err := db.CreateCollection("bench", nil, noEmbed)
	if err != nil {
		return nil, err
	}
	if err := c.AddDocuments(context.Background(), chromemDocs(), runtime.NumCPU()); err != nil {
		return nil, err
	}
	return c, nil
})

// readPass reads every word of data once (the XORs keep the loads live and
// cost nothing next to them).
func readPass(data []uint64) uint64 {
	var a0, a1, a2, a3, a4, a5, a6, a7 uint64
	i := 0
	for ; i+8 <= len(data); i += 8 {
		w := data[i : i+8 : i+8]
		a0 ^= w[0]
		a1 ^= w[1]
		a2 ^= w[2]
		a3 ^= w[3]
		a4 ^= w[4]
		a5 ^= w[5]
		a6 ^= w[6]
		a7 ^= w[7]
	}
	for ; i < len(data); i++ {
		a0 ^= data[i]
	}
	return a0 ^ a1 ^ a2 ^ a3 ^ a4 ^ a5 ^ a6 ^ a7
}

// countPass reads every byte of data once with the standard library's
// vectorized byte count (AVX2 on amd64), which may reach a higher
// bandwidth than scalar loads.
func countPass(data []uint64) uint64 {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 8*len(data))
	return uint64(bytes.Count(b, []byte{0x3f}))
}

// passParallel runs readPass over data split between workers goroutines.
func passParallel(data []uint64, workers int, readPass func([]uint64) uint64) uint64 {
	if workers <= 1 {
		return readPass(data)
	}
	out := make([]uint64, workers)
	per := (len(data) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[w] = readPass(data[min(w*per, len(data)):min((w+1)*per, len(data))])
		}()
	}
	wg.Wait()
	var x uint64
	for _, v := range out {
		x ^= v
	}
	return x
}

func words(f []float32) []uint64 {
	return unsafe.Slice((*uint64)(unsafe.Pointer(&f[0])), len(f)/2)
}

var sink uint64

// BenchmarkBandwidth times one read pass over the 100,000×384 float32s
// (153.6 MB), with one goroutine and with GOMAXPROCS goroutines, two ways
// (scalar 8-byte loads, and the standard library's vectorized bytes.Count):
// the machine's memory bandwidth, the floor for an exact search.
func BenchmarkBandwidth(b *testing.B) {
	w := words(vsData().flat)
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run("xor/goroutines="+strconv.Itoa(workers), func(b *testing.B) {
			b.SetBytes(vsRawBytes)
			for b.Loop() {
				sink ^= passParallel(w, workers, readPass)
			}
		})
		b.Run("count/goroutines="+strconv.Itoa(workers), func(b *testing.B) {
			b.SetBytes(vsRawBytes)
			for b.Loop() {
				sink ^= passParallel(w, workers, countPass)
			}
		})
	}
}

// BenchmarkVectorSearchLocal is an exact top-10 over 100,000 vectors of
// one tenant in vectorstore/local: with no other filter, with a bot filter
// every record matches (the usual case: a search is for one bot), and with
// a filter on one source of ten.
func BenchmarkVectorSearchLocal(b *testing.B) {
	s, err := localStore()
	if err != nil {
		b.Fatal(err)
	}
	qs := vsData().queries
	ctx := context.Background()
	for _, c := range []struct {
		name string
		f    vectorstore.Filter
	}{
		{"tenant", vectorstore.Filter{TenantID: "tenant"}},
		{"bot", vectorstore.Filter{TenantID: "tenant", BotID: "bot"}},
		{"source-10pct", vectorstore.Filter{TenantID: "tenant", SourceIDs: []string{"source-3"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(vsRawBytes)
			i := 0
			for b.Loop() {
				ms, err := s.Search(ctx, vectorstore.Query{Vector: qs[i%len(qs)], TopK: vsTopK, Filter: c.f})
				if err != nil || len(ms) != vsTopK {
					b.Fatalf("Search: %d matches, %v", len(ms), err)
				}
				i++
			}
		})
	}
}

// BenchmarkChromemQueryEmbedding is chromem-go v0.7.0's exact top-10 over
// the same vectors.
func BenchmarkChromemQueryEmbedding(b *testing.B) {
	c, err := chromemCollection()
	if err != nil {
		b.Fatal(err)
	}
	qs := vsData().queries
	ctx := context.Background()
	b.SetBytes(vsRawBytes)
	i := 0
	for b.Loop() {
		res, err := c.QueryEmbedding(ctx, qs[i%len(qs)], vsTopK, nil, nil)
		if err != nil || len(res) != vsTopK {
			b.Fatalf("QueryEmbedding: %d results, %v", len(res), err)
		}
		i++
	}
}

// evictBuf is swept before each timed step of the cold ratios so that
// neither the vectors nor the store start in the CPU caches (some servers
// have hundreds of MiB of L3, more than the 153.6 MB of vectors).
var evictBuf = sync.OnceValue(func() []uint64 {
	b := make([]uint64, 1<<30/8) // 1 GiB
	for i := range b {
		b[i] = uint64(i)
	}
	return b
})

func evictCaches() {
	b := evictBuf()
	sink ^= passParallel(b, runtime.GOMAXPROCS(0), readPass)
}

// BenchmarkVectorSearchRatios measures, in each iteration, one read pass at
// full bandwidth (all cores; the faster of the scalar and vectorized
// passes), one local search and one chromem-go search, and reports the
// ratios the targets are stated in: local/bandwidth (target <= 2) and
// chromem/local (target >= 4), from mean times and from the best time of
// each (best-…). "warm" runs them back to back (data possibly in cache);
// "cold" sweeps 1 GiB through the caches before each timed step, so each
// reads from memory.
func BenchmarkVectorSearchRatios(b *testing.B) {
	s, err := localStore()
	if err != nil {
		b.Fatal(err)
	}
	c, err := chromemCollection()
	if err != nil {
		b.Fatal(err)
	}
	d := vsData()
	w := words(d.flat)
	ctx := context.Background()
	for _, cold := range []bool{false, true} {
		name := "warm"
		if cold {
			name = "cold"
			evictBuf()
		}
		b.Run(name, func(b *testing.B) {
			evict := func() {
				if cold {
					evictCaches()
				}
			}
			var tBW, tLocal, tChromem time.Duration
			bestBW, bestLocal, bestChromem := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
			i := 0
			for b.Loop() {
				q := d.queries[i%len(d.queries)]
				i++
				evict()
				ta := time.Now()
				sink ^= passParallel(w, runtime.GOMAXPROCS(0), readPass)
				tb := time.Now()
				evict()
				tc := time.Now()
				sink ^= passParallel(w, runtime.GOMAXPROCS(0), countPass)
				td := time.Now()
				bw := min(tb.Sub(ta), td.Sub(tc))
				evict()
				t1 := time.Now()
				ms, err := s.Search(ctx, vectorstore.Query{Vector: q, TopK: vsTopK, Filter: vectorstore.Filter{TenantID: "tenant"}})
				t2 := time.Now()
				if err != nil || len(ms) != vsTopK {
					b.Fatalf("Search: %d matches, %v", len(ms), err)
				}
				evict()
				t3 := time.Now()
				res, err := c.QueryEmbedding(ctx, q, vsTopK, nil, nil)
				t4 := time.Now()
				if err != nil || len(res) != vsTopK {
					b.Fatalf("QueryEmbedding: %d results, %v", len(res), err)
				}
				if res[0].ID != ms[0].ID {
					b.Fatalf("best match differs: chromem-go %s, local %s", res[0].ID, ms[0].ID)
				}
				tBW += bw
				tLocal += t2.Sub(t1)
				tChromem += t4.Sub(t3)
				bestBW, bestLocal, bestChromem = min(bestBW, bw), min(bestLocal, t2.Sub(t1)), min(bestChromem, t4.Sub(t3))
			}
			b.ReportMetric(float64(tBW.Nanoseconds())/float64(b.N), "bandwidth-ns/pass")
			b.ReportMetric(float64(tLocal.Nanoseconds())/float64(b.N), "local-ns/search")
			b.ReportMetric(float64(tChromem.Nanoseconds())/float64(b.N), "chromem-ns/search")
			b.ReportMetric(float64(tLocal)/float64(tBW), "local/bandwidth")
			b.ReportMetric(float64(tChromem)/float64(tLocal), "chromem/local")
			// Best-of-N ratios: less sensitive to other processes on a shared machine.
			b.ReportMetric(float64(bestLocal)/float64(bestBW), "best-local/bandwidth")
			b.ReportMetric(float64(bestChromem)/float64(bestLocal), "best-chromem/local")
		})
	}
}

// BenchmarkVectorAddLocal adds the 100,000 vectors to a new memory-only
// local store in batches of 1,000 and reports its peak heap (sampled after
// every batch) and total allocation as multiples of the raw vector bytes
// (target: peak <= 1.3). The record IDs are allocated inside the measured
// span, as the store keeps them; the input Record structs are the caller's.
func BenchmarkVectorAddLocal(b *testing.B) {
	benchAddLocal(b, "")
}

// BenchmarkVectorAddLocalDisk is BenchmarkVectorAddLocal on disk with the
// default durability (write-ahead log fsynced after every batch).
func BenchmarkVectorAddLocalDisk(b *testing.B) {
	benchAddLocal(b, "disk")
}

func benchAddLocal(b *testing.B, disk string) {
	ctx := context.Background()
	recs := vsRecords(nil)
	var peakSum, allocSum, liveSum float64
	b.SetBytes(vsRawBytes)
	for b.Loop() {
		dir := ""
		if disk != "" {
			dir = b.TempDir()
		}
		for i := range recs {
			recs[i].ID = ""
		}
		runtime.GC()
		var m0, m runtime.MemStats
		runtime.ReadMemStats(&m0)
		for i := range recs {
			recs[i].ID = "chunk-" + strconv.Itoa(i)
		}
		s, err := local.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Init(ctx, vsSpace); err != nil {
			b.Fatal(err)
		}
		var peak uint64
		for i := 0; i < len(recs); i += 1000 {
			if err := s.Upsert(ctx, recs[i:i+1000]); err != nil {
				b.Fatal(err)
			}
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse-min(m.HeapInuse, m0.HeapInuse))
		}
		peakSum += float64(peak) / vsRawBytes
		allocSum += float64(m.TotalAlloc-m0.TotalAlloc) / vsRawBytes
		if n := s.Len("tenant"); n != vsCount {
			b.Fatalf("Len = %d", n)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&m)
		liveSum += float64(m.HeapInuse-min(m.HeapInuse, m0.HeapInuse)) / vsRawBytes
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(peakSum/float64(b.N), "peak-heap/raw")
	b.ReportMetric(allocSum/float64(b.N), "alloc/raw")
	b.ReportMetric(liveSum/float64(b.N), "live-heap/raw")
}

// BenchmarkVectorOpenLocal times opening a local store of the 100,000
// vectors from disk (Open, Init, Close): from the write-ahead log alone, and
// from a snapshot.
func BenchmarkVectorOpenLocal(b *testing.B) {
	ctx := context.Background()
	recs := vsRecords(vsData().ids)
	for _, snapshot := range []bool{false, true} {
		name := "wal"
		if snapshot {
			name = "snapshot"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			s, err := local.Open(dir, local.WithSync(false), local.WithCompactionThreshold(0))
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Init(ctx, vsSpace); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < len(recs); i += 1000 {
				if err := s.Upsert(ctx, recs[i:i+1000]); err != nil {
					b.Fatal(err)
				}
			}
			if snapshot {
				if err := s.Compact(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(vsRawBytes)
			for b.Loop() {
				s, err := local.Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Init(ctx, vsSpace); err != nil {
					b.Fatal(err)
				}
				if n := s.Len("tenant"); n != vsCount {
					b.Fatalf("Len = %d", n)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkChromemAdd adds the same 100,000 vectors to a new chromem-go
// in-memory collection (AddDocuments with precomputed embeddings,
// concurrency = NumCPU).
func BenchmarkChromemAdd(b *testing.B) {
	ctx := context.Background()
	docs := chromemDocs()
	b.SetBytes(vsRawBytes)
	for b.Loop() {
		db := chromem.NewDB()
		c, err := db.CreateCollection("bench", nil, noEmbed)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.AddDocuments(ctx, docs, runtime.NumCPU()); err != nil {
			b.Fatal(err)
		}
		if c.Count() != vsCount {
			b.Fatalf("Count = %d", c.Count())
		}
	}
}
