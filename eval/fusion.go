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
// lexicalWeight·lexical + (1−lexicalWeight)·dense, as
// minirag.FusionScores does it with weights 1−lexicalWeight and
// lexicalWeight (ties keep dense order, then lexical).
func MinMax(lexicalWeight float64) Fusion {
	return Fusion{
		Name: fmt.Sprintf("min-max scores, lexical weight %.2f", lexicalWeight),
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

// Lists are the dense and lexical rankings of every question of a set,
// fetched once (FetchLists) so that many fusions can be scored on them
// offline.
type Lists struct {
	// Depth is the number of results fetched from each mode.
	Depth int
	qs    []Question
	dense [][]Hit
	lex   [][]Hit
}

// FetchLists asks every question in dense and in lexical mode, depth
// results each (hybrid search gathers max(4·top K, 40) candidates per list,
// so 40 for a top 10).
func FetchLists(ctx context.Context, search Searcher, qs []Question, depth int) (*Lists, error) {
	l := &Lists{Depth: depth, qs: qs, dense: make([][]Hit, len(qs)), lex: make([][]Hit, len(qs))}
	for i, q := range qs {
		var err error
		if l.dense[i], err = search(ctx, q.Question, minirag.SearchDense, depth); err != nil {
			return nil, fmt.Errorf("eval: dense search for %s: %w", q.ID, err)
		}
		if l.lex[i], err = search(ctx, q.Question, minirag.SearchLexical, depth); err != nil {
			return nil, fmt.Errorf("eval: lexical search for %s: %w", q.ID, err)
		}
	}
	return l, nil
}

// Halves of a set, by position in the file.
const (
	// AllQuestions is the whole set.
	AllQuestions = -1
	// OddHalf holds the 1st, 3rd, 5th… questions (q001, q003…), EvenHalf
	// the 2nd, 4th…: both spread over every part of the corpus.
	OddHalf  = 0
	EvenHalf = 1
	// FirstHalf holds the first ⌈n/2⌉ questions, SecondHalf the rest: as
	// the file follows the corpus, they cover different documents.
	FirstHalf  = 2
	SecondHalf = 3
)

// in reports whether the i-th of n questions belongs to half.
func in(half, i, n int) bool {
	switch half {
	case OddHalf, EvenHalf:
		return i%2 == half
	case FirstHalf:
		return i < (n+1)/2
	case SecondHalf:
		return i >= (n+1)/2
	}
	return true
}

// halfNames name the halves in the study's tables.
var halfNames = map[int]string{OddHalf: "odd", EvenHalf: "even", FirstHalf: "first", SecondHalf: "second"}

// FusionScores are what one fusion scored on some questions: document and
// passage level, top 10.
type FusionScores struct {
	Document, Passage Scores
}

// Score scores fusion f on the questions of half (AllQuestions or one of
// the halves), top 10 of the fused list.
func (l *Lists) Score(f Fusion, half int) FusionScores {
	var docRanks, passRanks []int
	for i, q := range l.qs {
		if !in(half, i, len(l.qs)) {
			continue
		}
		dr, pr := 0, 0
		for j, h := range f.Fuse(l.dense[i], l.lex[i]) {
			if j == 10 {
				break
			}
			if h.Document != q.Document {
				continue
			}
			if dr == 0 {
				dr = j + 1
			}
			if q.Passage != "" && pr == 0 && PassageMatch(h.Text, q.Passage) {
				pr = j + 1
			}
		}
		docRanks = append(docRanks, dr)
		if q.Passage != "" {
			passRanks = append(passRanks, pr)
		}
	}
	return FusionScores{Document: score(docRanks), Passage: score(passRanks)}
}

// DenseAlone and LexicalAlone are the single modes as fusions (the list
// as it is).
var (
	DenseAlone   = Fusion{Name: "dense alone", Fuse: func(d, _ []Hit) []Hit { return d }}
	LexicalAlone = Fusion{Name: "lexical alone", Fuse: func(_, l []Hit) []Hit { return l }}
)

// notWorse reports whether s is at least best on recall@5, recall@10 and
// MRR@10 (the invariant, no tolerance).
func notWorse(s, best Scores) bool {
	return s.Recall5 >= best.Recall5 && s.Recall10 >= best.Recall10 && s.MRR10 >= best.MRR10
}

// bestSingle is, metric by metric, the better of the dense and lexical
// lists at document level on half.
func (l *Lists) bestSingle(half int) Scores {
	d, x := l.Score(DenseAlone, half).Document, l.Score(LexicalAlone, half).Document
	return Scores{N: d.N, Recall5: max(d.Recall5, x.Recall5), Recall10: max(d.Recall10, x.Recall10), MRR10: max(d.MRR10, x.MRR10)}
}

// Tune picks a fusion of family on the questions of half, by a rule fixed
// in advance: of the fusions whose document-level recall@5, recall@10 and
// MRR@10 on that half are each at least the best single mode's, the one
// with the highest MRR@10 (the first of equals, in family order); when
// none is, the highest MRR@10 of all. It returns the index of the pick in
// family and whether the pick met the invariant on the tuning half.
func (l *Lists) Tune(family []Fusion, half int) (pick int, met bool) {
	best := l.bestSingle(half)
	pick = -1
	var pickMRR float64
	for i, f := range family {
		s := l.Score(f, half).Document
		ok := notWorse(s, best)
		switch {
		case pick < 0, ok && !met, ok == met && s.MRR10 > pickMRR:
			pick, met, pickMRR = i, ok, s.MRR10
		}
	}
	return pick, met
}

// Table renders the single modes and fusions as a markdown table:
// document level on the whole set and on each half, and passage level on
// the whole set.
func (l *Lists) Table(fusions []Fusion) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Top 10 of fused lists built from the top %d of each mode; document level on all %d questions and on each half (odd and even positions in the file); passage level on all.\n\n", l.Depth, len(l.qs))
	b.WriteString("| fusion | all: R@5 | R@10 | MRR@10 | odd: R@5 | R@10 | MRR@10 | even: R@5 | R@10 | MRR@10 | passage: R@5 | R@10 | MRR@10 |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, f := range append([]Fusion{DenseAlone, LexicalAlone}, fusions...) {
		a, o, e := l.Score(f, AllQuestions), l.Score(f, OddHalf), l.Score(f, EvenHalf)
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", f.Name,
			a.Document.Recall5, a.Document.Recall10, a.Document.MRR10,
			o.Document.Recall5, o.Document.Recall10, o.Document.MRR10,
			e.Document.Recall5, e.Document.Recall10, e.Document.MRR10,
			a.Passage.Recall5, a.Passage.Recall10, a.Passage.MRR10)
	}
	return b.String()
}

// SplitStudy tunes each family on one half (Tune) and reports the pick on
// the other half and on the whole set, next to the best single mode, for
// both splits (odd/even positions, first/second half of the file) in both
// directions. It returns a markdown table.
func (l *Lists) SplitStudy(families map[string][]Fusion) string {
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("Document level: R@5 / R@10 / MRR@10. \"best single\" is, metric by metric, the better of dense and lexical on the same questions; ✓ when the pick is not worse on all three.\n\n")
	b.WriteString("| family | tuned on | pick | tuning half | held-out half | best single (held-out) | all | best single (all) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	f3 := func(s Scores) string { return fmt.Sprintf("%.3f / %.3f / %.3f", s.Recall5, s.Recall10, s.MRR10) }
	mark := func(ok bool) string {
		if ok {
			return " ✓"
		}
		return " ✗"
	}
	for _, n := range names {
		for _, split := range [][2]int{{OddHalf, EvenHalf}, {EvenHalf, OddHalf}, {FirstHalf, SecondHalf}, {SecondHalf, FirstHalf}} {
			tune, held := split[0], split[1]
			i, met := l.Tune(families[n], tune)
			f := families[n][i]
			t, h, a := l.Score(f, tune).Document, l.Score(f, held).Document, l.Score(f, AllQuestions).Document
			bh, ba := l.bestSingle(held), l.bestSingle(AllQuestions)
			fmt.Fprintf(&b, "| %s | %s | %s | %s%s | %s%s | %s | %s%s | %s |\n", n, halfNames[tune], f.Name,
				f3(t), mark(met), f3(h), mark(notWorse(h, bh)), f3(bh), f3(a), mark(notWorse(a, ba)), f3(ba))
		}
	}
	return b.String()
}

// Halves reports fusions on each half of both splits and on the whole
// set, next to the best single mode there, as a markdown table (document
// level).
func (l *Lists) Halves(fusions []Fusion) string {
	var b strings.Builder
	b.WriteString("Document level: R@5 / R@10 / MRR@10; ✓ when not worse than the best single mode on all three.\n\n")
	b.WriteString("| fusion | questions | fusion | best single |\n|---|---|---|---|\n")
	for _, f := range fusions {
		for _, half := range []int{OddHalf, EvenHalf, FirstHalf, SecondHalf, AllQuestions} {
			name, ok := halfNames[half]
			if !ok {
				name = "all"
			}
			s, best := l.Score(f, half).Document, l.bestSingle(half)
			ok = notWorse(s, best)
			mark := " ✗"
			if ok {
				mark = " ✓"
			}
			fmt.Fprintf(&b, "| %s | %s (%d) | %.3f / %.3f / %.3f%s | %.3f / %.3f / %.3f |\n", f.Name, name, s.N,
				s.Recall5, s.Recall10, s.MRR10, mark, best.Recall5, best.Recall10, best.MRR10)
		}
	}
	return b.String()
}

// FusionStudy fetches each question's dense and lexical rankings (depth
// results each) and scores each fusion on them (Lists.Table). It studies
// alternatives; it does not change the SDK.
func FusionStudy(ctx context.Context, search Searcher, qs []Question, depth int, fusions []Fusion) (string, error) {
	l, err := FetchLists(ctx, search, qs, depth)
	if err != nil {
		return "", err
	}
	return l.Table(fusions), nil
}
