package pgvector

import (
	"testing"

	"github.com/minirag/minirag/vectorstore"
)

func TestVersionAtLeast(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{
		{"0.8.0", true}, {"0.8.7", true}, {"0.10.1", true}, {"1.0", true}, {"0.7.4", false},
		{"0.5.1", false}, {"", false}, {"0", false}, {"x.y", false},
	} {
		if got := versionAtLeast(c.v, 0, 8); got != c.want {
			t.Errorf("versionAtLeast(%q, 0, 8) = %v, want %v", c.v, got, c.want)
		}
	}
}

func TestWhereUsesOnlyParameters(t *testing.T) {
	w, args := where(vectorFilter("t'; DROP TABLE x; --", "b", []string{"s1", "s2"}, []string{"d"}), 2)
	want := "tenant_id = $2 AND bot_id = $3 AND source_id = ANY($4::text[]) AND document_id = ANY($5::text[])"
	if w != want {
		t.Fatalf("where = %q, want %q", w, want)
	}
	if len(args) != 4 || args[0] != "t'; DROP TABLE x; --" {
		t.Fatalf("args = %v", args)
	}
}

func vectorFilter(tenant, bot string, sources, docs []string) vectorstore.Filter {
	return vectorstore.Filter{TenantID: tenant, BotID: bot, SourceIDs: sources, DocumentIDs: docs}
}
