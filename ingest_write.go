package minirag

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/internal/telemetry"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// writeStage stores finished documents, several at a time when they
// queue up. Its invariant, kept at every instant whatever fails or stops
// the process: every chunk Storage holds has its vector in the
// VectorStore, so each document is found, in every search mode, in its
// previous version or in its new one, never in neither. It writes a
// group of documents in three phases, in this order:
//
//  1. upsertVectors: the new chunks' vectors, under new chunk IDs that
//     no stored chunk has yet (searches drop a vector without a chunk);
//  2. commit: each document and its new chunks replace the old version
//     in Storage, in one transaction: the atomic switch from one
//     searchable version to the other;
//  3. deleteReplaced: the vectors of the replaced chunks, by ID (and
//     those of documents whose commit failed), now without a chunk.
//
// A stop between 1 and 2, or between 2 and 3, leaves vectors without a
// chunk: never returned by a search, deleted by the next Ingest of the
// source (checkIndex) or by Client.Reconcile.
type writeStage struct {
	r *ingestRun
}

// run writes the documents the pipeline finishes, in groups of what is
// ready (at most maxGroup documents). Phase 1 of a group runs here while
// phases 2 and 3 of the group before it run on a second goroutine
// (finish): the vector store's write (and its fsync) overlaps the Storage
// transaction instead of adding to it. Each group still goes through the
// phases in order, and groups are committed and reported in order; at
// most two groups are in flight.
func (s writeStage) run(ctx context.Context) {
	const maxGroup = 256
	upserted := make(chan upsertedGroup)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for g := range upserted {
			s.finish(g)
		}
	}()
	defer func() {
		close(upserted)
		<-finished
	}()
	for ws := range s.r.done {
		group := make([]*docWork, 0, min(len(ws)+16, maxGroup))
		group = append(group, ws...)
	fill:
		for len(group) < maxGroup {
			select {
			case ws, ok := <-s.r.done:
				if !ok {
					break fill
				}
				group = append(group, ws...)
			default:
				break fill
			}
		}
		// The group's ingest.batch span (under minirag.Ingest) holds its
		// three phases' adapter spans; finish ends it.
		bctx, sp := s.r.c.stage(ctx, "ingest.batch")
		todo, relabel := toWrite(group, docChanged), toWrite(group, docMetadata)
		if sp.IsRecording() {
			sp.SetAttributes(telemetry.KeyCount.Int(len(group)), attribute.Int("minirag.ingest.batch.changed", len(todo)),
				attribute.Int("minirag.ingest.batch.relabeled", len(relabel)))
		}
		var err error
		if len(todo) > 0 {
			err = s.upsertVectors(bctx, todo)
		}
		s.setMetadata(bctx, relabel)
		upserted <- upsertedGroup{ctx: bctx, span: sp, group: group, todo: todo, relabel: relabel, err: err}
	}
}

// upsertedGroup is a group of documents past phase 1: todo are those to
// write (new text), relabel those whose metadata only changed, err phase
// 1's failure of todo.
type upsertedGroup struct {
	// ctx is the run's context in the group's ingest.batch span, which
	// finish ends.
	ctx                  context.Context
	span                 trace.Span
	group, todo, relabel []*docWork
	err                  error
}

// finish runs phases 2 and 3 of a group whose phase 1 is done, then
// reports each document.
//
// A document whose text is unchanged but whose title, URI or metadata
// changed (docMetadata) takes the same path without embedding: phase 1
// replaces its vectors' metadata (setMetadata), phase 2 commits it with
// its stored chunks, which keep their IDs, and phase 3 has nothing to
// delete. A stop between 1 and 2 leaves vectors with the new metadata
// and Storage with the old: search checks each result's metadata in
// Storage (hydrate), and the next write of the document converges.
func (s writeStage) finish(g upsertedGroup) {
	defer endBatchSpan(g.span, g.group)
	ctx := g.ctx
	if g.err != nil {
		for _, w := range g.todo {
			w.fail(g.err)
		}
	}
	if live := append(toWrite(g.todo, docChanged), toWrite(g.relabel, docMetadata)...); len(live) > 0 {
		s.commit(ctx, live)
		s.confirmVectors(ctx, g.todo)
	}
	if len(g.todo) > 0 {
		s.deleteReplaced(ctx, g.todo)
	}
	s.r.report(g.group)
}

// toWrite returns the documents of the group in state st.
func toWrite(group []*docWork, st docState) []*docWork {
	var out []*docWork
	for _, w := range group {
		if w.state == st {
			out = append(out, w)
		}
	}
	return out
}

// setMetadata is phase 1 of a metadata-only update: each document's
// vectors get its new metadata (one call per document). A document
// whose call fails is marked failed (its stored version stands).
func (s writeStage) setMetadata(ctx context.Context, ws []*docWork) {
	for _, w := range ws {
		err := ctx.Err()
		if err == nil {
			err = s.r.c.vec.SetMetadata(ctx, vectorstore.Filter{TenantID: w.doc.TenantID, SourceIDs: []string{w.doc.SourceID},
				DocumentIDs: []string{w.doc.ID}}, w.doc.Metadata)
		}
		if err != nil {
			w.fail(failedAt(kindVectors, err))
		}
	}
}

// upsertVectors is phase 1: it gives each document's chunks new IDs and
// upserts their vectors.
func (s writeStage) upsertVectors(ctx context.Context, todo []*docWork) error {
	if err := ctx.Err(); err != nil {
		return failedAt(kindVectors, err)
	}
	var recs []vectorstore.Record
	for _, w := range todo {
		w.chunks = make([]record.Chunk, len(w.pieces))
		for i, p := range w.pieces {
			w.chunks[i] = record.Chunk{
				ID: id.New(), TenantID: w.doc.TenantID, BotID: w.doc.BotID, SourceID: w.doc.SourceID, DocumentID: w.doc.ID,
				Ordinal: i, Text: p.Text, TokenCount: p.Tokens, Start: p.Start, End: p.End, HeadingPath: p.HeadingPath,
			}
			recs = append(recs, chunkRecord(w.chunks[i], w.vecs[i], w.doc.Metadata))
		}
		w.pieces = nil
	}
	if err := s.r.c.vec.Upsert(ctx, recs); err != nil {
		return failedAt(kindVectors, err)
	}
	return nil
}

// chunkRecord is the vector record of a chunk of a document with
// metadata meta.
func chunkRecord(ch record.Chunk, vec []float32, meta record.Metadata) vectorstore.Record {
	return vectorstore.Record{ID: ch.ID, Vector: vec, TenantID: ch.TenantID, BotID: ch.BotID, SourceID: ch.SourceID,
		DocumentID: ch.DocumentID, Metadata: meta}
}

// commit is phase 2: the documents replace their stored versions in one
// transaction; if it fails, each is committed on its own, so that one bad
// document does not fail the others. A document whose commit fails is
// marked failed (its stored version stands, with its vectors).
func (s writeStage) commit(ctx context.Context, todo []*docWork) {
	if len(todo) > 1 && s.commitTx(ctx, todo) == nil {
		return
	}
	for _, w := range todo {
		if err := s.commitTx(ctx, []*docWork{w}); err != nil {
			w.fail(failedAt(kindStorage, err))
		}
	}
}

// commitTx stores the documents with their chunks in one transaction
// (one PutDocuments call when the store offers it) and records, for each,
// the IDs of the chunks it replaced, read in the same transaction.
func (s writeStage) commitTx(ctx context.Context, ws []*docWork) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tenantID := s.r.src.TenantID
	replaced := make([][]string, len(ws))
	err := s.r.c.store.InTx(ctx, func(tx storage.Storage) error {
		for i, w := range ws {
			old, err := tx.ListChunks(ctx, tenantID, w.doc.ID)
			if err != nil {
				return err
			}
			for _, ch := range old {
				replaced[i] = append(replaced[i], ch.ID)
			}
			if w.state == docMetadata {
				// The stored chunks stay, under their IDs (their vectors
				// are the document's).
				w.chunks = old
			}
		}
		if b, ok := tx.(storage.DocumentBatcher); ok && len(ws) > 1 {
			items := make([]storage.DocumentWithChunks, len(ws))
			for i, w := range ws {
				items[i] = storage.DocumentWithChunks{Document: w.doc, Chunks: w.chunks}
			}
			_, err := b.PutDocuments(ctx, items)
			return err
		}
		for _, w := range ws {
			if _, err := tx.PutDocument(ctx, w.doc, w.chunks); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, w := range ws {
		w.replaced = replaced[i]
	}
	return nil
}

// confirmVectors checks, after the commit, that the committed chunks'
// vectors are still there, and upserts again those that are not. A
// reconciliation running at the same time (Client.Reconcile, or another
// run's checkIndex) may have taken them for orphans between phases 1 and
// 2; it checks Storage again after deleting (deleteOrphans), and this
// check covers the other order, so that the two never leave a chunk
// without its vector.
func (s writeStage) confirmVectors(ctx context.Context, todo []*docWork) {
	var ids []string
	byID := map[string]vectorstore.Record{}
	for _, w := range todo {
		if w.state != docChanged {
			continue
		}
		for i, ch := range w.chunks {
			ids = append(ids, ch.ID)
			byID[ch.ID] = chunkRecord(ch, w.vecs[i], w.doc.Metadata)
		}
	}
	if len(ids) == 0 {
		return
	}
	tenantID := s.r.src.TenantID
	err := s.r.c.eachVectorPage(ctx, vectorstore.Filter{TenantID: tenantID, IDs: ids}, reconcilePage, func(recs []vectorstore.Record) error {
		for _, rec := range recs {
			delete(byID, rec.ID)
		}
		return nil
	})
	if err == nil && len(byID) > 0 {
		missing := make([]vectorstore.Record, 0, len(byID))
		for _, rec := range byID {
			missing = append(missing, rec)
		}
		err = s.r.c.vec.Upsert(ctx, missing)
	}
	if err != nil {
		s.r.c.log.LogAttrs(ctx, slogWarn, "ingest: could not confirm the vectors of committed chunks (Reconcile repairs them)",
			attrTenant(tenantID), attrSource(s.r.src.ID), attrErr(err))
	}
}

// deleteReplaced is phase 3: it deletes the vectors no chunk refers to
// any more: those of the replaced chunks, and those of documents that
// failed after phase 1. The latter go through deleteOrphans, which puts
// back any whose chunk Storage holds after all (a commit reported failed
// that did happen). A failure leaves them to the next run (logged).
func (s writeStage) deleteReplaced(ctx context.Context, todo []*docWork) {
	var replaced, unconfirmed []string
	for _, w := range todo {
		current := make(map[string]bool, len(w.chunks))
		for _, ch := range w.chunks {
			current[ch.ID] = true
		}
		if w.state == docFailed {
			unconfirmed = append(unconfirmed, slices.Collect(maps.Keys(current))...)
			w.chunks = nil
		}
		// A commit retried after one reported failed that did happen
		// replaces the document's own new chunks: never delete those.
		for _, id := range w.replaced {
			if !current[id] {
				replaced = append(replaced, id)
			}
		}
		w.replaced, w.vecs = nil, nil
	}
	tenantID := s.r.src.TenantID
	s.r.c.dropVectors(ctx, tenantID, replaced, "replaced chunks")
	if len(unconfirmed) > 0 {
		if _, err := s.r.c.deleteOrphans(ctx, tenantID, unconfirmed); err != nil {
			s.r.c.log.LogAttrs(ctx, slogWarn, "ingest: vectors left for reconciliation", attrTenant(tenantID),
				slog.String("of", "documents not stored"), slog.Int("vectors", len(unconfirmed)), attrErr(err))
		}
	}
}

// dropVectors deletes vectors that no chunk refers to, by ID. It is
// best effort: a failure is logged and leaves them to the next Ingest or
// Reconcile (searches drop them meanwhile).
func (c *Client) dropVectors(ctx context.Context, tenantID string, ids []string, what string) {
	if len(ids) == 0 {
		return
	}
	err := ctx.Err()
	if err == nil {
		err = c.vec.Delete(ctx, vectorstore.Filter{TenantID: tenantID, IDs: ids})
	}
	if err != nil {
		c.log.LogAttrs(ctx, slogWarn, "ingest: vectors left for reconciliation", attrTenant(tenantID),
			slog.String("of", what), slog.Int("vectors", len(ids)), attrErr(fmt.Errorf("minirag: delete vectors: %w", err)))
	}
}
