package pgvector_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

// loggedInAs reports whether pool's connections run as role. PGlite serves
// every connection as its one user, whatever the startup message says.
func loggedInAs(t *testing.T, pool *pgxpool.Pool, role string) bool {
	t.Helper()
	var user string
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT session_user").Scan(&user))
	return user == role
}

// TestInitDMLOnlyRole: once a privileged role has run Init, a role with
// only USAGE on the schema and SELECT, INSERT, UPDATE, DELETE on the table
// can run Init (no DDL) and use the store.
func TestInitDMLOnlyRole(t *testing.T) {
	url := testsvc.PGVectorURL(t)
	admin := testsvc.Pool(t, testsvc.PoolConfig(t, url, 2))
	schema := testsvc.Schema(t, url)
	ctx := t.Context()
	space := vectorstore.Space{Model: "dml-model", Dims: 3}
	st, err := pgvector.New(ctx, admin, pgvector.Options{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, st.Init(ctx, space))

	cfg, role := testsvc.DMLRole(t, admin, url, schema)
	rp := testsvc.Pool(t, cfg)
	if !loggedInAs(t, rp, role) {
		t.Skip("the pgvector test server does not log in as the requested role (PGlite serves every connection as one superuser): " +
			"privileges cannot be tested here; TestInitNoDDLWhenTableExists checks that Init sends no DDL")
	}
	var createDB, createSchema bool
	require.NoError(t, rp.QueryRow(ctx, "SELECT has_database_privilege(current_database(), 'CREATE'), has_schema_privilege($1, 'CREATE')", schema).
		Scan(&createDB, &createSchema))
	require.False(t, createDB || createSchema, "precondition: the role may create nothing")

	rs, err := pgvector.New(ctx, rp, pgvector.Options{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, rs.Init(ctx, space), "Init as a DML-only role on an existing table")
	require.NoError(t, rs.Upsert(ctx, []vectorstore.Record{
		{ID: "a", TenantID: "t", Vector: []float32{1, 0, 0}},
		{ID: "b", TenantID: "t", Vector: []float32{0, 1, 0}},
		{ID: "a", TenantID: "other", Vector: []float32{1, 0, 0}},
	}))
	m, err := rs.Search(ctx, vectorstore.Query{Vector: []float32{1, 0.1, 0}, TopK: 5, Filter: vectorstore.Filter{TenantID: "t"}})
	require.NoError(t, err)
	require.Len(t, m, 2)
	require.Equal(t, "a", m[0].ID)
	require.NoError(t, rs.Delete(ctx, vectorstore.Filter{TenantID: "t"}))
	m, err = rs.Search(ctx, vectorstore.Query{Vector: []float32{1, 0, 0}, TopK: 5, Filter: vectorstore.Filter{TenantID: "other"}})
	require.NoError(t, err)
	require.Len(t, m, 1, "deleting tenant t's vectors left the other tenant's")

	// A new model needs a new table, which this role may not create.
	err = rs.Init(ctx, vectorstore.Space{Model: "another-model", Dims: 3})
	var se *pgvector.ServerError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "42501", se.Code)
	require.ErrorContains(t, err, "run Init once for this model as a role that has it")
}

// TestInitExtensionMissing: on a database without the vector extension, a
// role that may not create it gets ErrNoExtension naming the statement to
// run. It runs on the plain PostgreSQL test server (MINIRAG_TEST_POSTGRES_URL),
// where a non-superuser cannot create the extension whether or not the
// server has pgvector.
func TestInitExtensionMissing(t *testing.T) {
	url := testsvc.PostgresURL(t)
	admin := testsvc.Pool(t, testsvc.PoolConfig(t, url, 2))
	ctx := t.Context()
	var installed, available bool
	require.NoError(t, admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector'),
		EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')`).Scan(&installed, &available))
	if installed {
		t.Skip("the vector extension is installed in the PostgreSQL test database: nothing to test")
	}
	schema := testsvc.Schema(t, url)
	cfg, role := testsvc.DMLRole(t, admin, url, schema)
	rp := testsvc.Pool(t, cfg)
	require.True(t, loggedInAs(t, rp, role), "the PostgreSQL test server did not log in as the test role")
	st, err := pgvector.New(ctx, rp, pgvector.Options{Schema: schema})
	require.NoError(t, err)
	err = st.Init(ctx, vectorstore.Space{Model: "m", Dims: 3})
	require.ErrorIs(t, err, pgvector.ErrNoExtension)
	require.ErrorContains(t, err, "pgvector: init: the vector extension is not installed in database")
	require.ErrorContains(t, err, `run "CREATE EXTENSION vector;" once in database`)
	if available {
		require.ErrorContains(t, err, `role "`+role+`" may not create it`)
		require.ErrorContains(t, err, "SQLSTATE 42501")
	} else {
		require.ErrorContains(t, err, "the server has no pgvector to install")
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		require.NotRegexp(t, `pgconn|pgx`, fmt.Sprintf("%T", e), "driver error leaked: %v", err)
	}
	_, err = st.Search(ctx, vectorstore.Query{Vector: []float32{1, 0, 0}, TopK: 1, Filter: vectorstore.Filter{TenantID: "t"}})
	require.ErrorIs(t, err, vectorstore.ErrNotInitialized, "a failed Init leaves the store uninitialized")
}

// statementLog records the SQL a pool sends.
type statementLog struct {
	mu   sync.Mutex
	sqls []string
}

func (l *statementLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	l.sqls = append(l.sqls, d.SQL)
	l.mu.Unlock()
	return ctx
}

func (l *statementLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (l *statementLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.sqls
	l.sqls = nil
	return out
}

var ddlRE = regexp.MustCompile(`(?i)^\s*(CREATE|ALTER|DROP|GRANT|REVOKE|COMMENT|TRUNCATE)\b`)

func ddl(sqls []string) []string {
	var out []string
	for _, q := range sqls {
		if ddlRE.MatchString(q) {
			out = append(out, q)
		}
	}
	return out
}

// TestInitNoDDLWhenTableExists: Init on a store whose extension, schema and
// table exist sends no DDL, only catalog reads (what lets a DML-only role
// call it, on any server).
func TestInitNoDDLWhenTableExists(t *testing.T) {
	url := testsvc.PGVectorURL(t)
	var log statementLog
	cfg := testsvc.PoolConfig(t, url, 1)
	cfg.ConnConfig.Tracer = &log
	p := testsvc.Pool(t, cfg)
	schema := testsvc.Schema(t, url)
	ctx := t.Context()
	space := vectorstore.Space{Model: "noddl-model", Dims: 4}

	a, err := pgvector.New(ctx, p, pgvector.Options{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, a.Init(ctx, space))
	require.NotEmpty(t, ddl(log.take()), "the first Init creates the table")

	b, err := pgvector.New(ctx, p, pgvector.Options{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, b.Init(ctx, space))
	second := log.take()
	require.NotEmpty(t, second)
	require.Empty(t, ddl(second), "DDL when the table exists: %q", second)
	require.NoError(t, b.Upsert(ctx, []vectorstore.Record{{ID: "x", TenantID: "t", Vector: []float32{1, 2, 3, 4}}}))
}
