//go:build linux

package minirag

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/loader"
)

// TestFullDisk runs the embedded stack in a 4 MiB tmpfs (mounted by the
// test, which needs root; skipped with the reason otherwise), fills the
// disk, and ingests a change of every document: the ingestion fails with
// a clear error (or some documents fail), and nothing previously
// searchable is lost. With space again, the folder reopens, the stores
// agree, and a plain Ingest converges.
func TestFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs; not in -short mode")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root and mount permission): %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	ctx := t.Context()
	dir := filepath.Join(mnt, "data")
	docs := t.TempDir() // the source is outside the full disk
	const n = 30
	version := func(v int) {
		for i := range n {
			body := fmt.Sprintf("# Page %d\n\n%s\n", i, strings.Repeat(fmt.Sprintf("mango%d, edition %d, describes fruit number %d. ", i, v, i), 1+v*3))
			require.NoError(t, os.WriteFile(filepath.Join(docs, fmt.Sprintf("p%02d.md", i)), []byte(body), 0o644))
		}
	}
	version(1)
	opts := WithConfig(func(c *Config) { c.Loader = loader.Options{AllowPrivateNetworks: true} })
	c, err := Open(ctx, dir, opts)
	require.NoError(t, err)
	b, err := c.CreateTenant(ctx, CreateTenantParams{Name: "Disk", Slug: "disk", OwnerEmail: "o@disk.example"})
	require.NoError(t, err)
	h := c.Tenant(b.Tenant.ID)
	bot, err := h.CreateBot(ctx, BotParams{Name: "bot"})
	require.NoError(t, err)
	src, err := h.CreateSource(ctx, SourceParams{BotID: bot.ID, Name: "docs", Type: SourceFile, Config: loader.FileConfig{Path: docs}})
	require.NoError(t, err)
	_, err = h.Ingest(ctx, src.ID, IngestOptions{})
	require.NoError(t, err)

	found := func(c *Client, want string) {
		t.Helper()
		h := c.Tenant(b.Tenant.ID)
		for i := range n {
			for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
				rs, err := h.Search(ctx, SearchRequest{BotID: bot.ID, Query: fmt.Sprintf("mango%d", i), Mode: mode, TopK: 1})
				require.NoError(t, err)
				require.NotEmpty(t, rs, "page %d (%s)", i, mode)
				require.Contains(t, rs[0].Text, fmt.Sprintf("mango%d, edition %s", i, want), "page %d (%s)", i, mode)
			}
		}
	}
	found(c, "1")

	// Fill the disk, leaving free bytes, and ingest a new edition of every
	// page: the ingestion fails (as a whole or for some documents), every
	// page is still found in one edition or the other, and with space
	// again a plain Ingest converges.
	fillUpTo := func(free int64) {
		fill, err := os.Create(filepath.Join(mnt, "filler"))
		require.NoError(t, err)
		chunk := make([]byte, 16<<10)
		var written int64
		for {
			n, err := fill.Write(chunk)
			written += int64(n)
			if err != nil {
				require.True(t, errors.Is(err, syscall.ENOSPC), "filling: %v", err)
				break
			}
		}
		require.NoError(t, fill.Truncate(max(written-free, 0)))
		require.NoError(t, fill.Close())
	}
	edition := 1
	for _, free := range []int64{0, 24 << 10, 64 << 10, 160 << 10} {
		fillUpTo(free)
		edition++
		version(edition)
		res, err := h.Ingest(ctx, src.ID, IngestOptions{BatchSize: 4})
		t.Logf("%d KiB free: ingest: updated %d, failed %d, error: %v", free>>10, res.Updated, len(res.Failed), err)
		d := diffIndex(t, c.store, c.vec, b.Tenant.ID)
		require.Empty(t, d.missing, "chunks without vectors on a full disk: %v", d)
		found(c, "")
		require.NoError(t, os.Remove(filepath.Join(mnt, "filler")))
		_, err = h.Ingest(ctx, src.ID, IngestOptions{})
		require.NoError(t, err, "with space again")
		found(c, strconv.Itoa(edition))
	}
	fillUpTo(0)
	_ = c.Close() // may fail on a full disk: the marker then stays

	// Space again: the folder reopens, the stores agree, a plain Ingest
	// converges.
	require.NoError(t, os.Remove(filepath.Join(mnt, "filler")))
	c, err = Open(ctx, dir, opts)
	require.NoError(t, err)
	defer c.Close()
	d := diffIndex(t, c.store, c.vec, b.Tenant.ID)
	require.Empty(t, d.missing, "after reopening: %v", d)
	_, err = c.Tenant(b.Tenant.ID).Ingest(ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	d = diffIndex(t, c.store, c.vec, b.Tenant.ID)
	require.True(t, d.missing == nil && d.mislabelled == nil && d.orphans == nil, "after a plain Ingest: %v", d)
	found(c, strconv.Itoa(edition))
}
