package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/minirag/minirag/internal/pagecursor"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Paged lists: keyset pages on the indexes users_created,
// api_tokens_created, bots_created, sources_created, sources_bot,
// jobs_tenant_created (migration 0004), documents_tenant_source_key and
// documents_bot_source_key (migration 0006).

// pageQuery is one paged query: the rows of query (a SELECT … WHERE …
// with len(args) parameters) past the cursor's key, in order, at most
// p.Limit of them.
type pageQuery[T any] struct {
	op, kind string
	scan     func(pgx.Row) (T, error)
	query    string
	args     []any
	// after returns the keyset condition, its first parameter numbered n.
	after func(k *pagecursor.Key, n int) (string, []any)
	order string
	key   func(T) pagecursor.Key
}

func runPage[T any](ctx context.Context, s *Store, tenantID string, p storage.Page, pq pageQuery[T]) ([]T, string, error) {
	if err := begin(ctx, pq.op, tenantID); err != nil {
		return nil, "", err
	}
	k, err := pagecursor.Decode(pq.kind, p.Cursor, p.Limit)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: %s: %w", pq.op, err)
	}
	query, args := pq.query, pq.args
	if k != nil {
		cond, more := pq.after(k, len(args)+1)
		query += " AND " + cond
		args = append(args, more...)
	}
	args = append(args, p.Limit+1)
	query += " ORDER BY " + pq.order + " LIMIT $" + strconv.Itoa(len(args))
	items, err := list(ctx, s, pq.op, pq.scan, query, args...)
	if err != nil {
		return nil, "", err
	}
	items, next := pagecursor.Cut(pq.kind, items, p.Limit, pq.key)
	return items, next, nil
}

func param(n int) string { return "$" + strconv.Itoa(n) }

// byCreated is the keyset of lists ordered by (created_at, id).
func byCreated(k *pagecursor.Key, n int) (string, []any) {
	return "(created_at, id) > (" + param(n) + ", " + param(n+1) + ")", []any{time.UnixMicro(k.Micros).UTC(), k.S}
}

func createdKey(t time.Time, id string) pagecursor.Key {
	return pagecursor.Key{Micros: t.UnixMicro(), S: id}
}

// ListUsersPage is one page of ListUsers.
func (s *Store) ListUsersPage(ctx context.Context, tenantID string, p storage.Page) ([]record.User, string, error) {
	return runPage(ctx, s, tenantID, p, pageQuery[record.User]{
		op: "list users", kind: "users", scan: scanUser,
		query: `SELECT ` + userCols + ` FROM @.users WHERE tenant_id = $1`, args: []any{tenantID},
		after: byCreated, order: "created_at, id",
		key: func(u record.User) pagecursor.Key { return createdKey(u.CreatedAt, u.ID) },
	})
}

// ListAPITokensPage is one page of ListAPITokens.
func (s *Store) ListAPITokensPage(ctx context.Context, tenantID string, p storage.Page) ([]record.APIToken, string, error) {
	return runPage(ctx, s, tenantID, p, pageQuery[record.APIToken]{
		op: "list api tokens", kind: "api_tokens", scan: scanToken,
		query: `SELECT ` + tokenCols + ` FROM @.api_tokens WHERE tenant_id = $1`, args: []any{tenantID},
		after: byCreated, order: "created_at, id",
		key: func(t record.APIToken) pagecursor.Key { return createdKey(t.CreatedAt, t.ID) },
	})
}

// ListBotsPage is one page of ListBots.
func (s *Store) ListBotsPage(ctx context.Context, tenantID string, p storage.Page) ([]record.Bot, string, error) {
	return runPage(ctx, s, tenantID, p, pageQuery[record.Bot]{
		op: "list bots", kind: "bots", scan: scanBot,
		query: `SELECT ` + botCols + ` FROM @.bots WHERE tenant_id = $1 AND deleted_at IS NULL`, args: []any{tenantID},
		after: byCreated, order: "created_at, id",
		key: func(b record.Bot) pagecursor.Key { return createdKey(b.CreatedAt, b.ID) },
	})
}

// ListSourcesPage is one page of ListSources.
func (s *Store) ListSourcesPage(ctx context.Context, tenantID, botID string, p storage.Page) ([]record.Source, string, error) {
	query, args := `SELECT `+sourceCols+` FROM @.sources WHERE tenant_id = $1`, []any{tenantID}
	if botID != "" {
		query, args = query+` AND bot_id = $2`, append(args, botID)
	}
	return runPage(ctx, s, tenantID, p, pageQuery[record.Source]{
		op: "list sources", kind: "sources", scan: scanSource, query: query, args: args,
		after: byCreated, order: "created_at, id",
		key: func(s record.Source) pagecursor.Key { return createdKey(s.CreatedAt, s.ID) },
	})
}

// ListDocumentsPage is one page of ListDocuments (keys compare byte-wise,
// COLLATE "C", as in ListDocuments): a range scan of
// documents_tenant_source_key.
func (s *Store) ListDocumentsPage(ctx context.Context, tenantID, sourceID string, p storage.Page) ([]record.Document, string, error) {
	return runPage(ctx, s, tenantID, p, pageQuery[record.Document]{
		op: "list documents", kind: "documents", scan: scanDoc,
		query: `SELECT ` + docCols + ` FROM @.documents WHERE tenant_id = $1 AND source_id COLLATE "C" = $2`, args: []any{tenantID, sourceID},
		after: func(k *pagecursor.Key, n int) (string, []any) {
			return `key COLLATE "C" > ` + param(n), []any{k.S}
		},
		order: `key COLLATE "C"`,
		key:   func(d record.Document) pagecursor.Key { return pagecursor.Key{S: d.Key} },
	})
}

// QueryDocumentsPage is one page of the tenant's documents q selects,
// ordered by SourceID then Key (both byte-wise, COLLATE "C"): a range scan
// of documents_tenant_source_key (tenant, or tenant and source) or
// documents_bot_source_key (tenant and bot), from migration 0006.
// q.Filter is compiled to SQL over the metadata (see filter.go); an
// invalid one wraps record.ErrInvalidInput naming "filter".
func (s *Store) QueryDocumentsPage(ctx context.Context, q storage.DocumentQuery, p storage.Page) ([]record.Document, string, error) {
	const op = "query documents"
	if err := begin(ctx, op, q.TenantID); err != nil {
		return nil, "", err
	}
	if err := q.Filter.Validate("filter"); err != nil {
		return nil, "", fmt.Errorf("postgres: %s: %w", op, err)
	}
	a := &whereArgs{args: []any{q.TenantID}}
	query := `SELECT ` + docCols + ` FROM @.documents d WHERE d.tenant_id = $1`
	if q.BotID != "" {
		query += ` AND d.bot_id = ` + a.add(q.BotID)
	}
	if q.SourceID != "" {
		// COLLATE "C", the index column's collation, or the equality
		// would not be an index condition.
		query += ` AND d.source_id COLLATE "C" = ` + a.add(q.SourceID)
	}
	if !q.Filter.IsZero() {
		cond, err := metadataWhere(q.Filter, "d.metadata", a)
		if err != nil {
			return nil, "", fmt.Errorf("postgres: %s: %w", op, record.Invalid("filter", err.Error()))
		}
		query += ` AND ` + cond
	}
	// A cursor is bound to its query: another query's is refused.
	fj, err := q.Filter.MarshalJSON()
	if err != nil {
		return nil, "", fmt.Errorf("postgres: %s: %w", op, record.Invalid("filter", err.Error()))
	}
	return runPage(ctx, s, q.TenantID, p, pageQuery[record.Document]{
		op: op, kind: pagecursor.Bound("documents-query", q.BotID, q.SourceID, string(fj)), scan: scanDoc,
		query: query, args: a.args,
		after: func(k *pagecursor.Key, n int) (string, []any) {
			return `(d.source_id COLLATE "C", d.key COLLATE "C") > (` + param(n) + `, ` + param(n+1) + `)`, []any{k.S, k.S2}
		},
		order: `d.source_id COLLATE "C", d.key COLLATE "C"`,
		key:   func(d record.Document) pagecursor.Key { return pagecursor.Key{S: d.SourceID, S2: d.Key} },
	})
}

// ListJobsPage is one page of ListJobs (newest first, ties by ID
// descending, as ListJobs).
func (s *Store) ListJobsPage(ctx context.Context, tenantID, sourceID string, p storage.Page) ([]record.Job, string, error) {
	query, args := `SELECT `+jobCols+` FROM @.jobs WHERE tenant_id = $1`, []any{tenantID}
	if sourceID != "" {
		query, args = query+` AND source_id = $2`, append(args, sourceID)
	}
	return runPage(ctx, s, tenantID, p, pageQuery[record.Job]{
		op: "list jobs", kind: "jobs", scan: scanJob, query: query, args: args,
		after: func(k *pagecursor.Key, n int) (string, []any) {
			return "(created_at, id) < (" + param(n) + ", " + param(n+1) + ")", []any{time.UnixMicro(k.Micros).UTC(), k.S}
		},
		order: "created_at DESC, id DESC",
		key:   func(j record.Job) pagecursor.Key { return createdKey(j.CreatedAt, j.ID) },
	})
}
