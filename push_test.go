package minirag

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// pushCategories are the categories of pushRecord, in turn.
var pushCategories = []string{"billing", "shipping", "returns", "warranty"}

// pushRecord is record i of a host's table, as a pushed document.
func pushRecord(i int, edition string) DocumentInput {
	cat := pushCategories[i%len(pushCategories)]
	return DocumentInput{
		Key:   fmt.Sprintf("rec-%05d", i),
		Title: fmt.Sprintf("Ticket %d", i),
		URI:   fmt.Sprintf("https://tickets.example/%d", i),
		Text:  fmt.Sprintf("Ticket %d about %s: customer reports issue %d, %s edition. Marker word tk%05d.", i, cat, i%97, edition, i),
		Metadata: record.Metadata{
			"category": cat,
			"priority": i % 5,
			"opened":   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour),
			"tags":     []string{"t" + fmt.Sprint(i%3), "all"},
		},
	}
}

// pushBatches pushes records [from, to) in calls of batch documents and
// returns the summed counts.
func pushBatches(t testing.TB, ctx context.Context, h *TenantHandle, srcID string, from, to, batch int, edition string) UpsertDocumentsResult {
	t.Helper()
	var sum UpsertDocumentsResult
	for start := from; start < to; start += batch {
		docs := make([]DocumentInput, 0, batch)
		for i := start; i < min(to, start+batch); i++ {
			docs = append(docs, pushRecord(i, edition))
		}
		res, err := h.UpsertDocuments(ctx, srcID, docs)
		require.NoError(t, err)
		require.Len(t, res.Documents, len(docs))
		sum.Added += res.Added
		sum.Updated += res.Updated
		sum.MetadataUpdated += res.MetadataUpdated
		sum.Unchanged += res.Unchanged
		sum.Failed += res.Failed
		sum.Embedded += res.Embedded
	}
	return sum
}

func documentsSource(t testing.TB, ctx context.Context, h *TenantHandle, botID string) Source {
	t.Helper()
	src, err := h.CreateSource(ctx, SourceParams{BotID: botID, Name: "tickets", Type: SourceDocuments})
	require.NoError(t, err)
	return src
}

// TestPushMirrorTable mirrors a table of 10,000 records into a bot (one
// call per batch of 500), then updates records by key (text, and
// metadata only: nothing embedded), deletes some by key, filters answers
// by metadata in every search mode and pages through the documents.
func TestPushMirrorTable(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	e := newIngestEnv(t)
	ctx := e.ctx
	h, bot := e.tenantWithBot(t, "mirror")
	src := documentsSource(t, ctx, h, bot.ID)

	sum := pushBatches(t, ctx, h, src.ID, 0, n, 500, "first")
	assert.Equal(t, n, sum.Added)
	assert.Equal(t, n, sum.Embedded, "one chunk per record")
	assert.EqualValues(t, n, e.emb.texts.Load())
	got, err := h.GetSource(ctx, src.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusReady, got.Status)
	assert.Equal(t, n, got.DocumentCount)
	assert.Equal(t, n, got.ChunkCount)

	// The same batch again: nothing changes, nothing is embedded.
	e.emb.reset()
	sum = pushBatches(t, ctx, h, src.ID, 0, 500, 500, "first")
	assert.Equal(t, 500, sum.Unchanged)
	assert.Zero(t, e.emb.texts.Load())

	// Text changes for 0..9: embedded again; metadata only for 10..19:
	// nothing embedded.
	e.emb.reset()
	var docs []DocumentInput
	for i := range 10 {
		docs = append(docs, pushRecord(i, "second"))
	}
	for i := 10; i < 20; i++ {
		d := pushRecord(i, "first")
		d.Metadata["category"] = "escalated"
		d.Title = "Escalated ticket"
		docs = append(docs, d)
	}
	res, err := h.UpsertDocuments(ctx, src.ID, docs)
	require.NoError(t, err)
	assert.Equal(t, 10, res.Updated)
	assert.Equal(t, 10, res.MetadataUpdated)
	assert.Equal(t, 10, res.Embedded)
	assert.EqualValues(t, 10, e.emb.texts.Load(), "the metadata-only updates embed nothing")
	for i, r := range res.Documents {
		want := DocumentUpdated
		if i >= 10 {
			want = DocumentMetadataUpdated
		}
		assert.Equal(t, want, r.Status, r.Key)
		assert.Equal(t, documentID(h.TenantID(), src.ID, r.Key), r.DocumentID)
		assert.Equal(t, 1, r.Chunks)
	}
	d, err := h.GetDocumentByKey(ctx, src.ID, "rec-00012")
	require.NoError(t, err)
	assert.Equal(t, "escalated", d.Metadata["category"])
	assert.Equal(t, "Escalated ticket", d.Title)
	assert.EqualValues(t, 2, d.Metadata["priority"])
	assert.Equal(t, "2026-01-01T12:00:00.000000Z", d.Metadata["opened"])
	assert.NotEmpty(t, d.Metadata[MetadataEmbeddingModel])

	// Filters, in every mode: the escalated records (whose vectors got
	// the new metadata without being embedded again) and only them.
	for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
		rs, err := h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "ticket customer reports issue", Mode: mode, TopK: 50,
			Filter: filter.Eq("category", "escalated")})
		require.NoError(t, err)
		require.Len(t, rs, 10, mode)
		for _, r := range rs {
			assert.Equal(t, "escalated", r.Metadata["category"], mode)
			assert.True(t, strings.HasPrefix(r.DocumentKey, "rec-0001"), r.DocumentKey)
			assert.Equal(t, "Escalated ticket", r.DocumentTitle)
		}
		// A range and an array field, combined.
		f := filter.And(filter.Eq("category", "billing"), filter.Gte("priority", 3), filter.Eq("tags", "t1"),
			filter.Lt("opened", time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)))
		rs, err = h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "ticket about billing", Mode: mode, TopK: 100, Filter: f})
		require.NoError(t, err)
		require.NotEmpty(t, rs, mode)
		for _, r := range rs {
			assert.True(t, f.Match(r.Metadata), "%s: %s %v", mode, r.DocumentKey, r.Metadata)
		}
	}
	// The updated text is found by its key's word.
	rs, err := h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "tk00003 second edition", Mode: SearchLexical, TopK: 1})
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.Equal(t, "rec-00003", rs[0].DocumentKey)
	assert.Contains(t, rs[0].Text, "second edition")

	// Delete by key (one unknown key).
	del, err := h.DeleteDocuments(ctx, src.ID, []string{"rec-00000", "rec-00001", "rec-00002", "no-such-key"})
	require.NoError(t, err)
	assert.Equal(t, 3, del.Deleted)
	assert.Equal(t, []string{"no-such-key"}, del.NotFound)
	_, err = h.GetDocumentByKey(ctx, src.ID, "rec-00001")
	require.ErrorIs(t, err, ErrNotFound)
	rs, err = h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "tk00001", Mode: SearchLexical})
	require.NoError(t, err)
	for _, r := range rs {
		assert.NotEqual(t, "rec-00001", r.DocumentKey)
	}

	// Page through everything, by source and by bot.
	left := n - 3
	for _, q := range []DocumentQuery{{SourceID: src.ID}, {BotID: bot.ID}, {}} {
		seen := map[string]bool{}
		q.Page = Page{Limit: 1000}
		pages := 0
		for {
			p, err := h.ListDocuments(ctx, q)
			require.NoError(t, err)
			pages++
			for _, d := range p.Items {
				require.False(t, seen[d.Key], "listed twice: %s", d.Key)
				seen[d.Key] = true
			}
			if p.NextCursor == "" {
				break
			}
			q.Page.Cursor = p.NextCursor
		}
		assert.Len(t, seen, left)
		assert.Equal(t, (left+999)/1000, pages)
	}
	p, err := h.ListDocuments(ctx, DocumentQuery{SourceID: src.ID, Filter: filter.Eq("category", "escalated"), Page: Page{Limit: 5}})
	require.NoError(t, err)
	assert.Len(t, p.Items, 5)
	assert.NotEmpty(t, p.NextCursor)

	got, err = h.GetSource(ctx, src.ID)
	require.NoError(t, err)
	assert.Equal(t, left, got.DocumentCount)
	assert.Equal(t, left, got.ChunkCount)

	// An Ingest of the documents source keeps the pushed documents.
	ires, err := h.Ingest(ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Zero(t, ires.Deleted)
	assert.Equal(t, left, ires.Documents)

	diff := diffIndex(t, e.c.store, e.vec, h.TenantID())
	assert.True(t, diff.missing == nil && diff.orphans == nil && diff.mislabelled == nil, diff.String())
	assert.Equal(t, left, diff.chunks)
}

func TestPushValidation(t *testing.T) {
	e := newIngestEnv(t)
	ctx := e.ctx
	h, bot := e.tenantWithBot(t, "valid")
	src := documentsSource(t, ctx, h, bot.ID)

	fieldOf := func(err error) []string {
		var ve *ValidationError
		require.ErrorAs(t, err, &ve)
		var out []string
		for _, f := range ve.Fields {
			out = append(out, f.Field)
		}
		return out
	}
	_, err := h.CreateSource(ctx, SourceParams{BotID: bot.ID, Name: "x", Type: SourceDocuments, Config: map[string]any{"content": "x"}})
	assert.Equal(t, []string{"config"}, fieldOf(err))

	_, err = h.UpsertDocuments(ctx, src.ID, []DocumentInput{
		{Key: "a", Text: "fine"},
		{Key: "", Text: "no key"},
		{Key: "a", Text: "again"},
		{Key: "b", Text: "  "},
		{Key: "c", Text: "x", Metadata: record.Metadata{"bad key": 1}},
		{Key: "d", Text: "x", Metadata: record.Metadata{MetadataEmbeddingModel: "mine"}},
		{Key: "e", Text: "x\xff"},
	})
	require.ErrorIs(t, err, ErrInvalidInput)
	assert.Equal(t, []string{"documents[1].key", "documents[2].key", "documents[3].text", "documents[4].metadata",
		"documents[5].metadata.embedding_model", "documents[6].text"}, fieldOf(err))

	many := make([]DocumentInput, MaxPushDocuments+1)
	_, err = h.UpsertDocuments(ctx, src.ID, many)
	assert.Equal(t, []string{"documents"}, fieldOf(err))
	assert.Contains(t, err.Error(), "split the push")

	big := strings.Repeat("word ", MaxDocumentTextBytes/5)
	_, err = h.UpsertDocuments(ctx, src.ID, []DocumentInput{{Key: "1", Text: big}, {Key: "2", Text: big}, {Key: "3", Text: big}, {Key: "4", Text: big}})
	assert.Equal(t, []string{"documents"}, fieldOf(err))
	assert.Contains(t, err.Error(), "bytes")

	// Nothing of the above was written.
	p, err := h.ListDocuments(ctx, DocumentQuery{SourceID: src.ID})
	require.NoError(t, err)
	assert.Empty(t, p.Items)

	// Only a documents source takes pushes.
	text := e.textSource(t, h, bot.ID, "T", "some text")
	_, err = h.UpsertDocuments(ctx, text.ID, []DocumentInput{{Key: "a", Text: "x"}})
	assert.Equal(t, []string{"source_id"}, fieldOf(err))

	// Filters are checked up front.
	_, err = h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "x", Filter: filter.Filter{Op: "like", Field: "a"}})
	assert.Equal(t, []string{"filter"}, fieldOf(err))
	_, err = h.Ask(ctx, AskRequest{BotID: bot.ID, Question: "x", Filter: filter.Eq("bad key", "v")})
	assert.Equal(t, []string{"filter.field"}, fieldOf(err))
	_, err = h.ListDocuments(ctx, DocumentQuery{Filter: filter.In("k")})
	assert.Equal(t, []string{"filter.in"}, fieldOf(err))
}

// TestPushTenantIsolation: another tenant can neither push into, read,
// nor delete a tenant's documents, nor find them with any filter.
func TestPushTenantIsolation(t *testing.T) {
	e := newIngestEnv(t)
	ctx := e.ctx
	hA, botA := e.tenantWithBot(t, "tenant-a")
	hB, botB := e.tenantWithBot(t, "tenant-b")
	srcA := documentsSource(t, ctx, hA, botA.ID)
	res, err := hA.UpsertDocuments(ctx, srcA.ID, []DocumentInput{pushRecord(1, "a"), pushRecord(2, "a")})
	require.NoError(t, err)
	docID := res.Documents[0].DocumentID

	_, err = hB.UpsertDocuments(ctx, srcA.ID, []DocumentInput{pushRecord(3, "b")})
	require.ErrorIs(t, err, ErrNotFound)
	_, err = hB.GetDocument(ctx, docID)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = hB.GetDocumentByKey(ctx, srcA.ID, "rec-00001")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = hB.ListDocuments(ctx, DocumentQuery{SourceID: srcA.ID})
	require.ErrorIs(t, err, ErrNotFound)
	p, err := hB.ListDocuments(ctx, DocumentQuery{Filter: filter.Exists("category")})
	require.NoError(t, err)
	assert.Empty(t, p.Items)
	require.ErrorIs(t, hB.DeleteDocument(ctx, docID), ErrNotFound)
	_, err = hB.DeleteDocuments(ctx, srcA.ID, []string{"rec-00001"})
	require.ErrorIs(t, err, ErrNotFound)
	rs, err := hB.Search(ctx, SearchRequest{BotID: botB.ID, Query: "ticket customer", Filter: filter.Exists("category")})
	require.NoError(t, err)
	assert.Empty(t, rs)

	// Tenant A still has both, and deletes one by ID.
	d, err := hA.GetDocument(ctx, docID)
	require.NoError(t, err)
	assert.Equal(t, "rec-00001", d.Key)
	require.NoError(t, hA.DeleteDocument(ctx, docID))
	require.ErrorIs(t, hA.DeleteDocument(ctx, docID), ErrNotFound)
	src, err := hA.GetSource(ctx, srcA.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, src.DocumentCount)
	diff := diffIndex(t, e.c.store, e.vec, hA.TenantID())
	assert.True(t, diff.missing == nil && diff.orphans == nil, diff.String())
	assert.Equal(t, 1, diff.vectors)
}

// TestSearchFilterStaleVector: a vector whose metadata no longer matches
// its document's (a metadata update stopped between the VectorStore and
// Storage) never yields a result the filter does not match.
func TestSearchFilterStaleVector(t *testing.T) {
	e := newIngestEnv(t)
	ctx := e.ctx
	h, bot := e.tenantWithBot(t, "stale")
	src := documentsSource(t, ctx, h, bot.ID)
	res, err := h.UpsertDocuments(ctx, src.ID, []DocumentInput{pushRecord(1, "a")})
	require.NoError(t, err)
	// The vector says "escalated", Storage says "shipping".
	require.NoError(t, e.vec.SetMetadata(ctx, vectorstore.Filter{TenantID: h.TenantID(), DocumentIDs: []string{res.Documents[0].DocumentID}},
		record.Metadata{"category": "escalated"}))
	rs, err := h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "ticket customer", Mode: SearchDense, Filter: filter.Eq("category", "escalated")})
	require.NoError(t, err)
	assert.Empty(t, rs, "Storage's metadata decides")
	rs, err = h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "ticket customer", Mode: SearchLexical, Filter: filter.Eq("category", "shipping")})
	require.NoError(t, err)
	assert.Len(t, rs, 1)
}

// TestPushWorker queues a push for a Worker: the documents travel in
// the job's payload.
func TestPushWorker(t *testing.T) {
	e := newIngestEnv(t)
	ctx := e.ctx
	h, bot := e.tenantWithBot(t, "worker")
	src := documentsSource(t, ctx, h, bot.ID)
	var docs []DocumentInput
	for i := range 50 {
		docs = append(docs, pushRecord(i, "queued"))
	}
	_, err := h.EnqueueUpsertDocuments(ctx, src.ID, []DocumentInput{{Key: "x"}})
	require.ErrorIs(t, err, ErrInvalidInput)
	j, err := h.EnqueueUpsertDocuments(ctx, src.ID, docs)
	require.NoError(t, err)
	assert.Equal(t, JobKindUpsertDocuments, j.Kind)
	w, err := e.c.NewWorker(WorkerConfig{})
	require.NoError(t, err)
	ok, err := w.RunOnce(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	j, err = h.GetJob(ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, JobDone, j.Status, j.LastError)
	d, err := h.GetDocumentByKey(ctx, src.ID, "rec-00049")
	require.NoError(t, err)
	assert.Equal(t, "shipping", d.Metadata["category"])
	s, err := h.GetSource(ctx, src.ID)
	require.NoError(t, err)
	assert.Equal(t, 50, s.DocumentCount)
}

// TestDeleteTenantSQLiteLocal erases a tenant with pushed and ingested
// documents, jobs and a conversation; nothing of it remains in Storage or
// the VectorStore, and the other tenant is untouched.
func TestDeleteTenantSQLiteLocal(t *testing.T) {
	e := newIngestEnv(t)
	checkDeleteTenant(t, e.c, e.c.store, e.vec)
}

// checkDeleteTenant is the tenant erase check over one Storage and
// VectorStore pair.
func checkDeleteTenant(t *testing.T, c *Client, st storage.Storage, vs vectorstore.VectorStore) {
	ctx := t.Context()
	mk := func(slug string) (*TenantHandle, Bot, Source) {
		b, err := c.CreateTenant(ctx, CreateTenantParams{Name: slug, Slug: slug, OwnerEmail: "o@" + slug + ".example"})
		require.NoError(t, err)
		h := c.Tenant(b.Tenant.ID)
		bot, err := h.CreateBot(ctx, BotParams{Name: "bot"})
		require.NoError(t, err)
		src, err := h.CreateSource(ctx, SourceParams{BotID: bot.ID, Name: "tickets", Type: SourceDocuments})
		require.NoError(t, err)
		var docs []DocumentInput
		for i := range 30 {
			docs = append(docs, pushRecord(i, slug))
		}
		_, err = h.UpsertDocuments(ctx, src.ID, docs)
		require.NoError(t, err)
		txt, err := h.CreateSource(ctx, SourceParams{BotID: bot.ID, Name: "note", Type: SourceText, Config: map[string]any{"content": "a note of " + slug}})
		require.NoError(t, err)
		_, err = h.Ingest(ctx, txt.ID, IngestOptions{})
		require.NoError(t, err)
		_, err = h.EnqueueIngest(ctx, txt.ID)
		require.NoError(t, err)
		_, err = h.CreateConversation(ctx, CreateConversationParams{BotID: bot.ID})
		require.NoError(t, err)
		return h, bot, src
	}
	slug := fmt.Sprintf("erase-%d", time.Now().UnixNano()%1e9)
	hA, _, _ := mk(slug + "-a")
	hB, botB, _ := mk(slug + "-b")
	tenantA := hA.TenantID()

	require.NoError(t, c.DeleteTenant(ctx, tenantA))
	requireTenantGone(t, st, vs, tenantA)
	// Again: nothing left, ErrNotFound says so.
	require.ErrorIs(t, c.DeleteTenant(ctx, tenantA), ErrNotFound)
	require.ErrorIs(t, c.DeleteTenant(ctx, "never-existed"), ErrNotFound)
	require.ErrorIs(t, c.DeleteTenant(ctx, ""), ErrInvalidInput)

	// Tenant B is untouched.
	_, err := c.GetTenant(ctx, hB.TenantID())
	require.NoError(t, err)
	rs, err := hB.Search(ctx, SearchRequest{BotID: botB.ID, Query: "ticket customer", TopK: 5})
	require.NoError(t, err)
	assert.Len(t, rs, 5)
	d := diffIndex(t, st, vs, hB.TenantID())
	assert.Equal(t, 31, d.chunks)
	assert.Equal(t, 31, d.vectors)

	// UpdateTenant.
	name, taken := "Renamed", slug+"-a"
	tn, err := c.UpdateTenant(ctx, hB.TenantID(), TenantUpdate{Name: &name})
	require.NoError(t, err)
	assert.Equal(t, "Renamed", tn.Name)
	tn, err = c.UpdateTenant(ctx, hB.TenantID(), TenantUpdate{Slug: &taken}) // free again
	require.NoError(t, err)
	assert.Equal(t, taken, tn.Slug)
	bad := "No Slug"
	_, err = c.UpdateTenant(ctx, hB.TenantID(), TenantUpdate{Slug: &bad})
	require.ErrorIs(t, err, ErrInvalidInput)
	_, err = c.UpdateTenant(ctx, tenantA, TenantUpdate{Name: &name})
	require.ErrorIs(t, err, ErrNotFound)
}

// requireTenantGone checks over Storage and the VectorStore that nothing
// of the tenant remains.
func requireTenantGone(t *testing.T, st storage.Storage, vs vectorstore.VectorStore, tenantID string) {
	t.Helper()
	ctx := t.Context()
	_, err := st.GetTenant(ctx, tenantID)
	require.ErrorIs(t, err, ErrNotFound)
	refs, err := st.ScanChunks(ctx, tenantID, "", 10)
	require.NoError(t, err)
	assert.Empty(t, refs, "chunks left")
	for _, list := range []func() (int, error){
		func() (int, error) { x, err := st.ListUsers(ctx, tenantID); return len(x), err },
		func() (int, error) { x, err := st.ListAPITokens(ctx, tenantID); return len(x), err },
		func() (int, error) { x, err := st.ListBots(ctx, tenantID); return len(x), err },
		func() (int, error) { x, err := st.ListSources(ctx, tenantID, ""); return len(x), err },
		func() (int, error) { x, err := st.ListJobs(ctx, tenantID, ""); return len(x), err },
		func() (int, error) {
			x, _, err := st.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: tenantID}, storage.Page{Limit: 10})
			return len(x), err
		},
	} {
		n, err := list()
		if err == nil {
			assert.Zero(t, n, "records left")
		} else {
			require.ErrorIs(t, err, ErrNotFound)
		}
	}
	if docs, chunks, err := st.CountContent(ctx, tenantID); err == nil {
		assert.Zero(t, docs, "documents counted")
		assert.Zero(t, chunks, "chunks counted")
	} else {
		require.ErrorIs(t, err, ErrNotFound)
	}
	recs, _, err := vs.List(ctx, vectorstore.Filter{TenantID: tenantID}, "", 10)
	require.NoError(t, err)
	assert.Empty(t, recs, "vectors left")
}

// TestReconcileMetadata: vectors written before vectors carried metadata
// (simulated by clearing it) are not found by a filtered dense search
// until Reconcile with Metadata writes Storage's metadata to them; the
// dry run only counts.
func TestReconcileMetadata(t *testing.T) {
	e := newIngestEnv(t)
	ctx := e.ctx
	h, bot := e.tenantWithBot(t, "upgrade")
	src := documentsSource(t, ctx, h, bot.ID)
	pushBatches(t, ctx, h, src.ID, 0, 30, 30, "a")
	docs, err := h.ListDocuments(ctx, DocumentQuery{SourceID: src.ID})
	require.NoError(t, err)
	require.Len(t, docs.Items, 30)
	for _, d := range docs.Items {
		require.NoError(t, e.vec.SetMetadata(ctx, vectorstore.Filter{TenantID: h.TenantID(), DocumentIDs: []string{d.ID}}, nil))
	}
	f := filter.Eq("category", pushCategories[1])
	search := func() []SearchResult {
		rs, err := h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "ticket customer", Mode: SearchDense, TopK: 30, Filter: f})
		require.NoError(t, err)
		for _, r := range rs {
			assert.True(t, f.Match(r.Metadata), r.DocumentKey)
		}
		return rs
	}
	require.Empty(t, search(), "vectors without metadata are not found by a filtered dense search")

	rep, err := h.Reconcile(ctx, ReconcileOptions{Metadata: true, DryRun: true, PageSize: 7})
	require.NoError(t, err)
	assert.Equal(t, 30, rep.MetadataDocuments)
	require.Empty(t, search(), "a dry run writes nothing")

	rep, err = h.Reconcile(ctx, ReconcileOptions{Metadata: true, PageSize: 7})
	require.NoError(t, err)
	assert.Equal(t, 30, rep.MetadataDocuments)
	assert.True(t, rep.Consistent())
	want := 0
	for _, d := range docs.Items {
		if f.Match(d.Metadata) {
			want++
		}
	}
	require.Positive(t, want)
	assert.Len(t, search(), want)
}
