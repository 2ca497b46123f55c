package minirag_test

// End-to-end test of the production vector engine through the public SDK:
// Storage (SQLite in memory, or PostgreSQL when MINIRAG_TEST_POSTGRES_URL is
// set) + vectorstore/qdrant on the in-process Qdrant server
// (internal/qdrantfake) + the hashing embedder, wrapped to count what is
// embedded. Two tenants, each with a bot, a text source and a file source,
// go through ingestion (inline for one, through the job queue and a Worker
// for the other), search, a changed document, a deleted file and a deleted
// source; at every step tenant B must not see tenant A's chunks, neither in
// search results nor in what the adapter asks Qdrant.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	qc "github.com/qdrant/go-client/qdrant"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/internal/qdrantfake"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/qdrant"
)

// recordingEmbedder wraps an Embedder and records every text it embeds.
type recordingEmbedder struct {
	embed.Embedder
	mu    sync.Mutex
	calls int
	texts []string
}

func (e *recordingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.mu.Lock()
	e.calls++
	e.texts = append(e.texts, texts...)
	e.mu.Unlock()
	return e.Embedder.Embed(ctx, texts)
}

// take returns the calls and texts recorded since the last take, and
// forgets them.
func (e *recordingEmbedder) take() (int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, t := e.calls, e.texts
	e.calls, e.texts = 0, nil
	return n, t
}

// e2eTenant is one tenant of the end-to-end flow.
type e2eTenant struct {
	h         *minirag.TenantHandle
	id        string
	bot       minirag.Bot
	text      minirag.Source // inline text source
	files     minirag.Source // directory source
	dir       string
	sourceIDs []string
}

// Documents of the two tenants. They share vocabulary (backups, alerts),
// so that a search leaking across tenants would find the other tenant's
// chunks; each also has words only it uses (glacier, tape).
var (
	e2eFilesA = map[string]string{
		"backup.md":  "# Backups\n\nAcme writes nightly backups to the glacier vault. To restore a backup, run acme-restore with the snapshot identifier of the night you need.\n",
		"alerts.md":  "# Alerts\n\nAcme alert routing pages the on-call engineer through the escalation matrix; silence an alert from the pager console.\n",
		"billing.md": "# Billing\n\nAcme invoices are issued on the first of the month. The starter plan costs nine dollars per seat.\n",
	}
	e2eTextA = "Acme vacation policy: every employee gets twenty-five vacation days a year, booked in the holiday planner."

	e2eFilesB = map[string]string{
		"backup.md": "# Backups\n\nGlobex copies backups to the tape library every Sunday. Restoring a backup needs a ticket for the storage team.\n",
		"alerts.md": "# Alerts\n\nGlobex alerts go to the operations channel; acknowledge an alert within fifteen minutes.\n",
	}
	e2eTextB = "Globex onboarding checklist: laptop, badge, and a meeting with the security officer in the first week."
)

// e2eStores builds the Storage of one run of the flow.
type e2eStores func(t *testing.T) storage.Storage

func TestEndToEndQdrantSQLite(t *testing.T) {
	runQdrantEndToEnd(t, func(t *testing.T) storage.Storage {
		s, err := sqlite.Open(context.Background(), sqlite.MemoryPath)
		require.NoError(t, err)
		return s
	})
}

func TestEndToEndQdrantPostgres(t *testing.T) {
	url := testsvc.PostgresURL(t) // skips (or fails when services are required) without a server
	runQdrantEndToEnd(t, func(t *testing.T) storage.Storage {
		s, err := postgres.Open(context.Background(), url, postgres.WithSchema(testsvc.Schema(t, url)))
		require.NoError(t, err)
		return s
	})
}

func runQdrantEndToEnd(t *testing.T, newStorage e2eStores) {
	ctx := context.Background()
	fake := qdrantfake.Start(t, qdrantfake.Options{})
	vs, err := qdrant.New(fake.Client(t), qdrant.Options{CollectionPrefix: "e2e_"})
	require.NoError(t, err)
	hash, err := hashing.New(hashing.Config{Dimensions: 256})
	require.NoError(t, err)
	emb := &recordingEmbedder{Embedder: hash}

	c, err := minirag.New(minirag.Config{Storage: newStorage(t), VectorStore: vs, Embedder: emb})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	newTenant := func(slug string, files map[string]string, text string) *e2eTenant {
		b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: slug, Slug: slug, OwnerEmail: "owner@" + slug + ".example"})
		require.NoError(t, err)
		// The bootstrap token, as a host would use it: a scoped handle.
		p, err := c.Authenticate(ctx, b.Token.Plaintext)
		require.NoError(t, err)
		tn := &e2eTenant{h: c.Scoped(p), id: b.Tenant.ID, dir: t.TempDir()}
		tn.bot, err = tn.h.CreateBot(ctx, minirag.BotParams{Name: "Support of " + slug})
		require.NoError(t, err)
		tn.text, err = tn.h.CreateSource(ctx, minirag.SourceParams{BotID: tn.bot.ID, Name: "policy", Type: minirag.SourceText,
			Config: loader.TextConfig{Content: text, Title: "Policy"}})
		require.NoError(t, err)
		writeE2EFiles(t, tn.dir, files)
		tn.files, err = tn.h.CreateSource(ctx, minirag.SourceParams{BotID: tn.bot.ID, Name: "handbook", Type: minirag.SourceFile,
			Config: loader.FileConfig{Path: tn.dir}})
		require.NoError(t, err)
		tn.sourceIDs = []string{tn.text.ID, tn.files.ID}
		return tn
	}
	a := newTenant("acme", e2eFilesA, e2eTextA)
	b := newTenant("globex", e2eFilesB, e2eTextB)

	// Ingest: A inline, B through the job queue and a Worker.
	resA := map[string]minirag.IngestResult{}
	for _, src := range []minirag.Source{a.text, a.files} {
		res, err := a.h.Ingest(ctx, src.ID, minirag.IngestOptions{})
		require.NoError(t, err)
		require.Positive(t, res.Chunks)
		require.Equal(t, res.Chunks, res.Embedded)
		resA[src.ID] = res
	}
	assert.Equal(t, len(e2eFilesA), resA[a.files.ID].Added)
	for _, src := range []minirag.Source{b.text, b.files} {
		_, err := b.h.EnqueueIngest(ctx, src.ID)
		require.NoError(t, err)
	}
	w, err := c.NewWorker(minirag.WorkerConfig{})
	require.NoError(t, err)
	require.NoError(t, w.Drain(ctx))
	for _, src := range []minirag.Source{b.text, b.files} {
		got, err := b.h.GetSource(ctx, src.ID)
		require.NoError(t, err)
		require.Equal(t, minirag.StatusReady, got.Status, "source %s: %s", got.Name, got.Error)
	}
	_, embedded := emb.take()
	require.NotEmpty(t, embedded)

	// One collection, every point carrying its tenant and one of its sources.
	collection := vs.Collection()
	require.Equal(t, []string{collection}, fake.CollectionNames())
	pts := pointsBySource(t, fake, collection)
	for _, tn := range []*e2eTenant{a, b} {
		for _, sid := range tn.sourceIDs {
			require.NotEmpty(t, pts[sid], "points of source %s", sid)
			for _, p := range pts[sid] {
				assert.Equal(t, tn.id, payloadString(p, qdrant.FieldTenant))
				assert.Equal(t, tn.bot.ID, payloadString(p, qdrant.FieldBot))
			}
		}
	}
	assert.Equal(t, resA[a.text.ID].Chunks, len(pts[a.text.ID]))
	assert.Equal(t, resA[a.files.ID].Chunks, len(pts[a.files.ID]))

	// Search finds the right chunks, in both dense (Qdrant) and hybrid mode.
	for _, mode := range []minirag.SearchMode{minirag.SearchDense, minirag.SearchHybrid} {
		top := searchTop(t, a, mode, "how do I restore a backup snapshot")
		assert.Contains(t, top.Text, "glacier vault", "mode %s", mode)
		top = searchTop(t, b, mode, "how do I restore a backup")
		assert.Contains(t, top.Text, "tape library", "mode %s", mode)
		top = searchTop(t, a, mode, "how many vacation days")
		assert.Equal(t, a.text.ID, top.SourceID, "mode %s", mode)
	}
	assertIsolated(t, fake, a, b)

	// Change one document of A and re-ingest: only it is embedded again.
	before := pointsBySource(t, fake, collection)
	changed := "# Backups\n\nAcme now writes backups to the cobalt archive every hour. Restore one with acme-restore and the archive label.\n"
	writeE2EFiles(t, a.dir, map[string]string{"backup.md": changed})
	fake.ResetCalls()
	emb.take() // forget the searches' query embeddings
	res, err := a.h.Ingest(ctx, a.files.ID, minirag.IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Updated)
	assert.Equal(t, len(e2eFilesA)-1, res.Unchanged)
	require.Positive(t, res.Embedded)
	calls, texts := emb.take()
	assert.Positive(t, calls)
	require.Len(t, texts, res.Embedded, "only the changed document's chunks are embedded")
	for _, tx := range texts {
		assert.Contains(t, changed, strings.TrimSpace(tx), "embedded text not from the changed document")
	}
	upserted := 0
	for _, call := range fake.CallsTo("Upsert") {
		upserted += call.Points
	}
	assert.Equal(t, res.Embedded, upserted, "points upserted on re-ingest")
	after := pointsBySource(t, fake, collection)
	assert.Equal(t, pointIDs(before[a.text.ID]), pointIDs(after[a.text.ID]), "A's text source untouched")
	for _, sid := range b.sourceIDs {
		assert.Equal(t, pointIDs(before[sid]), pointIDs(after[sid]), "B's points untouched")
	}
	assert.Equal(t, res.Chunks, len(after[a.files.ID]))
	top := searchTop(t, a, minirag.SearchDense, "cobalt archive hourly backups")
	assert.Contains(t, top.Text, "cobalt archive")
	for _, r := range search(t, a, minirag.SearchHybrid, "glacier vault", 20) {
		assert.NotContains(t, r.Text, "glacier", "the old version of the document is gone")
	}

	// B's text source changes and is re-ingested through the queue: only
	// its document is embedded, and A's points stay as they were.
	before = pointsBySource(t, fake, collection)
	newText := "Globex onboarding checklist: laptop, badge, parking permit, and a lunch with the team."
	_, err = b.h.UpdateSource(ctx, b.text.ID, minirag.SourceUpdate{Config: loader.TextConfig{Content: newText, Title: "Policy"}})
	require.NoError(t, err)
	emb.take()
	_, err = b.h.EnqueueIngest(ctx, b.text.ID)
	require.NoError(t, err)
	require.NoError(t, w.Drain(ctx))
	_, texts = emb.take()
	require.NotEmpty(t, texts)
	for _, tx := range texts {
		assert.Contains(t, newText, strings.TrimSpace(tx), "embedded text not from B's changed document")
	}
	after = pointsBySource(t, fake, collection)
	assert.Len(t, after[b.text.ID], len(texts))
	for _, sid := range append([]string{b.files.ID}, a.sourceIDs...) {
		assert.Equal(t, pointIDs(before[sid]), pointIDs(after[sid]), "points of source %s untouched", sid)
	}
	top = searchTop(t, b, minirag.SearchDense, "parking permit")
	assert.Contains(t, top.Text, "parking permit")
	assertIsolated(t, fake, a, b)

	// A second ingestion with nothing changed embeds nothing.
	emb.take()
	res, err = a.h.Ingest(ctx, a.files.ID, minirag.IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.Embedded)
	n, _ := emb.take()
	assert.Zero(t, n, "no Embed call when nothing changed")

	// A file removed from the directory: its document and points go.
	require.NoError(t, os.Remove(filepath.Join(a.dir, "billing.md")))
	res, err = a.h.Ingest(ctx, a.files.ID, minirag.IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Deleted)
	assert.Equal(t, res.Chunks, len(pointsBySource(t, fake, collection)[a.files.ID]))
	for _, r := range search(t, a, minirag.SearchHybrid, "invoices starter plan seat", 20) {
		assert.NotContains(t, r.Text, "invoices")
	}
	assertIsolated(t, fake, a, b)

	// Tenant B cannot reach A's bot or sources at all.
	_, err = b.h.Search(ctx, minirag.SearchRequest{BotID: a.bot.ID, Query: "backup"})
	assert.ErrorIs(t, err, minirag.ErrNotFound)
	assert.ErrorIs(t, b.h.DeleteSource(ctx, a.files.ID), minirag.ErrNotFound)
	_, err = b.h.Ingest(ctx, a.files.ID, minirag.IngestOptions{})
	assert.ErrorIs(t, err, minirag.ErrNotFound)
	assert.NotEmpty(t, pointsBySource(t, fake, collection)[a.files.ID], "B's failed delete removed nothing of A")

	// Delete A's file source: its vectors go, nothing else does.
	before = pointsBySource(t, fake, collection)
	fake.ResetCalls()
	require.NoError(t, a.h.DeleteSource(ctx, a.files.ID))
	after = pointsBySource(t, fake, collection)
	assert.Empty(t, after[a.files.ID], "no point of the deleted source remains")
	assert.Equal(t, pointIDs(before[a.text.ID]), pointIDs(after[a.text.ID]))
	for _, sid := range b.sourceIDs {
		assert.Equal(t, pointIDs(before[sid]), pointIDs(after[sid]))
	}
	deletes := fake.CallsTo("Delete")
	require.NotEmpty(t, deletes)
	for _, d := range deletes {
		assert.True(t, filterHasTenant(d.Filter, a.id), "delete without A's tenant condition: %v", d.Filter)
	}
	// Directly through the store: nothing of the source is found.
	q, err := emb.Embed(ctx, []string{"backups"})
	require.NoError(t, err)
	emb.take()
	m, err := vs.Search(ctx, vectorstore.Query{Vector: q[0], TopK: 50, Filter: vectorstore.Filter{TenantID: a.id, SourceIDs: []string{a.files.ID}}})
	require.NoError(t, err)
	assert.Empty(t, m)
	m, err = vs.Search(ctx, vectorstore.Query{Vector: q[0], TopK: 50, Filter: vectorstore.Filter{TenantID: a.id}})
	require.NoError(t, err)
	assert.Len(t, m, len(after[a.text.ID]), "A's text source is all that is left of A")
	for _, r := range search(t, a, minirag.SearchDense, "backups restore", 20) {
		assert.Equal(t, a.text.ID, r.SourceID)
	}
	assertIsolated(t, fake, a, b)

	// B is whole.
	top = searchTop(t, b, minirag.SearchDense, "restore a backup")
	assert.Contains(t, top.Text, "tape library")
}

// assertIsolated searches in B with words only A's documents hold and
// checks that every result is B's and that every Query the adapter sent to
// Qdrant for B carried B's tenant condition.
func assertIsolated(t *testing.T, fake *qdrantfake.Server, a, b *e2eTenant) {
	t.Helper()
	fake.ResetCalls()
	for _, mode := range []minirag.SearchMode{minirag.SearchDense, minirag.SearchHybrid, minirag.SearchLexical} {
		for _, q := range []string{"glacier vault acme-restore snapshot", "cobalt archive", "Acme vacation policy", "backups"} {
			for _, r := range search(t, b, mode, q, 20) {
				assert.Contains(t, b.sourceIDs, r.SourceID, "B found a chunk of another tenant (mode %s, query %q)", mode, q)
				assert.NotContains(t, r.Text, "Acme")
			}
		}
	}
	queries := fake.CallsTo("Query")
	require.NotEmpty(t, queries, "dense searches reached Qdrant")
	for _, call := range queries {
		assert.True(t, filterHasTenant(call.Filter, b.id), "query without B's tenant condition: %v", call.Filter)
		assert.False(t, filterHasTenant(call.Filter, a.id))
	}
}

func search(t *testing.T, tn *e2eTenant, mode minirag.SearchMode, q string, k int) []minirag.SearchResult {
	t.Helper()
	res, err := tn.h.Search(context.Background(), minirag.SearchRequest{BotID: tn.bot.ID, Query: q, Mode: mode, TopK: k})
	require.NoError(t, err)
	return res
}

func searchTop(t *testing.T, tn *e2eTenant, mode minirag.SearchMode, q string) minirag.SearchResult {
	t.Helper()
	res := search(t, tn, mode, q, 5)
	require.NotEmpty(t, res, "no result for %q (mode %s)", q, mode)
	assert.Contains(t, tn.sourceIDs, res[0].SourceID)
	return res[0]
}

// pointsBySource returns the collection's points grouped by source ID.
func pointsBySource(t *testing.T, fake *qdrantfake.Server, collection string) map[string][]qdrantfake.Point {
	t.Helper()
	pts, ok := fake.Points(collection)
	require.True(t, ok, "collection %s exists", collection)
	by := map[string][]qdrantfake.Point{}
	for _, p := range pts {
		sid := payloadString(p, qdrant.FieldSource)
		by[sid] = append(by[sid], p)
	}
	return by
}

func payloadString(p qdrantfake.Point, field string) string {
	return p.Payload[field].GetStringValue()
}

// pointIDs returns the points' chunk IDs, sorted.
func pointIDs(pts []qdrantfake.Point) []string {
	ids := make([]string, 0, len(pts))
	for _, p := range pts {
		ids = append(ids, payloadString(p, qdrant.FieldChunk))
	}
	sort.Strings(ids)
	return ids
}

// filterHasTenant reports whether f has a must condition matching the
// keyword tenant on the tenant field.
func filterHasTenant(f *qc.Filter, tenant string) bool {
	for _, c := range f.GetMust() {
		fc := c.GetField()
		if fc.GetKey() == qdrant.FieldTenant && fc.GetMatch().GetKeyword() == tenant {
			return true
		}
	}
	return false
}

func writeE2EFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(files[name]), 0o644))
	}
}
