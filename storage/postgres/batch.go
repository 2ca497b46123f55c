package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Compile-time check that Store offers the batch capability.
var _ storage.DocumentBatcher = (*Store)(nil)

// PutDocuments stores each item as PutDocument would, in one transaction
// (a savepoint within InTx): all of them or, on any error, none. After one
// query per distinct source (its bot and language), the items' statements
// go to the server as one pgx.Batch: one round trip for the whole call
// instead of four per document. Errors name the item's index and key;
// invalid input names fields as "documents[i].field".
func (s *Store) PutDocuments(ctx context.Context, docs []storage.DocumentWithChunks) ([]record.Document, error) {
	const op = "put documents"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if len(docs) == 0 {
		return nil, nil
	}
	var v record.ValidationError
	enc := make([]encodedItem, len(docs))
	keys := make(map[[2]string]int, len(docs))
	for i, item := range docs {
		d := item.Document
		if d.TenantID == "" {
			return nil, fmt.Errorf("postgres: %s: %s: %w", op, itemName(i, d.Key), record.ErrEmptyTenant)
		}
		prefix := "documents[" + strconv.Itoa(i) + "]."
		if d.ID == "" {
			v.Add(prefix+"id", "is required")
		}
		if d.SourceID == "" {
			v.Add(prefix+"source_id", "is required")
		}
		if d.Key == "" {
			v.Add(prefix+"key", "is required")
		}
		k := [2]string{d.SourceID, d.Key}
		if j, ok := keys[k]; ok {
			v.Add(prefix+"key", "repeats the key of documents["+strconv.Itoa(j)+"] in the same source")
		} else {
			keys[k] = i
		}
		meta, err := marshalMap(d.Metadata)
		if err != nil {
			v.Add(prefix+"metadata", "cannot be encoded")
		}
		n := len(item.Chunks)
		e := encodedItem{meta: meta, ids: make([]string, n), texts: make([]string, n), ords: make([]int32, n),
			toks: make([]int32, n), sts: make([]int32, n), ens: make([]int32, n), heads: make([]*string, n)}
		for j, c := range item.Chunks {
			if c.ID == "" {
				v.Add(prefix+"chunks["+strconv.Itoa(j)+"].id", "is required")
			}
			e.ids[j], e.texts[j], e.ords[j], e.toks[j], e.sts[j], e.ens[j] = c.ID, c.Text, int32(c.Ordinal), int32(c.TokenCount), int32(c.Start), int32(c.End)
			if c.HeadingPath != nil {
				b, err := json.Marshal(c.HeadingPath)
				if err != nil {
					v.Add(prefix+"chunks["+strconv.Itoa(j)+"].heading_path", "cannot be encoded")
				}
				h := string(b)
				e.heads[j] = &h
			}
		}
		enc[i] = e
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}

	// The batch's chunks are deleted by one statement and inserted by
	// another, whatever the number of documents, so that the statement
	// triggers keeping the BM25 statistics run twice per call rather than
	// twice per document. Such a statement cannot tell which item made it
	// fail: on failure, the call runs again with one DELETE and one
	// INSERT per item (as PutDocument does), in a new transaction, and
	// returns that run's error, which names the item.
	out := make([]record.Document, len(docs))
	err := s.tx(ctx, op, func(tx *Store) error { return tx.putDocuments(ctx, op, docs, enc, out, true) })
	if err != nil && ctx.Err() == nil {
		err = s.tx(ctx, op, func(tx *Store) error { return tx.putDocuments(ctx, op, docs, enc, out, false) })
	}
	if err != nil {
		return nil, err
	}
	s.wrote(ctx, docs[0].Document.TenantID)
	return out, nil
}

// encodedItem is an item of PutDocuments encoded for the server.
type encodedItem struct {
	meta                 any
	ids, texts           []string
	ords, toks, sts, ens []int32
	heads                []*string
}

// putDocuments writes the items of PutDocuments in tx and fills out. With
// batched set, the chunks of all items are deleted by one statement and
// inserted by another; otherwise each item has its own (whose errors name
// the item).
func (tx *Store) putDocuments(ctx context.Context, op string, docs []storage.DocumentWithChunks, enc []encodedItem,
	out []record.Document, batched bool) error {
	// The bot and text-search configuration of each source.
	type srcInfo struct{ bot, lang string }
	srcs := make(map[[2]string]srcInfo)
	for i, item := range docs {
		k := [2]string{item.Document.TenantID, item.Document.SourceID}
		if _, ok := srcs[k]; ok {
			continue
		}
		var si srcInfo
		var botLang string
		err := tx.q.QueryRow(ctx, tx.sql(`SELECT s.bot_id, coalesce(b.language, '') FROM @.sources s
			LEFT JOIN @.bots b ON b.tenant_id = s.tenant_id AND b.id = s.bot_id
			WHERE s.tenant_id = $1 AND s.id = $2`), k[0], k[1]).Scan(&si.bot, &botLang)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("postgres: %s: %s: source: %w", op, itemName(i, item.Document.Key), record.ErrNotFound)
		}
		if err != nil {
			return wrapErr(ctx, op, err)
		}
		lang, ok, err := tx.language(ctx, botLang)
		if err != nil {
			return wrapErr(ctx, op, err)
		}
		if !ok {
			lang = DefaultLanguage
		}
		si.lang = lang
		srcs[k] = si
	}

	// Per item, the document is upserted by source and key. Then the old
	// chunks are deleted and the new ones inserted, finding each document
	// by source and key (its ID may be one kept from before): by one
	// statement each for the whole batch, or one per item.
	upsert := tx.sql(`INSERT INTO @.documents (id, tenant_id, bot_id, source_id, key, title, uri, content_hash,
			byte_size, token_count, chunk_count, metadata, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14)
		ON CONFLICT (source_id, key) DO UPDATE SET bot_id = EXCLUDED.bot_id, title = EXCLUDED.title, uri = EXCLUDED.uri,
			content_hash = EXCLUDED.content_hash, byte_size = EXCLUDED.byte_size, token_count = EXCLUDED.token_count,
			chunk_count = EXCLUDED.chunk_count, metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at
		RETURNING id, created_at`)
	b := &pgx.Batch{}
	var all batchChunks
	for i, item := range docs {
		d := item.Document
		si := srcs[[2]string{d.TenantID, d.SourceID}]
		o := d
		o.BotID = si.bot
		o.Metadata = d.Metadata.Clone()
		o.ChunkCount = len(item.Chunks)
		o.CreatedAt, o.UpdatedAt = utc(usec(d.CreatedAt)), utc(usec(d.UpdatedAt))
		out[i] = o
		e := enc[i]
		b.Queue(upsert, o.ID, o.TenantID, o.BotID, o.SourceID, o.Key, o.Title, o.URI, o.ContentHash,
			o.ByteSize, o.TokenCount, o.ChunkCount, e.meta, o.CreatedAt, o.UpdatedAt)
		if batched {
			all.add(o, si.lang, e)
			continue
		}
		b.Queue(tx.sql(`DELETE FROM @.chunks WHERE document_id = (SELECT id FROM @.documents WHERE source_id = $1 AND key = $2)`),
			o.SourceID, o.Key)
		if len(item.Chunks) > 0 {
			b.Queue(tx.sql(`INSERT INTO @.chunks (id, tenant_id, bot_id, source_id, document_id, ordinal, text,
					token_count, start_offset, end_offset, heading_path, title, lang)
				SELECT u.id, $1, $2, $3, (SELECT id FROM @.documents WHERE source_id = $3 AND key = $4), u.ord, u.txt, u.tok, u.st, u.en,
					u.hp::jsonb, $5, $6::regconfig
				FROM unnest($7::text[], $8::int[], $9::text[], $10::int[], $11::int[], $12::int[], $13::text[])
					AS u(id, ord, txt, tok, st, en, hp)`),
				o.TenantID, o.BotID, o.SourceID, o.Key, o.Title, si.lang, e.ids, e.ords, e.texts, e.toks, e.sts, e.ens, e.heads)
		}
	}
	if batched {
		b.Queue(tx.sql(`DELETE FROM @.chunks WHERE document_id IN (SELECT d.id FROM @.documents d
				JOIN unnest($1::text[], $2::text[]) AS u(src, key) ON d.source_id = u.src AND d.key = u.key)`),
			all.docSrcs, all.docKeys)
		if len(all.ids) > 0 {
			b.Queue(tx.sql(`INSERT INTO @.chunks (id, tenant_id, bot_id, source_id, document_id, ordinal, text,
					token_count, start_offset, end_offset, heading_path, title, lang)
				SELECT u.id, u.tenant, u.bot, u.src, (SELECT id FROM @.documents WHERE source_id = u.src AND key = u.key),
					u.ord, u.txt, u.tok, u.st, u.en, u.hp::jsonb, u.title, u.lang::regconfig
				FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::int[],
					$9::int[], $10::int[], $11::text[], $12::text[], $13::text[])
					AS u(id, tenant, bot, src, key, ord, txt, tok, st, en, hp, title, lang)`),
				all.ids, all.tenants, all.bots, all.srcs, all.keys, all.ords, all.texts, all.toks, all.sts, all.ens, all.heads,
				all.titles, all.langs)
		}
	}
	// tx.q is a pgx.Tx, which sends batches.
	br := tx.q.(batchSender).SendBatch(ctx, b)
	err := func() error {
		for i, item := range docs {
			name := op + ": " + itemName(i, item.Document.Key)
			var created time.Time
			if err := br.QueryRow().Scan(&out[i].ID, &created); err != nil {
				return wrapErr(ctx, name, err)
			}
			out[i].CreatedAt = utc(created)
			if batched {
				continue
			}
			if _, err := br.Exec(); err != nil {
				return wrapErr(ctx, name, err)
			}
			if len(item.Chunks) > 0 {
				if _, err := br.Exec(); err != nil {
					return wrapErr(ctx, name, err)
				}
			}
		}
		if !batched {
			return nil
		}
		if _, err := br.Exec(); err != nil {
			return wrapErr(ctx, op, err)
		}
		if len(all.ids) > 0 {
			if _, err := br.Exec(); err != nil {
				return wrapErr(ctx, op, err)
			}
		}
		return nil
	}()
	if cerr := br.Close(); err == nil && cerr != nil {
		err = wrapErr(ctx, op, cerr)
	}
	return err
}

// batchChunks holds the columns of a whole PutDocuments call's chunks
// (one element per chunk), and the source and key of each document.
type batchChunks struct {
	docSrcs, docKeys                                     []string
	ids, tenants, bots, srcs, keys, texts, titles, langs []string
	ords, toks, sts, ens                                 []int32
	heads                                                []*string
}

// add appends the chunks of document o, of text-search configuration
// lang, encoded in e.
func (c *batchChunks) add(o record.Document, lang string, e encodedItem) {
	c.docSrcs = append(c.docSrcs, o.SourceID)
	c.docKeys = append(c.docKeys, o.Key)
	for j := range e.ids {
		c.ids = append(c.ids, e.ids[j])
		c.tenants = append(c.tenants, o.TenantID)
		c.bots = append(c.bots, o.BotID)
		c.srcs = append(c.srcs, o.SourceID)
		c.keys = append(c.keys, o.Key)
		c.texts = append(c.texts, e.texts[j])
		c.titles = append(c.titles, o.Title)
		c.langs = append(c.langs, lang)
		c.ords = append(c.ords, e.ords[j])
		c.toks = append(c.toks, e.toks[j])
		c.sts = append(c.sts, e.sts[j])
		c.ens = append(c.ens, e.ens[j])
		c.heads = append(c.heads, e.heads[j])
	}
}

// batchSender is what pgx.Tx (and *pgxpool.Pool) have beyond querier.
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// itemName names item i of a PutDocuments call in errors.
func itemName(i int, key string) string {
	return "documents[" + strconv.Itoa(i) + "] (key " + strconv.Quote(key) + ")"
}
