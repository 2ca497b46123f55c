package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// PutDocument creates or replaces (by source and Key) a document and
// replaces all its chunks, in one transaction. A document that exists keeps
// its ID and CreatedAt. The stored document takes its BotID from the
// source and its ChunkCount from len(chunks); chunks take the document's
// tenant, bot, source and document IDs. An unknown source is
// record.ErrNotFound; a chunk ID used elsewhere is record.ErrConflict.
func (s *Store) PutDocument(ctx context.Context, d record.Document, chunks []record.Chunk) (record.Document, error) {
	const op = "put document"
	if err := checkTenant(ctx, op, d.TenantID); err != nil {
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
		return record.Document{}, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	var meta any
	if d.Metadata != nil {
		b, err := json.Marshal(d.Metadata)
		if err != nil {
			return record.Document{}, fmt.Errorf("sqlite: %s: %w", op, record.Invalid("metadata", err.Error()))
		}
		meta = string(b)
	}
	out := d
	out.Metadata = cloneMap(d.Metadata)
	out.ChunkCount = len(chunks)
	out.CreatedAt, out.UpdatedAt = fromTm(tm(d.CreatedAt)), fromTm(tm(d.UpdatedAt))
	err := s.withTx(ctx, func(tx *Store) error {
		err := tx.q.QueryRowContext(ctx, `SELECT bot_id FROM sources WHERE tenant_id = ? AND id = ?`, d.TenantID, d.SourceID).Scan(&out.BotID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: %s: source: %w", op, record.ErrNotFound)
		}
		if err != nil {
			return opErr(ctx, op, err)
		}
		var created int64
		err = tx.q.QueryRowContext(ctx, `SELECT id, created_at FROM documents WHERE source_id = ? AND key = ?`, d.SourceID, d.Key).Scan(&out.ID, &created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.q.ExecContext(ctx, `INSERT INTO documents (id, tenant_id, bot_id, source_id, key, title, uri, content_hash,
					byte_size, token_count, chunk_count, metadata, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				out.ID, out.TenantID, out.BotID, out.SourceID, out.Key, out.Title, out.URI, out.ContentHash,
				out.ByteSize, out.TokenCount, out.ChunkCount, meta, tm(out.CreatedAt), tm(out.UpdatedAt))
			if err != nil {
				return opErr(ctx, op, err)
			}
		case err != nil:
			return opErr(ctx, op, err)
		default:
			out.CreatedAt = fromTm(created)
			if _, err := tx.q.ExecContext(ctx, `DELETE FROM chunks WHERE document_id = ?`, out.ID); err != nil {
				return opErr(ctx, op, err)
			}
			_, err = tx.q.ExecContext(ctx, `UPDATE documents SET bot_id = ?, title = ?, uri = ?, content_hash = ?, byte_size = ?,
					token_count = ?, chunk_count = ?, metadata = ?, updated_at = ?
				WHERE id = ?`,
				out.BotID, out.Title, out.URI, out.ContentHash, out.ByteSize, out.TokenCount, out.ChunkCount, meta, tm(out.UpdatedAt), out.ID)
			if err != nil {
				return opErr(ctx, op, err)
			}
		}
		if len(chunks) == 0 {
			return nil
		}
		ins, err := tx.q.PrepareContext(ctx, `INSERT INTO chunks (id, tenant_id, bot_id, source_id, document_id, ordinal, text,
				token_count, start_offset, end_offset, heading_path)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return opErr(ctx, op, err)
		}
		defer ins.Close()
		for _, c := range chunks {
			_, err := ins.ExecContext(ctx, c.ID, out.TenantID, out.BotID, out.SourceID, out.ID, c.Ordinal, c.Text, c.TokenCount,
				c.Start, c.End, jsonList(c.HeadingPath))
			if err != nil {
				return opErr(ctx, op, err)
			}
		}
		return nil
	})
	if err != nil {
		return record.Document{}, err
	}
	return out, nil
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

const docCols = `id, tenant_id, bot_id, source_id, key, title, uri, content_hash, byte_size, token_count, chunk_count,
	metadata, created_at, updated_at`

func scanDoc(sc interface{ Scan(...any) error }) (record.Document, error) {
	var d record.Document
	var meta sql.NullString
	var c, u int64
	if err := sc.Scan(&d.ID, &d.TenantID, &d.BotID, &d.SourceID, &d.Key, &d.Title, &d.URI, &d.ContentHash, &d.ByteSize,
		&d.TokenCount, &d.ChunkCount, &meta, &c, &u); err != nil {
		return d, err
	}
	if meta.Valid {
		if err := json.Unmarshal([]byte(meta.String), &d.Metadata); err != nil {
			return d, fmt.Errorf("decoding stored metadata: %w", err)
		}
	}
	d.CreatedAt, d.UpdatedAt = fromTm(c), fromTm(u)
	return d, nil
}

// GetDocument returns a document of the tenant.
func (s *Store) GetDocument(ctx context.Context, tenantID, id string) (record.Document, error) {
	if err := checkTenant(ctx, "get document", tenantID); err != nil {
		return record.Document{}, err
	}
	d, err := scanDoc(s.q.QueryRowContext(ctx, `SELECT `+docCols+` FROM documents WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err != nil {
		return record.Document{}, opErr(ctx, "get document", err)
	}
	return d, nil
}

// ListDocuments lists a source's documents ordered by Key.
func (s *Store) ListDocuments(ctx context.Context, tenantID, sourceID string) ([]record.Document, error) {
	if err := checkTenant(ctx, "list documents", tenantID); err != nil {
		return nil, err
	}
	return queryList(ctx, s.q, "list documents", scanDoc,
		`SELECT `+docCols+` FROM documents WHERE tenant_id = ? AND source_id = ? ORDER BY key`, tenantID, sourceID)
}

// DeleteDocument deletes a document and its chunks.
func (s *Store) DeleteDocument(ctx context.Context, tenantID, id string) error {
	const op = "delete document"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `DELETE FROM documents WHERE tenant_id = ? AND id = ?`, tenantID, id)
	return affected(ctx, op, res, err)
}

const chunkCols = `id, tenant_id, bot_id, source_id, document_id, ordinal, text, token_count, start_offset, end_offset, heading_path`

func scanChunk(sc interface{ Scan(...any) error }) (record.Chunk, error) {
	var c record.Chunk
	var hp sql.NullString
	if err := sc.Scan(&c.ID, &c.TenantID, &c.BotID, &c.SourceID, &c.DocumentID, &c.Ordinal, &c.Text, &c.TokenCount,
		&c.Start, &c.End, &hp); err != nil {
		return c, err
	}
	var err error
	c.HeadingPath, err = fromJSONList[string](hp)
	return c, err
}

// ListChunks lists a document's chunks by ordinal.
func (s *Store) ListChunks(ctx context.Context, tenantID, documentID string) ([]record.Chunk, error) {
	if err := checkTenant(ctx, "list chunks", tenantID); err != nil {
		return nil, err
	}
	return queryList(ctx, s.q, "list chunks", scanChunk,
		`SELECT `+chunkCols+` FROM chunks WHERE tenant_id = ? AND document_id = ? ORDER BY ordinal, seq`, tenantID, documentID)
}

// batch is how many IDs go in one IN list.
const batch = 500

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// byIDs fetches rows by ID in batches and returns them in the order of
// ids, leaving out IDs not found and repeated IDs.
func byIDs[T any](ctx context.Context, q querier, op, tenantID string, ids []string, query string,
	scan func(interface{ Scan(...any) error }) (T, error), id func(T) string) ([]T, error) {
	found := make(map[string]T, len(ids))
	for start := 0; start < len(ids); start += batch {
		part := ids[start:min(start+batch, len(ids))]
		args := make([]any, 0, len(part)+1)
		args = append(args, tenantID)
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := queryList(ctx, q, op, scan, query+` WHERE tenant_id = ? AND id IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			found[id(r)] = r
		}
	}
	out := make([]T, 0, len(found))
	for _, i := range ids {
		if r, ok := found[i]; ok {
			out = append(out, r)
			delete(found, i)
		}
	}
	return out, nil
}

// GetChunks returns the chunks of the tenant with these IDs, in the order
// of ids; IDs not found, of another tenant, or repeated are left out.
func (s *Store) GetChunks(ctx context.Context, tenantID string, ids []string) ([]record.Chunk, error) {
	if err := checkTenant(ctx, "get chunks", tenantID); err != nil {
		return nil, err
	}
	return byIDs(ctx, s.q, "get chunks", tenantID, ids, `SELECT `+chunkCols+` FROM chunks`, scanChunk,
		func(c record.Chunk) string { return c.ID })
}

// GetDocuments returns the documents of the tenant with these IDs, in the
// order of ids; IDs not found, of another tenant, or repeated are left out.
func (s *Store) GetDocuments(ctx context.Context, tenantID string, ids []string) ([]record.Document, error) {
	if err := checkTenant(ctx, "get documents", tenantID); err != nil {
		return nil, err
	}
	return byIDs(ctx, s.q, "get documents", tenantID, ids, `SELECT `+docCols+` FROM documents`, scanDoc,
		func(d record.Document) string { return d.ID })
}

// Lexical search.

// DefaultLexicalLimit is the number of matches SearchLexical returns when
// the query's Limit is not positive.
const DefaultLexicalLimit = 10

// maxQueryTerms bounds the number of words of a lexical query.
const maxQueryTerms = 64

// ftsTerms turns user text into an FTS5 expression that matches any of its
// words: each word is quoted, so no character of the text is FTS5 syntax.
// It returns "" when the text has no words.
func ftsTerms(text string) string {
	words := strings.FieldsFunc(text, func(r rune) bool {
		// Combining marks stay with their letter (a decomposed "é").
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Mn, r)
	})
	seen := make(map[string]bool, len(words))
	var b strings.Builder
	n := 0
	for _, w := range words {
		w = strings.ToLower(w)
		if seen[w] {
			continue
		}
		seen[w] = true
		if n > 0 {
			b.WriteString(" OR ")
		}
		// Words hold only letters, digits and marks, so no quote needs
		// escaping.
		b.WriteString(`"` + w + `"`)
		n++
		if n == maxQueryTerms {
			break
		}
	}
	return b.String()
}

// scopeToken is the token of the chunks_fts scope column for an ID of a
// kind ('t' tenant, 'b' bot, 's' source); see migrations/0001_init.sql.
func scopeToken(kind byte, id string) string {
	return `"` + string(kind) + strings.ToUpper(hex.EncodeToString([]byte(id))) + `0"`
}

// ftsQuery is the full FTS5 query of q: its words, in text or title, of the
// rows of its tenant, bot and sources. It returns "" when the text has no
// words.
func ftsQuery(q storage.LexicalQuery) string {
	terms := ftsTerms(q.Text)
	if terms == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString("scope : " + scopeToken('t', q.TenantID))
	if q.BotID != "" {
		b.WriteString(" AND scope : " + scopeToken('b', q.BotID))
	}
	if len(q.SourceIDs) > 0 {
		b.WriteString(" AND scope : (")
		for i, id := range q.SourceIDs {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString(scopeToken('s', id))
		}
		b.WriteString(")")
	}
	b.WriteString(" AND {text title} : (" + terms + ")")
	return b.String()
}

// SearchLexical ranks the tenant's chunks against q.Text with BM25 over
// chunk text and document title (weights 1 and 0.5), best first. Score is
// the negated BM25 value, so higher is better. Text without words gives no
// matches; a Limit that is not positive means DefaultLexicalLimit.
func (s *Store) SearchLexical(ctx context.Context, q storage.LexicalQuery) ([]storage.LexicalMatch, error) {
	const op = "search lexical"
	if err := checkTenant(ctx, op, q.TenantID); err != nil {
		return nil, err
	}
	match := ftsQuery(q)
	if match == "" {
		return nil, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLexicalLimit
	}
	// FTS5 finds and ranks the rows of the query's scope; the join checks
	// the tenant, bot and sources again on the chunks themselves.
	query := `SELECT c.id, m.score
		FROM (SELECT rowid, -bm25(chunks_fts, 1.0, 0.5, 0.0) AS score FROM chunks_fts
			WHERE chunks_fts MATCH ? ORDER BY score DESC, rowid LIMIT ?) AS m
		JOIN chunks c ON c.seq = m.rowid
		WHERE c.tenant_id = ?`
	args := []any{match, limit, q.TenantID}
	if q.BotID != "" {
		query += ` AND c.bot_id = ?`
		args = append(args, q.BotID)
	}
	if len(q.SourceIDs) > 0 {
		query += ` AND c.source_id IN (` + placeholders(len(q.SourceIDs)) + `)`
		for _, id := range q.SourceIDs {
			args = append(args, id)
		}
	}
	query += ` ORDER BY m.score DESC, m.rowid`
	return queryList(ctx, s.q, op, func(sc interface{ Scan(...any) error }) (storage.LexicalMatch, error) {
		var m storage.LexicalMatch
		err := sc.Scan(&m.ChunkID, &m.Score)
		return m, err
	}, query, args...)
}
