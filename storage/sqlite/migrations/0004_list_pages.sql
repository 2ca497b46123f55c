-- MiniRAG SQLite schema, version 4: a tenant's jobs newest first without a
-- source filter (ListJobsPage) by an index range scan.
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at);
