package minirag

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// damage breaks a tenant's index on purpose: n vectors deleted, n
// vectors relabelled with another bot, n orphans added. It returns the
// IDs of the chunks whose vectors it deleted.
func damage(t *testing.T, e *ingestEnv, tenantID string, n int) []string {
	t.Helper()
	ctx := t.Context()
	recs, _, err := e.vec.List(ctx, vectorstore.Filter{TenantID: tenantID}, "", 3*n)
	require.NoError(t, err)
	require.Len(t, recs, 3*n, "enough vectors to damage")
	ids := recordIDs(recs)
	require.NoError(t, e.vec.Delete(ctx, vectorstore.Filter{TenantID: tenantID, IDs: ids[:n]}))
	v, err := e.emb.Embed(ctx, []string{"something else entirely"})
	require.NoError(t, err)
	var bad []vectorstore.Record
	for _, r := range recs[n : 2*n] {
		r.BotID, r.Vector = "another-bot", v[0]
		bad = append(bad, r)
	}
	for i := range n {
		bad = append(bad, vectorstore.Record{ID: "orphan-" + string(rune('a'+i)), Vector: v[0], TenantID: tenantID,
			BotID: recs[0].BotID, SourceID: recs[0].SourceID, DocumentID: recs[0].DocumentID})
	}
	require.NoError(t, e.vec.Upsert(ctx, bad))
	return ids[:n]
}

// TestReconcileRepairsADamagedIndex: vectors deleted, relabelled and
// added on purpose are reported by a dry run (which changes nothing),
// then repaired; another tenant is left alone; the repaired documents
// are found by dense search again.
func TestReconcileRepairsADamagedIndex(t *testing.T) {
	e := newIngestEnv(t)
	ha, botA := e.tenantWithBot(t, "acme")
	hb, botB := e.tenantWithBot(t, "globex")
	for _, x := range []struct {
		h   *TenantHandle
		bot Bot
	}{{ha, botA}, {hb, botB}} {
		dir := t.TempDir()
		writeFiles(t, dir, docsCorpus)
		src := e.dirSource(t, x.h, x.bot.ID, dir)
		_, err := x.h.Ingest(e.ctx, src.ID, IngestOptions{})
		require.NoError(t, err)
	}
	before := diffIndex(t, e.c.store, e.vec, ha.TenantID())
	require.Equal(t, before.chunks, before.vectors)
	lost := damage(t, e, ha.TenantID(), 1)
	damage(t, e, hb.TenantID(), 1)

	rep, err := e.c.Reconcile(e.ctx, ReconcileOptions{TenantID: ha.TenantID(), DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, ReconcileReport{Tenants: 1, Chunks: before.chunks, Vectors: before.chunks, MissingVectors: 1, Mislabelled: 1,
		Orphans: 1, DryRun: true, Duration: rep.Duration}, rep)
	assert.False(t, rep.Consistent())
	d := diffIndex(t, e.c.store, e.vec, ha.TenantID())
	assert.Len(t, d.missing, 1, "a dry run repairs nothing")

	rep, err = e.c.Reconcile(e.ctx, ReconcileOptions{TenantID: ha.TenantID(), PageSize: 2})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.MissingVectors)
	assert.Equal(t, 1, rep.Mislabelled)
	assert.Equal(t, 1, rep.Orphans)
	assert.Equal(t, 2, rep.Embedded)
	assert.Equal(t, 1, rep.Deleted)
	d = diffIndex(t, e.c.store, e.vec, ha.TenantID())
	assert.True(t, d.missing == nil && d.mislabelled == nil && d.orphans == nil, "%v", d)
	assert.Equal(t, before.chunks, d.vectors)
	other := diffIndex(t, e.c.store, e.vec, hb.TenantID())
	assert.Len(t, other.missing, 1, "the other tenant is not touched")

	// The chunks whose vectors were lost are found by dense search again.
	chunks, err := e.c.store.GetChunks(e.ctx, ha.TenantID(), lost)
	require.NoError(t, err)
	for _, ch := range chunks {
		res, err := ha.Search(e.ctx, SearchRequest{BotID: botA.ID, Query: ch.Text, Mode: SearchDense, TopK: 1})
		require.NoError(t, err)
		require.NotEmpty(t, res)
		assert.Equal(t, ch.ID, res[0].ChunkID)
	}

	// Every tenant; then nothing is left to do.
	rep, err = e.c.Reconcile(e.ctx, ReconcileOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Tenants)
	assert.Equal(t, 1, rep.MissingVectors, "the other tenant's")
	rep, err = e.c.Reconcile(e.ctx, ReconcileOptions{})
	require.NoError(t, err)
	assert.True(t, rep.Consistent(), "%+v", rep)

	_, err = e.c.Reconcile(e.ctx, ReconcileOptions{PageSize: -1})
	assert.ErrorIs(t, err, ErrInvalidInput)
}

// TestIngestConvergesAfterLostVectors: a plain Ingest (no Force) does not
// trust the content hash of a document a chunk of which lost its vector,
// and deletes the source's vectors without chunks.
func TestIngestConvergesAfterLostVectors(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	writeFiles(t, dir, docsCorpus)
	src := e.dirSource(t, h, bot.ID, dir)
	_, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	damage(t, e, h.TenantID(), 1)

	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	// The documents of the lost vector and of the mislabelled one (one
	// or two documents) are embedded again.
	assert.GreaterOrEqual(t, res.Updated, 1)
	assert.Equal(t, len(docsCorpus), res.Updated+res.Unchanged)
	d := diffIndex(t, e.c.store, e.vec, h.TenantID())
	assert.True(t, d.missing == nil && d.mislabelled == nil && d.orphans == nil, "%v", d)

	res, err = h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, len(docsCorpus), res.Unchanged, "converged: nothing more to do")
}

// orderLog records the writes of Storage and the VectorStore in order.
type orderLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *orderLog) add(op string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops = append(l.ops, op)
}

type orderStore struct {
	storage.Storage
	l *orderLog
}

func (s *orderStore) InTx(ctx context.Context, fn func(tx storage.Storage) error) error {
	return s.Storage.InTx(ctx, func(tx storage.Storage) error { return fn(&orderStore{tx, s.l}) })
}

func (s *orderStore) PutDocument(ctx context.Context, d record.Document, c []record.Chunk) (record.Document, error) {
	s.l.add("store")
	return s.Storage.PutDocument(ctx, d, c)
}

func (s *orderStore) PutDocuments(ctx context.Context, docs []storage.DocumentWithChunks) ([]record.Document, error) {
	s.l.add("store")
	return s.Storage.(storage.DocumentBatcher).PutDocuments(ctx, docs)
}

func (s *orderStore) DeleteDocument(ctx context.Context, tenantID, id string) error {
	s.l.add("store-delete")
	return s.Storage.DeleteDocument(ctx, tenantID, id)
}

func (s *orderStore) DeleteSource(ctx context.Context, tenantID, id string) error {
	s.l.add("store-delete")
	return s.Storage.DeleteSource(ctx, tenantID, id)
}

type orderVec struct {
	vectorstore.VectorStore
	l *orderLog
}

func (v *orderVec) Upsert(ctx context.Context, recs []vectorstore.Record) error {
	v.l.add("upsert")
	return v.VectorStore.Upsert(ctx, recs)
}

func (v *orderVec) Delete(ctx context.Context, f vectorstore.Filter) error {
	if len(f.IDs) > 0 {
		v.l.add("delete-ids")
	} else {
		v.l.add("delete")
	}
	return v.VectorStore.Delete(ctx, f)
}

// TestWriteOrder: an update upserts the new vectors, then commits, then
// deletes the old vectors by ID; removing a document or a source deletes
// from Storage first.
func TestWriteOrder(t *testing.T) {
	l := &orderLog{}
	e := newIngestEnv(t, func(c *Config) {
		c.Storage = &orderStore{c.Storage, l}
		c.VectorStore = &orderVec{c.VectorStore, l}
	})
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.md": "# A\n\nFirst version of a.", "b.md": "# B\n\nOnly version of b."})
	src := e.dirSource(t, h, bot.ID, dir)
	_, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"upsert", "store"}, l.ops, "a new document: nothing to delete")

	l.ops = nil
	writeFiles(t, dir, map[string]string{"a.md": "# A\n\nSecond version of a."})
	_, err = h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"upsert", "store", "delete-ids"}, l.ops)

	l.ops = nil
	require.NoError(t, os.Remove(filepath.Join(dir, "b.md")))
	_, err = h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"store-delete", "delete-ids"}, l.ops)

	l.ops = nil
	require.NoError(t, h.DeleteSource(e.ctx, src.ID))
	assert.Equal(t, []string{"store-delete", "delete"}, l.ops)
}

// TestDeleteBotRemovesItsSources: DeleteBot removes the bot's sources,
// documents, chunks, vectors and queued jobs; the other bot's are kept;
// Ingest and EnqueueIngest of a removed source are ErrNotFound.
func TestDeleteBotRemovesItsSources(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	other, err := h.CreateBot(e.ctx, BotParams{Name: "Other"})
	require.NoError(t, err)
	var srcs []Source
	for _, b := range []Bot{bot, bot, other} {
		s := e.textSource(t, h, b.ID, "Note", "The quarterly report is due on the fifth working day.")
		_, err := h.Ingest(e.ctx, s.ID, IngestOptions{})
		require.NoError(t, err)
		srcs = append(srcs, s)
	}
	job, err := h.EnqueueIngest(e.ctx, srcs[0].ID)
	require.NoError(t, err)

	require.NoError(t, h.DeleteBot(e.ctx, bot.ID))
	for _, s := range srcs[:2] {
		_, err := h.GetSource(e.ctx, s.ID)
		assert.ErrorIs(t, err, ErrNotFound)
		_, err = h.Ingest(e.ctx, s.ID, IngestOptions{})
		assert.ErrorIs(t, err, ErrNotFound)
		_, err = h.EnqueueIngest(e.ctx, s.ID)
		assert.ErrorIs(t, err, ErrNotFound)
		docs, err := e.c.store.ListDocuments(e.ctx, h.TenantID(), s.ID)
		require.NoError(t, err)
		assert.Empty(t, docs)
	}
	_, err = h.GetJob(e.ctx, job.ID)
	assert.ErrorIs(t, err, ErrNotFound, "the queued job went with its source")
	left, err := h.ListSources(e.ctx, "")
	require.NoError(t, err)
	assert.Equal(t, []string{srcs[2].ID}, []string{left[0].ID})
	d := diffIndex(t, e.c.store, e.vec, h.TenantID())
	assert.True(t, d.missing == nil && d.orphans == nil, "%v", d)
	assert.Equal(t, 1, d.vectors, "only the other bot's vector is left")
	res, err := h.Search(e.ctx, SearchRequest{BotID: other.ID, Query: "quarterly report"})
	require.NoError(t, err)
	assert.Len(t, res, 1)
	assert.ErrorIs(t, h.DeleteBot(e.ctx, bot.ID), ErrNotFound)
}

// TestIngestSkipsEmptyDocuments: a markdown file holding only front
// matter (a docs folder's index.md) and an empty file are skipped with
// the reason; the source ends ready and a queued job done.
func TestIngestSkipsEmptyDocuments(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"index.md":       "---\ntitle: Guides\nsort_rank: 3\n---\n",
		"blank.txt":      "  \n\n",
		"guides/run.md":  "# Running\n\nStart the server with the run command.\n",
		"guides/stop.md": "# Stopping\n\nStop it with the stop command.\n",
	})
	src := e.dirSource(t, h, bot.ID, dir)
	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Added)
	assert.Empty(t, res.Failed)
	var skipped []string
	for _, s := range res.Skipped {
		skipped = append(skipped, s.Key)
		assert.Contains(t, s.Reason, "empty document")
	}
	slices.Sort(skipped)
	assert.Equal(t, []string{"blank.txt", "index.md"}, skipped)
	got, err := h.GetSource(e.ctx, src.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusReady, got.Status)
	assert.NotNil(t, got.LastIngestedAt)

	job, err := h.EnqueueIngest(e.ctx, src.ID)
	require.NoError(t, err)
	w, err := e.c.NewWorker(WorkerConfig{})
	require.NoError(t, err)
	require.NoError(t, w.Drain(e.ctx))
	job, err = h.GetJob(e.ctx, job.ID)
	require.NoError(t, err)
	assert.Equal(t, JobDone, job.Status)
}

// failPutStore fails PutDocument(s) with a driver-like error naming a
// host path.
type failPutStore struct{ storage.Storage }

var errHostPath = errors.New("sqlite: put documents: disk I/O error (/var/lib/minirag/secret-host/minirag.db-wal)")

func (s *failPutStore) InTx(ctx context.Context, fn func(tx storage.Storage) error) error {
	return s.Storage.InTx(ctx, func(tx storage.Storage) error { return fn(&failPutStore{tx}) })
}

func (s *failPutStore) PutDocument(context.Context, record.Document, []record.Chunk) (record.Document, error) {
	return record.Document{}, errHostPath
}

// TestSourceErrorIsTenantSafe: a storage failure puts the failing
// document and the kind of failure in the source's error text, the job's
// error and the result's JSON, never the host path or the driver's text;
// the host's log has the full error.
func TestSourceErrorIsTenantSafe(t *testing.T) {
	e := newIngestEnv(t, func(c *Config) { c.Storage = &failPutStore{c.Storage} })
	h, bot := e.tenantWithBot(t, "acme")
	src := e.textSource(t, h, bot.ID, "Note", "The quarterly report is due on the fifth working day.")
	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.Error(t, err)
	assert.ErrorIs(t, err, errHostPath, "the host's error keeps its cause")
	got, err := h.GetSource(e.ctx, src.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusError, got.Status)
	assert.Equal(t, `1 of 1 documents failed: "text": storing failed`, got.Error)
	js, err := res.Failed[0].MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"key":"text","error":"storing failed"}`, string(js))

	job, err := h.EnqueueIngest(e.ctx, src.ID)
	require.NoError(t, err)
	w, err := e.c.NewWorker(WorkerConfig{MaxAttempts: 1})
	require.NoError(t, err)
	require.NoError(t, w.Drain(e.ctx))
	job, err = h.GetJob(e.ctx, job.ID)
	require.NoError(t, err)
	for _, text := range []string{got.Error, job.LastError} {
		assert.NotContains(t, text, "/var/lib")
		assert.NotContains(t, text, "disk I/O")
		assert.Contains(t, text, "storing failed")
	}
	assert.Contains(t, e.logs.String(), "secret-host/minirag.db-wal", "the full error is in the host's log")

	// A source that cannot be loaded: the kind, not the path.
	missing := filepath.Join(t.TempDir(), "gone")
	s2, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "gone", Type: SourceFile, Config: loader.FileConfig{Path: missing}})
	require.NoError(t, err)
	_, err = h.Ingest(e.ctx, s2.ID, IngestOptions{})
	require.Error(t, err)
	got, err = h.GetSource(e.ctx, s2.ID)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(got.Error, "loading the source failed"), got.Error)
	assert.NotContains(t, got.Error, missing)
}

// TestOpenReconcilesAfterUncleanShutdown: a folder whose last Client did
// not close (the marker is there) is reconciled by Open; a clean Close
// removes the marker and the next Open does not reconcile.
func TestOpenReconcilesAfterUncleanShutdown(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	c, err := Open(ctx, dir)
	require.NoError(t, err)
	_, ok := c.OpenReconcile()
	assert.False(t, ok, "a new folder")
	b, err := c.CreateTenant(ctx, CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "o@acme.example"})
	require.NoError(t, err)
	h := c.Tenant(b.Tenant.ID)
	bot, err := h.CreateBot(ctx, BotParams{Name: "bot"})
	require.NoError(t, err)
	src, err := h.CreateSource(ctx, SourceParams{BotID: bot.ID, Name: "n", Type: SourceText, Config: loader.TextConfig{Content: "Backups run nightly at two."}})
	require.NoError(t, err)
	_, err = h.Ingest(ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, OpenMarkerFile))
	require.NoError(t, err, "the marker is there while open")
	// The vectors are lost behind the Client's back (a restored backup of
	// the database without the vectors, say) and the process dies.
	require.NoError(t, c.vec.Delete(ctx, vectorstore.Filter{TenantID: b.Tenant.ID}))
	require.NoError(t, c.vec.Close())
	require.NoError(t, c.store.Close())

	c, err = Open(ctx, dir)
	require.NoError(t, err)
	rep, ok := c.OpenReconcile()
	require.True(t, ok)
	assert.Equal(t, 1, rep.MissingVectors)
	assert.Equal(t, 1, rep.Embedded)
	res, err := c.Tenant(b.Tenant.ID).Search(ctx, SearchRequest{BotID: bot.ID, Query: "backups nightly", Mode: SearchDense})
	require.NoError(t, err)
	assert.Len(t, res, 1)
	require.NoError(t, c.Close())
	_, err = os.Stat(filepath.Join(dir, OpenMarkerFile))
	assert.ErrorIs(t, err, os.ErrNotExist)

	c, err = Open(ctx, dir)
	require.NoError(t, err)
	_, ok = c.OpenReconcile()
	assert.False(t, ok, "the last Close was clean")
	require.NoError(t, c.Close())
}
