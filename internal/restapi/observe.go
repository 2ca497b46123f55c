package restapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/minirag/minirag"
)

// Observability of the REST host (docs/OBSERVABILITY.md):
//
//	MINIRAG_METRICS_ADDR                 serve the SDK's and the HTTP server's OpenTelemetry
//	                                     metrics in Prometheus format on http://ADDR/metrics,
//	                                     a port of its own (off when empty)
//	OTEL_EXPORTER_OTLP_ENDPOINT          export traces with OTLP/HTTP (also
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   OTEL_EXPORTER_OTLP_HEADERS…, read by the exporter);
//	                                     no tracing when neither is set
//
// Every request of the API is traced and measured by otelhttp; the SDK's
// spans (search stages, the model call…) nest under the request's span.
// GET /readyz answers 200 when storage and the vector store answer
// (minirag.Client.Check), 503 with the failing backend otherwise;
// GET /healthz answers 200 while the process serves (liveness).

// telemetry holds what setupTelemetry installed.
type telemetry struct {
	metrics  http.Handler // nil when MINIRAG_METRICS_ADDR is empty
	shutdown func(context.Context) error
}

// setupTelemetry installs the global meter provider (a Prometheus
// exporter on a registry of its own) when MINIRAG_METRICS_ADDR is set and
// the global tracer provider (OTLP/HTTP) when an OTLP endpoint is set, so
// that the Client, created next, reports through them.
func setupTelemetry(ctx context.Context, getenv func(string) string, service string) (*telemetry, error) {
	t := &telemetry{shutdown: func(context.Context) error { return nil }}
	var shutdowns []func(context.Context) error
	res := resource.NewSchemaless(semconv.ServiceName(service))
	if getenv("MINIRAG_METRICS_ADDR") != "" {
		reg := promclient.NewRegistry()
		exp, err := otelprom.New(otelprom.WithRegisterer(reg))
		if err != nil {
			return nil, err
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithResource(res))
		otel.SetMeterProvider(mp)
		shutdowns = append(shutdowns, mp.Shutdown)
		t.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	}
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
		shutdowns = append(shutdowns, tp.Shutdown)
	}
	t.shutdown = func(ctx context.Context) error {
		var errs []error
		for _, s := range shutdowns {
			errs = append(errs, s(ctx))
		}
		return errors.Join(errs...)
	}
	return t, nil
}

// serveMetrics serves /metrics on addr until ctx is done.
func serveMetrics(ctx context.Context, log *slog.Logger, addr string, h http.Handler) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("metrics", slog.String("addr", "http://"+ln.Addr().String()+"/metrics"))
	go func() { _ = srv.Serve(ln) }()
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// observed wraps the API: GET /readyz from Client.Check, then every other
// request to api, all traced and measured by otelhttp.
func observed(api http.Handler, c *minirag.Client) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		h := c.Check(r.Context(), minirag.CheckOptions{SkipEmbedder: true, Timeout: 3 * time.Second})
		status := http.StatusOK
		if !h.OK {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, h)
	})
	mux.Handle("/", api)
	// otelhttp names the span after the route pattern the muxes matched
	// ("POST /v1/"): a name without IDs.
	return otelhttp.NewHandler(mux, "minirag-httpserver")
}
