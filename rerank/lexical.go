package rerank

import (
	"context"
	"math"
	"slices"
	"strings"
	"unicode"
)

// Lexical is an offline Reranker: BM25 of the query's words over the
// documents given (their statistics only), plus a bonus for each pair of
// query words that appear next to each other in the document, in the
// query's order. It needs no model and no network; it proves the
// reranking path and is a baseline to measure a model reranker against
// (docs/QUALITY.md). The zero value uses K1 1.2, B 0.75 and a phrase
// weight of 0.5.
type Lexical struct {
	K1, B float64
	// PhraseWeight multiplies the bonus of adjacent query word pairs.
	PhraseWeight float64
}

// Rerank implements Reranker.
func (l Lexical) Rerank(ctx context.Context, query string, docs []string, topN int) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k1, b, pw := l.K1, l.B, l.PhraseWeight
	if k1 == 0 {
		k1 = 1.2
	}
	if b == 0 {
		b = 0.75
	}
	if pw == 0 {
		pw = 0.5
	}
	q := words(query)
	terms := slices.Compact(slices.Sorted(slices.Values(q)))
	toks := make([][]string, len(docs))
	df := make(map[string]int)
	total := 0
	for i, d := range docs {
		toks[i] = words(d)
		total += len(toks[i])
		seen := make(map[string]bool)
		for _, w := range toks[i] {
			if !seen[w] {
				seen[w] = true
				df[w]++
			}
		}
	}
	avg := 1.0
	if len(docs) > 0 && total > 0 {
		avg = float64(total) / float64(len(docs))
	}
	out := make([]Result, len(docs))
	for i, t := range toks {
		tf := make(map[string]int)
		for _, w := range t {
			tf[w]++
		}
		s := 0.0
		for _, w := range terms {
			f := float64(tf[w])
			if f == 0 {
				continue
			}
			n := float64(df[w])
			idf := math.Log(1 + (float64(len(docs))-n+0.5)/(n+0.5))
			s += idf * f * (k1 + 1) / (f + k1*(1-b+b*float64(len(t))/avg))
		}
		// Adjacent query word pairs found adjacent in the document.
		pairs := make(map[[2]string]bool)
		for j := 1; j < len(t); j++ {
			pairs[[2]string{t[j-1], t[j]}] = true
		}
		for j := 1; j < len(q); j++ {
			if pairs[[2]string{q[j-1], q[j]}] {
				s += pw
			}
		}
		out[i] = Result{Index: i, Score: s}
	}
	if topN <= 0 || topN > len(out) {
		topN = len(out)
	}
	return best(out, topN), nil
}

// words lowercases s and splits it into words of letters and digits,
// leaving out one-letter words and common English stop words, with a
// plural "s" dropped from words of four letters or more.
func words(s string) []string {
	var out []string
	for w := range strings.FieldsFuncSeq(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) < 2 || stop[w] {
			continue
		}
		if len(w) >= 4 && w[len(w)-1] == 's' && w[len(w)-2] != 's' {
			w = w[:len(w)-1]
		}
		out = append(out, w)
	}
	return out
}

var stop = map[string]bool{
	"a": true, "an": true, "and": true, "are": true, "as": true, "at": true, "be": true, "by": true,
	"can": true, "do": true, "does": true, "for": true, "from": true, "how": true, "in": true,
	"is": true, "it": true, "its": true, "of": true, "on": true, "or": true, "the": true, "this": true,
	"that": true, "to": true, "what": true, "when": true, "where": true, "which": true, "who": true,
	"why": true, "with": true, "you": true, "your": true, "my": true, "me": true, "we": true, "there": true,
}

// sortResults orders by score, best first, then by index.
func sortResults(res []Result) {
	slices.SortStableFunc(res, func(a, b Result) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return a.Index - b.Index
	})
}
