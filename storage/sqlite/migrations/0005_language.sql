-- Language per bot (record.Bot.Language). FTS5 fixes the tokenizer per
-- table, so chunks are indexed in one of two tables by their bot's
-- language: chunks_fts ('porter unicode61', English stemming) when it is
-- English ('', 'english' or 'en', any case), chunks_fts_plain ('unicode61'
-- without stemming: Porter's rules are English and would mangle other
-- languages) otherwise. A search reads both. Changing a bot's language
-- re-indexes its chunks (UpdateBot touches them; the update trigger moves
-- them).

CREATE VIRTUAL TABLE chunks_fts_plain USING fts5 (
    text,
    title,
    scope,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

DROP TRIGGER chunks_fts_insert;
DROP TRIGGER chunks_fts_delete;
DROP TRIGGER chunks_fts_update;

CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks
WHEN coalesce(lower(trim((SELECT language FROM bots WHERE id = new.bot_id))), '') IN ('', 'english', 'en') BEGIN
    INSERT INTO chunks_fts (rowid, text, title, scope)
    VALUES (new.seq, new.text, (SELECT title FROM documents WHERE id = new.document_id),
            't' || hex(new.tenant_id) || '0 b' || hex(new.bot_id) || '0 s' || hex(new.source_id) || '0');
END;

CREATE TRIGGER chunks_fts_plain_insert AFTER INSERT ON chunks
WHEN coalesce(lower(trim((SELECT language FROM bots WHERE id = new.bot_id))), '') NOT IN ('', 'english', 'en') BEGIN
    INSERT INTO chunks_fts_plain (rowid, text, title, scope)
    VALUES (new.seq, new.text, (SELECT title FROM documents WHERE id = new.document_id),
            't' || hex(new.tenant_id) || '0 b' || hex(new.bot_id) || '0 s' || hex(new.source_id) || '0');
END;

CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
    DELETE FROM chunks_fts WHERE rowid = old.seq;
    DELETE FROM chunks_fts_plain WHERE rowid = old.seq;
END;

CREATE TRIGGER chunks_fts_update AFTER UPDATE OF tenant_id, bot_id, source_id, document_id, text ON chunks BEGIN
    DELETE FROM chunks_fts WHERE rowid = old.seq;
    DELETE FROM chunks_fts_plain WHERE rowid = old.seq;
    INSERT INTO chunks_fts (rowid, text, title, scope)
    SELECT new.seq, new.text, (SELECT title FROM documents WHERE id = new.document_id),
            't' || hex(new.tenant_id) || '0 b' || hex(new.bot_id) || '0 s' || hex(new.source_id) || '0'
    WHERE coalesce(lower(trim((SELECT language FROM bots WHERE id = new.bot_id))), '') IN ('', 'english', 'en');
    INSERT INTO chunks_fts_plain (rowid, text, title, scope)
    SELECT new.seq, new.text, (SELECT title FROM documents WHERE id = new.document_id),
            't' || hex(new.tenant_id) || '0 b' || hex(new.bot_id) || '0 s' || hex(new.source_id) || '0'
    WHERE coalesce(lower(trim((SELECT language FROM bots WHERE id = new.bot_id))), '') NOT IN ('', 'english', 'en');
END;

-- Chunks of bots whose language is not English move to chunks_fts_plain.
UPDATE chunks SET text = text
WHERE bot_id IN (SELECT id FROM bots WHERE lower(trim(language)) NOT IN ('', 'english', 'en'));
