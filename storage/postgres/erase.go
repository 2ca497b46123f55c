package postgres

import (
	"cmp"
	"context"
	"fmt"

	"github.com/minirag/minirag/record"
)

// Tenant erase batch sizes (DeleteTenant): a batch of documents stops at
// eraseDocs documents or at the first document that brings its chunks
// past eraseChunks; conversations go eraseConversations at a time, their
// messages and feedback with them.
const (
	eraseDocs          = 1000
	eraseChunks        = 10000
	eraseConversations = 1000
)

// eraseTuning overrides the erase batch sizes, and observes each committed
// batch, for tests (zero values mean the defaults).
type eraseTuning struct {
	docs, chunks, conversations int
	afterBatch                  func()
}

// DeleteTenant erases a tenant and everything of it, in several
// transactions so that a large tenant neither holds locks for long nor
// builds one huge transaction:
//
//  1. its API tokens, users and jobs, in one transaction that first checks
//     the tenant exists (record.ErrNotFound otherwise, an erased one
//     included): from then on nothing can sign in as the tenant or run its
//     ingestion;
//  2. its documents, in batches (each one transaction: the documents with
//     their chunks, by the foreign key's cascade, whose statement triggers
//     record the BM25 statistics of the chunks gone), folding the tenant's
//     statistics after each, then its conversations with their messages
//     and feedback, in batches;
//  3. in one last transaction that holds the tenant's statistics lock (no
//     fold runs meanwhile): the tenant row, which takes with it by cascade
//     what is left (bots and their credentials, sources, documents and
//     jobs written meanwhile, usage and request windows), then the tenant's
//     rows of lexeme_stats and lexeme_deltas.
//
// Every batch leaves the store consistent (no chunk outlives its document,
// the statistics match the chunks), and other tenants' statistics are
// never touched: the triggers record only the erased tenant's chunks. An
// erase interrupted (a cancelled context, a lost connection) leaves the
// tenant without tokens and users, and calling DeleteTenant again
// finishes it. Within InTx the batches are savepoints of the caller's
// transaction.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	const op = "delete tenant"
	if err := begin(ctx, op, id); err != nil {
		return err
	}
	err := s.tx(ctx, op, func(tx *Store) error {
		var ok bool
		if err := tx.q.QueryRow(ctx, tx.sql(`SELECT EXISTS (SELECT 1 FROM @.tenants WHERE id = $1)`), id).Scan(&ok); err != nil {
			return wrapErr(ctx, op, err)
		}
		if !ok {
			return fmt.Errorf("postgres: %s: %w", op, record.ErrNotFound)
		}
		for _, q := range []string{
			`DELETE FROM @.api_tokens WHERE tenant_id = $1`,
			`DELETE FROM @.users WHERE tenant_id = $1`,
			`DELETE FROM @.jobs WHERE tenant_id = $1`,
		} {
			if _, err := tx.q.Exec(ctx, tx.sql(q), id); err != nil {
				return wrapErr(ctx, op, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	t := s.erase
	// The first eraseDocs documents by ID, cut after the one that brings
	// the chunks to eraseChunks (the first is always taken).
	docs := `DELETE FROM @.documents WHERE tenant_id = $1 AND id IN (
		SELECT id FROM (
			SELECT id, sum(chunk_count) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) - chunk_count AS before
			FROM (SELECT id, chunk_count FROM @.documents WHERE tenant_id = $1 LIMIT $2) d) w
		WHERE before < $3)`
	if err := s.eraseBatches(ctx, op, id, docs, true, cmp.Or(t.docs, eraseDocs), cmp.Or(t.chunks, eraseChunks)); err != nil {
		return err
	}
	convs := `DELETE FROM @.conversations WHERE tenant_id = $1 AND id IN (
		SELECT id FROM @.conversations WHERE tenant_id = $1 LIMIT $2)`
	if err := s.eraseBatches(ctx, op, id, convs, false, cmp.Or(t.conversations, eraseConversations)); err != nil {
		return err
	}

	return s.tx(ctx, op, func(tx *Store) error {
		if _, err := tx.q.Exec(ctx, `SELECT pg_advisory_xact_lock($1::bigint)`, s.foldKey(id)); err != nil {
			return wrapErr(ctx, op, err)
		}
		if err := tx.exec(ctx, op, `DELETE FROM @.tenants WHERE id = $1`, id); err != nil {
			return err
		}
		// After the cascade, whose chunk deletions appended deltas.
		for _, q := range []string{
			`DELETE FROM @.lexeme_deltas WHERE tenant_id = $1`,
			`DELETE FROM @.lexeme_stats WHERE tenant_id = $1`,
		} {
			if _, err := tx.q.Exec(ctx, tx.sql(q), id); err != nil {
				return wrapErr(ctx, op, err)
			}
		}
		return nil
	})
}

// eraseBatches runs the DELETE q (parameters: the tenant, then args) in
// transactions of its own until it deletes nothing, folding the tenant's
// lexical statistics after each when fold is set.
func (s *Store) eraseBatches(ctx context.Context, op, tenantID, q string, fold bool, args ...any) error {
	for {
		var n int64
		err := s.tx(ctx, op, func(tx *Store) error {
			tag, err := tx.q.Exec(ctx, tx.sql(q), append([]any{tenantID}, args...)...)
			n = tag.RowsAffected()
			return wrapErr(ctx, op, err)
		})
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if fold && !s.inTx {
			s.foldStats(ctx, tenantID)
		}
		if s.erase.afterBatch != nil {
			s.erase.afterBatch()
		}
	}
}
