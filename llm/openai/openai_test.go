package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/llm"
	"github.com/minirag/minirag/record"
)

const key = "sk-chat-test-secret-42"

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newClient(t *testing.T, srv *openaitest.Server, cfg Config) (*Client, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	cfg.BaseURL = srv.URL
	if cfg.APIKey == "" {
		cfg.APIKey = key
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = srv.Client()
	}
	cfg.sleep = sl.sleep
	c, err := New(cfg)
	require.NoError(t, err)
	return c, sl
}

func question(q string) llm.Request {
	return llm.Request{Model: "gpt-4o-mini", Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: "Answer from the passages."},
		{Role: llm.RoleUser, Content: q},
	}}
}

func body(t *testing.T, r openaitest.Request) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m))
	return m
}

func TestChat(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{APIKey: key})
	c, _ := newClient(t, srv, Config{ExtraHeaders: map[string]string{"X-Tenant-Route": "eu"}})
	req := question("what is a scrape interval?")
	req.Temperature = llm.Temperature(0)
	req.MaxTokens = 100
	resp, err := c.Chat(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "echo: what is a scrape interval?", resp.Content)
	assert.Equal(t, llm.FinishStop, resp.FinishReason)
	assert.Equal(t, "gpt-4o-mini", resp.Model)
	assert.Positive(t, resp.Usage.PromptTokens)
	assert.Equal(t, resp.Usage.PromptTokens+resp.Usage.CompletionTokens, resp.Usage.TotalTokens)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/v1/chat/completions", reqs[0].Path)
	assert.Equal(t, "Bearer "+key, reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "eu", reqs[0].Header.Get("X-Tenant-Route"))
	b := body(t, reqs[0])
	assert.Equal(t, "gpt-4o-mini", b["model"])
	assert.Equal(t, float64(100), b["max_tokens"])
	assert.InDelta(t, 0, b["temperature"], 1e-30, "temperature 0 is sent, not omitted")
	assert.Len(t, b["messages"], 2)
	assert.NotEqual(t, true, b["stream"])
	assert.Empty(t, srv.SecretLeaks(key))
}

func TestChatDefaultsAndValidation(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	c, _ := newClient(t, srv, Config{Model: "llama3.2"})
	req := question("hi")
	req.Model = ""
	resp, err := c.Chat(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "llama3.2", resp.Model)
	b := body(t, srv.Requests()[0])
	assert.Nil(t, b["temperature"], "no temperature unless asked")
	assert.Nil(t, b["max_tokens"])

	c, _ = newClient(t, srv, Config{})
	_, err = c.Chat(context.Background(), llm.Request{Messages: []llm.Message{{Role: "bot", Content: "x"}}})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "model: is required")
	assert.Contains(t, err.Error(), "messages[0].role")
	assert.True(t, strings.HasPrefix(err.Error(), "llm/openai: "))
	for d, err := range c.Stream(context.Background(), llm.Request{}) {
		assert.Zero(t, d)
		require.ErrorIs(t, err, record.ErrInvalidInput)
	}
	assert.Equal(t, 1, srv.RequestCount(), "invalid requests are not sent")
}

func TestReasoningModelUsesMaxCompletionTokens(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	c, _ := newClient(t, srv, Config{})
	req := question("hi")
	req.Model = "o3-mini"
	req.MaxTokens = 50
	_, err := c.Chat(context.Background(), req)
	require.NoError(t, err)
	b := body(t, srv.Requests()[0])
	assert.Nil(t, b["max_tokens"])
	assert.Equal(t, float64(50), b["max_completion_tokens"])
}

func TestChatLengthFinish(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	c, _ := newClient(t, srv, Config{})
	req := question("one two three four")
	req.MaxTokens = 2
	resp, err := c.Chat(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, llm.FinishLength, resp.FinishReason)
	assert.Equal(t, "echo: one ", resp.Content)
}

func TestChatRetries(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	srv.FailNext(1, openaitest.Failure{Status: 429, RetryAfter: "3"})
	srv.FailNext(1, openaitest.Failure{Status: 500})
	c, sl := newClient(t, srv, Config{MinBackoff: 10 * time.Millisecond})
	resp, err := c.Chat(context.Background(), question("x"))
	require.NoError(t, err)
	assert.Equal(t, "echo: x", resp.Content)
	w := sl.waits()
	require.Len(t, w, 2)
	assert.Equal(t, 3*time.Second, w[0])
	assert.LessOrEqual(t, w[1], 20*time.Millisecond)
	assert.Equal(t, 3, srv.RequestCount())
}

func TestChatErrors(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{APIKey: "sk-other"})
	c, sl := newClient(t, srv, Config{})
	_, err := c.Chat(context.Background(), question("x"))
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 401, se.StatusCode)
	assert.NotContains(t, err.Error(), key)
	assert.Empty(t, sl.waits(), "401 is not retried")

	srv = openaitest.New(t, openaitest.Options{})
	srv.FailNext(1, openaitest.Failure{Status: 400, Message: "context_length_exceeded: too long"})
	c, _ = newClient(t, srv, Config{})
	_, err = c.Chat(context.Background(), question("x"))
	assert.EqualError(t, err, "llm/openai: server answered 400 Bad Request: context_length_exceeded: too long")

	srv.FailNext(10, openaitest.Failure{Status: 503})
	c, sl = newClient(t, srv, Config{MaxRetries: 1})
	_, err = c.Chat(context.Background(), question("x"))
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 503, se.StatusCode)
	assert.Len(t, sl.waits(), 1)

	assert.NotContains(t, fmt.Sprintf("%v %+v %#v %v", Config{APIKey: key}, Config{APIKey: key}, Config{APIKey: key}, c), key)
}

func TestStream(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{APIKey: key, Reply: func(r openaitest.ChatRequest) string {
		return "Scrapes happen every 15s [1]."
	}})
	c, _ := newClient(t, srv, Config{})
	var pieces []string
	var final llm.Delta
	for d, err := range c.Stream(context.Background(), question("x")) {
		require.NoError(t, err)
		if d.Done {
			final = d
			continue
		}
		assert.NotEmpty(t, d.Content)
		pieces = append(pieces, d.Content)
	}
	assert.Equal(t, []string{"Scrapes ", "happen ", "every ", "15s ", "[1]."}, pieces)
	assert.True(t, final.Done)
	assert.Equal(t, llm.FinishStop, final.FinishReason)
	assert.Equal(t, "gpt-4o-mini", final.Model)
	assert.Positive(t, final.Usage.CompletionTokens)
	assert.Equal(t, final.Usage.PromptTokens+final.Usage.CompletionTokens, final.Usage.TotalTokens)

	b := body(t, srv.Requests()[0])
	assert.Equal(t, true, b["stream"])
	assert.Equal(t, map[string]any{"include_usage": true}, b["stream_options"])
	assert.Equal(t, "text/event-stream", srv.Requests()[0].Header.Get("Accept"))
	assert.Empty(t, srv.SecretLeaks(key))

	resp, err := llm.Collect(c.Stream(context.Background(), question("x")))
	require.NoError(t, err)
	assert.Equal(t, "Scrapes happen every 15s [1].", resp.Content)
}

func TestStreamWithoutUsage(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	c, _ := newClient(t, srv, Config{NoStreamUsage: true})
	resp, err := llm.Collect(c.Stream(context.Background(), question("a b")))
	require.NoError(t, err)
	assert.Equal(t, "echo: a b", resp.Content)
	assert.Zero(t, resp.Usage)
	assert.Nil(t, body(t, srv.Requests()[0])["stream_options"])
}

func TestStreamIsLazy(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	c, _ := newClient(t, srv, Config{})
	stream := c.Stream(context.Background(), question("x"))
	assert.Zero(t, srv.RequestCount())
	_, err := llm.Collect(stream)
	require.NoError(t, err)
	assert.Equal(t, 1, srv.RequestCount())
}

func TestStreamRetriesBeforeFirstToken(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	srv.FailNext(1, openaitest.Failure{Status: 429, RetryAfter: "2"})
	srv.FailNext(1, openaitest.Failure{Status: 502, Raw: "bad gateway"})
	c, sl := newClient(t, srv, Config{MinBackoff: time.Millisecond})
	resp, err := llm.Collect(c.Stream(context.Background(), question("q")))
	require.NoError(t, err)
	assert.Equal(t, "echo: q", resp.Content)
	assert.Equal(t, 3, srv.RequestCount())
	w := sl.waits()
	require.Len(t, w, 2)
	assert.Equal(t, 2*time.Second, w[0])

	// A stream that breaks after its headers but before any content is
	// retried too: nothing reached the caller yet.
	srv.AbortStreamAfter(0)
	resp, err = llm.Collect(c.Stream(context.Background(), question("q")))
	require.NoError(t, err)
	assert.Equal(t, "echo: q", resp.Content)
	assert.Equal(t, 5, srv.RequestCount())
}

func TestStreamNoRetryAfterFirstToken(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	srv.AbortStreamAfter(2)
	c, sl := newClient(t, srv, Config{})
	var got []string
	var streamErr error
	for d, err := range c.Stream(context.Background(), question("a b c d")) {
		if err != nil {
			streamErr = err
			break
		}
		got = append(got, d.Content)
	}
	assert.Equal(t, []string{"echo: ", "a "}, got)
	require.Error(t, streamErr)
	assert.Contains(t, streamErr.Error(), "llm/openai")
	assert.Contains(t, streamErr.Error(), "after part of the answer was streamed")
	assert.Equal(t, 1, srv.RequestCount())
	assert.Empty(t, sl.waits())
}

func TestStreamErrorStatus(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	srv.FailNext(1, openaitest.Failure{Status: 404, Message: "The model `nope` does not exist"})
	c, _ := newClient(t, srv, Config{})
	_, err := llm.Collect(c.Stream(context.Background(), question("x")))
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 404, se.StatusCode)
	assert.Contains(t, err.Error(), "does not exist")
}

// settle waits until the goroutine count is back to at most n.
func settle(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d > %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStreamCancelMidStream(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{StreamChunkDelay: time.Minute})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	base := runtime.NumGoroutine()
	c, _ := newClient(t, srv, Config{HTTPClient: &http.Client{Transport: tr}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	var streamErr error
	start := time.Now()
	for d, err := range c.Stream(ctx, question("a b c")) {
		if err != nil {
			streamErr = err
			break
		}
		got = append(got, d.Content)
		cancel() // the caller goes away after the first piece
	}
	assert.Equal(t, []string{"echo: "}, got)
	require.ErrorIs(t, streamErr, context.Canceled)
	assert.Less(t, time.Since(start), 30*time.Second, "cancellation does not wait for the next chunk")
	tr.CloseIdleConnections()
	settle(t, base)
}

func TestStreamBreakReleasesConnection(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{StreamChunkDelay: time.Minute})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	base := runtime.NumGoroutine()
	c, _ := newClient(t, srv, Config{HTTPClient: &http.Client{Transport: tr}})
	for d, err := range c.Stream(context.Background(), question("a b c")) {
		require.NoError(t, err)
		assert.Equal(t, "echo: ", d.Content)
		break
	}
	tr.CloseIdleConnections()
	settle(t, base)
}
