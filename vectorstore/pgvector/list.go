package pgvector

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/minirag/minirag/vectorstore"
)

// deleteBatch is how many record IDs one DELETE statement carries; a
// Delete with more runs several statements in one transaction.
const deleteBatch = 5000

// deleteIDs deletes the records of f whose IDs are in f.IDs, deleteBatch
// IDs per statement, in one transaction.
func (s *Store) deleteIDs(ctx context.Context, table string, f vectorstore.Filter) error {
	err := s.batchIDs(ctx, f, func(tx pgx.Tx, f vectorstore.Filter) error {
		w, args := where(f, 1)
		_, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE "+w, args...)
		return err
	})
	return s.wrap(ctx, "delete", err)
}

// batchIDs runs do in one transaction, for f, or when f.IDs is longer
// than deleteBatch once for each deleteBatch IDs of it.
func (s *Store) batchIDs(ctx context.Context, f vectorstore.Filter, do func(tx pgx.Tx, f vectorstore.Filter) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		all := f.IDs
		if len(all) <= deleteBatch {
			return do(tx, f)
		}
		for start := 0; start < len(all); start += deleteBatch {
			f.IDs = all[start:min(start+deleteBatch, len(all))]
			if err := do(tx, f); err != nil {
				return err
			}
		}
		return nil
	})
}

// cursorPrefix starts every cursor List makes: the ID after which the next
// page starts follows, base64url-encoded.
const cursorPrefix = "p1."

func decodeCursor(c string) (string, bool, error) {
	if c == "" {
		return "", false, nil
	}
	rest, ok := strings.CutPrefix(c, cursorPrefix)
	if !ok {
		return "", false, vectorstore.ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) == 0 {
		return "", false, vectorstore.ErrBadCursor
	}
	return string(b), true, nil
}

// List returns at most limit records matching f in ascending order of ID
// (in the id column's collation, the database's default), from after the
// cursor's ID: one index range scan of the primary key (tenant_id, id)
// per page.
func (s *Store) List(ctx context.Context, f vectorstore.Filter, cursor string, limit int) ([]vectorstore.Record, string, error) {
	_, table, err := s.state()
	if err != nil {
		return nil, "", err
	}
	if err := vectorstore.ValidateList(f, limit); err != nil {
		return nil, "", fmt.Errorf("pgvector: list: %w", err)
	}
	if err := validateFilter(f); err != nil {
		return nil, "", fmt.Errorf("pgvector: list: %w", err)
	}
	after, has, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("pgvector: list: %w", err)
	}
	w, args := where(f, 1)
	if has {
		args = append(args, after)
		w += " AND id > $" + strconv.Itoa(len(args))
	}
	args = append(args, limit+1)
	q := "SELECT id, bot_id, source_id, document_id FROM " + table + " WHERE " + w +
		" ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, "", s.wrap(ctx, "list", err)
	}
	out := make([]vectorstore.Record, 0, min(limit, 1024))
	for rows.Next() {
		r := vectorstore.Record{TenantID: f.TenantID}
		if err := rows.Scan(&r.ID, &r.BotID, &r.SourceID, &r.DocumentID); err != nil {
			rows.Close()
			return nil, "", s.wrap(ctx, "list", err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", s.wrap(ctx, "list", err)
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	return out, cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(out[limit-1].ID)), nil
}
