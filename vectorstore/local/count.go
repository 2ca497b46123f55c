package local

import (
	"context"

	"github.com/minirag/minirag/vectorstore"
)

var _ vectorstore.Counter = (*Store)(nil)

// CountRecords returns the number of records in the store, of every
// tenant (vectorstore.Counter), from memory.
func (s *Store) CountRecords(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.ready(); err != nil {
		return 0, err
	}
	var n int64
	for _, p := range s.tenants {
		n += int64(p.n)
	}
	return n, nil
}
