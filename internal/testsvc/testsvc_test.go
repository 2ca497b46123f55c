package testsvc_test

import (
	"context"
	"strings"
	"testing"

	"github.com/minirag/minirag/internal/testsvc"
)

func TestRequired(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "1": true, "true": true, "no": false} {
		t.Setenv(testsvc.EnvRequireServices, v)
		if got := testsvc.Required(); got != want {
			t.Errorf("MINIRAG_REQUIRE_SERVICES=%q: Required() = %v, want %v", v, got, want)
		}
	}
}

// TestSchema creates a schema in a subtest and checks it is gone once the
// subtest ended.
func TestSchema(t *testing.T) {
	url := testsvc.PostgresURL(t)
	var name string
	t.Run("create", func(t *testing.T) {
		name = testsvc.Schema(t, url)
		if !strings.HasPrefix(name, "mrt_") {
			t.Fatalf("schema %q does not start with mrt_", name)
		}
		pool := testsvc.Pool(t, testsvc.PoolConfig(t, url, 1))
		var n int
		if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", name).Scan(&n); err != nil || n != 1 {
			t.Fatalf("schema %q: count %d, err %v", name, n, err)
		}
	})
	pool := testsvc.Pool(t, testsvc.PoolConfig(t, url, 1))
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_namespace WHERE nspname = $1", name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("schema %q after its test: count %d, err %v (want dropped)", name, n, err)
	}
}

func TestIsPGlite(t *testing.T) {
	lite, err := testsvc.IsPGlite(t.Context(), testsvc.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	if lite {
		t.Fatal("the PostgreSQL test server reported as PGlite")
	}
}
