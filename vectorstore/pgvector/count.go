package pgvector

import (
	"context"
	"fmt"

	"github.com/minirag/minirag/vectorstore"
)

var _ vectorstore.Counter = (*Store)(nil)

// CountRecords returns the number of rows of the space's table, of every
// tenant (vectorstore.Counter): an exact count(*), which reads the whole
// table (or its primary key index) on each call.
func (s *Store) CountRecords(ctx context.Context) (int64, error) {
	_, table, err := s.state()
	if err != nil {
		return 0, fmt.Errorf("pgvector: count records: %w", err)
	}
	var n int64
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		return 0, s.wrap(ctx, "count records", err)
	}
	return n, nil
}
