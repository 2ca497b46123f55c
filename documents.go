package minirag

import (
	"context"
	"errors"
	"fmt"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// DocumentQuery selects the documents ListDocuments lists.
type DocumentQuery struct {
	// SourceID, when set, keeps the documents of that source; BotID, when
	// set, those of that bot's sources. Neither lists the whole tenant's.
	SourceID string `json:"source_id,omitempty"`
	BotID    string `json:"bot_id,omitempty"`
	// Filter, when not zero, keeps the documents whose Metadata match it
	// (package filter; an invalid one is ErrInvalidInput naming
	// "filter").
	Filter filter.Filter `json:"filter,omitzero"`
	// Page is the page asked for (see Page).
	Page Page `json:"page,omitzero"`
}

// ListDocuments lists one page of the tenant's documents that q selects,
// for every source type, ordered by source ID then key (byte-wise), each
// with its key, title, URI, metadata, content hash, chunk count,
// embedding model (Metadata[MetadataEmbeddingModel]) and times. A source
// or bot that is not the tenant's is ErrNotFound. Needs the admin scope.
func (h *TenantHandle) ListDocuments(ctx context.Context, q DocumentQuery) (PageOf[Document], error) {
	if err := h.authorizeAdmin(); err != nil {
		return PageOf[Document]{}, err
	}
	if err := q.Filter.Validate("filter"); err != nil {
		return PageOf[Document]{}, err
	}
	return listPage(h, "list documents", q.Page, func(sp storage.Page) ([]Document, string, error) {
		if q.SourceID != "" {
			if _, err := h.c.store.GetSource(ctx, h.p.TenantID, q.SourceID); err != nil {
				return nil, "", err
			}
		}
		if q.BotID != "" {
			if _, err := h.c.store.GetBot(ctx, h.p.TenantID, q.BotID); err != nil {
				return nil, "", err
			}
		}
		return h.c.store.QueryDocumentsPage(ctx, storage.DocumentQuery{
			TenantID: h.p.TenantID, BotID: q.BotID, SourceID: q.SourceID, Filter: q.Filter,
		}, sp)
	})
}

// GetDocument returns a document of the tenant by ID (not its text: its
// chunks hold that). Needs the admin scope.
func (h *TenantHandle) GetDocument(ctx context.Context, documentID string) (Document, error) {
	if err := h.authorizeAdmin(); err != nil {
		return Document{}, err
	}
	if documentID == "" {
		return Document{}, record.Invalid("document_id", "is required")
	}
	d, err := h.c.store.GetDocument(ctx, h.p.TenantID, documentID)
	if err != nil {
		return Document{}, fmt.Errorf("minirag: get document: %w", err)
	}
	return d, nil
}

// GetDocumentByKey returns the document of a source with this key (a
// pushed document's Key, a file's path, a page's URL). Needs the admin
// scope.
func (h *TenantHandle) GetDocumentByKey(ctx context.Context, sourceID, key string) (Document, error) {
	if err := h.authorizeAdmin(); err != nil {
		return Document{}, err
	}
	var v record.ValidationError
	if sourceID == "" {
		v.Add("source_id", "is required")
	}
	if key == "" {
		v.Add("key", "is required")
	}
	if err := v.Err(); err != nil {
		return Document{}, err
	}
	d, err := h.c.store.GetDocumentByKey(ctx, h.p.TenantID, sourceID, key)
	if err != nil {
		return Document{}, fmt.Errorf("minirag: get document: %w", err)
	}
	return d, nil
}

// DeleteDocument deletes a document of any source with its chunks (one
// Storage transaction), then its vectors: Storage decides, the vectors
// follow (see the package documentation, "Crash safety"), so a failure
// in between is logged and left to Reconcile, not returned. An unknown
// document is ErrNotFound, after its vectors, if any were left by an
// interrupted delete, are deleted too. The next Ingest of a loaded
// source brings back a document its loader still yields. Needs the
// admin scope.
func (h *TenantHandle) DeleteDocument(ctx context.Context, documentID string) error {
	if err := h.authorizeAdmin(); err != nil {
		return err
	}
	if documentID == "" {
		return record.Invalid("document_id", "is required")
	}
	tenantID := h.p.TenantID
	d, err := h.c.store.GetDocument(ctx, tenantID, documentID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("minirag: delete document: %w", err)
	}
	var ids []string
	found := false
	if err == nil {
		if ids, found, err = h.c.deleteDocument(ctx, tenantID, documentID); err != nil {
			return fmt.Errorf("minirag: delete document: %w", err)
		}
	}
	h.c.deleteDocumentVectors(ctx, tenantID, ids, vectorstore.Filter{TenantID: tenantID, DocumentIDs: []string{documentID}})
	if !found {
		return fmt.Errorf("minirag: delete document: %w", ErrNotFound)
	}
	src := Source{ID: d.SourceID, TenantID: tenantID}
	h.c.recordPush(ctx, src, -1, -d.ChunkCount, nil, 0, false)
	h.c.log.LogAttrs(ctx, slogInfo, "document deleted", attrTenant(tenantID), attrSource(d.SourceID))
	return nil
}

// deleteDocumentVectors deletes, after Storage deleted their documents,
// the vectors of the chunks with these IDs, then those f selects (the
// documents' IDs, when f.DocumentIDs is not empty: vectors an
// interrupted earlier delete left). Best
// effort: a failure is logged and left to Reconcile (searches drop
// vectors without a chunk meanwhile).
func (c *Client) deleteDocumentVectors(ctx context.Context, tenantID string, chunkIDs []string, f vectorstore.Filter) {
	if !c.hasIndex() {
		return
	}
	err := c.ensureIndex(ctx)
	if err == nil {
		c.dropVectors(ctx, tenantID, chunkIDs, "deleted documents")
		if len(f.DocumentIDs) > 0 { // an empty list would not narrow
			err = c.vec.Delete(ctx, f)
		}
	}
	if err != nil {
		c.log.LogAttrs(ctx, slogWarn, "documents deleted; their vectors are left for Reconcile", attrTenant(tenantID), attrErr(err))
	}
}
