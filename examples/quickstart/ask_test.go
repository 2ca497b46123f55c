package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/minirag/minirag/internal/openaitest"
)

// answerTo returns the answer lines printed for question q in the answers
// section of out.
func answerTo(t *testing.T, out, q string) string {
	t.Helper()
	_, answers, ok := strings.Cut(out, "\nanswers (")
	if !ok {
		t.Fatalf("no answers section:\n%s", out)
	}
	_, after, ok := strings.Cut(answers, "Q: "+q+"\n")
	if !ok {
		t.Fatalf("no answer to %q:\n%s", q, out)
	}
	block, _, _ := strings.Cut(after, "\n\n")
	return block
}

func TestQuickstartAnswersOffline(t *testing.T) {
	t.Setenv("MINIRAG_CHAT_BASE_URL", "")
	var out bytes.Buffer
	if err := run(t.Context(), &out, &bytes.Buffer{}, filepath.Join(t.TempDir(), "data")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "answers (extractive") {
		t.Fatalf("not extractive:\n%s", out.String())
	}
	// Each answer must hold the statement that answers the question, cited
	// with the document it comes from, whatever the citation's number
	// (the numbers follow the retrieval order, which fusion may change).
	for q, want := range map[string]struct{ statement, doc string }{
		questions[0]: {"Slack or Microsoft Teams through an incoming webhook URL.", "Alerts and notifications (alerts.md)"},
		questions[1]: {"orbit restore --data", "Backups and restore (backups.md)"},
		questions[2]: {"Plan: Team, Monitors: 100, Status pages: 5, Price per month: 19 €", "Plans and pricing (pricing.md)"},
	} {
		a := answerTo(t, out.String(), q)
		docs := citedDocs(t, a, want.statement)
		if len(docs) == 0 {
			t.Errorf("answer to %q does not cite %q:\n%s", q, want.statement, a)
		}
		for _, d := range docs {
			if d != want.doc {
				t.Errorf("answer to %q cites %q for %q, want %q:\n%s", q, d, want.statement, want.doc, a)
			}
		}
	}
}

// markersRE matches the citation markers that end a statement: " [1]",
// " [1] [2]", " [1][2]".
var markersRE = regexp.MustCompile(`^(?:\s*\[\d+\])+`)

// citedDocs returns the documents listed for the markers that follow the
// statement holding fragment in answer block a (the "A: " line, then one
// "   [n] Title (file)" line per cited passage). It fails the test when the
// answer lacks fragment or a marker has no listed document.
func citedDocs(t *testing.T, a, fragment string) []string {
	t.Helper()
	i := strings.Index(a, fragment)
	if i < 0 {
		t.Errorf("answer lacks %q:\n%s", fragment, a)
		return nil
	}
	rest := a[i+len(fragment):]
	// The markers come after the end of the statement's sentence (or
	// line, for a table row or a command).
	j := strings.Index(rest, " [")
	if j < 0 {
		return nil
	}
	var docs []string
	for _, m := range regexp.MustCompile(`\[(\d+)\]`).FindAllString(markersRE.FindString(rest[j:]), -1) {
		line := ""
		for l := range strings.SplitSeq(a, "\n") {
			if after, ok := strings.CutPrefix(strings.TrimSpace(l), m+" "); ok {
				line = after
				break
			}
		}
		if line == "" {
			t.Errorf("marker %s is not listed:\n%s", m, a)
			continue
		}
		docs = append(docs, line)
	}
	return docs
}

func TestQuickstartAnswersWithModel(t *testing.T) {
	const key = "sk-quickstart-chat-secret"
	srv := openaitest.New(t, openaitest.Options{APIKey: key, Reply: func(req openaitest.ChatRequest) string {
		return "See the passages [1] and [2]."
	}})
	t.Setenv("MINIRAG_CHAT_BASE_URL", srv.URL)
	t.Setenv("MINIRAG_CHAT_API_KEY", key)
	t.Setenv("MINIRAG_CHAT_MODEL", "test-model")
	var out bytes.Buffer
	if err := run(t.Context(), &out, &bytes.Buffer{}, filepath.Join(t.TempDir(), "data")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "answers (model test-model at "+srv.URL+")") {
		t.Fatalf("no model answers:\n%s", out.String())
	}
	a := answerTo(t, out.String(), questions[1])
	for _, w := range []string{"A: See the passages [1] and [2].", "[1] Backups and restore (backups.md)", "[2] ", "tokens"} {
		if !strings.Contains(a, w) {
			t.Errorf("answer lacks %q:\n%s", w, a)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != len(questions) {
		t.Fatalf("%d chat requests, want %d", len(reqs), len(questions))
	}
	if !strings.Contains(string(reqs[0].Body), `"model":"test-model"`) {
		t.Errorf("request body: %s", reqs[0].Body)
	}
	if leaks := srv.SecretLeaks(key); len(leaks) > 0 {
		t.Errorf("key leaked: %v", leaks)
	}
	if strings.Contains(out.String(), key) {
		t.Errorf("output holds the key")
	}
}
