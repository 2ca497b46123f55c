package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minirag/minirag/eval"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"docs/alerting.md": "---\ntitle: Alerting\n---\n\n# Alerting\n\nAlertmanager groups alerts, silences them and sends notifications by email or Slack.\n",
		"docs/storage.md":  "---\ntitle: Storage\n---\n\n# Storage\n\nThe time series database keeps samples in blocks on local disk and compacts them.\n",
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
		{ID: "a", Question: "How are alert notifications silenced and sent to Slack?", Document: "docs/alerting.md"},
		{ID: "b", Question: "Where are samples kept on disk?", Document: "docs/storage.md"},
	}
	var out strings.Builder
	if err := run(t.Context(), &out, dir, 10, []int{5}, qs); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"Corpus: 2 documents", "Hybrid, no reranking", "top 5 fused candidates reranked by rerank.Lexical",
		"| hybrid | 1.000 | 1.000 | 1.000 |", "better on 0, worse on 0, same on 2"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}
