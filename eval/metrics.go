package eval

import (
	"context"
	"fmt"
	"strings"

	"github.com/minirag/minirag"
)

// Modes are the search modes measured, in report order.
var Modes = []minirag.SearchMode{minirag.SearchDense, minirag.SearchLexical, minirag.SearchHybrid}

// Hit is one search result as the metrics see it.
type Hit struct {
	// Document is the result's document path relative to the corpus root.
	Document string
	// Text is the result chunk's text.
	Text string
	// ChunkID identifies the chunk and Score is the mode's score (used by
	// the fusion study only).
	ChunkID string
	Score   float64
}

// Searcher runs one query in one mode and returns at most topK hits, best
// first.
type Searcher func(ctx context.Context, query string, mode minirag.SearchMode, topK int) ([]Hit, error)

// Scores are recall@5, recall@10 and MRR@10 at one relevance level, over N
// questions.
type Scores struct {
	// N is the number of questions scored.
	N int
	// Recall5 and Recall10 are the shares of questions with a relevant
	// result in the top 5 and top 10; MRR10 the mean reciprocal rank of
	// the first relevant result in the top 10 (0 when none).
	Recall5  float64
	Recall10 float64
	MRR10    float64
}

// ModeReport is what one search mode scored.
type ModeReport struct {
	// Mode is the search mode measured.
	Mode minirag.SearchMode
	// Document scores every question: a hit is a chunk of the labeled
	// document.
	Document Scores
	// Passage scores the questions with a passage: a hit is a chunk of the
	// labeled document for which PassageMatch holds.
	Passage Scores
	// Ranks maps a question ID to the 1-based rank of its first
	// document-level hit in the top K, 0 when none.
	Ranks map[string]int
	// PassageRanks is Ranks at passage level (questions with a passage
	// only).
	PassageRanks map[string]int
}

// Report is one evaluation: every mode over the same questions.
type Report struct {
	// Questions is the number of questions, Documents the number of
	// distinct labeled documents, Passages the questions with a passage.
	Questions int
	Documents int
	Passages  int
	// TopK is the number of results asked for per query.
	TopK int
	// Modes holds one report per mode, in the order measured.
	Modes []ModeReport
}

// Mode returns the report of mode m, or false.
func (r Report) Mode(m minirag.SearchMode) (ModeReport, bool) {
	for _, mr := range r.Modes {
		if mr.Mode == m {
			return mr, true
		}
	}
	return ModeReport{}, false
}

// Run asks every question in every mode with the given topK (at least 10
// for recall@10 and MRR@10 to mean what they say) and scores the results.
func Run(ctx context.Context, search Searcher, qs []Question, modes []minirag.SearchMode, topK int) (Report, error) {
	if topK < 10 {
		return Report{}, fmt.Errorf("eval: topK %d: must be at least 10", topK)
	}
	rep := Report{Questions: len(qs), TopK: topK}
	docs := map[string]bool{}
	for _, q := range qs {
		docs[q.Document] = true
		if q.Passage != "" {
			rep.Passages++
		}
	}
	rep.Documents = len(docs)
	for _, m := range modes {
		mr := ModeReport{Mode: m, Ranks: make(map[string]int, len(qs)), PassageRanks: make(map[string]int, rep.Passages)}
		var docRanks, passRanks []int
		for _, q := range qs {
			hits, err := search(ctx, q.Question, m, topK)
			if err != nil {
				return Report{}, fmt.Errorf("eval: %s search for %s: %w", m, q.ID, err)
			}
			dr, pr := 0, 0
			for i, h := range hits {
				if i == topK {
					break
				}
				if h.Document != q.Document {
					continue
				}
				if dr == 0 {
					dr = i + 1
				}
				if q.Passage != "" && pr == 0 && PassageMatch(h.Text, q.Passage) {
					pr = i + 1
				}
			}
			mr.Ranks[q.ID] = dr
			docRanks = append(docRanks, dr)
			if q.Passage != "" {
				mr.PassageRanks[q.ID] = pr
				passRanks = append(passRanks, pr)
			}
		}
		mr.Document = score(docRanks)
		mr.Passage = score(passRanks)
		rep.Modes = append(rep.Modes, mr)
	}
	return rep, nil
}

// score turns first-hit ranks (0 = none in the top K) into Scores.
func score(ranks []int) Scores {
	s := Scores{N: len(ranks)}
	if s.N == 0 {
		return s
	}
	for _, r := range ranks {
		if r >= 1 && r <= 5 {
			s.Recall5++
		}
		if r >= 1 && r <= 10 {
			s.Recall10++
			s.MRR10 += 1 / float64(r)
		}
	}
	n := float64(s.N)
	s.Recall5 /= n
	s.Recall10 /= n
	s.MRR10 /= n
	return s
}

// Markdown renders the report as two markdown tables (document level,
// passage level), one row per mode.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d questions over %d documents (%d with a passage), top %d per query.\n\n",
		r.Questions, r.Documents, r.Passages, r.TopK)
	table := func(title string, pick func(ModeReport) Scores) {
		fmt.Fprintf(&b, "%s\n\n", title)
		b.WriteString("| mode | recall@5 | recall@10 | MRR@10 |\n|---|---:|---:|---:|\n")
		for _, m := range r.Modes {
			s := pick(m)
			fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f |\n", m.Mode, s.Recall5, s.Recall10, s.MRR10)
		}
		b.WriteString("\n")
	}
	table(fmt.Sprintf("Document level (%d questions): a hit is a chunk of the labeled document.", r.Questions),
		func(m ModeReport) Scores { return m.Document })
	table(fmt.Sprintf("Passage level (%d questions): a hit is a chunk of the labeled document holding the labeled passage.", r.Passages),
		func(m ModeReport) Scores { return m.Passage })
	return b.String()
}

// Misses lists, for each mode, the IDs of the questions whose document was
// not in the top K, in question order.
func (r Report) Misses(qs []Question) map[minirag.SearchMode][]string {
	out := make(map[minirag.SearchMode][]string, len(r.Modes))
	for _, m := range r.Modes {
		for _, q := range qs {
			if m.Ranks[q.ID] == 0 {
				out[m.Mode] = append(out[m.Mode], q.ID)
			}
		}
	}
	return out
}

// Compare counts, at document level, the questions on which mode a ranks
// the labeled document better (a smaller rank, or found against not found)
// than mode b, worse, and the same.
func (r Report) Compare(a, b minirag.SearchMode) (better, worse, same int) {
	ma, okA := r.Mode(a)
	mb, okB := r.Mode(b)
	if !okA || !okB {
		return 0, 0, 0
	}
	rank := func(x int) int {
		if x == 0 {
			return r.TopK + 1
		}
		return x
	}
	for id, ra := range ma.Ranks {
		switch x, y := rank(ra), rank(mb.Ranks[id]); {
		case x < y:
			better++
		case x > y:
			worse++
		default:
			same++
		}
	}
	return better, worse, same
}
