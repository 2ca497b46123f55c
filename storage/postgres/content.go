package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Sources.

// checkBot returns a *record.ValidationError naming "bot_id" unless botID
// is a live bot of the tenant.
func (s *Store) checkBot(ctx context.Context, op, tenantID, botID string) error {
	if botID == "" {
		return fmt.Errorf("postgres: %s: %w", op, record.Invalid("bot_id", "is required"))
	}
	var ok bool
	err := s.q.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM @.bots WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL)`),
		tenantID, botID).Scan(&ok)
	if err != nil {
		return wrapErr(ctx, op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, record.Invalid("bot_id", "is not a bot of the tenant"))
	}
	return nil
}

func configArg(op string, c json.RawMessage) (any, error) {
	if len(c) == 0 {
		return nil, nil
	}
	if !json.Valid(c) {
		return nil, fmt.Errorf("postgres: %s: %w", op, record.Invalid("config", "is not valid JSON"))
	}
	return string(c), nil
}

// CreateSource stores s. A BotID that is not a live bot of the tenant is
// an error naming "bot_id".
func (s *Store) CreateSource(ctx context.Context, src record.Source) error {
	const op = "create source"
	if err := begin(ctx, op, src.TenantID); err != nil {
		return err
	}
	if src.ID == "" {
		return fmt.Errorf("postgres: %s: %w", op, record.Invalid("id", "is required"))
	}
	cfg, err := configArg(op, src.Config)
	if err != nil {
		return err
	}
	// The check and the insert in one statement: the bot cannot be
	// soft-deleted in between.
	tag, err := s.q.Exec(ctx, s.sql(`INSERT INTO @.sources (id, tenant_id, bot_id, name, type, config, status, error,
			document_count, chunk_count, last_ingested_at, created_at, updated_at)
		SELECT $1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13
		WHERE EXISTS (SELECT 1 FROM @.bots WHERE tenant_id = $2 AND id = $3 AND deleted_at IS NULL)`),
		src.ID, src.TenantID, src.BotID, src.Name, string(src.Type), cfg, string(src.Status), src.Error,
		src.DocumentCount, src.ChunkCount, src.LastIngestedAt, src.CreatedAt, src.UpdatedAt)
	if err != nil {
		return wrapErr(ctx, op, err)
	}
	if tag.RowsAffected() == 0 {
		return s.checkBot(ctx, op, src.TenantID, src.BotID)
	}
	return nil
}

const sourceCols = `id, tenant_id, bot_id, name, type, config, status, error, document_count, chunk_count,
	last_ingested_at, created_at, updated_at`

func scanSource(r pgx.Row) (record.Source, error) {
	var src record.Source
	var typ, status string
	var cfg []byte
	err := r.Scan(&src.ID, &src.TenantID, &src.BotID, &src.Name, &typ, &cfg, &status, &src.Error, &src.DocumentCount,
		&src.ChunkCount, &src.LastIngestedAt, &src.CreatedAt, &src.UpdatedAt)
	src.Type, src.Status = record.SourceType(typ), record.SourceStatus(status)
	if cfg != nil {
		src.Config = json.RawMessage(cfg)
	}
	src.LastIngestedAt, src.CreatedAt, src.UpdatedAt = utcPtr(src.LastIngestedAt), utc(src.CreatedAt), utc(src.UpdatedAt)
	return src, err
}

// GetSource returns a source of the tenant.
func (s *Store) GetSource(ctx context.Context, tenantID, id string) (record.Source, error) {
	const op = "get source"
	if err := begin(ctx, op, tenantID); err != nil {
		return record.Source{}, err
	}
	return one(ctx, s, op, scanSource, `SELECT `+sourceCols+` FROM @.sources WHERE tenant_id = $1 AND id = $2`, tenantID, id)
}

// ListSources lists a tenant's sources, oldest first, only botID's when it
// is not empty.
func (s *Store) ListSources(ctx context.Context, tenantID, botID string) ([]record.Source, error) {
	const op = "list sources"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	if botID != "" {
		return list(ctx, s, op, scanSource, `SELECT `+sourceCols+` FROM @.sources WHERE tenant_id = $1 AND bot_id = $2 ORDER BY created_at, id`,
			tenantID, botID)
	}
	return list(ctx, s, op, scanSource, `SELECT `+sourceCols+` FROM @.sources WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
}

// UpdateSource writes s's BotID, Name, Type, Config and UpdatedAt (BotID
// checked as in CreateSource). When the bot changes, the source's
// documents and chunks move to the new bot too.
func (s *Store) UpdateSource(ctx context.Context, src record.Source) error {
	const op = "update source"
	if err := begin(ctx, op, src.TenantID); err != nil {
		return err
	}
	cfg, err := configArg(op, src.Config)
	if err != nil {
		return err
	}
	var exists bool
	if err := s.q.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM @.sources WHERE tenant_id = $1 AND id = $2)`),
		src.TenantID, src.ID).Scan(&exists); err != nil {
		return wrapErr(ctx, op, err)
	}
	if !exists {
		return fmt.Errorf("postgres: %s: %w", op, record.ErrNotFound)
	}
	defer s.wrote(ctx, src.TenantID)
	return s.tx(ctx, op, func(tx *Store) error {
		tag, err := tx.q.Exec(ctx, tx.sql(`UPDATE @.sources SET bot_id = $3, name = $4, type = $5, config = $6::jsonb, updated_at = $7
		WHERE tenant_id = $1 AND id = $2
		AND EXISTS (SELECT 1 FROM @.bots WHERE tenant_id = $1 AND id = $3 AND deleted_at IS NULL)`),
			src.TenantID, src.ID, src.BotID, src.Name, string(src.Type), cfg, src.UpdatedAt)
		if err != nil {
			return wrapErr(ctx, op, err)
		}
		if tag.RowsAffected() == 0 {
			if err := tx.checkBot(ctx, op, src.TenantID, src.BotID); err != nil {
				return err
			}
			return fmt.Errorf("postgres: %s: %w", op, record.ErrNotFound)
		}
		// The source's documents and chunks move with it to the new bot
		// (as in storage/sqlite): search scopes them by their own bot_id.
		// Chunks are re-indexed in the new bot's language.
		if _, err := tx.q.Exec(ctx, tx.sql(`UPDATE @.documents SET bot_id = $3 WHERE tenant_id = $1 AND source_id = $2 AND bot_id <> $3`),
			src.TenantID, src.ID, src.BotID); err != nil {
			return wrapErr(ctx, op, err)
		}
		var botLang string
		if err := tx.q.QueryRow(ctx, tx.sql(`SELECT language FROM @.bots WHERE tenant_id = $1 AND id = $2`), src.TenantID, src.BotID).Scan(&botLang); err != nil {
			return wrapErr(ctx, op, err)
		}
		lang, ok, err := tx.language(ctx, botLang)
		if err != nil {
			return wrapErr(ctx, op, err)
		}
		if !ok {
			lang = DefaultLanguage
		}
		if _, err := tx.q.Exec(ctx, tx.sql(`UPDATE @.chunks SET bot_id = $3, lang = $4::regconfig
			WHERE tenant_id = $1 AND source_id = $2 AND (bot_id <> $3 OR lang <> $4::regconfig)`),
			src.TenantID, src.ID, src.BotID, lang); err != nil {
			return wrapErr(ctx, op, err)
		}
		return nil
	})
}

// SetSourceState writes a source's ingestion state.
func (s *Store) SetSourceState(ctx context.Context, tenantID, id string, st record.SourceState) error {
	const op = "set source state"
	if err := begin(ctx, op, tenantID); err != nil {
		return err
	}
	return s.exec(ctx, op, `UPDATE @.sources SET status = $3, error = $4, document_count = $5, chunk_count = $6,
			last_ingested_at = $7, updated_at = $8
		WHERE tenant_id = $1 AND id = $2`,
		tenantID, id, string(st.Status), st.Error, st.DocumentCount, st.ChunkCount, st.LastIngestedAt, st.UpdatedAt)
}

// DeleteSource deletes a source with its documents, chunks and jobs (by
// foreign keys ON DELETE CASCADE).
func (s *Store) DeleteSource(ctx context.Context, tenantID, id string) error {
	const op = "delete source"
	if err := begin(ctx, op, tenantID); err != nil {
		return err
	}
	if err := s.exec(ctx, op, `DELETE FROM @.sources WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
		return err
	}
	s.wrote(ctx, tenantID)
	return nil
}

// Documents.

// language returns a validated text-search configuration name for name:
// DefaultLanguage when empty, ok=false when no such configuration exists.
func (s *Store) language(ctx context.Context, name string) (string, bool, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return DefaultLanguage, true, nil
	}
	if !langRE.MatchString(name) {
		return "", false, nil
	}
	if ok, found := s.langs.Load(name); found {
		return name, ok.(bool), nil
	}
	var ok bool
	err := s.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_ts_config c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
		WHERE c.cfgname = $1 AND n.nspname = 'pg_catalog')`, name).Scan(&ok)
	if err != nil {
		return "", false, err
	}
	s.langs.Store(name, ok)
	return name, ok, nil
}

// botLanguage validates a bot's Language: empty (DefaultLanguage) or the
// name of a text search configuration of the server (pg_ts_config, in
// pg_catalog); anything else is record.ErrInvalidInput naming "language".
// It returns the configuration's name.
func (s *Store) botLanguage(ctx context.Context, op, name string) (string, error) {
	lang, ok, err := s.language(ctx, name)
	if err != nil {
		return "", wrapErr(ctx, op, err)
	}
	if !ok {
		return "", fmt.Errorf("postgres: %s: %w", op, record.Invalid("language",
			"is not a text search configuration of this PostgreSQL server (pg_ts_config): for example english, simple, german"))
	}
	return lang, nil
}

// PutDocument creates or replaces (by source and Key) a document and
// replaces all its chunks, in one transaction. A document that exists keeps
// its ID and CreatedAt. The stored document takes its BotID from the
// source and its ChunkCount from len(chunks); chunks take the document's
// tenant, bot, source and document IDs. An unknown source is
// record.ErrNotFound; a chunk ID used elsewhere is record.ErrConflict.
func (s *Store) PutDocument(ctx context.Context, d record.Document, chunks []record.Chunk) (record.Document, error) {
	const op = "put document"
	if err := begin(ctx, op, d.TenantID); err != nil {
		return record.Document{}, err
	}
	var v record.ValidationError
	if d.ID == "" {
		v.Add("id", "is required")
	}
	if d.SourceID == "" {
		v.Add("source_id", "is required")
	}
	if d.Key == "" {
		v.Add("key", "is required")
	}
	for i, c := range chunks {
		if c.ID == "" {
			v.Add(fmt.Sprintf("chunks[%d].id", i), "is required")
		}
	}
	if err := v.Err(); err != nil {
		return record.Document{}, fmt.Errorf("postgres: %s: %w", op, err)
	}
	meta, err := marshalMap(d.Metadata)
	if err != nil {
		return record.Document{}, fmt.Errorf("postgres: %s: %w", op, record.Invalid("metadata", "cannot be encoded"))
	}
	n := len(chunks)
	ids := make([]string, n)
	ords := make([]int32, n)
	texts := make([]string, n)
	toks := make([]int32, n)
	starts := make([]int32, n)
	ends := make([]int32, n)
	heads := make([]*string, n)
	for i, c := range chunks {
		ids[i], ords[i], texts[i], toks[i], starts[i], ends[i] = c.ID, int32(c.Ordinal), c.Text, int32(c.TokenCount), int32(c.Start), int32(c.End)
		if c.HeadingPath != nil {
			b, err := json.Marshal(c.HeadingPath)
			if err != nil {
				return record.Document{}, fmt.Errorf("postgres: %s: %w", op, record.Invalid(fmt.Sprintf("chunks[%d].heading_path", i), "cannot be encoded"))
			}
			h := string(b)
			heads[i] = &h
		}
	}
	out := d
	out.Metadata = d.Metadata.Clone()
	out.ChunkCount = n
	out.CreatedAt, out.UpdatedAt = utc(usec(d.CreatedAt)), utc(usec(d.UpdatedAt))
	err = s.tx(ctx, op, func(tx *Store) error {
		var botLang string
		err := tx.q.QueryRow(ctx, tx.sql(`SELECT s.bot_id, coalesce(b.language, '') FROM @.sources s
			LEFT JOIN @.bots b ON b.tenant_id = s.tenant_id AND b.id = s.bot_id
			WHERE s.tenant_id = $1 AND s.id = $2`), d.TenantID, d.SourceID).Scan(&out.BotID, &botLang)
		if err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("postgres: %s: source: %w", op, record.ErrNotFound)
			}
			return wrapErr(ctx, op, err)
		}
		lang, ok, err := tx.language(ctx, botLang)
		if err != nil {
			return wrapErr(ctx, op, err)
		}
		if !ok {
			lang = DefaultLanguage
		}
		var created time.Time
		err = tx.q.QueryRow(ctx, tx.sql(`INSERT INTO @.documents (id, tenant_id, bot_id, source_id, key, title, uri, content_hash,
				byte_size, token_count, chunk_count, metadata, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14)
			ON CONFLICT (source_id, key) DO UPDATE SET bot_id = EXCLUDED.bot_id, title = EXCLUDED.title, uri = EXCLUDED.uri,
				content_hash = EXCLUDED.content_hash, byte_size = EXCLUDED.byte_size, token_count = EXCLUDED.token_count,
				chunk_count = EXCLUDED.chunk_count, metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at
			RETURNING id, created_at`),
			out.ID, out.TenantID, out.BotID, out.SourceID, out.Key, out.Title, out.URI, out.ContentHash,
			out.ByteSize, out.TokenCount, out.ChunkCount, meta, out.CreatedAt, out.UpdatedAt).Scan(&out.ID, &created)
		if err != nil {
			return wrapErr(ctx, op, err)
		}
		out.CreatedAt = utc(created)
		if _, err := tx.q.Exec(ctx, tx.sql(`DELETE FROM @.chunks WHERE document_id = $1`), out.ID); err != nil {
			return wrapErr(ctx, op, err)
		}
		if n == 0 {
			return nil
		}
		_, err = tx.q.Exec(ctx, tx.sql(`INSERT INTO @.chunks (id, tenant_id, bot_id, source_id, document_id, ordinal, text,
				token_count, start_offset, end_offset, heading_path, title, lang)
			SELECT u.id, $1, $2, $3, $4, u.ord, u.txt, u.tok, u.st, u.en, u.hp::jsonb, $5, $6::regconfig
			FROM unnest($7::text[], $8::int[], $9::text[], $10::int[], $11::int[], $12::int[], $13::text[])
				AS u(id, ord, txt, tok, st, en, hp)`),
			out.TenantID, out.BotID, out.SourceID, out.ID, out.Title, lang, ids, ords, texts, toks, starts, ends, heads)
		return wrapErr(ctx, op, err)
	})
	if err != nil {
		return record.Document{}, err
	}
	s.wrote(ctx, d.TenantID)
	return out, nil
}

const docCols = `id, tenant_id, bot_id, source_id, key, title, uri, content_hash, byte_size, token_count, chunk_count,
	metadata, created_at, updated_at`

func scanDoc(r pgx.Row) (record.Document, error) {
	var d record.Document
	var meta []byte
	err := r.Scan(&d.ID, &d.TenantID, &d.BotID, &d.SourceID, &d.Key, &d.Title, &d.URI, &d.ContentHash, &d.ByteSize,
		&d.TokenCount, &d.ChunkCount, &meta, &d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return d, err
	}
	if meta != nil {
		if err := json.Unmarshal(meta, &d.Metadata); err != nil {
			return d, fmt.Errorf("decoding stored metadata: %w", err)
		}
	}
	d.CreatedAt, d.UpdatedAt = utc(d.CreatedAt), utc(d.UpdatedAt)
	return d, nil
}

// GetDocument returns a document of the tenant.
func (s *Store) GetDocument(ctx context.Context, tenantID, id string) (record.Document, error) {
	const op = "get document"
	if err := begin(ctx, op, tenantID); err != nil {
		return record.Document{}, err
	}
	return one(ctx, s, op, scanDoc, `SELECT `+docCols+` FROM @.documents WHERE tenant_id = $1 AND id = $2`, tenantID, id)
}

// ListDocuments lists a source's documents ordered by Key.
func (s *Store) ListDocuments(ctx context.Context, tenantID, sourceID string) ([]record.Document, error) {
	const op = "list documents"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	return list(ctx, s, op, scanDoc, `SELECT `+docCols+` FROM @.documents WHERE tenant_id = $1 AND source_id COLLATE "C" = $2 ORDER BY key COLLATE "C", id`,
		tenantID, sourceID)
}

// GetDocumentByKey returns the document of a source with this Key
// (compared byte-wise): one probe of the unique index on (source_id, key).
// A source not of the tenant is record.ErrNotFound.
func (s *Store) GetDocumentByKey(ctx context.Context, tenantID, sourceID, key string) (record.Document, error) {
	const op = "get document by key"
	if err := begin(ctx, op, tenantID); err != nil {
		return record.Document{}, err
	}
	return one(ctx, s, op, scanDoc, `SELECT `+docCols+` FROM @.documents WHERE source_id = $2 AND key = $3 AND tenant_id = $1`,
		tenantID, sourceID, key)
}

// DeleteDocument deletes a document and its chunks.
func (s *Store) DeleteDocument(ctx context.Context, tenantID, id string) error {
	const op = "delete document"
	if err := begin(ctx, op, tenantID); err != nil {
		return err
	}
	if err := s.exec(ctx, op, `DELETE FROM @.documents WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
		return err
	}
	s.wrote(ctx, tenantID)
	return nil
}

const chunkCols = `id, tenant_id, bot_id, source_id, document_id, ordinal, text, token_count, start_offset, end_offset, heading_path`

func scanChunk(r pgx.Row) (record.Chunk, error) {
	var c record.Chunk
	var hp []byte
	err := r.Scan(&c.ID, &c.TenantID, &c.BotID, &c.SourceID, &c.DocumentID, &c.Ordinal, &c.Text, &c.TokenCount,
		&c.Start, &c.End, &hp)
	if err != nil {
		return c, err
	}
	if hp != nil {
		if err := json.Unmarshal(hp, &c.HeadingPath); err != nil {
			return c, fmt.Errorf("decoding stored heading path: %w", err)
		}
	}
	return c, nil
}

// ListChunks lists a document's chunks by ordinal.
func (s *Store) ListChunks(ctx context.Context, tenantID, documentID string) ([]record.Chunk, error) {
	const op = "list chunks"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	return list(ctx, s, op, scanChunk, `SELECT `+chunkCols+` FROM @.chunks WHERE tenant_id = $1 AND document_id = $2 ORDER BY ordinal, id`,
		tenantID, documentID)
}

// GetChunks returns the chunks with these IDs in the tenant, in the order
// of ids (each once); IDs not found or of another tenant are left out.
func (s *Store) GetChunks(ctx context.Context, tenantID string, ids []string) ([]record.Chunk, error) {
	const op = "get chunks"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []record.Chunk{}, nil
	}
	found, err := list(ctx, s, op, scanChunk, `SELECT `+chunkCols+` FROM @.chunks WHERE tenant_id = $1 AND id = ANY($2::text[])`, tenantID, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]record.Chunk, len(found))
	for _, c := range found {
		byID[c.ID] = c
	}
	out := make([]record.Chunk, 0, len(found))
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, c)
			delete(byID, id)
		}
	}
	return out, nil
}

// GetDocuments returns the documents with these IDs in the tenant; IDs not
// found are left out.
func (s *Store) GetDocuments(ctx context.Context, tenantID string, ids []string) ([]record.Document, error) {
	const op = "get documents"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []record.Document{}, nil
	}
	return list(ctx, s, op, scanDoc, `SELECT `+docCols+` FROM @.documents WHERE tenant_id = $1 AND id = ANY($2::text[]) ORDER BY id`, tenantID, ids)
}

// GetChunksWithDocuments returns the chunks with these IDs in the tenant,
// each with its document, in the order of ids (each once); IDs not found
// or of another tenant are left out. One query: the chunks by (tenant_id,
// id), each document by its key.
func (s *Store) GetChunksWithDocuments(ctx context.Context, tenantID string, ids []string) ([]storage.ChunkWithDocument, error) {
	const op = "get chunks with documents"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []storage.ChunkWithDocument{}, nil
	}
	found, err := list(ctx, s, op, func(r pgx.Row) (storage.ChunkWithDocument, error) {
		var cd storage.ChunkWithDocument
		var err error
		cd.Chunk, cd.Document, err = scanPair(r, scanChunk, scanDoc)
		return cd, err
	}, `SELECT `+qualify("c.", chunkCols)+`, `+qualify("d.", docCols)+`
		FROM @.chunks c JOIN @.documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id
		WHERE c.tenant_id = $1 AND c.id = ANY($2::text[])`, tenantID, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]storage.ChunkWithDocument, len(found))
	for _, cd := range found {
		byID[cd.Chunk.ID] = cd
	}
	out := make([]storage.ChunkWithDocument, 0, len(found))
	for _, id := range ids {
		if cd, ok := byID[id]; ok {
			out = append(out, cd)
			delete(byID, id)
		}
	}
	return out, nil
}

// qualify returns the comma-separated column list cols with each column
// prefixed (by a table alias and a dot).
func qualify(prefix, cols string) string {
	fields := strings.Split(cols, ",")
	for i, f := range fields {
		fields[i] = prefix + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// scanFunc is a pgx.Row made of its Scan method.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// scanPair scans a row made of a's columns then b's with the scan
// functions of each: a's Scan call, from inside sa, runs sb, whose Scan
// call scans the row into both destination lists at once; each then
// finishes its value as when it scans a row of its own.
func scanPair[A, B any](r pgx.Row, sa func(pgx.Row) (A, error), sb func(pgx.Row) (B, error)) (A, B, error) {
	var b B
	a, err := sa(scanFunc(func(da ...any) error {
		var err error
		b, err = sb(scanFunc(func(db ...any) error {
			return r.Scan(append(da[:len(da):len(da)], db...)...)
		}))
		return err
	}))
	return a, b, err
}

// hasWord reports whether text has a letter or digit (else no query can
// match, and PostgreSQL would only log a notice).
func hasWord(text string) bool {
	for _, r := range text {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127 {
			return true
		}
	}
	return false
}
