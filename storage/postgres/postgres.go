// Package postgres is storage.Storage on PostgreSQL (13 or newer) through
// pgx/v5: the store for a deployment of several processes sharing one
// database.
//
//	pool, _ := pgxpool.New(ctx, "postgres://minirag@db/minirag")
//	store, err := postgres.New(ctx, pool, postgres.WithSchema("minirag"))
//	// or, owning its pool:
//	store, err := postgres.Open(ctx, "postgres://minirag@db/minirag")
//
// # Schema and migrations
//
// The tables live in one schema (WithSchema; by default the connection's
// search_path, usually "public"), created if missing. Versioned migrations
// (migrations/*.sql) are embedded in the binary and applied by New in one
// transaction that first takes a transaction-level advisory lock
// (pg_advisory_xact_lock) keyed by the schema, so that many processes
// starting at once migrate exactly once; the applied versions are kept in
// schema_migrations. A database migrated by a newer version of this
// package is refused rather than misread. The schema and schema_migrations
// are looked up first and created only when missing, and a New that finds
// every migration applied runs no DDL: once a role allowed to create has
// migrated the schema, roles that may only read and write data (USAGE on
// the schema; SELECT, INSERT, UPDATE, DELETE on its tables) start fine.
// The schema name comes from configuration, never from end users, and is
// quoted with pgx.Identifier.Sanitize wherever it appears in SQL; every
// value is a query parameter.
//
//	tenants ─┬─ users ── api_tokens
//	         └─ bots ── sources ─┬─ documents ── chunks (tsvector + GIN)
//	                             └─ jobs
//
// # Lexical search
//
// Each chunk row carries a tsvector over its text (weight A) and its
// document's title (weight B), indexed with GIN, built with the text search
// configuration of the chunk's bot (record.Bot.Language: empty means
// "english"; CreateBot and UpdateBot refuse a name that is not in the
// server's pg_ts_config, naming "language"). Changing a bot's language, or
// moving a source to a bot of another language, re-indexes those chunks in
// the same transaction. A BEFORE trigger computes the tsvector and its
// token count (tsv_len, BM25's document length).
//
// SearchLexical ranks by Okapi BM25 (k1 = 1.2 and b = 0.75 by default,
// WithBM25 to change them), as storage/sqlite's FTS5 does, over the
// distinct lexemes of the query (normalized by to_tsvector in
// LexicalQuery.Language; stop words drop out), OR-ed: a chunk matches when
// it holds any of them. A term's frequency in a chunk is its occurrences in
// the text plus half those in the title (ts_rank_cd of the one lexeme with
// weights {0, 0, 0.5, 1}), as storage/sqlite weighs its columns.
//
// The statistics BM25 needs are kept per tenant and bot in lexeme_stats:
// how many chunks hold each lexeme, and how many chunks there are with
// their total length. Statement-level triggers on chunks append the changes
// of every INSERT, UPDATE and DELETE (foreign-key cascades included) to
// lexeme_deltas in the writing transaction, so the statistics are exactly
// as committed as the chunks, whatever process writes, and writers never
// update a shared row (no lock waits or deadlocks between concurrent
// ingestions). A search reads both tables, scoped to its bot (all the
// tenant's bots when LexicalQuery.BotID is empty), never another tenant's.
// The store folds deltas into lexeme_stats in one statement under a
// per-tenant advisory lock (every few writes outside a transaction, and
// when a search finds many pending); readers see the same sums before and
// after a fold.
//
// Candidates come from the GIN index, rarest lexemes first: a first query
// scores the chunks holding the rarest terms (up to about 500 chunks by
// document frequency); if the best possible score of the remaining terms
// (their idf·(k1+1), summed) is below the k-th score found, no other chunk
// can enter the top k and the search is done, else the fewest further
// terms that close that gap are added and the query runs again. A query of
// common words therefore does not score half the corpus, and the top k is
// the exact BM25 top k. A term in half the chunks or more has idf 1e-6 (as
// in FTS5), so it only orders chunks that tie otherwise. At most 50,000
// candidates are scored in one query (a bound reached only by queries made
// of very common words in very large tenants, where the top k is then
// taken from the first 50,000 candidates).
//
// Query text is never syntax: quotes, minus signs, "or" and operators are
// plain words or ignored, as in storage/sqlite. docs/QUALITY.md compares
// the ranking with storage/sqlite's on the labeled set, docs/PERFORMANCE.md
// the latency.
//
// # Documents and metadata filters
//
// A document's metadata is a jsonb column with a GIN index
// (jsonb_path_ops). A metadata filter (package filter), in
// QueryDocumentsPage and in LexicalQuery.Filter, is compiled to SQL with
// every value a bound parameter, and holds exactly where filter.Match
// does: Eq and In become jsonb containment, which the GIN index answers;
// ranges and Exists are jsonpath conditions with the bounds as variables.
// SearchLexical applies the filter to the candidate chunks before they are
// scored. QueryDocumentsPage pages in source then key order, each page one
// range scan of an index on (tenant, source, key) or (tenant, bot, source,
// key); GetDocumentByKey is one probe of the unique (source, key) index.
//
// # Erasing a tenant
//
// DeleteTenant removes the tenant's API tokens, users and jobs first, then
// its documents and conversations in batches of their own transactions,
// and the tenant row (with what is left, by cascade) and its BM25
// statistics last. An interrupted erase leaves a tenant no one can sign
// in to, and DeleteTenant again finishes it.
//
// # Jobs
//
// ClaimJob is one UPDATE of the row picked by SELECT … FOR UPDATE SKIP
// LOCKED, so any number of worker processes claim concurrently without
// ever getting the same job; a job whose lease expired (its worker died) is
// claimed again.
//
// # Production
//
// Point the store at any PostgreSQL 13+ (managed services included): create
// a database and a role that owns it (or has CREATE on it, to make the
// schema), and give the role's URL to Open, or build the pool yourself
// (pgxpool.ParseConfig, then MaxConns and the like) and call New. Every
// process of a deployment calls New at start; the first one migrates.
// To run the processes as a role without CREATE, migrate first as the
// owner (a New at deployment time, for each new version of this package),
// then grant the runtime role USAGE on the schema and SELECT, INSERT,
// UPDATE, DELETE on its tables (docs/postgres.md shows the GRANTs).
// Size the pool for the workers and requests of one process (pgxpool's
// default is max(4, number of CPUs)); the job queue needs no extension and
// no LISTEN/NOTIFY. Behind PgBouncer in transaction mode, set the pool's
// DefaultQueryExecMode to pgx.QueryExecModeExec or use PgBouncer 1.21+
// with max_prepared_statements.
//
// # Errors
//
// Every driver error is translated at the boundary: no rows is
// record.ErrNotFound, a unique violation record.ErrConflict, a foreign key
// violation record.ErrNotFound or a *record.ValidationError naming the
// field, a cancelled context wraps ctx.Err(), and anything else is a
// *DBError carrying the SQLSTATE and message (never a pgx type).
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Compile-time check that Store implements storage.Storage.
var _ storage.Storage = (*Store)(nil)

// DefaultLexicalLimit is the number of lexical matches when
// LexicalQuery.Limit is not positive.
const DefaultLexicalLimit = 20

// DefaultLanguage is the text-search configuration used when none is set.
const DefaultLanguage = "english"

// Option configures New and Open.
type Option func(*options)

type options struct {
	schema string
	logger *slog.Logger
	bm25   BM25
}

// WithSchema keeps every table in schema (created if missing). It must be a
// PostgreSQL identifier of 1 to 63 bytes from configuration (it is quoted,
// never interpolated raw).
func WithSchema(schema string) Option { return func(o *options) { o.schema = schema } }

// WithLogger sets the logger for migrations (silent by default).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// querier is what *pgxpool.Pool and pgx.Tx share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Store is storage.Storage on PostgreSQL. It is safe for concurrent use
// (a Store given to an InTx callback is bound to its transaction and, like
// pgx.Tx, must not be used concurrently).
type Store struct {
	pool     *pgxpool.Pool
	q        querier
	ownsPool bool
	inTx     bool
	prefix   string // `"schema".` or ""
	schema   string
	log      *slog.Logger
	langs    *sync.Map // language name -> bool (exists in pg_ts_config)
	bm25     BM25
	writes   *atomic.Int64 // chunk writes outside a transaction (see wrote)
	erase    eraseTuning   // DeleteTenant's batches (tests only)
	// lexFilter is how SearchLexical applies a metadata filter
	// (lexFilterAdaptive; the others for benchmarks).
	lexFilter int
}

var langRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// New returns a Store on pool, which the caller keeps (Close does not close
// it), after applying missing migrations.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("postgres: new: %w", record.Invalid("pool", "is nil"))
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.schema != "" && (len(o.schema) > 63 || strings.ContainsRune(o.schema, 0)) {
		return nil, fmt.Errorf("postgres: new: %w", record.Invalid("schema", "must be an identifier of at most 63 bytes"))
	}
	log := o.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{pool: pool, q: pool, schema: o.schema, log: log, langs: &sync.Map{}, bm25: o.bm25.withDefaults(), writes: new(atomic.Int64)}
	if o.schema != "" {
		s.prefix = pgx.Identifier{o.schema}.Sanitize() + "."
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Open connects to the database at connString (a URL or key=value DSN) and
// returns a Store owning its pool: Close closes it.
func Open(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// The parse error may echo the DSN, password included: not passed on.
		return nil, fmt.Errorf("postgres: open: %w", record.Invalid("dsn", "cannot be parsed"))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrapErr(ctx, "open", err)
	}
	s, err := New(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownsPool = true
	return s, nil
}

// Pool returns the pool the store runs on.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool when Open made it; otherwise it does nothing.
func (s *Store) Close() error {
	if s.ownsPool && !s.inTx {
		s.pool.Close()
	}
	return nil
}

// sql qualifies the table names written "@.name" with the store's schema.
func (s *Store) sql(q string) string { return strings.ReplaceAll(q, "@.", s.prefix) }

// InTx runs fn in one transaction (a savepoint when s is already a
// transaction's store).
func (s *Store) InTx(ctx context.Context, fn func(tx storage.Storage) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: in tx: %w", err)
	}
	return s.tx(ctx, "in tx", func(tx *Store) error { return fn(tx) })
}

// tx runs fn on a Store bound to a new transaction or savepoint. fn's own
// errors are returned as they are; driver errors are translated.
func (s *Store) tx(ctx context.Context, op string, fn func(tx *Store) error) error {
	ptx, err := s.q.Begin(ctx)
	if err != nil {
		return wrapErr(ctx, op, err)
	}
	txs := *s
	txs.q = ptx
	txs.inTx = true
	// A panic in fn rolls back (releasing the connection) and goes on up.
	done := false
	defer func() {
		if !done {
			_ = ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	err = fn(&txs)
	done = true
	if err != nil {
		_ = ptx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		_ = ptx.Rollback(context.WithoutCancel(ctx))
		return wrapErr(ctx, op, err)
	}
	return nil
}

// DBError is a database error that has no record sentinel: the SQLSTATE
// (empty for a connection error) and the server's message.
type DBError struct {
	Code    string
	Message string
}

// Error implements error.
func (e *DBError) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Message + " (SQLSTATE " + e.Code + ")"
}

// fkErrors maps foreign-key constraint names to the error a caller gets.
var fkErrors = map[string]error{
	"users_tenant_fk":                       fmt.Errorf("tenant: %w", record.ErrNotFound),
	"bots_tenant_fk":                        fmt.Errorf("tenant: %w", record.ErrNotFound),
	"api_tokens_tenant_fk":                  fmt.Errorf("tenant: %w", record.ErrNotFound),
	"api_tokens_user_fk":                    fmt.Errorf("user: %w", record.ErrNotFound),
	"sources_bot_fk":                        record.Invalid("bot_id", "is not a bot of the tenant"),
	"documents_source_fk":                   fmt.Errorf("source: %w", record.ErrNotFound),
	"jobs_source_fk":                        fmt.Errorf("source: %w", record.ErrNotFound),
	"chunks_document_fk":                    fmt.Errorf("document: %w", record.ErrNotFound),
	"conversations_tenant_fk":               fmt.Errorf("tenant: %w", record.ErrNotFound),
	"conversations_bot_fk":                  record.Invalid("bot_id", "is not a bot of the tenant"),
	"conversation_messages_conversation_fk": fmt.Errorf("conversation: %w", record.ErrNotFound),
	"feedback_message_fk":                   fmt.Errorf("message: %w", record.ErrNotFound),
	"usage_daily_tenant_fk":                 fmt.Errorf("tenant: %w", record.ErrNotFound),
	"request_windows_tenant_fk":             fmt.Errorf("tenant: %w", record.ErrNotFound),
}

// wrapErr is the one place driver errors become this package's errors.
func wrapErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("postgres: %s: %w", op, cerr)
	}
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("postgres: %s: %w", op, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("postgres: %s: %w", op, context.DeadlineExceeded)
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s: %w", op, record.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation; the detail (with values) is not passed on
			return fmt.Errorf("postgres: %s: %w: %s", op, record.ErrConflict, pe.ConstraintName)
		case "23503": // foreign_key_violation
			if e, ok := fkErrors[pe.ConstraintName]; ok {
				return fmt.Errorf("postgres: %s: %w", op, e)
			}
			return fmt.Errorf("postgres: %s: %w", op, record.ErrNotFound)
		case "22021", "22P05": // bad encoding (a NUL byte in text)
			return fmt.Errorf("postgres: %s: %w", op, record.Invalid("text", "contains a character PostgreSQL cannot store (NUL)"))
		case "22P02": // invalid_text_representation
			return fmt.Errorf("postgres: %s: %w", op, record.Invalid("input", pe.Message))
		case "54000": // program_limit_exceeded (a tsvector too long, ...)
			return fmt.Errorf("postgres: %s: %w", op, record.Invalid("text", pe.Message))
		case "57014": // query_canceled (statement_timeout or a cancel)
			return fmt.Errorf("postgres: %s: %w", op, &DBError{Code: pe.Code, Message: pe.Message})
		}
		return fmt.Errorf("postgres: %s: %w", op, &DBError{Code: pe.Code, Message: pe.Message})
	}
	return fmt.Errorf("postgres: %s: %w", op, &DBError{Message: err.Error()})
}

// begin checks the context and the tenant of a tenant-scoped call.
func begin(ctx context.Context, op, tenantID string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if tenantID == "" {
		return fmt.Errorf("postgres: %s: %w", op, record.ErrEmptyTenant)
	}
	return nil
}

// exec runs a statement that must touch a row: ErrNotFound when it touched
// none.
func (s *Store) exec(ctx context.Context, op, q string, args ...any) error {
	tag, err := s.q.Exec(ctx, s.sql(q), args...)
	if err != nil {
		return wrapErr(ctx, op, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", op, record.ErrNotFound)
	}
	return nil
}

// list runs q and scans every row with scan; an empty result is an empty,
// non-nil slice.
func list[T any](ctx context.Context, s *Store, op string, scan func(pgx.Row) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.q.Query(ctx, s.sql(q), args...)
	if err != nil {
		return nil, wrapErr(ctx, op, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrapErr(ctx, op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(ctx, op, err)
	}
	return out, nil
}

// one runs q and scans its only row; no row is ErrNotFound.
func one[T any](ctx context.Context, s *Store, op string, scan func(pgx.Row) (T, error), q string, args ...any) (T, error) {
	v, err := scan(s.q.QueryRow(ctx, s.sql(q), args...))
	if err != nil {
		var zero T
		return zero, wrapErr(ctx, op, err)
	}
	return v, nil
}

// Value helpers.

func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// usec truncates to microseconds, what timestamptz keeps.
func usec(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// jsonArg encodes v for a jsonb parameter; nil stays NULL.
func jsonArg(raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func cloneStrings(l []string) []string {
	if l == nil {
		return nil
	}
	return append([]string(nil), l...)
}

func marshalMap(m record.Metadata) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// prefixed puts p before each column of a comma-separated list.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
