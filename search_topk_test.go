package minirag

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/chunk"
	"github.com/minirag/minirag/loader"
)

// TestSearchTopKMax: a search may ask for MaxTopK (1,000) results in every
// mode, and gets that many from a source with more matching chunks; one
// more is bad input.
func TestSearchTopKMax(t *testing.T) {
	chunker, err := chunk.NewTokenChunker(chunk.Options{MaxTokens: 8})
	require.NoError(t, err)
	e := newIngestEnv(t, func(c *Config) { c.Chunker = chunker })
	h, bot := e.tenantWithBot(t, "acme")
	var text strings.Builder
	for i := range 1300 {
		fmt.Fprintf(&text, "Lantern number %d glows.\n\n", i)
	}
	src, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "many", Type: SourceText,
		Config: loader.TextConfig{Content: text.String(), Title: "Lanterns"}})
	require.NoError(t, err)
	_, err = h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)

	for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
		res, err := h.Search(e.ctx, SearchRequest{BotID: bot.ID, Query: "lantern glows", TopK: MaxTopK, Mode: mode})
		require.NoError(t, err, mode)
		assert.Len(t, res, MaxTopK, mode)
		seen := map[string]bool{}
		for _, r := range res {
			assert.False(t, seen[r.ChunkID], "%s: chunk %s twice", mode, r.ChunkID)
			seen[r.ChunkID] = true
		}
	}
	_, err = h.Search(e.ctx, SearchRequest{BotID: bot.ID, Query: "lantern", TopK: MaxTopK + 1})
	assert.Equal(t, []string{"top_k"}, fieldsOf(t, err))
}
