package sqlite

import (
	"testing"

	"github.com/minirag/minirag/storage"
)

func TestFTSTerms(t *testing.T) {
	for text, want := range map[string]string{
		"":                          "",
		`"*:-()`:                    "",
		"Prometheus alerting":       `"prometheus" OR "alerting"`,
		`title:"x" AND y*`:          `"title" OR "x" OR "and" OR "y"`,
		"cafe\u0301 cafe\u0301":     "\"cafe\u0301\"",
		"don't":                     `"don" OR "t"`,
		"NEAR(a b) a":               `"near" OR "a" OR "b"`,
		"日本語 テキスト":                  `"日本語" OR "テキスト"`,
		"x'); DROP TABLE chunks;--": `"x" OR "drop" OR "table" OR "chunks"`,
	} {
		if got := ftsTerms(text); got != want {
			t.Errorf("ftsTerms(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestFTSQueryScope(t *testing.T) {
	got := ftsQuery(storage.LexicalQuery{TenantID: "t1", BotID: "b", SourceIDs: []string{"s1", "s2"}, Text: "hello"})
	want := `scope : "t74310" AND scope : "b620" AND scope : ("s73310" OR "s73320") AND {text title} : ("hello")`
	if got != want {
		t.Errorf("ftsQuery = %q, want %q", got, want)
	}
	if got := ftsQuery(storage.LexicalQuery{TenantID: "t1", Text: "?!"}); got != "" {
		t.Errorf("ftsQuery without words = %q, want empty", got)
	}
}

func TestUniqueWhat(t *testing.T) {
	for msg, want := range map[string]string{
		"constraint failed: UNIQUE constraint failed: chunks.id (2067)":                         "duplicate chunk id",
		"UNIQUE constraint failed: tenants.slug":                                                "tenant slug already used",
		"constraint failed: UNIQUE constraint failed: users.tenant_id, users.email_norm (2067)": "email already used in the tenant",
		"something else": "duplicate value",
	} {
		if got := uniqueWhat(msg); got != want {
			t.Errorf("uniqueWhat(%q) = %q, want %q", msg, got, want)
		}
	}
}
