package minirag

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/llm"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/vectorstore/local"
)

// otelEnv is an askEnv whose Client traces into an in-memory exporter
// and meters into a manual reader.
type otelEnv struct {
	*env
	h     *TenantHandle
	bot   Bot
	spans *tracetest.InMemoryExporter
	read  *sdkmetric.ManualReader
}

const secretQuestion = "How long is the retention of samples on disk?"

func newOtelEnv(t *testing.T, content bool, model llm.Model) *otelEnv {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	rd := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
	o := newOtelEnvTB(t, tp, mp, content, model)
	o.spans, o.read = exp, rd
	return o
}

// newOtelEnvTB is newOtelEnv with the providers given (nil: the global
// ones).
func newOtelEnvTB(t testing.TB, tp trace.TracerProvider, mp metric.MeterProvider, content bool, model llm.Model) *otelEnv {
	t.Helper()
	e := newEnv(t, func(c *Config) {
		vs, err := local.Open(t.TempDir(), local.WithSync(false))
		require.NoError(t, err)
		emb, err := hashing.New(hashing.Config{Dimensions: 256})
		require.NoError(t, err)
		c.VectorStore, c.Embedder = vs, emb
		c.ChatModel = func(ctx context.Context, b Bot, cred Credentials) (llm.Model, error) { return model, nil }
		c.TracerProvider, c.MeterProvider, c.TraceContent = tp, mp, content
	})
	o := &otelEnv{env: e}
	boot := e.bootstrap(t, "acme")
	o.h = e.c.Tenant(boot.Tenant.ID)
	var err error
	o.bot, err = o.h.CreateBot(e.ctx, BotParams{Name: "Docs", Model: "fake", Credentials: &Credentials{APIKey: "sk-otel-secret"}})
	require.NoError(t, err)
	for _, d := range askDocs {
		src, err := o.h.CreateSource(e.ctx, SourceParams{BotID: o.bot.ID, Name: d.name, Type: SourceText, Config: loader.TextConfig{Content: d.text, Title: d.name}})
		require.NoError(t, err)
		_, err = o.h.Ingest(e.ctx, src.ID, IngestOptions{})
		require.NoError(t, err)
	}
	return o
}

// tree indexes exported spans by name and ID.
type tree struct {
	spans  tracetest.SpanStubs
	byName map[string][]tracetest.SpanStub
}

func newTree(s tracetest.SpanStubs) tree {
	t := tree{spans: s, byName: map[string][]tracetest.SpanStub{}}
	for _, sp := range s {
		t.byName[sp.Name] = append(t.byName[sp.Name], sp)
	}
	return t
}

func (tr tree) one(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	require.Len(t, tr.byName[name], 1, "span %s", name)
	return tr.byName[name][0]
}

// under asserts that child's parent is parent.
func under(t *testing.T, child, parent tracetest.SpanStub) {
	t.Helper()
	assert.Equal(t, parent.SpanContext.SpanID(), child.Parent.SpanID(), "%s under %s", child.Name, parent.Name)
	assert.Equal(t, parent.SpanContext.TraceID(), child.SpanContext.TraceID())
}

func attr(sp tracetest.SpanStub, key string) (string, bool) {
	for _, a := range sp.Attributes {
		if string(a.Key) == key {
			return a.Value.Emit(), true
		}
	}
	return "", false
}

// noText asserts that no span holds the question, a passage's text or
// the bot's key.
func noText(t *testing.T, s tracetest.SpanStubs, texts ...string) {
	t.Helper()
	for _, sp := range s {
		var all []string
		for _, a := range sp.Attributes {
			all = append(all, a.Value.Emit())
		}
		for _, ev := range sp.Events {
			for _, a := range ev.Attributes {
				all = append(all, a.Value.Emit())
			}
		}
		all = append(all, sp.Status.Description)
		for _, v := range all {
			for _, x := range texts {
				assert.NotContains(t, v, x, "span %s", sp.Name)
			}
		}
	}
}

func TestTraceOfAskShowsEveryStage(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "Ask", true: "AskStream"}[stream], func(t *testing.T) {
			o := newOtelEnv(t, false, &fakeModel{reply: "Retention is 15 days [1]."})
			o.spans.Reset()
			req := AskRequest{BotID: o.bot.ID, Question: secretQuestion}
			var a Answer
			var err error
			if stream {
				a, err = CollectAnswer(o.h.AskStream(o.ctx, req))
			} else {
				a, err = o.h.Ask(o.ctx, req)
			}
			require.NoError(t, err)
			require.NotEmpty(t, a.Passages)

			tr := newTree(o.spans.GetSpans())
			ask := tr.one(t, "minirag.Ask")
			assert.False(t, ask.Parent.IsValid(), "Ask is the root")
			search := tr.one(t, "minirag.Search")
			under(t, search, ask)
			for _, st := range []string{"search.dense", "search.lexical", "search.fuse", "search.load"} {
				under(t, tr.one(t, st), search)
			}
			dense := tr.one(t, "search.dense")
			under(t, tr.one(t, "embed"), dense)
			under(t, tr.one(t, "vectorstore.Search"), dense)
			under(t, tr.one(t, "storage.SearchLexical"), tr.one(t, "search.lexical"))
			under(t, tr.one(t, "storage.GetChunksWithDocuments"), tr.one(t, "search.load"))
			under(t, tr.one(t, "storage.GetBot"), ask)
			under(t, tr.one(t, "ask.prompt"), ask)
			chat := tr.one(t, "chat")
			under(t, chat, ask)

			// Every stage has its time.
			for _, sp := range tr.spans {
				assert.False(t, sp.EndTime.Before(sp.StartTime), sp.Name)
				assert.False(t, sp.StartTime.IsZero(), sp.Name)
			}
			// Attributes: IDs, mode, counts, usage.
			v, _ := attr(ask, "minirag.bot_id")
			assert.Equal(t, o.bot.ID, v)
			v, _ = attr(search, "minirag.search.mode")
			assert.Equal(t, "hybrid", v)
			v, _ = attr(search, "minirag.search.results")
			assert.NotEqual(t, "0", v)
			v, _ = attr(chat, "gen_ai.usage.input_tokens")
			assert.Equal(t, "100", v)
			v, _ = attr(chat, "gen_ai.usage.output_tokens")
			assert.Equal(t, "10", v)
			v, _ = attr(chat, "minirag.provider")
			assert.Equal(t, "github.com/minirag/minirag", v, "the package of the model's type (fakeModel)")
			_, hasTTFT := attr(chat, "minirag.time_to_first_token_ms")
			assert.Equal(t, stream, hasTTFT, "a stream records its time to first token")
			if stream {
				require.NotEmpty(t, chat.Events)
				assert.Equal(t, "first_token", chat.Events[0].Name)
			}
			_, hasQuery := attr(search, "minirag.query")
			assert.False(t, hasQuery)
			noText(t, tr.spans, secretQuestion, "sk-otel-secret", a.Passages[0].Text[:40])
		})
	}
}

func TestTraceContentIsOptIn(t *testing.T) {
	o := newOtelEnv(t, true, &fakeModel{reply: "x [1]"})
	o.spans.Reset()
	_, err := o.h.Search(o.ctx, SearchRequest{BotID: o.bot.ID, Query: "retention"})
	require.NoError(t, err)
	tr := newTree(o.spans.GetSpans())
	v, ok := attr(tr.one(t, "minirag.Search"), "minirag.query")
	assert.True(t, ok)
	assert.Equal(t, "retention", v)
}

func TestTraceOfIngestAndJobs(t *testing.T) {
	o := newOtelEnv(t, false, &fakeModel{reply: "x"})
	src, err := o.h.CreateSource(o.ctx, SourceParams{BotID: o.bot.ID, Name: "queued", Type: SourceText, Config: loader.TextConfig{Content: "Queued text about compaction of blocks.", Title: "Q"}})
	require.NoError(t, err)
	o.spans.Reset()
	_, err = o.h.EnqueueIngest(o.ctx, src.ID)
	require.NoError(t, err)
	w, err := o.c.NewWorker(WorkerConfig{ID: "w1"})
	require.NoError(t, err)
	require.NoError(t, w.Drain(o.ctx))

	tr := newTree(o.spans.GetSpans())
	job := tr.one(t, "minirag.Job")
	assert.False(t, job.Parent.IsValid(), "a job starts its own trace")
	v, _ := attr(job, "minirag.outcome")
	assert.Equal(t, "done", v)
	v, _ = attr(job, "minirag.source_id")
	assert.Equal(t, src.ID, v)
	ing := tr.one(t, "minirag.Ingest")
	under(t, ing, job)
	v, _ = attr(ing, "minirag.ingest.added")
	assert.Equal(t, "1", v)
	under(t, tr.one(t, "embed"), ing)
	batch := tr.one(t, "ingest.batch")
	under(t, batch, ing)
	v, _ = attr(batch, "minirag.count")
	assert.Equal(t, "1", v, "documents in the batch")
	v, _ = attr(batch, "minirag.ingest.batch.failed")
	assert.Equal(t, "0", v)
	under(t, tr.one(t, "vectorstore.Upsert"), batch)
	require.NotEmpty(t, tr.byName["storage.EnqueueJob"])
	noText(t, tr.spans, "Queued text about compaction")
	assert.Empty(t, job.Links, "enqueued outside any span: no link")
}

// TestJobSpanLinksToEnqueuer enqueues an ingestion inside a span (as a
// REST request's): the job stores its traceparent, and the Worker's
// minirag.Job span, in a trace of its own, links to the enqueuing span.
func TestJobSpanLinksToEnqueuer(t *testing.T) {
	o := newOtelEnv(t, false, &fakeModel{reply: "x"})
	src, err := o.h.CreateSource(o.ctx, SourceParams{BotID: o.bot.ID, Name: "linked", Type: SourceText, Config: loader.TextConfig{Content: "Linked text.", Title: "L"}})
	require.NoError(t, err)
	o.spans.Reset()
	rctx, request := o.c.tel.Tracer().Start(o.ctx, "request")
	queued, err := o.h.EnqueueIngest(rctx, src.ID)
	require.NoError(t, err)
	request.End()
	stored, err := o.c.Storage().GetJob(o.ctx, queued.TenantID, queued.ID)
	require.NoError(t, err)
	rsc := request.SpanContext()
	assert.Equal(t, "00-"+rsc.TraceID().String()+"-"+rsc.SpanID().String()+"-01", stored.TraceContext, "the stored traceparent")

	w, err := o.c.NewWorker(WorkerConfig{ID: "w1"})
	require.NoError(t, err)
	require.NoError(t, w.Drain(o.ctx))
	job := newTree(o.spans.GetSpans()).one(t, "minirag.Job")
	assert.False(t, job.Parent.IsValid(), "a job starts its own trace")
	assert.NotEqual(t, rsc.TraceID(), job.SpanContext.TraceID())
	require.Len(t, job.Links, 1)
	assert.Equal(t, rsc.TraceID(), job.Links[0].SpanContext.TraceID())
	assert.Equal(t, rsc.SpanID(), job.Links[0].SpanContext.SpanID())
}

func TestMetricsInstruments(t *testing.T) {
	o := newOtelEnv(t, false, &fakeModel{reply: "Retention is 15 days [1]."})
	_, err := o.h.Search(o.ctx, SearchRequest{BotID: o.bot.ID, Query: "retention", Mode: SearchLexical})
	require.NoError(t, err)
	_, err = CollectAnswer(o.h.AskStream(o.ctx, AskRequest{BotID: o.bot.ID, Question: secretQuestion}))
	require.NoError(t, err)

	var rm metricdata.ResourceMetrics
	require.NoError(t, o.read.Collect(o.ctx, &rm))
	got := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m.Data
		}
	}
	for _, name := range []string{
		"minirag.ingest.documents", "minirag.ingest.chunks", "minirag.ingest.embedded",
		"minirag.search.duration", "minirag.ask.duration", "minirag.model.tokens",
		"minirag.model.time_to_first_token",
	} {
		assert.Contains(t, got, name)
	}
	docs := got["minirag.ingest.documents"].(metricdata.Sum[int64])
	var added int64
	for _, dp := range docs.DataPoints {
		if v, _ := dp.Attributes.Value("minirag.outcome"); v.AsString() == "added" {
			added = dp.Value
		}
	}
	assert.Equal(t, int64(len(askDocs)), added)
	modes := map[string]uint64{}
	for _, dp := range got["minirag.search.duration"].(metricdata.Histogram[float64]).DataPoints {
		v, _ := dp.Attributes.Value("minirag.search.mode")
		modes[v.AsString()] += dp.Count
	}
	assert.Equal(t, map[string]uint64{"lexical": 1, "hybrid": 1}, modes, "Search and the Ask's retrieval, by mode")
	tokens := map[string]int64{}
	for _, dp := range got["minirag.model.tokens"].(metricdata.Sum[int64]).DataPoints {
		v, _ := dp.Attributes.Value("gen_ai.token.type")
		tokens[v.AsString()] += dp.Value
	}
	assert.Equal(t, map[string]int64{"input": 100, "output": 10}, tokens)
}
