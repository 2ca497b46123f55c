// Package openai embeds texts with any service speaking OpenAI's
// embeddings API (POST {BaseURL}/embeddings): OpenAI itself, a LiteLLM
// proxy, Ollama, vLLM, text-embeddings-inference and others. It is built
// on github.com/sashabaranov/go-openai.
//
//	texts ─► batches (≤ BatchSize texts, ≤ MaxBatchTokens estimated tokens)
//	      ─► up to Concurrency requests at once
//	      ─► each retried on 429, 5xx and network errors (exponential
//	         backoff with jitter; Retry-After honoured), other 4xx fail at once
//	      ─► every answer checked: one vector per input, indices 0..n-1 each
//	         exactly once, every vector of the expected size
//
// A failed check is embed.ErrBadResponse; an error answer is a
// *StatusError (errors.As) carrying the status and the server's message.
// The API key is sent only in the Authorization header: it never appears in
// errors, logs or the String form of Config.
package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/internal/openaihttp"
	"github.com/minirag/minirag/internal/telemetry"
	"github.com/minirag/minirag/record"
)

// Defaults of Config.
const (
	DefaultBatchSize      = 256
	DefaultMaxBatchTokens = 100_000
	DefaultConcurrency    = 4
)

// StatusError is an error answer of the embedding service: the HTTP status
// and the server's message (never the API key). Temporary reports 429 and
// 5xx, which were retried before the error was returned.
type StatusError = openaihttp.StatusError

// Config sets up an Embedder. Only Model is required.
type Config struct {
	// BaseURL is the API's base URL, up to and including "/v1" (for
	// example "http://localhost:11434/v1" for Ollama). Empty means
	// https://api.openai.com/v1.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>"; empty sends no
	// Authorization header (local servers).
	APIKey string
	// Model is the embedding model, for example "text-embedding-3-small".
	Model string
	// Dimensions, when > 0, is sent as "dimensions" (models that can
	// shorten their vectors, like text-embedding-3-*) and every vector must
	// have that size. When 0, the size is learned from the first answer and
	// enforced from then on.
	Dimensions int
	// BatchSize is the most texts per request; 0 means DefaultBatchSize.
	BatchSize int
	// MaxBatchTokens is the most estimated tokens per request; 0 means
	// DefaultMaxBatchTokens. A single text above it is sent alone.
	MaxBatchTokens int
	// TokenCounter estimates a text's tokens for MaxBatchTokens; nil means
	// len(text)/4 rounded up. Pass a tiktoken count for exact batching.
	TokenCounter func(string) int
	// Concurrency is the most requests in flight for one Embed call; 0
	// means DefaultConcurrency.
	Concurrency int
	// MaxRetries is the number of retries of a request after a 429, a 5xx
	// or a network error: 0 means 4, negative means none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the backoff between retries (0 means
	// 500ms and 30s): the n-th retry waits a random time between half and
	// all of MinBackoff·2ⁿ⁻¹, capped at MaxBackoff. A Retry-After header
	// (seconds or an HTTP date) replaces that wait; one above MaxRetryAfter
	// fails the call instead.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; 0 means 2 minutes.
	MaxRetryAfter time.Duration
	// HTTPClient sends the requests; nil means http.DefaultClient. Bound a
	// call's time with its context.
	HTTPClient *http.Client
	// ExtraHeaders are added to every request (for example a proxy's
	// routing header); they replace headers of the same name.
	ExtraHeaders map[string]string
	// Logger receives debug records of retries; nil means silent.
	Logger *slog.Logger

	// sleep replaces the backoff timer in tests.
	sleep func(ctx context.Context, d time.Duration) error
}

// String describes the configuration without the API key.
func (c Config) String() string {
	key := "none"
	if c.APIKey != "" {
		key = "[REDACTED]"
	}
	return fmt.Sprintf("embed/openai.Config{BaseURL:%q Model:%q Dimensions:%d APIKey:%s}", c.BaseURL, c.Model, c.Dimensions, key)
}

// GoString is String, so that %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// MarshalJSON is String as a JSON string, so that JSON does not carry the
// key or the header values either (and TokenCounter does not make it fail).
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// LogValue keeps the key out of slog records.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.BaseURL), slog.String("model", c.Model), slog.Int("dimensions", c.Dimensions))
}

// Embedder embeds texts through an OpenAI-compatible API. It is safe for
// concurrent use.
type Embedder struct {
	client  *goopenai.Client
	retry   *openaihttp.Retry
	model   string
	dims    int
	learned atomic.Int64
	batch   int
	tokens  int
	count   func(string) int
	workers int
}

var _ embed.Embedder = (*Embedder)(nil)

// String names the embedder without the API key.
func (e *Embedder) String() string { return "embed/openai.Embedder(" + e.Model() + ")" }

// New returns an Embedder. It does not call the service. It fails with
// record.ErrInvalidInput when Model is empty or a number is negative.
func New(cfg Config) (*Embedder, error) {
	var v record.ValidationError
	if cfg.Model == "" {
		v.Add("model", "is required")
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"dimensions", cfg.Dimensions}, {"batch_size", cfg.BatchSize}, {"max_batch_tokens", cfg.MaxBatchTokens}, {"concurrency", cfg.Concurrency}} {
		if f.n < 0 {
			v.Add(f.name, "must not be negative")
		}
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("embed/openai: %w", err)
	}
	e := &Embedder{
		client: openaihttp.NewClient(cfg.BaseURL, cfg.APIKey, cfg.HTTPClient, cfg.ExtraHeaders),
		retry: &openaihttp.Retry{
			Pkg: "embed/openai", APIKey: cfg.APIKey, Secrets: openaihttp.HeaderSecrets(cfg.ExtraHeaders), MaxRetries: cfg.MaxRetries,
			MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff, MaxRetryAfter: cfg.MaxRetryAfter,
			Logger: cfg.Logger, Sleep: cfg.sleep,
		},
		model:   cfg.Model,
		dims:    cfg.Dimensions,
		batch:   orDefault(cfg.BatchSize, DefaultBatchSize),
		tokens:  orDefault(cfg.MaxBatchTokens, DefaultMaxBatchTokens),
		count:   cfg.TokenCounter,
		workers: orDefault(cfg.Concurrency, DefaultConcurrency),
	}
	if e.count == nil {
		e.count = EstimateTokens
	}
	return e, nil
}

func orDefault(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

// EstimateTokens is the default token estimate: len(text)/4 rounded up.
// It is close for English prose under OpenAI's tokenizers and low for
// scripts that take more than one token per character.
func EstimateTokens(text string) int { return (len(text) + 3) / 4 }

// Dimensions implements embed.Embedder: Config.Dimensions, or the size
// learned from the first answer (0 before any answer when not configured).
func (e *Embedder) Dimensions() int {
	if e.dims > 0 {
		return e.dims
	}
	return int(e.learned.Load())
}

// Probe returns Dimensions, first embedding one short text to learn it
// when it is neither configured nor learned yet. Call it before creating
// a vector index whose size must be known up front.
func (e *Embedder) Probe(ctx context.Context) (int, error) {
	if d := e.Dimensions(); d > 0 {
		return d, nil
	}
	if _, err := e.Embed(ctx, []string{"dimension probe"}); err != nil {
		return 0, err
	}
	return e.Dimensions(), nil
}

// Model implements embed.Embedder: "openai:" + Config.Model, followed by
// ":" + Config.Dimensions when that is set (the same model shortened to
// another size is another vector space).
func (e *Embedder) Model() string {
	if e.dims > 0 {
		return "openai:" + e.model + ":" + strconv.Itoa(e.dims)
	}
	return "openai:" + e.model
}

type span struct{ start, end int }

// batches splits texts by count and estimated tokens.
func (e *Embedder) batches(texts []string) []span {
	var out []span
	start, tokens := 0, 0
	for i, t := range texts {
		n := e.count(t)
		if i > start && (i-start >= e.batch || tokens+n > e.tokens) {
			out = append(out, span{start, i})
			start, tokens = i, 0
		}
		tokens += n
	}
	if start < len(texts) {
		out = append(out, span{start, len(texts)})
	}
	return out
}

// Embed implements embed.Embedder. An empty text is rejected with
// record.ErrInvalidInput (the API rejects it too). On any failure no
// vector is returned.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	for i, t := range texts {
		if t == "" {
			return nil, fmt.Errorf("embed/openai: %w", record.Invalid("texts["+strconv.Itoa(i)+"]", "is empty"))
		}
	}
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embed/openai: %w", err)
	}
	out := make([][]float32, len(texts))
	spans := e.batches(texts)
	workers := min(e.workers, len(spans))
	if workers <= 1 {
		for _, sp := range spans {
			if err := e.embedBatch(ctx, texts, sp, out); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(spans) || ctx.Err() != nil {
					return
				}
				if err := e.embedBatch(ctx, texts, spans[i], out); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// embedBatch embeds texts[sp.start:sp.end] into out, checking the answer.
func (e *Embedder) embedBatch(ctx context.Context, texts []string, sp span, out [][]float32) error {
	req := goopenai.EmbeddingRequestStrings{
		Input:      texts[sp.start:sp.end],
		Model:      goopenai.EmbeddingModel(e.model),
		Dimensions: e.dims,
	}
	where := fmt.Sprintf("texts[%d:%d]", sp.start, sp.end)
	retry := *e.retry
	retry.Pkg = "embed/openai: " + where
	var resp goopenai.EmbeddingResponse
	err := retry.Do(ctx, func(ctx context.Context) error {
		var err error
		resp, err = e.client.CreateEmbeddings(ctx, req)
		return err
	})
	if err != nil {
		return err
	}
	telemetry.ReportEmbedTokens(ctx, resp.Usage.PromptTokens)
	n := sp.end - sp.start
	bad := func(format string, args ...any) error {
		return fmt.Errorf("embed/openai: %s: %s: %w", where, fmt.Sprintf(format, args...), embed.ErrBadResponse)
	}
	if len(resp.Data) != n {
		return bad("%d vectors for %d inputs", len(resp.Data), n)
	}
	want := e.Dimensions()
	if want == 0 && len(resp.Data[0].Embedding) > 0 {
		e.learned.CompareAndSwap(0, int64(len(resp.Data[0].Embedding)))
		want = e.Dimensions()
	}
	if want == 0 {
		return bad("empty vectors")
	}
	seen := make([]bool, n)
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= n {
			return bad("index %d out of range", d.Index)
		}
		if seen[d.Index] {
			return bad("index %d repeated", d.Index)
		}
		seen[d.Index] = true
		if len(d.Embedding) != want {
			return bad("vector %d has %d dimensions, want %d", d.Index, len(d.Embedding), want)
		}
	}
	for _, d := range resp.Data {
		out[sp.start+d.Index] = d.Embedding
	}
	return nil
}
