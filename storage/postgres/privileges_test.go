package postgres_test

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
)

// asRole opens a pool as the role of cfg and checks that the server logged
// in as it and that the role may create nothing.
func asRole(t *testing.T, cfg *pgxpool.Config, schema string) *pgxpool.Pool {
	t.Helper()
	p := testsvc.Pool(t, cfg)
	var user string
	var createDB, createSchema bool
	require.NoError(t, p.QueryRow(t.Context(), `SELECT session_user,
			has_database_privilege(current_database(), 'CREATE'), has_schema_privilege($1, 'CREATE')`, schema).
		Scan(&user, &createDB, &createSchema))
	require.Equal(t, cfg.ConnConfig.User, user, "the server did not log in as the test role")
	require.False(t, createDB, "precondition: the role has no CREATE on the database")
	require.False(t, createSchema, "precondition: the role has no CREATE on the schema")
	return p
}

// TestDMLOnlyRole: once a privileged role has migrated the schema, a role
// with only USAGE on the schema and SELECT, INSERT, UPDATE, DELETE on its
// tables can call New (PostgreSQL 15 refuses CREATE … IF NOT EXISTS without
// CREATE even when the object exists) and use the store.
func TestDMLOnlyRole(t *testing.T) {
	admin, url := pool(t, 2)
	ctx := t.Context()
	schema := testsvc.Schema(t, url)
	_, err := postgres.New(ctx, admin, postgres.WithSchema(schema))
	require.NoError(t, err)

	rp := asRole(t, dmlConfig(t, admin, url, schema), schema)
	s, err := postgres.New(ctx, rp, postgres.WithSchema(schema))
	require.NoError(t, err, "New as a DML-only role on a migrated schema")

	// A round trip through every kind of statement the store runs.
	now := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, s.CreateTenant(ctx, record.Tenant{ID: "t", Name: "T", Slug: "t", CreatedAt: now, UpdatedAt: now}))
	got, err := s.GetTenant(ctx, "t")
	require.NoError(t, err)
	require.Equal(t, "T", got.Name)
	require.NoError(t, s.CreateUser(ctx, record.User{ID: "u", TenantID: "t", Email: "A@x.org", Role: record.RoleAdmin, CreatedAt: now, UpdatedAt: now}))
	u, err := s.GetUserByEmail(ctx, "t", "a@X.org")
	require.NoError(t, err)
	u.Name = "renamed"
	require.NoError(t, s.UpdateUser(ctx, u))
	require.NoError(t, s.CreateBot(ctx, record.Bot{ID: "b", TenantID: "t", CreatedAt: now, UpdatedAt: now}))
	require.NoError(t, s.CreateSource(ctx, record.Source{ID: "src", TenantID: "t", BotID: "b", Type: record.SourceText,
		Status: record.StatusPending, CreatedAt: now, UpdatedAt: now}))
	require.NoError(t, s.InTx(ctx, func(tx storage.Storage) error {
		_, err := tx.PutDocument(ctx, record.Document{ID: "d", TenantID: "t", SourceID: "src", Key: "k", Title: "Alerting",
			CreatedAt: now, UpdatedAt: now}, []record.Chunk{{ID: "c", Text: "Alertmanager routes alerts to receivers"}})
		return err
	}))
	m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", Text: "receivers"})
	require.NoError(t, err)
	require.Len(t, m, 1)
	require.NoError(t, s.EnqueueJob(ctx, record.Job{ID: "j", TenantID: "t", SourceID: "src", Kind: "ingest",
		Status: record.JobQueued, MaxAttempts: 3, RunAt: now, CreatedAt: now, UpdatedAt: now}))
	j, err := s.ClaimJob(ctx, "w", now.Add(time.Second), time.Minute)
	require.NoError(t, err)
	require.Equal(t, "j", j.ID)
	require.NoError(t, s.CompleteJob(ctx, "j", "w", now.Add(2*time.Second)))
	require.NoError(t, s.DeleteDocument(ctx, "t", "d"))
	_, err = s.GetDocument(ctx, "t", "d")
	require.ErrorIs(t, err, record.ErrNotFound)
	// Tenant isolation holds for this role as for any other.
	_, err = s.GetUser(ctx, "other", "u")
	require.ErrorIs(t, err, record.ErrNotFound)
}

// TestDMLOnlyRoleCannotMigrate: a role that may not create is told what
// to do when the schema is missing or not migrated, instead of a bare
// "permission denied".
func TestDMLOnlyRoleCannotMigrate(t *testing.T) {
	admin, url := pool(t, 2)
	ctx := t.Context()
	schema := testsvc.Schema(t, url) // exists, empty: not migrated
	rp := asRole(t, dmlConfig(t, admin, url, schema), schema)

	_, err := postgres.New(ctx, rp, postgres.WithSchema(schema))
	require.Error(t, err)
	var dbErr *postgres.DBError
	require.ErrorAs(t, err, &dbErr)
	require.Equal(t, "42501", dbErr.Code)
	require.ErrorContains(t, err, "postgres: migrate: ")
	require.ErrorContains(t, err, "schema_migrations table is missing")
	require.ErrorContains(t, err, "run New once as a role with CREATE")
	assertNoPgx(t, err)

	// A schema that does not exist: the role may not create it either.
	_, err = postgres.New(ctx, rp, postgres.WithSchema(schema+"_missing"))
	require.ErrorAs(t, err, &dbErr)
	require.Equal(t, "42501", dbErr.Code)
	require.ErrorContains(t, err, "CREATE on the database")
	var exists bool
	require.NoError(t, admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema+"_missing").Scan(&exists))
	require.False(t, exists)
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

// TestNoDDLWhenMigrated: New on a migrated schema sends no DDL at all,
// for a named schema and for the search_path one.
func TestNoDDLWhenMigrated(t *testing.T) {
	url := testsvc.PostgresURL(t)
	schema := testsvc.Schema(t, url)
	var log statementLog
	cfg := testsvc.PoolConfig(t, url, 1)
	cfg.ConnConfig.Tracer = &log
	p := testsvc.Pool(t, cfg)
	ctx := t.Context()

	_, err := postgres.New(ctx, p, postgres.WithSchema(schema))
	require.NoError(t, err)
	first := log.take()
	require.True(t, hasDDL(first), "the first New creates the tables: %q", first)

	_, err = postgres.New(ctx, p, postgres.WithSchema(schema))
	require.NoError(t, err)
	second := log.take()
	require.NotEmpty(t, second)
	require.False(t, hasDDL(second), "DDL on a migrated schema: %q", second)

	// Without WithSchema: the tables of the search_path's first schema.
	pcfg := testsvc.PoolConfig(t, url, 1)
	pcfg.ConnConfig.RuntimeParams["search_path"] = schema
	pcfg.ConnConfig.Tracer = &log
	sp := testsvc.Pool(t, pcfg)
	s, err := postgres.New(ctx, sp)
	require.NoError(t, err)
	third := log.take()
	require.False(t, hasDDL(third), "DDL on a migrated search_path schema: %q", third)
	now := time.Now()
	require.NoError(t, s.CreateTenant(ctx, record.Tenant{ID: "sp", Slug: "sp", CreatedAt: now, UpdatedAt: now}))
	var n int
	require.NoError(t, p.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "tenants"}.Sanitize()+" WHERE id = 'sp'").Scan(&n))
	require.Equal(t, 1, n, "the store without WithSchema used the search_path schema")
}

func hasDDL(sqls []string) bool {
	for _, q := range sqls {
		if ddlRE.MatchString(q) {
			return true
		}
	}
	return false
}

// dmlConfig is testsvc.DMLRole without the role name.
func dmlConfig(t *testing.T, admin *pgxpool.Pool, url, schema string) *pgxpool.Config {
	cfg, _ := testsvc.DMLRole(t, admin, url, schema)
	return cfg
}
