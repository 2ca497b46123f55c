// Package record holds the plain types that MiniRAG persists and the error
// values shared by the root package and every adapter.
//
// It is a leaf package: it imports only the standard library, so storage and
// vector-store adapters can depend on it without importing the root package
// (the pattern of river's rivertype). The root package minirag re-exports
// these names by alias; most programs never import record directly.
//
// The model, per tenant:
//
//	Tenant ─┬─ User ── APIToken
//	        └─ Bot ── Source ── Document ── Chunk
//	                     └── Job (ingestion)
package record
