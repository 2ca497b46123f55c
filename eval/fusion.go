package eval

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/minirag/minirag"
)

// Fusion is a way of merging a dense and a lexical ranking, studied offline
// by FusionStudy.
type Fusion struct {
	// Name labels the fusion in the study's table.
	Name string
	// Fuse merges the two rankings (best first) into one, best first.
	Fuse func(dense, lexical []Hit) []Hit
}

// RRF is reciprocal rank fusion with constant k and weights, as
// minirag.SearchHybrid does it (ties keep dense order, then lexical).
func RRF(k, denseWeight, lexicalWeight float64) Fusion {
	return Fusion{
		Name: fmt.Sprintf("RRF k=%g, weights dense %g : lexical %g", k, denseWeight, lexicalWeight),
		Fuse: func(dense, lexical []Hit) []Hit {
			score := map[string]float64{}
			for i, h := range dense {
				score[h.ChunkID] += denseWeight / (k + float64(i+1))
			}
			for i, h := range lexical {
				score[h.ChunkID] += lexicalWeight / (k + float64(i+1))
			}
			return merged(dense, lexical, score)
		},
	}
}

// MinMax is a convex combination of the two lists' scores, each min-max
// normalized over its list (a chunk missing from a list gets 0 there):
// lexicalWeight·lexical + (1−lexicalWeight)·dense.
func MinMax(lexicalWeight float64) Fusion {
	return Fusion{
		Name: fmt.Sprintf("min-max scores, lexical weight %.1f", lexicalWeight),
		Fuse: func(dense, lexical []Hit) []Hit {
			score := map[string]float64{}
			for _, l := range []struct {
				hits []Hit
				w    float64
			}{{dense, 1 - lexicalWeight}, {lexical, lexicalWeight}} {
				if len(l.hits) == 0 {
					continue
				}
				hi, lo := l.hits[0].Score, l.hits[len(l.hits)-1].Score
				for _, h := range l.hits {
					n := 1.0
					if hi > lo {
						n = (h.Score - lo) / (hi - lo)
					}
					score[h.ChunkID] += l.w * n
				}
			}
			return merged(dense, lexical, score)
		},
	}
}

// merged lists the chunks of both lists once (dense order, then new
// lexical ones), sorted stably by score.
func merged(dense, lexical []Hit, score map[string]float64) []Hit {
	out := make([]Hit, 0, len(dense)+len(lexical))
	seen := map[string]bool{}
	for _, h := range append(append([]Hit{}, dense...), lexical...) {
		if !seen[h.ChunkID] {
			seen[h.ChunkID] = true
			h.Score = score[h.ChunkID]
			out = append(out, h)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// FusionStudy fetches each question's dense and lexical rankings (depth
// results each, as hybrid search gathers 40 candidates per list for a top
// 10) and scores each fusion on them at document level, over the whole set
// and over its two halves (odd and even positions), so that a setting
// picked on one half can be checked on the other. It returns a markdown
// table. It studies alternatives; it does not change the SDK.
func FusionStudy(ctx context.Context, search Searcher, qs []Question, depth int, fusions []Fusion) (string, error) {
	type pair struct{ dense, lexical []Hit }
	lists := make([]pair, len(qs))
	for i, q := range qs {
		var err error
		if lists[i].dense, err = search(ctx, q.Question, minirag.SearchDense, depth); err != nil {
			return "", fmt.Errorf("eval: dense search for %s: %w", q.ID, err)
		}
		if lists[i].lexical, err = search(ctx, q.Question, minirag.SearchLexical, depth); err != nil {
			return "", fmt.Errorf("eval: lexical search for %s: %w", q.ID, err)
		}
	}
	all := []Fusion{
		{Name: "dense alone", Fuse: func(d, _ []Hit) []Hit { return d }},
		{Name: "lexical alone", Fuse: func(_, l []Hit) []Hit { return l }},
	}
	all = append(all, fusions...)
	var b strings.Builder
	fmt.Fprintf(&b, "Document level, top 10 of fused lists built from the top %d of each mode.\n\n", depth)
	b.WriteString("| fusion | all: R@5 | R@10 | MRR@10 | odd half: R@10 | MRR@10 | even half: R@10 | MRR@10 |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, f := range all {
		var ranks [3][]int // all, odd positions (q001, q003…), even
		for i, q := range qs {
			r := 0
			for j, h := range f.Fuse(lists[i].dense, lists[i].lexical) {
				if j == 10 {
					break
				}
				if h.Document == q.Document {
					r = j + 1
					break
				}
			}
			ranks[0] = append(ranks[0], r)
			ranks[1+i%2] = append(ranks[1+i%2], r)
		}
		a, o, e := score(ranks[0]), score(ranks[1]), score(ranks[2])
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n",
			f.Name, a.Recall5, a.Recall10, a.MRR10, o.Recall10, o.MRR10, e.Recall10, e.MRR10)
	}
	return b.String(), nil
}
