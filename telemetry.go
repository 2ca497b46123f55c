package minirag

import (
	"context"
	"fmt"
	"iter"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/minirag/minirag/internal/telemetry"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// Tracing and metrics (see Config.TracerProvider and docs/OBSERVABILITY.md).
//
// Spans: minirag.Ingest (per ingestion; an embed span per embedding batch
// and an ingest.batch span per group of documents written, with its
// vectorstore.Upsert and storage.PutDocuments spans, under it), minirag.Job
// (one per job a Worker runs, with minirag.Ingest under it),
// minirag.Search with search.dense, search.lexical, search.fuse and
// search.load under it, minirag.Ask with minirag.Search (the retrieval),
// ask.prompt and chat (the model call; streamed, with its time to first
// token) under it, and storage.*, vectorstore.*, embed and chat spans at
// the adapter boundary. HTTP calls of embed/openai and llm/openai are
// client spans under those.

// registerGauges registers the queue-depth and vector-store-size gauges
// (minirag.jobs, minirag.vectorstore.records) on the optional counting
// capabilities of Config.Storage (storage.JobCounter) and
// Config.VectorStore (vectorstore.Counter), called on the adapters
// themselves so that a collection makes no spans. The store size is
// observed once the index's space is known (after Open, or the first
// ingestion or search).
func (c *Client) registerGauges() func() error {
	jobs := func(ctx context.Context) (int, int, bool, error) {
		jc, ok := c.rawStore.(storage.JobCounter)
		if !ok {
			return 0, 0, false, nil
		}
		q, r, err := jc.CountJobs(ctx)
		if err != nil {
			return 0, 0, false, fmt.Errorf("minirag: jobs gauge: %w", err)
		}
		return q, r, true, nil
	}
	records := func(ctx context.Context) (int64, string, int, bool, error) {
		vc, ok := c.rawVec.(vectorstore.Counter)
		space := c.rt.ready.Load()
		if !ok || space == nil {
			return 0, "", 0, false, nil
		}
		n, err := vc.CountRecords(ctx)
		if err != nil {
			return 0, "", 0, false, fmt.Errorf("minirag: vector store records gauge: %w", err)
		}
		return n, space.Model, space.Dims, true, nil
	}
	return c.tel.RegisterGauges(jobs, records)
}

// tracedIngest is ingest in a minirag.Ingest span, recording the
// ingestion metrics.
func (c *Client) tracedIngest(ctx context.Context, tenantID, sourceID string, opts IngestOptions) (IngestResult, error) {
	ctx, sp := c.tel.Start(ctx, "minirag.Ingest")
	if sp.IsRecording() {
		sp.SetAttributes(telemetry.KeyTenant.String(tenantID), telemetry.KeySource.String(sourceID), attribute.Bool("minirag.ingest.force", opts.Force))
	}
	res, err := c.ingest(ctx, tenantID, sourceID, opts)
	c.tel.IngestResult(ctx, res.Added, res.Updated, res.Unchanged, res.Deleted, res.Chunks, res.Embedded, len(res.Failed))
	if sp.IsRecording() {
		sp.SetAttributes(
			attribute.Int("minirag.ingest.added", res.Added), attribute.Int("minirag.ingest.updated", res.Updated),
			attribute.Int("minirag.ingest.unchanged", res.Unchanged), attribute.Int("minirag.ingest.deleted", res.Deleted),
			attribute.Int("minirag.ingest.embedded", res.Embedded), attribute.Int("minirag.ingest.failed", len(res.Failed)),
			attribute.Int("minirag.ingest.skipped", len(res.Skipped)), attribute.Int("minirag.ingest.chunks", res.Chunks),
		)
	}
	if o, ok := ctx.Value(jobOutcomeKey{}).(*jobOutcome); ok {
		o.err = err
	}
	telemetry.End(sp, err)
	return res, err
}

type jobOutcomeKey struct{}

// jobOutcome is where tracedIngest leaves a job's ingestion error for
// processTraced.
type jobOutcome struct{ err error }

// traceParent is the W3C traceparent of ctx's span, stored with a job
// (record.Job.TraceContext) so that the job's span links to the span
// that enqueued it; "" when ctx has no valid span (no SDK installed).
func traceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// enqueuerLinks is the link to the span that enqueued job, none when its
// TraceContext is empty or not a valid traceparent.
func enqueuerLinks(job Job) []trace.Link {
	if job.TraceContext == "" {
		return nil
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": job.TraceContext})
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []trace.Link{{SpanContext: sc}}
}

// processTraced is process in a minirag.Job span (a new trace: a job
// outlives the request that queued it, linked to the span that enqueued
// it), recording the job metrics.
func (w *Worker) processTraced(ctx context.Context, job Job) {
	t := w.c.tel
	start := time.Now()
	ctx, sp := t.Start(ctx, "minirag.Job", trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(enqueuerLinks(job)...))
	if sp.IsRecording() {
		sp.SetAttributes(telemetry.KeyJob.String(job.ID), telemetry.KeyTenant.String(job.TenantID),
			telemetry.KeySource.String(job.SourceID), telemetry.KeyKind.String(job.Kind), telemetry.KeyAttempt.Int(job.Attempts))
	}
	var o jobOutcome
	w.process(context.WithValue(ctx, jobOutcomeKey{}, &o), job)
	outcome := "done"
	switch {
	case ctx.Err() != nil:
		outcome = "stopped"
	case o.err != nil:
		outcome = "error"
	}
	t.Job(ctx, job.Kind, outcome, time.Since(start), start.Sub(job.RunAt))
	if sp.IsRecording() {
		sp.SetAttributes(telemetry.KeyOutcome.String(outcome))
	}
	telemetry.End(sp, o.err)
}

// searchTraced is search in a minirag.Search span, recording its latency.
func (h *TenantHandle) searchTraced(ctx context.Context, req SearchRequest, loaded *Bot) ([]SearchResult, error) {
	start := time.Now()
	ctx, sp := h.c.tel.Start(ctx, "minirag.Search")
	mode := req.Mode
	if mode == "" {
		mode = SearchHybrid
	}
	if sp.IsRecording() {
		sp.SetAttributes(telemetry.KeyTenant.String(h.p.TenantID), telemetry.KeyBot.String(req.BotID),
			telemetry.KeyMode.String(string(mode)), telemetry.KeyTopK.Int(req.TopK))
		if h.c.tel.RecordContent() {
			sp.SetAttributes(telemetry.KeyQuery.String(req.Query))
		}
	}
	res, err := h.search(ctx, req, loaded)
	h.c.tel.Search(ctx, string(mode), time.Since(start), err)
	if sp.IsRecording() {
		sp.SetAttributes(telemetry.KeyResults.Int(len(res)))
	}
	telemetry.End(sp, err)
	return res, err
}

// endBatchSpan ends the ingest.batch span of a written group with the
// number of its documents that failed.
func endBatchSpan(sp trace.Span, group []*docWork) {
	if sp.IsRecording() {
		failed := 0
		for _, w := range group {
			if w.state == docFailed {
				failed++
			}
		}
		sp.SetAttributes(attribute.Int("minirag.ingest.batch.failed", failed))
	}
	sp.End()
}

// stage starts the span of a stage of a search or an ask.
func (c *Client) stage(ctx context.Context, name string) (context.Context, trace.Span) {
	return c.tel.Start(ctx, name)
}

// startAsk starts the minirag.Ask span; end records the answer and the
// latency.
func (h *TenantHandle) startAsk(ctx context.Context, req AskRequest, stream bool) (context.Context, func(*Answer, error)) {
	start := time.Now()
	ctx, sp := h.c.tel.Start(ctx, "minirag.Ask")
	mode := req.Mode
	if mode == "" {
		mode = SearchHybrid
	}
	if sp.IsRecording() {
		sp.SetAttributes(telemetry.KeyTenant.String(h.p.TenantID), telemetry.KeyBot.String(req.BotID),
			telemetry.KeyMode.String(string(mode)), telemetry.KeyStream.Bool(stream))
		if h.c.tel.RecordContent() {
			sp.SetAttributes(telemetry.KeyQuery.String(req.Question))
		}
	}
	return ctx, func(a *Answer, err error) {
		h.c.tel.Ask(ctx, string(mode), time.Since(start), err)
		if a != nil && sp.IsRecording() {
			sp.SetAttributes(attribute.Int("minirag.ask.passages", len(a.Passages)),
				attribute.Int("minirag.ask.citations", len(a.Citations)), attribute.Bool("minirag.ask.extractive", a.Extractive),
				telemetry.KeyInTokens.Int(a.Usage.PromptTokens), telemetry.KeyOutTokens.Int(a.Usage.CompletionTokens))
		}
		telemetry.End(sp, err)
	}
}

// traceAskStream wraps an AskStream's iterator in a minirag.Ask span.
func (h *TenantHandle) traceAskStream(ctx context.Context, req AskRequest, run func(ctx context.Context, yield func(AskDelta, error) bool)) iter.Seq2[AskDelta, error] {
	return func(yield func(AskDelta, error) bool) {
		ctx, end := h.startAsk(ctx, req, true)
		var (
			ans  *Answer
			serr error
		)
		defer func() { end(ans, serr) }()
		run(ctx, func(d AskDelta, err error) bool {
			if err != nil {
				serr = err
			}
			if d.Done {
				ans = d.Answer
			}
			return yield(d, err)
		})
	}
}
