-- MiniRAG PostgreSQL schema, version 2: conversations, feedback, the usage
-- ledger and request-rate windows; per-bot follow-up rewriting and
-- reranking.

ALTER TABLE bots ADD COLUMN rewrite_follow_ups boolean NOT NULL DEFAULT false;
-- rerank is record.BotRerank, NULL when the bot has none.
ALTER TABLE bots ADD COLUMN rerank jsonb;

CREATE TABLE conversations (
    id            text        NOT NULL PRIMARY KEY,
    tenant_id     text        NOT NULL CONSTRAINT conversations_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    bot_id        text        NOT NULL,
    user_id       text        NOT NULL,
    end_user_id   text        NOT NULL,
    title         text        NOT NULL,
    message_count integer     NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT conversations_tenant_id_key UNIQUE (tenant_id, id),
    CONSTRAINT conversations_bot_fk FOREIGN KEY (tenant_id, bot_id) REFERENCES bots (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX conversations_updated ON conversations (tenant_id, updated_at DESC, id DESC);
CREATE INDEX conversations_bot ON conversations (tenant_id, bot_id, updated_at DESC, id DESC);

CREATE TABLE conversation_messages (
    id                text        NOT NULL PRIMARY KEY,
    tenant_id         text        NOT NULL,
    conversation_id   text        NOT NULL,
    seq               integer     NOT NULL,
    role              text        NOT NULL,
    content           text        NOT NULL,
    status            text        NOT NULL,
    error             text        NOT NULL,
    query             text        NOT NULL,
    citations         jsonb,
    model             text        NOT NULL,
    latency_ms        bigint      NOT NULL,
    prompt_tokens     integer     NOT NULL,
    completion_tokens integer     NOT NULL,
    extractive        boolean     NOT NULL,
    created_at        timestamptz NOT NULL,
    CONSTRAINT conversation_messages_tenant_id_key UNIQUE (tenant_id, id),
    CONSTRAINT conversation_messages_seq_key UNIQUE (conversation_id, seq),
    CONSTRAINT conversation_messages_conversation_fk FOREIGN KEY (tenant_id, conversation_id)
        REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE feedback (
    id              text        NOT NULL PRIMARY KEY,
    tenant_id       text        NOT NULL,
    bot_id          text        NOT NULL,
    conversation_id text        NOT NULL,
    message_id      text        NOT NULL CONSTRAINT feedback_message_key UNIQUE,
    rating          integer     NOT NULL,
    comment         text        NOT NULL,
    user_id         text        NOT NULL,
    end_user_id     text        NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT feedback_message_fk FOREIGN KEY (tenant_id, message_id)
        REFERENCES conversation_messages (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX feedback_bot ON feedback (tenant_id, bot_id, updated_at DESC, id DESC);
CREATE INDEX feedback_updated ON feedback (tenant_id, updated_at DESC, id DESC);

CREATE TABLE usage_daily (
    tenant_id     text   NOT NULL CONSTRAINT usage_daily_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    day           date   NOT NULL,
    bot_id        text   NOT NULL,
    model         text   NOT NULL,
    kind          text   NOT NULL,
    requests      bigint NOT NULL,
    input_tokens  bigint NOT NULL,
    output_tokens bigint NOT NULL,
    PRIMARY KEY (tenant_id, day, bot_id, model, kind)
);

CREATE TABLE request_windows (
    tenant_id    text        NOT NULL CONSTRAINT request_windows_tenant_fk REFERENCES tenants (id) ON DELETE CASCADE,
    window_start timestamptz NOT NULL,
    requests     integer     NOT NULL,
    PRIMARY KEY (tenant_id, window_start)
);
