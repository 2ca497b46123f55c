package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuickstartRunsTwice(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const apiKey = "sk-quickstart-test-secret"
	t.Setenv("MINIRAG_LLM_API_KEY", apiKey)

	var first bytes.Buffer
	if err := run(t.Context(), &first, dir); err != nil {
		t.Fatalf("first run: %v", err)
	}
	for _, want := range []string{"generated an encryption key", "created tenant", "created bot", "from MINIRAG_LLM_API_KEY", "created source", "has_credentials=true", "status=pending"} {
		if !strings.Contains(first.String(), want) {
			t.Errorf("first run output lacks %q:\n%s", want, first.String())
		}
	}
	fi, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}

	var second bytes.Buffer
	if err := run(t.Context(), &second, dir); err != nil {
		t.Fatalf("second run: %v", err)
	}
	for _, want := range []string{"reopened tenant", "reusing bot", "reusing source"} {
		if !strings.Contains(second.String(), want) {
			t.Errorf("second run output lacks %q:\n%s", want, second.String())
		}
	}
	if strings.Count(second.String(), "\"Support bot\"") != 2 {
		t.Errorf("second run created a second bot:\n%s", second.String())
	}

	key, err := os.ReadFile(filepath.Join(dir, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{first.String(), second.String()} {
		for _, secret := range []string{apiKey, strings.TrimSpace(string(key))} {
			if strings.Contains(out, secret) {
				t.Errorf("output holds a secret:\n%s", out)
			}
		}
	}
}
