package minirag

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/vectorstore/local"
)

// countingEmbedder wraps an Embedder, counts calls and texts, and can be
// told to fail or to answer with a wrong number of vectors.
type countingEmbedder struct {
	embed.Embedder
	calls, texts atomic.Int64

	mu       sync.Mutex
	fail     error // returned by every call while set
	short    bool  // answer one vector less than asked
	failWhen func(texts []string) error
}

func (e *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.calls.Add(1)
	e.texts.Add(int64(len(texts)))
	e.mu.Lock()
	fail, short, when := e.fail, e.short, e.failWhen
	e.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	if when != nil {
		if err := when(texts); err != nil {
			return nil, err
		}
	}
	v, err := e.Embedder.Embed(ctx, texts)
	if err == nil && short && len(v) > 0 {
		v = v[:len(v)-1]
	}
	return v, err
}

// Lexical forwards the optional capability of the wrapped embedder (see
// package embed), as a wrapper should.
func (e *countingEmbedder) Lexical() bool {
	l, ok := e.Embedder.(interface{ Lexical() bool })
	return ok && l.Lexical()
}

func (e *countingEmbedder) set(fn func(e *countingEmbedder)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn(e)
}

func (e *countingEmbedder) reset() {
	e.calls.Store(0)
	e.texts.Store(0)
}

// ingestEnv is an env with an in-memory vector store and a counting
// hashing embedder.
type ingestEnv struct {
	*env
	emb *countingEmbedder
	vec *local.Store
}

func newIngestEnv(t testing.TB, mod ...func(*Config)) *ingestEnv {
	t.Helper()
	h, err := hashing.New(hashing.Config{Dimensions: 256})
	require.NoError(t, err)
	emb := &countingEmbedder{Embedder: h}
	vec, err := local.Open("")
	require.NoError(t, err)
	e := newEnv(t, append([]func(*Config){func(c *Config) {
		c.VectorStore = vec
		c.Embedder = emb
		c.Loader = loader.Options{AllowPrivateNetworks: true}
	}}, mod...)...)
	return &ingestEnv{env: e, emb: emb, vec: vec}
}

// tenantWithBot bootstraps a tenant and a bot and returns the trusted
// handle and the bot.
func (e *ingestEnv) tenantWithBot(t testing.TB, slug string) (*TenantHandle, Bot) {
	t.Helper()
	b := e.bootstrap(t, slug)
	h := e.c.Tenant(b.Tenant.ID)
	bot, err := h.CreateBot(e.ctx, BotParams{Name: "Bot of " + slug})
	require.NoError(t, err)
	return h, bot
}

func (e *ingestEnv) dirSource(t testing.TB, h *TenantHandle, botID, dir string) Source {
	t.Helper()
	s, err := h.CreateSource(e.ctx, SourceParams{BotID: botID, Name: "docs", Type: SourceFile, Config: loader.FileConfig{Path: dir}})
	require.NoError(t, err)
	return s
}

func (e *ingestEnv) textSource(t testing.TB, h *TenantHandle, botID, title, content string) Source {
	t.Helper()
	s, err := h.CreateSource(e.ctx, SourceParams{BotID: botID, Name: title, Type: SourceText, Config: loader.TextConfig{Content: content, Title: title}})
	require.NoError(t, err)
	return s
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
}

// docsCorpus is a small markdown corpus about a fictional product.
var docsCorpus = map[string]string{
	"install.md": "# Installing Lumen\n\nDownload the Lumen archive and unpack it. Run `lumen setup` to create the configuration file in your home directory.\n\n## Requirements\n\nLumen needs 2 GB of memory and a 64-bit processor.\n",
	"backup.md":  "# Backups\n\nLumen writes a nightly backup of every project to the backup folder. Restore a backup with `lumen restore` followed by the backup's date.\n",
	"billing.md": "# Billing\n\nInvoices are sent on the first day of each month. A team plan costs twelve euros per seat; annual billing saves two months.\n",
}
