// Package eval measures MiniRAG's retrieval quality on a labeled set of
// questions over a real corpus (the Prometheus documentation in
// the repository's testdata/prometheus-docs).
//
// The labeled set (questions.json, embedded in this package) was written by
// hand from the documents: each question names the document that answers
// it and, for most, a short verbatim passage of that document holding the
// answer. Nothing in it was generated from an index.
//
//	qs := eval.Questions()                      // the labeled set
//	env, _ := eval.Setup(ctx, corpusDir, tmpDir) // embedded stack, one file source, ingested
//	rep, _ := eval.Run(ctx, env.Search, qs, eval.Modes, 10)
//	fmt.Print(rep.Markdown())
//
// Two levels of relevance are scored, each with recall@5, recall@10 and
// MRR@10:
//
//   - document: a result is relevant when it is a chunk of the labeled
//     document;
//   - passage: a result is relevant when it is a chunk of the labeled
//     document whose text holds the labeled passage (see PassageMatch).
//     Only questions with a passage count at this level.
//
// Run it with `go test ./eval/` (asserts the invariants) or
// `go run ./eval/cmd/quality` (prints the tables in markdown).
package eval

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

//go:embed questions.json
var questionsJSON []byte

// Question is one labeled question.
type Question struct {
	// ID is unique in the set ("q001"...).
	ID string `json:"id"`
	// Question is phrased as a user would ask it, usually not in the
	// document's words.
	Question string `json:"question"`
	// Document is the answering document's path relative to the corpus
	// root, slash-separated ("docs/introduction/faq.md").
	Document string `json:"document"`
	// Passage, when set, is a short verbatim extract of Document (equal up
	// to runs of whitespace) that holds the answer.
	Passage string `json:"passage,omitempty"`
}

// Questions returns the labeled set embedded in the package, in file
// order. It panics if the embedded file is malformed, which its test rules
// out.
func Questions() []Question {
	qs, err := ParseQuestions(questionsJSON)
	if err != nil {
		panic(err)
	}
	return qs
}

// ParseQuestions decodes and validates a labeled set: IDs unique and
// present, question and document present, document a clean relative slash
// path.
func ParseQuestions(data []byte) ([]Question, error) {
	var qs []Question
	if err := json.Unmarshal(data, &qs); err != nil {
		return nil, fmt.Errorf("eval: questions: %w", err)
	}
	if len(qs) == 0 {
		return nil, errors.New("eval: questions: empty set")
	}
	seen := make(map[string]bool, len(qs))
	for i, q := range qs {
		switch {
		case q.ID == "":
			return nil, fmt.Errorf("eval: questions[%d]: id is empty", i)
		case seen[q.ID]:
			return nil, fmt.Errorf("eval: questions[%d]: id %q is repeated", i, q.ID)
		case strings.TrimSpace(q.Question) == "":
			return nil, fmt.Errorf("eval: question %s: question is empty", q.ID)
		case q.Document == "" || strings.HasPrefix(q.Document, "/") || strings.Contains(q.Document, "\\") ||
			filepath.ToSlash(filepath.Clean(q.Document)) != q.Document || strings.HasPrefix(q.Document, "../"):
			return nil, fmt.Errorf("eval: question %s: document %q is not a clean relative slash path", q.ID, q.Document)
		}
		seen[q.ID] = true
	}
	return qs, nil
}

// CheckCorpus verifies the set against the corpus in dir: every document
// exists and every passage occurs in its document (up to runs of
// whitespace). It returns all problems joined.
func CheckCorpus(dir string, qs []Question) error {
	var errs []error
	texts := map[string]string{}
	for _, q := range qs {
		t, ok := texts[q.Document]
		if !ok {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(q.Document)))
			if err != nil {
				errs = append(errs, fmt.Errorf("eval: question %s: %w", q.ID, err))
				texts[q.Document] = ""
				continue
			}
			t = squash(string(b))
			texts[q.Document] = t
		}
		if q.Passage != "" && t != "" && !strings.Contains(t, squash(q.Passage)) {
			errs = append(errs, fmt.Errorf("eval: question %s: passage %q is not in %s", q.ID, q.Passage, q.Document))
		}
	}
	return errors.Join(errs...)
}

// squash collapses every run of whitespace to one space and trims the ends.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// PassageMatch reports whether a result chunk's text holds the passage, up
// to runs of whitespace: either the whole passage, or, when the passage
// straddles a chunk boundary, at least half of it (in bytes) as the
// chunk's end (the passage's start) or the chunk's start (the passage's
// end).
func PassageMatch(chunkText, passage string) bool {
	c, p := squash(chunkText), squash(passage)
	if p == "" {
		return false
	}
	if strings.Contains(c, p) {
		return true
	}
	for k := len(p) - 1; k >= (len(p)+1)/2; k-- {
		if strings.HasSuffix(c, p[:k]) || strings.HasPrefix(c, p[len(p)-k:]) {
			return true
		}
	}
	return false
}
