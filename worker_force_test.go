package minirag

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnqueueIngestForce: the Force option travels with the job (its Kind)
// and the worker applies it.
func TestEnqueueIngestForce(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	src := e.textSource(t, h, bot.ID, "Kitchen", "The espresso machine on the third floor needs descaling every Friday.")
	w, err := e.c.NewWorker(WorkerConfig{ID: "w1"})
	require.NoError(t, err)

	first, err := h.EnqueueIngest(e.ctx, src.ID)
	require.NoError(t, err)
	assert.Equal(t, JobKindIngest, first.Kind)
	require.NoError(t, w.Drain(e.ctx))
	got, err := h.GetSource(e.ctx, src.ID)
	require.NoError(t, err)
	require.Equal(t, StatusReady, got.Status)
	chunks := got.ChunkCount
	require.Positive(t, chunks)

	// A plain job of an unchanged source embeds nothing.
	e.emb.reset()
	_, err = h.EnqueueIngest(e.ctx, src.ID)
	require.NoError(t, err)
	require.NoError(t, w.Drain(e.ctx))
	assert.Zero(t, e.emb.texts.Load())

	// A forced job embeds everything again.
	forced, err := h.EnqueueIngestWithOptions(e.ctx, src.ID, EnqueueOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, JobKindIngestForce, forced.Kind)
	// Queued already: a forced or a plain request gets the forced job.
	again, err := h.EnqueueIngestWithOptions(e.ctx, src.ID, EnqueueOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, forced.ID, again.ID)
	plain, err := h.EnqueueIngest(e.ctx, src.ID)
	require.NoError(t, err)
	assert.Equal(t, forced.ID, plain.ID, "a queued forced job serves a plain request")
	require.NoError(t, w.Drain(e.ctx))
	assert.Equal(t, int64(chunks), e.emb.texts.Load(), "every chunk embedded again")
	j, err := h.GetJob(e.ctx, forced.ID)
	require.NoError(t, err)
	assert.Equal(t, JobDone, j.Status)
	assert.Equal(t, JobKindIngestForce, j.Kind)

	// A forced request while a plain job is queued adds the forced job.
	e.emb.reset()
	plain, err = h.EnqueueIngest(e.ctx, src.ID)
	require.NoError(t, err)
	forced, err = h.EnqueueIngestWithOptions(e.ctx, src.ID, EnqueueOptions{Force: true})
	require.NoError(t, err)
	assert.NotEqual(t, plain.ID, forced.ID)
	require.NoError(t, w.Drain(e.ctx))
	assert.Equal(t, int64(chunks), e.emb.texts.Load(), "the plain job embeds nothing, the forced one everything")
	for _, id := range []string{plain.ID, forced.ID} {
		j, err := h.GetJob(e.ctx, id)
		require.NoError(t, err)
		assert.Equal(t, JobDone, j.Status, id)
	}

	// An empty tenant is refused, and a query-scoped caller may not queue.
	_, err = e.c.Tenant("").EnqueueIngestWithOptions(e.ctx, src.ID, EnqueueOptions{Force: true})
	assert.ErrorIs(t, err, ErrInvalidInput)
	tok, err := h.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "widget", Scopes: []Scope{ScopeQuery}})
	require.NoError(t, err)
	_, err = e.scoped(t, tok.Plaintext).EnqueueIngestWithOptions(e.ctx, src.ID, EnqueueOptions{Force: true})
	assert.ErrorIs(t, err, ErrForbidden)
}
