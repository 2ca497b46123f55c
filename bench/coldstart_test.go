package bench

// Fresh-process and quantization benchmarks for vectorstore/local (issue
// 11, items 3, 4 and 7). What a user pays after a restart is measured in a
// new process each time: the benchmark re-runs this test binary as a child
// (MINIRAG_BENCH_CHILD set), which times its own work and prints one
// RESULT line. Sizes (vectors of 384 dimensions) come from
// MINIRAG_BENCH_COLD_SIZE (default 100000); 1,000,000 needs about 4 GB of
// disk in the temporary folder and a longer timeout:
//
//	cd bench && go test -run '^$' -bench 'Cold|Quant' -benchtime 5x -timeout 30m   # MINIRAG_BENCH_COLD_SIZE=1000000
//
// The default size finishes within go test's default 10-minute timeout.
// MINIRAG_BENCH_COLD_DIR=<folder> keeps the data folders there between
// runs instead of building them again (remove it to rebuild).
// Figures: docs/PERFORMANCE.md ("Quantization and cold start").

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/local"
	"github.com/philippgille/chromem-go"
)

// coldSize is the number of vectors of the fresh-process benchmarks.
func coldSize() int {
	if n, err := strconv.Atoi(os.Getenv("MINIRAG_BENCH_COLD_SIZE")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// coldData returns n unit vectors (seeded: every process gets the same),
// flat, and 16 queries.
func coldData(n int) (flat []float32, queries [][]float32) {
	r := rand.New(rand.NewPCG(7, uint64(n)))
	flat = make([]float32, n*vsDims)
	for i := range n {
		randUnit(r, flat[i*vsDims:(i+1)*vsDims])
	}
	for range 16 {
		q := make([]float32, vsDims)
		randUnit(r, q)
		queries = append(queries, q)
	}
	return flat, queries
}

func coldRecords(flat []float32, n int) []vectorstore.Record {
	recs := make([]vectorstore.Record, n)
	for i := range recs {
		recs[i] = vectorstore.Record{ID: "chunk-" + strconv.Itoa(i), TenantID: "tenant", BotID: "bot",
			SourceID: "source-" + strconv.Itoa(i%10), DocumentID: "doc-" + strconv.Itoa(i/20),
			Vector: flat[i*vsDims : (i+1)*vsDims : (i+1)*vsDims]}
	}
	return recs
}

// coldMetadata gives every document of recs (20 chunks each) metadata:
// cat = document % 100 (so coldFilter keeps 1% of the rows), a year, a
// language, tags and a title, about 150 bytes of JSON.
func coldMetadata(recs []vectorstore.Record) {
	var md record.Metadata
	for i := range recs {
		if d := i / 20; i%20 == 0 {
			md = record.Metadata{"cat": float64(d % 100), "year": float64(2000 + d%50),
				"lang": []string{"en", "fr", "de", "es"}[d%4], "tags": []any{"t" + strconv.Itoa(d%7), "t" + strconv.Itoa(d%11)},
				"title": "Document number " + strconv.Itoa(d) + " of the benchmark"}
		}
		recs[i].Metadata = md
	}
}

// coldFilter is the metadata filter of the "float32-metadata" reopen: 1%
// of the rows.
var coldFilter = filter.Eq("cat", 7)

// childResult is what a child process reports (milliseconds, megabytes).
type childResult struct {
	OpenMS, FirstSearchMS, SearchMS, AddMS float64
	// CPUMS is the CPU time (user + system, all threads) of the timed
	// open or add: less sensitive than wall time to a busy machine.
	CPUMS            float64
	RSSMB, PeakRSSMB float64
	// RSSAnonMB and RSSFileMB split RSSMB: heap (and written pages of the
	// mapped snapshot) and pages of files mapped and read.
	RSSAnonMB, RSSFileMB float64
}

// cpuTime returns the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStatus returns a field of /proc/self/status in MB (0 elsewhere).
func procStatus(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// runChild is the child process's side: it does MINIRAG_BENCH_CHILD's
// work and prints RESULT and its figures.
func runChild(op string) error {
	ctx := context.Background()
	n, _ := strconv.Atoi(os.Getenv("MINIRAG_BENCH_N"))
	dir := os.Getenv("MINIRAG_BENCH_DIR")
	quant := local.Float32
	if os.Getenv("MINIRAG_BENCH_QUANT") == "int8" {
		quant = local.Int8
	}
	var res childResult
	switch op {
	case "reopen":
		_, queries := coldData(0)
		c0, t0 := cpuTime(), time.Now()
		s, err := local.Open(dir, local.WithQuantization(quant))
		if err != nil {
			return err
		}
		if err := s.Init(ctx, vsSpace); err != nil {
			return err
		}
		res.OpenMS, res.CPUMS = ms(time.Since(t0)), ms(cpuTime()-c0)
		if s.Len("tenant") != n {
			return fmt.Errorf("Len = %d, want %d", s.Len("tenant"), n)
		}
		var times []float64
		f := vectorstore.Filter{TenantID: "tenant"}
		if os.Getenv("MINIRAG_BENCH_META") == "1" {
			f.Metadata = coldFilter
		}
		for i := range 21 {
			t := time.Now()
			ms_, err := s.Search(ctx, vectorstore.Query{Vector: queries[i%len(queries)], TopK: vsTopK, Filter: f})
			if err != nil || len(ms_) != vsTopK {
				return fmt.Errorf("search: %d matches, %v", len(ms_), err)
			}
			times = append(times, ms(time.Since(t)))
		}
		res.FirstSearchMS = times[0]
		slices.Sort(times[1:])
		res.SearchMS = times[1+len(times[1:])/2]
		res.RSSMB, res.PeakRSSMB = procStatus("VmRSS"), procStatus("VmHWM")
		res.RSSAnonMB, res.RSSFileMB = procStatus("RssAnon"), procStatus("RssFile")
		if err := s.Close(); err != nil {
			return err
		}
	case "add-local", "add-local-disk":
		flat, _ := coldData(n)
		recs := coldRecords(flat, n)
		c0, t0 := cpuTime(), time.Now()
		s, err := local.Open(dir, local.WithQuantization(quant))
		if err != nil {
			return err
		}
		if err := s.Init(ctx, vsSpace); err != nil {
			return err
		}
		for i := 0; i < n; i += 1000 {
			if err := s.Upsert(ctx, recs[i:min(n, i+1000)]); err != nil {
				return err
			}
		}
		res.AddMS, res.CPUMS = ms(time.Since(t0)), ms(cpuTime()-c0)
		res.RSSMB, res.PeakRSSMB = procStatus("VmRSS"), procStatus("VmHWM")
		if err := s.Close(); err != nil {
			return err
		}
	case "add-chromem":
		flat, _ := coldData(n)
		docs := make([]chromem.Document, n)
		for i := range docs {
			docs[i] = chromem.Document{ID: "chunk-" + strconv.Itoa(i), Embedding: flat[i*vsDims : (i+1)*vsDims : (i+1)*vsDims], Metadata: map[string]string{"tenant": "tenant"}}
		}
		c0, t0 := cpuTime(), time.Now()
		db := chromem.NewDB()
		c, err := db.CreateCollection("bench", nil, noEmbed)
		if err != nil {
			return err
		}
		if err := c.AddDocuments(ctx, docs, runtime.NumCPU()); err != nil {
			return err
		}
		res.AddMS, res.CPUMS = ms(time.Since(t0)), ms(cpuTime()-c0)
		res.RSSMB, res.PeakRSSMB = procStatus("VmRSS"), procStatus("VmHWM")
	default:
		return fmt.Errorf("unknown child op %q", op)
	}
	b, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", b)
	return nil
}

// spawn runs op in a fresh process and returns its figures.
func spawn(b *testing.B, op string, env ...string) childResult {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$")
	cmd.Env = append(os.Environ(), append(env, "MINIRAG_BENCH_CHILD="+op)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child %s: %v\n%s", op, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			var r childResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				b.Fatal(err)
			}
			return r
		}
	}
	b.Fatalf("child %s printed no result:\n%s", op, out)
	return childResult{}
}

// TestBenchChild is the entry point of the child processes (it does
// nothing in a normal test run).
func TestBenchChild(t *testing.T) {
	op := os.Getenv("MINIRAG_BENCH_CHILD")
	if op == "" {
		t.Skip("not a benchmark child process")
	}
	if err := runChild(op); err != nil {
		t.Fatal(err)
	}
}

// coldFolder returns a folder holding coldSize() vectors compacted by a
// store of the given quantization (built once per process, removed at
// exit by the caller's cleanup).
var coldFolders sync.Map

func coldFolder(b *testing.B, quant string) string {
	b.Helper()
	n := coldSize()
	key := fmt.Sprint(quant, n)
	meta := strings.HasSuffix(quant, "-metadata")
	quant = strings.TrimSuffix(quant, "-metadata")
	if dir, ok := coldFolders.Load(key); ok {
		return dir.(string)
	}
	// MINIRAG_BENCH_COLD_DIR keeps the folders between runs (built once).
	keep := os.Getenv("MINIRAG_BENCH_COLD_DIR")
	var dir string
	var err error
	if keep != "" {
		dir = filepath.Join(keep, fmt.Sprintf("%s-%d", quant, n))
		if meta {
			dir += "-metadata"
		}
		if _, err := os.Stat(filepath.Join(dir, "COMPLETE")); err == nil {
			return dir
		}
		os.RemoveAll(dir)
		err = os.MkdirAll(dir, 0o755)
	} else {
		dir, err = os.MkdirTemp("", "minirag-cold-")
	}
	if err != nil {
		b.Fatal(err)
	}
	q := local.Float32
	if quant == "int8" {
		q = local.Int8
	}
	flat, _ := coldData(n)
	recs := coldRecords(flat, n)
	if meta {
		coldMetadata(recs)
	}
	ctx := context.Background()
	s, err := local.Open(dir, local.WithSync(false), local.WithCompactionThreshold(0), local.WithQuantization(q))
	if err == nil {
		err = s.Init(ctx, vsSpace)
	}
	for i := 0; err == nil && i < n; i += 10_000 {
		err = s.Upsert(ctx, recs[i:min(n, i+10_000)])
	}
	if err == nil {
		err = s.Compact(ctx)
	}
	if err == nil {
		err = s.Close()
	}
	if err != nil {
		os.RemoveAll(dir)
		b.Fatal(err)
	}
	if keep != "" {
		if err := os.WriteFile(filepath.Join(dir, "COMPLETE"), nil, 0o644); err != nil {
			b.Fatal(err)
		}
		return dir
	}
	coldFolders.Store(key, dir)
	return dir
}

func cpuName() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
		}
	}
	return runtime.GOARCH
}

func medianOf(x []float64) float64 {
	x = slices.Clone(x)
	slices.Sort(x)
	return x[len(x)/2]
}

// BenchmarkColdReopenLocal reopens a folder of coldSize() vectors (a
// compacted snapshot, no log) in a new process per iteration and reports
// the child's Open+Init time, its first search, the median of the next 20,
// and its resident memory: Float32 (the default) and Int8, and Float32
// with metadata on every record (documents of 20 chunks), whose searches
// are filtered by metadata to 1% of the rows.
func BenchmarkColdReopenLocal(b *testing.B) {
	b.Logf("CPU: %s, %d cores; %d vectors × %d", cpuName(), runtime.NumCPU(), coldSize(), vsDims)
	for _, quant := range []string{"float32", "int8", "float32-metadata"} {
		b.Run(quant, func(b *testing.B) {
			dir := coldFolder(b, quant)
			meta := "0"
			if strings.HasSuffix(quant, "-metadata") {
				meta = "1"
			}
			var open, cpu, first, search, rss, anon, file []float64
			for b.Loop() {
				r := spawn(b, "reopen", "MINIRAG_BENCH_DIR="+dir, "MINIRAG_BENCH_QUANT="+strings.TrimSuffix(quant, "-metadata"), "MINIRAG_BENCH_META="+meta, "MINIRAG_BENCH_N="+strconv.Itoa(coldSize()))
				open, first, search, rss = append(open, r.OpenMS), append(first, r.FirstSearchMS), append(search, r.SearchMS), append(rss, r.RSSMB)
				cpu, anon, file = append(cpu, r.CPUMS), append(anon, r.RSSAnonMB), append(file, r.RSSFileMB)
			}
			b.ReportMetric(medianOf(open), "open-ms")
			b.ReportMetric(medianOf(cpu), "open-cpu-ms")
			b.ReportMetric(medianOf(first), "first-search-ms")
			b.ReportMetric(medianOf(search), "search-ms")
			b.ReportMetric(medianOf(rss), "rss-MB")
			b.ReportMetric(medianOf(anon), "rss-anon-MB")
			b.ReportMetric(medianOf(file), "rss-file-MB")
		})
	}
}

// BenchmarkColdAdd adds coldSize() vectors in a new process per variant
// and iteration (data generated before the clock starts): vectorstore/local
// in memory, on disk with the default fsync per batch of 1,000 (Float32
// and Int8), and chromem-go in memory. Each iteration runs the four one
// after the other, so that a change in the machine's load hits them alike;
// the figures are medians over the iterations, and the ratios compare the
// local store in memory with chromem-go (wall and CPU time).
func BenchmarkColdAdd(b *testing.B) {
	b.Logf("CPU: %s, %d cores; %d vectors × %d", cpuName(), runtime.NumCPU(), coldSize(), vsDims)
	n := strconv.Itoa(coldSize())
	variants := []struct{ name, op, quant string }{
		{"local-memory", "add-local", "float32"},
		{"local-disk", "add-local-disk", "float32"},
		{"local-disk-int8", "add-local-disk", "int8"},
		{"chromem", "add-chromem", ""},
	}
	add, cpu, rss := make([][]float64, len(variants)), make([][]float64, len(variants)), make([][]float64, len(variants))
	for b.Loop() {
		for i, c := range variants {
			dir := ""
			if c.op == "add-local-disk" {
				dir = b.TempDir()
			}
			r := spawn(b, c.op, "MINIRAG_BENCH_DIR="+dir, "MINIRAG_BENCH_QUANT="+c.quant, "MINIRAG_BENCH_N="+n)
			add[i], rss[i], cpu[i] = append(add[i], r.AddMS), append(rss[i], r.RSSMB), append(cpu[i], r.CPUMS)
			if dir != "" {
				os.RemoveAll(dir)
			}
		}
	}
	for i, c := range variants {
		b.ReportMetric(medianOf(add[i]), c.name+"-add-ms")
		b.ReportMetric(medianOf(cpu[i]), c.name+"-cpu-ms")
		b.ReportMetric(medianOf(rss[i]), c.name+"-rss-MB")
	}
	last := len(variants) - 1
	b.ReportMetric(medianOf(add[0])/medianOf(add[last]), "local/chromem-wall")
	b.ReportMetric(medianOf(cpu[0])/medianOf(cpu[last]), "local/chromem-cpu")
}

// BenchmarkQuantSearch compares, in each iteration, one read pass over the
// float32 vectors at full bandwidth, an exact Float32 search and an Int8
// search (codes in memory, float32s rescored from the snapshot on disk),
// and a binary-quantization search (sign bits, Hamming distance, the best
// 10×k rescored exactly from memory) that is evaluated here only: ratios
// to the bandwidth pass and recall@10 against the exact search.
//
// Built to mean something on a loaded machine: every store answers one
// untimed search first (the page faults of the mapped snapshot are the
// cold-start benchmarks' business, not the scan's), each iteration runs
// the four one after the other (so load changes hit them alike), and each
// is timed quantRounds times per iteration. The headline ratios use the
// minimum over all rounds (the run least disturbed by other processes; a
// median is reported beside it), and the "cpu" ratios the process's CPU
// time (user + system, all threads) of those same rounds, which time spent
// waiting for a core does not inflate.
func BenchmarkQuantSearch(b *testing.B) {
	n := coldSize()
	b.Logf("CPU: %s, %d cores; %d vectors × %d", cpuName(), runtime.NumCPU(), n, vsDims)
	ctx := context.Background()
	open := func(quant string) *local.Store {
		q := local.Float32
		if quant == "int8" {
			q = local.Int8
		}
		s, err := local.Open(coldFolder(b, quant), local.WithQuantization(q))
		if err == nil {
			err = s.Init(ctx, vsSpace)
		}
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	f32, i8 := open("float32"), open("int8")
	defer f32.Close()
	defer i8.Close()
	flat, queries := coldData(n)
	w := words(flat)
	bq := newBinaryIndex(flat, n)
	search := func(s *local.Store, q []float32) []vectorstore.Match {
		ms, err := s.Search(ctx, vectorstore.Query{Vector: q, TopK: vsTopK, Filter: vectorstore.Filter{TenantID: "tenant"}})
		if err != nil {
			b.Fatal(err)
		}
		return ms
	}
	// Warm up: the first search of a reopened store faults its mapping in.
	search(f32, queries[len(queries)-1])
	search(i8, queries[len(queries)-1])
	bq.search(queries[len(queries)-1], vsTopK, 10*vsTopK)
	sink ^= passParallel(w, runtime.GOMAXPROCS(0), readPass)
	// wall[k] and cpu[k] hold, per round, the times of measure k.
	const (
		mBW = iota
		mF32
		mI8
		mBin
		nMeasures
	)
	var wall, cpu [nMeasures][]time.Duration
	timed := func(k int, f func()) {
		c0, t0 := cpuTime(), time.Now()
		f()
		wall[k] = append(wall[k], time.Since(t0))
		cpu[k] = append(cpu[k], cpuTime()-c0)
	}
	found, foundB, total := 0, 0, 0
	i := 0
	for b.Loop() {
		q := queries[i%len(queries)]
		i++
		var exact, approx []vectorstore.Match
		var bin []int
		for range quantRounds {
			// The bandwidth pass: the faster of scalar loads and the
			// vectorized byte count.
			c0, t0 := cpuTime(), time.Now()
			sink ^= passParallel(w, runtime.GOMAXPROCS(0), readPass)
			c1, t1 := cpuTime(), time.Now()
			sink ^= passParallel(w, runtime.GOMAXPROCS(0), countPass)
			c2, t2 := cpuTime(), time.Now()
			wall[mBW] = append(wall[mBW], min(t1.Sub(t0), t2.Sub(t1)))
			cpu[mBW] = append(cpu[mBW], min(c1-c0, c2-c1))
			timed(mF32, func() { exact = search(f32, q) })
			timed(mI8, func() { approx = search(i8, q) })
			timed(mBin, func() { bin = bq.search(q, vsTopK, 10*vsTopK) })
		}
		want := map[string]bool{}
		for _, m := range exact {
			want[m.ID] = true
		}
		for _, m := range approx {
			if want[m.ID] {
				found++
			}
		}
		for _, id := range bin {
			if want["chunk-"+strconv.Itoa(id)] {
				foundB++
			}
		}
		total += len(exact)
	}
	minOf := func(x []time.Duration) float64 { return ms(slices.Min(x)) }
	medOf := func(x []time.Duration) float64 {
		f := make([]float64, len(x))
		for i, d := range x {
			f[i] = ms(d)
		}
		return medianOf(f)
	}
	b.ReportMetric(minOf(wall[mBW]), "bandwidth-ms")
	b.ReportMetric(minOf(wall[mF32]), "float32-ms")
	b.ReportMetric(minOf(wall[mI8]), "int8-ms")
	b.ReportMetric(minOf(wall[mBin]), "binary-ms")
	b.ReportMetric(minOf(wall[mF32])/minOf(wall[mBW]), "float32/bandwidth")
	b.ReportMetric(minOf(wall[mI8])/minOf(wall[mBW]), "int8/bandwidth")
	b.ReportMetric(minOf(wall[mBin])/minOf(wall[mBW]), "binary/bandwidth")
	b.ReportMetric(medOf(wall[mI8])/medOf(wall[mBW]), "int8/bandwidth-median")
	b.ReportMetric(medOf(cpu[mF32])/medOf(cpu[mBW]), "float32/bandwidth-cpu")
	b.ReportMetric(medOf(cpu[mI8])/medOf(cpu[mBW]), "int8/bandwidth-cpu")
	b.ReportMetric(float64(found)/float64(total), "int8-recall@10")
	b.ReportMetric(float64(foundB)/float64(total), "binary-recall@10")
}

// quantRounds is how many times BenchmarkQuantSearch times each measure
// per iteration.
const quantRounds = 3

// binaryIndex is the evaluated binary quantization: one bit per dimension
// (the sign), Hamming distance by popcount, exact rescoring of the best
// candidates from the float32s.
type binaryIndex struct {
	words int
	bits  []uint64
	flat  []float32
	n     int
}

func newBinaryIndex(flat []float32, n int) *binaryIndex {
	wpr := (vsDims + 63) / 64
	x := &binaryIndex{words: wpr, bits: make([]uint64, n*wpr), flat: flat, n: n}
	for r := range n {
		for j := range vsDims {
			if flat[r*vsDims+j] > 0 {
				x.bits[r*wpr+j/64] |= 1 << (j % 64)
			}
		}
	}
	return x
}

func (x *binaryIndex) search(q []float32, k, cands int) []int {
	qb := make([]uint64, x.words)
	for j, v := range q {
		if v > 0 {
			qb[j/64] |= 1 << (j % 64)
		}
	}
	type c struct {
		d   int
		row int
	}
	// Parallel scan, as the stores do.
	workers := runtime.GOMAXPROCS(0)
	parts := make([][]c, workers)
	per := (x.n + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			best := make([]c, 0, cands+1)
			worst := math.MaxInt
			for r := w * per; r < min(x.n, (w+1)*per); r++ {
				d := 0
				row := x.bits[r*x.words : (r+1)*x.words]
				for i, v := range row {
					d += bits.OnesCount64(v ^ qb[i])
				}
				if len(best) == cands && d >= worst {
					continue
				}
				i, _ := slices.BinarySearchFunc(best, d, func(a c, d int) int { return a.d - d })
				best = slices.Insert(best, i, c{d, r})
				if len(best) > cands {
					best = best[:cands]
				}
				if len(best) == cands {
					worst = best[cands-1].d
				}
			}
			parts[w] = best
		}()
	}
	wg.Wait()
	type s struct {
		score float32
		row   int
	}
	var all []s
	for _, p := range parts {
		for _, cd := range p {
			v := x.flat[cd.row*vsDims : (cd.row+1)*vsDims]
			var dot float32
			for j := range v {
				dot += v[j] * q[j]
			}
			all = append(all, s{dot, cd.row})
		}
	}
	slices.SortFunc(all, func(a, b s) int {
		if a.score > b.score {
			return -1
		}
		if a.score < b.score {
			return 1
		}
		return 0
	})
	out := make([]int, 0, k)
	for _, a := range all[:min(k, len(all))] {
		out = append(out, a.row)
	}
	return out
}

// TestMain removes the benchmark folders built by coldFolder.
func TestMain(m *testing.M) {
	code := m.Run()
	coldFolders.Range(func(_, dir any) bool {
		os.RemoveAll(dir.(string))
		return true
	})
	os.Exit(code)
}
