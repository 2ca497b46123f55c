package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minirag/minirag"
)

// topHit returns the first result line printed under question q.
func topHit(t *testing.T, out, q string) string {
	t.Helper()
	_, after, ok := strings.Cut(out, "Q: "+q+"\n")
	if !ok {
		t.Fatalf("no answer to %q:\n%s", q, out)
	}
	line, _, _ := strings.Cut(after, "\n")
	return line
}

func TestQuickstartRunsTwice(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const apiKey = "sk-quickstart-test-secret"
	t.Setenv("MINIRAG_LLM_API_KEY", apiKey)

	var first, firstProgress bytes.Buffer
	if err := run(t.Context(), &first, &firstProgress, dir); err != nil {
		t.Fatalf("first run: %v", err)
	}
	for _, want := range []string{"generated an encryption key", "created tenant", "created bot", "from MINIRAG_LLM_API_KEY",
		"created source", "has_credentials=true", "6 added, 0 updated, 0 unchanged, 0 deleted", "status=ready"} {
		if !strings.Contains(first.String(), want) {
			t.Errorf("first run output lacks %q:\n%s", want, first.String())
		}
	}
	if !strings.Contains(firstProgress.String(), "ingest: done, 6 documents") {
		t.Errorf("no progress on stderr:\n%s", firstProgress.String())
	}
	for q, title := range map[string]string{
		questions[0]: "Alerts and notifications",
		questions[1]: "Backups and restore",
		questions[2]: "Plans and pricing",
	} {
		if hit := topHit(t, first.String(), q); !strings.Contains(hit, title) {
			t.Errorf("top hit for %q is %q, want %q", q, hit, title)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, minirag.OpenKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}

	var second, secondProgress bytes.Buffer
	if err := run(t.Context(), &second, &secondProgress, dir); err != nil {
		t.Fatalf("second run: %v", err)
	}
	for _, want := range []string{"reopened tenant", "reusing bot", "reusing source", "nothing changed: 6 documents unchanged, 0 chunks embedded"} {
		if !strings.Contains(second.String(), want) {
			t.Errorf("second run output lacks %q:\n%s", want, second.String())
		}
	}
	if strings.Contains(second.String(), "generated an encryption key") {
		t.Errorf("second run generated a new key:\n%s", second.String())
	}
	if !strings.Contains(secondProgress.String(), "ingest: done, 6 documents, 0 chunks embedded") {
		t.Errorf("second run embedded something:\n%s", secondProgress.String())
	}
	if strings.Count(second.String(), "\"Support bot\"") != 2 {
		t.Errorf("second run created a second bot:\n%s", second.String())
	}
	if topHit(t, second.String(), questions[1]) != topHit(t, first.String(), questions[1]) {
		t.Errorf("the second run answers differently")
	}

	// An edited document is the only one embedded again.
	p := filepath.Join(dir, docsDir, "pricing.md")
	if err := os.WriteFile(p, []byte("# Plans and pricing\n\nThe team plan now costs 25 € per month.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var third bytes.Buffer
	if err := run(t.Context(), &third, &bytes.Buffer{}, dir); err != nil {
		t.Fatalf("third run: %v", err)
	}
	if !strings.Contains(third.String(), "0 added, 1 updated, 5 unchanged, 0 deleted") {
		t.Errorf("third run:\n%s", third.String())
	}
	if hit := topHit(t, third.String(), questions[2]); !strings.Contains(hit, "Plans and pricing") {
		t.Errorf("top hit after the edit: %q", hit)
	}

	key, err := os.ReadFile(filepath.Join(dir, minirag.OpenKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{first.String(), second.String(), third.String()} {
		for _, secret := range []string{apiKey, strings.TrimSpace(string(key))} {
			if strings.Contains(out, secret) {
				t.Errorf("output holds a secret:\n%s", out)
			}
		}
	}
}
