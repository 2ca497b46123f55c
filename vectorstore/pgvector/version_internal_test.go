package pgvector

import (
	"reflect"
	"strings"
	"testing"

	"github.com/minirag/minirag/filter"
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

// TestWhereMetadataParameters: a metadata filter's values go into
// parameters, numbered after the ID conditions; the SQL holds only the
// fixed text.
func TestWhereMetadataParameters(t *testing.T) {
	evil := "x'); DROP TABLE y; --"
	f := vectorFilter("t", "", nil, nil)
	f.Metadata = filter.And(filter.Eq("k", evil), filter.Not(filter.Exists("k2")), filter.Gte("n", 2), filter.Lt("s", evil))
	w, args := where(f, 3)
	if strings.Contains(w, "DROP") || strings.Contains(w, "k2") {
		t.Fatalf("a value is in the SQL: %s", w)
	}
	if !strings.HasPrefix(w, "tenant_id = $3 AND ((metadata @> ANY($4::text[]::jsonb[]))") || !strings.Contains(w, "$8::text") {
		t.Fatalf("where = %s", w)
	}
	want := []any{"t", []string{`{"k":"x'); DROP TABLE y; --"}`, `{"k":["x'); DROP TABLE y; --"]}`}, "k2", "n", "2", "s", evil}
	if !reflect.DeepEqual(args, want) {
		t.Fatalf("args = %#v, want %#v", args, want)
	}
}

func vectorFilter(tenant, bot string, sources, docs []string) vectorstore.Filter {
	return vectorstore.Filter{TenantID: tenant, BotID: bot, SourceIDs: sources, DocumentIDs: docs}
}
