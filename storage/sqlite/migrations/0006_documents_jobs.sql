-- MiniRAG SQLite schema, version 6 (documents as first-class objects).
-- QueryDocumentsPage lists a tenant's documents, or a bot's, ordered by
-- (source_id, key): one range scan of one of these indexes per page. (A
-- source's documents and a key lookup use UNIQUE (source_id, key).)
CREATE INDEX documents_tenant ON documents (tenant_id, source_id, key);
CREATE INDEX documents_bot ON documents (tenant_id, bot_id, source_id, key);

-- A job's input beyond its source (record.Job.Payload, NULL when none) and
-- the W3C traceparent of the span that enqueued it.
ALTER TABLE jobs ADD COLUMN payload BLOB;
ALTER TABLE jobs ADD COLUMN trace_context TEXT NOT NULL DEFAULT '';
