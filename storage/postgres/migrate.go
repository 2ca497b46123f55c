package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/minirag/minirag/record"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered SQL file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations by version.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if !ok || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q has no positive version number", name)
		}
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("two migrations with version %d", out[i].version)
		}
	}
	return out, nil
}

// SchemaVersion returns the highest migration version this package knows.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrationLockKey is the advisory lock key for a schema's migrations.
func migrationLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("minirag/storage/postgres\x00" + schema))
	return int64(h.Sum64())
}

// migrate applies the missing migrations in one transaction holding an
// advisory lock, so that concurrent callers migrate exactly once.
//
// It creates the schema and schema_migrations only after finding them
// missing (pg_namespace, to_regclass): CREATE … IF NOT EXISTS checks the
// CREATE privilege before it looks for the object, so a role that may only
// read and write data would fail on every start. When every migration is
// applied, it runs no DDL at all: the lock, two lookups and one SELECT.
func (s *Store) migrate(ctx context.Context) error {
	const op = "migrate"
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	latest := ms[len(ms)-1].version
	var applied []int
	current := -1 // unknown until read
	ddl := false  // whether the failing statement, if any, was DDL
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		schema := s.schema
		if schema == "" {
			var cur *string
			if err := tx.QueryRow(ctx, "SELECT current_schema()").Scan(&cur); err != nil {
				return err
			}
			if cur == nil {
				return errNoSearchPathSchema
			}
			schema = *cur
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1::bigint)", migrationLockKey(schema)); err != nil {
			return err
		}
		if s.schema != "" {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s.schema).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				ddl = true
				if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{s.schema}.Sanitize()); err != nil {
					return err
				}
			}
			// Unqualified names in the migrations resolve to the schema.
			if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", pgx.Identifier{s.schema}.Sanitize()); err != nil {
				return err
			}
		}
		// to_regclass is NULL when the table does not exist (it resolves the
		// name as the queries below do: qualified, or through search_path).
		var found bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", s.sql("@.schema_migrations")).Scan(&found); err != nil {
			return err
		}
		if !found {
			ddl = true
			if _, err := tx.Exec(ctx, s.sql(`CREATE TABLE IF NOT EXISTS @.schema_migrations (
			version    integer     NOT NULL PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now())`)); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, s.sql("SELECT coalesce(max(version), 0) FROM @.schema_migrations")).Scan(&current); err != nil {
			return err
		}
		if current > latest {
			return fmt.Errorf("database schema version %d is newer than this package's %d: upgrade the program", current, latest)
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			ddl = true
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, s.sql("INSERT INTO @.schema_migrations (version) VALUES ($1)"), m.version); err != nil {
				return err
			}
			applied = append(applied, m.version)
		}
		return nil
	})
	if errors.Is(err, errNoSearchPathSchema) {
		return fmt.Errorf("postgres: %s: %w", op, record.Invalid("schema",
			"is not set and no schema of the connection's search_path exists: use WithSchema or fix search_path"))
	}
	if err != nil {
		werr := wrapErr(ctx, op, err)
		var db *DBError
		if !errors.As(werr, &db) || db.Code != "42501" { // insufficient_privilege
			return werr
		}
		if !ddl {
			return fmt.Errorf("%w: this role needs USAGE on the schema and SELECT, INSERT, UPDATE, DELETE on its tables (schema_migrations included)", werr)
		}
		state := "the schema or its schema_migrations table is missing"
		if current >= 0 {
			state = fmt.Sprintf("the schema is at version %d of %d", current, latest)
		}
		return fmt.Errorf("%w: %s and this role may not create what is missing: "+
			"run New once as a role with CREATE on the database (for a new schema) or on the schema (its owner); "+
			"once migrated, a role with USAGE on the schema and SELECT, INSERT, UPDATE, DELETE on its tables is enough",
			werr, state)
	}
	if len(applied) > 0 {
		s.log.Info("postgres: migrated", "schema", s.schema, "versions", applied)
	}
	return nil
}

// errNoSearchPathSchema: current_schema() is NULL (no schema of the
// search_path exists).
var errNoSearchPathSchema = errors.New("no schema of the search_path exists")
