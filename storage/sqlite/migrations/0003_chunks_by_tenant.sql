-- MiniRAG SQLite schema, version 3: chunks by (tenant, id), so that
-- ScanChunks pages through one tenant's chunks by an index range scan.
CREATE INDEX chunks_tenant_id ON chunks (tenant_id, id);
