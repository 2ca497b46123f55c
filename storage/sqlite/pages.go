package sqlite

import (
	"context"
	"fmt"

	"github.com/minirag/minirag/internal/pagecursor"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Paged lists: keyset pages on the indexes the whole lists already use
// (users_created, api_tokens_created, bots_created, sources_created,
// sources_bot, documents (source_id, key), jobs_tenant and
// jobs_tenant_created; SQLite appends the rowid to every index entry, which
// jobs use as their tie-breaker).

type scanner = interface{ Scan(...any) error }

// pageQuery is one paged query: the rows of query (a SELECT … WHERE …)
// past the cursor's key (after, given the decoded key), in order, at most
// p.Limit of them.
type pageQuery[T any] struct {
	op, kind string
	scan     func(scanner) (T, error)
	query    string
	args     []any
	after    func(k *pagecursor.Key) (string, []any)
	order    string
	key      func(T) pagecursor.Key
}

func runPage[T any](ctx context.Context, q querier, tenantID string, p storage.Page, pq pageQuery[T]) ([]T, string, error) {
	if err := checkTenant(ctx, pq.op, tenantID); err != nil {
		return nil, "", err
	}
	k, err := pagecursor.Decode(pq.kind, p.Cursor, p.Limit)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: %s: %w", pq.op, err)
	}
	query, args := pq.query, pq.args
	if k != nil {
		cond, more := pq.after(k)
		query += " AND " + cond
		args = append(args, more...)
	}
	query += " ORDER BY " + pq.order + " LIMIT ?"
	args = append(args, p.Limit+1)
	items, err := queryList(ctx, q, pq.op, pq.scan, query, args...)
	if err != nil {
		return nil, "", err
	}
	items, next := pagecursor.Cut(pq.kind, items, p.Limit, pq.key)
	return items, next, nil
}

// byCreated is the keyset of lists ordered by (created_at, id).
func byCreated(k *pagecursor.Key) (string, []any) {
	return "(created_at, id) > (?, ?)", []any{k.Micros, k.S}
}

// ListUsersPage is one page of ListUsers.
func (s *Store) ListUsersPage(ctx context.Context, tenantID string, p storage.Page) ([]record.User, string, error) {
	return runPage(ctx, s.q, tenantID, p, pageQuery[record.User]{
		op: "list users", kind: "users", scan: scanUser,
		query: `SELECT ` + userCols + ` FROM users WHERE tenant_id = ?`, args: []any{tenantID},
		after: byCreated, order: "created_at, id",
		key: func(u record.User) pagecursor.Key { return pagecursor.Key{Micros: u.CreatedAt.UnixMicro(), S: u.ID} },
	})
}

// ListAPITokensPage is one page of ListAPITokens.
func (s *Store) ListAPITokensPage(ctx context.Context, tenantID string, p storage.Page) ([]record.APIToken, string, error) {
	return runPage(ctx, s.q, tenantID, p, pageQuery[record.APIToken]{
		op: "list api tokens", kind: "api_tokens", scan: scanToken,
		query: `SELECT ` + tokenCols + ` FROM api_tokens WHERE tenant_id = ?`, args: []any{tenantID},
		after: byCreated, order: "created_at, id",
		key: func(t record.APIToken) pagecursor.Key {
			return pagecursor.Key{Micros: t.CreatedAt.UnixMicro(), S: t.ID}
		},
	})
}

// ListBotsPage is one page of ListBots.
func (s *Store) ListBotsPage(ctx context.Context, tenantID string, p storage.Page) ([]record.Bot, string, error) {
	return runPage(ctx, s.q, tenantID, p, pageQuery[record.Bot]{
		op: "list bots", kind: "bots", scan: scanBot,
		query: `SELECT ` + botCols + ` FROM bots WHERE tenant_id = ? AND deleted_at IS NULL`, args: []any{tenantID},
		after: byCreated, order: "created_at, id",
		key: func(b record.Bot) pagecursor.Key { return pagecursor.Key{Micros: b.CreatedAt.UnixMicro(), S: b.ID} },
	})
}

// ListSourcesPage is one page of ListSources.
func (s *Store) ListSourcesPage(ctx context.Context, tenantID, botID string, p storage.Page) ([]record.Source, string, error) {
	query, args := `SELECT `+sourceCols+` FROM sources WHERE tenant_id = ?`, []any{tenantID}
	if botID != "" {
		query, args = query+` AND bot_id = ?`, append(args, botID)
	}
	return runPage(ctx, s.q, tenantID, p, pageQuery[record.Source]{
		op: "list sources", kind: "sources", scan: scanSource, query: query, args: args,
		after: byCreated, order: "created_at, id",
		key: func(s record.Source) pagecursor.Key { return pagecursor.Key{Micros: s.CreatedAt.UnixMicro(), S: s.ID} },
	})
}

// ListDocumentsPage is one page of ListDocuments (keys compare byte-wise).
func (s *Store) ListDocumentsPage(ctx context.Context, tenantID, sourceID string, p storage.Page) ([]record.Document, string, error) {
	return runPage(ctx, s.q, tenantID, p, pageQuery[record.Document]{
		op: "list documents", kind: "documents", scan: scanDoc,
		query: `SELECT ` + docCols + ` FROM documents WHERE tenant_id = ? AND source_id = ?`, args: []any{tenantID, sourceID},
		after: func(k *pagecursor.Key) (string, []any) { return "key > ?", []any{k.S} },
		order: "key",
		key:   func(d record.Document) pagecursor.Key { return pagecursor.Key{S: d.Key} },
	})
}

// seqJob is a job with its row number, the tie-breaker of ListJobs.
type seqJob struct {
	seq int64
	job record.Job
}

// ListJobsPage is one page of ListJobs (newest first, ties newest
// inserted first, as ListJobs).
func (s *Store) ListJobsPage(ctx context.Context, tenantID, sourceID string, p storage.Page) ([]record.Job, string, error) {
	query, args := `SELECT seq, `+jobCols+` FROM jobs WHERE tenant_id = ?`, []any{tenantID}
	if sourceID != "" {
		query, args = query+` AND source_id = ?`, append(args, sourceID)
	}
	rows, next, err := runPage(ctx, s.q, tenantID, p, pageQuery[seqJob]{
		op: "list jobs", kind: "jobs", query: query, args: args,
		scan: func(sc scanner) (seqJob, error) {
			var sj seqJob
			j, err := scanJob(seqScanner{sc, &sj.seq})
			sj.job = j
			return sj, err
		},
		after: func(k *pagecursor.Key) (string, []any) { return "(created_at, seq) < (?, ?)", []any{k.Micros, k.N} },
		order: "created_at DESC, seq DESC",
		key: func(sj seqJob) pagecursor.Key {
			return pagecursor.Key{Micros: sj.job.CreatedAt.UnixMicro(), S: sj.job.ID, N: sj.seq}
		},
	})
	if err != nil {
		return nil, "", err
	}
	jobs := make([]record.Job, len(rows))
	for i, r := range rows {
		jobs[i] = r.job
	}
	return jobs, next, nil
}

// seqScanner scans a leading seq column into seq, the rest into dest.
type seqScanner struct {
	sc  scanner
	seq *int64
}

func (s seqScanner) Scan(dest ...any) error { return s.sc.Scan(append([]any{s.seq}, dest...)...) }

// QueryDocumentsPage is one page of the tenant's documents q selects,
// ordered by source ID then key (byte-wise): a range scan of
// documents_tenant, documents_bot or (source_id, key), with q.Filter
// checked on each row (see compileFilter). A cursor is bound to its query.
func (s *Store) QueryDocumentsPage(ctx context.Context, q storage.DocumentQuery, p storage.Page) ([]record.Document, string, error) {
	const op = "query documents"
	if err := checkTenant(ctx, op, q.TenantID); err != nil {
		return nil, "", err
	}
	if err := q.Filter.Validate("filter"); err != nil {
		return nil, "", fmt.Errorf("sqlite: %s: %w", op, err)
	}
	fj, err := q.Filter.MarshalJSON()
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: %s: %w", op, record.Invalid("filter", err.Error()))
	}
	query, args := `SELECT `+docCols+` FROM documents WHERE tenant_id = ?`, []any{q.TenantID}
	if q.BotID != "" {
		query, args = query+` AND bot_id = ?`, append(args, q.BotID)
	}
	if q.SourceID != "" {
		query, args = query+` AND source_id = ?`, append(args, q.SourceID)
	}
	if !q.Filter.IsZero() {
		cond, fargs := compileFilter("metadata", q.Filter)
		query, args = query+` AND `+cond, append(args, fargs...)
	}
	return runPage(ctx, s.q, q.TenantID, p, pageQuery[record.Document]{
		op: op, kind: pagecursor.Bound("documents-query", q.BotID, q.SourceID, string(fj)), scan: scanDoc,
		query: query, args: args,
		after: func(k *pagecursor.Key) (string, []any) { return "(source_id, key) > (?, ?)", []any{k.S, k.S2} },
		order: "source_id, key",
		key:   func(d record.Document) pagecursor.Key { return pagecursor.Key{S: d.SourceID, S2: d.Key} },
	})
}
