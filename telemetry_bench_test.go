package minirag

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// telemetryProviders are the provider set-ups BenchmarkTelemetry
// compares: none installed (Config's nil providers, the global ones, which
// the test binary never sets: the cost when the host installs nothing),
// the API's no-op providers given explicitly, and the SDK recording every
// span (a synchronous no-op exporter) and every measurement (a manual
// reader, never collected).
var telemetryProviders = []struct {
	name string
	new  func(b *testing.B) (trace.TracerProvider, metric.MeterProvider)
}{
	{"none", func(*testing.B) (trace.TracerProvider, metric.MeterProvider) { return nil, nil }},
	{"noop", func(*testing.B) (trace.TracerProvider, metric.MeterProvider) {
		return tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider()
	}},
	{"sdk", func(b *testing.B) (trace.TracerProvider, metric.MeterProvider) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(tracetest.NewNoopExporter())))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() {
			_ = tp.Shutdown(context.Background())
			_ = mp.Shutdown(context.Background())
		})
		return tp, mp
	}},
}

// BenchmarkTelemetry measures a hybrid Search and a forced Ingest of one
// text source (chunk, embed, upsert, commit) on the embedded stack under
// each provider set-up (docs/OBSERVABILITY.md, docs/PERFORMANCE.md):
//
//	go test -run '^$' -bench BenchmarkTelemetry -benchtime=300x -count=5 .
func BenchmarkTelemetry(b *testing.B) {
	for _, p := range telemetryProviders {
		b.Run("Search/"+p.name, func(b *testing.B) {
			tp, mp := p.new(b)
			o := newOtelEnvTB(b, tp, mp, false, &fakeModel{reply: "x"})
			req := SearchRequest{BotID: o.bot.ID, Query: "retention of samples on disk"}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := o.h.Search(o.ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, p := range telemetryProviders {
		b.Run("Ingest/"+p.name, func(b *testing.B) {
			tp, mp := p.new(b)
			o := newOtelEnvTB(b, tp, mp, false, &fakeModel{reply: "x"})
			srcs, err := o.h.ListSources(o.ctx, o.bot.ID)
			if err != nil || len(srcs) == 0 {
				b.Fatal(err, len(srcs))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := o.h.Ingest(o.ctx, srcs[0].ID, IngestOptions{Force: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
