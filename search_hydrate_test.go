package minirag

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/storage"
)

// chunkLoadCounter counts the chunk IDs Search asks Storage for, and hides
// some chunks (a vector whose chunk is gone).
type chunkLoadCounter struct {
	storage.Storage
	mu     sync.Mutex
	ids    int
	calls  int
	hidden map[string]bool
}

func (s *chunkLoadCounter) GetChunksWithDocuments(ctx context.Context, tenantID string, ids []string) ([]storage.ChunkWithDocument, error) {
	s.mu.Lock()
	s.ids += len(ids)
	s.calls++
	hidden := s.hidden
	s.mu.Unlock()
	chunks, err := s.Storage.GetChunksWithDocuments(ctx, tenantID, ids)
	out := chunks[:0]
	for _, c := range chunks {
		if !hidden[c.Chunk.ID] {
			out = append(out, c)
		}
	}
	return out, err
}

// TestSearchLoadsOnlyReturnedChunks: a hybrid search loads the chunks it
// returns (plus a few spare), not every fused candidate; when a candidate's
// chunk is gone it loads the next ones and still returns TopK.
func TestSearchLoadsOnlyReturnedChunks(t *testing.T) {
	a := newAskEnv(t, nil, BotParams{})
	cnt := &chunkLoadCounter{Storage: a.c.store}
	a.c.store = cnt
	req := SearchRequest{BotID: a.bot.ID, Query: "alerts retention samples disk", TopK: 2, Mode: SearchHybrid}
	first, err := a.h.Search(a.ctx, req)
	require.NoError(t, err)
	require.Len(t, first, 2)
	assert.LessOrEqual(t, cnt.ids, req.TopK+4, "chunk IDs loaded for TopK=2")
	assert.Equal(t, 1, cnt.calls)

	cnt.mu.Lock()
	cnt.ids, cnt.calls, cnt.hidden = 0, 0, map[string]bool{first[0].ChunkID: true}
	cnt.mu.Unlock()
	again, err := a.h.Search(a.ctx, req)
	require.NoError(t, err)
	for _, r := range again {
		assert.NotEqual(t, first[0].ChunkID, r.ChunkID, "a chunk that is gone is left out")
	}
	assert.Equal(t, first[1].ChunkID, again[0].ChunkID, "the next candidate moves up")
	assert.LessOrEqual(t, cnt.ids, 2*(req.TopK+4))
}
