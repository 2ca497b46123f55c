package sqlite

import "context"

// AppliedMigrations counts the rows of schema_migrations.
func AppliedMigrations(s *Store, ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	return n, err
}

// SchemaVersionForTest is the number of embedded migrations.
func SchemaVersionForTest() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}

// ExecForTest runs SQL on the store's database.
func ExecForTest(s *Store, ctx context.Context, query string) error {
	_, err := s.db.ExecContext(ctx, query)
	return err
}

// PragmaForTest reads a pragma on one of the store's pooled connections.
func PragmaForTest(s *Store, ctx context.Context, name string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `PRAGMA `+name).Scan(&v)
	return v, err
}
