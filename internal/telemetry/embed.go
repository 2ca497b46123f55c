package telemetry

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/minirag/minirag/embed"
)

// Embedder traces an embed.Embedder's Embed calls as spans named
// "embed" (provider, model, number of texts, tokens when the provider
// reports them through ReportEmbedTokens) and counts its tokens and
// errors. It keeps the optional Lexical capability of the embedder it
// wraps; WrapEmbedder keeps Probe.
type Embedder struct {
	e        embed.Embedder
	t        *T
	provider string
	attrs    metric.MeasurementOption
}

// probingEmbedder is an Embedder whose wrapped embedder has Probe.
type probingEmbedder struct {
	*Embedder
	p interface {
		Probe(ctx context.Context) (int, error)
	}
}

// Probe forwards to the wrapped embedder.
func (p *probingEmbedder) Probe(ctx context.Context) (int, error) { return p.p.Probe(ctx) }

// WrapEmbedder returns e traced by t; the result has the method Probe
// when e has it.
func WrapEmbedder(e embed.Embedder, t *T) embed.Embedder {
	prov := Provider(e)
	w := &Embedder{e: e, t: t, provider: prov, attrs: metric.WithAttributes(KeyProvider.String(prov))}
	if p, ok := e.(interface {
		Probe(ctx context.Context) (int, error)
	}); ok {
		return &probingEmbedder{Embedder: w, p: p}
	}
	return w
}

// Unwrap returns the wrapped embedder.
func (e *Embedder) Unwrap() embed.Embedder { return e.e }

// Dimensions forwards to the wrapped embedder.
func (e *Embedder) Dimensions() int { return e.e.Dimensions() }

// Model forwards to the wrapped embedder.
func (e *Embedder) Model() string { return e.e.Model() }

// Lexical forwards the optional capability (false when the wrapped
// embedder lacks it).
func (e *Embedder) Lexical() bool {
	l, ok := e.e.(interface{ Lexical() bool })
	return ok && l.Lexical()
}

type embedUsageKey struct{}

// ReportEmbedTokens adds n tokens to the embedding call traced in ctx, if
// any: embedders that learn their usage from the provider call it.
func ReportEmbedTokens(ctx context.Context, n int) {
	if u, ok := ctx.Value(embedUsageKey{}).(*atomic.Int64); ok {
		u.Add(int64(n))
	}
}

// Embed traces the wrapped Embed.
func (e *Embedder) Embed(ctx context.Context, texts []string) (_ [][]float32, err error) {
	ctx, sp := e.t.tracer.Start(ctx, "embed", trace.WithSpanKind(trace.SpanKindClient))
	var tokens atomic.Int64
	ctx = context.WithValue(ctx, embedUsageKey{}, &tokens)
	defer func() {
		n := tokens.Load()
		if n > 0 {
			e.t.embedTokens.Add(ctx, n, e.attrs)
		}
		if err != nil {
			e.t.embedErrors.Add(ctx, 1, e.attrs)
		}
		if sp.IsRecording() {
			sp.SetAttributes(KeyProvider.String(e.provider), KeyModel.String(e.e.Model()), KeyCount.Int(len(texts)))
			if n > 0 {
				sp.SetAttributes(KeyInTokens.Int64(n))
			}
		}
		End(sp, err)
	}()
	return e.e.Embed(ctx, texts)
}
