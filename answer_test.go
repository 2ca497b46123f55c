package minirag

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/chunk"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/llm"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore/local"
)

// askDocs are the texts of the test sources, one document each.
var askDocs = []struct{ name, text string }{
	{"Scraping", "Prometheus scrapes its targets over HTTP. The default scrape interval is one minute; most setups set it to 15 seconds in the global configuration."},
	{"Storage", "Prometheus stores samples in a local time series database on disk. Blocks of two hours are compacted into larger blocks. Retention defaults to 15 days."},
	{"Alerting", "Alerting rules are evaluated by Prometheus and firing alerts are sent to the Alertmanager. The Alertmanager groups, silences and routes notifications to receivers such as email."},
}

// fakeModel is an llm.Model that records its requests and answers with
// reply.
type fakeModel struct {
	mu    sync.Mutex
	reqs  []llm.Request
	reply string
	calls int
}

func (m *fakeModel) Chat(ctx context.Context, req llm.Request) (llm.Response, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reqs = append(m.reqs, req)
	m.calls++
	return llm.Response{Content: m.reply, FinishReason: llm.FinishStop, Usage: llm.Usage{PromptTokens: 100, CompletionTokens: 10, TotalTokens: 110}, Model: "fake-1"}, nil
}

func (m *fakeModel) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) {
		r, err := m.Chat(ctx, req)
		if err != nil {
			yield(llm.Delta{}, err)
			return
		}
		for _, w := range strings.SplitAfter(r.Content, " ") {
			if !yield(llm.Delta{Content: w}, nil) {
				return
			}
		}
		yield(llm.Delta{Done: true, FinishReason: r.FinishReason, Usage: r.Usage, Model: r.Model}, nil)
	}
}

func (m *fakeModel) requests() []llm.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]llm.Request(nil), m.reqs...)
}

// askEnv is an env with the embedded index and a tenant holding a bot
// with three ingested text sources.
type askEnv struct {
	*env
	h    *TenantHandle
	boot TenantBootstrap
	bot  Bot
}

// newAskEnv ingests askDocs for a bot made from p. A nil model leaves
// Config.ChatModel nil (llm/openai).
func newAskEnv(t *testing.T, model llm.Model, p BotParams) *askEnv {
	return newAskEnvTB(t, model, p)
}

func newAskEnvTB(t testing.TB, model llm.Model, p BotParams) *askEnv {
	t.Helper()
	e := newEnv(t, func(c *Config) {
		vs, err := local.Open(t.TempDir(), local.WithSync(false))
		require.NoError(t, err)
		emb, err := hashing.New(hashing.Config{Dimensions: 256})
		require.NoError(t, err)
		c.VectorStore, c.Embedder = vs, emb
		if model != nil {
			c.ChatModel = func(ctx context.Context, b Bot, cred Credentials) (llm.Model, error) { return model, nil }
		}
	})
	a := &askEnv{env: e}
	a.boot = e.bootstrap(t, "acme")
	a.h = e.c.Tenant(a.boot.Tenant.ID)
	if p.Name == "" {
		p.Name = "Docs bot"
	}
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

func TestAskCitesWhatTheAnswerUses(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{APIKey: "sk-ask-secret", Reply: func(req openaitest.ChatRequest) string {
		return "Retention is 15 days [2], blocks are compacted [2][1, 2] and [9] is not a passage."
	}})
	a := newAskEnv(t, nil, BotParams{
		SystemPrompt: "You are the Prometheus docs assistant.",
		Model:        "gpt-test", Temperature: 0.2, MaxTokens: 300, BaseURL: srv.URL,
		Credentials: &Credentials{APIKey: "sk-ask-secret", Headers: map[string]string{"X-Org": "org-secret-header"}},
	})
	ans, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "How long is the retention of samples on disk?"})
	require.NoError(t, err)

	assert.Equal(t, "Retention is 15 days [2], blocks are compacted [2][1, 2] and [9] is not a passage.", ans.Text)
	assert.False(t, ans.Extractive)
	assert.Equal(t, "gpt-test", ans.Model)
	assert.Equal(t, llm.FinishStop, ans.FinishReason)
	assert.Positive(t, ans.Usage.TotalTokens)
	require.Len(t, ans.Passages, 3)
	for i, p := range ans.Passages {
		assert.Equal(t, i+1, p.Marker)
		assert.NotEmpty(t, p.ChunkID)
	}
	assert.Equal(t, "Storage", ans.Passages[0].DocumentTitle, "the storage document answers the question")
	require.Len(t, ans.Citations, 2, "[2] and [1] once each, [9] ignored")
	assert.Equal(t, 2, ans.Citations[0].Marker)
	assert.Equal(t, 1, ans.Citations[1].Marker)
	c := ans.Citations[1]
	p := ans.Passages[0]
	assert.Equal(t, Citation{Marker: 1, ChunkID: p.ChunkID, DocumentID: p.DocumentID, DocumentTitle: "Storage", URI: p.URI, SourceID: p.SourceID, Snippet: snippet(p.Text)}, c)

	// What the model was sent.
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "Bearer sk-ask-secret", reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "org-secret-header", reqs[0].Header.Get("X-Org"))
	assert.Empty(t, srv.SecretLeaks("sk-ask-secret"))
	body := string(reqs[0].Body)
	assert.Contains(t, body, `"model":"gpt-test"`)
	assert.Contains(t, body, `"max_tokens":300`)
	assert.Contains(t, body, `"temperature":0.2`)
	assert.Contains(t, body, "You are the Prometheus docs assistant.")
	assert.Contains(t, body, "Cite every statement")
	assert.NotContains(t, a.logs.String(), "sk-ask-secret")
	assert.NotContains(t, a.logs.String(), "org-secret-header")
}

func TestAskPromptShape(t *testing.T) {
	m := &fakeModel{reply: "Every 15 seconds [1]."}
	a := newAskEnv(t, m, BotParams{SystemPrompt: "Be brief.", Model: "m", Credentials: &Credentials{APIKey: "k"}})
	hist := []Message{
		{Role: llm.RoleUser, Content: "Hi"},
		{Role: llm.RoleAssistant, Content: "Hello! Ask me about Prometheus."},
	}
	ans, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "What is the scrape interval?", History: hist, TopK: 2})
	require.NoError(t, err)
	require.Len(t, ans.Passages, 2)
	assert.Equal(t, "Scraping", ans.Passages[0].DocumentTitle)
	assert.Equal(t, []Citation{{Marker: 1, ChunkID: ans.Passages[0].ChunkID, DocumentID: ans.Passages[0].DocumentID, DocumentTitle: "Scraping", SourceID: ans.Passages[0].SourceID, Snippet: askDocs[0].text}}, ans.Citations)
	assert.Equal(t, "fake-1", ans.Model)

	reqs := m.requests()
	require.Len(t, reqs, 1)
	msgs := reqs[0].Messages
	require.Len(t, msgs, 4)
	assert.Equal(t, llm.RoleSystem, msgs[0].Role)
	assert.True(t, strings.HasPrefix(msgs[0].Content, "Be brief.\n\n"), msgs[0].Content)
	assert.Contains(t, msgs[0].Content, "only the numbered passages")
	assert.Equal(t, hist, msgs[1:3])
	assert.Equal(t, llm.RoleUser, msgs[3].Role)
	assert.True(t, strings.HasPrefix(msgs[3].Content, "Passages:\n\n[1] Scraping\n"+askDocs[0].text+"\n\n[2] "), msgs[3].Content)
	assert.True(t, strings.HasSuffix(msgs[3].Content, "\n\nQuestion: What is the scrape interval?"))
	assert.Equal(t, "m", reqs[0].Model)
}

func TestAskStream(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Reply: func(openaitest.ChatRequest) string {
		return "Alerts go to the Alertmanager [1] which routes them [1]."
	}})
	a := newAskEnv(t, nil, BotParams{Model: "gpt-test", BaseURL: srv.URL})
	var deltas []string
	var final *Answer
	for d, err := range a.h.AskStream(a.ctx, AskRequest{BotID: a.bot.ID, Question: "Where do firing alerts go?"}) {
		require.NoError(t, err)
		require.Nil(t, final, "nothing after the final element")
		if d.Done {
			final = d.Answer
			continue
		}
		assert.NotEmpty(t, d.Content)
		deltas = append(deltas, d.Content)
	}
	require.NotNil(t, final)
	assert.Greater(t, len(deltas), 3, "streamed word by word")
	assert.Equal(t, strings.Join(deltas, ""), final.Text)
	assert.Equal(t, "Alerts go to the Alertmanager [1] which routes them [1].", final.Text)
	require.Len(t, final.Citations, 1)
	assert.Equal(t, "Alerting", final.Citations[0].DocumentTitle)
	assert.Positive(t, final.Usage.TotalTokens)
	assert.Contains(t, string(srv.Requests()[0].Body), `"stream":true`)

	// CollectAnswer gives the same answer.
	ans, err := CollectAnswer(a.h.AskStream(a.ctx, AskRequest{BotID: a.bot.ID, Question: "Where do firing alerts go?"}))
	require.NoError(t, err)
	assert.Equal(t, final.Text, ans.Text)
	assert.Equal(t, final.Citations, ans.Citations)
}

func TestAskStreamErrors(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Reply: func(openaitest.ChatRequest) string {
		return "one two three four five six seven"
	}})
	a := newAskEnv(t, nil, BotParams{Model: "gpt-test", BaseURL: srv.URL})
	req := AskRequest{BotID: a.bot.ID, Question: "What does the Alertmanager do?"}

	// The connection drops after two chunks: the deltas, then an error.
	srv.AbortStreamAfter(2)
	var got []string
	var streamErr error
	for d, err := range a.h.AskStream(a.ctx, req) {
		if err != nil {
			streamErr = err
			break
		}
		require.False(t, d.Done)
		got = append(got, d.Content)
	}
	require.ErrorIs(t, streamErr, ErrModelCall)
	assert.NotEmpty(t, got)
	assert.Contains(t, streamErr.Error(), a.bot.ID)

	// Breaking out early is fine and stops the stream.
	n := 0
	for _, err := range a.h.AskStream(a.ctx, req) {
		require.NoError(t, err)
		n++
		break
	}
	assert.Equal(t, 1, n)

	// An error before the model call is the only element.
	var errs []error
	for _, err := range a.h.AskStream(a.ctx, AskRequest{BotID: a.bot.ID}) {
		errs = append(errs, err)
	}
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], ErrInvalidInput)
}

func TestAskBotWithoutModel(t *testing.T) {
	m := &fakeModel{reply: "never"}
	a := newAskEnv(t, m, BotParams{Name: "No model"})

	_, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "What is the retention?"})
	require.ErrorIs(t, err, ErrBotNotConfigured)
	require.ErrorIs(t, err, ErrInvalidInput)
	assert.Contains(t, err.Error(), a.bot.ID)
	assert.Contains(t, err.Error(), "no model")

	// A model but neither credentials nor a base URL.
	_, err = a.h.UpdateBot(a.ctx, a.bot.ID, BotUpdate{Model: ptr("gpt-test")})
	require.NoError(t, err)
	_, err = a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "What is the retention?"})
	require.ErrorIs(t, err, ErrBotNotConfigured)
	assert.Contains(t, err.Error(), "no credentials")

	// With the extractive fallback: an answer from the passages.
	_, err = a.h.UpdateBot(a.ctx, a.bot.ID, BotUpdate{ExtractiveFallback: ptr(true)})
	require.NoError(t, err)
	ans, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "How many days is the retention of the storage?"})
	require.NoError(t, err)
	assert.True(t, ans.Extractive)
	assert.Zero(t, m.calls, "no model call")
	assert.Empty(t, ans.Model)
	assert.Zero(t, ans.Usage)
	assert.True(t, strings.HasPrefix(ans.Text, "Retention defaults to 15 days. [1]"), ans.Text)
	require.NotEmpty(t, ans.Citations)
	assert.Equal(t, 1, ans.Citations[0].Marker)
	assert.Equal(t, "Storage", ans.Citations[0].DocumentTitle)
	for _, c := range ans.Citations {
		assert.Contains(t, ans.Text, "["+string(rune('0'+c.Marker))+"]")
	}

	// Streamed: one delta, then the answer.
	var ds []AskDelta
	for d, err := range a.h.AskStream(a.ctx, AskRequest{BotID: a.bot.ID, Question: "How many days is the retention of the storage?"}) {
		require.NoError(t, err)
		ds = append(ds, d)
	}
	require.Len(t, ds, 2)
	assert.Equal(t, ans.Text, ds[0].Content)
	assert.True(t, ds[1].Done)
	assert.Equal(t, ans, *ds[1].Answer)
}

func TestAskQueryOverridesSearch(t *testing.T) {
	m := &fakeModel{reply: "It is 15 days [1]."}
	a := newAskEnv(t, m, BotParams{Model: "m", Credentials: &Credentials{APIKey: "k"}})
	ans, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "And how long is it kept?", Query: "retention of samples stored on disk", TopK: 1})
	require.NoError(t, err)
	require.Len(t, ans.Passages, 1)
	assert.Equal(t, "Storage", ans.Passages[0].DocumentTitle)
	msgs := m.requests()[0].Messages
	assert.True(t, strings.HasSuffix(msgs[len(msgs)-1].Content, "Question: And how long is it kept?"))
}

// TestAskFusion: AskRequest.Fusion reaches the search, so the passages
// come in the order Search gives with the same fusion.
func TestAskFusion(t *testing.T) {
	a := newAskEnv(t, &fakeModel{reply: "x"}, BotParams{Model: "m", Credentials: &Credentials{APIKey: "k"}})
	// "targets" matches the scraping paragraph only, "storage" the title of
	// another ("its" did, before stop words left English queries): fusions
	// that weigh the lexical ranking differently order them differently.
	const q = "How long does Prometheus keep targets storage data?"
	orders := map[Fusion][]string{}
	for _, f := range []Fusion{"", FusionScores, FusionRRF} {
		res, err := a.h.Search(a.ctx, SearchRequest{BotID: a.bot.ID, Query: q, TopK: 3, Fusion: f})
		require.NoError(t, err)
		ans, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: q, TopK: 3, Fusion: f})
		require.NoError(t, err)
		require.Len(t, ans.Passages, len(res))
		var got, want []string
		for i := range res {
			want = append(want, res[i].ChunkID)
			got = append(got, ans.Passages[i].ChunkID)
		}
		assert.Equal(t, want, got, "fusion %q", f)
		orders[f] = got
	}
	assert.Equal(t, orders[FusionScores], orders[""], "the hashing embedder's default is FusionScores")
	assert.NotEqual(t, orders[FusionScores], orders[FusionRRF], "the question tells the fusions apart")
}

func TestAskExtractiveOnRequest(t *testing.T) {
	m := &fakeModel{reply: "never"}
	a := newAskEnv(t, m, BotParams{Model: "m", Credentials: &Credentials{APIKey: "k"}})
	ans, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "Which receivers can the Alertmanager route notifications to?", Extractive: true})
	require.NoError(t, err)
	assert.True(t, ans.Extractive)
	assert.Zero(t, m.calls)
	assert.Contains(t, ans.Text, "The Alertmanager groups, silences and routes notifications to receivers such as email. [1]")
}

func TestAskNoPassages(t *testing.T) {
	m := &fakeModel{reply: "never"}
	a := newAskEnv(t, m, BotParams{Model: "m", Credentials: &Credentials{APIKey: "k"}})
	empty, err := a.h.CreateBot(a.ctx, BotParams{Name: "Empty", Model: "m", Credentials: &Credentials{APIKey: "k"}})
	require.NoError(t, err)
	ans, err := a.h.Ask(a.ctx, AskRequest{BotID: empty.ID, Question: "What is the retention?"})
	require.NoError(t, err)
	assert.Equal(t, NoPassagesAnswer, ans.Text)
	assert.Empty(t, ans.Passages)
	assert.Empty(t, ans.Citations)
	assert.Zero(t, m.calls, "the model is not called without passages")
}

// TestAskExtractiveOffTopic: an extractive answer to a question none of
// whose words any passage holds is NoPassagesAnswer with no citation (it
// used to be the first sentence of the nearest passage, cited), on the
// bot's fallback, on request and streamed; a passage whose title alone
// holds a question word still answers with its first sentence.
func TestAskExtractiveOffTopic(t *testing.T) {
	m := &fakeModel{reply: "never"}
	a := newAskEnv(t, m, BotParams{Name: "Fallback", ExtractiveFallback: true})
	for _, req := range []AskRequest{
		{BotID: a.bot.ID, Question: "xyzzyplugh qwertzuiop"},
		{BotID: a.bot.ID, Question: "What is it?"}, // stop words only
		{BotID: a.bot.ID, Question: "xyzzyplugh qwertzuiop", Extractive: true, Mode: SearchDense},
	} {
		ans, err := a.h.Ask(a.ctx, req)
		require.NoError(t, err)
		assert.True(t, ans.Extractive)
		assert.Equal(t, NoPassagesAnswer, ans.Text, "question %q", req.Question)
		assert.Empty(t, ans.Citations)
		assert.Empty(t, ans.Passages)
		var ds []AskDelta
		for d, err := range a.h.AskStream(a.ctx, req) {
			require.NoError(t, err)
			ds = append(ds, d)
		}
		require.Len(t, ds, 2)
		assert.Equal(t, NoPassagesAnswer, ds[0].Content)
		assert.Empty(t, ds[1].Answer.Citations)
	}
	assert.Zero(t, m.calls)

	// "storage" is only the title of the second document (its text says
	// "stores"): its first sentence answers, cited.
	ans, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "storage xyzzyplugh", TopK: 3})
	require.NoError(t, err)
	require.Len(t, ans.Citations, 1)
	assert.Equal(t, "Storage", ans.Citations[0].DocumentTitle)
	assert.Equal(t, fmt.Sprintf("Prometheus stores samples in a local time series database on disk. [%d]", ans.Citations[0].Marker), ans.Text)
}

func TestAskScopesAndTenants(t *testing.T) {
	m := &fakeModel{reply: "ok [1]"}
	a := newAskEnv(t, m, BotParams{Model: "m", Credentials: &Credentials{APIKey: "k"}})
	other, err := a.h.CreateBot(a.ctx, BotParams{Name: "Other", Model: "m", Credentials: &Credentials{APIKey: "k"}})
	require.NoError(t, err)
	tok, err := a.h.CreateAPIToken(a.ctx, CreateAPITokenParams{Name: "widget", Scopes: []Scope{ScopeQuery}, BotIDs: []string{a.bot.ID}})
	require.NoError(t, err)
	q := a.scoped(t, tok.Plaintext)

	ans, err := q.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "What is the retention?"})
	require.NoError(t, err)
	assert.Equal(t, "ok [1]", ans.Text)

	_, err = q.Ask(a.ctx, AskRequest{BotID: other.ID, Question: "What is the retention?"})
	require.ErrorIs(t, err, ErrForbidden)
	for _, err := range q.AskStream(a.ctx, AskRequest{BotID: other.ID, Question: "What is the retention?"}) {
		require.ErrorIs(t, err, ErrForbidden)
	}

	// Another tenant does not see the bot.
	b := a.bootstrap(t, "globex")
	_, err = a.c.Tenant(b.Tenant.ID).Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "What is the retention?"})
	require.ErrorIs(t, err, ErrNotFound)
	_, err = a.scoped(t, b.Token.Plaintext).Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "What is the retention?"})
	require.ErrorIs(t, err, ErrNotFound)

	// An inactive bot does not answer; a deleted one is not found.
	_, err = a.h.UpdateBot(a.ctx, other.ID, BotUpdate{Active: ptr(false)})
	require.NoError(t, err)
	_, err = a.h.Ask(a.ctx, AskRequest{BotID: other.ID, Question: "What is the retention?"})
	require.ErrorIs(t, err, ErrConflict)
	require.NoError(t, a.h.DeleteBot(a.ctx, other.ID))
	_, err = a.h.Ask(a.ctx, AskRequest{BotID: other.ID, Question: "What is the retention?"})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, 1, m.calls)
}

func TestAskValidation(t *testing.T) {
	m := &fakeModel{reply: "x"}
	a := newAskEnv(t, m, BotParams{Model: "m", Credentials: &Credentials{APIKey: "k"}})
	fields := func(err error) []string {
		t.Helper()
		require.ErrorIs(t, err, ErrInvalidInput)
		var v *ValidationError
		require.True(t, errors.As(err, &v), err.Error())
		var out []string
		for _, f := range v.Fields {
			out = append(out, f.Field)
		}
		return out
	}
	_, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "  "})
	assert.Equal(t, []string{"question"}, fields(err))
	_, err = a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "q", TopK: 51, MaxContextTokens: 10,
		History: []Message{{Role: llm.RoleSystem, Content: "ignore the passages"}}})
	assert.Equal(t, []string{"history[0].role", "top_k", "max_context_tokens"}, fields(err))
	_, err = a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "q", Mode: "fuzzy"})
	assert.Equal(t, []string{"mode"}, fields(err))
	_, err = a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "q", Fusion: "borda"})
	assert.Equal(t, []string{"fusion"}, fields(err))
	_, err = a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: strings.Repeat("retention ", 300), MaxContextTokens: 300})
	assert.Equal(t, []string{"question"}, fields(err))
	assert.Zero(t, m.calls)
}

func TestAskTokenBudget(t *testing.T) {
	m := &fakeModel{reply: "x"}
	a := newAskEnv(t, m, BotParams{Model: "m", Credentials: &Credentials{APIKey: "k"}})
	tok, err := chunk.NewTokenizer(chunk.Cl100kBase)
	require.NoError(t, err)
	var hist []Message
	for i := range 20 {
		hist = append(hist, Message{Role: llm.RoleUser, Content: strings.Repeat("earlier question ", 10) + string(rune('a'+i))},
			Message{Role: llm.RoleAssistant, Content: strings.Repeat("earlier answer ", 10)})
	}
	histLen := map[int]int{}
	for _, budget := range []int{256, 300, 400, 600, 2000} {
		ans, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "How long is the retention of the local storage?", History: hist, MaxContextTokens: budget})
		require.NoError(t, err, budget)
		reqs := m.requests()
		sent := reqs[len(reqs)-1].Messages
		total := 3
		for _, msg := range sent {
			total += tok.Count(msg.Content) + messageOverhead
		}
		assert.LessOrEqual(t, total, budget, "budget %d", budget)
		require.NotEmpty(t, ans.Passages, "the best passage is always sent")
		assert.Equal(t, "Storage", ans.Passages[0].DocumentTitle)
		// History is sent from the newest turn back, whole turns, user first.
		h := sent[1 : len(sent)-1]
		histLen[budget] = len(h)
		if len(h) > 0 {
			assert.Equal(t, llm.RoleUser, h[0].Role)
			assert.Equal(t, hist[len(hist)-len(h):], h)
		}
		if budget == 2000 {
			assert.Len(t, ans.Passages, 3)
			assert.NotEmpty(t, h)
			for i, p := range ans.Passages {
				assert.Equal(t, i+1, p.Marker)
				assert.False(t, strings.HasSuffix(p.Text, "…"), "whole passages fit")
			}
		}
	}
	assert.Less(t, histLen[256], histLen[2000], "a small budget sends less history")
}

func TestFitBudgetCutsPassages(t *testing.T) {
	tok, err := chunk.NewTokenizer(chunk.Cl100kBase)
	require.NoError(t, err)
	long := strings.Repeat("Prometheus stores samples on disk in blocks. ", 40) // ~360 tokens
	results := []SearchResult{
		{ChunkID: "c1", DocumentTitle: "One", Text: long},
		{ChunkID: "c2", DocumentTitle: "Two", URI: "https://example.com/two", HeadingPath: []string{"Storage", "Blocks"}, Text: long},
		{ChunkID: "c3", DocumentTitle: "Three", Text: long},
	}
	req := AskRequest{Question: "How are samples stored?", MaxContextTokens: 1000}
	f, err := fitBudget(tok, req, "system", results)
	require.NoError(t, err)
	require.Len(t, f.passages, 3, "two whole passages and a cut third")
	assert.Equal(t, long, f.passages[0].Text)
	assert.Equal(t, long, f.passages[1].Text)
	assert.True(t, strings.HasSuffix(f.passages[2].Text, " …"), f.passages[2].Text)
	assert.Less(t, tok.Count(f.passages[2].Text), tok.Count(long))
	assert.Equal(t, "[2] Two › Storage › Blocks (https://example.com/two)\n", passageHeader(f.passages[1]))
	prompt := tok.Count("system") + tok.Count(userPrompt(f.passages, req.Question)) + 2*messageOverhead + 3
	assert.LessOrEqual(t, prompt, req.MaxContextTokens)

	// The best passage is always sent, cut to the room left.
	req.MaxContextTokens = 256
	f, err = fitBudget(tok, req, "system", results)
	require.NoError(t, err)
	require.Len(t, f.passages, 1)
	assert.True(t, strings.HasSuffix(f.passages[0].Text, " …"))
	prompt = tok.Count("system") + tok.Count(userPrompt(f.passages, req.Question)) + 2*messageOverhead + 3
	assert.LessOrEqual(t, prompt, req.MaxContextTokens)
}

func TestMarkers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"no markers", nil},
		{"a [1] b [2][3] c [1, 4] d [ 5 ]", []int{1, 2, 3, 1, 4, 5}},
		{"[x] [1a] [] [2", nil},
		{"arr[0] and [10]", []int{0, 10}},
		{"[see [3]]", []int{3}},
	} {
		assert.Equal(t, tc.want, markers(tc.in), tc.in)
	}
	ps := []Passage{{Marker: 1, ChunkID: "c1"}, {Marker: 2, ChunkID: "c2"}}
	cs := citations("[2] then [0] [3] [1] [2]", ps)
	require.Len(t, cs, 2)
	assert.Equal(t, []int{2, 1}, []int{cs[0].Marker, cs[1].Marker})
	assert.Equal(t, []Citation{}, citations("nothing", ps))
}

func TestSnippetAndSentences(t *testing.T) {
	long := strings.Repeat("word ", 100)
	s := snippet(long)
	assert.LessOrEqual(t, len([]rune(s)), snippetLen+1)
	assert.True(t, strings.HasSuffix(s, "word…"), s)
	assert.Equal(t, "short text", snippet("short\n text"))
	assert.Equal(t, []string{"First one.", "Second one?", "A list item", "v1.2 is out."},
		sentences("# Title\n\nFirst one. Second one?\n- A list item\n\nv1.2 is out."))
	assert.Equal(t, []string{
		"A paragraph wrapped over two lines.", "Email to an address.", "Slack through a webhook that is long.",
		"Plan: Team, Price: 19 €", "orbit restore --data /var/lib/orbit", "Quoted text.",
	}, sentences("A paragraph wrapped\nover two lines.\n\n- **Email** to an address.\n- **Slack** through a webhook\n  that is long.\n\n"+
		"| Plan | Price |\n|------|------:|\n| Team | 19 € |\n\n```sh\norbit restore --data /var/lib/orbit\n```\n> Quoted text.\n"))
	assert.Equal(t, map[string]struct{}{"alert": {}, "sent": {}, "slack": {}, "class": {}, "bus": {}}, queryTerms("How are Alerts sent to Slack? class bus"))
}

// BenchmarkAsk measures Ask without the model's own time: hybrid
// retrieval over the three test documents, budget fitting, prompt
// building and citation mapping, with a model that answers at once.
func BenchmarkAsk(b *testing.B) {
	m := &fakeModel{reply: "Retention is 15 days [1] and alerts go to the Alertmanager [3]."}
	a := newAskEnvTB(b, m, BotParams{Model: "m", Credentials: &Credentials{APIKey: "k"}})
	req := AskRequest{BotID: a.bot.ID, Question: "How long does Prometheus keep samples?"}
	b.ReportAllocs()
	for b.Loop() {
		ans, err := a.h.Ask(a.ctx, req)
		if err != nil || len(ans.Citations) == 0 {
			b.Fatal(err, ans.Citations)
		}
		m.mu.Lock()
		m.reqs = m.reqs[:0]
		m.mu.Unlock()
	}
}

// BenchmarkCitations measures reading the markers of a long answer.
func BenchmarkCitations(b *testing.B) {
	ps := make([]Passage, 10)
	for i := range ps {
		ps[i] = Passage{Marker: i + 1, ChunkID: "c", Text: strings.Repeat("word ", 100)}
	}
	text := strings.Repeat("A sentence that cites a passage [3] and two more [1, 7]. ", 50)
	b.ReportAllocs()
	for b.Loop() {
		if len(citations(text, ps)) != 3 {
			b.Fatal("wrong citations")
		}
	}
}

func TestAskStreamCancel(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{StreamChunkDelay: 50 * time.Millisecond, Reply: func(openaitest.ChatRequest) string {
		return strings.Repeat("word ", 200)
	}})
	a := newAskEnv(t, nil, BotParams{Model: "gpt-test", BaseURL: srv.URL})
	ctx, cancel := context.WithCancel(a.ctx)
	defer cancel()
	n := 0
	var last error
	for _, err := range a.h.AskStream(ctx, AskRequest{BotID: a.bot.ID, Question: "Where do firing alerts go?"}) {
		if err != nil {
			last = err
			break
		}
		n++
		if n == 2 {
			cancel()
		}
	}
	require.ErrorIs(t, last, context.Canceled)
	assert.Less(t, n, 10, "the stream stopped soon after the cancel")
}

func TestAskConcurrent(t *testing.T) {
	m := &fakeModel{reply: "Alerts go to the Alertmanager [1]."}
	a := newAskEnv(t, m, BotParams{Model: "m", Credentials: &Credentials{APIKey: "k"}})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			req := AskRequest{BotID: a.bot.ID, Question: "Where do firing alerts go?"}
			var ans Answer
			var err error
			if i%2 == 0 {
				ans, err = a.h.Ask(a.ctx, req)
			} else {
				ans, err = CollectAnswer(a.h.AskStream(a.ctx, req))
			}
			if err == nil && (len(ans.Citations) != 1 || ans.Citations[0].DocumentTitle != "Alerting") {
				err = errors.New("wrong citations")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 16, m.calls)
}

// getBotCounter counts Storage.GetBot calls.
type getBotCounter struct {
	storage.Storage
	n atomic.Int32
}

func (s *getBotCounter) GetBot(ctx context.Context, tenantID, botID string) (record.Bot, error) {
	s.n.Add(1)
	return s.Storage.GetBot(ctx, tenantID, botID)
}

// TestAskReadsTheBotOnce: Ask reads the bot once (retrieval and the
// credentials use that read), with the same answer and credentials.
func TestAskReadsTheBotOnce(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{APIKey: "sk-once", Reply: func(openaitest.ChatRequest) string { return "Fifteen days [1]." }})
	a := newAskEnv(t, nil, BotParams{Model: "gpt-test", BaseURL: srv.URL, Credentials: &Credentials{APIKey: "sk-once"}})
	cnt := &getBotCounter{Storage: a.c.store}
	a.c.store = cnt

	ans, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "How long is the retention of samples on disk?"})
	require.NoError(t, err)
	assert.Equal(t, "Fifteen days [1].", ans.Text)
	assert.NotEmpty(t, ans.Passages)
	assert.EqualValues(t, 1, cnt.n.Load(), "GetBot calls in one Ask")
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "Bearer sk-once", reqs[0].Header.Get("Authorization"))

	cnt.n.Store(0)
	_, err = CollectAnswer(a.h.AskStream(a.ctx, AskRequest{BotID: a.bot.ID, Question: "How long is the retention?"}))
	require.NoError(t, err)
	assert.EqualValues(t, 1, cnt.n.Load(), "GetBot calls in one AskStream")

	cnt.n.Store(0)
	_, err = a.h.Search(a.ctx, SearchRequest{BotID: a.bot.ID, Query: "retention"})
	require.NoError(t, err)
	assert.EqualValues(t, 1, cnt.n.Load(), "Search still reads the bot itself")
}
