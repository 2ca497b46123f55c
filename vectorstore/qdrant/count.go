package qdrant

import (
	"context"

	qc "github.com/qdrant/go-client/qdrant"

	"github.com/minirag/minirag/vectorstore"
)

var _ vectorstore.Counter = (*Store)(nil)

// CountRecords returns the number of points of the space's collection, of
// every tenant (vectorstore.Counter), counted exactly by Qdrant.
func (s *Store) CountRecords(ctx context.Context) (int64, error) {
	coll, _, err := s.state("count records")
	if err != nil {
		return 0, err
	}
	n, err := s.client.Count(ctx, &qc.CountPoints{CollectionName: coll, Exact: qc.PtrOf(true)})
	if err != nil {
		return 0, s.translate(ctx, "count records", err)
	}
	return int64(n), nil
}
