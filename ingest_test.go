package minirag

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/chunk"
	"github.com/minirag/minirag/embed"
	embedopenai "github.com/minirag/minirag/embed/openai"
	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

type storageLexical struct {
	id    string
	score float64
}

func toLexical(in []storageLexical) []storage.LexicalMatch {
	out := make([]storage.LexicalMatch, len(in))
	for i, m := range in {
		out[i] = storage.LexicalMatch{ChunkID: m.id, Score: m.score}
	}
	return out
}

func searchTexts(t *testing.T, h *TenantHandle, req SearchRequest) []SearchResult {
	t.Helper()
	rs, err := h.Search(t.Context(), req)
	require.NoError(t, err)
	return rs
}

func TestIngestDirectoryIncremental(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	writeFiles(t, dir, docsCorpus)
	src := e.dirSource(t, h, bot.ID, dir)

	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, res.Added)
	assert.Equal(t, 3, res.Documents)
	assert.Equal(t, res.Chunks, res.Embedded)
	assert.Positive(t, res.Embedded)
	assert.Positive(t, e.emb.calls.Load())

	got, err := h.GetSource(e.ctx, src.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusReady, got.Status)
	assert.Equal(t, 3, got.DocumentCount)
	assert.Equal(t, res.Chunks, got.ChunkCount)
	require.NotNil(t, got.LastIngestedAt)
	assert.Empty(t, got.Error)

	docs, err := e.c.Storage().ListDocuments(e.ctx, h.TenantID(), src.ID)
	require.NoError(t, err)
	require.Len(t, docs, 3)
	for _, d := range docs {
		assert.Len(t, d.ContentHash, 64)
		assert.Equal(t, "markdown", d.Metadata["format"])
		chunks, err := e.c.Storage().ListChunks(e.ctx, h.TenantID(), d.ID)
		require.NoError(t, err)
		require.NotEmpty(t, chunks)
		assert.NotEmpty(t, chunks[0].HeadingPath, "markdown chunker records headings")
	}
	vectorsBefore := e.vec.Len(h.TenantID())
	assert.Equal(t, res.Chunks, vectorsBefore)

	// Twice more: nothing changes, nothing is embedded.
	for range 2 {
		e.emb.reset()
		res2, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
		require.NoError(t, err)
		assert.Zero(t, e.emb.calls.Load(), "unchanged documents are not embedded")
		assert.Equal(t, 3, res2.Unchanged)
		assert.Zero(t, res2.Added+res2.Updated+res2.Deleted+res2.Embedded)
		assert.Equal(t, res.Chunks, res2.Chunks)
		assert.Equal(t, vectorsBefore, e.vec.Len(h.TenantID()))
		docs2, err := e.c.Storage().ListDocuments(e.ctx, h.TenantID(), src.ID)
		require.NoError(t, err)
		assert.Equal(t, docs, docs2)
	}

	// One changed, one removed, one added.
	e.emb.reset()
	writeFiles(t, dir, map[string]string{
		"billing.md": "# Billing\n\nInvoices now arrive on the fifteenth of each month.\n",
		"support.md": "# Support\n\nWrite to the helpdesk; answers come within one working day.\n",
	})
	require.NoError(t, os.Remove(filepath.Join(dir, "backup.md")))
	res3, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res3.Added)
	assert.Equal(t, 1, res3.Updated)
	assert.Equal(t, 1, res3.Unchanged)
	assert.Equal(t, 1, res3.Deleted)
	assert.Equal(t, int64(res3.Embedded), e.emb.texts.Load(), "only the changed and new documents are embedded")
	assert.Equal(t, res3.Chunks, e.vec.Len(h.TenantID()), "vectors of removed and replaced chunks are gone")

	rs := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "nightly backup restore"})
	for _, r := range rs {
		assert.NotContains(t, r.Text, "nightly backup", "a removed document is not found")
	}
	rs = searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "when do invoices arrive"})
	require.NotEmpty(t, rs)
	assert.Contains(t, rs[0].Text, "fifteenth")
	assert.Equal(t, "Billing", rs[0].DocumentTitle)
	assert.Equal(t, []string{"Billing"}, rs[0].HeadingPath)
	assert.Equal(t, src.ID, rs[0].SourceID)
}

func TestIngestProgress(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	writeFiles(t, dir, docsCorpus)
	src := e.dirSource(t, h, bot.ID, dir)
	var reports []IngestProgress
	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{Progress: func(p IngestProgress) { reports = append(reports, p) }})
	require.NoError(t, err)
	require.Len(t, reports, 4)
	for i, p := range reports[:3] {
		assert.Equal(t, i+1, p.Documents)
		assert.NotEmpty(t, p.Key)
		assert.False(t, p.Done)
		assert.Equal(t, src.ID, p.SourceID)
	}
	last := reports[3]
	assert.True(t, last.Done)
	assert.Equal(t, 3, last.DocumentsTotal)
	assert.Equal(t, res.Embedded, last.Chunks)
	assert.Equal(t, res.Embedded, last.ChunksQueued)
}

func TestIngestScopesAndTenants(t *testing.T) {
	e := newIngestEnv(t)
	a := e.bootstrap(t, "tenant-a")
	ha := e.scoped(t, a.Token.Plaintext)
	bot, err := ha.CreateBot(e.ctx, BotParams{Name: "A"})
	require.NoError(t, err)
	src := e.textSource(t, ha, bot.ID, "Secret plans", "Tenant A keeps the launch code in the blue binder.")
	_, err = ha.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)

	q, err := ha.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "widget", Scopes: []Scope{ScopeQuery}})
	require.NoError(t, err)
	hq := e.scoped(t, q.Plaintext)
	_, err = hq.Ingest(e.ctx, src.ID, IngestOptions{})
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = hq.EnqueueIngest(e.ctx, src.ID)
	assert.ErrorIs(t, err, ErrForbidden)
	rs, err := hq.Search(e.ctx, SearchRequest{BotID: bot.ID, Query: "launch code"})
	require.NoError(t, err, "a query token may search")
	require.NotEmpty(t, rs)

	// Tenant B sees nothing of A.
	b := e.bootstrap(t, "tenant-b")
	hb := e.scoped(t, b.Token.Plaintext)
	botB, err := hb.CreateBot(e.ctx, BotParams{Name: "B"})
	require.NoError(t, err)
	_, err = hb.Ingest(e.ctx, src.ID, IngestOptions{})
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = hb.EnqueueIngest(e.ctx, src.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = hb.Search(e.ctx, SearchRequest{BotID: bot.ID, Query: "launch code"})
	assert.ErrorIs(t, err, ErrNotFound, "another tenant's bot is not found")
	for _, mode := range []SearchMode{SearchHybrid, SearchDense, SearchLexical} {
		rs, err := hb.Search(e.ctx, SearchRequest{BotID: botB.ID, Query: "launch code blue binder", Mode: mode})
		require.NoError(t, err)
		assert.Empty(t, rs, mode)
	}
	assert.ErrorIs(t, hb.DeleteSource(e.ctx, src.ID), ErrNotFound)
	assert.Positive(t, e.vec.Len(a.Tenant.ID), "B's delete did not touch A's vectors")

	// Deleting the source deletes its vectors.
	require.NoError(t, ha.DeleteSource(e.ctx, src.ID))
	assert.Zero(t, e.vec.Len(a.Tenant.ID))
	rs, err = ha.Search(e.ctx, SearchRequest{BotID: bot.ID, Query: "launch code"})
	require.NoError(t, err)
	assert.Empty(t, rs)
}

// storedTexts returns every chunk text of a source.
func storedTexts(t *testing.T, e *ingestEnv, tenantID, sourceID string) []string {
	t.Helper()
	docs, err := e.c.Storage().ListDocuments(e.ctx, tenantID, sourceID)
	require.NoError(t, err)
	var out []string
	for _, d := range docs {
		cs, err := e.c.Storage().ListChunks(e.ctx, tenantID, d.ID)
		require.NoError(t, err)
		for _, c := range cs {
			out = append(out, c.Text)
		}
	}
	return out
}

func TestIngestBadDocuments(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	writeFiles(t, dir, docsCorpus)
	src := e.dirSource(t, h, bot.ID, dir)
	first, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	before := storedTexts(t, e, h.TenantID(), src.ID)
	firstSrc, err := h.GetSource(e.ctx, src.ID)
	require.NoError(t, err)

	// billing.md becomes empty, install.md gets invalid UTF-8 past the
	// loader's 8 KiB sniff, a binary file and a 100 MB file appear.
	bad := strings.Repeat("Lumen install notes. ", 500) + "\xff\xfe broken" // > 8 KiB before the bad bytes
	writeFiles(t, dir, map[string]string{"billing.md": "  \n\n\t\n", "install.md": "# Installing Lumen\n\n" + bad, "logo.txt": "PNG\x00\x01\x02"})
	big, err := os.Create(filepath.Join(dir, "huge.txt"))
	require.NoError(t, err)
	require.NoError(t, big.Truncate(100<<20))
	require.NoError(t, big.Close())

	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.Error(t, err)
	var ie *IngestError
	require.ErrorAs(t, err, &ie)
	assert.Len(t, ie.Failed, 1, "an empty document is skipped, not failed")
	assert.ErrorIs(t, err, chunk.ErrInvalidUTF8)
	assert.NotContains(t, err.Error(), `"billing.md"`)
	assert.Contains(t, err.Error(), `"install.md"`)
	keys := map[string]string{}
	for _, s := range res.Skipped {
		keys[s.Key] = s.Reason
	}
	assert.Contains(t, keys, "logo.txt")
	assert.Contains(t, keys, "huge.txt")
	assert.Contains(t, keys["billing.md"], "empty document")
	assert.Equal(t, 1, res.Unchanged)
	assert.Equal(t, 3, res.Documents, "failed documents keep their stored version")
	assert.Equal(t, first.Chunks, res.Chunks)
	assert.ElementsMatch(t, before, storedTexts(t, e, h.TenantID(), src.ID), "nothing stored was lost")
	rs := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "team plan seat euros"})
	require.NotEmpty(t, rs)
	assert.Contains(t, rs[0].Text, "twelve euros", "the previous version stays searchable")

	js, err := json.Marshal(res)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"failed":[{"key":"`)

	got, err := h.GetSource(e.ctx, src.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusError, got.Status)
	assert.NotContains(t, got.Error, "billing.md")
	assert.Contains(t, got.Error, `"install.md": invalid UTF-8`)
	assert.Equal(t, 3, got.DocumentCount)
	assert.Equal(t, firstSrc.LastIngestedAt, got.LastIngestedAt, "a failed run does not move LastIngestedAt")
}

func TestIngestUnavailableSources(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	file := filepath.Join(dir, "notes.md")
	writeFiles(t, dir, map[string]string{"notes.md": "# Notes\n\nThe staging server restarts at midnight."})
	src, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "notes", Type: SourceFile, Config: loader.FileConfig{Path: file}})
	require.NoError(t, err)
	_, err = h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	before := storedTexts(t, e, h.TenantID(), src.ID)

	check := func(t *testing.T, sourceID, name string, want error) {
		t.Helper()
		_, err := h.Ingest(e.ctx, sourceID, IngestOptions{})
		require.Error(t, err)
		assert.ErrorIs(t, err, want)
		assert.Contains(t, err.Error(), name)
		got, err := h.GetSource(e.ctx, sourceID)
		require.NoError(t, err)
		assert.Equal(t, StatusError, got.Status)
		assert.NotEmpty(t, got.Error)
	}
	t.Run("binary single file", func(t *testing.T) {
		require.NoError(t, os.WriteFile(file, []byte("\x00\x01\x02binary"), 0o644))
		check(t, src.ID, "notes.md", loader.ErrUnavailable)
		assert.ElementsMatch(t, before, storedTexts(t, e, h.TenantID(), src.ID))
	})
	t.Run("100 MB single file", func(t *testing.T) {
		f, err := os.Create(file)
		require.NoError(t, err)
		require.NoError(t, f.Truncate(100<<20))
		require.NoError(t, f.Close())
		check(t, src.ID, "notes.md", loader.ErrUnavailable)
		assert.ElementsMatch(t, before, storedTexts(t, e, h.TenantID(), src.ID))
	})
	t.Run("path gone", func(t *testing.T) {
		require.NoError(t, os.Remove(file))
		check(t, src.ID, "notes.md", loader.ErrUnavailable)
		assert.ElementsMatch(t, before, storedTexts(t, e, h.TenantID(), src.ID))
		rs := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "staging server midnight"})
		require.NotEmpty(t, rs)
	})
	t.Run("URL that never answers", func(t *testing.T) {
		var hang atomic.Bool
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if hang.Load() {
				select {
				case <-r.Context().Done():
				case <-release:
				}
				return
			}
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><head><title>Status</title></head><body><main><p>All systems operational since Tuesday.</p></main></body></html>"))
		}))
		defer srv.Close()
		defer close(release)
		s, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "status page", Type: SourceURL,
			Config: loader.URLConfig{URL: srv.URL + "/status", TimeoutSeconds: 1}})
		require.NoError(t, err)
		_, err = h.Ingest(e.ctx, s.ID, IngestOptions{})
		require.NoError(t, err)
		pageBefore := storedTexts(t, e, h.TenantID(), s.ID)
		require.NotEmpty(t, pageBefore)
		hang.Store(true)
		check(t, s.ID, srv.URL+"/status", loader.ErrUnavailable)
		assert.Equal(t, pageBefore, storedTexts(t, e, h.TenantID(), s.ID))
	})
}

func TestIngestEmbeddingFailureKeepsPreviousChunks(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	writeFiles(t, dir, docsCorpus)
	src := e.dirSource(t, h, bot.ID, dir)
	_, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	before := storedTexts(t, e, h.TenantID(), src.ID)
	vectors := e.vec.Len(h.TenantID())

	writeFiles(t, dir, map[string]string{"billing.md": "# Billing\n\nPrices changed: nine euros per seat."})
	for name, mod := range map[string]func(*countingEmbedder){
		"wrong number of vectors": func(c *countingEmbedder) { c.short = true },
		"service error":           func(c *countingEmbedder) { c.fail = errors.New("embedding service down") },
	} {
		t.Run(name, func(t *testing.T) {
			e.emb.set(mod)
			defer e.emb.set(func(c *countingEmbedder) { c.short, c.fail = false, nil })
			res, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), `"billing.md"`)
			if name == "wrong number of vectors" {
				assert.ErrorIs(t, err, embed.ErrBadResponse)
			}
			assert.Len(t, res.Failed, 1)
			assert.ElementsMatch(t, before, storedTexts(t, e, h.TenantID(), src.ID))
			assert.Equal(t, vectors, e.vec.Len(h.TenantID()), "the old vectors stay")
			e.emb.set(func(c *countingEmbedder) { c.short, c.fail = false, nil })
			rs := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "team plan seat euros", Mode: SearchDense})
			require.NotEmpty(t, rs)
			assert.Contains(t, rs[0].Text, "twelve euros")
		})
	}
	// Once the embedder works, the change goes through.
	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Updated)
	rs := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "price per seat euros"})
	require.NotEmpty(t, rs)
	assert.Contains(t, rs[0].Text, "nine euros")
}

func TestIngestOpenAIEmbedder(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 64, Delay: 20 * time.Millisecond})
	emb, err := embedopenai.New(embedopenai.Config{BaseURL: srv.URL, Model: "test-embed", HTTPClient: srv.Client(), MaxRetries: -1, BatchSize: 8})
	require.NoError(t, err)
	e := newIngestEnv(t, func(c *Config) { c.Embedder = emb })
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	files := map[string]string{}
	for i := range 40 {
		files[filepathName(i)] = "# Page " + filepathName(i) + "\n\nThis page describes feature number " + filepathName(i) + " of the product."
	}
	writeFiles(t, dir, files)
	src := e.dirSource(t, h, bot.ID, dir)

	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{Concurrency: 4, BatchSize: 8})
	require.NoError(t, err)
	assert.Equal(t, 40, res.Added)
	assert.Equal(t, 40, srv.EmbeddedInputs()-1, "one probe, then each chunk once")
	assert.Greater(t, srv.PeakConcurrency(), 1, "several batches in flight")
	assert.LessOrEqual(t, srv.PeakConcurrency(), 4)

	// A server that answers with fewer vectors than inputs.
	files[filepathName(3)] = "# Page changed\n\nFeature three was renamed."
	writeFiles(t, dir, files)
	srv.TruncateNext(1)
	res, err = h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.Error(t, err)
	assert.ErrorIs(t, err, embed.ErrBadResponse)
	assert.Contains(t, err.Error(), filepathName(3))
	assert.Equal(t, 39, res.Unchanged)
	assert.Equal(t, 40, res.Documents)
}

func filepathName(i int) string {
	return "doc-" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + ".md"
}

func TestIngestConcurrentRunsOfOneSource(t *testing.T) {
	// Two inline runs of the same source at once end consistent: every
	// stored chunk has its vector and the counts agree.
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	writeFiles(t, dir, docsCorpus)
	src := e.dirSource(t, h, bot.ID, dir)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			_, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, res.Unchanged)
	assert.Equal(t, res.Chunks, len(storedTexts(t, e, h.TenantID(), src.ID)))
}

func TestIngestCancelled(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	writeFiles(t, dir, docsCorpus)
	src := e.dirSource(t, h, bot.ID, dir)
	ctx, cancel := context.WithCancel(e.ctx)
	e.emb.set(func(c *countingEmbedder) {
		c.failWhen = func([]string) error { cancel(); return context.Canceled }
	})
	_, err := h.Ingest(ctx, src.ID, IngestOptions{})
	require.ErrorIs(t, err, context.Canceled)
	got, err := h.GetSource(e.ctx, src.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusError, got.Status, "a cancelled run does not stay processing")
}

func TestSearchValidationAndAccess(t *testing.T) {
	e := newIngestEnv(t)
	a := e.bootstrap(t, "acme")
	h := e.scoped(t, a.Token.Plaintext)
	bot1, err := h.CreateBot(e.ctx, BotParams{Name: "one"})
	require.NoError(t, err)
	bot2, err := h.CreateBot(e.ctx, BotParams{Name: "two"})
	require.NoError(t, err)

	_, err = h.Search(e.ctx, SearchRequest{BotID: bot1.ID, Query: "   "})
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "query", ve.Fields[0].Field)
	for _, req := range []SearchRequest{
		{BotID: bot1.ID, Query: "x", TopK: -1},
		{BotID: bot1.ID, Query: "x", TopK: MaxTopK + 1},
		{BotID: bot1.ID, Query: "x", Mode: "fuzzy"},
		{BotID: bot1.ID, Query: "x", RRFK: -1},
		{BotID: bot1.ID, Query: "x", DenseWeight: -1},
		{BotID: "", Query: "x"},
	} {
		_, err := h.Search(e.ctx, req)
		assert.ErrorIs(t, err, ErrInvalidInput, "%+v", req)
	}
	_, err = h.Search(e.ctx, SearchRequest{BotID: "no-such-bot", Query: "x"})
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = e.c.Tenant("").Search(e.ctx, SearchRequest{BotID: bot1.ID, Query: "x"})
	assert.ErrorIs(t, err, ErrInvalidInput, "an empty tenant is never all tenants")
	_, err = e.c.Tenant("").Ingest(e.ctx, "any", IngestOptions{})
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = e.c.Tenant("").EnqueueIngest(e.ctx, "any")
	assert.ErrorIs(t, err, ErrInvalidInput)

	tok, err := h.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "widget", Scopes: []Scope{ScopeQuery}, BotIDs: []string{bot1.ID}})
	require.NoError(t, err)
	hq := e.scoped(t, tok.Plaintext)
	_, err = hq.Search(e.ctx, SearchRequest{BotID: bot2.ID, Query: "x"})
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = hq.Search(e.ctx, SearchRequest{BotID: bot1.ID, Query: "x"})
	assert.NoError(t, err)
}

func TestSearchModesAndFilters(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	other, err := h.CreateBot(e.ctx, BotParams{Name: "other"})
	require.NoError(t, err)
	s1 := e.textSource(t, h, bot.ID, "Kitchen", "The espresso machine on the third floor needs descaling every Friday.")
	s2 := e.textSource(t, h, bot.ID, "Garage", "Bicycles are parked in the garage behind the espresso bar; the gate code changes monthly.")
	s3 := e.textSource(t, h, other.ID, "Other bot", "The espresso machine of the other bot's tenant area.")
	for _, s := range []Source{s1, s2, s3} {
		_, err := h.Ingest(e.ctx, s.ID, IngestOptions{})
		require.NoError(t, err)
	}

	// Reciprocal rank fusion, asked for: first in both lists scores 2/61.
	hy := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "espresso machine descaling", Fusion: FusionRRF})
	require.Len(t, hy, 2, "the other bot's chunk is not found")
	assert.Equal(t, s1.ID, hy[0].SourceID)
	assert.Equal(t, []string{FoundByDense, FoundByLexical}, hy[0].FoundBy)
	assert.Equal(t, 1, hy[0].DenseRank)
	assert.Equal(t, 1, hy[0].LexicalRank)
	assert.InDelta(t, 2.0/61, hy[0].Score, 1e-9)
	assert.Equal(t, "Kitchen", hy[0].DocumentTitle)
	assert.GreaterOrEqual(t, hy[0].Score, hy[1].Score)

	de := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "espresso machine descaling", Mode: SearchDense})
	require.NotEmpty(t, de)
	assert.Equal(t, []string{FoundByDense}, de[0].FoundBy)
	assert.Equal(t, de[0].DenseScore, de[0].Score)
	assert.Zero(t, de[0].LexicalRank)

	lx := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "gate code", Mode: SearchLexical})
	require.Len(t, lx, 1)
	assert.Equal(t, s2.ID, lx[0].SourceID)
	assert.Equal(t, []string{FoundByLexical}, lx[0].FoundBy)
	assert.Equal(t, lx[0].LexicalScore, lx[0].Score)

	only := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "espresso", SourceIDs: []string{s2.ID}})
	require.Len(t, only, 1)
	assert.Equal(t, s2.ID, only[0].SourceID)

	top1 := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "espresso", TopK: 1})
	assert.Len(t, top1, 1)
	none := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "espresso machine", Mode: SearchDense, MinScore: 0.9999})
	assert.Empty(t, none)

	// Weights: a lexical-heavy fusion puts the lexical winner first.
	w := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "gate code espresso", LexicalWeight: 10, DenseWeight: 0.01})
	require.NotEmpty(t, w)
	assert.Equal(t, lx[0].ChunkID, w[0].ChunkID)
}

func TestSearchDropsVectorsWithoutChunks(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	src := e.textSource(t, h, bot.ID, "Kitchen", "The espresso machine needs descaling every Friday.")
	_, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	// A vector whose chunk was never stored (a write cut short).
	vecs, err := e.emb.Embed(e.ctx, []string{"espresso machine descaling Friday"})
	require.NoError(t, err)
	require.NoError(t, e.vec.Upsert(e.ctx, []vectorstore.Record{{ID: "orphan", Vector: vecs[0], TenantID: h.TenantID(), BotID: bot.ID, SourceID: src.ID, DocumentID: "gone"}}))
	rs := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "espresso machine descaling Friday", Mode: SearchDense})
	require.Len(t, rs, 1)
	assert.NotEqual(t, "orphan", rs[0].ChunkID)
}

func TestFuse(t *testing.T) {
	dense := []vectorstore.Match{{ID: "a", Score: 0.9}, {ID: "b", Score: 0.8}, {ID: "c", Score: 0.1}}
	lex := []storageLexical{{"c", 7}, {"d", 5}, {"a", 1}}
	got := fuse(dense, toLexical(lex), SearchRequest{Mode: SearchHybrid, RRFK: 60, DenseWeight: 1, LexicalWeight: 1})
	require.Len(t, got, 4)
	// a: 1/61 + 1/63; c: 1/63 + 1/61; b: 1/62; d: 1/62.
	assert.ElementsMatch(t, []string{"a", "c"}, []string{got[0].id, got[1].id})
	assert.InDelta(t, 1.0/61+1.0/63, got[0].score, 1e-12)
	assert.Equal(t, "a", got[0].id, "ties keep the dense order")
	assert.Equal(t, "b", got[2].id)
	assert.Equal(t, "d", got[3].id)
	assert.Equal(t, 3, got[0].lRank)
	assert.Equal(t, 1, got[0].dRank)

	got = fuse(dense, toLexical(lex), SearchRequest{Mode: SearchHybrid, RRFK: 60, DenseWeight: 1, LexicalWeight: 1, MinScore: 0.02})
	assert.Len(t, got, 2)
}

func TestIngestAfterSourceMovedToAnotherBot(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	bot2, err := h.CreateBot(e.ctx, BotParams{Name: "second"})
	require.NoError(t, err)
	src := e.textSource(t, h, bot.ID, "Kitchen", "The espresso machine needs descaling every Friday.")
	_, err = h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	_, err = h.UpdateSource(e.ctx, src.ID, SourceUpdate{BotID: &bot2.ID})
	require.NoError(t, err)
	for _, mode := range []SearchMode{SearchDense, SearchLexical} {
		assert.NotEmpty(t, searchTexts(t, h, SearchRequest{BotID: bot2.ID, Query: "espresso descaling", Mode: mode}), mode)
		assert.Empty(t, searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "espresso descaling", Mode: mode}), mode)
	}
}

func TestIngestForce(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	src := e.textSource(t, h, bot.ID, "Kitchen", "The espresso machine needs descaling every Friday.")
	_, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	e.emb.reset()
	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Updated)
	assert.Equal(t, int64(1), e.emb.texts.Load())
	assert.Equal(t, 1, e.vec.Len(h.TenantID()))
}

func TestIngestKeepsSkippedDocuments(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	writeFiles(t, dir, docsCorpus)
	src := e.dirSource(t, h, bot.ID, dir)
	_, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	// backup.md cannot be read this time (it looks binary): the loader
	// reports it as skipped, and its stored version stays.
	writeFiles(t, dir, map[string]string{"backup.md": "\x00\x01 not text any more"})
	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	require.Len(t, res.Skipped, 1)
	assert.Equal(t, "backup.md", res.Skipped[0].Key)
	assert.Zero(t, res.Deleted)
	assert.Equal(t, 3, res.Documents)
	rs := searchTexts(t, h, SearchRequest{BotID: bot.ID, Query: "nightly backup restore"})
	require.NotEmpty(t, rs)
	assert.Equal(t, "Backups", rs[0].DocumentTitle)
	// Gone for good: deleted.
	require.NoError(t, os.Remove(filepath.Join(dir, "backup.md")))
	res, err = h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Deleted)
	assert.Equal(t, 2, res.Documents)
}
