// Package openai implements llm.Model for any service speaking OpenAI's
// chat-completions API (POST {BaseURL}/chat/completions): OpenAI, a
// LiteLLM proxy, Ollama, vLLM and others. It is built on
// github.com/sashabaranov/go-openai.
//
// Both calls retry on 429, 5xx and network errors, with exponential
// backoff and jitter, honouring Retry-After. A stream is retried only
// before its first piece of content: once content has been yielded, an
// error ends the stream. Streams ask for usage
// (stream_options.include_usage) unless Config.NoStreamUsage is set.
//
// The API key is sent only in the Authorization header; it never appears
// in errors, logs, or the String forms of Config and Client. Create a
// Client per set of credentials (for example per bot, with credentials
// decrypted just for the call): New does no I/O and is cheap; share one
// HTTPClient between them to share connections.
package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/minirag/minirag/internal/openaihttp"
	"github.com/minirag/minirag/llm"
	"github.com/minirag/minirag/record"
)

// StatusError is an error answer of the chat service: the HTTP status and
// the server's message (never the API key). Temporary reports 429 and
// 5xx, which were retried before the error was returned.
type StatusError = openaihttp.StatusError

// Config sets up a Client.
type Config struct {
	// BaseURL is the API's base URL, up to and including "/v1" (for
	// example "http://localhost:11434/v1" for Ollama). Empty means
	// https://api.openai.com/v1.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>"; empty sends no
	// Authorization header.
	APIKey string
	// Model is used when a Request has no Model.
	Model string
	// ExtraHeaders are added to every request; they replace headers of
	// the same name.
	ExtraHeaders map[string]string
	// HTTPClient sends the requests; nil means http.DefaultClient. Do not
	// set a Timeout on it shorter than the longest answer: bound calls with
	// their context instead.
	HTTPClient *http.Client
	// MaxRetries is the number of retries after a 429, a 5xx or a network
	// error: 0 means 4, negative means none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the backoff between retries (0 means
	// 500ms and 30s); a Retry-After header replaces it, unless above
	// MaxRetryAfter (0 means 2 minutes), which fails the call instead.
	MinBackoff, MaxBackoff, MaxRetryAfter time.Duration
	// NoStreamUsage leaves stream_options out of streamed requests, for
	// servers that reject it; the final Delta then has no usage.
	NoStreamUsage bool
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
	return fmt.Sprintf("llm/openai.Config{BaseURL:%q Model:%q APIKey:%s}", c.BaseURL, c.Model, key)
}

// GoString is String, so that %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// MarshalJSON is String as a JSON string, so that JSON does not carry the
// key or the header values either.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// LogValue keeps the key out of slog records.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.BaseURL), slog.String("model", c.Model))
}

// Client is an llm.Model on an OpenAI-compatible endpoint. It is safe for
// concurrent use.
type Client struct {
	client  *goopenai.Client
	retry   *openaihttp.Retry
	model   string
	noUsage bool
}

var _ llm.Model = (*Client)(nil)

// New returns a Client. It does no I/O.
func New(cfg Config) (*Client, error) {
	if cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MaxRetryAfter < 0 {
		return nil, fmt.Errorf("llm/openai: %w", record.Invalid("backoff", "must not be negative"))
	}
	return &Client{
		client: openaihttp.NewClient(cfg.BaseURL, cfg.APIKey, cfg.HTTPClient, cfg.ExtraHeaders),
		retry: &openaihttp.Retry{
			Pkg: "llm/openai", APIKey: cfg.APIKey, Secrets: openaihttp.HeaderSecrets(cfg.ExtraHeaders), MaxRetries: cfg.MaxRetries,
			MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff, MaxRetryAfter: cfg.MaxRetryAfter,
			Logger: cfg.Logger, Sleep: cfg.sleep,
		},
		model:   cfg.Model,
		noUsage: cfg.NoStreamUsage,
	}, nil
}

// String names the client without the API key.
func (c *Client) String() string { return "llm/openai.Client(" + c.model + ")" }

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// reasoningModel reports models that take max_completion_tokens instead of
// max_tokens and only the default temperature.
func reasoningModel(model string) bool {
	for _, p := range []string{"o1", "o3", "o4", "gpt-5", "gpt-6"} {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}

// request translates req, or fails with record.ErrInvalidInput.
func (c *Client) request(req llm.Request) (goopenai.ChatCompletionRequest, error) {
	if req.Model == "" {
		req.Model = c.model
	}
	err := req.Validate()
	if req.Model == "" {
		v := &record.ValidationError{}
		errors.As(err, &v)
		v.Add("model", "is required (in the request or Config.Model)")
		err = v.Err()
	}
	if err != nil {
		return goopenai.ChatCompletionRequest{}, fmt.Errorf("llm/openai: %w", err)
	}
	out := goopenai.ChatCompletionRequest{Model: req.Model, Messages: make([]goopenai.ChatCompletionMessage, len(req.Messages))}
	for i, m := range req.Messages {
		out.Messages[i] = goopenai.ChatCompletionMessage{Role: string(m.Role), Content: m.Content}
	}
	reasoning := reasoningModel(req.Model)
	if req.MaxTokens > 0 {
		if reasoning {
			out.MaxCompletionTokens = req.MaxTokens
		} else {
			out.MaxTokens = req.MaxTokens
		}
	}
	if t := req.Temperature; t != nil && !(reasoning && *t == 1) {
		out.Temperature = float32(*t)
		if out.Temperature == 0 {
			// go-openai omits a zero temperature; the smallest positive
			// float32 is sent instead, which every server treats as 0.
			out.Temperature = math.SmallestNonzeroFloat32
		}
	}
	if err := goopenai.NewReasoningValidator().Validate(out); err != nil {
		return goopenai.ChatCompletionRequest{}, fmt.Errorf("llm/openai: %w", record.Invalid("temperature", err.Error()))
	}
	return out, nil
}

// Chat implements llm.Model.
func (c *Client) Chat(ctx context.Context, req llm.Request) (llm.Response, error) {
	oreq, err := c.request(req)
	if err != nil {
		return llm.Response{}, err
	}
	var resp goopenai.ChatCompletionResponse
	err = c.retry.Do(ctx, func(ctx context.Context) error {
		var err error
		resp, err = c.client.CreateChatCompletion(ctx, oreq)
		return err
	})
	if err != nil {
		return llm.Response{}, err
	}
	if len(resp.Choices) == 0 {
		return llm.Response{}, fmt.Errorf("llm/openai: the answer has no choices: %w", llm.ErrBadResponse)
	}
	ch := resp.Choices[0]
	return llm.Response{
		Content:      ch.Message.Content,
		FinishReason: string(ch.FinishReason),
		Usage:        usage(&resp.Usage),
		Model:        resp.Model,
	}, nil
}

func usage(u *goopenai.Usage) llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	return llm.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
}

// streamState is what a stream has told so far.
type streamState struct {
	finish string
	usage  llm.Usage
	model  string
}

// read applies a chunk to the state and returns its content.
func (s *streamState) read(chunk goopenai.ChatCompletionStreamResponse) string {
	if chunk.Usage != nil {
		s.usage = usage(chunk.Usage)
	}
	if chunk.Model != "" {
		s.model = chunk.Model
	}
	var content string
	for _, ch := range chunk.Choices {
		if ch.Index != 0 {
			continue
		}
		if ch.FinishReason != "" {
			s.finish = string(ch.FinishReason)
		}
		content += ch.Delta.Content
	}
	return content
}

// Stream implements llm.Model (see package llm for the iterator's
// contract). Nothing is sent until the iterator is ranged over.
func (c *Client) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) {
		oreq, err := c.request(req)
		if err != nil {
			yield(llm.Delta{}, err)
			return
		}
		if !c.noUsage {
			oreq.StreamOptions = &goopenai.StreamOptions{IncludeUsage: true}
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()

		// Open the stream and read up to the first content; all of it is
		// retried, since nothing has reached the caller yet.
		var (
			stream *goopenai.ChatCompletionStream
			state  streamState
			first  string
			ended  bool
		)
		err = c.retry.Do(ctx, func(ctx context.Context) error {
			s, err := c.client.CreateChatCompletionStream(ctx, oreq)
			if err != nil {
				return err
			}
			state, first, ended = streamState{}, "", false
			for first == "" {
				chunk, err := s.Recv()
				if errors.Is(err, io.EOF) {
					ended = true
					break
				}
				if err != nil {
					_ = s.Close()
					return err
				}
				first = state.read(chunk)
			}
			stream = s
			return nil
		})
		if err != nil {
			yield(llm.Delta{}, err)
			return
		}
		defer stream.Close()
		if first != "" && !yield(llm.Delta{Content: first}, nil) {
			return
		}
		for !ended {
			chunk, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				cerr, _ := openaihttp.Classify(ctx, "llm/openai", c.retry.APIKey, err, &openaihttp.Capture{Status: http.StatusOK}, time.Now())
				cerr = openaihttp.RedactError(cerr, c.retry.Secrets)
				yield(llm.Delta{}, fmt.Errorf("%w (after part of the answer was streamed)", cerr))
				return
			}
			if content := state.read(chunk); content != "" && !yield(llm.Delta{Content: content}, nil) {
				return
			}
		}
		yield(llm.Delta{Done: true, FinishReason: state.finish, Usage: state.usage, Model: state.model}, nil)
	}
}
