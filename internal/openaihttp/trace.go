package openaihttp

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

const scopeName = "github.com/minirag/minirag/internal/openaihttp"

// startHTTPSpan starts a client span for req ("POST /embeddings"): with
// the tracer provider of the span in req's context (the Client's, when a
// MiniRAG span is current), else the global one. It records the method,
// the server's host and port and the URL path; never the query string,
// headers or body (they may hold keys). ctx and span are nil when the
// span would not record.
func startHTTPSpan(req *http.Request) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(req.Context())
	tp := parent.TracerProvider()
	if !parent.SpanContext().IsValid() {
		tp = otel.GetTracerProvider()
	}
	ctx, sp := tp.Tracer(scopeName).Start(req.Context(), req.Method+" "+req.URL.Path, trace.WithSpanKind(trace.SpanKindClient))
	if !sp.IsRecording() {
		sp.End()
		return nil, nil
	}
	sp.SetAttributes(
		attribute.String("http.request.method", req.Method),
		attribute.String("server.address", req.URL.Hostname()),
		attribute.String("url.path", req.URL.Path),
	)
	return ctx, sp
}

// endHTTPSpan records the response status (an error at 4xx and 5xx) or
// the transport error, and ends span.
func endHTTPSpan(sp trace.Span, resp *http.Response, err error) {
	switch {
	case err != nil:
		sp.SetStatus(codes.Error, "transport error")
	case resp != nil:
		sp.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if resp.StatusCode >= 400 {
			sp.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
		}
	}
	sp.End()
}
