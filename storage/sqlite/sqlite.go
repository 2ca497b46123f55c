package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Compile-time check that Store implements storage.Storage.
var _ storage.Storage = (*Store)(nil)

// MemoryPath is the path that opens a private in-memory database.
const MemoryPath = ":memory:"

// Option configures Open.
type Option func(*options)

type options struct {
	busyTimeout  time.Duration
	maxOpenConns int
}

// WithBusyTimeout sets how long a connection waits for a lock held by
// another connection before failing (default 10s).
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// WithMaxOpenConns caps the number of open connections (default 8). Readers
// run concurrently; writers take turns whatever the number.
func WithMaxOpenConns(n int) Option {
	return func(o *options) { o.maxOpenConns = n }
}

// Store is a storage.Storage on SQLite. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	// keep pins one connection of an in-memory database, which lives only
	// while a connection to it is open.
	keep *sql.Conn
	q    querier
	// tx is set on the Store given to an InTx callback.
	tx *sql.Tx
	// sp numbers savepoints within tx.
	sp *int

	closeOnce sync.Once
	closeErr  error
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// Open opens (creating it when missing) the database at path, a file path or
// ":memory:", and brings its schema up to date.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{busyTimeout: 10 * time.Second, maxOpenConns: 8}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" {
		return nil, fmt.Errorf("sqlite: open: %w", record.Invalid("path", "is required"))
	}
	if o.maxOpenConns < 1 {
		return nil, fmt.Errorf("sqlite: open: %w", record.Invalid("max_open_conns", "must be at least 1"))
	}
	if o.busyTimeout < 0 {
		return nil, fmt.Errorf("sqlite: open: %w", record.Invalid("busy_timeout", "must not be negative"))
	}

	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(o.busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	var dsn string
	memory := path == MemoryPath
	if memory {
		// A named database of the memdb VFS is shared by every connection
		// of this process that opens the same name, and by nothing else.
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("sqlite: open: %w", err)
		}
		q.Set("vfs", "memdb")
		dsn = "file:/minirag-" + hex.EncodeToString(b[:]) + "?" + q.Encode()
	} else {
		if strings.ContainsRune(path, '?') {
			return nil, fmt.Errorf("sqlite: open: %w", record.Invalid("path", "must not contain '?'"))
		}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// Statement journals and the temporary tables of multi-row
		// INSERTs into chunks (SQLite materializes their rows because of
		// the full-text trigger) stay in memory instead of spilling to
		// files in /var/tmp, each opened, written and unlinked per
		// statement. They never held anything durable: a temporary file
		// is deleted at close and never read back after a crash. Their
		// size is bounded by one statement's pages (one PutDocuments
		// group).
		q.Add("_pragma", "temp_store(MEMORY)")
		dsn = path + "?" + q.Encode()
	}

	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if memory {
		// One more for the pinned connection.
		db.SetMaxOpenConns(o.maxOpenConns + 1)
		db.SetMaxIdleConns(o.maxOpenConns + 1)
	} else {
		db.SetMaxOpenConns(o.maxOpenConns)
		db.SetMaxIdleConns(o.maxOpenConns)
	}
	s := &Store{db: db, q: db}
	if memory {
		s.keep, err = db.Conn(ctx)
	} else {
		err = db.PingContext(ctx)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, translate(ctx, err))
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database; closing again does nothing. On the Store
// given to an InTx callback it does nothing.
func (s *Store) Close() error {
	if s.tx != nil {
		return nil
	}
	s.closeOnce.Do(func() {
		var errs []error
		if s.keep != nil {
			errs = append(errs, s.keep.Close())
		}
		errs = append(errs, s.db.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return s.closeErr
}

// InTx runs fn in one transaction (BEGIN IMMEDIATE). It commits when fn
// returns nil and rolls back otherwise, or when fn panics. Called on the
// Store of an InTx callback, it runs fn in the same transaction under a
// savepoint, so a failing inner fn undoes only its own writes.
func (s *Store) InTx(ctx context.Context, fn func(tx storage.Storage) error) error {
	return s.withTx(ctx, func(tx *Store) error { return fn(tx) })
}

// withTx runs fn with a Store bound to a transaction: a new one, or a
// savepoint of the current one.
func (s *Store) withTx(ctx context.Context, fn func(tx *Store) error) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if s.tx != nil {
		*s.sp++
		name := "sp" + strconv.Itoa(*s.sp)
		if _, err := s.tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
			return fmt.Errorf("sqlite: savepoint: %w", translate(ctx, err))
		}
		done := false
		defer func() {
			if done {
				return
			}
			// Roll back to the savepoint on error or panic; the
			// savepoint itself must then be released.
			_, _ = s.tx.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO "+name)
			_, _ = s.tx.ExecContext(context.WithoutCancel(ctx), "RELEASE "+name)
		}()
		if err := fn(s); err != nil {
			return err
		}
		if _, err := s.tx.ExecContext(ctx, "RELEASE "+name); err != nil {
			return fmt.Errorf("sqlite: release savepoint: %w", translate(ctx, err))
		}
		done = true
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", translate(ctx, err))
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	n := 0
	if err := fn(&Store{db: s.db, q: tx, tx: tx, sp: &n}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", translate(ctx, err))
	}
	committed = true
	return nil
}

// checkTenant returns the error for a call with a cancelled context or an
// empty tenant ID.
func checkTenant(ctx context.Context, op, tenantID string) error {
	if tenantID == "" {
		return fmt.Errorf("sqlite: %s: %w", op, record.ErrEmptyTenant)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return nil
}

// translate maps a driver error to the errors callers test for: no rows to
// record.ErrNotFound, a uniqueness violation to record.ErrConflict, and any
// failure under a cancelled context to an error wrapping ctx.Err().
func translate(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return record.ErrNotFound
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	var se *sqlitedrv.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", record.ErrConflict, uniqueWhat(se.Error()))
		}
	}
	return err
}

// isFKViolation reports whether err is a foreign key constraint failure.
func isFKViolation(err error) bool {
	var se *sqlitedrv.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// uniqueWhat names what a uniqueness violation duplicated, from SQLite's
// message ("UNIQUE constraint failed: users.tenant_id, users.email_norm").
func uniqueWhat(msg string) string {
	// The driver's text may repeat the phrase ("constraint failed: UNIQUE
	// constraint failed: chunks.id (2067)"): the columns follow the last.
	i := strings.LastIndex(msg, "constraint failed: ")
	if i < 0 {
		return "duplicate value"
	}
	cols := msg[i+len("constraint failed: "):]
	if i := strings.LastIndex(cols, " ("); i >= 0 {
		cols = cols[:i]
	}
	switch {
	case strings.Contains(cols, "tenants.slug"):
		return "tenant slug already used"
	case strings.Contains(cols, "users.email_norm"):
		return "email already used in the tenant"
	case strings.Contains(cols, "api_tokens.hash"):
		return "token hash already used"
	case strings.Contains(cols, "documents.source_id"):
		return "document key already used in the source"
	}
	if table, _, ok := strings.Cut(cols, "."); ok {
		return "duplicate " + strings.TrimSuffix(table, "s") + " id"
	}
	return "duplicate value"
}

// opErr prefixes err with the package and operation.
func opErr(ctx context.Context, op string, err error) error {
	return fmt.Errorf("sqlite: %s: %w", op, translate(ctx, err))
}

// Time encoding: microseconds since the Unix epoch.

func tm(t time.Time) int64 { return t.UnixMicro() }

func tmPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromTm(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromTmPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromTm(v.Int64)
	return &t
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
