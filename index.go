package minirag

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/minirag/minirag/chunk"
	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// This file holds what ties the VectorStore to Storage outside an
// ingestion run: the index's preparation, embedding stored chunks, and
// the vectors' side of deleting and moving sources and bots. Storage
// decides what exists; the vectors follow (see doc.go, "Crash safety").

// ingestRuntime is the Client's lazily prepared ingestion state: the
// vector store's Init and the default chunkers. Its zero value is ready.
type ingestRuntime struct {
	mu        sync.Mutex
	vecReady  bool
	space     vectorstore.Space // the VectorStore's space, once vecReady
	chunkOnce sync.Once
	text, md  chunk.Chunker
	chunkErr  error

	// ready is space once vecReady, for readers that must not wait for
	// an Init in progress (the minirag.vectorstore.records gauge).
	ready atomic.Pointer[vectorstore.Space]
}

// chunkers returns the chunker of plain text and of markdown.
func (c *Client) chunkers() (text, md chunk.Chunker, err error) {
	r := &c.rt
	r.chunkOnce.Do(func() {
		switch ch := c.chunk.(type) {
		case nil:
			opts := chunk.Options{MaxTokens: chunk.DefaultMaxTokens, Overlap: chunk.DefaultOverlap}
			if r.text, r.chunkErr = chunk.NewTokenChunker(opts); r.chunkErr == nil {
				r.md, r.chunkErr = chunk.NewMarkdownChunker(opts)
			}
		case *chunk.TokenChunker:
			r.text = ch
			r.md, r.chunkErr = chunk.NewMarkdownChunker(ch.Options())
		case *chunk.MarkdownChunker:
			r.md = ch
			r.text, r.chunkErr = chunk.NewTokenChunker(ch.Options())
		default:
			r.text, r.md = ch, ch
		}
		if r.chunkErr != nil {
			r.chunkErr = fmt.Errorf("minirag: chunker: %w", r.chunkErr)
		}
	})
	return r.text, r.md, r.chunkErr
}

// prober is an Embedder that can learn its vector size (embed/openai).
type prober interface {
	Probe(ctx context.Context) (int, error)
}

// ensureIndex checks that the Client has a VectorStore and an Embedder and
// initializes the store for the embedder's space once.
func (c *Client) ensureIndex(ctx context.Context) error {
	if c.vec == nil || c.emb == nil {
		return fmt.Errorf("minirag: ingestion and dense search need Config.VectorStore and Config.Embedder")
	}
	r := &c.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.vecReady {
		return nil
	}
	dims := c.emb.Dimensions()
	if dims <= 0 {
		if p, ok := c.emb.(prober); ok {
			d, err := p.Probe(ctx)
			if err != nil {
				return fmt.Errorf("minirag: learn the embedding size: %w", err)
			}
			dims = d
		}
	}
	space := vectorstore.Space{Model: c.emb.Model(), Dims: dims}
	if err := c.vec.Init(ctx, space); err != nil {
		return fmt.Errorf("minirag: init vector store: %w", err)
	}
	r.space = space
	r.vecReady = true
	r.ready.Store(&space)
	return nil
}

// indexSpace returns the embedding space of the index; ensureIndex must
// have succeeded.
func (c *Client) indexSpace() vectorstore.Space {
	c.rt.mu.Lock()
	defer c.rt.mu.Unlock()
	return c.rt.space
}

// embedTexts embeds texts in one call and checks the answer: one vector
// per text, each of the index's size.
func (c *Client) embedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	vecs, err := c.emb.Embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(texts) {
		return nil, fmt.Errorf("%w: %d vectors for %d texts", embed.ErrBadResponse, len(vecs), len(texts))
	}
	dims := c.indexSpace().Dims
	for _, v := range vecs {
		if len(v) != dims {
			return nil, fmt.Errorf("%w: a vector of %d dimensions, want %d", embed.ErrBadResponse, len(v), dims)
		}
	}
	return vecs, nil
}

// upsertChunks embeds stored chunks' texts, DefaultEmbedBatchSize at a
// time, and upserts their vectors under the chunks' IDs, labelled with
// the bot, source and document Storage has for them and their
// document's metadata. Upserting replaces a vector in place, so a chunk
// is never without one.
func (c *Client) upsertChunks(ctx context.Context, chunks []record.Chunk) error {
	if len(chunks) == 0 {
		return nil
	}
	meta, err := c.documentsMetadata(ctx, chunks[0].TenantID, chunks)
	if err != nil {
		return err
	}
	for start := 0; start < len(chunks); start += DefaultEmbedBatchSize {
		part := chunks[start:min(start+DefaultEmbedBatchSize, len(chunks))]
		texts := make([]string, len(part))
		for i := range part {
			texts[i] = part[i].Text
		}
		vecs, err := c.embedTexts(ctx, texts)
		if err != nil {
			return failedAt(kindEmbed, err)
		}
		recs := make([]vectorstore.Record, len(part))
		for i := range part {
			recs[i] = chunkRecord(part[i], vecs[i], meta[part[i].DocumentID])
		}
		if err := c.vec.Upsert(ctx, recs); err != nil {
			return failedAt(kindVectors, err)
		}
	}
	return nil
}

// documentsMetadata returns the metadata of the chunks' documents, by
// document ID.
func (c *Client) documentsMetadata(ctx context.Context, tenantID string, chunks []record.Chunk) (map[string]record.Metadata, error) {
	var ids []string
	seen := map[string]bool{}
	for _, ch := range chunks {
		if !seen[ch.DocumentID] {
			seen[ch.DocumentID] = true
			ids = append(ids, ch.DocumentID)
		}
	}
	docs, err := c.store.GetDocuments(ctx, tenantID, ids)
	if err != nil {
		return nil, failedAt(kindStorage, fmt.Errorf("get documents: %w", err))
	}
	out := make(map[string]record.Metadata, len(docs))
	for _, d := range docs {
		out[d.ID] = d.Metadata
	}
	return out, nil
}

// hasIndex reports whether the Client keeps vectors.
func (c *Client) hasIndex() bool { return c.vec != nil && c.emb != nil }

// deleteSourcesVectors removes the vectors of sources, after Storage
// deleted them (a stop before it leaves vectors without chunks, which
// searches drop and Reconcile deletes).
func (c *Client) deleteSourcesVectors(ctx context.Context, tenantID string, sourceIDs []string) error {
	if !c.hasIndex() || len(sourceIDs) == 0 {
		return nil
	}
	if err := c.ensureIndex(ctx); err != nil {
		return err
	}
	if err := c.vec.Delete(ctx, vectorstore.Filter{TenantID: tenantID, SourceIDs: sourceIDs}); err != nil {
		return fmt.Errorf("minirag: delete vectors of deleted sources: %w", err)
	}
	return nil
}

// moveSourceVectors relabels the vectors of a source's chunks with the
// bot Storage now has for the source (after it moved to another bot,
// which Storage did first, in one transaction, moving the documents and
// chunks with it). It streams the source's vectors and, for each page,
// embeds again from the stored text the chunks whose vector carries
// another bot and upserts them under the same IDs: a vector is replaced
// in place, never deleted first, so every chunk keeps one. Searches do
// not depend on the label (they filter by the bot's sources, see
// searchDense), so the moved documents are found under the new bot
// from the Storage commit on. A stop half way leaves vectors labelled
// with the old bot; calling it again (UpdateSource with the same bot,
// the next Ingest, or Reconcile) relabels only those.
func (c *Client) moveSourceVectors(ctx context.Context, tenantID, sourceID, botID string) error {
	if !c.hasIndex() {
		return nil
	}
	fail := func(err error) error {
		return fmt.Errorf("minirag: update source: moving the vectors to the new bot failed (UpdateSource again, Ingest or Reconcile finishes it): %w", err)
	}
	if err := c.ensureIndex(ctx); err != nil {
		return fail(err)
	}
	f := vectorstore.Filter{TenantID: tenantID, SourceIDs: []string{sourceID}}
	err := c.eachVectorPage(ctx, f, reconcilePage, func(recs []vectorstore.Record) error {
		var stale []string
		for _, rec := range recs {
			if rec.BotID != botID {
				stale = append(stale, rec.ID)
			}
		}
		if len(stale) == 0 {
			return nil
		}
		chunks, err := c.store.GetChunks(ctx, tenantID, stale)
		if err != nil {
			return failedAt(kindStorage, err)
		}
		return c.upsertChunks(ctx, chunks)
	})
	if err != nil {
		return fail(err)
	}
	return nil
}

// storageTx is the Storage an InTx callback receives.
type storageTx = storage.Storage
