package pgvector

import (
	"context"
	"errors"
	"fmt"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// TODO(issue10): transitional; the pgvector engineer replaces this file.

// SetMetadata implements vectorstore.VectorStore.
func (s *Store) SetMetadata(ctx context.Context, f vectorstore.Filter, m record.Metadata) error {
	return fmt.Errorf("pgvector: SetMetadata: %w", errors.ErrUnsupported)
}
