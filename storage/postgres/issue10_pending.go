package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// TODO(issue10): transitional; the postgres engineer replaces this file.

// UpdateTenant implements storage.Tenants.
func (s *Store) UpdateTenant(ctx context.Context, t record.Tenant) error {
	return fmt.Errorf("postgres: UpdateTenant: %w", errors.ErrUnsupported)
}

// DeleteTenant implements storage.Tenants.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	return fmt.Errorf("postgres: DeleteTenant: %w", errors.ErrUnsupported)
}

// GetDocumentByKey implements storage.Documents.
func (s *Store) GetDocumentByKey(ctx context.Context, tenantID, sourceID, key string) (record.Document, error) {
	return record.Document{}, fmt.Errorf("postgres: GetDocumentByKey: %w", errors.ErrUnsupported)
}

// QueryDocumentsPage implements storage.Documents.
func (s *Store) QueryDocumentsPage(ctx context.Context, q storage.DocumentQuery, p storage.Page) ([]record.Document, string, error) {
	return nil, "", fmt.Errorf("postgres: QueryDocumentsPage: %w", errors.ErrUnsupported)
}
