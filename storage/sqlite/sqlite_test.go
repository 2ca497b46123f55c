package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/storage/storagetest"
)

func TestConformanceMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		s, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceFile(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Storage {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "minirag.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func tenant(id string) record.Tenant {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return record.Tenant{ID: id, Name: id, Slug: "slug-" + id, CreatedAt: now, UpdatedAt: now}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "data.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, tenant("t1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.GetTenant(ctx, "t1")
	if err != nil {
		t.Fatalf("GetTenant after reopen: %v", err)
	}
	if got.Slug != "slug-t1" {
		t.Errorf("GetTenant after reopen: slug %q", got.Slug)
	}
	n, err := sqlite.AppliedMigrations(s, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != sqlite.SchemaVersionForTest() {
		t.Errorf("schema_migrations has %d rows after reopen, want %d (each migration applied once)", n, sqlite.SchemaVersionForTest())
	}
}

func TestMemoryDatabasesAreIndependent(t *testing.T) {
	ctx := t.Context()
	a, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.CreateTenant(ctx, tenant("only-in-a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetTenant(ctx, "only-in-a"); !errors.Is(err, record.ErrNotFound) {
		t.Errorf("second :memory: store sees the first one's tenant: err = %v", err)
	}
	// The same slug is free in b.
	if err := b.CreateTenant(ctx, tenant("only-in-a")); err != nil {
		t.Errorf("CreateTenant in the second :memory: store: %v", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "future.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlite.ExecForTest(s, ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = sqlite.Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a database from a newer version: got %v, want an error saying the schema is newer", err)
	}
}

func TestOpenRejectsBadInput(t *testing.T) {
	ctx := t.Context()
	if _, err := sqlite.Open(ctx, ""); !errors.Is(err, record.ErrInvalidInput) {
		t.Errorf("Open(\"\"): got %v, want ErrInvalidInput", err)
	}
	if _, err := sqlite.Open(ctx, "x.db?mode=ro"); !errors.Is(err, record.ErrInvalidInput) {
		t.Errorf("Open with '?': got %v, want ErrInvalidInput", err)
	}
	if _, err := sqlite.Open(ctx, ":memory:", sqlite.WithMaxOpenConns(0)); !errors.Is(err, record.ErrInvalidInput) {
		t.Errorf("Open with 0 connections: got %v, want ErrInvalidInput", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sqlite.Open(cancelled, ":memory:"); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: got %v, want context.Canceled", err)
	}
}

func TestOneConnection(t *testing.T) {
	for _, path := range []string{":memory:", filepath.Join(t.TempDir(), "one.db")} {
		s, err := sqlite.Open(t.Context(), path, sqlite.WithMaxOpenConns(1), sqlite.WithBusyTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTenant(t.Context(), tenant("t")); err != nil {
			t.Errorf("%s with one connection: CreateTenant: %v", path, err)
		}
		if _, err := s.ListTenants(t.Context()); err != nil {
			t.Errorf("%s with one connection: ListTenants: %v", path, err)
		}
		s.Close()
	}
}

func TestPragmas(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlite.WithBusyTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "3000", "temp_store": "2"} {
		got, err := sqlite.PragmaForTest(s, ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", name, got, want)
		}
	}
}

// TestInTxReadThenWrite runs transactions that read before they write from
// several goroutines: with BEGIN IMMEDIATE none fails on a lock upgrade.
func TestInTxReadThenWrite(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateTenant(ctx, tenant("t")); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 16)
	for g := range 16 {
		go func() {
			errs <- s.InTx(ctx, func(tx storage.Storage) error {
				bots, err := tx.ListBots(ctx, "t")
				if err != nil {
					return err
				}
				return tx.CreateBot(ctx, record.Bot{ID: "b" + strconv.Itoa(g) + "-" + strconv.Itoa(len(bots)), TenantID: "t"})
			})
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Errorf("InTx read then write: %v", err)
		}
	}
	bots, err := s.ListBots(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(bots) != 16 {
		t.Errorf("got %d bots, want 16", len(bots))
	}
}

// TestUpdateSourceMovesContent checks that a source moved to another bot
// takes its documents and chunks along (lexical search by bot follows).
func TestUpdateSourceMovesContent(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateTenant(ctx, tenant("t")))
	must(s.CreateBot(ctx, record.Bot{ID: "b1", TenantID: "t"}))
	must(s.CreateBot(ctx, record.Bot{ID: "b2", TenantID: "t"}))
	src := record.Source{ID: "s", TenantID: "t", BotID: "b1", Type: record.SourceText, Status: record.StatusPending}
	must(s.CreateSource(ctx, src))
	_, err = s.PutDocument(ctx, record.Document{ID: "d", TenantID: "t", SourceID: "s", Key: "k"},
		[]record.Chunk{{ID: "c", Text: "walrus"}})
	must(err)
	src.BotID = "b2"
	must(s.UpdateSource(ctx, src))
	d, err := s.GetDocument(ctx, "t", "d")
	must(err)
	if d.BotID != "b2" {
		t.Errorf("document bot after moving its source: %q, want b2", d.BotID)
	}
	m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", BotID: "b2", Text: "walrus"})
	must(err)
	if len(m) != 1 || m[0].ChunkID != "c" {
		t.Errorf("search by the new bot: %v, want chunk c", m)
	}
}

// TestConcurrentOpens opens one new file from several goroutines at once:
// the migrations run once and every Open succeeds.
func TestConcurrentOpens(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "race.db")
	const n = 6
	stores := make([]*sqlite.Store, n)
	errs := make([]error, n)
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			stores[i], errs[i] = sqlite.Open(ctx, path)
		}()
	}
	for range n {
		<-done
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		defer stores[i].Close()
	}
	got, err := sqlite.AppliedMigrations(stores[0], ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != sqlite.SchemaVersionForTest() {
		t.Errorf("schema_migrations has %d rows, want %d", got, sqlite.SchemaVersionForTest())
	}
}

// TestPutDocumentManyChunks stores a document of more chunks than one
// INSERT statement writes, then replaces it with fewer.
func TestPutDocumentManyChunks(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, err := range []error{
		s.CreateTenant(ctx, tenant("t")),
		s.CreateBot(ctx, record.Bot{ID: "b", TenantID: "t", CreatedAt: now, UpdatedAt: now}),
		s.CreateSource(ctx, record.Source{ID: "s", TenantID: "t", BotID: "b", Type: record.SourceText, Status: record.StatusPending}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []int{600, 257, 3} {
		d := record.Document{ID: "d-" + strconv.Itoa(n), TenantID: "t", SourceID: "s", Key: "big.md", Title: "Big"}
		chunks := make([]record.Chunk, n)
		for i := range chunks {
			chunks[i] = record.Chunk{ID: "c" + strconv.Itoa(n) + "-" + strconv.Itoa(i), Ordinal: i,
				Text: "part " + strconv.Itoa(i) + " word" + strconv.Itoa(n) + "x" + strconv.Itoa(i)}
		}
		stored, err := s.PutDocument(ctx, d, chunks)
		if err != nil {
			t.Fatalf("PutDocument of %d chunks: %v", n, err)
		}
		got, err := s.ListChunks(ctx, "t", stored.ID)
		if err != nil || len(got) != n {
			t.Fatalf("ListChunks after PutDocument of %d chunks: %d chunks, %v", len(got), n, err)
		}
		for i, c := range got {
			if c.ID != chunks[i].ID || c.Ordinal != i || c.Text != chunks[i].Text || c.DocumentID != stored.ID {
				t.Fatalf("chunk %d of %d: got %+v, want %+v", i, n, c, chunks[i])
			}
		}
		m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", Text: "word" + strconv.Itoa(n) + "x" + strconv.Itoa(n-1)})
		if err != nil || len(m) != 1 || m[0].ChunkID != chunks[n-1].ID {
			t.Fatalf("SearchLexical for the last of %d chunks: %v, %v", n, m, err)
		}
	}
	all, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: "t", Text: "part", Limit: 1000})
	if err != nil || len(all) != 3 {
		t.Fatalf("SearchLexical after the last replacement: %d matches, %v; want the 3 chunks left", len(all), err)
	}
}
