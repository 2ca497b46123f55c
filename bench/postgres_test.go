package bench

// PostgreSQL and pgvector benchmarks. They need the servers scripts/services
// starts (or any given by URL) and are skipped without them:
//
//	eval "$(../scripts/services start)"     # from bench/, or export the URLs yourself
//	go test -run '^$' -bench 'Postgres|PGVector' -benchtime 20x -count 3
//
// Storage writes run on MINIRAG_TEST_POSTGRES_URL. The pgvector benchmarks
// run on MINIRAG_TEST_PGVECTOR_URL (PGlite by default: PostgreSQL and
// pgvector compiled to WebAssembly and run by Node.js, single-threaded, so
// its figures are far below a native server's). They use the dataset sizes
// in MINIRAG_BENCH_PGVECTOR_SIZES (default "2000", so that the test
// command's run-once pass stays short; the figures in
// docs/perf-postgres.md used "10000,100000").
//
// Figures: docs/perf-postgres.md.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

// pgWords is the vocabulary of the synthetic chunk texts.
var pgWords = strings.Fields(`prometheus alert rule metric label query series scrape target exporter
	histogram counter gauge summary recording evaluation interval retention storage compaction block
	chunk sample timestamp federation remote write read relabel config service discovery kubernetes
	node job instance endpoint dashboard grafana latency throughput error budget objective burn rate
	page notify silence inhibit route receiver template annotation severity runbook owner team`)

// pgText returns a chunk text of about n words.
func pgText(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pgWords[r.IntN(len(pgWords))])
	}
	return b.String()
}

// BenchmarkPostgresPutDocument stores one document with 10, 100 or 1000
// chunks of about 150 words (roughly 1 KB, 200 tokens) per operation, in a
// new key each time: one transaction writing the document, its chunks and
// their full-text vectors. chunks/s is the write rate of chunk rows.
func BenchmarkPostgresPutDocument(b *testing.B) {
	url := testsvc.PostgresURL(b)
	ctx := context.Background()
	pool := testsvc.Pool(b, testsvc.PoolConfig(b, url, 4))
	st, err := postgres.New(ctx, pool, postgres.WithSchema(testsvc.Schema(b, url)))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(st.CreateTenant(ctx, record.Tenant{ID: "t", Slug: "t", CreatedAt: now, UpdatedAt: now}))
	must(st.CreateBot(ctx, record.Bot{ID: "bot", TenantID: "t", Language: "english", CreatedAt: now, UpdatedAt: now}))
	must(st.CreateSource(ctx, record.Source{ID: "src", TenantID: "t", BotID: "bot", Type: record.SourceText,
		Status: record.StatusPending, CreatedAt: now, UpdatedAt: now}))
	r := rand.New(rand.NewPCG(7, 7))
	texts := make([]string, 1000)
	for i := range texts {
		texts[i] = pgText(r, 150)
	}
	seq := 0
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("chunks=%d", n), func(b *testing.B) {
			for b.Loop() {
				seq++
				doc := record.Document{ID: fmt.Sprintf("doc-%d", seq), TenantID: "t", SourceID: "src", Key: fmt.Sprintf("key-%d", seq),
					Title: "Alerting rules", ContentHash: "h", CreatedAt: now, UpdatedAt: now}
				chunks := make([]record.Chunk, n)
				for i := range chunks {
					chunks[i] = record.Chunk{ID: fmt.Sprintf("c-%d-%d", seq, i), Ordinal: i, Text: texts[i], TokenCount: 200,
						Start: i * 1000, End: i*1000 + 999, HeadingPath: []string{"Alerting", "Rules"}}
				}
				if _, err := st.PutDocument(ctx, doc, chunks); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "chunks/s")
		})
	}
}

// BenchmarkPostgresPutDocuments stores 1, 10 or 100 documents of 10
// chunks per operation through storage.DocumentBatcher (one transaction,
// one pipelined batch of statements), the path ingestion takes.
func BenchmarkPostgresPutDocuments(b *testing.B) {
	url := testsvc.PostgresURL(b)
	ctx := context.Background()
	pool := testsvc.Pool(b, testsvc.PoolConfig(b, url, 4))
	st, err := postgres.New(ctx, pool, postgres.WithSchema(testsvc.Schema(b, url)))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(st.CreateTenant(ctx, record.Tenant{ID: "t", Slug: "t", CreatedAt: now, UpdatedAt: now}))
	must(st.CreateBot(ctx, record.Bot{ID: "bot", TenantID: "t", Language: "english", CreatedAt: now, UpdatedAt: now}))
	must(st.CreateSource(ctx, record.Source{ID: "src", TenantID: "t", BotID: "bot", Type: record.SourceText,
		Status: record.StatusPending, CreatedAt: now, UpdatedAt: now}))
	r := rand.New(rand.NewPCG(8, 8))
	texts := make([]string, 10)
	for i := range texts {
		texts[i] = pgText(r, 150)
	}
	seq := 0
	for _, docs := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("docs=%d/chunks=10", docs), func(b *testing.B) {
			for b.Loop() {
				items := make([]storage.DocumentWithChunks, docs)
				for d := range items {
					seq++
					items[d].Document = record.Document{ID: fmt.Sprintf("doc-%d", seq), TenantID: "t", SourceID: "src",
						Key: fmt.Sprintf("key-%d", seq), Title: "Alerting rules", ContentHash: "h", CreatedAt: now, UpdatedAt: now}
					items[d].Chunks = make([]record.Chunk, len(texts))
					for i := range texts {
						items[d].Chunks[i] = record.Chunk{ID: fmt.Sprintf("c-%d-%d", seq, i), Ordinal: i, Text: texts[i], TokenCount: 200,
							Start: i * 1000, End: i*1000 + 999, HeadingPath: []string{"Alerting", "Rules"}}
					}
				}
				if _, err := st.PutDocuments(ctx, items); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(10*docs*b.N)/b.Elapsed().Seconds(), "chunks/s")
		})
	}
}

const (
	pgvDims = 384
	pgvTopK = 10
)

func pgvSizes() []int {
	v := os.Getenv("MINIRAG_BENCH_PGVECTOR_SIZES")
	if v == "" {
		v = "2000"
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err == nil && n >= 100 {
			out = append(out, n)
		}
	}
	return out
}

// pgvTenant spreads records over tenants: 1% "small", 10% "mid", the rest
// "big".
func pgvTenant(i int) string {
	switch {
	case i%100 == 0:
		return "small"
	case i%10 == 1:
		return "mid"
	}
	return "big"
}

// pgvCenters are the cluster centres of the pgvector dataset.
var pgvCenters = func() [][]float32 {
	r := rand.New(rand.NewPCG(1, 256))
	cs := make([][]float32, 256)
	for i := range cs {
		cs[i] = make([]float32, pgvDims)
		randUnit(r, cs[i])
	}
	return cs
}()

// pgvVector fills v with a unit vector near a random cluster centre (noise
// of norm about 1, so a cosine of about 0.7 with its centre): embeddings of
// real text cluster by topic, and uniformly random vectors (the worst case
// for any graph index) would understate HNSW recall.
func pgvVector(r *rand.Rand, v []float32) {
	c := pgvCenters[r.IntN(len(pgvCenters))]
	sigma := 1 / math.Sqrt(pgvDims)
	var ss float64
	for j := range v {
		x := float64(c[j]) + r.NormFloat64()*sigma
		v[j] = float32(x)
		ss += x * x
	}
	inv := 1 / math.Sqrt(ss)
	for j := range v {
		v[j] = float32(float64(v[j]) * inv)
	}
}

// pgvLoad fills a fresh table with n vectors (pgvLoadTable) and returns
// three stores on it: the default one, one that always uses the index and
// one with EfSearch 400.
func pgvLoad(b *testing.B, n int) (*pgvector.Store, *pgvector.Store, *pgvector.Store, [][]float32, []string) {
	b.Helper()
	open, vecs, tenants := pgvLoadTable(b, n)
	return open(pgvector.Options{}), open(pgvector.Options{ExactThreshold: -1}),
		open(pgvector.Options{ExactThreshold: -1, EfSearch: 400}), vecs, tenants
}

// pgvLoadTable fills a fresh store with n unit vectors the way a bulk
// import would: Options.DeferIndex (no HNSW index during the load), rows
// upserted in batches of 1000, then BuildIndex (CREATE INDEX CONCURRENTLY
// with maintenance_work_mem sized to the graph and the server's parallel
// workers). open returns a Store on that table with the given options
// (Schema is set).
func pgvLoadTable(b *testing.B, n int) (open func(pgvector.Options) *pgvector.Store, vecs [][]float32, tenants []string) {
	b.Helper()
	url := testsvc.PGVectorURL(b)
	ctx := context.Background()
	pool := testsvc.Pool(b, testsvc.PoolConfig(b, url, 2))
	schema := testsvc.Schema(b, url)
	model := fmt.Sprintf("bench-%d", n)
	st, err := pgvector.New(ctx, pool, pgvector.Options{Schema: schema, DeferIndex: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Init(ctx, vectorstore.Space{Model: model, Dims: pgvDims}); err != nil {
		b.Fatal(err)
	}
	table := st.TableName(model)
	r := rand.New(rand.NewPCG(42, uint64(n)))
	vecs = make([][]float32, n)
	tenants = make([]string, n)
	start := time.Now()
	for i := 0; i < n; i += 1000 {
		recs := make([]vectorstore.Record, 0, 1000)
		for j := i; j < min(i+1000, n); j++ {
			v := make([]float32, pgvDims)
			pgvVector(r, v)
			vecs[j], tenants[j] = v, pgvTenant(j)
			recs = append(recs, vectorstore.Record{ID: "r" + strconv.Itoa(j), TenantID: tenants[j], BotID: "bot", SourceID: "src",
				DocumentID: "doc-" + strconv.Itoa(j/20), Vector: v, Metadata: pgvMeta(j)})
		}
		if err := st.Upsert(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	loaded := time.Since(start)
	start = time.Now()
	if err := st.BuildIndex(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE "+pgx.Identifier{schema, table}.Sanitize()); err != nil {
		b.Fatal(err)
	}
	b.Logf("pgvector %d x %d: rows loaded in %v (%.0f rows/s without index), HNSW built in %v (pgvector %s)",
		n, pgvDims, loaded.Round(time.Millisecond), float64(n)/loaded.Seconds(), time.Since(start).Round(time.Millisecond), st.Version())
	open = func(o pgvector.Options) *pgvector.Store {
		o.Schema = schema
		s, err := pgvector.New(ctx, pool, o)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Init(ctx, vectorstore.Space{Model: model, Dims: pgvDims}); err != nil {
			b.Fatal(err)
		}
		return s
	}
	return open, vecs, tenants
}

// BenchmarkPGVectorSearch measures filtered top-10 search latency for a
// tenant owning 1%, 10% or 89% of the rows, through the store's default
// path choice ("auto": exact below Options.ExactThreshold matching rows,
// HNSW with iterative scans above) and forced through the HNSW index
// ("index", ef_search 100, the default; "index-ef400"). recall@10 compares
// with exact results computed in Go.
func BenchmarkPGVectorSearch(b *testing.B) {
	for _, n := range pgvSizes() {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			auto, idx, idx400, vecs, tenants := pgvLoad(b, n)
			r := rand.New(rand.NewPCG(9, 9))
			queries := make([][]float32, 16)
			for i := range queries {
				queries[i] = make([]float32, pgvDims)
				pgvVector(r, queries[i])
			}
			for _, tenant := range []string{"small", "mid", "big"} {
				want := make([]map[string]bool, len(queries))
				for qi, q := range queries {
					want[qi] = pgvExactTop(q, vecs, tenants, tenant)
				}
				for _, path := range []struct {
					name string
					st   *pgvector.Store
				}{{"auto", auto}, {"index", idx}, {"index-ef400", idx400}} {
					b.Run(fmt.Sprintf("tenant=%s/path=%s", tenant, path.name), func(b *testing.B) {
						ctx := context.Background()
						hits, total, qi := 0, 0, 0
						for b.Loop() {
							q := queries[qi%len(queries)]
							ms, err := path.st.Search(ctx, vectorstore.Query{Vector: q, TopK: pgvTopK, Filter: vectorstore.Filter{TenantID: tenant}})
							if err != nil {
								b.Fatal(err)
							}
							for _, m := range ms {
								if want[qi%len(queries)][m.ID] {
									hits++
								}
							}
							total += pgvTopK
							qi++
						}
						b.ReportMetric(float64(hits)/float64(total), "recall@10")
					})
				}
			}
		})
	}
}

// pgvExactTop returns the IDs of tenant's pgvTopK nearest records to q.
func pgvExactTop(q []float32, vecs [][]float32, tenants []string, tenant string) map[string]bool {
	type sc struct {
		i int
		s float32
	}
	var all []sc
	for i, v := range vecs {
		if tenants[i] != tenant {
			continue
		}
		var d float32
		for j := range v {
			d += v[j] * q[j]
		}
		all = append(all, sc{i, d})
	}
	sort.Slice(all, func(a, b int) bool { return all[a].s > all[b].s })
	out := map[string]bool{}
	for _, s := range all[:min(pgvTopK, len(all))] {
		out["r"+strconv.Itoa(s.i)] = true
	}
	return out
}

// BenchmarkPGVectorUpsert measures upserts of 100 new 384-dim records per
// operation into an indexed table already holding n rows (the incremental
// path an ingestion takes: each row is inserted into the HNSW graph).
func BenchmarkPGVectorUpsert(b *testing.B) {
	for _, n := range pgvSizes() {
		b.Run(fmt.Sprintf("n=%d/batch=100", n), func(b *testing.B) {
			st, _, _, _, _ := pgvLoad(b, n)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(5, 5))
			seq := 0
			for b.Loop() {
				recs := make([]vectorstore.Record, 100)
				for i := range recs {
					v := make([]float32, pgvDims)
					pgvVector(r, v)
					seq++
					recs[i] = vectorstore.Record{ID: "new" + strconv.Itoa(seq), TenantID: pgvTenant(seq), BotID: "bot", Vector: v}
				}
				if err := st.Upsert(ctx, recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkPGVectorBulkLoad loads n 384-dim records (batches of 1,000, the
// tenant mix of pgvLoad) into a new table several ways and reports rows/s:
// "copy-indexed" (COPY into a table with its HNSW index), "copy-load"
// (Options.DeferIndex, the load only, no index; "-batch10k" with 10,000
// records per Upsert, "-2conns" with two Upserts at a time), "copy-deferred"
// (DeferIndex, then BuildIndex with the automatic maintenance_work_mem
// and the server's parallel workers, the build included),
// "copy-deferred-serial" (the same, IndexWorkers -1: no parallel workers)
// and "insert-indexed" (Options.NoCopy: the INSERT … unnest path, into the
// indexed table; at most 10,000 rows, it is slow). The server's notices
// (pgvector's "hnsw graph no longer fits into maintenance_work_mem") are
// logged. On PGlite every path is the INSERT one, and the native
// variants (batch10k, 2conns, serial) are skipped.
func BenchmarkPGVectorBulkLoad(b *testing.B) {
	for _, n := range pgvSizes() {
		for _, c := range []struct {
			name  string
			opts  pgvector.Options
			rows  int
			build bool
			batch int // records per Upsert
			conns int // Upserts running at once
		}{
			{"copy-indexed", pgvector.Options{}, n, false, 1000, 1},
			{"copy-load", pgvector.Options{DeferIndex: true}, n, false, 1000, 1},
			{"copy-load-batch10k", pgvector.Options{DeferIndex: true}, n, false, 10_000, 1},
			{"copy-load-2conns", pgvector.Options{DeferIndex: true}, n, false, 1000, 2},
			{"copy-deferred", pgvector.Options{DeferIndex: true}, n, true, 1000, 1},
			{"copy-deferred-serial", pgvector.Options{DeferIndex: true, IndexWorkers: -1}, n, true, 1000, 1},
			{"insert-indexed", pgvector.Options{NoCopy: true}, min(n, 10_000), false, 1000, 1},
		} {
			b.Run(fmt.Sprintf("n=%d/%s", c.rows, c.name), func(b *testing.B) {
				url := testsvc.PGVectorURL(b)
				ctx := context.Background()
				if c.conns > 1 || c.batch != 1000 || c.opts.IndexWorkers != 0 {
					// Variants of the native paths: PGlite has no COPY and no
					// parallel workers, and serves every connection from one
					// session (concurrent transactions would meet).
					if lite, err := testsvc.IsPGlite(ctx, url); err != nil || lite {
						b.Skipf("a native server's variant, not run on PGlite (err %v)", err)
					}
				}
				cfg := testsvc.PoolConfig(b, url, int32(max(2, c.conns)))
				cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { b.Logf("server %s: %s", n.Severity, n.Message) }
				pool := testsvc.Pool(b, cfg)
				r := rand.New(rand.NewPCG(42, uint64(n)))
				recs := make([]vectorstore.Record, c.rows)
				for j := range recs {
					v := make([]float32, pgvDims)
					pgvVector(r, v)
					recs[j] = vectorstore.Record{ID: "r" + strconv.Itoa(j), TenantID: pgvTenant(j), BotID: "bot", SourceID: "src",
						DocumentID: "doc-" + strconv.Itoa(j/20), Vector: v}
				}
				var total time.Duration
				for b.Loop() {
					b.StopTimer()
					opts := c.opts
					opts.Schema = testsvc.Schema(b, url)
					st, err := pgvector.New(ctx, pool, opts)
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					start := time.Now()
					if err := st.Init(ctx, vectorstore.Space{Model: "bulk", Dims: pgvDims}); err != nil {
						b.Fatal(err)
					}
					errs := make([]error, c.conns)
					var wg sync.WaitGroup
					for w := range c.conns {
						wg.Go(func() {
							for i := w * c.batch; i < len(recs) && errs[w] == nil; i += c.conns * c.batch {
								errs[w] = st.Upsert(ctx, recs[i:min(i+c.batch, len(recs))])
							}
						})
					}
					wg.Wait()
					if err := errors.Join(errs...); err != nil {
						b.Fatal(err)
					}
					loaded := time.Since(start)
					if c.build {
						if err := st.BuildIndex(ctx); err != nil {
							b.Fatal(err)
						}
					}
					total += time.Since(start)
					b.Logf("%s: %d rows upserted in %v (%.0f rows/s), index built in %v", c.name, c.rows,
						loaded.Round(time.Millisecond), float64(c.rows)/loaded.Seconds(), (time.Since(start) - loaded).Round(time.Millisecond))
				}
				b.ReportMetric(float64(c.rows*b.N)/total.Seconds(), "rows/s")
			})
		}
	}
}
