-- MiniRAG SQLite schema, version 1.
-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL for unset
-- optional times. Booleans are INTEGER 0/1. Lists are JSON text.

CREATE TABLE tenants (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    slug       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX tenants_created ON tenants (created_at, id);

CREATE TABLE users (
    id         TEXT    NOT NULL PRIMARY KEY,
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    -- email_norm is the email lower-cased by the adapter (Unicode-aware).
    email_norm TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    disabled   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (tenant_id, email_norm),
    UNIQUE (tenant_id, id)
);
CREATE INDEX users_created ON users (tenant_id, created_at, id);

CREATE TABLE api_tokens (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- user_id is NULL for a token without a user.
    user_id      TEXT,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE,
    scopes       TEXT,
    bot_ids      TEXT,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    created_at   INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX api_tokens_created ON api_tokens (tenant_id, created_at, id);

CREATE TABLE bots (
    id                  TEXT    NOT NULL PRIMARY KEY,
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    description         TEXT    NOT NULL,
    system_prompt       TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    temperature         REAL    NOT NULL,
    max_tokens          INTEGER NOT NULL,
    base_url            TEXT    NOT NULL,
    active              INTEGER NOT NULL,
    extractive_fallback INTEGER NOT NULL,
    language            TEXT    NOT NULL,
    -- credentials is the Fernet ciphertext, NULL when there is none.
    credentials         BLOB,
    deleted_at          INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE INDEX bots_created ON bots (tenant_id, created_at, id);

CREATE TABLE sources (
    id               TEXT    NOT NULL PRIMARY KEY,
    tenant_id        TEXT    NOT NULL,
    bot_id           TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    type             TEXT    NOT NULL,
    config           TEXT,
    status           TEXT    NOT NULL,
    error            TEXT    NOT NULL,
    document_count   INTEGER NOT NULL,
    chunk_count      INTEGER NOT NULL,
    last_ingested_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, bot_id) REFERENCES bots (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sources_created ON sources (tenant_id, created_at, id);
CREATE INDEX sources_bot ON sources (tenant_id, bot_id, created_at, id);

CREATE TABLE documents (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant_id    TEXT    NOT NULL,
    bot_id       TEXT    NOT NULL,
    source_id    TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    uri          TEXT    NOT NULL,
    content_hash TEXT    NOT NULL,
    byte_size    INTEGER NOT NULL,
    token_count  INTEGER NOT NULL,
    chunk_count  INTEGER NOT NULL,
    metadata     TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (source_id, key),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, source_id) REFERENCES sources (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE chunks (
    -- seq is the FTS5 rowid of the chunk.
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    tenant_id    TEXT    NOT NULL,
    bot_id       TEXT    NOT NULL,
    source_id    TEXT    NOT NULL,
    document_id  TEXT    NOT NULL,
    ordinal      INTEGER NOT NULL,
    text         TEXT    NOT NULL,
    token_count  INTEGER NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset   INTEGER NOT NULL,
    heading_path TEXT,
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX chunks_document ON chunks (document_id, ordinal);
CREATE INDEX chunks_tenant ON chunks (tenant_id, bot_id, source_id);

-- chunks_fts indexes each chunk's text and its document's title. It is
-- contentless (the text lives in chunks) and kept in sync by the triggers
-- below; its rowid is chunks.seq. The scope column holds one token each for
-- the chunk's tenant, bot and source ('t', 'b' or 's', the ID in hex, and a
-- final '0' so that no stemming rule applies), so that a search matches
-- only the rows of its tenant (and bot and sources) inside FTS5, before
-- ranking.
CREATE VIRTUAL TABLE chunks_fts USING fts5 (
    text,
    title,
    scope,
    content = '',
    contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, text, title, scope)
    VALUES (new.seq, new.text, (SELECT title FROM documents WHERE id = new.document_id),
            't' || hex(new.tenant_id) || '0 b' || hex(new.bot_id) || '0 s' || hex(new.source_id) || '0');
END;

CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
    DELETE FROM chunks_fts WHERE rowid = old.seq;
END;

CREATE TRIGGER chunks_fts_update AFTER UPDATE OF tenant_id, bot_id, source_id, document_id, text ON chunks BEGIN
    DELETE FROM chunks_fts WHERE rowid = old.seq;
    INSERT INTO chunks_fts (rowid, text, title, scope)
    VALUES (new.seq, new.text, (SELECT title FROM documents WHERE id = new.document_id),
            't' || hex(new.tenant_id) || '0 b' || hex(new.bot_id) || '0 s' || hex(new.source_id) || '0');
END;

CREATE TABLE jobs (
    seq              INTEGER PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    tenant_id        TEXT    NOT NULL,
    source_id        TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL,
    max_attempts     INTEGER NOT NULL,
    run_at           INTEGER NOT NULL,
    lease_owner      TEXT    NOT NULL,
    lease_expires_at INTEGER,
    last_error       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    FOREIGN KEY (tenant_id, source_id) REFERENCES sources (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX jobs_queue ON jobs (status, run_at, created_at, seq);
CREATE INDEX jobs_tenant ON jobs (tenant_id, source_id, created_at);
