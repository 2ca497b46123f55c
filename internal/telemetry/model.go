package telemetry

import (
	"context"
	"iter"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/minirag/minirag/llm"
)

// Model traces an llm.Model's calls as spans named "chat" (provider,
// model, token usage, finish reason; for a stream, the time to the first
// token as the attribute minirag.time_to_first_token_ms and the event
// "first_token") and counts tokens and errors by provider.
type Model struct {
	m        llm.Model
	t        *T
	provider string
}

// WrapModel returns m traced by t.
func WrapModel(m llm.Model, t *T) *Model {
	return &Model{m: m, t: t, provider: Provider(m)}
}

// Unwrap returns the wrapped model.
func (m *Model) Unwrap() llm.Model { return m.m }

func (m *Model) start(ctx context.Context, req llm.Request, stream bool) (context.Context, trace.Span) {
	ctx, sp := m.t.tracer.Start(ctx, "chat", trace.WithSpanKind(trace.SpanKindClient))
	if sp.IsRecording() {
		sp.SetAttributes(KeyProvider.String(m.provider), KeyModel.String(req.Model),
			KeyCount.Int(len(req.Messages)), KeyStream.Bool(stream))
	}
	return ctx, sp
}

func (m *Model) finish(ctx context.Context, sp trace.Span, u llm.Usage, finish string, err error) {
	attrs := metric.WithAttributes(KeyProvider.String(m.provider))
	if err != nil {
		m.t.modelErrors.Add(ctx, 1, attrs)
	}
	if u.PromptTokens > 0 {
		m.t.modelTokens.Add(ctx, int64(u.PromptTokens), metric.WithAttributes(KeyProvider.String(m.provider), KeyTokenType.String("input")))
	}
	if u.CompletionTokens > 0 {
		m.t.modelTokens.Add(ctx, int64(u.CompletionTokens), metric.WithAttributes(KeyProvider.String(m.provider), KeyTokenType.String("output")))
	}
	if sp.IsRecording() {
		sp.SetAttributes(KeyInTokens.Int(u.PromptTokens), KeyOutTokens.Int(u.CompletionTokens))
		if finish != "" {
			sp.SetAttributes(KeyFinish.String(finish))
		}
	}
	End(sp, err)
}

// Chat traces the wrapped Chat.
func (m *Model) Chat(ctx context.Context, req llm.Request) (llm.Response, error) {
	ctx, sp := m.start(ctx, req, false)
	resp, err := m.m.Chat(ctx, req)
	m.finish(ctx, sp, resp.Usage, resp.FinishReason, err)
	return resp, err
}

// Stream traces the wrapped Stream: the span starts when the iterator is
// ranged over and ends with its last element, its error, or the caller
// breaking out.
func (m *Model) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) {
		ctx, sp := m.start(ctx, req, true)
		start := time.Now()
		first := true
		var (
			usage  llm.Usage
			finish string
			err    error
		)
		defer func() { m.finish(ctx, sp, usage, finish, err) }()
		for d, e := range m.m.Stream(ctx, req) {
			if e != nil {
				err = e
				yield(d, e)
				return
			}
			if first && (d.Content != "" || d.Done) {
				first = false
				ttft := time.Since(start)
				m.t.modelTTFT.Record(ctx, ttft.Seconds(), metric.WithAttributes(KeyProvider.String(m.provider)))
				if sp.IsRecording() {
					sp.AddEvent("first_token")
					sp.SetAttributes(KeyTTFT.Float64(float64(ttft.Microseconds()) / 1000))
				}
			}
			if d.Done {
				usage, finish = d.Usage, d.FinishReason
			}
			if !yield(d, nil) {
				return
			}
		}
	}
}
