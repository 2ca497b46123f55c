package minirag

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/storage/sqlite"
)

// clock is a settable time source for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (slog handlers
// may be called from several goroutines).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	c     *Client
	clock *clock
	logs  *syncBuffer
	keys  []string
	ctx   context.Context
}

var testJWTSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

// newEnv opens a Client on a fresh in-memory SQLite database with one
// encryption key, HS256 sessions, a settable clock and debug logs captured
// in a buffer. mod may change the Config before New.
func newEnv(t testing.TB, mod ...func(*Config)) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, sqlite.MemoryPath)
	require.NoError(t, err)
	key, err := GenerateEncryptionKey()
	require.NoError(t, err)
	e := &env{clock: newClock(), logs: &syncBuffer{}, keys: []string{key}, ctx: ctx}
	cfg := Config{
		Storage:        st,
		EncryptionKeys: e.keys,
		JWT:            JWTConfig{Secret: testJWTSecret, Issuer: "minirag-test", Audience: "minirag-api"},
		Logger:         slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:            e.clock.Now,
	}
	for _, m := range mod {
		m(&cfg)
	}
	e.c, err = New(cfg)
	if err != nil {
		st.Close()
		require.NoError(t, err)
	}
	t.Cleanup(func() { e.c.Close() })
	return e
}

// bootstrap creates a tenant with the given slug.
func (e *env) bootstrap(t testing.TB, slug string) TenantBootstrap {
	t.Helper()
	b, err := e.c.CreateTenant(e.ctx, CreateTenantParams{Name: "Tenant " + slug, Slug: slug, OwnerEmail: "owner@" + slug + ".example", OwnerName: "Owner"})
	require.NoError(t, err)
	return b
}

// scoped authenticates plaintext and returns its handle.
func (e *env) scoped(t testing.TB, plaintext string) *TenantHandle {
	t.Helper()
	p, err := e.c.Authenticate(e.ctx, plaintext)
	require.NoError(t, err)
	return e.c.Scoped(p)
}

func ptr[T any](v T) *T { return &v }
