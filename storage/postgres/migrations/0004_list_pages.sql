-- MiniRAG PostgreSQL schema, version 4: indexes for paged lists
-- (ListDocumentsPage in byte-wise key order, ListJobsPage of a whole tenant
-- newest first), so that every page is an index range scan.
CREATE INDEX documents_source_key_c ON documents (source_id, key COLLATE "C");
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at, id);
