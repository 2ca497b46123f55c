// Package testsvc is test support for the integration tests that need a
// real PostgreSQL or pgvector server.
//
// The servers come from environment variables that scripts/services (run
// by scripts/test) exports:
//
//	MINIRAG_TEST_POSTGRES_URL  a PostgreSQL, for storage/postgres
//	MINIRAG_TEST_PGVECTOR_URL  a PostgreSQL with pgvector (PGlite by default)
//
// When a variable is unset the test is skipped, unless
// MINIRAG_REQUIRE_SERVICES=1, where it fails with a message saying how to
// provide the service. Each test gets its own schema, dropped when it ends,
// so tests and test packages sharing one server never see each other's
// tables.
package testsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Environment variables read by this package.
const (
	EnvPostgresURL     = "MINIRAG_TEST_POSTGRES_URL"
	EnvPGVectorURL     = "MINIRAG_TEST_PGVECTOR_URL"
	EnvRequireServices = "MINIRAG_REQUIRE_SERVICES"
)

// Required reports whether a missing service fails the test instead of
// skipping it (MINIRAG_REQUIRE_SERVICES=1).
func Required() bool {
	v := os.Getenv(EnvRequireServices)
	return v == "1" || strings.EqualFold(v, "true")
}

func url(t testing.TB, env, what string) string {
	t.Helper()
	u := os.Getenv(env)
	if u != "" {
		return u
	}
	msg := fmt.Sprintf("testsvc: %s is not set: no %s to test against (scripts/test starts one; or export %s=postgres://...)", env, what, env)
	if Required() {
		t.Fatalf("%s; %s=1 makes this a failure", msg, EnvRequireServices)
	}
	t.Skip(msg)
	return ""
}

// PostgresURL returns MINIRAG_TEST_POSTGRES_URL, or skips (fails when
// services are required) when it is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return url(t, EnvPostgresURL, "PostgreSQL")
}

// PGVectorURL returns MINIRAG_TEST_PGVECTOR_URL, or skips (fails when
// services are required) when it is unset.
func PGVectorURL(t testing.TB) string {
	t.Helper()
	return url(t, EnvPGVectorURL, "PostgreSQL with pgvector")
}

// IsPGlite reports whether the server at connString is PGlite, which
// multiplexes every connection onto one backend: only the simple query
// protocol is safe with more than one connection open.
func IsPGlite(ctx context.Context, connString string) (bool, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return false, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "select version()").Scan(&v); err != nil {
		return false, err
	}
	return strings.Contains(v, "PGlite"), nil
}

// PoolConfig parses connString for a test pool of at most maxConns
// connections. On PGlite it selects the simple query protocol (see
// IsPGlite).
func PoolConfig(t testing.TB, connString string, maxConns int32) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		t.Fatalf("testsvc: parse URL: %v", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lite, err := IsPGlite(ctx, connString)
	if err != nil {
		t.Fatalf("testsvc: connect to %s: %v", redact(connString), err)
	}
	if lite {
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	return cfg
}

// Pool opens a pool from cfg, closed when the test ends.
func Pool(t testing.TB, cfg *pgxpool.Config) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("testsvc: open pool: %v", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		t.Fatalf("testsvc: ping: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// Schema creates a new, empty schema with a unique name in the database at
// connString and drops it (with everything in it) when the test ends. The
// name starts with "mrt_", then a part of the test's name, then random hex.
func Schema(t testing.TB, connString string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testsvc: random: %v", err)
	}
	base := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(base) > 30 {
		base = base[len(base)-30:]
	}
	name := "mrt_" + strings.Trim(base, "_") + "_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := connect(ctx, t, connString)
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		t.Fatalf("testsvc: create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		conn := connect(ctx, t, connString)
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); err != nil {
			t.Errorf("testsvc: drop schema %s: %v", name, err)
		}
	})
	return name
}

func connect(ctx context.Context, t testing.TB, connString string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		t.Fatalf("testsvc: parse URL: %v", err)
	}
	// One statement per message: safe on PGlite's multiplexer too.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("testsvc: connect to %s: %v", redact(connString), err)
	}
	return conn
}

// redact drops a password from a URL for messages.
func redact(connString string) string {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return "the test server"
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// DMLRole creates a login role (random name and password) that may only use
// schema and read and write its existing tables and sequences: no CREATE
// anywhere. It is dropped (with its grants) when the test ends. It returns a
// pool config that connects to url as that role, and the role's name.
func DMLRole(t testing.TB, admin *pgxpool.Pool, url, schema string) (*pgxpool.Config, string) {
	t.Helper()
	ctx := t.Context()
	var b [6]byte
	var pw [16]byte
	_, _ = rand.Read(b[:])
	_, _ = rand.Read(pw[:])
	name := "mrt_dml_" + hex.EncodeToString(b[:])
	role := pgx.Identifier{name}.Sanitize()
	password := hex.EncodeToString(pw[:]) // hex: safe inside a literal
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD '"+password+"'"); err != nil {
		t.Fatalf("testsvc: create role %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// DROP OWNED revokes its grants in this database; then the role goes.
		if _, err := admin.Exec(ctx, "DROP OWNED BY "+role); err != nil {
			t.Errorf("testsvc: drop owned by %s: %v", name, err)
		}
		if _, err := admin.Exec(ctx, "DROP ROLE "+role); err != nil {
			t.Errorf("testsvc: drop role %s: %v", name, err)
		}
	})
	s := pgx.Identifier{schema}.Sanitize()
	for _, q := range []string{
		"GRANT USAGE ON SCHEMA " + s + " TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + s + " TO " + role,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + s + " TO " + role,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("testsvc: %s: %v", q, err)
		}
	}
	cfg := PoolConfig(t, url, 2)
	cfg.ConnConfig.User = name
	cfg.ConnConfig.Password = password
	return cfg, name
}
