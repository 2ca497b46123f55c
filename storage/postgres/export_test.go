package postgres

import "context"

// FoldStats folds a tenant's pending lexical statistics (for tests).
func (s *Store) FoldStats(ctx context.Context, tenantID string) { s.foldStats(ctx, tenantID) }
