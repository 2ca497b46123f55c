package minirag

// TestKill9: a helper process (this test binary again, see TestMain)
// ingests a file source of a few hundred documents into an embedded
// folder (Open), rewriting some documents and moving the source between
// two bots between runs, without end; the test kills it (SIGKILL) at a
// random instant, then, with the helper dead:
//
//  1. opens SQLite and the local vector store directly and checks the
//     invariant: every chunk Storage holds has its vector;
//  2. opens the folder with Open, which finds the marker of an unclean
//     shutdown and reconciles: afterwards the stores agree exactly;
//  3. runs a plain Ingest (no Force) and checks convergence: the stores
//     agree, every file on disk is a document, and a sample of documents
//     is found by search in its current version;
//  4. closes cleanly (the marker goes).
//
// The kill instant is uniform within 1.5 times the helper's cycle (one
// round of changes and Ingest, measured in the first round). At least
// 20 rounds, then more until 5 rounds were killed mid-write or 50 s
// passed; seeded: MINIRAG_KILL_SEED=<seed> replays a run (the seed is
// logged). Bounded to about a minute (two under the race detector).

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/local"
)

const (
	envKillHelper = "MINIRAG_KILL_HELPER" // the folder the helper ingests into
	envKillSeed   = "MINIRAG_KILL_SEED"
	killDocs      = 200
	killRounds    = 20
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envKillHelper); dir != "" {
		os.Exit(killHelper(dir))
	}
	os.Exit(m.Run())
}

// killDoc is the text of document i at version v.
func killDoc(i, v int) string {
	return fmt.Sprintf("# Page %d\n\nkiwi%03d is described here, version v%dv of page %d. %s\n", i, i, v, i,
		strings.Repeat(fmt.Sprintf("Filler sentence %d about page %d. ", v, i), 2))
}

// killHelper is the helper process: it ingests the folder's only source
// again and again, changing a few documents and moving the source
// between the two bots in between, until it is killed. It prints
// "ready" once the folder is open.
func killHelper(dir string) int {
	ctx := context.Background()
	seed, _ := strconv.ParseUint(os.Getenv(envKillSeed), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 7))
	c, err := Open(ctx, dir, WithConfig(func(c *Config) { c.Loader = loader.Options{AllowPrivateNetworks: true} }))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open:", err)
		return 2
	}
	ts, err := c.store.ListTenants(ctx)
	if err != nil || len(ts) != 1 {
		fmt.Fprintln(os.Stderr, "helper: tenants:", err, len(ts))
		return 2
	}
	h := c.Tenant(ts[0].ID)
	srcs, err := h.ListSources(ctx, "")
	bots, err2 := h.ListBots(ctx)
	if err != nil || err2 != nil || len(srcs) != 1 || len(bots) != 2 {
		fmt.Fprintln(os.Stderr, "helper: sources/bots:", err, err2)
		return 2
	}
	docsDir := filepath.Join(dir, "docs")
	fmt.Println("ready")
	for round := 0; ; round++ {
		for range 20 + rng.IntN(100) {
			i := rng.IntN(killDocs)
			// Written aside and renamed into place, so that a kill never
			// leaves a torn or empty page (an empty page is skipped, not
			// ingested, which is not what this test is about).
			tmp := filepath.Join(dir, "page.tmp")
			if os.WriteFile(tmp, []byte(killDoc(i, round+2)), 0o644) == nil {
				_ = os.Rename(tmp, filepath.Join(docsDir, fmt.Sprintf("page-%03d.md", i)))
			}
		}
		if round%3 == 2 {
			bot := bots[rng.IntN(2)].ID
			if _, err := h.UpdateSource(ctx, srcs[0].ID, SourceUpdate{BotID: &bot}); err != nil {
				fmt.Fprintln(os.Stderr, "helper: move:", err)
			}
		}
		if _, err := h.Ingest(ctx, srcs[0].ID, IngestOptions{BatchSize: 8}); err != nil {
			fmt.Fprintln(os.Stderr, "helper: ingest:", err)
		}
		fmt.Println("ingested")
	}
}

func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a helper process 20 times; not in -short mode")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(envKillSeed); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, envKillSeed)
	}
	t.Logf("seed %d (replay with %s=%d)", seed, envKillSeed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ctx := t.Context()

	dir := t.TempDir()
	docsDir := filepath.Join(dir, "docs")
	require.NoError(t, os.MkdirAll(docsDir, 0o755))
	for i := range killDocs {
		require.NoError(t, os.WriteFile(filepath.Join(docsDir, fmt.Sprintf("page-%03d.md", i)), []byte(killDoc(i, 1)), 0o644))
	}
	opts := WithConfig(func(c *Config) { c.Loader = loader.Options{AllowPrivateNetworks: true} })
	c, err := Open(ctx, dir, opts)
	require.NoError(t, err)
	b, err := c.CreateTenant(ctx, CreateTenantParams{Name: "Kill", Slug: "kill", OwnerEmail: "o@example.com"})
	require.NoError(t, err)
	tenantID := b.Tenant.ID
	h := c.Tenant(tenantID)
	botA, err := h.CreateBot(ctx, BotParams{Name: "A"})
	require.NoError(t, err)
	_, err = h.CreateBot(ctx, BotParams{Name: "B"})
	require.NoError(t, err)
	src, err := h.CreateSource(ctx, SourceParams{BotID: botA.ID, Name: "docs", Type: SourceFile, Config: loader.FileConfig{Path: docsDir}})
	require.NoError(t, err)
	require.NoError(t, c.Close())

	emb, err := hashing.New(hashing.Config{})
	require.NoError(t, err)
	space := vectorstore.Space{Model: emb.Model(), Dims: emb.Dimensions()}
	var orphansSeen, reconciled, killedMidWrite int
	deadline := time.Now().Add(50 * time.Second)
	rounds := 0
	// cycle is how long the helper's first loop (changes and Ingest)
	// took in round 0; later rounds kill it at a random instant within
	// 1.5 cycles after it is ready (slower under the race detector).
	var cycle time.Duration
	for ; rounds < killRounds || (rounds < 3*killRounds && time.Now().Before(deadline) && killedMidWrite < 5); rounds++ {
		wait := time.Duration(rng.Int64N(int64(max(cycle*3/2, time.Millisecond))))
		helperSeed := rng.Uint64()
		why := fmt.Sprintf("seed %d, round %d (helper seed %d, killed after %s)", seed, rounds, helperSeed, wait)

		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envKillHelper+"="+dir, envKillSeed+"="+strconv.FormatUint(helperSeed, 10))
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		out := bufio.NewReader(stdout)
		line, err := out.ReadString('\n')
		require.NoError(t, err, "%s: the helper did not start: %s", why, stderr.String())
		require.Equal(t, "ready\n", line)
		if cycle == 0 {
			start := time.Now()
			line, err = out.ReadString('\n')
			require.NoError(t, err, "%s: the helper's first cycle: %s", why, stderr.String())
			require.Equal(t, "ingested\n", line)
			cycle = time.Since(start)
			t.Logf("the helper's cycle: %s", cycle)
		} else {
			time.Sleep(wait)
		}
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()

		// 1. The invariant, read straight from the files.
		st, err := sqlite.Open(ctx, filepath.Join(dir, OpenDatabaseFile))
		require.NoError(t, err, why)
		vs, err := local.Open(filepath.Join(dir, OpenVectorsDir))
		require.NoError(t, err, why)
		require.NoError(t, vs.Init(ctx, space), why)
		d := diffIndex(t, st, vs, tenantID)
		require.NoError(t, vs.Close())
		require.NoError(t, st.Close())
		require.Empty(t, d.missing, "%s: chunks without vectors after the kill: %v", why, d)
		orphansSeen += len(d.orphans)
		if len(d.orphans) > 0 || len(d.mislabelled) > 0 {
			killedMidWrite++
		}

		// 2. Open reconciles after the unclean shutdown.
		c, err := Open(ctx, dir, opts)
		require.NoError(t, err, why)
		rep, ok := c.OpenReconcile()
		require.True(t, ok, "%s: Open found the marker of the unclean shutdown", why)
		require.Equal(t, len(d.orphans), rep.Orphans, why)
		require.Equal(t, len(d.mislabelled), rep.Mislabelled, why)
		reconciled++
		d = diffIndex(t, c.store, c.vec, tenantID)
		require.True(t, d.missing == nil && d.mislabelled == nil && d.orphans == nil, "%s: after Open's reconciliation: %v", why, d)

		// 3. A plain Ingest converges.
		h := c.Tenant(tenantID)
		res, err := h.Ingest(ctx, src.ID, IngestOptions{})
		require.NoError(t, err, why)
		require.Equal(t, killDocs, res.Documents, why)
		d = diffIndex(t, c.store, c.vec, tenantID)
		require.True(t, d.missing == nil && d.mislabelled == nil && d.orphans == nil, "%s: after a plain Ingest: %v", why, d)
		s, err := h.GetSource(ctx, src.ID)
		require.NoError(t, err)
		require.Equal(t, StatusReady, s.Status, why)
		for range 5 {
			i := rng.IntN(killDocs)
			body, err := os.ReadFile(filepath.Join(docsDir, fmt.Sprintf("page-%03d.md", i)))
			require.NoError(t, err)
			_, rest, ok := strings.Cut(string(body), "version ")
			if !ok {
				continue // a file the helper was writing when it was killed
			}
			version, _, _ := strings.Cut(rest, " ")
			for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
				rs, err := h.Search(ctx, SearchRequest{BotID: s.BotID, Query: fmt.Sprintf("kiwi%03d", i), Mode: mode, TopK: 10})
				require.NoError(t, err)
				want := fmt.Sprintf("kiwi%03d is described here, version %s", i, version)
				require.True(t, slices.ContainsFunc(rs, func(r SearchResult) bool { return strings.Contains(r.Text, want) }),
					"%s: page %d (%s): %q not found", why, i, mode, want)
			}
		}
		// 4. A clean Close removes the marker.
		require.NoError(t, c.Close())
		_, err = os.Stat(filepath.Join(dir, OpenMarkerFile))
		require.ErrorIs(t, err, os.ErrNotExist, why)
	}
	t.Logf("%d rounds killed with SIGKILL (%d left vectors without chunks: %d in all), %d reconciled by Open; the invariant held in every round",
		rounds, killedMidWrite, orphansSeen, reconciled)
}
