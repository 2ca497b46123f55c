package postgres_test

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/minirag/minirag/storage/storagetest"
)

// pool returns a pool on the PostgreSQL test server, closed when t ends.
func pool(t *testing.T, maxConns int32) (*pgxpool.Pool, string) {
	t.Helper()
	url := testsvc.PostgresURL(t)
	return testsvc.Pool(t, testsvc.PoolConfig(t, url, maxConns)), url
}

func TestConformance(t *testing.T) {
	p, url := pool(t, 10)
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		s, err := postgres.New(t.Context(), p, postgres.WithSchema(testsvc.Schema(t, url)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestConcurrentMigrations: 8 processes' worth of pools call New on the
// same fresh schema at once; the migration runs exactly once.
func TestConcurrentMigrations(t *testing.T) {
	url := testsvc.PostgresURL(t)
	schema := testsvc.Schema(t, url)
	// testsvc.Schema created it; drop it so New creates it too.
	admin := testsvc.Pool(t, testsvc.PoolConfig(t, url, 1))
	_, err := admin.Exec(t.Context(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)

	const n = 8
	pools := make([]*pgxpool.Pool, n)
	for i := range pools {
		pools[i] = testsvc.Pool(t, testsvc.PoolConfig(t, url, 2))
	}
	var wg sync.WaitGroup
	var start sync.WaitGroup
	start.Add(1)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			_, errs[i] = postgres.New(t.Context(), pools[i], postgres.WithSchema(schema))
		}()
	}
	start.Done()
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "New #%d", i)
	}
	var rows, versions int
	require.NoError(t, admin.QueryRow(t.Context(),
		"SELECT count(*), count(DISTINCT version) FROM "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&rows, &versions))
	require.Equal(t, postgres.SchemaVersion(), rows, "one row per migration")
	require.Equal(t, rows, versions)
	// And a store made later sees the same schema without migrating again.
	s, err := postgres.New(t.Context(), pools[0], postgres.WithSchema(schema))
	require.NoError(t, err)
	require.NoError(t, s.CreateTenant(t.Context(), record.Tenant{ID: "t1", Slug: "t1", CreatedAt: time.Now(), UpdatedAt: time.Now()}))
}

// TestNewerSchemaRefused: a database migrated by a newer version is not
// misread.
func TestNewerSchemaRefused(t *testing.T) {
	p, url := pool(t, 2)
	schema := testsvc.Schema(t, url)
	_, err := postgres.New(t.Context(), p, postgres.WithSchema(schema))
	require.NoError(t, err)
	_, err = p.Exec(t.Context(), "INSERT INTO "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+" (version) VALUES (9999)")
	require.NoError(t, err)
	_, err = postgres.New(t.Context(), p, postgres.WithSchema(schema))
	require.ErrorContains(t, err, "newer")
}

// TestSchemasIsolated: two stores on two schemas of one database do not
// see each other's rows.
func TestSchemasIsolated(t *testing.T) {
	p, url := pool(t, 4)
	a, err := postgres.New(t.Context(), p, postgres.WithSchema(testsvc.Schema(t, url)))
	require.NoError(t, err)
	b, err := postgres.New(t.Context(), p, postgres.WithSchema(testsvc.Schema(t, url)))
	require.NoError(t, err)
	now := time.Now()
	require.NoError(t, a.CreateTenant(t.Context(), record.Tenant{ID: "only-in-a", Slug: "a", CreatedAt: now, UpdatedAt: now}))
	_, err = b.GetTenant(t.Context(), "only-in-a")
	require.ErrorIs(t, err, record.ErrNotFound)
	// A hostile schema name is quoted, not executed.
	evil := `x"; DROP TABLE tenants; --`
	c, err := postgres.New(t.Context(), p, postgres.WithSchema(evil))
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = p.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{evil}.Sanitize()+" CASCADE")
	})
	require.NoError(t, c.CreateTenant(t.Context(), record.Tenant{ID: "c", Slug: "c", CreatedAt: now, UpdatedAt: now}))
	_, err = a.GetTenant(t.Context(), "only-in-a")
	require.NoError(t, err)
}

// TestErrorsTranslated: no pgx type reaches a caller.
func TestErrorsTranslated(t *testing.T) {
	p, url := pool(t, 2)
	s, err := postgres.New(t.Context(), p, postgres.WithSchema(testsvc.Schema(t, url)))
	require.NoError(t, err)
	ctx := t.Context()
	now := time.Now()
	require.NoError(t, s.CreateTenant(ctx, record.Tenant{ID: "t", Slug: "t", CreatedAt: now, UpdatedAt: now}))
	err = s.CreateTenant(ctx, record.Tenant{ID: "t", Slug: "u", CreatedAt: now, UpdatedAt: now})
	require.ErrorIs(t, err, record.ErrConflict)
	require.Contains(t, err.Error(), "postgres: create tenant")
	assertNoPgx(t, err)

	_, err = s.GetTenant(ctx, "missing")
	require.ErrorIs(t, err, record.ErrNotFound)
	assertNoPgx(t, err)

	err = s.CreateBot(ctx, record.Bot{ID: "b", TenantID: "no-such-tenant"})
	require.ErrorIs(t, err, record.ErrNotFound)
	assertNoPgx(t, err)

	// A NUL byte PostgreSQL cannot store is bad input, not a driver error.
	err = s.CreateTenant(ctx, record.Tenant{ID: "n", Slug: "nul\x00slug", CreatedAt: now, UpdatedAt: now})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assertNoPgx(t, err)

	// Unknown text-search configuration.
	_, err = s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", Text: "x", Language: "klingon"})
	var ve *record.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "language", ve.Fields[0].Field)
	_, err = s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", Text: "x", Language: "english'); DROP TABLE chunks; --"})
	require.ErrorIs(t, err, record.ErrInvalidInput)

	// Deadline.
	dctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-dctx.Done()
	_, err = s.ListTenants(dctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func assertNoPgx(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		require.NotContains(t, fmt.Sprintf("%T", e), "pgconn", "driver error leaked: %v", err)
		require.NotContains(t, fmt.Sprintf("%T", e), "pgx", "driver error leaked: %v", err)
	}
}

// TestLexicalLanguages: chunks are indexed with their bot's language, and
// queries stem in LexicalQuery.Language.
func TestLexicalLanguages(t *testing.T) {
	p, url := pool(t, 2)
	s, err := postgres.New(t.Context(), p, postgres.WithSchema(testsvc.Schema(t, url)))
	require.NoError(t, err)
	ctx := t.Context()
	now := time.Now().UTC()
	require.NoError(t, s.CreateTenant(ctx, record.Tenant{ID: "t", Slug: "t", CreatedAt: now, UpdatedAt: now}))
	for _, b := range []record.Bot{{ID: "de", Language: "german"}, {ID: "en", Language: ""}} {
		b.TenantID, b.CreatedAt, b.UpdatedAt = "t", now, now
		require.NoError(t, s.CreateBot(ctx, b))
		src := record.Source{ID: "src-" + b.ID, TenantID: "t", BotID: b.ID, Type: record.SourceText, Status: record.StatusPending, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, s.CreateSource(ctx, src))
		text := map[string]string{"de": "Die Häuser stehen am Flussufer", "en": "The houses are running", "xx": "The houses are running"}[b.ID]
		_, err := s.PutDocument(ctx, record.Document{ID: "doc-" + b.ID, TenantID: "t", SourceID: src.ID, Key: "k", CreatedAt: now, UpdatedAt: now},
			[]record.Chunk{{ID: "chk-" + b.ID, Text: text}})
		require.NoError(t, err)
	}
	m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", BotID: "de", Text: "Haus", Language: "german"})
	require.NoError(t, err)
	require.Len(t, m, 1, "German stemming: Häuser ~ Haus")
	m, err = s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", Text: "house run"})
	require.NoError(t, err)
	require.Len(t, m, 1, "English default for an empty bot language: %v", m)
	// A language the server has no configuration for is refused, at
	// CreateBot and UpdateBot, naming the field.
	bad := record.Bot{ID: "xx", TenantID: "t", Language: "no-such-language", CreatedAt: now, UpdatedAt: now}
	err = s.CreateBot(ctx, bad)
	require.ErrorIs(t, err, record.ErrInvalidInput)
	require.ErrorContains(t, err, "language")
	bad.ID = "en"
	err = s.UpdateBot(ctx, bad)
	require.ErrorIs(t, err, record.ErrInvalidInput)
	require.ErrorContains(t, err, "language")
	m, err = s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", Text: "the are"})
	require.NoError(t, err)
	require.Empty(t, m, "stop words only")
}

// TestClaimAcrossPools: workers on separate pools (as separate processes
// would be) drain the queue, each job claimed once.
func TestClaimAcrossPools(t *testing.T) {
	url := testsvc.PostgresURL(t)
	schema := testsvc.Schema(t, url)
	ctx := t.Context()
	const workers, jobs = 4, 40
	stores := make([]*postgres.Store, workers)
	for i := range stores {
		s, err := postgres.New(ctx, testsvc.Pool(t, testsvc.PoolConfig(t, url, 2)), postgres.WithSchema(schema))
		require.NoError(t, err)
		stores[i] = s
	}
	now := time.Now().UTC()
	s0 := stores[0]
	require.NoError(t, s0.CreateTenant(ctx, record.Tenant{ID: "t", Slug: "t", CreatedAt: now, UpdatedAt: now}))
	require.NoError(t, s0.CreateBot(ctx, record.Bot{ID: "b", TenantID: "t", CreatedAt: now, UpdatedAt: now}))
	require.NoError(t, s0.CreateSource(ctx, record.Source{ID: "s", TenantID: "t", BotID: "b", Type: record.SourceText, Status: record.StatusPending, CreatedAt: now, UpdatedAt: now}))
	for i := range jobs {
		require.NoError(t, s0.EnqueueJob(ctx, record.Job{ID: fmt.Sprintf("j%02d", i), TenantID: "t", SourceID: "s", Kind: "ingest",
			Status: record.JobQueued, MaxAttempts: 3, RunAt: now, CreatedAt: now.Add(time.Duration(i) * time.Microsecond), UpdatedAt: now}))
	}
	var mu sync.Mutex
	done := map[string]string{}
	var wg sync.WaitGroup
	for w, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("w%d", w)
			for {
				j, err := s.ClaimJob(ctx, name, now.Add(time.Second), time.Minute)
				if errors.Is(err, record.ErrNotFound) {
					return
				}
				if !assertNoErr(t, err) {
					return
				}
				mu.Lock()
				if prev, ok := done[j.ID]; ok {
					t.Errorf("job %s claimed by %s and %s", j.ID, prev, name)
				}
				done[j.ID] = name
				mu.Unlock()
				if !assertNoErr(t, s.CompleteJob(ctx, j.ID, name, now.Add(2*time.Second))) {
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Len(t, done, jobs)
	list, err := s0.ListJobs(ctx, "t", "")
	require.NoError(t, err)
	for _, j := range list {
		require.Equal(t, record.JobDone, j.Status, j.ID)
		require.Equal(t, 1, j.Attempts, j.ID)
	}
}

func assertNoErr(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

func TestOpen(t *testing.T) {
	url := testsvc.PostgresURL(t)
	s, err := postgres.Open(t.Context(), url, postgres.WithSchema(testsvc.Schema(t, url)))
	require.NoError(t, err)
	_, err = s.ListTenants(t.Context())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = postgres.Open(t.Context(), "postgres://user:s3cret@[::1", postgres.WithSchema("x"))
	require.ErrorIs(t, err, record.ErrInvalidInput)
	require.NotContains(t, err.Error(), "s3cret")
}
