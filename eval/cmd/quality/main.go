// Command quality measures MiniRAG's retrieval quality on the labeled set of
// package eval and prints the results as markdown tables (the figures of
// docs/QUALITY.md).
//
// Run it from the repository root:
//
//	go run ./eval/cmd/quality                   # corpus at ../shared/corpus/prometheus-docs
//	go run ./eval/cmd/quality -corpus DIR -misses
//	go run ./eval/cmd/quality -fusion          # also compare other fusions, offline
//
// It ingests the corpus into a fresh embedded stack (SQLite, local vector
// store, hashing embedder) in a temporary directory, removed at the end.
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
	"github.com/minirag/minirag/eval"
)

func main() {
	corpus := flag.String("corpus", "../shared/corpus/prometheus-docs", "corpus directory (the labeled documents' root)")
	topK := flag.Int("k", 10, "results per query (at least 10)")
	misses := flag.Bool("misses", false, "also list, per mode, the questions whose document was not found")
	study := flag.Bool("fusion", false, "also study other fusions of the dense and lexical rankings, offline (exploration)")
	var f fusion
	flag.IntVar(&f.k, "rrf-k", 0, "hybrid: reciprocal rank fusion constant (0: the SDK default)")
	flag.Float64Var(&f.dense, "dense-weight", 0, "hybrid: weight of the dense ranking (0: the SDK default)")
	flag.Float64Var(&f.lexical, "lexical-weight", 0, "hybrid: weight of the lexical ranking (0: the SDK default)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *corpus, *topK, *misses, *study, f); err != nil {
		log.Fatalf("quality: %v", err)
	}
}

// fusion holds the hybrid settings given on the command line.
type fusion struct {
	k              int
	dense, lexical float64
}

func run(ctx context.Context, w io.Writer, corpus string, topK int, misses, study bool, f fusion) error {
	qs := eval.Questions()
	if err := eval.CheckCorpus(corpus, qs); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "minirag-quality-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	env, err := eval.Setup(ctx, corpus, dir)
	if err != nil {
		return err
	}
	defer env.Close()
	ingested := time.Since(start)
	env.RRFK, env.DenseWeight, env.LexicalWeight = f.k, f.dense, f.lexical
	if f != (fusion{}) {
		fmt.Fprintf(w, "Hybrid fusion settings: rrf_k=%d dense_weight=%g lexical_weight=%g (0 = default).\n\n", f.k, f.dense, f.lexical)
	}
	start = time.Now()
	rep, err := eval.Run(ctx, env.Search, qs, eval.Modes, topK)
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
	if misses {
		m := rep.Misses(qs)
		for _, mode := range eval.Modes {
			fmt.Fprintf(w, "Not found in the top %d by %s (%d): %s\n\n", topK, mode, len(m[mode]), strings.Join(m[mode], " "))
		}
	}
	if study {
		table, err := eval.FusionStudy(ctx, env.Search, qs, 40, []eval.Fusion{
			eval.RRF(60, 1, 1), eval.RRF(60, 1, 2), eval.RRF(60, 1, 3), eval.RRF(10, 1, 2),
			eval.MinMax(0.5), eval.MinMax(0.6), eval.MinMax(0.7), eval.MinMax(0.8), eval.MinMax(0.9),
		})
		if err != nil {
			return err
		}
		fmt.Fprint(w, "Fusion study (exploration; settings picked on this set are fitted to it):\n\n", table, "\n")
	}
	return nil
}
