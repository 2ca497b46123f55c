package restapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore/local"
)

// quotaClient is embeddedClient with limits read from q.
func quotaClient(t *testing.T, q *atomic.Pointer[minirag.Quota]) *minirag.Client {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, sqlite.MemoryPath)
	require.NoError(t, err)
	vs, err := local.Open(t.TempDir(), local.WithSync(false))
	require.NoError(t, err)
	emb, err := hashing.New(hashing.Config{Dimensions: 256})
	require.NoError(t, err)
	key, err := minirag.GenerateEncryptionKey()
	require.NoError(t, err)
	c, err := minirag.New(minirag.Config{Storage: st, VectorStore: vs, Embedder: emb, EncryptionKeys: []string{key},
		Quotas: func(ctx context.Context, tenantID string) (minirag.Quota, error) { return *q.Load(), nil }})
	require.NoError(t, err)
	return c
}

func TestConversationsEndToEnd(t *testing.T) {
	var quota atomic.Pointer[minirag.Quota]
	quota.Store(&minirag.Quota{})
	s := newStack(t, quotaClient(t, &quota))
	b := s.bootstrap("acme")
	admin := b.APIToken.Token
	bot := s.createBot(admin)
	s.ingested(admin, bot.ID, "Storage", storageText)
	s.ingested(admin, bot.ID, "Alerting", alertingText)

	// A widget token, used by every visitor; each visitor is named by the
	// host in X-End-User-Id.
	var tok struct {
		Token string `json:"token"`
	}
	s.ok(http.StatusCreated, "POST", "/v1/api-tokens", admin, map[string]any{"name": "widget", "scopes": []string{"query"}, "bot_ids": []string{bot.ID}}, &tok)
	widget := tok.Token
	visitor := func(method, path string, body any, id string) (int, []byte) {
		return s.do(method, path, widget, body, "X-End-User-Id", id)
	}

	status, raw := visitor("POST", "/v1/conversations", map[string]any{"bot_profile_id": bot.ID}, "visitor-1")
	require.Equal(t, http.StatusCreated, status, string(raw))
	var conv minirag.Conversation
	require.NoError(t, json.Unmarshal(raw, &conv))
	assert.Equal(t, "visitor-1", conv.EndUserID)
	status, raw = visitor("POST", "/v1/conversations", map[string]any{"bot_profile_id": "nope"}, "visitor-1")
	require.Equal(t, http.StatusForbidden, status, string(raw), "the widget token is limited to its bot")

	// First question, JSON.
	status, raw = visitor("POST", "/v1/conversations/"+conv.ID+"/messages", map[string]any{"question": "How long are samples kept?"}, "visitor-1")
	require.Equal(t, http.StatusOK, status, string(raw))
	var first minirag.Answer
	require.NoError(t, json.Unmarshal(raw, &first))
	assert.Equal(t, conv.ID, first.ConversationID)
	require.NotEmpty(t, first.MessageID)

	// Follow-up, streamed.
	events := s.sse(t, "/v1/conversations/"+conv.ID+"/messages", widget, map[string]any{"question": "and where do alerts go?", "stream": true}, "X-End-User-Id", "visitor-1")
	require.NotEmpty(t, events)
	done := events[len(events)-1]
	require.Equal(t, "done", done.name)
	var second minirag.Answer
	require.NoError(t, json.Unmarshal([]byte(done.data), &second))
	assert.Equal(t, conv.ID, second.ConversationID)
	assert.Equal(t, "How long are samples kept? and where do alerts go?", second.Query)
	reqs := s.llm.Requests()
	assert.Contains(t, string(reqs[len(reqs)-1].Body), "How long are samples kept?", "the first turn is in the model's history")

	// The chat route continues it too.
	var third minirag.Answer
	s.ok(http.StatusOK, "POST", "/v1/bot-profiles/"+bot.ID+"/chat", admin, map[string]any{"question": "Thanks, and retention?", "conversation_id": conv.ID}, &third)
	assert.Equal(t, conv.ID, third.ConversationID)

	// Read it back; other visitors see nothing.
	status, raw = visitor("GET", "/v1/conversations/"+conv.ID, nil, "visitor-1")
	require.Equal(t, http.StatusOK, status, string(raw))
	var full minirag.ConversationWithMessages
	require.NoError(t, json.Unmarshal(raw, &full))
	require.Len(t, full.Messages, 6)
	assert.Equal(t, "How long are samples kept?", full.Title)
	assert.Equal(t, minirag.MessageComplete, full.Messages[3].Status)
	assert.NotEmpty(t, full.Messages[1].Citations)
	status, _ = visitor("GET", "/v1/conversations/"+conv.ID, nil, "visitor-2")
	assert.Equal(t, http.StatusNotFound, status)
	var page struct {
		Data       []minirag.Conversation
		NextCursor string `json:"next_cursor"`
	}
	status, raw = visitor("GET", "/v1/conversations", nil, "visitor-2")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(raw, &page))
	assert.Empty(t, page.Data)
	status, raw = visitor("GET", "/v1/conversations?limit=1", nil, "visitor-1")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(raw, &page))
	assert.Len(t, page.Data, 1)
	status, raw = visitor("GET", "/v1/conversations?limit=x", nil, "visitor-1")
	assert.Equal(t, http.StatusUnprocessableEntity, status, string(raw))

	// Feedback, read by admins.
	status, raw = visitor("PUT", "/v1/conversations/"+conv.ID+"/messages/"+second.MessageID+"/feedback", map[string]any{"rating": -1, "comment": "no link to the docs"}, "visitor-1")
	require.Equal(t, http.StatusOK, status, string(raw))
	status, _ = visitor("PUT", "/v1/conversations/"+conv.ID+"/messages/"+second.MessageID+"/feedback", map[string]any{"rating": 1}, "visitor-2")
	assert.Equal(t, http.StatusNotFound, status)
	var fb struct{ Data []minirag.FeedbackItem }
	s.ok(http.StatusOK, "GET", "/v1/feedback?bot_profile_id="+bot.ID+"&rating=-1", admin, nil, &fb)
	require.Len(t, fb.Data, 1)
	assert.Equal(t, "no link to the docs", fb.Data[0].Comment)
	assert.Equal(t, "and where do alerts go?", fb.Data[0].Question)
	status, _ = visitor("GET", "/v1/feedback", nil, "visitor-1")
	assert.Equal(t, http.StatusForbidden, status)

	// Usage, per bot and model.
	var rep minirag.UsageReport
	s.ok(http.StatusOK, "GET", "/v1/usage?group_by=bot,model,kind", admin, nil, &rep)
	require.Len(t, rep.Groups, 1)
	assert.Equal(t, bot.ID, rep.Groups[0].BotID)
	assert.Equal(t, minirag.UsageChat, rep.Groups[0].Kind)
	assert.EqualValues(t, 3, rep.Groups[0].Requests)
	assert.Positive(t, rep.Total.TotalTokens)
	status, raw = s.do("GET", "/v1/usage?from=yesterday", admin, nil)
	assert.Equal(t, http.StatusUnprocessableEntity, status, string(raw))

	// Over quota: 429 with Retry-After, and no model call.
	quota.Store(&minirag.Quota{TokensPerDay: 1})
	calls := s.llm.RequestCount()
	req, err := http.NewRequest("POST", s.srv.URL+"/v1/conversations/"+conv.ID+"/messages", jsonBody(t, map[string]any{"question": "more?"}))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+widget)
	req.Header.Set("X-End-User-Id", "visitor-1")
	resp, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After: %q", resp.Header.Get("Retry-After"))
	assert.Positive(t, secs)
	assert.Equal(t, calls, s.llm.RequestCount(), "no model call over the quota")
	quota.Store(&minirag.Quota{RequestsPerMinute: 1})
	status, _ = s.do("POST", "/v1/bot-profiles/"+bot.ID+"/search", widget, map[string]any{"query": "alerts"})
	assert.Equal(t, http.StatusOK, status)
	status, raw = s.do("POST", "/v1/bot-profiles/"+bot.ID+"/search", widget, map[string]any{"query": "alerts"})
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, "quota_exceeded", apiErr(t, raw).Error.Code)
	quota.Store(&minirag.Quota{})

	// Rename, delete.
	status, raw = visitor("PATCH", "/v1/conversations/"+conv.ID, map[string]any{"title": "Retention"}, "visitor-1")
	require.Equal(t, http.StatusOK, status, string(raw))
	status, _ = visitor("DELETE", "/v1/conversations/"+conv.ID, nil, "visitor-1")
	assert.Equal(t, http.StatusNoContent, status)
	status, _ = visitor("GET", "/v1/conversations/"+conv.ID, nil, "visitor-1")
	assert.Equal(t, http.StatusNotFound, status)

	for _, text := range s.texts {
		assert.NotContains(t, text, providerKey)
	}
}

func jsonBody(t *testing.T, v any) *strings.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return strings.NewReader(string(b))
}

func TestQuotaFromEnv(t *testing.T) {
	env := map[string]string{"MINIRAG_QUOTA_REQUESTS_PER_MINUTE": "30", "MINIRAG_QUOTA_TOKENS_PER_DAY": "100000"}
	q, err := quotaFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, minirag.Quota{RequestsPerMinute: 30, TokensPerDay: 100000}, q)
	env["MINIRAG_QUOTA_MAX_CHUNKS"] = "-1"
	_, err = quotaFromEnv(func(k string) string { return env[k] })
	require.ErrorContains(t, err, "MINIRAG_QUOTA_MAX_CHUNKS")
}
