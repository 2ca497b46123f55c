// Package telemetry holds MiniRAG's OpenTelemetry instrumentation: the
// tracer and the metric instruments of a Client, and wrappers that trace
// the calls crossing the adapter boundary (Storage, VectorStore, Embedder,
// llm.Model).
//
// Only the OpenTelemetry API is used: the host installs the SDK and its
// exporters. With no SDK installed the global providers are no-ops and
// every span and instrument costs a few nanoseconds (see the benchmarks
// in the root package).
//
// Spans carry IDs, modes, counts and token usage, never text, queries or
// secrets, unless Config.RecordContent is set.
package telemetry

import (
	"context"
	"reflect"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of MiniRAG's tracer and meter.
const ScopeName = "github.com/minirag/minirag"

// Attribute keys.
const (
	KeyTenant     = attribute.Key("minirag.tenant_id")
	KeyBot        = attribute.Key("minirag.bot_id")
	KeySource     = attribute.Key("minirag.source_id")
	KeyJob        = attribute.Key("minirag.job_id")
	KeyMode       = attribute.Key("minirag.search.mode")
	KeyFusion     = attribute.Key("minirag.search.fusion")
	KeyTopK       = attribute.Key("minirag.search.top_k")
	KeyResults    = attribute.Key("minirag.search.results")
	KeyCount      = attribute.Key("minirag.count")
	KeyProvider   = attribute.Key("minirag.provider")
	KeyModel      = attribute.Key("gen_ai.request.model")
	KeyInTokens   = attribute.Key("gen_ai.usage.input_tokens")
	KeyOutTokens  = attribute.Key("gen_ai.usage.output_tokens")
	KeyTTFT       = attribute.Key("minirag.time_to_first_token_ms")
	KeyQuery      = attribute.Key("minirag.query")
	KeyOp         = attribute.Key("db.operation.name")
	KeySystem     = attribute.Key("db.system.name")
	KeyOutcome    = attribute.Key("minirag.outcome")
	KeyKind       = attribute.Key("minirag.job.kind")
	KeyAttempt    = attribute.Key("minirag.job.attempt")
	KeySpaceModel = attribute.Key("minirag.space.model")
	KeySpaceDims  = attribute.Key("minirag.space.dims")
	KeyTokenType  = attribute.Key("gen_ai.token.type")
	KeyStatus     = attribute.Key("minirag.job.status")
	KeyStream     = attribute.Key("minirag.stream")
	KeyFinish     = attribute.Key("gen_ai.response.finish_reasons")
)

// Config selects the providers. Nil providers mean the global ones
// (otel.GetTracerProvider, otel.GetMeterProvider), read when New is called;
// the global providers delegate to an SDK installed later.
type Config struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// RecordContent puts queries and questions on spans (minirag.query).
	RecordContent bool
}

// T is a Client's instrumentation. Its methods are safe for concurrent use.
type T struct {
	tracer  trace.Tracer
	content bool

	ingestDocs, ingestChunks, ingestEmbedded, ingestFailed metric.Int64Counter
	jobDuration, jobWait                                   metric.Float64Histogram
	searchDuration, askDuration, modelTTFT                 metric.Float64Histogram
	modelTokens, modelErrors                               metric.Int64Counter
	embedTokens, embedErrors                               metric.Int64Counter
	meter                                                  metric.Meter
}

// New returns the instrumentation for cfg. Instruments that cannot be
// created (a broken SDK) fall back to no-ops.
func New(cfg Config) *T {
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	t := &T{tracer: tp.Tracer(ScopeName), content: cfg.RecordContent, meter: m}
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, _ := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		return c
	}
	seconds := func(name, desc string) metric.Float64Histogram {
		h, _ := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
		return h
	}
	t.ingestDocs = counter("minirag.ingest.documents", "{document}", "Documents an ingestion yielded, by outcome (added, updated, unchanged, deleted).")
	t.ingestChunks = counter("minirag.ingest.chunks", "{chunk}", "Chunks stored by ingestions.")
	t.ingestEmbedded = counter("minirag.ingest.embedded", "{chunk}", "Chunks embedded by ingestions.")
	t.ingestFailed = counter("minirag.ingest.failed", "{document}", "Documents that failed to ingest.")
	t.jobDuration = seconds("minirag.job.duration", "Run time of an ingestion job, by outcome.")
	t.jobWait = seconds("minirag.job.wait", "Time a job waited in the queue between becoming due and being claimed.")
	t.searchDuration = seconds("minirag.search.duration", "Search latency, by mode.")
	t.askDuration = seconds("minirag.ask.duration", "Ask latency (retrieval, prompt and model), by mode.")
	t.modelTTFT = seconds("minirag.model.time_to_first_token", "Time from the start of a streamed chat model call to its first token, by provider.")
	t.modelTokens = counter("minirag.model.tokens", "{token}", "Chat model tokens, by provider and type (input, output).")
	t.modelErrors = counter("minirag.model.errors", "{call}", "Failed chat model calls, by provider.")
	t.embedTokens = counter("minirag.embed.tokens", "{token}", "Embedding tokens reported by the provider, by provider.")
	t.embedErrors = counter("minirag.embed.errors", "{call}", "Failed embedding calls, by provider.")
	return t
}

// Nop is instrumentation with no-op providers, for code paths built
// without a Client.
func Nop() *T {
	return New(Config{TracerProvider: tracenoop.NewTracerProvider(), MeterProvider: metricnoop.NewMeterProvider()})
}

// RecordContent reports whether queries may be put on spans.
func (t *T) RecordContent() bool { return t.content }

// Tracer returns the tracer.
func (t *T) Tracer() trace.Tracer { return t.tracer }

// Meter returns the meter (for observable instruments registered by the
// Client).
func (t *T) Meter() metric.Meter { return t.meter }

// Start starts a span. Callers set attributes only when the span is
// recording (span.IsRecording), so that nothing is built for a no-op
// provider.
func (t *T) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return t.tracer.Start(ctx, name, opts...)
}

// End records err on span (status Error and an exception event) and ends
// it.
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, shortError(err))
	}
	span.End()
}

// shortError bounds an error text put on a span's status.
func shortError(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Provider names the package of v's type relative to the module
// ("embed/openai", "llm/openai"), or its full package path for a type of
// another module, for metric and span attributes.
func Provider(v any) string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "unknown"
	}
	p := t.PkgPath()
	if p == "" {
		return t.String()
	}
	return strings.TrimPrefix(p, "github.com/minirag/minirag/")
}

// IngestResult records an ingestion's counts.
func (t *T) IngestResult(ctx context.Context, added, updated, unchanged, deleted, chunks, embedded, failed int) {
	for _, o := range [...]struct {
		name string
		n    int
	}{{"added", added}, {"updated", updated}, {"unchanged", unchanged}, {"deleted", deleted}} {
		if o.n > 0 {
			t.ingestDocs.Add(ctx, int64(o.n), metric.WithAttributes(KeyOutcome.String(o.name)))
		}
	}
	if chunks > 0 {
		t.ingestChunks.Add(ctx, int64(chunks))
	}
	if embedded > 0 {
		t.ingestEmbedded.Add(ctx, int64(embedded))
	}
	if failed > 0 {
		t.ingestFailed.Add(ctx, int64(failed))
	}
}

// Job records a job's run time and outcome (done, retry, failed,
// stopped, lost) and how long it waited in the queue.
func (t *T) Job(ctx context.Context, kind, outcome string, run, wait time.Duration) {
	t.jobDuration.Record(ctx, run.Seconds(), metric.WithAttributes(KeyKind.String(kind), KeyOutcome.String(outcome)))
	if wait >= 0 {
		t.jobWait.Record(ctx, wait.Seconds(), metric.WithAttributes(KeyKind.String(kind)))
	}
}

// Search records a search's latency.
func (t *T) Search(ctx context.Context, mode string, d time.Duration, err error) {
	t.searchDuration.Record(ctx, d.Seconds(), metric.WithAttributes(KeyMode.String(mode), KeyOutcome.String(outcome(err))))
}

// Ask records an Ask's latency.
func (t *T) Ask(ctx context.Context, mode string, d time.Duration, err error) {
	t.askDuration.Record(ctx, d.Seconds(), metric.WithAttributes(KeyMode.String(mode), KeyOutcome.String(outcome(err))))
}

func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
