package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/record"
)

const key = "sk-test-0123456789abcdef"

// sleeps records the waits of the retry loop instead of sleeping.
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

func newEmbedder(t *testing.T, srv *openaitest.Server, cfg Config) (*Embedder, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	cfg.BaseURL = srv.URL
	if cfg.APIKey == "" {
		cfg.APIKey = key
	}
	if cfg.Model == "" {
		cfg.Model = "text-embedding-3-small"
	}
	cfg.HTTPClient = srv.Client()
	cfg.sleep = sl.sleep
	e, err := New(cfg)
	require.NoError(t, err)
	return e, sl
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("text number %d about topic %d", i, i%3)
	}
	return out
}

type embeddingsBody struct {
	Input      []string `json:"input"`
	Model      string   `json:"model"`
	Dimensions int      `json:"dimensions"`
}

func bodies(t *testing.T, srv *openaitest.Server) []embeddingsBody {
	t.Helper()
	var out []embeddingsBody
	for _, r := range srv.Requests() {
		var b embeddingsBody
		require.NoError(t, json.Unmarshal(r.Body, &b))
		out = append(out, b)
	}
	return out
}

func TestEmbedBatchesByCountInOrder(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{APIKey: key, Dimensions: 8})
	e, _ := newEmbedder(t, srv, Config{BatchSize: 3, Concurrency: 2, ExtraHeaders: map[string]string{"X-Route": "blue"}})
	in := texts(10)
	vs, err := e.Embed(context.Background(), in)
	require.NoError(t, err)
	require.Len(t, vs, 10)

	h, err := hashing.New(hashing.Config{Dimensions: 8})
	require.NoError(t, err)
	for i, v := range vs {
		assert.Equal(t, h.Vector(in[i]), v, "vector %d is the server's vector of text %d", i, i)
	}
	assert.Equal(t, 8, e.Dimensions(), "learned from the first answer")
	assert.Equal(t, "openai:text-embedding-3-small", e.Model())

	bs := bodies(t, srv)
	require.Len(t, bs, 4)
	var got []string
	sizes := map[int]int{}
	for _, b := range bs {
		got = append(got, b.Input...)
		sizes[len(b.Input)]++
		assert.Equal(t, "text-embedding-3-small", b.Model)
		assert.Zero(t, b.Dimensions, "dimensions not sent when not configured")
	}
	assert.ElementsMatch(t, in, got)
	assert.Equal(t, map[int]int{3: 3, 1: 1}, sizes)
	for _, r := range srv.Requests() {
		assert.Equal(t, "Bearer "+key, r.Header.Get("Authorization"))
		assert.Equal(t, "blue", r.Header.Get("X-Route"))
		assert.Equal(t, "/v1/embeddings", r.Path)
	}
	assert.Empty(t, srv.SecretLeaks(key))
}

func TestDimensionsSentAndEnforced(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{})
	e, _ := newEmbedder(t, srv, Config{Dimensions: 12})
	assert.Equal(t, 12, e.Dimensions())
	assert.Equal(t, "openai:text-embedding-3-small:12", e.Model())
	vs, err := e.Embed(context.Background(), []string{"a", "b"})
	require.NoError(t, err)
	assert.Len(t, vs[0], 12)
	assert.Equal(t, 12, bodies(t, srv)[0].Dimensions)

	// A server that ignores "dimensions" is caught.
	srv.SetEmbeddingsHook(func(_ *openaitest.EmbeddingsRequest, resp *openaitest.EmbeddingsResponse) {
		resp.Data[1].Embedding = append(resp.Data[1].Embedding, 0)
	})
	_, err = e.Embed(context.Background(), []string{"a", "b"})
	require.ErrorIs(t, err, embed.ErrBadResponse)
	assert.Equal(t, "embed/openai: texts[0:2]: vector 1 has 13 dimensions, want 12: embed: bad response from embedding service", err.Error())
}

func TestLearnedDimensionsEnforced(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 6})
	e, _ := newEmbedder(t, srv, Config{})
	_, err := e.Embed(context.Background(), []string{"a"})
	require.NoError(t, err)
	srv.SetEmbeddingsHook(func(_ *openaitest.EmbeddingsRequest, resp *openaitest.EmbeddingsResponse) {
		for i := range resp.Data {
			resp.Data[i].Embedding = resp.Data[i].Embedding[:4]
		}
	})
	_, err = e.Embed(context.Background(), []string{"a"})
	require.ErrorIs(t, err, embed.ErrBadResponse)
	assert.Contains(t, err.Error(), "has 4 dimensions, want 6")
}

func TestBatchesByTokens(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	words := func(s string) int { return len(strings.Fields(s)) }
	e, _ := newEmbedder(t, srv, Config{MaxBatchTokens: 5, TokenCounter: words, Concurrency: 1})
	in := []string{"one two", "three four", "five six", "a b c d e f g h", "x"}
	_, err := e.Embed(context.Background(), in)
	require.NoError(t, err)
	var batches [][]string
	for _, b := range bodies(t, srv) {
		batches = append(batches, b.Input)
	}
	// 2+2 ≤ 5; +2 would pass 5; the 8-token text goes alone; then "x".
	assert.Equal(t, [][]string{{"one two", "three four"}, {"five six"}, {"a b c d e f g h"}, {"x"}}, batches)
}

func TestBoundedConcurrency(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4, Delay: 30 * time.Millisecond})
	e, _ := newEmbedder(t, srv, Config{BatchSize: 1, Concurrency: 3})
	vs, err := e.Embed(context.Background(), texts(12))
	require.NoError(t, err)
	assert.Len(t, vs, 12)
	assert.Equal(t, 12, srv.RequestCount())
	assert.LessOrEqual(t, srv.PeakConcurrency(), 3)
	assert.GreaterOrEqual(t, srv.PeakConcurrency(), 2)
}

func TestRetryAfterHonoured(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	srv.FailNext(2, openaitest.Failure{Status: 429, RetryAfter: "7"})
	e, sl := newEmbedder(t, srv, Config{})
	vs, err := e.Embed(context.Background(), []string{"a"})
	require.NoError(t, err)
	assert.Len(t, vs, 1)
	assert.Equal(t, []time.Duration{7 * time.Second, 7 * time.Second}, sl.waits())
	assert.Equal(t, 3, srv.RequestCount())

	// An HTTP date works too.
	srv.FailNext(1, openaitest.Failure{Status: 503, RetryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)})
	_, err = e.Embed(context.Background(), []string{"a"})
	require.Error(t, err, "an hour is more than MaxRetryAfter")
	srv.FailNext(1, openaitest.Failure{Status: 503, RetryAfter: time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)})
	_, err = e.Embed(context.Background(), []string{"a"})
	require.NoError(t, err)
	require.Len(t, sl.waits(), 3)
	assert.InDelta(t, 90, sl.waits()[2].Seconds(), 2)

	// A date in the past asks for no wait: the usual backoff applies.
	srv.FailNext(1, openaitest.Failure{Status: 503, RetryAfter: "Wed, 21 Oct 2015 07:28:00 GMT"})
	_, err = e.Embed(context.Background(), []string{"a"})
	require.NoError(t, err)
	assert.LessOrEqual(t, sl.waits()[3], 500*time.Millisecond)
}

func TestRetryAfterTooLongFails(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	srv.FailNext(1, openaitest.Failure{Status: 429, RetryAfter: "3600"})
	e, sl := newEmbedder(t, srv, Config{})
	_, err := e.Embed(context.Background(), []string{"a"})
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 429, se.StatusCode)
	assert.Equal(t, time.Hour, se.RetryAfter)
	assert.Empty(t, sl.waits())
}

func TestServerErrorThenSuccess(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	srv.FailNext(1, openaitest.Failure{Status: 500})
	srv.FailNext(1, openaitest.Failure{Status: 502, Raw: "<html>Bad Gateway</html>"})
	e, sl := newEmbedder(t, srv, Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	_, err := e.Embed(context.Background(), []string{"a"})
	require.NoError(t, err)
	w := sl.waits()
	require.Len(t, w, 2)
	assert.GreaterOrEqual(t, w[0], 50*time.Millisecond)
	assert.LessOrEqual(t, w[0], 100*time.Millisecond)
	assert.GreaterOrEqual(t, w[1], 100*time.Millisecond)
	assert.LessOrEqual(t, w[1], 200*time.Millisecond)
}

func TestRetriesRunOut(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	srv.FailNext(10, openaitest.Failure{Status: 503, Message: "overloaded"})
	e, sl := newEmbedder(t, srv, Config{MaxRetries: 2})
	_, err := e.Embed(context.Background(), []string{"a"})
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 503, se.StatusCode)
	assert.True(t, se.Temporary())
	assert.Equal(t, "embed/openai: texts[0:1]: server answered 503 Service Unavailable: overloaded", err.Error())
	assert.Equal(t, 3, srv.RequestCount())
	assert.Len(t, sl.waits(), 2)
}

func TestClientErrorNotRetried(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	srv.FailNext(1, openaitest.Failure{Status: 400, Message: "This model's maximum context length is 8192 tokens"})
	e, sl := newEmbedder(t, srv, Config{})
	_, err := e.Embed(context.Background(), []string{"a"})
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 400, se.StatusCode)
	assert.False(t, se.Temporary())
	assert.Equal(t, "embed/openai: texts[0:1]: server answered 400 Bad Request: This model's maximum context length is 8192 tokens", err.Error())
	assert.Equal(t, 1, srv.RequestCount())
	assert.Empty(t, sl.waits())
}

func TestWrongKeyErrorHasNoKey(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{APIKey: "sk-right", Dimensions: 4})
	e, _ := newEmbedder(t, srv, Config{APIKey: "sk-wrong-secret"})
	_, err := e.Embed(context.Background(), []string{"a"})
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 401, se.StatusCode)
	assert.NotContains(t, err.Error(), "sk-wrong-secret")
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", e, Config{APIKey: "sk-wrong-secret"}, Config{APIKey: "sk-wrong-secret"}), "sk-wrong-secret")
}

func TestWrongCount(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	srv.TruncateNext(1)
	e, sl := newEmbedder(t, srv, Config{BatchSize: 2, Concurrency: 1})
	_, err := e.Embed(context.Background(), []string{"a", "b", "c"})
	require.ErrorIs(t, err, embed.ErrBadResponse)
	assert.Contains(t, err.Error(), "embed/openai: texts[0:2]: 1 vectors for 2 inputs")
	assert.Empty(t, sl.waits(), "a bad answer is not retried")
}

func TestBadIndices(t *testing.T) {
	for name, hook := range map[string]func(*openaitest.EmbeddingsResponse){
		"repeated":     func(r *openaitest.EmbeddingsResponse) { r.Data[1].Index = 0 },
		"out of range": func(r *openaitest.EmbeddingsResponse) { r.Data[0].Index = 2 },
		"negative":     func(r *openaitest.EmbeddingsResponse) { r.Data[0].Index = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
			srv.SetEmbeddingsHook(func(_ *openaitest.EmbeddingsRequest, r *openaitest.EmbeddingsResponse) { hook(r) })
			e, _ := newEmbedder(t, srv, Config{})
			_, err := e.Embed(context.Background(), []string{"a", "b"})
			require.ErrorIs(t, err, embed.ErrBadResponse)
		})
	}
}

func TestOutOfOrderIndicesArePlaced(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	srv.SetEmbeddingsHook(func(_ *openaitest.EmbeddingsRequest, r *openaitest.EmbeddingsResponse) {
		r.Data[0], r.Data[1] = r.Data[1], r.Data[0]
	})
	e, _ := newEmbedder(t, srv, Config{})
	vs, err := e.Embed(context.Background(), []string{"alpha", "beta"})
	require.NoError(t, err)
	h, _ := hashing.New(hashing.Config{Dimensions: 4})
	assert.Equal(t, h.Vector("alpha"), vs[0])
	assert.Equal(t, h.Vector("beta"), vs[1])
}

func TestEmptyInput(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	e, _ := newEmbedder(t, srv, Config{})
	vs, err := e.Embed(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, vs)
	_, err = e.Embed(context.Background(), []string{"a", ""})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "texts[1]")
	assert.Zero(t, srv.RequestCount())
}

func TestConfigValidation(t *testing.T) {
	_, err := New(Config{BatchSize: -1})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "model: is required")
	assert.Contains(t, err.Error(), "batch_size")
}

func TestCancelDuringBackoff(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	srv.FailNext(1, openaitest.Failure{Status: 429, RetryAfter: "30"})
	ctx, cancel := context.WithCancel(context.Background())
	e, err := New(Config{BaseURL: srv.URL, Model: "m", HTTPClient: srv.Client(),
		sleep: func(ctx context.Context, d time.Duration) error {
			cancel() // the caller gives up while we wait
			<-ctx.Done()
			return ctx.Err()
		}})
	require.NoError(t, err)
	_, err = e.Embed(ctx, []string{"a"})
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "429")
	assert.Equal(t, 1, srv.RequestCount())
}

func TestCancelDuringRequest(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4, Delay: time.Minute})
	e, _ := newEmbedder(t, srv, Config{BatchSize: 1, Concurrency: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.Embed(ctx, texts(4))
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), err.Error())
	assert.LessOrEqual(t, srv.RequestCount(), 2, "no new batch starts once the context is done")
}

func TestFirstErrorStopsOtherBatches(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 4})
	srv.FailNext(1, openaitest.Failure{Status: 400, Message: "bad batch"})
	e, _ := newEmbedder(t, srv, Config{BatchSize: 1, Concurrency: 1})
	_, err := e.Embed(context.Background(), texts(5))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad batch")
	assert.Equal(t, 1, srv.RequestCount())
}

func TestProbe(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Dimensions: 5})
	e, _ := newEmbedder(t, srv, Config{})
	assert.Zero(t, e.Dimensions())
	d, err := e.Probe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 5, d)
	d, err = e.Probe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 5, d)
	assert.Equal(t, 1, srv.RequestCount(), "known dimensions need no call")

	configured, _ := newEmbedder(t, srv, Config{Dimensions: 3})
	d, err = configured.Probe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, d)
	assert.Equal(t, 1, srv.RequestCount())
}
