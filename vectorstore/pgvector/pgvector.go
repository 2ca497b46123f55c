// Package pgvector is a vectorstore.VectorStore on PostgreSQL with the
// pgvector extension, through pgx/v5 and pgvector-go.
//
//	New(ctx, pool, Options) ──► Store ──Init(Space)──► table <prefix><model>_<hash>
//	                                                     (tenant_id, id) primary key
//	                                                     btree (tenant_id, bot_id), (tenant_id, source_id), (tenant_id, document_id)
//	                                                     HNSW (embedding vector_cosine_ops) WITH (m, ef_construction)
//	                                                     GIN (metadata) — jsonb, the record's document metadata
//
// # Tables
//
// Each embedding space (model) gets its own table, named from the model
// (lower-cased, other characters than [a-z0-9] turned into "_", shortened)
// and a hash of the exact model name, so two models never share a table.
// Its embedding column is vector(Dims): Init reads the column's size back
// (pg_attribute.atttypmod) and fails with vectorstore.ErrDimensionMismatch
// when a table for the model exists with other dimensions. Records are
// keyed by (tenant_id, id): the same ID in two tenants is two records.
// The extension, schema, table and indexes are created under a
// transaction-level advisory lock, so that many processes calling Init at
// once are safe. Init looks each one up first (pg_extension, pg_namespace,
// to_regclass) and creates only what is missing: once the table exists it
// runs no DDL, so a role with only USAGE on the schema and SELECT, INSERT,
// UPDATE, DELETE on the table may call it.
//
// A table is upgraded in place the same way: a table made before metadata
// existed gets its metadata column (jsonb NOT NULL DEFAULT '{}', added
// without rewriting the table) and its GIN index at the next Init, which
// then needs the table's owner once; existing records have no metadata
// until they are upserted again or SetMetadata sets it.
//
// # Metadata filters
//
// Record.Metadata is stored as jsonb (U+0000, which jsonb cannot hold, is
// an input error). Filter.Metadata is compiled to SQL with every value a
// bound parameter, with filter.Match's semantics: Eq and In are jsonb
// containment (@> ANY of {"k": v} and {"k": [v]}, served by the GIN
// index), ranges compare numbers as numeric and strings byte-wise
// (COLLATE "C") with the field's value or any element of its array,
// Exists is a present key holding neither null nor only nulls, and Not
// holds for a record without the field. It is part of the same statement
// as the distance ORDER BY: on the HNSW path the iterative scan goes on
// until TopK rows pass it (with Options.FilterEfSearch as
// hnsw.ef_search), and a selective filter (at most ExactThreshold matching
// rows) takes the exact path. The count that chooses the path evaluates
// the filter row by row where the GIN index cannot serve it (ranges,
// Exists, Not), up to ExactThreshold+1 matches: a new selective filter of
// that kind reads all of a large tenant's rows once (the count is then
// cached, see below). Delete, List and SetMetadata apply the filter too.
//
// # The vector extension
//
// pgvector is not a trusted extension (its vector.control does not say
// trusted = true), so owning the database is not enough to create it: only
// a superuser, or on a managed service its admin role (rds_superuser on
// Amazon RDS, cloudsqlsuperuser on Cloud SQL, ...), can run
//
//	CREATE EXTENSION vector;
//
// Run it once per database, at provisioning. Init then only checks that
// the extension is there. When it is not, Init tries to create it, which
// works for a superuser (convenient in development and tests); for any
// other role, or when the server has no pgvector at all, Init fails with
// ErrNoExtension, naming the database and the statement to run.
//
// # Search and filtered recall
//
// A search always filters on tenant_id, and on bot, sources, documents,
// record IDs and metadata when set. Filtering an approximate (HNSW) index scan is where recall can
// be lost: the index returns its ef_search nearest rows of the whole table
// and the filter is applied after, so a tenant owning a small share of the
// rows may get fewer than TopK matches, or none. The store avoids that in
// two ways:
//
//   - When at most Options.ExactThreshold rows match the filter (counted
//     through the btree index, with a bound), it runs an exact scan of just
//     those rows: no index on the embedding, exact scores and order. The
//     count is kept for 30 seconds per tenant and filter (a tenant counted
//     small makes all its filters small), and forgotten when this Store
//     writes to the tenant, so searches do not pay it every time; another
//     process's writes show within the 30 seconds.
//   - Otherwise it uses the HNSW index with hnsw.ef_search set to
//     max(Options.EfSearch, TopK) (Options.FilterEfSearch instead of
//     EfSearch with a metadata filter), in a transaction (set_config(..., true),
//     the same as SET LOCAL). On pgvector 0.8 or newer (the version is read
//     from pg_extension at Init) it also sets hnsw.iterative_scan to
//     relaxed_order: the index scan goes on until TopK rows pass the filter
//     (bounded by hnsw.max_scan_tuples), and the store re-sorts the results.
//     On older pgvector (0.5 to 0.7) there is no iterative scan: a filter
//     that matches more than ExactThreshold rows but a small share of the
//     table may return fewer than TopK matches. Raise EfSearch (up to 1000)
//     or ExactThreshold there.
//
// Scores are 1 - cosine distance, the cosine similarity. A zero vector,
// stored or queried, scores 0 (pgvector's distance is NaN there; HNSW does
// not index zero vectors, which the exact path still finds).
//
// # Compatibility
//
// The SQL is plain PostgreSQL 13+ with pgvector 0.5+ (HNSW appeared in
// 0.5.0). The extension's type, operator and operator class are written
// qualified with the schema it lives in (read from pg_extension at Init):
// vector(n), ::vector, <=> and vector_cosine_ops work whatever the role's
// search_path, including the search_path = minirag of docs/postgres.md.
// Vectors of more than 2,000 dimensions get no HNSW index (pgvector's
// limit for the vector type): every search is then exact.
//
// # Bulk loading
//
// An Upsert of at least 256 records (after removing duplicate keys) goes
// through binary COPY (pgx CopyFrom with pgvector-go's codec, registered
// for the vector type's OID on the connection it uses) into a temporary
// staging table, merged with INSERT … ON CONFLICT DO UPDATE in the same
// transaction. Smaller batches, and every batch where COPY cannot run, are
// an INSERT … SELECT FROM unnest(…) … ON CONFLICT with vectors in
// pgvector's text form (no type registration, any query execution mode).
// COPY is not used on PGlite (detected at Init from version(): its socket
// server does not carry the COPY sub-protocol), when Options.NoCopy is set
// (for a pooler or proxy that does not carry it), or after the server
// refused the staging table (no TEMP privilege, read-only): the store then
// falls back for good.
//
// Filling a table that has an HNSW index updates the index row by row.
// For a large initial load set Options.DeferIndex: Init creates the table
// without the index, searches are exact (brute force over the filter's
// rows) until BuildIndex builds it with CREATE INDEX CONCURRENTLY, and
// Reindex rebuilds it the same way (REINDEX INDEX CONCURRENTLY). Both size
// maintenance_work_mem so that the graph fits in memory (pgvector builds
// many times slower once it does not; see Options.MaintenanceWorkMem) and
// let pgvector build in parallel (Options.IndexWorkers): at 100k×384 on 2
// shared cores the build took 47 s with the server's 2 workers, 66 s in
// one process.
//
// # PGlite and connection poolers
//
// pgx caches a prepared statement per connection by default. On PGlite,
// whose socket server gives every connection the same backend, and behind
// a pooler in transaction mode (PgBouncer before 1.21, or without
// max_prepared_statements), the statements of two connections meet on one
// server session and collide (SQLSTATE 42P05, "prepared statement already
// exists") or go missing. Use the simple protocol there: add
// default_query_exec_mode=simple_protocol to the pool's URL, or set
// pgx.QueryExecModeSimpleProtocol as the pool's DefaultQueryExecMode. The
// store's SQL works in that mode (see Compatibility).
package pgvector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgv "github.com/pgvector/pgvector-go"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// Compile-time check that Store implements vectorstore.VectorStore.
var _ vectorstore.VectorStore = (*Store)(nil)

// Defaults of Options.
const (
	DefaultTablePrefix    = "minirag_vec_"
	DefaultM              = 16
	DefaultEfConstruction = 64
	DefaultEfSearch       = 100
	// DefaultFilterEfSearch is Options.FilterEfSearch's default.
	DefaultFilterEfSearch = 400
	DefaultExactThreshold = 2000
	// MaxIndexedDims is the largest vector(n) pgvector's HNSW indexes.
	MaxIndexedDims = 2000
	// upsertBatch is how many records one INSERT statement carries.
	upsertBatch = 500
)

// ErrClosed is returned by a method called after Close.
var ErrClosed = errors.New("pgvector: store is closed")

// ErrNoExtension is returned by Init when the vector extension is not
// installed in the database and Init may not install it: the server has no
// pgvector, or the role is neither a superuser nor a managed service's
// admin role. The message says what to run, and where.
var ErrNoExtension = errors.New("the vector extension is not installed")

// Options configures a Store. The zero value uses the defaults.
type Options struct {
	// Schema holds the tables; empty means the connection's search_path
	// (usually "public"). It is created if missing. It comes from
	// configuration, never from end-user input, and is quoted as an
	// identifier.
	Schema string
	// TablePrefix starts every table name (default "minirag_vec_"). It must
	// match [a-z_][a-z0-9_]{0,19}.
	TablePrefix string
	// M is HNSW's max connections per layer (default 16, 2..100). It applies
	// when Init creates the index; an existing index keeps its own.
	M int
	// EfConstruction is HNSW's build-time candidate list (default 64,
	// 4..1000, at least 2*M).
	EfConstruction int
	// EfSearch is HNSW's search-time candidate list (default 100, 1..1000);
	// a search uses at least TopK.
	EfSearch int
	// FilterEfSearch replaces EfSearch for a search with a metadata filter
	// (Filter.Metadata) that goes through the HNSW index (default the
	// larger of 400 and EfSearch; 1..1000). The iterative scan's first candidate
	// list is mostly filtered out by a selective filter; a longer one keeps
	// recall: at 10,000 vectors, filters keeping 6% and 10% of a tenant had
	// recall@10 0.92 and 0.91 with 100, 0.92 and 1.00 with 200, 0.98 and
	// 1.00 with 400; at 50,000 the 6% filter had 0.92 with 400 and 0.96
	// with 1000 (docs/PERFORMANCE.md). Broad filters pay for a longer list
	// without needing it.
	FilterEfSearch int
	// ExactThreshold is the number of rows matching a search's filter up to
	// which the search is exact (no HNSW index). Default 2,000; -1 never
	// searches exactly (except for a zero query vector). Choosing the path
	// reads up to ExactThreshold+1 entries of the tenant's btree index (at
	// most once per 30 seconds per tenant and filter, see Search), so a
	// high threshold slows the first search of a large tenant; on pgvector older
	// than 0.8 (no iterative scans) raise it so that small filters stay
	// complete.
	ExactThreshold int
	// Logger receives debug messages (the path a search took); nil is
	// silent.
	Logger *slog.Logger
	// DeferIndex makes Init create a new table without its HNSW index, so
	// that a large initial load does not update the index row by row
	// (building it after is several times faster). Searches are exact until
	// BuildIndex creates it. An existing table keeps its index.
	DeferIndex bool
	// NoCopy turns off bulk upserts through COPY (see Upsert): for poolers
	// or proxies that do not carry COPY. PGlite is detected at Init.
	NoCopy bool
	// MaintenanceWorkMem, when set (like "1GB"; digits and kB, MB or GB),
	// is the maintenance_work_mem BuildIndex and Reindex run with. HNSW
	// builds many times slower once its graph outgrows it (pgvector then
	// notes "hnsw graph no longer fits into maintenance_work_mem"); the
	// server default is 64MB, about 30,000 vectors of 384 dimensions. When
	// empty, they count the table's rows and raise the session's setting to
	// the graph's estimated size (about 2.3 kB a row at 384 dimensions and
	// M = 16) when the server's is smaller, up to 1GB (about 450,000 such
	// rows), logging a warning when even that is too small.
	MaintenanceWorkMem string
	// IndexWorkers, when positive, is the max_parallel_maintenance_workers
	// BuildIndex and Reindex run with: pgvector (0.6+) builds HNSW in
	// parallel, the server's default is 2 workers, and the server caps them
	// with max_parallel_workers, max_worker_processes, the table's size and
	// 32MB of maintenance_work_mem per process. -1 builds in one process; 0
	// keeps the server's setting.
	IndexWorkers int
}

// Store is a vectorstore.VectorStore on PostgreSQL + pgvector. It is safe
// for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	ownsPool bool
	opts     Options
	log      *slog.Logger

	mu        sync.RWMutex
	closed    bool
	space     vectorstore.Space
	table     string // quoted, schema-qualified
	name      string // unquoted table name
	iterative bool   // pgvector >= 0.8
	hnsw      bool   // the table has a valid HNSW index
	version   string
	ext       sqlNames
	vecOID    uint32
	noCopy    bool

	sizes sizeCache
}

var (
	prefixRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,19}$`)
	memRE    = regexp.MustCompile(`^[0-9]{1,9}(kB|MB|GB)$`)
)

// New returns a Store using pool, which the caller keeps: Close does not
// close it. It validates opts but does not touch the database; Init does.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("pgvector: %w", record.Invalid("pool", "is nil"))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pgvector: %w", err)
	}
	if opts.TablePrefix == "" {
		opts.TablePrefix = DefaultTablePrefix
	}
	if opts.M == 0 {
		opts.M = DefaultM
	}
	if opts.EfConstruction == 0 {
		opts.EfConstruction = max(DefaultEfConstruction, 2*opts.M)
	}
	if opts.EfSearch == 0 {
		opts.EfSearch = DefaultEfSearch
	}
	if opts.FilterEfSearch == 0 {
		opts.FilterEfSearch = max(DefaultFilterEfSearch, opts.EfSearch)
	}
	if opts.ExactThreshold == 0 {
		opts.ExactThreshold = DefaultExactThreshold
	}
	v := &record.ValidationError{}
	if !prefixRE.MatchString(opts.TablePrefix) {
		v.Add("table_prefix", "must match [a-z_][a-z0-9_]{0,19}")
	}
	if opts.M < 2 || opts.M > 100 {
		v.Add("m", "must be between 2 and 100")
	}
	if opts.EfConstruction < 4 || opts.EfConstruction > 1000 || opts.EfConstruction < 2*opts.M {
		v.Add("ef_construction", "must be between 4 and 1000 and at least 2*m")
	}
	if opts.EfSearch < 1 || opts.EfSearch > 1000 {
		v.Add("ef_search", "must be between 1 and 1000")
	}
	if opts.FilterEfSearch < 1 || opts.FilterEfSearch > 1000 {
		v.Add("filter_ef_search", "must be between 1 and 1000")
	}
	if opts.ExactThreshold < -1 {
		v.Add("exact_threshold", "must be -1 or more")
	}
	if opts.IndexWorkers < -1 || opts.IndexWorkers > 1024 {
		v.Add("index_workers", "must be between -1 and 1024")
	}
	if opts.MaintenanceWorkMem != "" && !memRE.MatchString(opts.MaintenanceWorkMem) {
		v.Add("maintenance_work_mem", "must be digits followed by kB, MB or GB")
	}
	if len(opts.Schema) > 63 || strings.ContainsRune(opts.Schema, 0) {
		v.Add("schema", "must be a PostgreSQL identifier of at most 63 bytes")
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("pgvector: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{pool: pool, opts: opts, log: log}, nil
}

// Open connects to the database at connString and returns a Store that owns
// its pool: Close closes it.
func Open(ctx context.Context, connString string, opts Options) (*Store, error) {
	pool, err := pgxpool.New(ctx, connString)
	if err != nil {
		return nil, fmt.Errorf("pgvector: open: %w", record.Invalid("dsn", "cannot be parsed or connected"))
	}
	s, err := New(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownsPool = true
	return s, nil
}

// Close releases the store; it closes the pool only when Open made it.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.ownsPool {
		s.pool.Close()
	}
	return nil
}

// Version returns the pgvector version Init found ("" before Init).
func (s *Store) Version() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.version
}

// IterativeScan reports whether the server's pgvector (0.8+) has iterative
// index scans, which filtered searches on the HNSW index use.
func (s *Store) IterativeScan() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.iterative
}

// TableName returns the unquoted table name used for model.
func (s *Store) TableName(model string) string { return tableName(s.opts.TablePrefix, model) }

var nonIdent = regexp.MustCompile(`[^a-z0-9]+`)

// tableName is prefix + a readable slug of model + "_" + 8 hex digits of a
// hash of model: at most 20+30+1+8 = 59 bytes, room for index suffixes.
func tableName(prefix, model string) string {
	slug := strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(model), "_"), "_")
	if len(slug) > 30 {
		slug = strings.TrimRight(slug[:30], "_")
	}
	h := fnv.New32a()
	h.Write([]byte(model))
	if slug == "" {
		return fmt.Sprintf("%s%08x", prefix, h.Sum32())
	}
	return fmt.Sprintf("%s%s_%08x", prefix, slug, h.Sum32())
}

func (s *Store) ident(name string) string {
	if s.opts.Schema == "" {
		return pgx.Identifier{name}.Sanitize()
	}
	return pgx.Identifier{s.opts.Schema, name}.Sanitize()
}

// Init creates what is missing for space: the vector extension (see the
// package doc: only a superuser may; otherwise ErrNoExtension), the schema,
// the table and its indexes. When they all exist it only reads the
// catalogs.
func (s *Store) Init(ctx context.Context, space vectorstore.Space) error {
	v := &record.ValidationError{}
	if space.Model == "" {
		v.Add("model", "is required")
	}
	if space.Dims <= 0 {
		v.Add("dims", "must be positive")
	} else if space.Dims > 16000 {
		v.Add("dims", "must be at most 16000 (pgvector's limit)")
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("pgvector: init: %w", err)
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	name := tableName(s.opts.TablePrefix, space.Model)
	table := s.ident(name)
	var version, extSchema, serverVersion string
	var hnsw bool
	var vecOID uint32
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One Init at a time in the database, across every process: the
		// extension, the schema and the table are each created once.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1::bigint)", initLockKey); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), '')").Scan(&version); err != nil {
			return err
		}
		if version == "" {
			if err := createExtension(ctx, tx); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = 'vector'").Scan(&version); err != nil {
				return err
			}
		}
		// The extension's schema qualifies its type, operator and operator
		// class, so that no search_path is assumed.
		err := tx.QueryRow(ctx, `SELECT n.nspname, t.oid::int8, version() FROM pg_extension e
			JOIN pg_namespace n ON n.oid = e.extnamespace
			JOIN pg_type t ON t.typname = 'vector' AND t.typnamespace = e.extnamespace
			WHERE e.extname = 'vector'`).Scan(&extSchema, &vecOID, &serverVersion)
		if err != nil {
			return err
		}
		if s.opts.Schema != "" {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s.opts.Schema).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{s.opts.Schema}.Sanitize()); err != nil {
					return createHint(err, "schema "+s.opts.Schema, "CREATE on the database")
				}
			}
		}
		// The existing table's vector size, or 0 when there is none.
		var dims int32
		err = tx.QueryRow(ctx, `SELECT coalesce((SELECT a.atttypmod FROM pg_attribute a
			WHERE a.attrelid = to_regclass($1) AND a.attname = 'embedding' AND NOT a.attisdropped), 0)`, table).Scan(&dims)
		if err != nil {
			return err
		}
		if dims != 0 && int(dims) != space.Dims {
			return fmt.Errorf("%w: table %s holds %d dimensions, the space has %d", vectorstore.ErrDimensionMismatch, name, dims, space.Dims)
		}
		ext := names(extSchema)
		if dims != 0 {
			if hnsw, err = indexValid(ctx, tx, s.ident(name+"_hnsw")); err != nil {
				return err
			}
			return s.upgrade(ctx, tx, name, table)
		}
		// Identifiers are quoted by pgx.Identifier; the only numbers are
		// validated ints. DDL takes no parameters.
		stmts := []string{
			fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
				tenant_id text NOT NULL,
				id text NOT NULL,
				bot_id text NOT NULL DEFAULT '',
				source_id text NOT NULL DEFAULT '',
				document_id text NOT NULL DEFAULT '',
				embedding %s(%d) NOT NULL,
				metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
				PRIMARY KEY (tenant_id, id))`, table, ext.vector, space.Dims),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (tenant_id, bot_id)", pgx.Identifier{name + "_bot"}.Sanitize(), table),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (tenant_id, source_id)", pgx.Identifier{name + "_src"}.Sanitize(), table),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (tenant_id, document_id)", pgx.Identifier{name + "_doc"}.Sanitize(), table),
			ginDDL(name, table),
		}
		if space.Dims <= MaxIndexedDims && !s.opts.DeferIndex {
			stmts = append(stmts, s.indexDDL(name, table, ext, ""))
			hnsw = true
		}
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q); err != nil {
				return createHint(err, "table "+name, "CREATE on the schema")
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap(ctx, "init", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.space = space
	s.table = table
	s.name = name
	s.version = version
	s.iterative = versionAtLeast(version, 0, 8)
	s.hnsw = hnsw
	s.ext = names(extSchema)
	s.vecOID = vecOID
	s.noCopy = s.opts.NoCopy || strings.Contains(serverVersion, "PGlite")
	s.sizes.clear()
	s.log.Debug("pgvector: init", "table", name, "dims", space.Dims, "pgvector", version, "iterative_scan", s.iterative)
	return nil
}

// createExtension runs CREATE EXTENSION vector, which only a superuser (or
// a managed service's admin role) may do: pgvector is not a trusted
// extension. When that fails for want of pgvector on the server or of the
// privilege, the error is ErrNoExtension saying what to run.
func createExtension(ctx context.Context, tx pgx.Tx) error {
	var db, role string
	var available bool
	if err := tx.QueryRow(ctx, `SELECT current_database(), current_user,
			EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')`).Scan(&db, &role, &available); err != nil {
		return err
	}
	if !available {
		return extensionError(db, role, false, nil)
	}
	if _, err := tx.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
		return extensionError(db, role, true, err)
	}
	return nil
}

// extensionError is Init's error when the extension is missing from
// database db and role could not create it: available says whether the
// server has pgvector; err is CREATE EXTENSION's error.
func extensionError(db, role string, available bool, err error) error {
	run := fmt.Sprintf(`have a superuser (or the managed service's admin role) run "CREATE EXTENSION vector;" once in database %q`, db)
	if !available {
		return fmt.Errorf("%w in database %q, and the server has no pgvector to install (not in pg_available_extensions): "+
			"install pgvector 0.5 or newer on the server, then %s", ErrNoExtension, db, run)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
		return fmt.Errorf("%w in database %q, and role %q may not create it (%s, SQLSTATE %s): "+
			"pgvector is not a trusted extension, only a superuser or a managed service's admin role may create it; %s, at provisioning",
			ErrNoExtension, db, role, pe.Message, pe.Code, run)
	}
	return fmt.Errorf("create extension vector (%s): %w", run, err)
}

// createHint puts what to do before a permission error of the DDL that
// creates what (needing priv): the role may not create, the owner should
// run Init once.
func createHint(err error, what, priv string) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		return err
	}
	return fmt.Errorf("creating %s needs %s, which this role lacks: run Init once for this model as a role that has it "+
		"(the owner); after that, USAGE on the schema and SELECT, INSERT, UPDATE, DELETE on the table are enough: %w", what, priv, err)
}

// initLockKey is the advisory lock Init holds (a constant: the 64-bit
// FNV-1a hash of "minirag/vectorstore/pgvector init").
var initLockKey = func() int64 {
	h := fnv.New64a()
	h.Write([]byte("minirag/vectorstore/pgvector init"))
	return int64(h.Sum64())
}()

// versionAtLeast compares an extversion like "0.8.0" with major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// state returns what Init set, or an error before Init / after Close.
func (s *Store) state() (vectorstore.Space, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return vectorstore.Space{}, "", ErrClosed
	}
	if s.table == "" {
		return vectorstore.Space{}, "", vectorstore.ErrNotInitialized
	}
	return s.space, s.table, nil
}

// Upsert inserts or replaces records by (TenantID, ID), in one transaction.
// Within recs the last record with a given key wins.
func (s *Store) Upsert(ctx context.Context, recs []vectorstore.Record) error {
	space, table, err := s.state()
	if err != nil {
		return err
	}
	metas := make([]string, len(recs))
	for i, r := range recs {
		switch {
		case r.TenantID == "":
			return fmt.Errorf("pgvector: upsert: record %d: %w", i, record.ErrEmptyTenant)
		case r.ID == "":
			return fmt.Errorf("pgvector: upsert: record %d: %w", i, record.Invalid("id", "is required"))
		case len(r.Vector) != space.Dims:
			return fmt.Errorf("pgvector: upsert: record %d: %w: vector has %d dimensions, the space has %d", i, vectorstore.ErrDimensionMismatch, len(r.Vector), space.Dims)
		}
		for _, x := range r.Vector {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("pgvector: upsert: record %d: %w", i, record.Invalid("vector", "contains NaN or Inf"))
			}
		}
		if metas[i], err = prepareMetadata("metadata", r.Metadata); err != nil {
			return fmt.Errorf("pgvector: upsert: record %d: %w", i, err)
		}
	}
	if len(recs) == 0 {
		return nil
	}
	// Keep the last record of each key, in first-seen order.
	type key struct{ tenant, id string }
	last := make(map[key]int, len(recs))
	for i, r := range recs {
		last[key{r.TenantID, r.ID}] = i
	}
	uniq := make([]vectorstore.Record, 0, len(last))
	uniqMeta := make([]string, 0, len(last))
	for i, r := range recs {
		if last[key{r.TenantID, r.ID}] == i {
			uniq = append(uniq, r)
			uniqMeta = append(uniqMeta, metas[i])
		}
	}
	if len(uniq) >= copyMin && s.useCopy() {
		err := s.copyUpsert(ctx, table, uniq, uniqMeta)
		if err == nil || !copyUnsupported(err) {
			s.sizes.forget(uniq)
			return s.wrap(ctx, "upsert", err)
		}
		s.noCopyNow(err)
	}
	defer s.sizes.forget(uniq)
	q := "INSERT INTO " + table + ` (tenant_id, id, bot_id, source_id, document_id, embedding, metadata)
		SELECT t, i, b, s, d, e::` + s.ext.vector + `, m::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(t, i, b, s, d, e, m)
		ON CONFLICT (tenant_id, id) DO UPDATE SET bot_id = EXCLUDED.bot_id, source_id = EXCLUDED.source_id,
			document_id = EXCLUDED.document_id, embedding = EXCLUDED.embedding, metadata = EXCLUDED.metadata`
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for start := 0; start < len(uniq); start += upsertBatch {
			part := uniq[start:min(start+upsertBatch, len(uniq))]
			cols := [7][]string{}
			for c := range cols {
				cols[c] = make([]string, len(part))
			}
			for j, r := range part {
				cols[0][j], cols[1][j], cols[2][j], cols[3][j], cols[4][j] = r.TenantID, r.ID, r.BotID, r.SourceID, r.DocumentID
				cols[5][j] = pgv.NewVector(r.Vector).String()
				cols[6][j] = uniqMeta[start+j]
			}
			if _, err := tx.Exec(ctx, q, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap(ctx, "upsert", err)
}

// where builds the filter's WHERE clause from fixed column names; values,
// the metadata filter's too, are parameters starting at $first.
func where(f vectorstore.Filter, first int) (string, []any) {
	p := params{first: first}
	conds := []string{"tenant_id = " + p.add(f.TenantID, "")}
	if f.BotID != "" {
		conds = append(conds, "bot_id = "+p.add(f.BotID, ""))
	}
	if len(f.SourceIDs) > 0 {
		conds = append(conds, "source_id = ANY("+p.add(f.SourceIDs, "::text[]")+")")
	}
	if len(f.DocumentIDs) > 0 {
		conds = append(conds, "document_id = ANY("+p.add(f.DocumentIDs, "::text[]")+")")
	}
	if len(f.IDs) > 0 {
		conds = append(conds, "id = ANY("+p.add(f.IDs, "::text[]")+")")
	}
	if !f.Metadata.IsZero() {
		conds = append(conds, p.meta(f.Metadata))
	}
	return strings.Join(conds, " AND "), p.args
}

// Delete removes every record matching f.
func (s *Store) Delete(ctx context.Context, f vectorstore.Filter) error {
	_, table, err := s.state()
	if err != nil {
		return err
	}
	if err := validateFilter(f); err != nil {
		return fmt.Errorf("pgvector: delete: %w", err)
	}
	defer s.sizes.forgetTenant(f.TenantID)
	if len(f.IDs) > deleteBatch {
		return s.deleteIDs(ctx, table, f)
	}
	w, args := where(f, 1)
	_, err = s.pool.Exec(ctx, "DELETE FROM "+table+" WHERE "+w, args...)
	return s.wrap(ctx, "delete", err)
}

// Search returns the q.TopK records closest to q.Vector among those matching
// q.Filter, best first (see the package doc for how filtered recall is
// kept).
func (s *Store) Search(ctx context.Context, q vectorstore.Query) ([]vectorstore.Match, error) {
	space, table, err := s.state()
	if err != nil {
		return nil, err
	}
	if err := validateFilter(q.Filter); err != nil {
		return nil, fmt.Errorf("pgvector: search: %w", err)
	}
	if q.TopK <= 0 {
		return nil, fmt.Errorf("pgvector: search: %w", record.Invalid("top_k", "must be positive"))
	}
	if len(q.Vector) != space.Dims {
		return nil, fmt.Errorf("pgvector: search: %w: query has %d dimensions, the space has %d", vectorstore.ErrDimensionMismatch, len(q.Vector), space.Dims)
	}
	var norm float64
	for _, x := range q.Vector {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("pgvector: search: %w", record.Invalid("vector", "contains NaN or Inf"))
		}
		norm += float64(x) * float64(x)
	}
	s.mu.RLock()
	iterative, hnsw, ext := s.iterative, s.hnsw, s.ext
	s.mu.RUnlock()

	vec := pgv.NewVector(q.Vector).String()
	w, fargs := where(q.Filter, 2)
	var matches []vectorstore.Match
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		exact := !hnsw || norm == 0
		if !exact && s.opts.ExactThreshold >= 0 {
			small, err := s.smallFilter(ctx, tx, table, q.Filter, w, fargs)
			if err != nil {
				return err
			}
			exact = small
		}
		args := append([]any{vec}, fargs...)
		args = append(args, q.TopK)
		limit := "$" + strconv.Itoa(len(args))
		var sq string
		if exact {
			// Materialized: the planner cannot use the HNSW index. NaN (a
			// zero vector) ranks as distance 1, score 0.
			sq = "WITH c AS MATERIALIZED (SELECT id, coalesce(nullif(embedding " + ext.cosine + " $1::" + ext.vector + ", 'NaN'::float8), 1) AS d FROM " +
				table + " WHERE " + w + ") SELECT id, d FROM c ORDER BY d, id LIMIT " + limit
		} else {
			ef := s.opts.EfSearch
			if !q.Filter.Metadata.IsZero() {
				ef = s.opts.FilterEfSearch
			}
			ef = max(ef, min(q.TopK, 1000))
			set := "SELECT set_config('hnsw.ef_search', $1, true)"
			if iterative {
				set += ", set_config('hnsw.iterative_scan', 'relaxed_order', true)"
			}
			if _, err := tx.Exec(ctx, set, strconv.Itoa(ef)); err != nil {
				return err
			}
			dist := "embedding " + ext.cosine + " $1::" + ext.vector
			sq = "SELECT id, " + dist + " AS d FROM " + table + " WHERE " + w + " ORDER BY " + dist + " LIMIT " + limit
		}
		s.log.Debug("pgvector: search", "exact", exact, "iterative", iterative && !exact, "top_k", q.TopK)
		rows, err := tx.Query(ctx, sq, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var d float64
			if err := rows.Scan(&id, &d); err != nil {
				rows.Close()
				return err
			}
			score := float32(1 - d)
			if math.IsNaN(d) {
				score = 0
			}
			if q.MinScore != 0 && score < q.MinScore {
				continue
			}
			matches = append(matches, vectorstore.Match{ID: id, Score: score})
		}
		rows.Close()
		return rows.Err()
	})
	if err != nil {
		return nil, s.wrap(ctx, "search", err)
	}
	// relaxed_order may return rows slightly out of order.
	slices.SortStableFunc(matches, func(a, b vectorstore.Match) int { return cmp.Compare(b.Score, a.Score) })
	return matches, nil
}

// wrap translates a driver error at the boundary: context errors keep
// ctx.Err(), the rest is prefixed and wrapped.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, vectorstore.ErrDimensionMismatch) || errors.Is(err, ErrNoExtension) {
		return fmt.Errorf("pgvector: %s: %w", op, err)
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("pgvector: %s: %w", op, cerr)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("pgvector: %s: %w", op, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server's message and code, without the driver's error value;
		// the context added around it is kept.
		msg := strings.TrimSuffix(err.Error(), pgErr.Error()) + pgErr.Message
		return fmt.Errorf("pgvector: %s: %w", op, &ServerError{Code: pgErr.Code, Message: msg})
	}
	return fmt.Errorf("pgvector: %s: %w", op, &ServerError{Message: err.Error()})
}

// ServerError is a database error, translated from the driver's.
type ServerError struct {
	// Code is the SQLSTATE, empty for a connection error.
	Code string
	// Message is the server's or driver's message.
	Message string
}

// Error implements error.
func (e *ServerError) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Message + " (SQLSTATE " + e.Code + ")"
}
