package minirag_test

// End-to-end test of the scale-out stack through the public SDK:
// storage/postgres (MINIRAG_TEST_POSTGRES_URL) + vectorstore/pgvector
// (MINIRAG_TEST_PGVECTOR_URL, PGlite by default) + the hashing embedder,
// wrapped to count what it embeds. Two tenants each get a bot and a file
// source; the flow ingests (inline for A, through the job queue for B),
// searches in every mode, changes one document and re-ingests (only it is
// embedded again), deletes a source (its vectors go, checked with a direct
// pgvector search and a count of the table's rows), and checks at every
// step that B neither sees nor changes anything of A's.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

// pgCountingEmbedder wraps an Embedder, counts its calls and keeps the
// texts it embedded. It forwards the optional Lexical capability, so that
// search fuses as it would with the wrapped embedder.
type pgCountingEmbedder struct {
	embed.Embedder
	mu    sync.Mutex
	calls int
	texts []string
}

func (e *pgCountingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.mu.Lock()
	e.calls++
	e.texts = append(e.texts, texts...)
	e.mu.Unlock()
	return e.Embedder.Embed(ctx, texts)
}

// Lexical forwards the wrapped embedder's capability (false without it).
func (e *pgCountingEmbedder) Lexical() bool {
	l, ok := e.Embedder.(interface{ Lexical() bool })
	return ok && l.Lexical()
}

// take returns the calls and texts since the last take and forgets them.
func (e *pgCountingEmbedder) take() (int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, t := e.calls, e.texts
	e.calls, e.texts = 0, nil
	return n, t
}

// pgTenant is one tenant of the flow.
type pgTenant struct {
	h    *minirag.TenantHandle
	id   string
	bot  minirag.Bot
	src  minirag.Source
	dir  string
	name string
}

var (
	pgFilesA = map[string]string{
		"backup.md":   "# Backups\n\nAcme writes nightly backups to the glacier vault. To restore a backup, run acme-restore with the snapshot identifier of the night you need.\n",
		"alerts.md":   "# Alerts\n\nAcme alert routing pages the on-call engineer through the escalation matrix; silence an alert from the pager console.\n",
		"vacation.md": "# Vacation\n\nEvery Acme employee gets twenty-five vacation days a year, booked in the holiday planner.\n",
	}
	pgFilesB = map[string]string{
		"backup.md": "# Backups\n\nGlobex copies backups to the tape library every Sunday. Restoring a backup needs a ticket for the storage team.\n",
		"alerts.md": "# Alerts\n\nGlobex alerts go to the operations channel; acknowledge an alert within fifteen minutes.\n",
	}
)

// pgStack is the Client of the flow and direct access to its stores.
type pgStack struct {
	c      *minirag.Client
	emb    *pgCountingEmbedder
	vs     *pgvector.Store
	vpool  *pgxpool.Pool
	table  string // quoted, schema-qualified pgvector table
	schema string
}

func newPGStack(t *testing.T) *pgStack {
	t.Helper()
	ctx := context.Background()
	pgURL := testsvc.PostgresURL(t)
	vecURL := testsvc.PGVectorURL(t)

	st, err := postgres.New(ctx, testsvc.Pool(t, testsvc.PoolConfig(t, pgURL, 4)), postgres.WithSchema(testsvc.Schema(t, pgURL)))
	require.NoError(t, err)
	vschema := testsvc.Schema(t, vecURL)
	vpool := testsvc.Pool(t, testsvc.PoolConfig(t, vecURL, 2))
	vs, err := pgvector.New(ctx, vpool, pgvector.Options{Schema: vschema})
	require.NoError(t, err)
	hash, err := hashing.New(hashing.Config{Dimensions: 256})
	require.NoError(t, err)
	emb := &pgCountingEmbedder{Embedder: hash}
	require.True(t, emb.Lexical(), "the wrapper forwards hashing's Lexical capability")

	c, err := minirag.New(minirag.Config{Storage: st, VectorStore: vs, Embedder: emb})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &pgStack{c: c, emb: emb, vs: vs, vpool: vpool, schema: vschema,
		table: pgx.Identifier{vschema, vs.TableName(emb.Model())}.Sanitize()}
}

func (s *pgStack) newTenant(t *testing.T, slug string, files map[string]string) *pgTenant {
	t.Helper()
	ctx := context.Background()
	b, err := s.c.CreateTenant(ctx, minirag.CreateTenantParams{Name: slug, Slug: slug, OwnerEmail: "owner@" + slug + ".example"})
	require.NoError(t, err)
	p, err := s.c.Authenticate(ctx, b.Token.Plaintext)
	require.NoError(t, err)
	tn := &pgTenant{h: s.c.Scoped(p), id: b.Tenant.ID, dir: t.TempDir(), name: slug}
	tn.bot, err = tn.h.CreateBot(ctx, minirag.BotParams{Name: "Support of " + slug})
	require.NoError(t, err)
	writeFilesPG(t, tn.dir, files)
	tn.src, err = tn.h.CreateSource(ctx, minirag.SourceParams{BotID: tn.bot.ID, Name: "handbook", Type: minirag.SourceFile,
		Config: loader.FileConfig{Path: tn.dir}})
	require.NoError(t, err)
	return tn
}

// rows counts the pgvector rows of a tenant, of one source when sourceID
// is not empty, straight from the table.
func (s *pgStack) rows(t *testing.T, tenantID, sourceID string) int {
	t.Helper()
	q := "SELECT count(*) FROM " + s.table + " WHERE tenant_id = $1"
	args := []any{tenantID}
	if sourceID != "" {
		q += " AND source_id = $2"
		args = append(args, sourceID)
	}
	var n int
	require.NoError(t, s.vpool.QueryRow(context.Background(), q, args...).Scan(&n))
	return n
}

// vectorSearch searches pgvector directly under filter f.
func (s *pgStack) vectorSearch(t *testing.T, text string, f vectorstore.Filter) []vectorstore.Match {
	t.Helper()
	ctx := context.Background()
	v, err := s.emb.Embedder.Embed(ctx, []string{text}) // not counted
	require.NoError(t, err)
	m, err := s.vs.Search(ctx, vectorstore.Query{Vector: v[0], TopK: 50, Filter: f})
	require.NoError(t, err)
	return m
}

func pgSearch(t *testing.T, tn *pgTenant, mode minirag.SearchMode, q string) []minirag.SearchResult {
	t.Helper()
	res, err := tn.h.Search(context.Background(), minirag.SearchRequest{BotID: tn.bot.ID, Query: q, Mode: mode, TopK: 10})
	require.NoError(t, err, "search %q (mode %s) as %s", q, mode, tn.name)
	return res
}

var pgModes = []minirag.SearchMode{minirag.SearchDense, minirag.SearchLexical, minirag.SearchHybrid}

// assertApartPG checks that neither tenant finds the other's chunks, in any
// mode, with words only the other's documents hold, and that a direct
// pgvector search under one tenant's filter never returns the other's
// records.
func assertApartPG(t *testing.T, s *pgStack, a, b *pgTenant) {
	t.Helper()
	for _, pair := range [][2]*pgTenant{{a, b}, {b, a}} {
		me, other := pair[0], pair[1]
		for _, mode := range pgModes {
			for _, q := range []string{"glacier vault acme-restore snapshot", "tape library ticket", "cobalt archive", "backups alerts", "Acme", "Globex"} {
				for _, r := range pgSearch(t, me, mode, q) {
					assert.Equal(t, me.src.ID, r.SourceID, "%s found a chunk of %s (mode %s, query %q)", me.name, other.name, mode, q)
					assert.NotContains(t, r.Text, map[string]string{"acme": "Globex", "globex": "Acme"}[me.name])
				}
			}
		}
		// The other tenant's source, asked for under my tenant: nothing.
		assert.Empty(t, s.vectorSearch(t, "backups", vectorstore.Filter{TenantID: me.id, SourceIDs: []string{other.src.ID}}))
		for _, m := range s.vectorSearch(t, "backups alerts", vectorstore.Filter{TenantID: me.id}) {
			assert.Positive(t, s.rowOf(t, me.id, m.ID), "match %s is a record of %s", m.ID, me.name)
		}
	}
}

// rowOf counts the records with id under tenantID (1 when it is theirs).
func (s *pgStack) rowOf(t *testing.T, tenantID, id string) int {
	t.Helper()
	var n int
	require.NoError(t, s.vpool.QueryRow(context.Background(),
		"SELECT count(*) FROM "+s.table+" WHERE tenant_id = $1 AND id = $2", tenantID, id).Scan(&n))
	return n
}

func TestEndToEndPostgresPGVector(t *testing.T) {
	ctx := context.Background()
	s := newPGStack(t)
	a := s.newTenant(t, "acme", pgFilesA)
	b := s.newTenant(t, "globex", pgFilesB)

	// Ingest: A inline, B through the job queue and a Worker.
	resA, err := a.h.Ingest(ctx, a.src.ID, minirag.IngestOptions{})
	require.NoError(t, err)
	require.Equal(t, len(pgFilesA), resA.Added)
	require.Positive(t, resA.Chunks)
	require.Equal(t, resA.Chunks, resA.Embedded)
	_, err = b.h.EnqueueIngest(ctx, b.src.ID)
	require.NoError(t, err)
	w, err := s.c.NewWorker(minirag.WorkerConfig{})
	require.NoError(t, err)
	require.NoError(t, w.Drain(ctx))
	gotB, err := b.h.GetSource(ctx, b.src.ID)
	require.NoError(t, err)
	require.Equal(t, minirag.StatusReady, gotB.Status, "B's source: %s", gotB.Error)
	require.Equal(t, len(pgFilesB), gotB.DocumentCount)
	jobs, err := b.h.ListJobs(ctx, b.src.ID)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	assert.Equal(t, minirag.JobDone, jobs[0].Status)
	_, texts := s.emb.take()
	assert.Len(t, texts, resA.Chunks+gotB.ChunkCount, "every chunk embedded once")

	// pgvector holds one row per chunk, in its tenant's name.
	assert.Equal(t, resA.Chunks, s.rows(t, a.id, ""))
	assert.Equal(t, resA.Chunks, s.rows(t, a.id, a.src.ID))
	assert.Equal(t, gotB.ChunkCount, s.rows(t, b.id, b.src.ID))
	assert.Equal(t, gotB.ChunkCount, s.rows(t, b.id, ""))

	// Search, every mode.
	for _, mode := range pgModes {
		top := pgSearch(t, a, mode, "how do I restore a backup snapshot")
		require.NotEmpty(t, top, "mode %s", mode)
		assert.Contains(t, top[0].Text, "glacier vault", "mode %s", mode)
		if mode != minirag.SearchHybrid {
			assert.Equal(t, []string{string(mode)}, top[0].FoundBy)
		}
		top = pgSearch(t, b, mode, "how do I restore a backup")
		require.NotEmpty(t, top, "mode %s", mode)
		assert.Contains(t, top[0].Text, "tape library", "mode %s", mode)
		top = pgSearch(t, a, mode, "how many vacation days")
		require.NotEmpty(t, top, "mode %s", mode)
		assert.Contains(t, top[0].Text, "twenty-five vacation days", "mode %s", mode)
	}
	assertApartPG(t, s, a, b)

	// Change one document of A and re-ingest: only it is embedded again,
	// and B's vectors stay as they were.
	rowsB := s.rows(t, b.id, "")
	changed := "# Backups\n\nAcme now writes backups to the cobalt archive every hour. Restore one with acme-restore and the archive label.\n"
	writeFilesPG(t, a.dir, map[string]string{"backup.md": changed})
	s.emb.take()
	res, err := a.h.Ingest(ctx, a.src.ID, minirag.IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Updated)
	assert.Equal(t, len(pgFilesA)-1, res.Unchanged)
	require.Positive(t, res.Embedded)
	calls, texts := s.emb.take()
	assert.Positive(t, calls)
	require.Len(t, texts, res.Embedded, "only the changed document's chunks are embedded")
	for _, tx := range texts {
		assert.Contains(t, changed, strings.TrimSpace(tx), "embedded text not from the changed document")
	}
	assert.Equal(t, res.Chunks, s.rows(t, a.id, a.src.ID), "one vector per chunk after the re-ingest")
	assert.Equal(t, rowsB, s.rows(t, b.id, ""))
	for _, mode := range pgModes {
		top := pgSearch(t, a, mode, "cobalt archive hourly backups")
		require.NotEmpty(t, top, "mode %s", mode)
		assert.Contains(t, top[0].Text, "cobalt archive", "mode %s", mode)
		for _, r := range pgSearch(t, a, mode, "glacier vault") {
			assert.NotContains(t, r.Text, "glacier", "the old version is gone (mode %s)", mode)
		}
	}

	// Nothing changed: nothing embedded, no Embed call at all.
	s.emb.take()
	res, err = a.h.Ingest(ctx, a.src.ID, minirag.IngestOptions{})
	require.NoError(t, err)
	assert.Zero(t, res.Embedded)
	n, _ := s.emb.take()
	assert.Zero(t, n, "no Embed call when nothing changed")
	assertApartPG(t, s, a, b)

	// B cannot reach A's bot or source; its attempts change nothing.
	_, err = b.h.Search(ctx, minirag.SearchRequest{BotID: a.bot.ID, Query: "backup"})
	assert.ErrorIs(t, err, minirag.ErrNotFound)
	_, err = b.h.GetSource(ctx, a.src.ID)
	assert.ErrorIs(t, err, minirag.ErrNotFound)
	_, err = b.h.Ingest(ctx, a.src.ID, minirag.IngestOptions{})
	assert.ErrorIs(t, err, minirag.ErrNotFound)
	_, err = b.h.EnqueueIngest(ctx, a.src.ID)
	assert.ErrorIs(t, err, minirag.ErrNotFound)
	assert.ErrorIs(t, b.h.DeleteSource(ctx, a.src.ID), minirag.ErrNotFound)
	_, err = b.h.GetBot(ctx, a.bot.ID)
	assert.ErrorIs(t, err, minirag.ErrNotFound)
	assert.Equal(t, res.Chunks, s.rows(t, a.id, a.src.ID), "B's failed delete removed nothing of A")

	// A deletes its source: its vectors go, B's stay.
	require.NoError(t, a.h.DeleteSource(ctx, a.src.ID))
	assert.Zero(t, s.rows(t, a.id, a.src.ID), "no pgvector row of the deleted source remains")
	assert.Zero(t, s.rows(t, a.id, ""))
	assert.Empty(t, s.vectorSearch(t, "backups restore", vectorstore.Filter{TenantID: a.id}), "a direct pgvector search under A's filter finds nothing")
	assert.Empty(t, s.vectorSearch(t, "backups restore", vectorstore.Filter{TenantID: a.id, SourceIDs: []string{a.src.ID}}))
	_, err = a.h.GetSource(ctx, a.src.ID)
	assert.ErrorIs(t, err, minirag.ErrNotFound)
	for _, mode := range pgModes {
		assert.Empty(t, pgSearch(t, a, mode, "backups restore alerts"), "mode %s", mode)
	}
	assert.Equal(t, rowsB, s.rows(t, b.id, ""))
	for _, mode := range pgModes {
		top := pgSearch(t, b, mode, "restore a backup")
		require.NotEmpty(t, top, "mode %s", mode)
		assert.Contains(t, top[0].Text, "tape library", "B is whole (mode %s)", mode)
	}
	assertApartPG(t, s, a, b)
}

func writeFilesPG(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644), fmt.Sprintf("write %s", name))
	}
}
