-- MiniRAG PostgreSQL schema, version 3: chunks by (tenant, id) in byte-wise
-- order (COLLATE "C"), so that ScanChunks pages through one tenant's chunks
-- by an index range scan whatever the database's collation.
CREATE INDEX chunks_tenant_id ON chunks (tenant_id, id COLLATE "C");
