-- MiniRAG PostgreSQL schema, version 6: documents as first-class objects
-- (metadata filters, paged queries, keyed lookups, tenant erase) and the
-- payload and trace context of jobs.
--
-- 1. documents_metadata: GIN over the metadata with the jsonb_path_ops
--    operator class. The filter compiler (filter.go) turns every Eq and In
--    into containment (metadata @> ANY(array of {"field": v} and
--    {"field": [v]})), which jsonb_path_ops answers exactly: each entry is
--    a hash of a whole path and its value, so {"lang": "en"} is one posting
--    list, where the default jsonb_ops would intersect the list of the key
--    "lang" with that of every "en" anywhere. jsonb_path_ops is also smaller
--    and cheaper to keep up on writes. What the default class adds (the key
--    operators ?, ?| and ?&) would serve Exists and ranges only by key
--    presence, which is not selective for the keys every document has
--    (year, lang); those conditions are checked on the rows the other
--    indexes give.
-- 2. Listing a tenant's or a bot's documents ordered by source, then key
--    (QueryDocumentsPage, byte-wise: COLLATE "C") is one range scan of
--    documents_tenant_source_key or documents_bot_source_key; the first
--    also serves one source's listing (ListDocumentsPage, tenant and source
--    equal), so documents_source_key_c of version 4 goes. A lookup by
--    source and key (GetDocumentByKey) is the unique index of
--    documents_source_key.
-- 3. jobs.payload (record.Job.Payload, NULL for none) and
--    jobs.trace_context (record.Job.TraceContext).
CREATE INDEX documents_metadata ON documents USING gin (metadata jsonb_path_ops);
CREATE INDEX documents_tenant_source_key ON documents (tenant_id, source_id COLLATE "C", key COLLATE "C");
CREATE INDEX documents_bot_source_key ON documents (tenant_id, bot_id, source_id COLLATE "C", key COLLATE "C");
DROP INDEX documents_source_key_c;

ALTER TABLE jobs ADD COLUMN payload bytea;
ALTER TABLE jobs ADD COLUMN trace_context text NOT NULL DEFAULT '';
