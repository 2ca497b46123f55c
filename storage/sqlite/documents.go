package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
	validateDoc(&v, "", d, chunks)
	if err := v.Err(); err != nil {
		return record.Document{}, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	meta, err := encodeMeta(d.Metadata)
	if err != nil {
		return record.Document{}, fmt.Errorf("sqlite: %s: %w", op, record.Invalid("metadata", err.Error()))
	}
	var out record.Document
	err = s.withTx(ctx, func(tx *Store) error {
		w := docWriter{tx: tx}
		defer w.close()
		if err := w.put(ctx, 0, d, chunks, meta, &out); err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		if cerr := w.flush(ctx, true); cerr != nil {
			return fmt.Errorf("sqlite: %s: %w", op, cerr.err)
		}
		return nil
	})
	if err != nil {
		return record.Document{}, err
	}
	return out, nil
}

// Compile-time check that Store offers the batch capability.
var _ storage.DocumentBatcher = (*Store)(nil)

// PutDocuments stores each item as PutDocument would, in order, in one
// transaction (a savepoint within InTx): all of them or, on any error, none.
// Its statements are prepared once for the whole batch, and the full-text
// index takes the batch's rows in one update (FTS5 writes its pending
// terms out at each transaction or savepoint end, which is what makes one
// PutDocument per document cost more). Errors name the item's index and
// key; invalid input names fields as "documents[i].field".
func (s *Store) PutDocuments(ctx context.Context, docs []storage.DocumentWithChunks) ([]record.Document, error) {
	const op = "put documents"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if len(docs) == 0 {
		return nil, nil
	}
	var v record.ValidationError
	metas := make([]any, len(docs))
	keys := make(map[[2]string]int, len(docs))
	for i, item := range docs {
		if item.Document.TenantID == "" {
			return nil, fmt.Errorf("sqlite: %s: %s: %w", op, itemName(i, item.Document.Key), record.ErrEmptyTenant)
		}
		prefix := "documents[" + strconv.Itoa(i) + "]."
		validateDoc(&v, prefix, item.Document, item.Chunks)
		k := [2]string{item.Document.SourceID, item.Document.Key}
		if j, ok := keys[k]; ok {
			v.Add(prefix+"key", "repeats the key of documents["+strconv.Itoa(j)+"] in the same source")
		} else {
			keys[k] = i
		}
		meta, err := encodeMeta(item.Document.Metadata)
		if err != nil {
			v.Add(prefix+"metadata", err.Error())
		}
		metas[i] = meta
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	out := make([]record.Document, len(docs))
	err := s.withTx(ctx, func(tx *Store) error {
		w := docWriter{tx: tx}
		defer w.close()
		for i, item := range docs {
			if err := w.put(ctx, i, item.Document, item.Chunks, metas[i], &out[i]); err != nil {
				return fmt.Errorf("sqlite: %s: %s: %w", op, itemName(i, item.Document.Key), err)
			}
			if cerr := w.flush(ctx, i == len(docs)-1); cerr != nil {
				return w.chunkErr(ctx, op, docs, cerr)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// chunkErr names the item of docs whose chunks made a PutDocuments fail,
// or the range of items of the failed statement when it cannot tell.
func (w *docWriter) chunkErr(ctx context.Context, op string, docs []storage.DocumentWithChunks, cerr *chunkError) error {
	if errors.Is(cerr.err, record.ErrConflict) {
		// flush left the failed statement's rows first in pending.
		if i := w.blame(ctx, w.pending[:min(len(w.pending), chunkRows)]); i >= 0 {
			return fmt.Errorf("sqlite: %s: %s: %w", op, itemName(i, docs[i].Document.Key), cerr.err)
		}
	}
	if cerr.first == cerr.last {
		return fmt.Errorf("sqlite: %s: %s: %w", op, itemName(cerr.first, docs[cerr.first].Document.Key), cerr.err)
	}
	return fmt.Errorf("sqlite: %s: one of documents[%d] to documents[%d]: %w", op, cerr.first, cerr.last, cerr.err)
}

// itemName names item i of a PutDocuments call in errors.
func itemName(i int, key string) string {
	return "documents[" + strconv.Itoa(i) + "] (key " + strconv.Quote(key) + ")"
}

// validateDoc adds the missing fields of d and its chunks to v, their names
// prefixed with prefix.
func validateDoc(v *record.ValidationError, prefix string, d record.Document, chunks []record.Chunk) {
	if d.ID == "" {
		v.Add(prefix+"id", "is required")
	}
	if d.SourceID == "" {
		v.Add(prefix+"source_id", "is required")
	}
	if d.Key == "" {
		v.Add(prefix+"key", "is required")
	}
	for i, c := range chunks {
		if c.ID == "" {
			v.Add(prefix+"chunks["+strconv.Itoa(i)+"].id", "is required")
		}
	}
}

// encodeMeta encodes document metadata as JSON text, nil as NULL.
func encodeMeta(m record.Metadata) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// chunkRows is the number of chunk rows one INSERT statement writes.
//
// Why several: SQLite opens a statement savepoint for every writing
// statement of a transaction, and FTS5 writes its pending terms out to a
// new index segment at each savepoint (and then merges segments). One
// INSERT per chunk means one segment per chunk; one INSERT of many rows
// means one segment for all of them. 256 rows of 11 values stay well under
// SQLite's limit of 32,766 parameters.
const chunkRows = 256

// chunkInsertCols starts an INSERT of chunk rows of 11 values.
const chunkInsertCols = `INSERT INTO chunks (id, tenant_id, bot_id, source_id, document_id, ordinal, text,
	token_count, start_offset, end_offset, heading_path) VALUES `

// chunkInsert returns an INSERT statement of n chunk rows.
func chunkInsert(n int) string {
	var b strings.Builder
	b.Grow(len(chunkInsertCols) + n*26)
	b.WriteString(chunkInsertCols)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

// docWriter writes documents in one transaction, preparing each statement
// once, on first use, remembering the bot of each source it looked up, and
// writing chunks chunkRows at a time. Chunks wait in pending until flush;
// a document's row is always written before its chunks, whose full-text
// row takes the document's title.
type docWriter struct {
	tx   *Store
	bots map[[2]string]string // tenant and source ID -> bot ID

	srcBot, findDoc, insDoc, updDoc, delChunks, insChunks *sql.Stmt

	pending []pendingChunk
	args    []any
}

// pendingChunk is a chunk waiting to be inserted, with its document (as
// stored) and the index of the item it came from.
type pendingChunk struct {
	c    *record.Chunk
	doc  *record.Document
	item int
}

// stmt returns *p, preparing query into it first if need be.
func (w *docWriter) stmt(ctx context.Context, p **sql.Stmt, query string) (*sql.Stmt, error) {
	if *p == nil {
		st, err := w.tx.q.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		*p = st
	}
	return *p, nil
}

// close closes the prepared statements.
func (w *docWriter) close() {
	for _, st := range []*sql.Stmt{w.srcBot, w.findDoc, w.insDoc, w.updDoc, w.delChunks, w.insChunks} {
		if st != nil {
			_ = st.Close()
		}
	}
}

// put creates or replaces d (d and chunks already validated, meta encoded)
// and queues its chunks; item numbers it for flush's errors. out must stay
// unchanged until flush. Its errors are translated but carry no prefix.
func (w *docWriter) put(ctx context.Context, item int, d record.Document, chunks []record.Chunk, meta any, out *record.Document) error {
	*out = d
	out.Metadata = d.Metadata.Clone()
	out.ChunkCount = len(chunks)
	out.CreatedAt, out.UpdatedAt = fromTm(tm(d.CreatedAt)), fromTm(tm(d.UpdatedAt))

	srcKey := [2]string{d.TenantID, d.SourceID}
	bot, ok := w.bots[srcKey]
	if !ok {
		st, err := w.stmt(ctx, &w.srcBot, `SELECT bot_id FROM sources WHERE tenant_id = ? AND id = ?`)
		if err != nil {
			return translate(ctx, err)
		}
		err = st.QueryRowContext(ctx, d.TenantID, d.SourceID).Scan(&bot)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("source: %w", record.ErrNotFound)
		}
		if err != nil {
			return translate(ctx, err)
		}
		if w.bots == nil {
			w.bots = make(map[[2]string]string)
		}
		w.bots[srcKey] = bot
	}
	out.BotID = bot

	st, err := w.stmt(ctx, &w.findDoc, `SELECT id, created_at FROM documents WHERE source_id = ? AND key = ?`)
	if err != nil {
		return translate(ctx, err)
	}
	var created int64
	err = st.QueryRowContext(ctx, d.SourceID, d.Key).Scan(&out.ID, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		st, err := w.stmt(ctx, &w.insDoc, `INSERT INTO documents (id, tenant_id, bot_id, source_id, key, title, uri, content_hash,
				byte_size, token_count, chunk_count, metadata, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err == nil {
			_, err = st.ExecContext(ctx, out.ID, out.TenantID, out.BotID, out.SourceID, out.Key, out.Title, out.URI, out.ContentHash,
				out.ByteSize, out.TokenCount, out.ChunkCount, meta, tm(out.CreatedAt), tm(out.UpdatedAt))
		}
		if err != nil {
			return translate(ctx, err)
		}
	case err != nil:
		return translate(ctx, err)
	default:
		out.CreatedAt = fromTm(created)
		st, err := w.stmt(ctx, &w.delChunks, `DELETE FROM chunks WHERE document_id = ?`)
		if err == nil {
			_, err = st.ExecContext(ctx, out.ID)
		}
		if err != nil {
			return translate(ctx, err)
		}
		st, err = w.stmt(ctx, &w.updDoc, `UPDATE documents SET bot_id = ?, title = ?, uri = ?, content_hash = ?, byte_size = ?,
				token_count = ?, chunk_count = ?, metadata = ?, updated_at = ?
			WHERE id = ?`)
		if err == nil {
			_, err = st.ExecContext(ctx, out.BotID, out.Title, out.URI, out.ContentHash, out.ByteSize, out.TokenCount, out.ChunkCount,
				meta, tm(out.UpdatedAt), out.ID)
		}
		if err != nil {
			return translate(ctx, err)
		}
	}
	for i := range chunks {
		w.pending = append(w.pending, pendingChunk{c: &chunks[i], doc: out, item: item})
	}
	return nil
}

// chunkError is a failed chunk INSERT of items first to last.
type chunkError struct {
	first, last int
	err         error
}

// flush inserts the queued chunks, chunkRows at a time, all of them when
// all is set, otherwise only while a full statement's worth waits.
func (w *docWriter) flush(ctx context.Context, all bool) *chunkError {
	for len(w.pending) >= chunkRows || (all && len(w.pending) > 0) {
		n := min(len(w.pending), chunkRows)
		rows := w.pending[:n]
		w.args = w.args[:0]
		for _, p := range rows {
			c, d := p.c, p.doc
			w.args = append(w.args, c.ID, d.TenantID, d.BotID, d.SourceID, d.ID, c.Ordinal, c.Text, c.TokenCount,
				c.Start, c.End, jsonList(c.HeadingPath))
		}
		var err error
		if n == chunkRows {
			var st *sql.Stmt
			if st, err = w.stmt(ctx, &w.insChunks, chunkInsert(chunkRows)); err == nil {
				_, err = st.ExecContext(ctx, w.args...)
			}
		} else {
			_, err = w.tx.q.ExecContext(ctx, chunkInsert(n), w.args...)
		}
		if err != nil {
			return &chunkError{first: rows[0].item, last: rows[n-1].item, err: translate(ctx, err)}
		}
		rest := copy(w.pending, w.pending[n:])
		clear(w.pending[rest:])
		w.pending = w.pending[:rest]
	}
	return nil
}

// blame finds the item whose chunk made a failed INSERT of rows conflict:
// a chunk ID repeated among rows, or one already stored. It returns -1 when
// it finds none (or cannot look).
func (w *docWriter) blame(ctx context.Context, rows []pendingChunk) int {
	seen := make(map[string]bool, len(rows))
	for _, p := range rows {
		if seen[p.c.ID] {
			return p.item
		}
		seen[p.c.ID] = true
	}
	for start := 0; start < len(rows); start += batch {
		part := rows[start:min(start+batch, len(rows))]
		args := make([]any, len(part))
		for i, p := range part {
			args[i] = p.c.ID
		}
		var id string
		err := w.tx.q.QueryRowContext(ctx, `SELECT id FROM chunks WHERE id IN (`+placeholders(len(part))+`) LIMIT 1`, args...).Scan(&id)
		if err != nil {
			continue
		}
		for _, p := range part {
			if p.c.ID == id {
				return p.item
			}
		}
	}
	return -1
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
// ids, leaving out IDs not found and repeated IDs. The rows are those of
// query whose columns tenant_id and id, qualified by prefix ("" or an
// alias and a dot), are the tenant and one of ids.
func byIDs[T any](ctx context.Context, q querier, op, tenantID string, ids []string, query, prefix string,
	scan func(interface{ Scan(...any) error }) (T, error), id func(T) string) ([]T, error) {
	found := make(map[string]T, len(ids))
	for start := 0; start < len(ids); start += batch {
		part := ids[start:min(start+batch, len(ids))]
		args := make([]any, 0, len(part)+1)
		args = append(args, tenantID)
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := queryList(ctx, q, op, scan, byIDsSQL(query, prefix, len(part)), args...)
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

// byIDsSQL is query restricted to the tenant (the first argument) and n
// IDs (the next ones): see byIDs.
func byIDsSQL(query, prefix string, n int) string {
	return query + ` WHERE ` + prefix + `tenant_id = ? AND ` + prefix + `id IN (` + placeholders(n) + `)`
}

// The queries of GetChunks, GetDocuments and GetChunksWithDocuments, with
// the column prefix of their tenant_id and id (see byIDs).
var (
	getChunksSQL   = `SELECT ` + chunkCols + ` FROM chunks`
	getDocsSQL     = `SELECT ` + docCols + ` FROM documents`
	getChunkDocSQL = `SELECT ` + qualify("c.", chunkCols) + `, ` + qualify("d.", docCols) + `
		FROM chunks c CROSS JOIN documents d ON d.id = c.document_id AND d.tenant_id = c.tenant_id`
)

// GetChunks returns the chunks of the tenant with these IDs, in the order
// of ids; IDs not found, of another tenant, or repeated are left out.
func (s *Store) GetChunks(ctx context.Context, tenantID string, ids []string) ([]record.Chunk, error) {
	if err := checkTenant(ctx, "get chunks", tenantID); err != nil {
		return nil, err
	}
	return byIDs(ctx, s.q, "get chunks", tenantID, ids, getChunksSQL, "", scanChunk,
		func(c record.Chunk) string { return c.ID })
}

// GetDocuments returns the documents of the tenant with these IDs, in the
// order of ids; IDs not found, of another tenant, or repeated are left out.
func (s *Store) GetDocuments(ctx context.Context, tenantID string, ids []string) ([]record.Document, error) {
	if err := checkTenant(ctx, "get documents", tenantID); err != nil {
		return nil, err
	}
	return byIDs(ctx, s.q, "get documents", tenantID, ids, getDocsSQL, "", scanDoc,
		func(d record.Document) string { return d.ID })
}

// GetChunksWithDocuments returns the chunks of the tenant with these IDs,
// each with its document, in the order of ids; IDs not found, of another
// tenant, or repeated are left out. One query: each chunk is found by
// (tenant_id, id), its document by its primary key.
func (s *Store) GetChunksWithDocuments(ctx context.Context, tenantID string, ids []string) ([]storage.ChunkWithDocument, error) {
	const op = "get chunks with documents"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return nil, err
	}
	return byIDs(ctx, s.q, op, tenantID, ids, getChunkDocSQL, "c.",
		func(sc interface{ Scan(...any) error }) (storage.ChunkWithDocument, error) {
			var cd storage.ChunkWithDocument
			var err error
			cd.Chunk, cd.Document, err = scanPair(sc, scanChunk, scanDoc)
			return cd, err
		},
		func(cd storage.ChunkWithDocument) string { return cd.Chunk.ID })
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

// scanFunc is a Scan method.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// scanPair scans a row made of a's columns then b's with the scan
// functions of each: a's Scan call, from inside sa, runs sb, whose Scan
// call scans the row into both destination lists at once; each then
// finishes its value as when it scans a row of its own.
func scanPair[A, B any](sc interface{ Scan(...any) error }, sa func(interface{ Scan(...any) error }) (A, error),
	sb func(interface{ Scan(...any) error }) (B, error)) (A, B, error) {
	var b B
	a, err := sa(scanFunc(func(da ...any) error {
		var err error
		b, err = sb(scanFunc(func(db ...any) error {
			return sc.Scan(append(da[:len(da):len(da)], db...)...)
		}))
		return err
	}))
	return a, b, err
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
	if err := q.Filter.Validate("filter"); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	match := ftsQuery(q)
	if match == "" {
		return nil, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLexicalLimit
	}
	if !q.Filter.IsZero() {
		// First only the best matches: when limit of them pass the
		// filter, or they are all the matches, they hold the answer (the
		// order is total). Otherwise the filter takes every match.
		var total int
		query, args := lexicalSQL(q, match, limit, max(filterCandidates, 8*limit))
		ms, err := queryList(ctx, s.q, op, func(sc interface{ Scan(...any) error }) (storage.LexicalMatch, error) {
			var m storage.LexicalMatch
			err := sc.Scan(&m.ChunkID, &m.Score, &total)
			return m, err
		}, query, args...)
		if err != nil || len(ms) == limit || (len(ms) > 0 && total <= max(filterCandidates, 8*limit)) {
			return ms, err
		}
	}
	query, args := lexicalSQL(q, match, limit, 0)
	return queryList(ctx, s.q, op, func(sc interface{ Scan(...any) error }) (storage.LexicalMatch, error) {
		var m storage.LexicalMatch
		err := sc.Scan(&m.ChunkID, &m.Score)
		return m, err
	}, query, args...)
}

// filterCandidates is the least number of best matches a filtered lexical
// search tries first (8 × its limit when that is more); a variable for
// tests.
var filterCandidates = 256

// lexicalSQL is the SQL of SearchLexical for q, its FTS5 expression match
// and limit, with its arguments. With a filter and candidates > 0, only the
// best candidates matches are filtered, and each row has a third column:
// the number of matches in all.
func lexicalSQL(q storage.LexicalQuery, match string, limit, candidates int) (string, []any) {
	// FTS5 finds and ranks the rows of the query's scope; the join checks
	// the tenant, bot and sources again on the chunks themselves. CROSS
	// JOIN keeps the matches the outer loop: SQLite would otherwise scan
	// the bot's chunks (chunks_tenant) and probe the matches, a cost that
	// grows with the bot's size whatever the words.
	// Both FTS5 tables (chunks of English bots, stemmed, and of the
	// others, not; a chunk is in one of them) are read.
	query := `SELECT c.id, m.score
		FROM (SELECT rowid, -bm25(chunks_fts, 1.0, 0.5, 0.0) AS score FROM chunks_fts WHERE chunks_fts MATCH ?
			UNION ALL
			SELECT rowid, -bm25(chunks_fts_plain, 1.0, 0.5, 0.0) AS score FROM chunks_fts_plain WHERE chunks_fts_plain MATCH ?
			ORDER BY score DESC, rowid LIMIT ?) AS m
		CROSS JOIN chunks c ON c.seq = m.rowid
		WHERE c.tenant_id = ?`
	// The chunks of English bots are searched without English stop words.
	en := q
	en.Text = withoutStopWords(q.Text, englishStopWords)
	matchEN := ftsQuery(en)
	args := []any{matchEN, match, limit, q.TenantID}
	if !q.Filter.IsZero() {
		// A metadata filter applies before the limit: every match is
		// joined to its document, whose metadata must pass. CROSS JOIN
		// keeps the matches as the outer loop (SQLite would otherwise
		// scan the tenant's chunks and probe the matches).
		cond, fargs := compileFilter("d.metadata", q.Filter)
		matches := `SELECT rowid, -bm25(chunks_fts, 1.0, 0.5, 0.0) AS score FROM chunks_fts WHERE chunks_fts MATCH ?
			UNION ALL
			SELECT rowid, -bm25(chunks_fts_plain, 1.0, 0.5, 0.0) AS score FROM chunks_fts_plain WHERE chunks_fts_plain MATCH ?`
		args = []any{matchEN, match}
		cols := `c.id, m.score`
		if candidates > 0 {
			matches = `SELECT rowid, score, count(*) OVER () AS total FROM (` + matches + `) ORDER BY score DESC, rowid LIMIT ?`
			args = append(args, candidates)
			cols += `, m.total`
		}
		query = `SELECT ` + cols + `
		FROM (` + matches + `) AS m
		CROSS JOIN chunks c ON c.seq = m.rowid
		CROSS JOIN documents d ON d.id = c.document_id
		WHERE c.tenant_id = ? AND d.tenant_id = ? AND ` + cond
		args = append(args, q.TenantID, q.TenantID)
		args = append(args, fargs...)
	}
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
	if !q.Filter.IsZero() {
		query, args = query+` LIMIT ?`, append(args, limit)
	}
	return query, args
}

// GetDocumentByKey returns the document of a source of the tenant with
// this key (compared byte-wise).
func (s *Store) GetDocumentByKey(ctx context.Context, tenantID, sourceID, key string) (record.Document, error) {
	const op = "get document by key"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return record.Document{}, err
	}
	d, err := scanDoc(s.q.QueryRowContext(ctx, `SELECT `+docCols+` FROM documents WHERE tenant_id = ? AND source_id = ? AND key = ?`,
		tenantID, sourceID, key))
	if err != nil {
		return record.Document{}, opErr(ctx, op, err)
	}
	return d, nil
}
