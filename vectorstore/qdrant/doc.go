// Package qdrant is a vectorstore.VectorStore on Qdrant, through its gRPC
// go-client (github.com/qdrant/go-client).
//
// Layout, as Qdrant documents multitenancy:
//
//	embedding space (model, dims) ──> one collection per model, cosine distance,
//	                                   vectors of dims; e.g. "minirag_text-embedding-3-small"
//	    point ID   = UUIDv5(namespace, tenant_id + "\x00" + chunk_id)
//	    payload    = {tenant_id, bot_id, source_id, document_id, chunk_id,
//	                  meta: {the record's metadata}, meta_strings: [fields]}
//	    indexes    = tenant_id: keyword, is_tenant=true
//	                 bot_id, source_id, document_id, chunk_id, meta_strings: keyword
//	                 meta.<field>: per Options.MetadataFields
//
// Every tenant shares the collection of its space; the keyword index on
// tenant_id created with is_tenant=true lets Qdrant store each tenant's
// points together. Every search and every delete carries a must condition
// on tenant_id, and an empty tenant is an error wrapping
// record.ErrInvalidInput before anything is sent.
//
// Qdrant accepts only unsigned integers and UUIDs as point IDs, so a chunk
// ID maps to a name-based (SHA-1, version 5) UUID over the tenant and the
// chunk ID; the chunk ID itself travels in the payload and is what Search
// returns. Because the tenant is part of the name, two tenants can never
// overwrite each other's points, even with equal chunk IDs.
//
// A record's metadata is stored under the payload key "meta" and a
// metadata filter becomes a Qdrant payload filter on "meta.<field>" with
// filter.Match's semantics (see FieldMeta, MetadataField and docs/qdrant.md):
// it runs inside the search, before the limit. A range with string bounds
// is the one condition Qdrant cannot evaluate exactly (it orders strings
// only as datetimes): for times in record.TimeLayout it is a datetime range,
// and records holding other strings in the field are checked with
// filter.Match after Qdrant returns them.
//
// New collections are created with strict mode enabled and unindexed
// filtering forbidden, so a filter on a field without an index fails
// instead of scanning (Options.NoStrictMode turns that off).
//
// Upserts go in batches (Options.BatchSize, default 256) with wait=true, so
// a record is searchable when Upsert returns. Errors from the server are
// translated at the boundary: codes.InvalidArgument wraps
// record.ErrInvalidInput (a dimension error wraps
// vectorstore.ErrDimensionMismatch), codes.NotFound wraps record.ErrNotFound,
// codes.AlreadyExists wraps record.ErrConflict, an unreachable or timed-out
// server wraps ErrUnavailable and names the address, and a rejected API key
// wraps ErrAccessDenied (the key never appears in an error).
//
// Build a Store from a client you configured with New, or let Dial build
// the client from a Config.
package qdrant
