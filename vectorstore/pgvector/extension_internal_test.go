package pgvector

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestExtensionError: the three ways CREATE EXTENSION vector can be out of
// reach give errors saying what to run; the privilege and absence cases
// are ErrNoExtension and carry no driver error.
func TestExtensionError(t *testing.T) {
	denied := &pgconn.PgError{Code: "42501", Message: `permission denied to create extension "vector"`}
	err := extensionError("app", "app_rw", true, denied)
	if !errors.Is(err, ErrNoExtension) {
		t.Fatalf("not ErrNoExtension: %v", err)
	}
	for _, want := range []string{
		`the vector extension is not installed in database "app"`,
		`role "app_rw" may not create it`,
		`permission denied to create extension "vector", SQLSTATE 42501`,
		"only a superuser or a managed service's admin role",
		`run "CREATE EXTENSION vector;" once in database "app"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		t.Errorf("the driver error is wrapped: %v", err)
	}

	err = extensionError("app", "app_rw", false, nil)
	if !errors.Is(err, ErrNoExtension) || !strings.Contains(err.Error(), "the server has no pgvector to install") ||
		!strings.Contains(err.Error(), `"CREATE EXTENSION vector;"`) {
		t.Errorf("no pgvector on the server: %v", err)
	}

	// Any other failure keeps the server's error (translated by wrap) with
	// the hint in front.
	other := &pgconn.PgError{Code: "XX000", Message: "boom"}
	err = extensionError("app", "app_rw", true, other)
	if errors.Is(err, ErrNoExtension) || !errors.As(err, &pe) || !strings.Contains(err.Error(), "CREATE EXTENSION vector;") {
		t.Errorf("other failure: %v", err)
	}
}
