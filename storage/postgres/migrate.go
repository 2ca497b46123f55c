package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
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
func (s *Store) migrate(ctx context.Context) error {
	const op = "migrate"
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	var applied []int
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		schema := s.schema
		if schema == "" {
			if err := tx.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1::bigint)", migrationLockKey(schema)); err != nil {
			return err
		}
		if s.schema != "" {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{s.schema}.Sanitize()); err != nil {
				return err
			}
			// Unqualified names in the migrations resolve to the schema.
			if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", pgx.Identifier{s.schema}.Sanitize()); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, s.sql(`CREATE TABLE IF NOT EXISTS @.schema_migrations (
			version    integer     NOT NULL PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now())`)); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, s.sql("SELECT coalesce(max(version), 0) FROM @.schema_migrations")).Scan(&current); err != nil {
			return err
		}
		if latest := ms[len(ms)-1].version; current > latest {
			return fmt.Errorf("database schema version %d is newer than this package's %d: upgrade the program", current, latest)
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
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
	if err != nil {
		return wrapErr(ctx, op, err)
	}
	if len(applied) > 0 {
		s.log.Info("postgres: migrated", "schema", s.schema, "versions", applied)
	}
	return nil
}
