-- BM25 ranking for lexical search (see the package documentation, "Lexical
-- search"). Three things are added:
--
-- 1. chunks.tsv_len, the number of token positions in tsv (text and title,
--    stop words left out): BM25's document length. tsv stops being a
--    generated column: a BEFORE trigger computes tsv and tsv_len together
--    (a generated column cannot feed another), from the same expression.
-- 2. lexeme_stats, the statistics BM25 needs, per tenant and bot: for each
--    lexeme the number of chunks holding it (df), and, under the empty
--    lexeme '', the number of chunks (df) and the sum of their tsv_len
--    (len).
-- 3. lexeme_deltas, the changes to lexeme_stats not folded in yet. AFTER
--    statement triggers on chunks append one row per (tenant, bot, lexeme)
--    a statement changed, in the writing transaction: writers never update
--    a shared row, so concurrent ingestion neither waits nor deadlocks on
--    the statistics, and a reader sees them exactly as consistent with the
--    chunks as its snapshot is. The store folds deltas into lexeme_stats
--    in one statement (DELETE … RETURNING into an upsert) under an advisory
--    lock per tenant; readers sum both tables.

ALTER TABLE chunks ALTER COLUMN tsv DROP EXPRESSION;
ALTER TABLE chunks ADD COLUMN tsv_len integer NOT NULL DEFAULT 0;

CREATE FUNCTION chunks_tsv() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.tsv := setweight(to_tsvector(NEW.lang, NEW.text), 'A') || setweight(to_tsvector(NEW.lang, NEW.title), 'B');
    NEW.tsv_len := coalesce((SELECT sum(coalesce(array_length(u.positions, 1), 1)) FROM unnest(NEW.tsv) AS u), 0);
    RETURN NEW;
END
$$;

CREATE TRIGGER chunks_tsv BEFORE INSERT OR UPDATE OF text, title, lang, tsv ON chunks
    FOR EACH ROW EXECUTE FUNCTION chunks_tsv();

UPDATE chunks SET tsv = NULL;

CREATE TABLE lexeme_stats (
    tenant_id text   NOT NULL,
    lexeme    text   NOT NULL,
    bot_id    text   NOT NULL,
    df        bigint NOT NULL,
    len       bigint NOT NULL,
    PRIMARY KEY (tenant_id, lexeme, bot_id)
);

CREATE TABLE lexeme_deltas (
    tenant_id text   NOT NULL,
    lexeme    text   NOT NULL,
    bot_id    text   NOT NULL,
    df        bigint NOT NULL,
    len       bigint NOT NULL
);
CREATE INDEX lexeme_deltas_key ON lexeme_deltas (tenant_id, lexeme, bot_id);

-- The trigger function runs with the search_path of the migration's
-- schema, wherever the writing session's search_path points.
CREATE FUNCTION chunks_lexeme_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO lexeme_deltas (tenant_id, lexeme, bot_id, df, len)
        SELECT o.tenant_id, l.lexeme, o.bot_id, -count(*), 0
            FROM old_rows o, unnest(tsvector_to_array(o.tsv)) AS l(lexeme) GROUP BY 1, 2, 3
        UNION ALL
        SELECT o.tenant_id, '', o.bot_id, -count(*), -sum(o.tsv_len) FROM old_rows o GROUP BY 1, 3;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO lexeme_deltas (tenant_id, lexeme, bot_id, df, len)
        SELECT n.tenant_id, l.lexeme, n.bot_id, count(*), 0
            FROM new_rows n, unnest(tsvector_to_array(n.tsv)) AS l(lexeme) GROUP BY 1, 2, 3
        UNION ALL
        SELECT n.tenant_id, '', n.bot_id, count(*), sum(n.tsv_len) FROM new_rows n GROUP BY 1, 3;
    END IF;
    RETURN NULL;
END
$$;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION chunks_lexeme_stats() SET search_path = %I, pg_catalog', current_schema());
END
$$;

CREATE TRIGGER chunks_lexeme_stats_insert AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_lexeme_stats();
CREATE TRIGGER chunks_lexeme_stats_update AFTER UPDATE ON chunks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_lexeme_stats();
CREATE TRIGGER chunks_lexeme_stats_delete AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_lexeme_stats();

-- The chunks written before this migration.
INSERT INTO lexeme_stats (tenant_id, lexeme, bot_id, df, len)
SELECT c.tenant_id, l.lexeme, c.bot_id, count(*), 0
    FROM chunks c, unnest(tsvector_to_array(c.tsv)) AS l(lexeme) GROUP BY 1, 2, 3
UNION ALL
SELECT c.tenant_id, '', c.bot_id, count(*), sum(c.tsv_len) FROM chunks c GROUP BY 1, 3;
DELETE FROM lexeme_deltas;
