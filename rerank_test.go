package minirag

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/rerank"
)

// reverseReranker is a /rerank server (Cohere's shape) that ranks the
// documents in reverse order of what it was given, so that its effect is
// plain to see.
func reverseReranker(t *testing.T, key string, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var req struct {
			Query     string   `json:"query"`
			Documents []string `json:"documents"`
			TopN      int      `json:"top_n"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		type res struct {
			Index int     `json:"index"`
			Score float64 `json:"relevance_score"`
		}
		var out []res
		for i := len(req.Documents) - 1; i >= 0 && len(out) < req.TopN; i-- {
			out = append(out, res{i, float64(i+1) / 100})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"results": out})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSearchReranksWithTheBotsEndpoint(t *testing.T) {
	var calls atomic.Int32
	srv := reverseReranker(t, "rr-secret-key", &calls)
	a := newAskEnv(t, nil, BotParams{ExtractiveFallback: true})
	ctx := a.ctx
	plain, err := a.h.Search(ctx, SearchRequest{BotID: a.bot.ID, Query: "alertmanager receivers scrape storage", TopK: 3})
	require.NoError(t, err)
	require.Len(t, plain, 3)

	_, err = a.h.UpdateBot(ctx, a.bot.ID, BotUpdate{Rerank: &BotRerank{URL: srv.URL + "/v2/rerank", Model: "rerank-test", TopN: 3},
		Credentials: &Credentials{RerankAPIKey: "rr-secret-key"}})
	require.NoError(t, err)
	got, err := a.h.Search(ctx, SearchRequest{BotID: a.bot.ID, Query: "alertmanager receivers scrape storage", TopK: 2})
	require.NoError(t, err)
	require.EqualValues(t, 1, calls.Load())
	require.Len(t, got, 2)
	// The reranker put the third fused candidate first, then the second.
	assert.Equal(t, plain[2].ChunkID, got[0].ChunkID)
	assert.Equal(t, plain[1].ChunkID, got[1].ChunkID)
	assert.True(t, got[0].Reranked)
	assert.InDelta(t, 0.03, got[0].Score, 1e-9)
	assert.InDelta(t, plain[2].Score, got[0].FusedScore, 1e-9)

	// Ask uses it too.
	ans, err := a.h.Ask(ctx, AskRequest{BotID: a.bot.ID, Question: "alertmanager receivers scrape storage", TopK: 2})
	require.NoError(t, err)
	require.EqualValues(t, 2, calls.Load())
	assert.Equal(t, plain[2].ChunkID, ans.Passages[0].ChunkID)

	rep, err := a.h.Usage(ctx, UsageRequest{GroupBy: []string{GroupByKind, GroupByModel}})
	require.NoError(t, err)
	require.Len(t, rep.Groups, 1)
	assert.Equal(t, UsageRerank, rep.Groups[0].Kind)
	assert.Equal(t, "rerank-test", rep.Groups[0].Model)
	assert.EqualValues(t, 2, rep.Groups[0].Requests)

	// A failing endpoint fails the search (the bot asked for reranking).
	_, err = a.h.UpdateBot(ctx, a.bot.ID, BotUpdate{Credentials: &Credentials{RerankAPIKey: "wrong-key"}})
	require.NoError(t, err)
	_, err = a.h.Search(ctx, SearchRequest{BotID: a.bot.ID, Query: "alerts"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "wrong-key")

	// Validation.
	_, err = a.h.UpdateBot(ctx, a.bot.ID, BotUpdate{Rerank: &BotRerank{URL: "ftp://x"}})
	requireField(t, err, "rerank.url")
	_, err = a.h.UpdateBot(ctx, a.bot.ID, BotUpdate{Rerank: &BotRerank{URL: srv.URL, API: "grpc"}})
	requireField(t, err, "rerank.api")
	b, err := a.h.UpdateBot(ctx, a.bot.ID, BotUpdate{ClearRerank: true})
	require.NoError(t, err)
	assert.Nil(t, b.Rerank)
	_, err = a.h.Search(ctx, SearchRequest{BotID: a.bot.ID, Query: "alerts"})
	require.NoError(t, err)
}

func TestRerankerFuncOffline(t *testing.T) {
	var seen atomic.Int32
	a := newAskEnvWith(t, BotParams{ExtractiveFallback: true, Rerank: &BotRerank{URL: "http://127.0.0.1:9/rerank", TopN: 10}}, func(c *Config) {
		c.Reranker = func(ctx context.Context, b Bot, cred Credentials) (rerank.Reranker, error) {
			seen.Add(1)
			return rerank.Lexical{}, nil
		}
	})
	res, err := a.h.Search(a.ctx, SearchRequest{BotID: a.bot.ID, Query: "Alertmanager routes notifications to receivers", TopK: 2})
	require.NoError(t, err)
	require.EqualValues(t, 1, seen.Load())
	require.NotEmpty(t, res)
	assert.True(t, res[0].Reranked)
	assert.Equal(t, "Alerting", res[0].DocumentTitle)
}

func TestRerankEndpointGuard(t *testing.T) {
	a := newAskEnvWith(t, BotParams{ExtractiveFallback: true}, func(c *Config) { c.PublicModelEndpointsOnly = true })
	_, err := a.h.UpdateBot(a.ctx, a.bot.ID, BotUpdate{Rerank: &BotRerank{URL: "http://127.0.0.1:9/rerank"}})
	requireField(t, err, "rerank.url")
	assert.ErrorIs(t, err, loader.ErrBlockedAddress)
	assert.Contains(t, err.Error(), "non-public address")
}
