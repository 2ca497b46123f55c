package vectorstore

import "context"

// Counter is an optional capability of a VectorStore: the number of
// records in its Space, of every tenant, for the
// minirag.vectorstore.records gauge (see docs/OBSERVABILITY.md). Callers
// find it by type assertion and report nothing when it is absent:
//
//	if c, ok := vs.(vectorstore.Counter); ok {
//		n, err = c.CountRecords(ctx)
//	}
//
// It returns a number only, never IDs or vectors, so, unlike the
// VectorStore methods, it takes no tenant. vectorstore/local,
// vectorstore/pgvector and vectorstore/qdrant implement it;
// vectorstore/vectorstoretest checks it on every store that offers it.
type Counter interface {
	// CountRecords returns the number of records in the space set by
	// Init (ErrNotInitialized before Init).
	CountRecords(ctx context.Context) (int64, error)
}
