package minirag

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// DefaultReconcilePageSize is how many chunks, or vectors, reconciliation
// reads per page when ReconcileOptions.PageSize is 0.
const DefaultReconcilePageSize = 1000

// reconcilePage is the page size of the checks ingestion makes.
const reconcilePage = DefaultReconcilePageSize

// ReconcileOptions are the options of Client.Reconcile. The zero value
// reconciles every tenant and repairs what it finds.
type ReconcileOptions struct {
	// TenantID limits the reconciliation to one tenant; empty means every
	// tenant (Storage's ListTenants).
	TenantID string
	// DryRun reports what differs and repairs nothing.
	DryRun bool
	// PageSize is how many chunks or vectors are read at a time (memory
	// is bounded by one page); 0 means DefaultReconcilePageSize.
	PageSize int
	// Metadata also writes every document's metadata, as Storage holds
	// it, to the document's vectors (VectorStore.SetMetadata, one call per
	// document), so that metadata filters in dense search see it. Run it
	// once after upgrading a store whose vectors were written before
	// vectors carried metadata: until then a dense search with a metadata
	// filter does not find those documents (lexical search does). It costs
	// one write per document, so it is off by default and not part of the
	// periodic reconciliation. With DryRun it counts the documents only.
	Metadata bool
}

// ReconcileReport is what a reconciliation found and did. Counts are
// over the tenants reconciled.
type ReconcileReport struct {
	// Tenants is the number of tenants reconciled.
	Tenants int `json:"tenants"`
	// Chunks and Vectors are how many chunks Storage holds and how many
	// vectors the VectorStore holds, as read.
	Chunks  int `json:"chunks"`
	Vectors int `json:"vectors"`
	// MissingVectors counts chunks without a vector; Mislabelled, vectors
	// whose bot, source or document is not their chunk's (a move of a
	// source cut short); both are embedded again from the stored chunk
	// text unless DryRun.
	MissingVectors int `json:"missing_vectors"`
	Mislabelled    int `json:"mislabelled"`
	// Orphans counts vectors without a chunk (a document or source
	// deleted, a write cut short); they are deleted unless DryRun.
	Orphans int `json:"orphans"`
	// MetadataDocuments counts the documents whose metadata was written to
	// their vectors (ReconcileOptions.Metadata).
	MetadataDocuments int `json:"metadata_documents,omitempty"`
	// Embedded and Deleted count the vectors written and deleted.
	Embedded int  `json:"embedded"`
	Deleted  int  `json:"deleted"`
	DryRun   bool `json:"dry_run"`
	// Duration is how long the reconciliation took.
	Duration time.Duration `json:"duration"`
}

// Consistent reports whether the reconciliation found nothing to repair.
func (r ReconcileReport) Consistent() bool {
	return r.MissingVectors == 0 && r.Mislabelled == 0 && r.Orphans == 0
}

// Reconcile compares Storage with the VectorStore, for one tenant or all,
// and repairs what differs: a chunk without a vector, or with one
// labelled with another bot, source or document, is embedded again from
// its stored text; a vector without a chunk is deleted. Storage decides
// what exists; the VectorStore follows. It streams both sides in pages
// (Storage's ScanChunks, the VectorStore's List), so memory stays bounded
// on any number of chunks, and is safe to run while ingestions run (see
// writeStage). Open runs it after an unclean shutdown of its folder; a
// Worker runs it every WorkerConfig.ReconcileInterval when set. It needs
// Config.VectorStore and Config.Embedder.
//
// Ingest keeps the stores consistent by itself (doc.go, "Crash safety");
// Reconcile repairs what a crash, a lost or restored vector store, or a
// change of embedding model left behind, without loading any source
// again. The report counts what was found and done even when an error
// stops it.
func (c *Client) Reconcile(ctx context.Context, opts ReconcileOptions) (ReconcileReport, error) {
	start := time.Now()
	rep := ReconcileReport{DryRun: opts.DryRun}
	if opts.PageSize < 0 {
		return rep, record.Invalid("page_size", "must not be negative")
	}
	opts.PageSize = cmp.Or(opts.PageSize, DefaultReconcilePageSize)
	if !c.hasIndex() {
		return rep, fmt.Errorf("minirag: reconcile: needs Config.VectorStore and Config.Embedder")
	}
	if err := c.ensureIndex(ctx); err != nil {
		return rep, err
	}
	tenants := []string{opts.TenantID}
	if opts.TenantID == "" {
		ts, err := c.store.ListTenants(ctx)
		if err != nil {
			return rep, fmt.Errorf("minirag: reconcile: list tenants: %w", err)
		}
		tenants = tenants[:0]
		for _, t := range ts {
			tenants = append(tenants, t.ID)
		}
	}
	var err error
	for _, tid := range tenants {
		if err = c.reconcileTenant(ctx, tid, opts, &rep); err != nil {
			err = fmt.Errorf("minirag: reconcile tenant %s: %w", tid, err)
			break
		}
		rep.Tenants++
	}
	rep.Duration = time.Since(start)
	c.log.LogAttrs(ctx, slogInfo, "reconcile finished", slog.Int("tenants", rep.Tenants), slog.Int("chunks", rep.Chunks),
		slog.Int("vectors", rep.Vectors), slog.Int("missing_vectors", rep.MissingVectors), slog.Int("mislabelled", rep.Mislabelled),
		slog.Int("orphans", rep.Orphans), slog.Bool("dry_run", rep.DryRun), slog.Duration("duration", rep.Duration))
	return rep, err
}

// Reconcile is Client.Reconcile for the handle's tenant only
// (opts.TenantID is ignored). Needs the admin scope.
func (h *TenantHandle) Reconcile(ctx context.Context, opts ReconcileOptions) (ReconcileReport, error) {
	if err := h.authorizeAdmin(); err != nil {
		return ReconcileReport{}, err
	}
	opts.TenantID = h.p.TenantID
	return h.c.Reconcile(ctx, opts)
}

// reconcileTenant runs both passes over one tenant: every chunk has a
// well labelled vector, then every vector has a chunk.
func (c *Client) reconcileTenant(ctx context.Context, tenantID string, opts ReconcileOptions, rep *ReconcileReport) error {
	if tenantID == "" {
		return record.ErrEmptyTenant
	}
	if err := c.reconcileChunks(ctx, tenantID, opts, rep); err != nil {
		return err
	}
	if opts.Metadata {
		if err := c.reconcileMetadata(ctx, tenantID, opts, rep); err != nil {
			return err
		}
	}
	return c.eachVectorPage(ctx, vectorstore.Filter{TenantID: tenantID}, opts.PageSize, func(recs []vectorstore.Record) error {
		rep.Vectors += len(recs)
		found, err := c.chunksByID(ctx, tenantID, recordIDs(recs))
		if err != nil {
			return err
		}
		var orphans []string
		for _, rec := range recs {
			if _, ok := found[rec.ID]; !ok {
				orphans = append(orphans, rec.ID)
			}
		}
		rep.Orphans += len(orphans)
		if opts.DryRun {
			return nil
		}
		n, err := c.deleteOrphans(ctx, tenantID, orphans)
		rep.Deleted += n
		return err
	})
}

// reconcileMetadata writes each document's metadata, as Storage holds
// it, to its vectors, a page of documents at a time.
func (c *Client) reconcileMetadata(ctx context.Context, tenantID string, opts ReconcileOptions, rep *ReconcileReport) error {
	q := storage.DocumentQuery{TenantID: tenantID}
	cursor := ""
	for {
		docs, next, err := c.store.QueryDocumentsPage(ctx, q, storage.Page{Limit: opts.PageSize, Cursor: cursor})
		if err != nil {
			return failedAt(kindStorage, err)
		}
		for _, d := range docs {
			if !opts.DryRun {
				f := vectorstore.Filter{TenantID: tenantID, DocumentIDs: []string{d.ID}}
				if err := c.vec.SetMetadata(ctx, f, d.Metadata); err != nil {
					return failedAt(kindVectors, err)
				}
			}
			rep.MetadataDocuments++
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// reconcileChunks is the first pass: it streams the tenant's chunks from
// Storage, a page at a time, looks their vectors up by ID, and embeds
// again those missing or mislabelled.
func (c *Client) reconcileChunks(ctx context.Context, tenantID string, opts ReconcileOptions, rep *ReconcileReport) error {
	after := ""
	for {
		refs, err := c.store.ScanChunks(ctx, tenantID, after, opts.PageSize)
		if err != nil {
			return fmt.Errorf("scan chunks: %w", err)
		}
		if len(refs) == 0 {
			return nil
		}
		after = refs[len(refs)-1].ID
		rep.Chunks += len(refs)
		ids := make([]string, len(refs))
		for i, r := range refs {
			ids[i] = r.ID
		}
		have := make(map[string]vectorstore.Record, len(refs))
		err = c.eachVectorPage(ctx, vectorstore.Filter{TenantID: tenantID, IDs: ids}, opts.PageSize, func(recs []vectorstore.Record) error {
			for _, rec := range recs {
				have[rec.ID] = rec
			}
			return nil
		})
		if err != nil {
			return err
		}
		var redo []string
		for _, r := range refs {
			rec, ok := have[r.ID]
			switch {
			case !ok:
				rep.MissingVectors++
			case rec.BotID != r.BotID || rec.SourceID != r.SourceID || rec.DocumentID != r.DocumentID:
				rep.Mislabelled++
			default:
				continue
			}
			redo = append(redo, r.ID)
		}
		if opts.DryRun || len(redo) == 0 {
			continue
		}
		// Read the chunks again: one deleted meanwhile gets no vector.
		chunks, err := c.store.GetChunks(ctx, tenantID, redo)
		if err != nil {
			return fmt.Errorf("get chunks: %w", err)
		}
		if err := c.upsertChunks(ctx, chunks); err != nil {
			return err
		}
		rep.Embedded += len(chunks)
	}
}

// eachVectorPage calls fn with the records matching f, a page of at most
// size at a time, in the VectorStore's List order.
func (c *Client) eachVectorPage(ctx context.Context, f vectorstore.Filter, size int, fn func([]vectorstore.Record) error) error {
	cursor := ""
	for {
		recs, next, err := c.vec.List(ctx, f, cursor, size)
		if err != nil {
			return failedAt(kindIndex, fmt.Errorf("list vectors: %w", err))
		}
		if len(recs) > 0 {
			if err := fn(recs); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// chunksByID returns the tenant's stored chunks with these IDs, by ID.
func (c *Client) chunksByID(ctx context.Context, tenantID string, ids []string) (map[string]record.Chunk, error) {
	chunks, err := c.store.GetChunks(ctx, tenantID, ids)
	if err != nil {
		return nil, failedAt(kindStorage, fmt.Errorf("get chunks: %w", err))
	}
	out := make(map[string]record.Chunk, len(chunks))
	for _, ch := range chunks {
		out[ch.ID] = ch
	}
	return out, nil
}

// recordIDs returns the records' IDs.
func recordIDs(recs []vectorstore.Record) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

// labelled reports whether a vector carries its chunk's bot, source and
// document.
func labelled(rec vectorstore.Record, ch record.Chunk) bool {
	return rec.BotID == ch.BotID && rec.SourceID == ch.SourceID && rec.DocumentID == ch.DocumentID
}

// sweepOrphans deletes the vectors matching f that have no chunk,
// checked page by page against Storage (deleteOrphans).
func (c *Client) sweepOrphans(ctx context.Context, f vectorstore.Filter) error {
	if err := c.ensureIndex(ctx); err != nil {
		return err
	}
	return c.eachVectorPage(ctx, f, reconcilePage, func(recs []vectorstore.Record) error {
		found, err := c.chunksByID(ctx, f.TenantID, recordIDs(recs))
		if err != nil {
			return err
		}
		var orphans []string
		for _, rec := range recs {
			if _, ok := found[rec.ID]; !ok {
				orphans = append(orphans, rec.ID)
			}
		}
		_, err = c.deleteOrphans(ctx, f.TenantID, orphans)
		return err
	})
}

// deleteOrphans deletes vectors found without a chunk and returns how
// many. An ingestion may have upserted them and committed their chunks
// since they were found (its phases 1 and 2, see writeStage): Storage is
// asked again after the delete, and a chunk found then gets its vector
// back. With writeStage.confirmVectors, that covers both orders.
func (c *Client) deleteOrphans(ctx context.Context, tenantID string, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if err := c.vec.Delete(ctx, vectorstore.Filter{TenantID: tenantID, IDs: ids}); err != nil {
		return 0, failedAt(kindIndex, fmt.Errorf("delete vectors without chunks: %w", err))
	}
	back, err := c.store.GetChunks(ctx, tenantID, ids)
	if err == nil && len(back) > 0 {
		err = c.upsertChunks(ctx, back)
	}
	if err != nil {
		return len(ids), errors.Join(failedAt(kindIndex, errors.New("restore vectors of chunks committed meanwhile")), err)
	}
	return len(ids) - len(back), nil
}
