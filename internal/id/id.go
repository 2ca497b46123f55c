// Package id generates the IDs of MiniRAG's records.
//
// IDs are UUIDv7 strings in their canonical lowercase form (36 characters,
// e.g. "0190f3c4-8b5e-7a3c-9d2e-5f1a2b3c4d5e"). Version 7 puts a millisecond
// timestamp first, so IDs created later sort later and index well in SQLite
// and PostgreSQL B-trees, and every backend (including a PostgreSQL uuid
// column) accepts them. The rest is random (crypto/rand through
// github.com/google/uuid): an ID is unique, not secret.
package id

import "github.com/google/uuid"

// New returns a new UUIDv7 string. It panics only if the system's random
// source fails, which crypto/rand treats as fatal anyway.
func New() string {
	return uuid.Must(uuid.NewV7()).String()
}
