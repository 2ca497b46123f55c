package minirag

// Fault injection over whole operations: for an update (changed, added
// and removed documents), a move of a source to another bot, a deletion
// of a source and a deletion of a bot, every call the operation makes to
// Storage or the VectorStore is failed in turn (the first, then the
// second, … until the operation makes fewer calls than n), once before
// the call runs and once after it ran (a reply lost on the way back).
// After each fault: every chunk Storage holds has its vector, and every
// document is found, in its previous or its new version, by dense,
// lexical and hybrid search; then the operation retried without faults
// converges: the new state, and the stores agree exactly.
//
// Runs on SQLite + vectorstore/local and on PostgreSQL + pgvector.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/local"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

// faultStack is a Client over fault-injecting wrappers of a real Storage
// and VectorStore.
type faultStack struct {
	st storage.Storage
	vs vectorstore.VectorStore
	c  *Client
	p  *faultPlan
	// rounds counts the rounds (tenant slugs are unique).
	rounds int
}

func newFaultStack(t *testing.T, st storage.Storage, vs vectorstore.VectorStore) *faultStack {
	t.Helper()
	emb, err := hashing.New(hashing.Config{Dimensions: 128})
	require.NoError(t, err)
	p := &faultPlan{}
	c, err := New(Config{Storage: &faultStore{Storage: st, p: p}, VectorStore: &faultVec{VectorStore: vs, p: p}, Embedder: emb})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.ensureIndex(t.Context()))
	return &faultStack{st: st, vs: vs, c: c, p: p}
}

func sqliteFaultStack(t *testing.T) *faultStack {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "faults.db"))
	require.NoError(t, err)
	vs, err := local.Open("")
	require.NoError(t, err)
	return newFaultStack(t, st, vs)
}

func postgresFaultStack(t *testing.T) *faultStack {
	ctx := t.Context()
	pgURL, vecURL := testsvc.PostgresURL(t), testsvc.PGVectorURL(t)
	st, err := postgres.New(ctx, testsvc.Pool(t, testsvc.PoolConfig(t, pgURL, 4)), postgres.WithSchema(testsvc.Schema(t, pgURL)))
	require.NoError(t, err)
	vs, err := pgvector.New(ctx, testsvc.Pool(t, testsvc.PoolConfig(t, vecURL, 2)), pgvector.Options{Schema: testsvc.Schema(t, vecURL)})
	require.NoError(t, err)
	return newFaultStack(t, st, vs)
}

// faultDocs are the documents of a round: v1 holds doc-0..3; v2 changes
// doc-0..2, removes doc-3 and adds doc-4. Each doc-i holds the word
// "zebra<i>" in both versions, and "original" or "revised".
func faultDocs(version int) map[string]string {
	out := map[string]string{}
	for i := range 5 {
		switch {
		case version == 1 && i < 4:
			out[fmt.Sprintf("doc-%d.md", i)] = fmt.Sprintf("# Page %d\n\nzebra%d original notes about topic %d, first edition.\n", i, i, i)
		case version == 2 && i != 3:
			out[fmt.Sprintf("doc-%d.md", i)] = fmt.Sprintf("# Page %d\n\nzebra%d revised notes about topic %d, second edition.\n", i, i, i)
		}
	}
	return out
}

// faultRound is one round's tenant: a source of four documents under
// bot A, ingested without faults; bot B is empty.
type faultRound struct {
	h          *TenantHandle
	botA, botB Bot
	src        Source
	dir        string
}

func (s *faultStack) round(t *testing.T) *faultRound {
	t.Helper()
	ctx := t.Context()
	s.rounds++
	b, err := s.c.CreateTenant(ctx, CreateTenantParams{Name: "Round", Slug: fmt.Sprintf("round-%d", s.rounds), OwnerEmail: "o@example.com"})
	require.NoError(t, err)
	r := &faultRound{h: s.c.Tenant(b.Tenant.ID), dir: t.TempDir()}
	r.botA, err = r.h.CreateBot(ctx, BotParams{Name: "A"})
	require.NoError(t, err)
	r.botB, err = r.h.CreateBot(ctx, BotParams{Name: "B"})
	require.NoError(t, err)
	writeDocs(t, r.dir, faultDocs(1))
	r.src, err = r.h.CreateSource(ctx, SourceParams{BotID: r.botA.ID, Name: "docs", Type: SourceFile, Config: loader.FileConfig{Path: r.dir}})
	require.NoError(t, err)
	_, err = r.h.Ingest(ctx, r.src.ID, IngestOptions{})
	require.NoError(t, err)
	return r
}

// writeDocs makes dir hold exactly files.
func writeDocs(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		if _, ok := files[e.Name()]; !ok {
			require.NoError(t, os.Remove(filepath.Join(dir, e.Name())))
		}
	}
	writeFiles(t, dir, files)
}

// found reports whether a search of the bot in mode finds doc-i, and the
// text of the best result holding its word.
func (r *faultRound) found(t *testing.T, botID string, mode SearchMode, i int) (bool, string) {
	t.Helper()
	word := fmt.Sprintf("zebra%d", i)
	res, err := r.h.Search(t.Context(), SearchRequest{BotID: botID, Query: word, Mode: mode, TopK: 10})
	if errors.Is(err, ErrNotFound) {
		return false, ""
	}
	require.NoError(t, err)
	for _, x := range res {
		if strings.Contains(x.Text, word) {
			return true, x.Text
		}
	}
	return false, ""
}

// requireFound checks that doc-i of each of docs is found under the bot
// in every mode, its text holding want ("" for either version).
func (r *faultRound) requireFound(t *testing.T, botID string, docs []int, want, why string) {
	t.Helper()
	for _, i := range docs {
		for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
			ok, text := r.found(t, botID, mode, i)
			require.True(t, ok, "%s: doc-%d not found by %s search", why, i, mode)
			require.Contains(t, text, want, "%s: doc-%d (%s)", why, i, mode)
		}
	}
}

// faultOp is an operation under test.
type faultOp struct {
	name string
	// prepare runs before the faults (writing v2, say).
	prepare func(t *testing.T, r *faultRound)
	// run is the operation; it may fail.
	run func(ctx context.Context, r *faultRound) error
	// afterFault checks what must hold after a failed run.
	afterFault func(t *testing.T, s *faultStack, r *faultRound, why string)
	// retry runs the operation again without faults, and checks the end
	// state.
	retry func(t *testing.T, s *faultStack, r *faultRound, why string)
}

var faultOps = []faultOp{
	{
		name:    "update",
		prepare: func(t *testing.T, r *faultRound) { writeDocs(t, r.dir, faultDocs(2)) },
		run: func(ctx context.Context, r *faultRound) error {
			_, err := r.h.Ingest(ctx, r.src.ID, IngestOptions{BatchSize: 2})
			return err
		},
		afterFault: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			r.requireFound(t, r.botA.ID, []int{0, 1, 2}, "", why)
		},
		retry: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			_, err := r.h.Ingest(t.Context(), r.src.ID, IngestOptions{BatchSize: 2})
			require.NoError(t, err, why)
			r.requireFound(t, r.botA.ID, []int{0, 1, 2, 4}, "revised", why)
			ok, _ := r.found(t, r.botA.ID, SearchHybrid, 3)
			require.False(t, ok, "%s: the removed doc-3 is gone", why)
			src, err := r.h.GetSource(t.Context(), r.src.ID)
			require.NoError(t, err)
			require.Equal(t, StatusReady, src.Status, why)
		},
	},
	{
		// One changed document: a group of one, whose commit is not
		// retried document by document.
		name: "update-one",
		prepare: func(t *testing.T, r *faultRound) {
			docs := faultDocs(1)
			docs["doc-0.md"] = faultDocs(2)["doc-0.md"]
			writeDocs(t, r.dir, docs)
		},
		run: func(ctx context.Context, r *faultRound) error {
			_, err := r.h.Ingest(ctx, r.src.ID, IngestOptions{})
			return err
		},
		afterFault: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			r.requireFound(t, r.botA.ID, []int{0, 1, 2, 3}, "", why)
		},
		retry: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			_, err := r.h.Ingest(t.Context(), r.src.ID, IngestOptions{})
			require.NoError(t, err, why)
			r.requireFound(t, r.botA.ID, []int{0}, "revised", why)
			r.requireFound(t, r.botA.ID, []int{1, 2, 3}, "original", why)
		},
	},
	{
		name: "move",
		run: func(ctx context.Context, r *faultRound) error {
			_, err := r.h.UpdateSource(ctx, r.src.ID, SourceUpdate{BotID: &r.botB.ID})
			return err
		},
		afterFault: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			src, err := r.h.GetSource(t.Context(), r.src.ID)
			require.NoError(t, err)
			r.requireFound(t, src.BotID, []int{0, 1, 2, 3}, "original", why+" (under the bot Storage names)")
		},
		retry: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			_, err := r.h.UpdateSource(t.Context(), r.src.ID, SourceUpdate{BotID: &r.botB.ID})
			require.NoError(t, err, why)
			r.requireFound(t, r.botB.ID, []int{0, 1, 2, 3}, "original", why)
			ok, _ := r.found(t, r.botA.ID, SearchHybrid, 0)
			require.False(t, ok, "%s: nothing left under the old bot", why)
		},
	},
	{
		name: "delete-source",
		run:  func(ctx context.Context, r *faultRound) error { return r.h.DeleteSource(ctx, r.src.ID) },
		afterFault: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			if _, err := r.h.GetSource(t.Context(), r.src.ID); err == nil {
				r.requireFound(t, r.botA.ID, []int{0, 1, 2, 3}, "original", why+" (source still there)")
			}
		},
		retry: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			err := r.h.DeleteSource(t.Context(), r.src.ID)
			if err != nil {
				require.ErrorIs(t, err, ErrNotFound, why)
			}
			_, err = r.h.GetSource(t.Context(), r.src.ID)
			require.ErrorIs(t, err, ErrNotFound, why)
		},
	},
	{
		name: "delete-bot",
		run:  func(ctx context.Context, r *faultRound) error { return r.h.DeleteBot(ctx, r.botA.ID) },
		afterFault: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			if _, err := r.h.GetBot(t.Context(), r.botA.ID); err == nil {
				r.requireFound(t, r.botA.ID, []int{0, 1, 2, 3}, "original", why+" (bot still there)")
			}
		},
		retry: func(t *testing.T, s *faultStack, r *faultRound, why string) {
			err := r.h.DeleteBot(t.Context(), r.botA.ID)
			if err != nil {
				require.ErrorIs(t, err, ErrNotFound, why)
			}
			_, err = r.h.GetSource(t.Context(), r.src.ID)
			require.ErrorIs(t, err, ErrNotFound, why)
		},
	},
}

// runFaultOps runs every operation under every fault and returns how many
// faults were injected.
func runFaultOps(t *testing.T, s *faultStack) int { return runFaultOpList(t, s, faultOps) }

// runFaultOpList runs each of ops under every fault and returns how many
// faults were injected.
func runFaultOpList(t *testing.T, s *faultStack, ops []faultOp) int {
	injected := 0
	for _, op := range ops {
		for _, after := range []bool{false, true} {
			for n := 1; ; n++ {
				require.Less(t, n, 500, "%s: the operation keeps making calls", op.name)
				r := s.round(t)
				if op.prepare != nil {
					op.prepare(t, r)
				}
				s.p.arm(n, after)
				opErr := op.run(t.Context(), r)
				calls, fired := s.p.disarm()
				why := fmt.Sprintf("%s, fault %s of %d calls (op error: %v)", op.name, fired, calls, opErr)
				if fired == "" {
					// Fewer than n calls: every call has had its fault.
					require.NoError(t, opErr, "%s without a fault", op.name)
					break
				}
				injected++
				d := diffIndex(t, s.st, s.vs, r.h.TenantID())
				require.Empty(t, d.missing, "%s: chunks without vectors: %v", why, d)
				op.afterFault(t, s, r, why)
				op.retry(t, s, r, why+", retried")
				d = diffIndex(t, s.st, s.vs, r.h.TenantID())
				require.True(t, d.missing == nil && d.mislabelled == nil && d.orphans == nil, "%s, retried: %v", why, d)
			}
		}
	}
	return injected
}

func TestFaultsSQLiteLocal(t *testing.T) {
	s := sqliteFaultStack(t)
	n := runFaultOps(t, s)
	t.Logf("SQLite + local: %d faults injected over %d operations, each checked and retried", n, len(faultOps))
}

func TestFaultsPostgresPGVector(t *testing.T) {
	s := postgresFaultStack(t)
	n := runFaultOps(t, s)
	t.Logf("PostgreSQL + pgvector: %d faults injected over %d operations, each checked and retried", n, len(faultOps))
}
