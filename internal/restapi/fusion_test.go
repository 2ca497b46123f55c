package restapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
)

// TestSearchAndChatFusionAndMode: the search and chat bodies take "mode"
// and "fusion", passed to the SDK (and validated by it).
func TestSearchAndChatFusionAndMode(t *testing.T) {
	s := newStack(t, embeddedClient(t))
	a := s.bootstrap("acme")
	tok := a.APIToken.Token
	bot := s.createBot(tok)
	s.ingested(tok, bot.ID, "Storage", storageText)
	s.ingested(tok, bot.ID, "Alerting", alertingText)
	path := "/v1/bot-profiles/" + bot.ID + "/search"

	search := func(body map[string]any) []minirag.SearchResult {
		t.Helper()
		var res struct{ Data []minirag.SearchResult }
		s.ok(http.StatusOK, "POST", path, tok, body, &res)
		require.NotEmpty(t, res.Data)
		return res.Data
	}
	// The hashing embedder's default fusion is "scores": the chunk first
	// in both rankings scores 1. "rrf" scores it 2/61.
	def := search(map[string]any{"query": "how many days of retention"})
	scores := search(map[string]any{"query": "how many days of retention", "fusion": "scores"})
	rrf := search(map[string]any{"query": "how many days of retention", "fusion": "rrf"})
	for _, res := range [][]minirag.SearchResult{def, scores, rrf} {
		assert.Equal(t, "Storage", res[0].DocumentTitle)
		assert.Equal(t, []string{minirag.FoundByDense, minirag.FoundByLexical}, res[0].FoundBy)
	}
	assert.InDelta(t, 1.0, def[0].Score, 1e-9)
	assert.InDelta(t, 1.0, scores[0].Score, 1e-9)
	assert.InDelta(t, 2.0/61, rrf[0].Score, 1e-9)
	// Mode: lexical scores are the lexical ranking's own.
	lex := search(map[string]any{"query": "how many days of retention", "mode": "lexical"})
	assert.Equal(t, []string{minirag.FoundByLexical}, lex[0].FoundBy)
	assert.Equal(t, lex[0].LexicalScore, lex[0].Score)

	status, body := s.do("POST", path, tok, map[string]any{"query": "q", "fusion": "borda", "mode": "fuzzy"})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.ElementsMatch(t, []string{"fusion", "mode"}, fieldNames(apiErr(t, body)))

	chat := "/v1/bot-profiles/" + bot.ID + "/chat"
	var ans minirag.Answer
	s.ok(http.StatusOK, "POST", chat, tok, map[string]any{"question": "How long are samples kept?", "fusion": "rrf", "mode": "hybrid", "extractive": true}, &ans)
	require.NotEmpty(t, ans.Passages)
	assert.True(t, ans.Extractive)
	status, body = s.do("POST", chat, tok, map[string]any{"question": "q", "fusion": "borda"})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Equal(t, []string{"fusion"}, fieldNames(apiErr(t, body)))
}

// TestIngestForce: POST /v1/sources/{id}/ingest takes an optional body;
// {"force": true} queues a job of kind "ingest:force" the worker runs.
func TestIngestForce(t *testing.T) {
	s := newStack(t, embeddedClient(t))
	a := s.bootstrap("acme")
	tok := a.APIToken.Token
	bot := s.createBot(tok)
	src := s.ingested(tok, bot.ID, "Storage", storageText)
	path := "/v1/sources/" + src.ID + "/ingest"

	var job minirag.Job
	s.ok(http.StatusAccepted, "POST", path, tok, map[string]any{"force": true}, &job)
	assert.Equal(t, minirag.JobKindIngestForce, job.Kind)
	require.Eventually(t, func() bool {
		s.ok(http.StatusOK, "GET", "/v1/jobs/"+job.ID, tok, nil, &job)
		return job.Status == minirag.JobDone
	}, 20*time.Second, 20*time.Millisecond)

	// An empty JSON object or no body: a plain ingestion.
	s.ok(http.StatusAccepted, "POST", path, tok, "{}", &job)
	assert.Equal(t, minirag.JobKindIngest, job.Kind)

	status, body := s.do("POST", path, tok, `{"force":"yes"}`)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Equal(t, []string{"force"}, fieldNames(apiErr(t, body)))
	status, body = s.do("POST", path, tok, `{"forse":true}`)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Equal(t, []string{"forse"}, fieldNames(apiErr(t, body)))
}
