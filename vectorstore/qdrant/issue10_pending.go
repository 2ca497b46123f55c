package qdrant

import (
	"context"
	"errors"
	"fmt"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// TODO(issue10): transitional; the qdrant engineer replaces this file.

// SetMetadata implements vectorstore.VectorStore.
func (s *Store) SetMetadata(ctx context.Context, f vectorstore.Filter, m record.Metadata) error {
	return fmt.Errorf("qdrant: SetMetadata: %w", errors.ErrUnsupported)
}
