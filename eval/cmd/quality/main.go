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
//
// It ingests the corpus into a fresh embedded stack (minirag.Open: SQLite,
// local vector store, hashing embedder) in a temporary directory, removed
// at the end. With -embed-model, dense vectors come from that model on an
// OpenAI-compatible endpoint instead (the API key, if any, is read from
// MINIRAG_EMBED_API_KEY, never from a flag).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed/openai"
	"github.com/minirag/minirag/eval"
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
}

func run(ctx context.Context, w io.Writer, o options) error {
	qs := o.questions
	if err := eval.CheckCorpus(o.corpus, qs); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "minirag-quality-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	var opts []minirag.OpenOption
	if o.embedModel != "" {
		e, err := openai.New(openai.Config{BaseURL: o.embedURL, Model: o.embedModel, APIKey: o.apiKey})
		if err != nil {
			return err
		}
		opts = append(opts, minirag.WithEmbedder(e))
		fmt.Fprintf(w, "Embedder: %s.\n\n", e.Model())
	}
	env, err := eval.Setup(ctx, o.corpus, dir, opts...)
	if err != nil {
		return err
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
		return err
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
			return err
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
	return nil
}
