-- MiniRAG PostgreSQL schema, version 1.
-- Applied by storage/postgres with search_path set to the store's schema,
-- inside one transaction holding an advisory lock. Times are timestamptz
-- (microseconds); optional times are NULL when unset.

CREATE TABLE tenants (
    id         text        NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    slug       text        NOT NULL CONSTRAINT tenants_slug_key UNIQUE,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX tenants_created ON tenants (created_at, id);

CREATE TABLE users (
    id         text        NOT NULL PRIMARY KEY,
    tenant_id  text        NOT NULL CONSTRAINT users_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    email      text        NOT NULL,
    -- email_norm is the email lower-cased by the adapter (Unicode-aware).
    email_norm text        NOT NULL,
    name       text        NOT NULL,
    role       text        NOT NULL,
    disabled   boolean     NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT users_email_key UNIQUE (tenant_id, email_norm),
    CONSTRAINT users_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX users_created ON users (tenant_id, created_at, id);

CREATE TABLE api_tokens (
    id           text        NOT NULL PRIMARY KEY,
    tenant_id    text        NOT NULL CONSTRAINT api_tokens_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    -- user_id is NULL for a token without a user.
    user_id      text,
    name         text        NOT NULL,
    prefix       text        NOT NULL,
    hash         bytea       NOT NULL CONSTRAINT api_tokens_hash_key UNIQUE,
    scopes       text[],
    bot_ids      text[],
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL,
    CONSTRAINT api_tokens_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX api_tokens_created ON api_tokens (tenant_id, created_at, id);

CREATE TABLE bots (
    id                  text             NOT NULL PRIMARY KEY,
    tenant_id           text             NOT NULL CONSTRAINT bots_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    name                text             NOT NULL,
    description         text             NOT NULL,
    system_prompt       text             NOT NULL,
    model               text             NOT NULL,
    temperature         double precision NOT NULL,
    max_tokens          integer          NOT NULL,
    base_url            text             NOT NULL,
    active              boolean          NOT NULL,
    extractive_fallback boolean          NOT NULL,
    language            text             NOT NULL,
    -- credentials is the Fernet ciphertext, NULL when there is none.
    credentials         bytea,
    deleted_at          timestamptz,
    created_at          timestamptz      NOT NULL,
    updated_at          timestamptz      NOT NULL,
    CONSTRAINT bots_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX bots_created ON bots (tenant_id, created_at, id);

CREATE TABLE sources (
    id               text        NOT NULL PRIMARY KEY,
    tenant_id        text        NOT NULL,
    bot_id           text        NOT NULL,
    name             text        NOT NULL,
    type             text        NOT NULL,
    config           jsonb,
    status           text        NOT NULL,
    error            text        NOT NULL,
    document_count   integer     NOT NULL,
    chunk_count      integer     NOT NULL,
    last_ingested_at timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT sources_tenant_id_key UNIQUE (tenant_id, id),
    CONSTRAINT sources_bot_fk FOREIGN KEY (tenant_id, bot_id) REFERENCES bots (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sources_created ON sources (tenant_id, created_at, id);
CREATE INDEX sources_bot ON sources (tenant_id, bot_id, created_at, id);

CREATE TABLE documents (
    id           text        NOT NULL PRIMARY KEY,
    tenant_id    text        NOT NULL,
    bot_id       text        NOT NULL,
    source_id    text        NOT NULL,
    key          text        NOT NULL,
    title        text        NOT NULL,
    uri          text        NOT NULL,
    content_hash text        NOT NULL,
    byte_size    bigint      NOT NULL,
    token_count  integer     NOT NULL,
    chunk_count  integer     NOT NULL,
    metadata     jsonb,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT documents_source_key UNIQUE (source_id, key),
    CONSTRAINT documents_tenant_id_key UNIQUE (tenant_id, id),
    CONSTRAINT documents_source_fk FOREIGN KEY (tenant_id, source_id) REFERENCES sources (tenant_id, id) ON DELETE CASCADE
);

-- chunks carry their document's title and the text-search configuration
-- (the bot's language) so that tsv, the full-text vector over text and
-- title, is a generated column: text weighs A, title B.
CREATE TABLE chunks (
    id           text        NOT NULL PRIMARY KEY,
    tenant_id    text        NOT NULL,
    bot_id       text        NOT NULL,
    source_id    text        NOT NULL,
    document_id  text        NOT NULL,
    ordinal      integer     NOT NULL,
    text         text        NOT NULL,
    token_count  integer     NOT NULL,
    start_offset integer     NOT NULL,
    end_offset   integer     NOT NULL,
    heading_path jsonb,
    title        text        NOT NULL,
    lang         regconfig   NOT NULL,
    tsv          tsvector    GENERATED ALWAYS AS (
                     setweight(to_tsvector(lang, text), 'A') || setweight(to_tsvector(lang, title), 'B')) STORED,
    CONSTRAINT chunks_document_fk FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX chunks_document ON chunks (document_id, ordinal);
CREATE INDEX chunks_tenant ON chunks (tenant_id, bot_id, source_id);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);

CREATE TABLE jobs (
    id               text        NOT NULL PRIMARY KEY,
    tenant_id        text        NOT NULL,
    source_id        text        NOT NULL,
    kind             text        NOT NULL,
    status           text        NOT NULL,
    attempts         integer     NOT NULL,
    max_attempts     integer     NOT NULL,
    run_at           timestamptz NOT NULL,
    lease_owner      text        NOT NULL,
    lease_expires_at timestamptz,
    last_error       text        NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    CONSTRAINT jobs_source_fk FOREIGN KEY (tenant_id, source_id) REFERENCES sources (tenant_id, id) ON DELETE CASCADE
);
-- The claim query reads these two partial indexes.
CREATE INDEX jobs_queued ON jobs (run_at, created_at, id) WHERE status = 'queued';
CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_tenant ON jobs (tenant_id, source_id, created_at);
