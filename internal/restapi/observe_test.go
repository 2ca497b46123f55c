package restapi

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore/local"
)

// readyz asks GET /readyz of h.
func readyz(t *testing.T, h http.Handler) (int, minirag.Health) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	var body minirag.Health
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return rec.Code, body
}

func TestReadyzEmbedded(t *testing.T) {
	c := embeddedClient(t)
	defer c.Close()
	h := observed(newServer(c, nil), c)
	code, body := readyz(t, h)
	require.Equal(t, http.StatusOK, code, "%+v", body)
	assert.True(t, body.OK)
	require.Len(t, body.Backends, 2)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	assert.Equal(t, http.StatusOK, rec.Code)

	// The database goes away: not ready, the failing backend named.
	require.NoError(t, c.Storage().Close())
	code, body = readyz(t, h)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.False(t, body.OK)
	assert.Equal(t, "storage", body.Backends[0].Name)
	assert.False(t, body.Backends[0].OK)
	assert.NotEmpty(t, body.Backends[0].Error)
	assert.True(t, body.Backends[1].OK, "the vector store still answers")
}

// TestReadyzPostgresStopped serves a Client on PostgreSQL, then closes its
// pool (as when the database stops): /readyz turns 503 naming the
// storage.
func TestReadyzPostgresStopped(t *testing.T) {
	url := testsvc.PostgresURL(t)
	ctx := t.Context()
	st, err := postgres.Open(ctx, url, postgres.WithSchema(testsvc.Schema(t, url)))
	require.NoError(t, err)
	vs, err := local.Open(t.TempDir(), local.WithSync(false))
	require.NoError(t, err)
	emb, err := hashing.New(hashing.Config{Dimensions: 64})
	require.NoError(t, err)
	c, err := minirag.New(minirag.Config{Storage: st, VectorStore: vs, Embedder: emb})
	require.NoError(t, err)
	defer c.Close()
	h := observed(newServer(c, nil), c)

	code, body := readyz(t, h)
	require.Equal(t, http.StatusOK, code, "%+v", body)
	assert.Equal(t, "storage/postgres", body.Backends[0].Kind)

	require.NoError(t, st.Close())
	code, body = readyz(t, h)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.False(t, body.Backends[0].OK)
	assert.Contains(t, body.Backends[0].Error, "closed")
}

// TestTraceOfAskThroughREST asks through the REST API with an in-memory
// exporter installed: the request's server span holds the Ask, which
// holds every stage, each with its time.
func TestTraceOfAskThroughREST(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	st, err := sqlite.Open(t.Context(), sqlite.MemoryPath)
	require.NoError(t, err)
	vs, err := local.Open(t.TempDir(), local.WithSync(false))
	require.NoError(t, err)
	emb, err := hashing.New(hashing.Config{Dimensions: 256})
	require.NoError(t, err)
	key, err := minirag.GenerateEncryptionKey()
	require.NoError(t, err)
	c, err := minirag.New(minirag.Config{Storage: st, VectorStore: vs, Embedder: emb, EncryptionKeys: []string{key}})
	require.NoError(t, err)
	s := newStack(t, c)
	s.srv.Close()
	s.srv = httptest.NewServer(observed(newServer(c, nil), c))
	t.Cleanup(s.srv.Close)

	b := s.bootstrap("acme")
	tok := b.APIToken.Token
	bot := s.createBot(tok)
	s.ingested(tok, bot.ID, "Storage", storageText)
	exp.Reset()

	var ans minirag.Answer
	s.ok(http.StatusOK, "POST", "/v1/bot-profiles/"+bot.ID+"/chat", tok, map[string]any{"question": "How long is the retention?"}, &ans)
	require.NotEmpty(t, ans.Citations)

	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, sp := range spans {
		byName[sp.Name] = sp
	}
	server, ok := byName["POST /v1/"]
	if !ok {
		for n := range byName {
			t.Log(n)
		}
	}
	require.True(t, ok, "the request's server span, named after the route")
	parent := func(child, want string) {
		t.Helper()
		c, ok := byName[child]
		require.True(t, ok, "span %s", child)
		assert.Equal(t, byName[want].SpanContext.SpanID(), c.Parent.SpanID(), "%s under %s", child, want)
		assert.True(t, c.EndTime.After(c.StartTime) || c.EndTime.Equal(c.StartTime), child)
	}
	parent("minirag.Ask", "POST /v1/")
	parent("minirag.Search", "minirag.Ask")
	for _, stage := range []string{"search.dense", "search.lexical", "search.fuse", "search.load"} {
		parent(stage, "minirag.Search")
	}
	parent("ask.prompt", "minirag.Ask")
	parent("chat", "minirag.Ask")
	parent("POST /v1/chat/completions", "chat")
	for _, name := range []string{"minirag.Ask", "chat", "embed", "vectorstore.Search", "storage.SearchLexical", "storage.APITokenByHash"} {
		assert.Equal(t, server.SpanContext.TraceID(), byName[name].SpanContext.TraceID(), "%s in the request's trace", name)
	}
}

// TestMetricsEndpoint runs the server with MINIRAG_METRICS_ADDR: its own
// port serves the SDK's and the HTTP server's instruments in Prometheus
// format.
func TestMetricsEndpoint(t *testing.T) {
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		return ln.Addr().String()
	}
	addr, maddr := free(), free()
	prev := otel.GetMeterProvider()
	t.Cleanup(func() { otel.SetMeterProvider(prev) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, nil, Options{Addr: addr, Dir: t.TempDir(), Workers: 1, Getenv: envMap(map[string]string{"MINIRAG_METRICS_ADDR": maddr})})
	}()
	var resp *http.Response
	var err error
	require.Eventually(t, func() bool {
		resp, err = http.Post("http://"+addr+"/v1/tenants", "application/json",
			strings.NewReader(`{"name":"Acme","slug":"acme","owner_email":"owner@acme.example"}`))
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	resp.Body.Close()
	get := func(url string) (int, string) {
		r, err := http.Get(url)
		require.NoError(t, err)
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		return r.StatusCode, string(b)
	}
	code, _ := get("http://" + addr + "/readyz")
	assert.Equal(t, http.StatusOK, code)
	code, body := get("http://" + maddr + "/metrics")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "http_server_request_duration_seconds", "otelhttp's instruments")
	assert.Contains(t, body, `http_route="/readyz"`)
	code, _ = get("http://" + addr + "/metrics")
	assert.NotEqual(t, http.StatusOK, code, "metrics are not on the API's port")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}
