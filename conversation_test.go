package minirag

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore/local"
)

// isRewrite tells the follow-up rewrite call from an answer call.
func isRewrite(req openaitest.ChatRequest) bool {
	return len(req.Messages) > 0 && strings.HasPrefix(req.Messages[0].Content, "You rewrite the user's last question")
}

// lastUser is the content of the last user message of a request.
func lastUser(req openaitest.ChatRequest) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			return req.Messages[i].Content
		}
	}
	return ""
}

func TestConversationMultiTurnWithRewrite(t *testing.T) {
	var rewrites, answers atomic.Int32
	srv := openaitest.New(t, openaitest.Options{Reply: func(req openaitest.ChatRequest) string {
		if isRewrite(req) {
			rewrites.Add(1)
			// The fake model resolves "it" from the conversation it was
			// given, as a real one would.
			if strings.Contains(lastUser(req), "Where do firing alerts go?") {
				return "\"How does the Alertmanager route and silence notifications?\""
			}
			return "unrelated"
		}
		answers.Add(1)
		return "The Alertmanager handles them [1]."
	}})
	a := newAskEnv(t, nil, BotParams{Model: "gpt-test", BaseURL: srv.URL, RewriteFollowUps: true})
	ctx := a.ctx
	h := a.h.ForEndUser("visitor-42")
	c, err := h.CreateConversation(ctx, CreateConversationParams{BotID: a.bot.ID})
	require.NoError(t, err)
	assert.Equal(t, "visitor-42", c.EndUserID)

	first, err := h.Ask(ctx, AskRequest{ConversationID: c.ID, Question: "Where do firing alerts go?"})
	require.NoError(t, err)
	assert.Equal(t, c.ID, first.ConversationID)
	assert.NotEmpty(t, first.MessageID)
	assert.Empty(t, first.Query, "the first question is searched as it is")
	assert.EqualValues(t, 0, rewrites.Load(), "no rewrite without history")

	second, err := h.Ask(ctx, AskRequest{ConversationID: c.ID, Question: "and how does it route them?"})
	require.NoError(t, err)
	assert.EqualValues(t, 1, rewrites.Load(), "one rewrite call for the follow-up")
	assert.Equal(t, "How does the Alertmanager route and silence notifications?", second.Query)
	require.NotEmpty(t, second.Passages)
	assert.Equal(t, "Alerting", second.Passages[0].DocumentTitle, "the rewritten query retrieves the passage about the Alertmanager")

	// The answer call got the first turn as history.
	reqs := srv.Requests()
	require.Len(t, reqs, 3)
	body := string(reqs[2].Body)
	assert.Contains(t, body, "Where do firing alerts go?")
	assert.Contains(t, body, "The Alertmanager handles them [1].")

	got, err := h.GetConversation(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, got.Messages, 4)
	assert.Equal(t, "Where do firing alerts go?", got.Title, "the first question titles the conversation")
	q2, a2 := got.Messages[2], got.Messages[3]
	assert.Equal(t, MessageUser, q2.Role)
	assert.Equal(t, "and how does it route them?", q2.Content)
	assert.Equal(t, second.Query, q2.Query)
	assert.Equal(t, MessageAssistant, a2.Role)
	assert.Equal(t, MessageComplete, a2.Status)
	assert.Equal(t, second.MessageID, a2.ID)
	assert.Equal(t, "The Alertmanager handles them [1].", a2.Content)
	require.Len(t, a2.Citations, 1)
	assert.Equal(t, second.Citations[0].ChunkID, a2.Citations[0].ChunkID)
	assert.InDelta(t, second.Passages[0].Score, a2.Citations[0].Score, 1e-9, "the citation keeps its retrieval score")
	assert.NotEmpty(t, a2.Model)
	assert.Positive(t, a2.PromptTokens)
	assert.Positive(t, a2.CompletionTokens)
	assert.GreaterOrEqual(t, a2.LatencyMS, int64(0))

	// The usage ledger has the answers and the rewrite.
	rep, err := a.h.Usage(ctx, UsageRequest{GroupBy: []string{GroupByBot, GroupByKind}})
	require.NoError(t, err)
	kinds := map[UsageKind]UsageTotal{}
	for _, g := range rep.Groups {
		assert.Equal(t, a.bot.ID, g.BotID)
		kinds[g.Kind] = g
	}
	assert.EqualValues(t, 2, kinds[UsageChat].Requests)
	assert.EqualValues(t, 1, kinds[UsageRewrite].Requests)
	assert.Positive(t, kinds[UsageChat].InputTokens)
	assert.Equal(t, rep.Total.InputTokens+rep.Total.OutputTokens, rep.Total.TotalTokens)

	// History given with a conversation, or another bot, is bad input.
	_, err = h.Ask(ctx, AskRequest{ConversationID: c.ID, Question: "x", History: []Message{{Role: "user", Content: "y"}}})
	requireField(t, err, "history")
	_, err = h.Ask(ctx, AskRequest{ConversationID: c.ID, BotID: "other", Question: "x"})
	requireField(t, err, "bot_id")
}

func requireField(t *testing.T, err error, field string) {
	t.Helper()
	require.ErrorIs(t, err, ErrInvalidInput)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	for _, f := range ve.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("validation error %q does not name %s", err, field)
}

func TestConversationFollowUpWithoutModel(t *testing.T) {
	a := newAskEnv(t, nil, BotParams{ExtractiveFallback: true})
	ctx := a.ctx
	c, err := a.h.CreateConversation(ctx, CreateConversationParams{BotID: a.bot.ID, Title: "Storage"})
	require.NoError(t, err)
	_, err = a.h.Ask(ctx, AskRequest{ConversationID: c.ID, Question: "Where does Prometheus store samples?"})
	require.NoError(t, err)
	second, err := a.h.Ask(ctx, AskRequest{ConversationID: c.ID, Question: "And for how many days are they kept?"})
	require.NoError(t, err)
	assert.Equal(t, "Where does Prometheus store samples? And for how many days are they kept?", second.Query,
		"without a model the last user message's words are searched with the question")
	require.NotEmpty(t, second.Passages)
	assert.Equal(t, "Storage", second.Passages[0].DocumentTitle)
	assert.True(t, second.Extractive)
	got, err := a.h.GetConversation(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, got.Messages, 4)
	assert.True(t, got.Messages[3].Extractive)
	assert.Equal(t, "Storage", got.Title, "a title given is kept")
}

func TestConversationStreamsStored(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{StreamChunkDelay: 5 * time.Millisecond, Reply: func(openaitest.ChatRequest) string {
		return "Firing alerts are sent to the Alertmanager [1]."
	}})
	a := newAskEnv(t, nil, BotParams{Model: "gpt-test", BaseURL: srv.URL})
	ctx := a.ctx
	c, err := a.h.CreateConversation(ctx, CreateConversationParams{BotID: a.bot.ID})
	require.NoError(t, err)

	// A whole stream.
	ans, err := CollectAnswer(a.h.AskStream(ctx, AskRequest{ConversationID: c.ID, Question: "Where do firing alerts go?"}))
	require.NoError(t, err)
	assert.NotEmpty(t, ans.MessageID)

	// A reader that stops after two pieces.
	n := 0
	for d, err := range a.h.AskStream(ctx, AskRequest{ConversationID: c.ID, Question: "Say it again?"}) {
		require.NoError(t, err)
		if d.Content != "" {
			n++
		}
		if n == 2 {
			break
		}
	}
	// A stream the server cuts.
	srv.AbortStreamAfter(1)
	_, err = CollectAnswer(a.h.AskStream(ctx, AskRequest{ConversationID: c.ID, Question: "Once more?"}))
	require.ErrorIs(t, err, ErrModelCall)

	got, err := a.h.GetConversation(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, got.Messages, 6)
	assert.Equal(t, MessageComplete, got.Messages[1].Status)
	assert.Equal(t, ans.Text, got.Messages[1].Content)
	assert.Equal(t, MessageIncomplete, got.Messages[3].Status, "a stream its reader stopped is stored as incomplete")
	assert.NotEmpty(t, got.Messages[3].Content)
	assert.True(t, strings.HasPrefix(ans.Text, got.Messages[3].Content), "what was streamed is kept: %q", got.Messages[3].Content)
	assert.Contains(t, got.Messages[3].Error, "stopped")
	assert.Contains(t, []record.MessageStatus{MessageIncomplete, MessageFailed}, got.Messages[5].Status)
	assert.NotEmpty(t, got.Messages[5].Error)

	// The next question's history leaves the failed answer out but keeps
	// the incomplete one.
	before := len(srv.Requests())
	_, err = a.h.Ask(ctx, AskRequest{ConversationID: c.ID, Question: "Thanks?"})
	require.NoError(t, err)
	last := srv.Requests()[before:]
	require.Len(t, last, 1)
	assert.Contains(t, string(last[0].Body), "Say it again?")
}

func TestConversationSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	open := func() *Client {
		st, err := sqlite.Open(ctx, dir+"/minirag.db")
		require.NoError(t, err)
		vs, err := local.Open(dir+"/vectors", local.WithSync(false))
		require.NoError(t, err)
		emb, err := hashing.New(hashing.Config{Dimensions: 256})
		require.NoError(t, err)
		c, err := New(Config{Storage: st, VectorStore: vs, Embedder: emb})
		require.NoError(t, err)
		return c
	}
	c1 := open()
	boot, err := c1.CreateTenant(ctx, CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "o@acme.example"})
	require.NoError(t, err)
	h := c1.Tenant(boot.Tenant.ID)
	bot, err := h.CreateBot(ctx, BotParams{Name: "Docs", ExtractiveFallback: true})
	require.NoError(t, err)
	for _, d := range askDocs {
		src, err := h.CreateSource(ctx, SourceParams{BotID: bot.ID, Name: d.name, Type: SourceText, Config: loader.TextConfig{Content: d.text, Title: d.name}})
		require.NoError(t, err)
		_, err = h.Ingest(ctx, src.ID, IngestOptions{})
		require.NoError(t, err)
	}
	conv, err := h.ForEndUser("visitor").CreateConversation(ctx, CreateConversationParams{BotID: bot.ID})
	require.NoError(t, err)
	_, err = h.ForEndUser("visitor").Ask(ctx, AskRequest{ConversationID: conv.ID, Question: "Where does Prometheus store samples?"})
	require.NoError(t, err)
	require.NoError(t, c1.Close())

	c2 := open()
	defer c2.Close()
	h2 := c2.Tenant(boot.Tenant.ID).ForEndUser("visitor")
	ans, err := h2.Ask(ctx, AskRequest{ConversationID: conv.ID, Question: "And for how many days are they kept?"})
	require.NoError(t, err)
	require.NotEmpty(t, ans.Passages)
	assert.Equal(t, "Storage", ans.Passages[0].DocumentTitle, "the follow-up after a restart still retrieves with the stored history")
	page, err := h2.ListConversations(ctx, ListConversationsRequest{})
	require.NoError(t, err)
	require.Len(t, page.Conversations, 1)
	assert.Equal(t, 4, page.Conversations[0].MessageCount)
}

func TestConversationVisibilityAndPaging(t *testing.T) {
	a := newAskEnv(t, &fakeModel{reply: "ok [1]"}, BotParams{Model: "m", BaseURL: "http://127.0.0.1:9/v1"})
	ctx := a.ctx
	alice, bob := a.h.ForEndUser("alice"), a.h.ForEndUser("bob")
	var aliceIDs []string
	for range 5 {
		c, err := alice.CreateConversation(ctx, CreateConversationParams{BotID: a.bot.ID})
		require.NoError(t, err)
		aliceIDs = append(aliceIDs, c.ID)
		a.clock.Advance(time.Second)
	}
	bc, err := bob.CreateConversation(ctx, CreateConversationParams{BotID: a.bot.ID})
	require.NoError(t, err)

	// Bob sees nothing of Alice's.
	_, err = bob.GetConversation(ctx, aliceIDs[0])
	require.ErrorIs(t, err, ErrNotFound)
	_, err = bob.Ask(ctx, AskRequest{ConversationID: aliceIDs[0], Question: "Where do alerts go?"})
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, bob.DeleteConversation(ctx, aliceIDs[0]), ErrNotFound)
	_, err = bob.RenameConversation(ctx, aliceIDs[0], "mine")
	require.ErrorIs(t, err, ErrNotFound)

	// Pages, newest first.
	var seen []string
	cursor := ""
	for {
		page, err := alice.ListConversations(ctx, ListConversationsRequest{Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		for _, c := range page.Conversations {
			seen = append(seen, c.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	want := []string{aliceIDs[4], aliceIDs[3], aliceIDs[2], aliceIDs[1], aliceIDs[0]}
	assert.Equal(t, want, seen)
	_, err = alice.ListConversations(ctx, ListConversationsRequest{Cursor: "!!"})
	requireField(t, err, "cursor")

	// The admin handle lists every conversation of the tenant.
	all, err := a.h.ListConversations(ctx, ListConversationsRequest{Limit: 100})
	require.NoError(t, err)
	assert.Len(t, all.Conversations, 6)

	// A query token limited to another bot sees none of them.
	other, err := a.h.CreateBot(ctx, BotParams{Name: "Other"})
	require.NoError(t, err)
	tok, err := a.h.CreateAPIToken(ctx, CreateAPITokenParams{Name: "widget", Scopes: []Scope{ScopeQuery}, BotIDs: []string{other.ID}})
	require.NoError(t, err)
	w := a.scoped(t, tok.Plaintext).ForEndUser("bob")
	_, err = w.GetConversation(ctx, bc.ID)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = w.CreateConversation(ctx, CreateConversationParams{BotID: a.bot.ID})
	require.ErrorIs(t, err, ErrForbidden)
	page, err := w.ListConversations(ctx, ListConversationsRequest{})
	require.NoError(t, err)
	assert.Empty(t, page.Conversations)

	// Another tenant sees nothing.
	boot2 := a.bootstrap(t, "globex")
	_, err = a.c.Tenant(boot2.Tenant.ID).GetConversation(ctx, bc.ID)
	require.ErrorIs(t, err, ErrNotFound)

	// Rename and delete.
	r, err := bob.RenameConversation(ctx, bc.ID, "  Alerts  ")
	require.NoError(t, err)
	assert.Equal(t, "Alerts", r.Title)
	_, err = bob.RenameConversation(ctx, bc.ID, strings.Repeat("x", 201))
	requireField(t, err, "title")
	require.NoError(t, bob.DeleteConversation(ctx, bc.ID))
	_, err = bob.GetConversation(ctx, bc.ID)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = a.h.CreateConversation(ctx, CreateConversationParams{BotID: "nope"})
	requireField(t, err, "bot_id")
}

func TestFeedback(t *testing.T) {
	a := newAskEnv(t, &fakeModel{reply: "They go to the Alertmanager [1]."}, BotParams{Model: "m", BaseURL: "http://127.0.0.1:9/v1"})
	ctx := a.ctx
	v := a.h.ForEndUser("visitor")
	c, err := v.CreateConversation(ctx, CreateConversationParams{BotID: a.bot.ID})
	require.NoError(t, err)
	ans, err := v.Ask(ctx, AskRequest{ConversationID: c.ID, Question: "Where do firing alerts go?"})
	require.NoError(t, err)

	f, err := v.PutFeedback(ctx, FeedbackParams{ConversationID: c.ID, MessageID: ans.MessageID, Rating: 1})
	require.NoError(t, err)
	assert.Equal(t, a.bot.ID, f.BotID)
	f2, err := v.PutFeedback(ctx, FeedbackParams{ConversationID: c.ID, MessageID: ans.MessageID, Rating: -1, Comment: "cites the wrong page"})
	require.NoError(t, err)
	assert.Equal(t, f.ID, f2.ID, "rating again replaces the feedback")

	_, err = v.PutFeedback(ctx, FeedbackParams{ConversationID: c.ID, MessageID: ans.MessageID, Rating: 3})
	requireField(t, err, "rating")
	got, err := v.GetConversation(ctx, c.ID)
	require.NoError(t, err)
	_, err = v.PutFeedback(ctx, FeedbackParams{ConversationID: c.ID, MessageID: got.Messages[0].ID, Rating: 1})
	requireField(t, err, "message_id")
	_, err = a.h.ForEndUser("someone-else").PutFeedback(ctx, FeedbackParams{ConversationID: c.ID, MessageID: ans.MessageID, Rating: 1})
	require.ErrorIs(t, err, ErrNotFound)

	page, err := a.h.ListFeedback(ctx, FeedbackRequest{BotID: a.bot.ID, Rating: -1})
	require.NoError(t, err)
	require.Len(t, page.Feedback, 1)
	item := page.Feedback[0]
	assert.Equal(t, "cites the wrong page", item.Comment)
	assert.Equal(t, "Where do firing alerts go?", item.Question)
	assert.Equal(t, ans.Text, item.Answer.Content)
	assert.NotEmpty(t, item.Answer.Citations)

	// Only admins list feedback.
	tok, err := a.h.CreateAPIToken(ctx, CreateAPITokenParams{Name: "widget", Scopes: []Scope{ScopeQuery}})
	require.NoError(t, err)
	_, err = a.scoped(t, tok.Plaintext).ListFeedback(ctx, FeedbackRequest{})
	require.ErrorIs(t, err, ErrForbidden)
}

func TestQuotas(t *testing.T) {
	var quota atomic.Pointer[Quota]
	quota.Store(&Quota{})
	srv := openaitest.New(t, openaitest.Options{})
	a := newAskEnvWith(t, BotParams{Model: "gpt-test", BaseURL: srv.URL}, func(c *Config) {
		c.Quotas = func(ctx context.Context, tenantID string) (Quota, error) { return *quota.Load(), nil }
	})
	ctx := a.ctx
	tok, err := a.h.CreateAPIToken(ctx, CreateAPITokenParams{Name: "widget", Scopes: []Scope{ScopeQuery}})
	require.NoError(t, err)
	w := a.scoped(t, tok.Plaintext)

	// Requests per minute, for query tokens.
	quota.Store(&Quota{RequestsPerMinute: 2})
	for range 2 {
		_, err := w.Search(ctx, SearchRequest{BotID: a.bot.ID, Query: "alerts"})
		require.NoError(t, err)
	}
	_, err = w.Search(ctx, SearchRequest{BotID: a.bot.ID, Query: "alerts"})
	require.ErrorIs(t, err, ErrQuotaExceeded)
	assert.Equal(t, http.StatusTooManyRequests, HTTPStatus(err))
	wait, ok := RetryAfter(err)
	require.True(t, ok)
	assert.Greater(t, wait, time.Duration(0))
	assert.LessOrEqual(t, wait, time.Minute)
	var qe *QuotaError
	require.True(t, errors.As(err, &qe))
	assert.Equal(t, "requests_per_minute", qe.Limit)
	_, err = a.h.Search(ctx, SearchRequest{BotID: a.bot.ID, Query: "alerts"})
	require.NoError(t, err, "admins are not rate limited")
	a.clock.Advance(time.Minute)
	_, err = w.Search(ctx, SearchRequest{BotID: a.bot.ID, Query: "alerts"})
	require.NoError(t, err, "the next minute has room again")

	// Tokens per day: the model is not called once the day's tokens are
	// used up.
	quota.Store(&Quota{TokensPerDay: 1})
	_, err = a.h.Ask(ctx, AskRequest{BotID: a.bot.ID, Question: "Where do firing alerts go?"})
	require.NoError(t, err, "under the limit")
	calls := srv.RequestCount()
	_, err = a.h.Ask(ctx, AskRequest{BotID: a.bot.ID, Question: "Where do firing alerts go?"})
	require.ErrorIs(t, err, ErrQuotaExceeded)
	assert.Equal(t, calls, srv.RequestCount(), "no model call over the quota")
	_, err = CollectAnswer(a.h.AskStream(ctx, AskRequest{BotID: a.bot.ID, Question: "Where do firing alerts go?"}))
	require.ErrorIs(t, err, ErrQuotaExceeded)
	assert.Equal(t, calls, srv.RequestCount())
	wait, ok = RetryAfter(err)
	require.True(t, ok)
	assert.LessOrEqual(t, wait, 24*time.Hour)
	quota.Store(&Quota{TokensPerMonth: 1})
	_, err = a.h.Ask(ctx, AskRequest{BotID: a.bot.ID, Question: "Where do firing alerts go?"})
	require.ErrorIs(t, err, ErrQuotaExceeded)

	// Content.
	quota.Store(&Quota{MaxDocuments: 3})
	src, err := a.h.CreateSource(ctx, SourceParams{BotID: a.bot.ID, Name: "more", Type: SourceText, Config: loader.TextConfig{Content: "more text"}})
	require.NoError(t, err)
	_, err = a.h.Ingest(ctx, src.ID, IngestOptions{})
	require.ErrorIs(t, err, ErrQuotaExceeded)
	_, ok = RetryAfter(err)
	assert.False(t, ok, "only deleting content frees a content quota")
	quota.Store(&Quota{MaxDocuments: 4})
	_, err = a.h.Ingest(ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
}

// newAskEnvWith is newAskEnv with a Config change and no fake model.
func newAskEnvWith(t *testing.T, p BotParams, mod func(*Config)) *askEnv {
	t.Helper()
	e := newEnv(t, func(c *Config) {
		vs, err := local.Open(t.TempDir(), local.WithSync(false))
		require.NoError(t, err)
		emb, err := hashing.New(hashing.Config{Dimensions: 256})
		require.NoError(t, err)
		c.VectorStore, c.Embedder = vs, emb
		mod(c)
	})
	a := &askEnv{env: e}
	a.boot = e.bootstrap(t, "acme")
	a.h = e.c.Tenant(a.boot.Tenant.ID)
	p.Name = "Docs bot"
	var err error
	a.bot, err = a.h.CreateBot(e.ctx, p)
	require.NoError(t, err)
	for _, d := range askDocs {
		src, err := a.h.CreateSource(e.ctx, SourceParams{BotID: a.bot.ID, Name: d.name, Type: SourceText, Config: loader.TextConfig{Content: d.text, Title: d.name}})
		require.NoError(t, err)
		_, err = a.h.Ingest(e.ctx, src.ID, IngestOptions{})
		require.NoError(t, err)
	}
	return a
}

// semantic hides the hashing embedder's Lexical method, so that it is
// metered as a model embedder would be.
type semantic struct{ e *hashing.Embedder }

func (s semantic) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return s.e.Embed(ctx, texts)
}
func (s semantic) Dimensions() int { return s.e.Dimensions() }
func (s semantic) Model() string   { return "semantic-test" }

func TestUsageMetersEmbeddings(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		vs, err := local.Open(t.TempDir(), local.WithSync(false))
		require.NoError(t, err)
		emb, err := hashing.New(hashing.Config{Dimensions: 64})
		require.NoError(t, err)
		c.VectorStore, c.Embedder = vs, semantic{emb}
	})
	boot := e.bootstrap(t, "acme")
	h := e.c.Tenant(boot.Tenant.ID)
	bot, err := h.CreateBot(e.ctx, BotParams{Name: "b", ExtractiveFallback: true})
	require.NoError(t, err)
	src, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "s", Type: SourceText, Config: loader.TextConfig{Content: askDocs[1].text}})
	require.NoError(t, err)
	_, err = h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)
	rep, err := h.Usage(e.ctx, UsageRequest{GroupBy: []string{GroupByKind, GroupByModel, GroupByBot}})
	require.NoError(t, err)
	require.Len(t, rep.Groups, 1)
	g := rep.Groups[0]
	assert.Equal(t, UsageEmbed, g.Kind)
	assert.Equal(t, "semantic-test", g.Model)
	assert.Equal(t, bot.ID, g.BotID)
	assert.EqualValues(t, 1, g.Requests)
	ingested := g.InputTokens
	assert.Positive(t, ingested)

	_, err = h.Search(e.ctx, SearchRequest{BotID: bot.ID, Query: "retention days", Mode: SearchDense})
	require.NoError(t, err)
	rep, err = h.Usage(e.ctx, UsageRequest{GroupBy: []string{GroupByKind}})
	require.NoError(t, err)
	require.Len(t, rep.Groups, 1)
	assert.EqualValues(t, 2, rep.Groups[0].Requests, "the query's embedding is metered too")
	assert.Greater(t, rep.Groups[0].InputTokens, ingested, "the query's tokens are added")

	// Only admins read usage; bad periods and groups are bad input.
	_, err = h.Usage(e.ctx, UsageRequest{GroupBy: []string{"tenant"}})
	requireField(t, err, "group_by[0]")
	_, err = h.Usage(e.ctx, UsageRequest{From: e.clock.Now(), To: e.clock.Now().AddDate(0, 0, -1)})
	requireField(t, err, "to")
	tok, err := h.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "q", Scopes: []Scope{ScopeQuery}})
	require.NoError(t, err)
	_, err = e.scoped(t, tok.Plaintext).Usage(e.ctx, UsageRequest{})
	require.ErrorIs(t, err, ErrForbidden)
}
