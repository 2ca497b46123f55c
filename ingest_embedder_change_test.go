package minirag

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/loader"
)

// TestIngestAfterEmbedderChange: unchanged documents are embedded again
// when the embedder (the vector space) changed since they were written,
// and only then.
func TestIngestAfterEmbedderChange(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "data")
	docs := t.TempDir()
	writeFiles(t, docs, map[string]string{
		"hours.md":   "# Hours\n\nThe library opens at nine and closes at six on weekdays.\n",
		"loans.md":   "# Loans\n\nBooks are lent for three weeks and can be renewed twice online.\n",
		"printer.md": "# Printing\n\nThe printer on the first floor takes library cards; black and white costs ten cents a page.\n",
	})
	newEmb := func(cfg hashing.Config) *countingEmbedder {
		h, err := hashing.New(cfg)
		require.NoError(t, err)
		return &countingEmbedder{Embedder: h}
	}
	embA := newEmb(hashing.Config{Dimensions: 128})
	embB := newEmb(hashing.Config{Dimensions: 96, NoBigrams: true})
	require.NotEqual(t, embA.Model(), embB.Model())

	c, err := Open(ctx, dir, WithEmbedder(embA))
	require.NoError(t, err)
	b, err := c.CreateTenant(ctx, CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "o@acme.example"})
	require.NoError(t, err)
	h := c.Tenant(b.Tenant.ID)
	bot, err := h.CreateBot(ctx, BotParams{Name: "Helper"})
	require.NoError(t, err)
	src, err := h.CreateSource(ctx, SourceParams{BotID: bot.ID, Name: "docs", Type: SourceFile, Config: loader.FileConfig{Path: docs}})
	require.NoError(t, err)
	first, err := h.Ingest(ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	require.Equal(t, 3, first.Added)
	require.Positive(t, first.Embedded)
	stored, err := c.Storage().ListDocuments(ctx, b.Tenant.ID, src.ID)
	require.NoError(t, err)
	require.Len(t, stored, 3)
	for _, d := range stored {
		assert.Equal(t, embA.Model(), d.Metadata[MetadataEmbeddingModel], d.Key)
		assert.Equal(t, "128", d.Metadata[MetadataEmbeddingDims], d.Key)
		assert.Equal(t, "markdown", d.Metadata["format"], "the loader's metadata is kept")
	}
	require.NoError(t, c.Close())

	// Reopened with the same embedder: nothing to embed.
	c, err = Open(ctx, dir, WithEmbedder(embA))
	require.NoError(t, err)
	embA.reset()
	same, err := c.Tenant(b.Tenant.ID).Ingest(ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, same.Unchanged)
	assert.Zero(t, same.Embedded)
	assert.Zero(t, embA.texts.Load())
	require.NoError(t, c.Close())

	// Reopened with another embedder: its index is empty, so every
	// document is embedded again although no text changed.
	c, err = Open(ctx, dir, WithEmbedder(embB))
	require.NoError(t, err)
	defer c.Close()
	h = c.Tenant(b.Tenant.ID)
	rs, err := h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "when does the library open", Mode: SearchDense})
	require.NoError(t, err)
	assert.Empty(t, rs, "the new model's index starts empty")

	embB.reset() // the query's embedding
	again, err := h.Ingest(ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, again.Updated)
	assert.Zero(t, again.Unchanged)
	assert.Equal(t, first.Chunks, again.Embedded, "every chunk is embedded in the new space")
	assert.Equal(t, int64(first.Chunks), embB.texts.Load())
	assert.Zero(t, embA.texts.Load(), "the old embedder is not used")
	stored, err = c.Storage().ListDocuments(ctx, b.Tenant.ID, src.ID)
	require.NoError(t, err)
	for _, d := range stored {
		assert.Equal(t, embB.Model(), d.Metadata[MetadataEmbeddingModel], d.Key)
		assert.Equal(t, strconv.Itoa(embB.Dimensions()), d.Metadata[MetadataEmbeddingDims], d.Key)
	}
	rs, err = h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "when does the library open", Mode: SearchDense})
	require.NoError(t, err)
	require.NotEmpty(t, rs)
	assert.Equal(t, "hours.md", filepath.Base(rs[0].URI))

	// And again: nothing changed, nothing is embedded.
	embB.reset()
	last, err := h.Ingest(ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, last.Unchanged)
	assert.Zero(t, last.Embedded)
	assert.Zero(t, embB.texts.Load())
}

// TestIngestRecordsEmbeddingSpace: each written document records the
// embedder's model and vector size.
func TestIngestRecordsEmbeddingSpace(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	s := e.textSource(t, h, bot.ID, "Kitchen", "The espresso machine needs descaling every Friday.")
	_, err := h.Ingest(e.ctx, s.ID, IngestOptions{})
	require.NoError(t, err)
	docs, err := e.c.Storage().ListDocuments(e.ctx, h.TenantID(), s.ID)
	require.NoError(t, err)
	require.Len(t, docs, 1)
	assert.Equal(t, e.emb.Model(), docs[0].Metadata[MetadataEmbeddingModel])
	assert.Equal(t, "256", docs[0].Metadata[MetadataEmbeddingDims])

	// A document stored without the keys (written before they existed)
	// is embedded again once.
	d := docs[0]
	delete(d.Metadata, MetadataEmbeddingModel)
	chunks, err := e.c.Storage().ListChunks(e.ctx, h.TenantID(), d.ID)
	require.NoError(t, err)
	_, err = e.c.Storage().PutDocument(e.ctx, d, chunks)
	require.NoError(t, err)
	res, err := h.Ingest(e.ctx, s.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Updated)
	res, err = h.Ingest(e.ctx, s.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Unchanged)
	assert.Zero(t, res.Embedded)
}
