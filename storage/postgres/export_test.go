package postgres

import "context"

// FoldStats folds a tenant's pending lexical statistics (for tests).
func (s *Store) FoldStats(ctx context.Context, tenantID string) { s.foldStats(ctx, tenantID) }

// SetEraseBatches sets DeleteTenant's batch sizes (documents, chunks,
// conversations) and a function called after each committed batch.
func (s *Store) SetEraseBatches(docs, chunks, conversations int, afterBatch func()) {
	s.erase = eraseTuning{docs: docs, chunks: chunks, conversations: conversations, afterBatch: afterBatch}
}

// SchemaName returns the schema the store was made with.
func (s *Store) SchemaName() string { return s.schema }

// SetLexicalFilterMode makes SearchLexical apply a metadata filter
// adaptively ("adaptive"), candidate by candidate ("each") or as a join
// ("join").
func (s *Store) SetLexicalFilterMode(mode string) {
	s.lexFilter = map[string]int{"adaptive": lexFilterAdaptive, "each": lexFilterEach, "join": lexFilterJoin}[mode]
}
