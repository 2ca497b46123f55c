-- Conversations, feedback, the usage ledger and request-rate windows; per-bot
-- follow-up rewriting and reranking.

ALTER TABLE bots ADD COLUMN rewrite_follow_ups INTEGER NOT NULL DEFAULT 0;
-- rerank is the JSON of record.BotRerank, NULL when the bot has none.
ALTER TABLE bots ADD COLUMN rerank TEXT;

CREATE TABLE conversations (
    id            TEXT    NOT NULL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bot_id        TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    end_user_id   TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    message_count INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, bot_id) REFERENCES bots (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX conversations_updated ON conversations (tenant_id, updated_at DESC, id DESC);
CREATE INDEX conversations_bot ON conversations (tenant_id, bot_id, updated_at DESC, id DESC);

CREATE TABLE conversation_messages (
    id                TEXT    NOT NULL PRIMARY KEY,
    tenant_id         TEXT    NOT NULL,
    conversation_id   TEXT    NOT NULL,
    seq               INTEGER NOT NULL,
    role              TEXT    NOT NULL,
    content           TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    error             TEXT    NOT NULL,
    query             TEXT    NOT NULL,
    citations         TEXT,
    model             TEXT    NOT NULL,
    latency_ms        INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    extractive        INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    UNIQUE (tenant_id, id),
    UNIQUE (conversation_id, seq),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE feedback (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL,
    bot_id          TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    message_id      TEXT    NOT NULL UNIQUE,
    rating          INTEGER NOT NULL,
    comment         TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    end_user_id     TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, message_id) REFERENCES conversation_messages (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX feedback_bot ON feedback (tenant_id, bot_id, updated_at DESC, id DESC);
CREATE INDEX feedback_updated ON feedback (tenant_id, updated_at DESC, id DESC);

CREATE TABLE usage_daily (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day           INTEGER NOT NULL,
    bot_id        TEXT    NOT NULL,
    model         TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    requests      INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day, bot_id, model, kind)
);

CREATE TABLE request_windows (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    window_start INTEGER NOT NULL,
    requests     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, window_start)
);
