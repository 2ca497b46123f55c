package minirag

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/loader"
)

func TestOpenCreatesAndReopens(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "data")
	c, err := Open(ctx, dir)
	require.NoError(t, err)
	for _, name := range []string{OpenKeyFile, OpenJWTFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}
	for _, name := range []string{OpenDatabaseFile, OpenVectorsDir} {
		_, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
	}
	key, err := os.ReadFile(filepath.Join(dir, OpenKeyFile))
	require.NoError(t, err)

	b, err := c.CreateTenant(ctx, CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "o@acme.example"})
	require.NoError(t, err)
	h := c.Tenant(b.Tenant.ID)
	bot, err := h.CreateBot(ctx, BotParams{Name: "Helper", Credentials: &Credentials{APIKey: "sk-secret-value"}})
	require.NoError(t, err)
	src, err := h.CreateSource(ctx, SourceParams{BotID: bot.ID, Name: "faq", Type: SourceText,
		Config: loader.TextConfig{Content: "The library opens at nine and closes at six on weekdays.", Title: "Hours"}})
	require.NoError(t, err)
	_, err = h.Ingest(ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	sess, err := c.IssueSession(ctx, b.Tenant.ID, b.Owner.ID)
	require.NoError(t, err)
	require.NoError(t, c.Close())

	// Reopened: same keys, same data, same index.
	c, err = Open(ctx, dir)
	require.NoError(t, err)
	defer c.Close()
	key2, err := os.ReadFile(filepath.Join(dir, OpenKeyFile))
	require.NoError(t, err)
	assert.Equal(t, key, key2)
	cr, err := c.decryptCredentials(ctx, b.Tenant.ID, bot.ID)
	require.NoError(t, err)
	assert.Equal(t, "sk-secret-value", cr.APIKey)
	p, err := c.Authenticate(ctx, sess.Token)
	require.NoError(t, err, "the JWT secret survives a reopen")
	assert.Equal(t, b.Tenant.ID, p.TenantID)
	h = c.Tenant(b.Tenant.ID)
	rs, err := h.Search(ctx, SearchRequest{BotID: bot.ID, Query: "when does the library open", Mode: SearchDense})
	require.NoError(t, err)
	require.NotEmpty(t, rs)
	assert.Equal(t, "Hours", rs[0].DocumentTitle)
	res, err := h.Ingest(ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Zero(t, res.Embedded)
	assert.Equal(t, 1, res.Unchanged)
}

func TestOpenOptions(t *testing.T) {
	ctx := t.Context()
	_, err := Open(ctx, " ")
	assert.ErrorIs(t, err, ErrInvalidInput)

	dir := t.TempDir()
	key, err := GenerateEncryptionKey()
	require.NoError(t, err)
	emb, err := hashing.New(hashing.Config{Dimensions: 64})
	require.NoError(t, err)
	c, err := Open(ctx, dir, WithEncryptionKeys(key), WithJWT(JWTConfig{Secret: testJWTSecret}), WithEmbedder(emb),
		WithLogger(nil), WithConfig(func(cfg *Config) { cfg.Loader.MaxRedirects = 2 }))
	require.NoError(t, err)
	assert.Equal(t, 2, c.load.MaxRedirects)
	require.NoError(t, c.Close())
	for _, name := range []string{OpenKeyFile, OpenJWTFile} {
		_, err := os.Stat(filepath.Join(dir, name))
		assert.True(t, os.IsNotExist(err), "%s is not written when keys are given", name)
	}

	// A bad key is reported without its value, and Open releases what it opened.
	_, err = Open(ctx, dir, WithEncryptionKeys("not-a-key-value"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "not-a-key-value")
	c, err = Open(ctx, dir, WithEncryptionKeys(key), WithJWT(JWTConfig{Secret: testJWTSecret}), WithEmbedder(emb))
	require.NoError(t, err)
	require.NoError(t, c.Close())
}

func TestOpenEmptyKeyFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, OpenKeyFile), []byte("\n"), 0o600))
	_, err := Open(context.Background(), dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), OpenKeyFile)
}
