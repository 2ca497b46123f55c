package sqlite

import (
	"context"
	"fmt"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// ScanChunks returns at most limit refs to the tenant's chunks whose ID
// sorts after `after`, ascending by ID (SQLite compares text byte-wise):
// one range scan of the index chunks (tenant_id, id) per page.
func (s *Store) ScanChunks(ctx context.Context, tenantID, after string, limit int) ([]storage.ChunkRef, error) {
	const op = "scan chunks"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("sqlite: %s: %w", op, record.Invalid("limit", "must be positive"))
	}
	refs, err := queryList(ctx, s.q, op, func(r interface{ Scan(...any) error }) (storage.ChunkRef, error) {
		var c storage.ChunkRef
		err := r.Scan(&c.ID, &c.DocumentID, &c.SourceID, &c.BotID)
		return c, err
	}, `SELECT id, document_id, source_id, bot_id FROM chunks INDEXED BY chunks_tenant_id
		WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tenantID, after, limit)
	if refs == nil && err == nil {
		refs = []storage.ChunkRef{}
	}
	return refs, err
}
