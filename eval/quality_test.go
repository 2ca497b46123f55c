package eval

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/sqlite"
)

// floors are sanity bounds, well below the measured figures (see
// docs/QUALITY.md): a regression guard, not a target. They are not raised
// to whatever is measured today.
var floors = map[minirag.SearchMode]struct{ docRecall10, docMRR10, passRecall10 float64 }{
	minirag.SearchDense:   {0.60, 0.40, 0.45},
	minirag.SearchLexical: {0.70, 0.55, 0.60},
	minirag.SearchHybrid:  {0.70, 0.50, 0.55},
}

// TestRetrievalQuality ingests the corpus into the default embedded
// stack, asks every labeled question in every mode (top 10), logs the
// tables, and checks the sanity floors and the invariant: hybrid is
// not worse than the best single mode.
//
// The stack is minirag.Open's, with its SQLite store wrapped by
// lexicalMemo, so that each question's full-text search runs once for the
// lexical and the hybrid modes (the test's cost under -race); the test
// checks on a sample of questions that the memo answers what the store
// does.
func TestRetrievalQuality(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Fatalf("retrieval quality needs the corpus at %s (relative to eval/): %v", corpusDir, err)
	}
	ctx := t.Context()
	qs := Questions()
	if err := CheckCorpus(corpusDir, qs); err != nil {
		t.Fatalf("the labeled set does not match the corpus: %v", err)
	}
	start := time.Now()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "eval.db"))
	if err != nil {
		t.Fatal(err)
	}
	memo, err := newLexicalMemo(st)
	if err != nil {
		t.Fatal(errors.Join(err, st.Close()))
	}
	env, err := Setup(ctx, corpusDir, t.TempDir(), minirag.WithConfig(func(c *minirag.Config) { c.Storage = memo }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Error(err)
		}
	})
	docs := env.Documents()
	for _, q := range qs {
		if !docs[q.Document] {
			t.Errorf("question %s: document %s was not ingested", q.ID, q.Document)
		}
	}
	ingested := time.Since(start)
	start = time.Now()
	rep, err := Run(ctx, env.Search, qs, Modes, 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d documents, %d chunks, ingested in %s; %d searches (%d full-text queries) in %s\n%s",
		env.Ingest.Documents, env.Ingest.Chunks, ingested.Round(time.Millisecond),
		len(qs)*len(Modes), len(memo.cache), time.Since(start).Round(time.Millisecond), rep.Markdown())

	t.Run("memo answers what the store does", func(t *testing.T) {
		// Lexical mode asks for 20 matches, which the memo answers from the
		// 40 that hybrid asked for.
		for i := 0; i < len(qs); i += 13 {
			q := storage.LexicalQuery{TenantID: env.Tenant.TenantID(), BotID: env.BotID, Text: strings.TrimSpace(qs[i].Question), Limit: 20}
			if err := memo.checkPrefix(ctx, q); err != nil {
				t.Error(err)
			}
		}
	})

	t.Run("floors", func(t *testing.T) {
		for _, m := range rep.Modes {
			f := floors[m.Mode]
			if m.Document.Recall10 < f.docRecall10 {
				t.Errorf("%s: document recall@10 %.3f below %.2f", m.Mode, m.Document.Recall10, f.docRecall10)
			}
			if m.Document.MRR10 < f.docMRR10 {
				t.Errorf("%s: document MRR@10 %.3f below %.2f", m.Mode, m.Document.MRR10, f.docMRR10)
			}
			if m.Passage.Recall10 < f.passRecall10 {
				t.Errorf("%s: passage recall@10 %.3f below %.2f", m.Mode, m.Passage.Recall10, f.passRecall10)
			}
		}
	})

	// The invariant, on the primary (document-level) figures:
	// each of recall@5, recall@10 and MRR@10 of hybrid at least that of
	// the better of dense and lexical. No tolerance.
	t.Run("hybrid not worse than best single mode", func(t *testing.T) {
		h, _ := rep.Mode(minirag.SearchHybrid)
		d, _ := rep.Mode(minirag.SearchDense)
		l, _ := rep.Mode(minirag.SearchLexical)
		for _, c := range []struct {
			name       string
			hy, de, le float64
		}{
			{"recall@5", h.Document.Recall5, d.Document.Recall5, l.Document.Recall5},
			{"recall@10", h.Document.Recall10, d.Document.Recall10, l.Document.Recall10},
			{"MRR@10", h.Document.MRR10, d.Document.MRR10, l.Document.MRR10},
		} {
			if best := max(c.de, c.le); c.hy < best {
				t.Errorf("hybrid %s %.3f < best single mode %.3f (dense %.3f, lexical %.3f)", c.name, c.hy, best, c.de, c.le)
			}
		}
		if t.Failed() {
			better, worse, same := rep.Compare(minirag.SearchHybrid, minirag.SearchLexical)
			t.Logf("hybrid vs lexical per question: better %d, worse %d, same %d", better, worse, same)
		}
	})

	// The PostgreSQL stacks on the same corpus, questions and embedder:
	// lexical and hybrid MRR@10 at most parityTolerance below SQLite's.
	t.Run("postgres parity", func(t *testing.T) {
		reps := []StackReport{{Stack: StackSQLiteLocal, Report: rep}}
		for _, stack := range []Stack{StackPostgresLocal, StackPostgresPGVector} {
			t.Run(string(stack), func(t *testing.T) {
				pr := stackReport(t, stack, qs)
				reps = append(reps, StackReport{Stack: stack, Report: pr})
				for _, m := range []minirag.SearchMode{minirag.SearchLexical, minirag.SearchHybrid} {
					want, _ := rep.Mode(m)
					got, _ := pr.Mode(m)
					if got.Document.MRR10 < want.Document.MRR10-parityTolerance {
						t.Errorf("%s %s: document MRR@10 %.3f, more than %.2f below SQLite's %.3f",
							stack, m, got.Document.MRR10, parityTolerance, want.Document.MRR10)
					}
				}
			})
		}
		t.Logf("side by side:\n%s", StacksMarkdown(reps))
	})
}

// parityTolerance is how far below SQLite's a PostgreSQL stack's lexical
// or hybrid MRR@10 may be (issue 16: within 0.01).
const parityTolerance = 0.01

// stackReport runs the labeled set on a PostgreSQL stack (skipped, or
// failed when services are required, without its server).
func stackReport(t *testing.T, stack Stack, qs []Question) Report {
	t.Helper()
	ctx := t.Context()
	url := testsvc.PostgresURL(t)
	pg := PostgresConfig{Pool: testsvc.Pool(t, testsvc.PoolConfig(t, url, 4)), Schema: testsvc.Schema(t, url)}
	if stack == StackPostgresPGVector {
		vurl := testsvc.PGVectorURL(t)
		pg.VectorPool, pg.VectorSchema = testsvc.Pool(t, testsvc.PoolConfig(t, vurl, 4)), testsvc.Schema(t, vurl)
	}
	opts, err := StackOptions(ctx, stack, pg)
	if err != nil {
		t.Fatal(err)
	}
	env, err := Setup(ctx, corpusDir, t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Error(err)
		}
	})
	r, err := Run(ctx, env.Search, qs, Modes, 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d documents, %d chunks\n%s", stack, env.Ingest.Documents, env.Ingest.Chunks, r.Markdown())
	return r
}
