package minirag

// End-to-end tests of issue 10 ("Done when") on the scale-out stacks:
// PostgreSQL + pgvector (PGlite), PostgreSQL + Qdrant (the in-process
// internal/qdrantfake) and SQLite + Qdrant. A host mirrors a table of a
// few thousand records into a bot in batches, updates records by key (new
// text; metadata only), deletes some by key, filters answers by metadata
// in every search mode, pages through the documents by source and bot,
// renames a tenant and erases it. The push test helpers (pushRecord,
// pushBatches, documentsSource, requireTenantGone, checkDeleteTenant)
// are push_test.go's; the SQLite + local run of the same flow is
// TestPushMirrorTable there. The tests live in package minirag (not with
// e2e_postgres_test.go and e2e_qdrant_test.go in minirag_test) to reuse
// those helpers. PostgreSQL runs skip only when MINIRAG_REQUIRE_SERVICES
// is unset and no server answers (internal/testsvc).

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/internal/qdrantfake"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/pgvector"
	"github.com/minirag/minirag/vectorstore/qdrant"
)

// e2ePushRecords is the size of the mirrored table (1,000 with -short).
func e2ePushRecords() int {
	if testing.Short() {
		return 1000
	}
	return 3000
}

func TestEndToEndPushPostgresPGVector(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pgURL, vecURL := testsvc.PostgresURL(t), testsvc.PGVectorURL(t)
	st, err := postgres.New(ctx, testsvc.Pool(t, testsvc.PoolConfig(t, pgURL, 4)), postgres.WithSchema(testsvc.Schema(t, pgURL)))
	require.NoError(t, err)
	vs, err := pgvector.New(ctx, testsvc.Pool(t, testsvc.PoolConfig(t, vecURL, 2)), pgvector.Options{Schema: testsvc.Schema(t, vecURL)})
	require.NoError(t, err)
	runPushEndToEnd(t, st, vs, false)
}

func TestEndToEndPushPostgresQdrant(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pgURL := testsvc.PostgresURL(t)
	st, err := postgres.New(ctx, testsvc.Pool(t, testsvc.PoolConfig(t, pgURL, 4)), postgres.WithSchema(testsvc.Schema(t, pgURL)))
	require.NoError(t, err)
	runPushEndToEnd(t, st, e2ePushQdrant(t, false), true)
}

func TestEndToEndPushSQLiteQdrant(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "push.db"))
	require.NoError(t, err)
	runPushEndToEnd(t, st, e2ePushQdrant(t, true), false)
}

// e2ePushQdrant is a Qdrant store on the in-process server: in strict
// mode (the default) with payload indexes on the fields the filters
// name, or without strict mode (free-form filters).
func e2ePushQdrant(t *testing.T, noStrict bool) vectorstore.VectorStore {
	fake := qdrantfake.Start(t, qdrantfake.Options{})
	opts := qdrant.Options{CollectionPrefix: "e2epush_", NoStrictMode: noStrict}
	if !noStrict {
		opts.MetadataFields = []qdrant.MetadataField{
			{Name: "category", Type: qdrant.MetadataKeyword},
			{Name: "tags", Type: qdrant.MetadataKeyword},
			{Name: "priority", Type: qdrant.MetadataNumber},
			{Name: "opened", Type: qdrant.MetadataTime},
		}
	}
	vs, err := qdrant.New(fake.Client(t), opts)
	require.NoError(t, err)
	return vs
}

// e2eFilters are the filters searched and listed, each with the least
// number of documents of tenant A it must match after the updates.
var e2eFilters = []struct {
	name  string
	f     filter.Filter
	min   int
	mixed bool // a string value for a number field
}{
	{"eq (metadata-only update)", filter.Eq("category", "escalated"), 10, false},
	{"and: eq, gte, array eq, time lt", filter.And(filter.Eq("category", "billing"), filter.Gte("priority", 3),
		filter.Eq("tags", "t1"), filter.Lt("opened", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))), 1, false},
	{"in numbers", filter.And(filter.Eq("category", "shipping"), filter.In("priority", 0, 4)), 1, false},
	{"or with between", filter.Or(filter.Eq("category", "returns"),
		filter.Between("opened", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC))), 1, false},
	{"not exists (removed field)", filter.Not(filter.Exists("tags")), 5, false},
	{"not eq matches a missing field", filter.Not(filter.Eq("tags", "all")), 5, false},
	{"exists", filter.Exists("category"), 1, false},
	{"types never mix", filter.Eq("priority", "2"), 0, true},
	{"array any element", filter.In("tags", "t2", "nope"), 1, false},
}

// runPushEndToEnd runs the flow over st and vs. strict says vs rejects a
// filter whose value types its payload indexes cannot serve (Qdrant's
// strict mode: a string Eq on a number field is ErrInvalidInput in the
// modes that search vectors).
func runPushEndToEnd(t *testing.T, st storage.Storage, vs vectorstore.VectorStore, strict bool) {
	ctx := t.Context()
	hash, err := hashing.New(hashing.Config{Dimensions: 256})
	require.NoError(t, err)
	emb := &countingEmbedder{Embedder: hash}
	c, err := New(Config{Storage: st, VectorStore: vs, Embedder: emb})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	mk := func(slug string) (*TenantHandle, Bot, Source) {
		b, err := c.CreateTenant(ctx, CreateTenantParams{Name: slug, Slug: slug, OwnerEmail: "o@" + slug + ".example"})
		require.NoError(t, err)
		h := c.Tenant(b.Tenant.ID)
		bot, err := h.CreateBot(ctx, BotParams{Name: "bot of " + slug})
		require.NoError(t, err)
		return h, bot, documentsSource(t, ctx, h, bot.ID)
	}
	hA, botA, srcA := mk("push-a")
	hB, botB, srcB := mk("push-b")
	n := e2ePushRecords()

	// Mirror the table, one call per batch; tenant B gets records with
	// the same keys, words and metadata (a leak would show).
	sum := pushBatches(t, ctx, hA, srcA.ID, 0, n, 500, "first")
	assert.Equal(t, n, sum.Added)
	assert.Equal(t, n, sum.Embedded, "one chunk per record")
	assert.EqualValues(t, n, emb.texts.Load())
	sumB := pushBatches(t, ctx, hB, srcB.ID, 0, 200, 200, "other")
	assert.Equal(t, 200, sumB.Added)

	// The same batch again: nothing written, nothing embedded.
	emb.reset()
	sum = pushBatches(t, ctx, hA, srcA.ID, 500, 1000, 500, "first")
	assert.Equal(t, 500, sum.Unchanged)
	assert.Zero(t, emb.texts.Load())

	// Update by key: new text for 0..9; metadata only for 10..19 (a new
	// category) and 20..24 (the tags field removed): nothing embedded.
	var docs []DocumentInput
	for i := range 10 {
		docs = append(docs, pushRecord(i, "second"))
	}
	for i := 10; i < 25; i++ {
		d := pushRecord(i, "first")
		if i < 20 {
			d.Metadata["category"] = "escalated"
		} else {
			delete(d.Metadata, "tags")
		}
		docs = append(docs, d)
	}
	res, err := hA.UpsertDocuments(ctx, srcA.ID, docs)
	require.NoError(t, err)
	assert.Equal(t, 10, res.Updated)
	assert.Equal(t, 15, res.MetadataUpdated)
	assert.Equal(t, 10, res.Embedded)
	assert.EqualValues(t, 10, emb.texts.Load(), "metadata-only updates embed nothing")
	d, err := hA.GetDocumentByKey(ctx, srcA.ID, "rec-00012")
	require.NoError(t, err)
	assert.Equal(t, "escalated", d.Metadata["category"])
	assert.EqualValues(t, 2, d.Metadata["priority"])
	assert.Equal(t, "2026-01-01T12:00:00.000000Z", d.Metadata["opened"])
	d, err = hA.GetDocumentByKey(ctx, srcA.ID, "rec-00021")
	require.NoError(t, err)
	assert.NotContains(t, d.Metadata, "tags")

	// Delete by key.
	del, err := hA.DeleteDocuments(ctx, srcA.ID, []string{"rec-00000", "rec-00001", "rec-00002", "no-such-key"})
	require.NoError(t, err)
	assert.Equal(t, 3, del.Deleted)
	assert.Equal(t, []string{"no-such-key"}, del.NotFound)
	_, err = hA.GetDocumentByKey(ctx, srcA.ID, "rec-00001")
	require.ErrorIs(t, err, ErrNotFound)
	left := n - 3

	// The stored documents of A, by ID, straight from Storage: what
	// every filter is checked against.
	stored := map[string]Document{}
	var page storage.Page
	page.Limit = 1000
	for {
		ds, next, err := st.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: hA.TenantID()}, page)
		require.NoError(t, err)
		for _, d := range ds {
			stored[d.ID] = d
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	require.Len(t, stored, left)

	// Filtered search in every mode: each result is a stored document of
	// A that the filter matches (filter.Match); when the filter matches
	// at most TopK documents, all of them are found (every record holds
	// the query's words).
	const topK = 50
	for _, tc := range e2eFilters {
		var want []string
		for id, d := range stored {
			if tc.f.Match(d.Metadata) {
				want = append(want, id)
			}
		}
		require.GreaterOrEqual(t, len(want), tc.min, tc.name)
		if tc.min == 0 {
			require.Empty(t, want, tc.name)
		}
		for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
			rs, err := hA.Search(ctx, SearchRequest{BotID: botA.ID, Query: "ticket customer reports issue", Mode: mode, TopK: topK, Filter: tc.f})
			if strict && tc.mixed && mode != SearchLexical {
				require.ErrorIs(t, err, ErrInvalidInput, "%s (%s)", tc.name, mode)
				assert.Contains(t, err.Error(), "meta.priority")
				continue
			}
			require.NoError(t, err, "%s (%s)", tc.name, mode)
			got := map[string]bool{}
			for _, r := range rs {
				d, ok := stored[r.DocumentID]
				require.True(t, ok, "%s (%s): %s is not a stored document of A", tc.name, mode, r.DocumentID)
				assert.Equal(t, srcA.ID, r.SourceID)
				assert.True(t, tc.f.Match(d.Metadata), "%s (%s): %s %v", tc.name, mode, d.Key, d.Metadata)
				assert.Equal(t, d.Metadata, r.Metadata, "%s (%s): the result's metadata is the stored one", tc.name, mode)
				got[r.DocumentID] = true
			}
			if len(want) <= topK {
				assert.Len(t, got, len(want), "%s (%s): every matching document is found", tc.name, mode)
			} else {
				assert.Len(t, rs, topK, "%s (%s)", tc.name, mode)
			}
		}
		// The documents list under the same filter: exactly want.
		var listed []string
		q := DocumentQuery{SourceID: srcA.ID, Filter: tc.f, Page: Page{Limit: 700}}
		for {
			p, err := hA.ListDocuments(ctx, q)
			require.NoError(t, err, tc.name)
			for _, d := range p.Items {
				listed = append(listed, d.ID)
			}
			if p.NextCursor == "" {
				break
			}
			q.Page.Cursor = p.NextCursor
		}
		slices.Sort(listed)
		slices.Sort(want)
		assert.Equal(t, want, listed, "%s: listed", tc.name)
	}

	// A record's own text finds it first in every mode under a filter
	// it matches, and not at all under one it does not (updated,
	// metadata-updated and untouched records alike).
	for _, i := range []int{5, 12, 21, 777, n - 1} {
		key := fmt.Sprintf("rec-%05d", i)
		d, err := hA.GetDocumentByKey(ctx, srcA.ID, key)
		require.NoError(t, err)
		edition := "first"
		if i < 10 {
			edition = "second"
		}
		text := pushRecord(i, edition).Text
		cat := d.Metadata["category"]
		for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
			rs, err := hA.Search(ctx, SearchRequest{BotID: botA.ID, Query: text, Mode: mode, TopK: 5, Filter: filter.Eq("category", cat)})
			require.NoError(t, err)
			require.NotEmpty(t, rs, "%s (%s)", key, mode)
			assert.Equal(t, key, rs[0].DocumentKey, "%s (%s)", key, mode)
			rs, err = hA.Search(ctx, SearchRequest{BotID: botA.ID, Query: text, Mode: mode, TopK: 20, Filter: filter.Not(filter.Eq("category", cat))})
			require.NoError(t, err)
			for _, r := range rs {
				assert.NotEqual(t, key, r.DocumentKey, "%s (%s)", key, mode)
				assert.NotEqual(t, cat, r.Metadata["category"], "%s (%s)", key, mode)
			}
		}
	}
	// The deleted records are found in no mode.
	for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
		rs, err := hA.Search(ctx, SearchRequest{BotID: botA.ID, Query: pushRecord(1, "first").Text, Mode: mode, TopK: 20})
		require.NoError(t, err)
		for _, r := range rs {
			assert.NotContains(t, []string{"rec-00000", "rec-00001", "rec-00002"}, r.DocumentKey, mode)
		}
	}

	// Tenant B sees none of A's documents with any filter, and A none of
	// B's.
	for _, tc := range e2eFilters {
		for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
			rs, err := hB.Search(ctx, SearchRequest{BotID: botB.ID, Query: "ticket customer reports issue", Mode: mode, TopK: topK, Filter: tc.f})
			if strict && tc.mixed && mode != SearchLexical {
				require.ErrorIs(t, err, ErrInvalidInput)
				continue
			}
			require.NoError(t, err)
			for _, r := range rs {
				assert.Equal(t, srcB.ID, r.SourceID, "%s (%s)", tc.name, mode)
				assert.Contains(t, r.Text, "other edition")
				assert.True(t, tc.f.Match(r.Metadata), "%s (%s)", tc.name, mode)
			}
		}
	}
	_, err = hB.ListDocuments(ctx, DocumentQuery{SourceID: srcA.ID})
	require.ErrorIs(t, err, ErrNotFound)
	_, err = hB.ListDocuments(ctx, DocumentQuery{BotID: botA.ID})
	require.ErrorIs(t, err, ErrNotFound)

	// Page through everything, by source, by bot and the whole tenant.
	for _, q := range []DocumentQuery{{SourceID: srcA.ID}, {BotID: botA.ID}, {}} {
		seen := map[string]bool{}
		q.Page = Page{Limit: 400}
		pages, prev := 0, ""
		for {
			p, err := hA.ListDocuments(ctx, q)
			require.NoError(t, err)
			pages++
			for _, d := range p.Items {
				require.False(t, seen[d.ID], "listed twice: %s", d.Key)
				require.Contains(t, stored, d.ID)
				require.Greater(t, d.Key, prev, "ordered by key")
				seen[d.ID], prev = true, d.Key
			}
			if p.NextCursor == "" {
				break
			}
			q.Page.Cursor = p.NextCursor
		}
		assert.Len(t, seen, left, "%+v", q)
		assert.Equal(t, (left+399)/400, pages)
	}
	got, err := hA.GetSource(ctx, srcA.ID)
	require.NoError(t, err)
	assert.Equal(t, left, got.DocumentCount)
	assert.Equal(t, left, got.ChunkCount)
	diff := diffIndex(t, st, vs, hA.TenantID())
	assert.True(t, diff.missing == nil && diff.orphans == nil && diff.mislabelled == nil, diff.String())
	assert.Equal(t, left, diff.chunks)

	// Rename tenant A, then erase it: nothing of it remains in Storage or
	// the VectorStore; B is intact.
	name := "Renamed A"
	tn, err := c.UpdateTenant(ctx, hA.TenantID(), TenantUpdate{Name: &name})
	require.NoError(t, err)
	assert.Equal(t, name, tn.Name)
	tn, err = c.GetTenant(ctx, hA.TenantID())
	require.NoError(t, err)
	assert.Equal(t, name, tn.Name)
	require.NoError(t, c.DeleteTenant(ctx, hA.TenantID()))
	requireTenantGone(t, st, vs, hA.TenantID())
	_, err = hA.GetDocumentByKey(ctx, srcA.ID, "rec-00100")
	require.ErrorIs(t, err, ErrNotFound)

	docsB, chunksB, err := st.CountContent(ctx, hB.TenantID())
	require.NoError(t, err)
	assert.Equal(t, 200, docsB)
	assert.Equal(t, 200, chunksB)
	diff = diffIndex(t, st, vs, hB.TenantID())
	assert.True(t, diff.missing == nil && diff.orphans == nil && diff.mislabelled == nil, diff.String())
	assert.Equal(t, 200, diff.vectors)
	for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
		rs, err := hB.Search(ctx, SearchRequest{BotID: botB.ID, Query: pushRecord(7, "other").Text, Mode: mode, TopK: 3,
			Filter: filter.Eq("category", pushRecord(7, "").Metadata["category"])})
		require.NoError(t, err)
		require.NotEmpty(t, rs, mode)
		assert.Equal(t, "rec-00007", rs[0].DocumentKey, mode)
	}

	// The erase over a tenant with every kind of record (ingested
	// sources, jobs, a conversation), and UpdateTenant's errors.
	checkDeleteTenant(t, c, st, vs)
}
