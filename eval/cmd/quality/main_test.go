package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minirag/minirag/eval"
	"github.com/minirag/minirag/internal/openaitest"
)

// tinyCorpus writes a three-document corpus and a question set over it.
func tinyCorpus(t *testing.T) (string, []eval.Question) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"docs/alerting.md": "---\ntitle: Alerting\n---\n\n# Alerting\n\nAlertmanager groups alerts, silences them and sends notifications by email or Slack.\n",
		"docs/storage.md":  "---\ntitle: Storage\n---\n\n# Storage\n\nThe time series database keeps samples in blocks on local disk and compacts them.\n",
		"blog/pull.md":     "---\ntitle: Pull\n---\n\n# Pull\n\nScraping targets over HTTP scales to thousands of machines from one server.\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	qs := []eval.Question{
		{ID: "a", Question: "How are alert notifications silenced and sent to Slack?", Document: "docs/alerting.md", Passage: "silences them and sends notifications"},
		{ID: "b", Question: "Where are samples kept on disk?", Document: "docs/storage.md"},
		{ID: "c", Question: "Does scraping over HTTP scale to thousands of machines?", Document: "blog/pull.md", Passage: "scales to thousands of machines"},
	}
	return dir, qs
}

func TestRun(t *testing.T) {
	dir, qs := tinyCorpus(t)
	var out strings.Builder
	err := run(t.Context(), &out, options{corpus: dir, questions: qs, topK: 10, misses: true, study: true})
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	// Three distinct documents, each found: every mode scores 1 at
	// recall@10 at document level.
	for _, want := range []string{
		"Corpus: 3 documents",
		"3 questions over 3 documents (2 with a passage)",
		"| dense | ", "| lexical | 1.000 | 1.000 | 1.000 |", "| hybrid | ",
		"Not found in the top 10 by lexical (0)",
		"Fusion study", "| RRF k=60, weights dense 1 : lexical 1 |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

func TestRunOtherEmbedder(t *testing.T) {
	dir, qs := tinyCorpus(t)
	srv := openaitest.New(t, openaitest.Options{})
	var out strings.Builder
	err := run(t.Context(), &out, options{corpus: dir, questions: qs, topK: 10,
		embedModel: "text-embedding-test", embedURL: srv.URL, rrfK: 10, lexicalWeight: 2})
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"Embedder: openai:text-embedding-test", "rrf_k=10 dense_weight=0 lexical_weight=2", "| hybrid | "} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if srv.EmbeddedInputs() == 0 {
		t.Error("the embedding endpoint was not used")
	}
}

func TestRunRejectsMismatchedSet(t *testing.T) {
	dir, qs := tinyCorpus(t)
	qs[0].Passage = "not in the document"
	if err := run(t.Context(), new(strings.Builder), options{corpus: dir, questions: qs, topK: 10}); err == nil ||
		!strings.Contains(err.Error(), "question a") {
		t.Errorf("err = %v, want question a named", err)
	}
}

func TestRunStackFlags(t *testing.T) {
	dir, qs := tinyCorpus(t)
	for stack, want := range map[string]string{
		"bogus":    `-stack "bogus"`,
		"postgres": "-postgres-url is required",
		"all":      "-postgres-url is required",
	} {
		var out strings.Builder
		err := run(t.Context(), &out, options{corpus: dir, questions: qs, topK: 10, stack: stack})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("-stack %s: error %v, want one containing %q", stack, err, want)
		}
	}
}
