package main

import (
	"bytes"
	"path/filepath"
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
	for q, want := range map[string][]string{
		questions[0]: {"A: Slack or Microsoft Teams through an incoming webhook URL. [1]", "[1] Alerts and notifications (alerts.md)"},
		questions[1]: {"orbit restore", "[1] Backups and restore (backups.md)"},
		questions[2]: {"A: Plan: Team, Monitors: 100, Status pages: 5, Price per month: 19 € [1]", "[1] Plans and pricing (pricing.md)"},
	} {
		a := answerTo(t, out.String(), q)
		for _, w := range want {
			if !strings.Contains(a, w) {
				t.Errorf("answer to %q lacks %q:\n%s", q, w, a)
			}
		}
	}
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
