// Command quality measures MiniRAG's retrieval quality on the labeled set of
// package eval and prints the results as markdown tables (the figures of
// docs/QUALITY.md).
//
// Run it from the repository root:
//
//	go run ./eval/cmd/quality                   # corpus at testdata/prometheus-docs
//	go run ./eval/cmd/quality -corpus DIR -misses
//	go run ./eval/cmd/quality -fusion          # also compare other fusions, offline, and tune on half the set
//	go run ./eval/cmd/quality -hybrid-fusion rrf -rrf-k 60   # measure hybrid with other settings
//	MINIRAG_EMBED_API_KEY=... go run ./eval/cmd/quality -embed-model text-embedding-3-small
//	go run ./eval/cmd/quality -embed-url http://localhost:11434/v1 -embed-model nomic-embed-text
//	go run ./eval/cmd/quality -stack all -postgres-url postgres://... -pgvector-url 'postgres://...?default_query_exec_mode=simple_protocol'
//
// It ingests the corpus into a fresh embedded stack (minirag.Open: SQLite,
// local vector store, hashing embedder) in a temporary directory, removed
// at the end. -stack postgres replaces SQLite by storage/postgres at
// -postgres-url, -stack pgvector also the local vector store by
// vectorstore/pgvector at -pgvector-url (add
// default_query_exec_mode=simple_protocol to a PGlite URL), each in a new
// schema dropped at the end; -stack all measures the three and prints
// them side by side. With -embed-model, dense vectors come from that model on an
// OpenAI-compatible endpoint instead (the API key, if any, is read from
// MINIRAG_EMBED_API_KEY, never from a flag).
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed/openai"
	"github.com/minirag/minirag/eval"
	"github.com/minirag/minirag/storage/postgres"
)

func main() {
	o := options{questions: eval.Questions()}
	flag.StringVar(&o.corpus, "corpus", "testdata/prometheus-docs", "corpus directory (the labeled documents' root)")
	flag.IntVar(&o.topK, "k", 10, "results per query (at least 10)")
	flag.BoolVar(&o.misses, "misses", false, "also list, per mode, the questions whose document was not found")
	flag.BoolVar(&o.study, "fusion", false, "also study other fusions of the dense and lexical rankings, offline (exploration)")
	flag.StringVar(&o.embedModel, "embed-model", "", "embedding model on an OpenAI-compatible endpoint (default: the offline hashing embedder)")
	flag.StringVar(&o.embedURL, "embed-url", "", "base URL of the embedding endpoint, up to /v1 (default: OpenAI's)")
	flag.StringVar(&o.fusion, "hybrid-fusion", "", "hybrid: fusion, scores or rrf (empty: the SDK default for the embedder)")
	flag.IntVar(&o.rrfK, "rrf-k", 0, "hybrid: reciprocal rank fusion constant (0: the SDK default)")
	flag.Float64Var(&o.denseWeight, "dense-weight", 0, "hybrid: weight of the dense ranking (0: the SDK default)")
	flag.Float64Var(&o.lexicalWeight, "lexical-weight", 0, "hybrid: weight of the lexical ranking (0: the SDK default)")
	flag.StringVar(&o.stack, "stack", "sqlite", "stores measured: sqlite (SQLite + local), postgres (PostgreSQL + local), pgvector (PostgreSQL + pgvector) or all")
	flag.StringVar(&o.postgresURL, "postgres-url", "", "PostgreSQL for -stack postgres, pgvector and all")
	flag.StringVar(&o.pgvectorURL, "pgvector-url", "", "PostgreSQL with pgvector for -stack pgvector and all")
	flag.Float64Var(&o.bm25.K1, "bm25-k1", 0, "PostgreSQL stacks: BM25 k1 (0: storage/postgres's default)")
	flag.Float64Var(&o.bm25.B, "bm25-b", 0, "PostgreSQL stacks: BM25 b (0: storage/postgres's default)")
	flag.Parse()
	o.apiKey = os.Getenv("MINIRAG_EMBED_API_KEY")
	if err := run(context.Background(), os.Stdout, o); err != nil {
		log.Fatalf("quality: %v", err)
	}
}

// options are the command's settings.
type options struct {
	corpus        string
	questions     []eval.Question
	topK          int
	misses, study bool
	// embedModel, when set, replaces the hashing embedder by this model at
	// embedURL (embed/openai), authenticated with apiKey if not empty.
	embedModel, embedURL, apiKey string
	// Hybrid fusion settings; zero means the SDK's defaults.
	fusion                     string
	rrfK                       int
	denseWeight, lexicalWeight float64
	// stack is sqlite, postgres, pgvector or all; postgresURL and
	// pgvectorURL the servers of the PostgreSQL stacks.
	stack, postgresURL, pgvectorURL string
	bm25                            postgres.BM25
}

// stackNames maps -stack values to stacks.
var stackNames = map[string][]eval.Stack{
	"sqlite":   {eval.StackSQLiteLocal},
	"postgres": {eval.StackPostgresLocal},
	"pgvector": {eval.StackPostgresPGVector},
	"all":      {eval.StackSQLiteLocal, eval.StackPostgresLocal, eval.StackPostgresPGVector},
}

func run(ctx context.Context, w io.Writer, o options) error {
	stacks, ok := stackNames[cmp.Or(o.stack, "sqlite")]
	if !ok {
		return fmt.Errorf("-stack %q: want sqlite, postgres, pgvector or all", o.stack)
	}
	var reps []eval.StackReport
	for _, stack := range stacks {
		if len(stacks) > 1 {
			fmt.Fprintf(w, "## %s\n\n", stack)
		}
		rep, err := runStack(ctx, w, o, stack)
		if err != nil {
			return fmt.Errorf("%s: %w", stack, err)
		}
		reps = append(reps, eval.StackReport{Stack: stack, Report: rep})
	}
	if len(reps) > 1 {
		fmt.Fprint(w, "## Side by side\n\n", eval.StacksMarkdown(reps), "\n")
	}
	return nil
}

// pgSchema makes a pool on url and a new schema name, and returns a
// function dropping the schema and closing the pool.
func pgSchema(ctx context.Context, url string) (*pgxpool.Pool, string, func(), error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, "", nil, fmt.Errorf("connect: %w", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		pool.Close()
		return nil, "", nil, err
	}
	schema := "minirag_quality_" + hex.EncodeToString(b[:])
	return pool, schema, func() {
		if _, err := pool.Exec(context.WithoutCancel(ctx), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			log.Printf("quality: drop schema %s: %v", schema, err)
		}
		pool.Close()
	}, nil
}

// stackOptions returns the Open options of stack, and a cleanup.
func stackOptions(ctx context.Context, o options, stack eval.Stack) ([]minirag.OpenOption, func(), error) {
	if stack == eval.StackSQLiteLocal {
		return nil, func() {}, nil
	}
	if o.postgresURL == "" {
		return nil, nil, fmt.Errorf("-postgres-url is required")
	}
	var pg eval.PostgresConfig
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	pool, schema, done, err := pgSchema(ctx, o.postgresURL)
	if err != nil {
		return nil, nil, err
	}
	cleanups = append(cleanups, done)
	pg.Pool, pg.Schema, pg.BM25 = pool, schema, o.bm25
	if stack == eval.StackPostgresPGVector {
		if o.pgvectorURL == "" {
			cleanup()
			return nil, nil, fmt.Errorf("-pgvector-url is required")
		}
		vpool, vschema, vdone, err := pgSchema(ctx, o.pgvectorURL)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		cleanups = append(cleanups, vdone)
		pg.VectorPool, pg.VectorSchema = vpool, vschema
	}
	opts, err := eval.StackOptions(ctx, stack, pg)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return opts, cleanup, nil
}

// runStack measures one stack and prints its report.
func runStack(ctx context.Context, w io.Writer, o options, stack eval.Stack) (eval.Report, error) {
	qs := o.questions
	if err := eval.CheckCorpus(o.corpus, qs); err != nil {
		return eval.Report{}, err
	}
	dir, err := os.MkdirTemp("", "minirag-quality-")
	if err != nil {
		return eval.Report{}, err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	opts, cleanup, err := stackOptions(ctx, o, stack)
	if err != nil {
		return eval.Report{}, err
	}
	defer cleanup()
	if o.embedModel != "" {
		e, err := openai.New(openai.Config{BaseURL: o.embedURL, Model: o.embedModel, APIKey: o.apiKey})
		if err != nil {
			return eval.Report{}, err
		}
		opts = append(opts, minirag.WithEmbedder(e))
		fmt.Fprintf(w, "Embedder: %s.\n\n", e.Model())
	}
	env, err := eval.Setup(ctx, o.corpus, dir, opts...)
	if err != nil {
		return eval.Report{}, err
	}
	defer env.Close()
	ingested := time.Since(start)
	env.Fusion, env.RRFK, env.DenseWeight, env.LexicalWeight = minirag.Fusion(o.fusion), o.rrfK, o.denseWeight, o.lexicalWeight
	if o.fusion != "" || o.rrfK != 0 || o.denseWeight != 0 || o.lexicalWeight != 0 {
		fmt.Fprintf(w, "Hybrid fusion settings: fusion=%q rrf_k=%d dense_weight=%g lexical_weight=%g (empty or 0 = default).\n\n",
			o.fusion, o.rrfK, o.denseWeight, o.lexicalWeight)
	}
	start = time.Now()
	rep, err := eval.Run(ctx, env.Search, qs, eval.Modes, o.topK)
	if err != nil {
		return eval.Report{}, err
	}
	fmt.Fprintf(w, "Corpus: %d documents, %d chunks (ingested in %s); %d searches in %s.\n\n",
		env.Ingest.Documents, env.Ingest.Chunks, ingested.Round(time.Millisecond),
		len(qs)*len(eval.Modes), time.Since(start).Round(time.Millisecond))
	fmt.Fprint(w, rep.Markdown())
	for _, single := range []minirag.SearchMode{minirag.SearchDense, minirag.SearchLexical} {
		better, worse, same := rep.Compare(minirag.SearchHybrid, single)
		fmt.Fprintf(w, "Hybrid vs %s, rank of the labeled document per question: better on %d, worse on %d, same on %d.\n\n",
			single, better, worse, same)
	}
	if o.misses {
		m := rep.Misses(qs)
		for _, mode := range eval.Modes {
			fmt.Fprintf(w, "Not found in the top %d by %s (%d): %s\n\n", o.topK, mode, len(m[mode]), strings.Join(m[mode], " "))
		}
	}
	if o.study {
		lists, err := eval.FetchLists(ctx, env.Search, qs, 40)
		if err != nil {
			return eval.Report{}, err
		}
		var minMax, rrf60, rrf10 []eval.Fusion
		for i := 10; i <= 19; i++ {
			minMax = append(minMax, eval.MinMax(float64(i)/20))
		}
		for w := 1.0; w <= 5; w++ {
			rrf60 = append(rrf60, eval.RRF(60, 1, w))
			rrf10 = append(rrf10, eval.RRF(10, 1, w))
		}
		fmt.Fprint(w, "Fusion study (exploration; settings picked on this set are fitted to it):\n\n",
			lists.Table(append(append(append([]eval.Fusion{}, rrf60[:3]...), rrf10[1], rrf10[4]), minMax...)), "\n")
		fmt.Fprint(w, "Tuned on one half, checked on the other:\n\n", lists.SplitStudy(map[string][]eval.Fusion{
			"min-max scores, lexical weight 0.50–0.95 by 0.05": minMax,
			"RRF k=60, lexical weight 1–5":                     rrf60,
			"RRF k=10, lexical weight 1–5":                     rrf10,
		}), "\n")
		def := eval.MinMax(minirag.LexicalEmbedderLexicalWeight / (minirag.LexicalEmbedderDenseWeight + minirag.LexicalEmbedderLexicalWeight))
		fmt.Fprint(w, "The SDK's default over a lexical embedder, on every half:\n\n", lists.Halves([]eval.Fusion{def}), "\n")
	}
	return rep, nil
}
