package minirag

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/vectorstore/local"
)

// downEmbedder fails every call.
type downEmbedder struct{ *hashing.Embedder }

func (downEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return nil, errors.New("embedding service unavailable")
}

func TestCheckHealthy(t *testing.T) {
	m := &fakeModel{reply: "OK"}
	o := newOtelEnv(t, false, m)
	h := o.c.Check(o.ctx, CheckOptions{TenantID: o.h.p.TenantID, BotID: o.bot.ID})
	require.True(t, h.OK, "%+v", h)
	require.NoError(t, h.Err())
	var names []string
	for _, b := range h.Backends {
		names = append(names, b.Name)
		assert.True(t, b.OK, b.Name)
		assert.Positive(t, b.Latency, b.Name)
		assert.Empty(t, b.Error)
	}
	assert.Equal(t, []string{BackendStorage, BackendVectorStore, BackendEmbedder, BackendModel}, names)
	assert.Equal(t, "storage/sqlite", h.Backends[0].Kind)
	assert.Equal(t, "vectorstore/local", h.Backends[1].Kind)
	assert.Equal(t, "embed/hashing", h.Backends[2].Kind)
	reqs := m.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, 1, reqs[0].MaxTokens)

	b, err := json.Marshal(h.Backends[0])
	require.NoError(t, err)
	assert.Contains(t, string(b), `"latency_ms":`)
	assert.Contains(t, string(b), `"name":"storage"`)

	h = o.c.Check(o.ctx, CheckOptions{SkipEmbedder: true})
	assert.True(t, h.OK)
	assert.Len(t, h.Backends, 2, "storage and vector store only")
}

func TestCheckReportsEachFailure(t *testing.T) {
	emb, err := hashing.New(hashing.Config{Dimensions: 64})
	require.NoError(t, err)
	e := newEnv(t, func(c *Config) {
		vs, err := local.Open(t.TempDir(), local.WithSync(false))
		require.NoError(t, err)
		c.VectorStore, c.Embedder = vs, downEmbedder{emb}
	})
	h := e.c.Check(e.ctx, CheckOptions{})
	assert.False(t, h.OK)
	byName := map[string]BackendHealth{}
	for _, b := range h.Backends {
		byName[b.Name] = b
	}
	assert.True(t, byName[BackendStorage].OK)
	assert.False(t, byName[BackendEmbedder].OK)
	assert.Contains(t, byName[BackendEmbedder].Error, "embedding service unavailable")

	// Storage gone (a stopped database): the storage check fails with the
	// driver's error, the others are still reported.
	require.NoError(t, e.c.rawStore.Close())
	h = e.c.Check(e.ctx, CheckOptions{SkipEmbedder: true})
	assert.False(t, h.OK)
	assert.False(t, h.Backends[0].OK)
	assert.NotEmpty(t, h.Backends[0].Error)
	require.Error(t, h.Err())
	assert.Contains(t, h.Err().Error(), "storage (storage/sqlite)")
}

func TestCheckModelOfBotThatCannotCall(t *testing.T) {
	o := newOtelEnv(t, false, &fakeModel{reply: "OK"})
	bot, err := o.h.CreateBot(o.ctx, BotParams{Name: "No model", ExtractiveFallback: true})
	require.NoError(t, err)
	h := o.c.Check(o.ctx, CheckOptions{TenantID: o.h.p.TenantID, BotID: bot.ID, SkipEmbedder: true})
	assert.False(t, h.OK)
	assert.Contains(t, h.Backends[2].Error, "no model")
}

func TestCheckWithoutVectorStore(t *testing.T) {
	e := newEnv(t)
	h := e.c.Check(e.ctx, CheckOptions{SkipEmbedder: true})
	assert.False(t, h.OK)
	assert.Equal(t, "none", h.Backends[1].Kind)
	assert.Contains(t, h.Backends[1].Error, "not configured")
}
