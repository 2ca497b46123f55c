// Command rerank measures what reranking does to retrieval on the labeled
// set of package eval: hybrid search as the SDK serves it, then the same
// searches with the bot reranking its top N fused candidates (the
// Search/Ask path of a bot with a rerank endpoint), here with the offline
// reranker rerank.Lexical standing in for a model, so that the plumbing is
// measured without a network. It prints both reports and the per-question
// comparison (docs/QUALITY.md holds the figures).
//
//	go run ./eval/cmd/rerank [-corpus testdata/prometheus-docs] [-k 10] [-top-n 20,40]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/eval"
	"github.com/minirag/minirag/rerank"
)

func main() {
	corpus := flag.String("corpus", "testdata/prometheus-docs", "corpus directory (the labeled documents' root)")
	topK := flag.Int("k", 10, "results per query (at least 10)")
	topN := flag.String("top-n", "20,40", "comma-separated numbers of fused candidates reranked")
	flag.Parse()
	var ns []int
	for f := range strings.SplitSeq(*topN, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "rerank: -top-n must list positive numbers")
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	if err := run(context.Background(), os.Stdout, *corpus, *topK, ns, eval.Questions()); err != nil {
		fmt.Fprintln(os.Stderr, "rerank:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, corpus string, topK int, topNs []int, qs []eval.Question) error {
	if err := eval.CheckCorpus(corpus, qs); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "minirag-rerank-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env, err := eval.Setup(ctx, corpus, dir, minirag.WithConfig(func(c *minirag.Config) {
		c.Reranker = func(context.Context, minirag.Bot, minirag.Credentials) (rerank.Reranker, error) {
			return rerank.Lexical{}, nil
		}
	}))
	if err != nil {
		return err
	}
	defer env.Close()
	hybrid := []minirag.SearchMode{minirag.SearchHybrid}
	start := time.Now()
	base, err := eval.Run(ctx, env.Search, qs, hybrid, topK)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Corpus: %d documents, %d chunks; %d questions.\n\nHybrid, no reranking (%s):\n\n%s",
		env.Ingest.Documents, env.Ingest.Chunks, len(qs), time.Since(start).Round(time.Millisecond), base.Markdown())
	for _, n := range topNs {
		// The endpoint is never called: Config.Reranker builds the offline
		// reranker for any bot with a rerank endpoint.
		if _, err := env.Tenant.UpdateBot(ctx, env.BotID, minirag.BotUpdate{Rerank: &minirag.BotRerank{URL: "http://offline.invalid/rerank", TopN: n}}); err != nil {
			return err
		}
		start := time.Now()
		rr, err := eval.Run(ctx, env.Search, qs, hybrid, topK)
		if err != nil {
			return err
		}
		better, worse, same := compare(rr.Modes[0].Ranks, base.Modes[0].Ranks)
		fmt.Fprintf(w, "\nHybrid, top %d fused candidates reranked by rerank.Lexical (%s):\n\n%s\nRank of the labeled document per question, reranked vs not: better on %d, worse on %d, same on %d.\n",
			n, time.Since(start).Round(time.Millisecond), rr.Markdown(), better, worse, same)
	}
	return nil
}

// compare counts the questions whose first hit ranks better (lower, or
// found when it was not) in a than in b.
func compare(a, b map[string]int) (better, worse, same int) {
	for id, ra := range a {
		rb := b[id]
		switch {
		case ra == rb:
			same++
		case rb == 0 || (ra != 0 && ra < rb):
			better++
		default:
			worse++
		}
	}
	return better, worse, same
}
