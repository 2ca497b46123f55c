package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// ScanChunks returns at most limit refs to the tenant's chunks whose ID
// sorts after `after`, ascending by ID compared byte-wise (COLLATE "C"):
// one range scan of the index chunks_tenant_id (tenant_id, id COLLATE "C")
// per page.
func (s *Store) ScanChunks(ctx context.Context, tenantID, after string, limit int) ([]storage.ChunkRef, error) {
	const op = "scan chunks"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("postgres: %s: %w", op, record.Invalid("limit", "must be positive"))
	}
	return list(ctx, s, op, func(r pgx.Row) (storage.ChunkRef, error) {
		var c storage.ChunkRef
		err := r.Scan(&c.ID, &c.DocumentID, &c.SourceID, &c.BotID)
		return c, err
	}, `SELECT id, document_id, source_id, bot_id FROM @.chunks
		WHERE tenant_id = $1 AND id COLLATE "C" > $2 ORDER BY id COLLATE "C" LIMIT $3`, tenantID, after, limit)
}
