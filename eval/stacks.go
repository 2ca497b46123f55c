package eval

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

// Stack names a storage and vector-store pair the labeled set is measured
// on. Every stack uses the same embedder, chunker and questions, so the
// figures differ only by what the stores do (lexical ranking, vector
// search).
type Stack string

// The stacks measured.
const (
	// StackSQLiteLocal is minirag.Open's embedded stack: storage/sqlite
	// (FTS5 BM25) and vectorstore/local.
	StackSQLiteLocal Stack = "SQLite + local"
	// StackPostgresLocal is storage/postgres (BM25 over tsvector) with
	// vectorstore/local.
	StackPostgresLocal Stack = "PostgreSQL + local"
	// StackPostgresPGVector is storage/postgres with vectorstore/pgvector.
	StackPostgresPGVector Stack = "PostgreSQL + pgvector"
)

// PostgresConfig says where the PostgreSQL stacks keep their tables.
type PostgresConfig struct {
	// Pool and Schema hold storage/postgres's tables (Schema is created if
	// missing; empty means the pool's search_path).
	Pool   *pgxpool.Pool
	Schema string
	// VectorPool and VectorSchema hold vectorstore/pgvector's table, for
	// StackPostgresPGVector (VectorPool may be Pool).
	VectorPool   *pgxpool.Pool
	VectorSchema string
	// BM25 sets storage/postgres's lexical ranking parameters (zero: its
	// defaults).
	BM25 postgres.BM25
}

// StackOptions returns the options that make minirag.Open (and so Setup)
// use stack: none for StackSQLiteLocal, storage/postgres for the others,
// and vectorstore/pgvector for StackPostgresPGVector. The Client closes the
// stores it is given; the pools stay the caller's.
func StackOptions(ctx context.Context, stack Stack, pg PostgresConfig) ([]minirag.OpenOption, error) {
	switch stack {
	case StackSQLiteLocal:
		return nil, nil
	case StackPostgresLocal, StackPostgresPGVector:
	default:
		return nil, fmt.Errorf("eval: unknown stack %q", stack)
	}
	if pg.Pool == nil {
		return nil, fmt.Errorf("eval: stack %s: no PostgreSQL pool", stack)
	}
	st, err := postgres.New(ctx, pg.Pool, postgres.WithSchema(pg.Schema), postgres.WithBM25(pg.BM25))
	if err != nil {
		return nil, fmt.Errorf("eval: stack %s: %w", stack, err)
	}
	if stack == StackPostgresLocal {
		return []minirag.OpenOption{minirag.WithConfig(func(c *minirag.Config) { c.Storage = st })}, nil
	}
	if pg.VectorPool == nil {
		return nil, fmt.Errorf("eval: stack %s: no pgvector pool", stack)
	}
	vs, err := pgvector.New(ctx, pg.VectorPool, pgvector.Options{Schema: pg.VectorSchema})
	if err != nil {
		return nil, fmt.Errorf("eval: stack %s: %w", stack, err)
	}
	return []minirag.OpenOption{minirag.WithConfig(func(c *minirag.Config) { c.Storage, c.VectorStore = st, vs })}, nil
}

// StackReport is one stack's report.
type StackReport struct {
	Stack  Stack
	Report Report
}

// StacksMarkdown renders the reports side by side: one row per stack and
// mode, document-level recall@5, recall@10 and MRR@10, then the same at
// passage level.
func StacksMarkdown(reps []StackReport) string {
	var b []byte
	b = append(b, "| stack | mode | doc R@5 | doc R@10 | doc MRR@10 | passage R@5 | passage R@10 | passage MRR@10 |\n"...)
	b = append(b, "|---|---|---:|---:|---:|---:|---:|---:|\n"...)
	for _, r := range reps {
		for _, m := range r.Report.Modes {
			b = fmt.Appendf(b, "| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", r.Stack, m.Mode,
				m.Document.Recall5, m.Document.Recall10, m.Document.MRR10, m.Passage.Recall5, m.Passage.Recall10, m.Passage.MRR10)
		}
	}
	return string(b)
}
