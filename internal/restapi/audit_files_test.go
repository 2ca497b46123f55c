package restapi

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/loader"
)

// TestAuditFileSourcesConfined: POST /v1/tenants is public, so anyone can
// get an admin token and create a "file" source. The server must not let
// such a source read any file of the host (another tenant's documents,
// the operator's notes): file sources are confined to the file root,
// dir/files unless MINIRAG_FILE_ROOT names another.
func TestAuditFileSourcesConfined(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "private.md"), []byte("# Private\n\nThe vault code is 4417.\n"), 0o600))

	for _, tc := range []struct {
		name string
		env  func(dir string) map[string]string
		root func(dir string) string
	}{
		{"default root", func(string) map[string]string { return nil }, func(dir string) string { return filepath.Join(dir, "files") }},
		{"MINIRAG_FILE_ROOT", func(dir string) map[string]string {
			return map[string]string{"MINIRAG_FILE_ROOT": filepath.Join(dir, "shared")}
		}, func(dir string) string { return filepath.Join(dir, "shared") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c, _, err := openClient(t.Context(), slog.New(slog.DiscardHandler), dir, envMap(tc.env(dir)))
			require.NoError(t, err)
			defer c.Close()
			root := tc.root(dir)
			require.NoError(t, os.MkdirAll(root, 0o700))
			require.NoError(t, os.WriteFile(filepath.Join(root, "public.md"), []byte("# Public\n\nOpening hours are nine to five.\n"), 0o600))

			b, err := c.CreateTenant(t.Context(), minirag.CreateTenantParams{Name: "Eve", Slug: "eve", OwnerEmail: "eve@eve.example"})
			require.NoError(t, err)
			h := c.Scoped(mustAuth(t, c, b.Token.Plaintext))
			bot, err := h.CreateBot(t.Context(), minirag.BotParams{Name: "b"})
			require.NoError(t, err)

			bad, err := h.CreateSource(t.Context(), minirag.SourceParams{BotID: bot.ID, Name: "steal", Type: minirag.SourceFile,
				Config: loader.FileConfig{Path: filepath.Join(outside, "private.md")}})
			if err == nil {
				res, ierr := h.Ingest(t.Context(), bad.ID, minirag.IngestOptions{})
				assert.Error(t, ierr, "a file outside the file root was ingested")
				assert.Zero(t, res.Documents, "a file outside the file root was ingested")
			}

			good, err := h.CreateSource(t.Context(), minirag.SourceParams{BotID: bot.ID, Name: "ok", Type: minirag.SourceFile,
				Config: loader.FileConfig{Path: filepath.Join(root, "public.md")}})
			require.NoError(t, err)
			res, err := h.Ingest(t.Context(), good.ID, minirag.IngestOptions{})
			require.NoError(t, err)
			assert.Equal(t, 1, res.Documents)
		})
	}
}

func mustAuth(t *testing.T, c *minirag.Client, plain string) minirag.Principal {
	t.Helper()
	p, err := c.Authenticate(t.Context(), plain)
	require.NoError(t, err)
	return p
}
