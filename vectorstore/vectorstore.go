// Package vectorstore defines VectorStore, where MiniRAG keeps chunk vectors
// and the few IDs it filters on. Storage stays the source of truth for text:
// a vector store can be rebuilt from it.
//
// Implementations: vectorstore/local (embedded, exact search),
// vectorstore/pgvector and vectorstore/qdrant. Every implementation must pass
// the conformance suite in vectorstore/vectorstoretest.
//
// An empty Filter.TenantID, or a Record without TenantID, is an error
// wrapping record.ErrInvalidInput in every implementation; it never means
// "all tenants".
//
// Records are keyed by (TenantID, ID): the same ID in two tenants is two
// records, and no call made for one tenant reads, replaces or deletes
// another tenant's records.
package vectorstore

import (
	"context"
	"errors"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
)

// Space names an embedding space: vectors of one model and size. Each space
// gets its own collection, table or folder, so changing the embedding model
// never mixes vectors of two models.
type Space struct {
	// Model is the embedder's identity (embed.Embedder.Model).
	Model string
	// Dims is the vector size.
	Dims int
}

// Record is one vector with the IDs it is filtered by.
type Record struct {
	ID         string // chunk ID
	Vector     []float32
	TenantID   string
	BotID      string
	SourceID   string
	DocumentID string
	// Metadata is the metadata of the record's document (see
	// record.Metadata), kept with the record so that a Filter's Metadata
	// condition is applied inside the search. List need not return it.
	Metadata record.Metadata
}

// Filter confines a search, a delete or a listing. TenantID is required;
// the other fields narrow further when set (a record matches when it
// matches every set field; within a list, any ID). An empty list is the
// same as nil: it does not narrow.
type Filter struct {
	TenantID    string
	BotID       string
	SourceIDs   []string
	DocumentIDs []string
	// IDs are record (chunk) IDs. Any number may be given: adapters split
	// long lists into batches themselves.
	IDs []string
	// Metadata, when not zero, keeps only records whose Metadata match it
	// (package filter; an invalid one wraps record.ErrInvalidInput naming
	// "filter"). Search applies it inside the index scan, before ranking,
	// so TopK matching records come back whenever that many exist.
	Metadata filter.Filter
}

// Query is a nearest-neighbour search.
type Query struct {
	Vector []float32
	// TopK is how many matches at most; it must be positive.
	TopK   int
	Filter Filter
	// MinScore, when non-zero, drops matches scoring below it (it may be
	// negative).
	MinScore float32
}

// Match is a record found by Search. Score is the cosine similarity
// (higher is closer, 1 for the same direction, -1 for the opposite). A zero
// vector, stored or queried, scores 0 against every vector.
type Match struct {
	ID    string
	Score float32
}

// VectorStore holds vectors of one Space, set by Init.
type VectorStore interface {
	// Init prepares the store for space, creating what is missing. An
	// empty Model or Dims <= 0 wraps record.ErrInvalidInput. What exists for
	// space.Model is found by the model alone, so a space created with other
	// dimensions fails with an error wrapping ErrDimensionMismatch. Init
	// again with the same space does nothing. Init must be called before
	// any other method, which otherwise fail with ErrNotInitialized.
	Init(ctx context.Context, space Space) error
	// Upsert inserts or replaces records by (TenantID, ID), vector and IDs
	// alike; within recs the last record with an ID wins. A record without
	// TenantID or ID wraps record.ErrInvalidInput, a vector whose length is
	// not the space's wraps ErrDimensionMismatch; a batch with an invalid
	// record stores nothing. Upserting no records does nothing.
	Upsert(ctx context.Context, recs []Record) error
	// Delete removes every record matching f (none matching is not an
	// error). With f.IDs it removes exactly those records of the tenant
	// that also match the other fields.
	Delete(ctx context.Context, f Filter) error
	// Search returns the q.TopK records closest to q.Vector among those
	// matching q.Filter, best first; all of them when fewer match. TopK <= 0
	// wraps record.ErrInvalidInput; a query vector of the wrong size wraps
	// ErrDimensionMismatch.
	Search(ctx context.Context, q Query) ([]Match, error)
	// List returns at most limit records matching f, with Vector nil and
	// every ID field filled, in a stable order of the adapter's choosing.
	// It streams a tenant's records in pages without loading them all
	// (reconciliation with Storage uses it). cursor "" starts at the
	// beginning; next is the cursor of the following page, "" exactly when
	// nothing follows this one. Cursors are opaque: pass back only what
	// List returned, for the same f. A record present for the whole listing
	// is returned exactly once; one upserted or deleted meanwhile may or may
	// not be. An empty f.TenantID, limit <= 0 or a cursor List did not make
	// wraps record.ErrInvalidInput.
	List(ctx context.Context, f Filter, cursor string, limit int) (recs []Record, next string, err error)
	// SetMetadata replaces the Metadata of every record matching f (one
	// document's records: f.DocumentIDs), leaving vectors and IDs as they
	// are; used when a document's metadata changes but its text does not.
	// m is in its JSON form (record.NormalizeMetadata); nil clears it.
	SetMetadata(ctx context.Context, f Filter, m record.Metadata) error
	// Close releases resources (not a client the caller passed in).
	Close() error
}

// ErrDimensionMismatch reports a vector, or an existing index, whose size is
// not the space's. It wraps record.ErrInvalidInput.
var ErrDimensionMismatch = dimErr{}

type dimErr struct{}

func (dimErr) Error() string        { return "vectorstore: dimension mismatch" }
func (dimErr) Is(target error) bool { return target == record.ErrInvalidInput }

// ErrNotInitialized is returned by a method called before Init.
var ErrNotInitialized = errors.New("vectorstore: not initialized (call Init first)")

// ValidateFilter returns an error naming the field when f has no tenant
// or an invalid Metadata filter (a *record.ValidationError naming
// "filter").
func ValidateFilter(f Filter) error {
	if f.TenantID == "" {
		return record.ErrEmptyTenant
	}
	return f.Metadata.Validate("filter")
}

// ValidateList checks List's arguments other than the cursor: a tenant and
// a positive limit.
func ValidateList(f Filter, limit int) error {
	if err := ValidateFilter(f); err != nil {
		return err
	}
	if limit <= 0 {
		return record.Invalid("limit", "must be positive")
	}
	return nil
}

// ErrBadCursor is wrapped by List for a cursor it did not make: a
// *record.ValidationError naming "cursor" (so it matches
// record.ErrInvalidInput).
var ErrBadCursor error = record.Invalid("cursor", "is not a cursor List returned")
