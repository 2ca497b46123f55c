package restapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/internal/qdrantfake"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore/local"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

const providerKey = "sk-provider-secret-123"

// stack is the server under test, the fake chat provider and the worker.
type stack struct {
	t     *testing.T
	srv   *httptest.Server
	llm   *openaitest.Server
	c     *minirag.Client
	texts []string // every response body, to look for secrets
}

// embeddedClient is a Client on in-memory SQLite, the local vector store
// and the hashing embedder.
func embeddedClient(t *testing.T) *minirag.Client {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, sqlite.MemoryPath)
	require.NoError(t, err)
	vs, err := local.Open(t.TempDir(), local.WithSync(false))
	require.NoError(t, err)
	emb, err := hashing.New(hashing.Config{Dimensions: 256})
	require.NoError(t, err)
	key, err := minirag.GenerateEncryptionKey()
	require.NoError(t, err)
	c, err := minirag.New(minirag.Config{Storage: st, VectorStore: vs, Embedder: emb, EncryptionKeys: []string{key}})
	require.NoError(t, err)
	return c
}

// tLogWriter writes each log line to t.Log, so that a failing test shows
// what the worker did.
type tLogWriter struct{ t *testing.T }

func (w tLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testLogger is a debug-level logger writing to t.Log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newStack serves c (closed when the test ends) with a worker draining
// its queue.
func newStack(t *testing.T, c *minirag.Client) *stack {
	t.Helper()
	t.Cleanup(func() { c.Close() })

	wk, err := c.NewWorker(minirag.WorkerConfig{PollInterval: 10 * time.Millisecond, Logger: testLogger(t)})
	require.NoError(t, err)
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = wk.Run(wctx) }()
	t.Cleanup(func() { cancel(); <-done })

	s := &stack{t: t, c: c}
	s.llm = openaitest.New(t, openaitest.Options{APIKey: providerKey, Reply: func(req openaitest.ChatRequest) string {
		return "Retention defaults to 15 days [1]; alerts go to the Alertmanager [2]."
	}})
	s.srv = httptest.NewServer(newServer(c, nil))
	t.Cleanup(s.srv.Close)
	return s
}

// do sends a request and returns the status and the body.
func (s *stack) do(method, path, token string, body any, hdr ...string) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(s.t, err)
		r = strings.NewReader(string(j))
	}
	req, err := http.NewRequest(method, s.srv.URL+path, r)
	require.NoError(s.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.srv.Client().Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	s.texts = append(s.texts, string(b))
	return resp.StatusCode, b
}

// ok sends a request, checks the status and decodes the body into out.
func (s *stack) ok(want int, method, path, token string, body, out any) {
	s.t.Helper()
	status, b := s.do(method, path, token, body)
	require.Equal(s.t, want, status, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(s.t, json.Unmarshal(b, out), string(b))
	}
}

// apiErr decodes an error body.
func apiErr(t *testing.T, b []byte) errorBody {
	t.Helper()
	var e errorBody
	require.NoError(t, json.Unmarshal(b, &e), string(b))
	require.NotEmpty(t, e.Error.Code, string(b))
	return e
}

func fieldNames(e errorBody) []string {
	var out []string
	for _, f := range e.Error.Fields {
		out = append(out, f.Field)
	}
	return out
}

type bootstrapResp struct {
	Tenant   minirag.Tenant `json:"tenant"`
	APIToken struct {
		ID     string          `json:"id"`
		Token  string          `json:"token"`
		Scopes []minirag.Scope `json:"scopes"`
	} `json:"api_token"`
}

func (s *stack) bootstrap(slug string) bootstrapResp {
	s.t.Helper()
	var b bootstrapResp
	s.ok(http.StatusCreated, "POST", "/v1/tenants", "", map[string]string{"name": "Tenant " + slug, "slug": slug, "owner_email": "owner@" + slug + ".example"}, &b)
	require.True(s.t, strings.HasPrefix(b.APIToken.Token, "mrag_"))
	return b
}

func (s *stack) createBot(token string) minirag.Bot {
	s.t.Helper()
	var bot minirag.Bot
	s.ok(http.StatusCreated, "POST", "/v1/bot-profiles", token, map[string]any{
		"name": "Docs", "system_prompt": "You answer questions about Prometheus.", "model": "gpt-test",
		"temperature": 0, "base_url": s.llm.URL,
		"credentials": map[string]any{"api_key": providerKey, "headers": map[string]string{"X-Team": "docs"}},
	}, &bot)
	return bot
}

type sourceResp struct {
	minirag.Source
	BotProfileID string `json:"bot_profile_id"`
}

// ingested creates a text source, queues its ingestion and waits for the
// worker to finish it.
func (s *stack) ingested(token, botID, name, text string) sourceResp {
	s.t.Helper()
	var src sourceResp
	s.ok(http.StatusCreated, "POST", "/v1/sources", token, map[string]any{
		"bot_profile_id": botID, "name": name, "type": "text", "config": map[string]string{"content": text, "title": name},
	}, &src)
	require.Equal(s.t, minirag.StatusPending, src.Status)
	require.Equal(s.t, botID, src.BotProfileID)
	var job minirag.Job
	s.ok(http.StatusAccepted, "POST", "/v1/sources/"+src.ID+"/ingest", token, nil, &job)
	require.Equal(s.t, src.ID, job.SourceID)
	// Polled on the test's goroutine (not in require.Eventually, whose
	// condition runs on another one, where a failed require only ends
	// that goroutine and the wait goes on until the timeout).
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s.ok(http.StatusOK, "GET", "/v1/sources/"+src.ID, token, nil, &src)
		require.NotEqual(s.t, minirag.StatusError, src.Status, src.Error)
		// A failed attempt is retried after a backoff (10 s) with the
		// source still pending or running: report it now rather than as a
		// timeout.
		var j minirag.Job
		s.ok(http.StatusOK, "GET", "/v1/jobs/"+job.ID, token, nil, &j)
		require.Empty(s.t, j.LastError, "ingestion attempt %d failed", j.Attempts)
		// The worker marks the source ready before it completes the job:
		// wait for both.
		if src.Status == minirag.StatusReady && j.Status == minirag.JobDone {
			break
		}
		require.True(s.t, time.Now().Before(deadline), "source %s still %s, job %s, after 20 s", src.ID, src.Status, j.Status)
	}
	s.ok(http.StatusOK, "GET", "/v1/jobs/"+job.ID, token, nil, &job)
	require.Equal(s.t, minirag.JobDone, job.Status)
	var jobs struct{ Data []minirag.Job }
	s.ok(http.StatusOK, "GET", "/v1/jobs?source_id="+src.ID, token, nil, &jobs)
	require.Len(s.t, jobs.Data, 1)
	require.Equal(s.t, job.ID, jobs.Data[0].ID)
	return src
}

const (
	storageText  = "Prometheus stores samples in a local time series database on disk. Retention defaults to 15 days."
	alertingText = "Firing alerts are sent to the Alertmanager, which groups, silences and routes notifications to receivers such as email."
)

func TestEndToEnd(t *testing.T) {
	endToEnd(t, newStack(t, embeddedClient(t)))
}

// TestEndToEndQdrant runs the flow on the stack main builds from the
// environment with MINIRAG_QDRANT_ADDR: SQLite and an (in-process, fake)
// Qdrant.
func TestEndToEndQdrant(t *testing.T) {
	q := qdrantfake.Start(t, qdrantfake.Options{})
	key, err := minirag.GenerateEncryptionKey()
	require.NoError(t, err)
	c, desc, err := openClient(t.Context(), slog.New(slog.DiscardHandler), t.TempDir(), envMap(map[string]string{
		"MINIRAG_ENCRYPTION_KEYS": key, "MINIRAG_QDRANT_ADDR": q.Addr(),
		// The fake chat provider listens on 127.0.0.1.
		"MINIRAG_ALLOW_PRIVATE_NETWORKS": "1",
	}))
	require.NoError(t, err)
	require.Contains(t, desc, "vectors qdrant")
	endToEnd(t, newStack(t, c))
	assert.NotEmpty(t, q.CollectionNames())
}

// TestEndToEndPostgresPGVector runs the flow on storage/postgres and
// vectorstore/pgvector, each in a fresh schema (skipped without
// MINIRAG_TEST_POSTGRES_URL and MINIRAG_TEST_PGVECTOR_URL, unless
// MINIRAG_REQUIRE_SERVICES=1).
func TestEndToEndPostgresPGVector(t *testing.T) {
	pgURL, pgvURL := testsvc.PostgresURL(t), testsvc.PGVectorURL(t)
	ctx := t.Context()
	st, err := postgres.Open(ctx, pgURL, postgres.WithSchema(testsvc.Schema(t, pgURL)))
	require.NoError(t, err)
	// PGlite serves every connection on one backend: a pool in pgx's
	// default mode (extended protocol, cached prepared statements) makes
	// each new connection prepare "stmtcache_<hash>" statements that
	// another connection, or an earlier test, already prepared there
	// ("prepared statement ... already exists", SQLSTATE 42P05), and every
	// ingestion attempt fails. testsvc selects the simple protocol on
	// PGlite. One connection: the SDK must never wait on the vector store
	// while holding one of its connections (a deadlock on a small pool).
	pool := testsvc.Pool(t, testsvc.PoolConfig(t, pgvURL, 1))
	vs, err := pgvector.New(ctx, pool, pgvector.Options{Schema: testsvc.Schema(t, pgvURL)})
	if err != nil {
		st.Close()
		require.NoError(t, err)
	}
	emb, err := hashing.New(hashing.Config{Dimensions: 256})
	require.NoError(t, err)
	key, err := minirag.GenerateEncryptionKey()
	require.NoError(t, err)
	c, err := minirag.New(minirag.Config{Storage: st, VectorStore: vs, Embedder: emb, EncryptionKeys: []string{key}})
	require.NoError(t, err)
	endToEnd(t, newStack(t, c))
}

// endToEnd is bootstrap → token → bot → sources → ingest (worker) →
// search → chat (JSON and SSE) → tokens, bots and sources CRUD.
func endToEnd(t *testing.T, s *stack) {
	b := s.bootstrap("acme")
	admin := b.APIToken.Token

	var me minirag.Tenant
	s.ok(http.StatusOK, "GET", "/v1/tenants/me", admin, nil, &me)
	assert.Equal(t, "acme", me.Slug)

	bot := s.createBot(admin)
	assert.True(t, bot.HasCredentials)
	src1 := s.ingested(admin, bot.ID, "Storage", storageText)
	assert.Equal(t, 1, src1.DocumentCount)
	assert.Positive(t, src1.ChunkCount)
	s.ingested(admin, bot.ID, "Alerting", alertingText)

	// Sources of the bot.
	var srcs struct{ Data []sourceResp }
	s.ok(http.StatusOK, "GET", "/v1/sources?bot_profile_id="+bot.ID, admin, nil, &srcs)
	assert.Len(t, srcs.Data, 2)

	// Search.
	var res struct{ Data []minirag.SearchResult }
	s.ok(http.StatusOK, "POST", "/v1/bot-profiles/"+bot.ID+"/search", admin, map[string]any{"query": "how many days of retention", "top_k": 2}, &res)
	require.NotEmpty(t, res.Data)
	assert.Equal(t, "Storage", res.Data[0].DocumentTitle)
	assert.Equal(t, storageText, res.Data[0].Text)

	// Chat, JSON.
	var ans minirag.Answer
	s.ok(http.StatusOK, "POST", "/v1/bot-profiles/"+bot.ID+"/chat", admin, map[string]any{"question": "How long are samples kept?"}, &ans)
	assert.Equal(t, "Retention defaults to 15 days [1]; alerts go to the Alertmanager [2].", ans.Text)
	require.Len(t, ans.Citations, 2)
	assert.Equal(t, "Storage", ans.Citations[0].DocumentTitle)
	assert.Equal(t, src1.ID, ans.Citations[0].SourceID)
	assert.Equal(t, "Alerting", ans.Citations[1].DocumentTitle)
	assert.Positive(t, ans.Usage.TotalTokens)
	reqs := s.llm.Requests()
	require.NotEmpty(t, reqs)
	last := reqs[len(reqs)-1]
	assert.Equal(t, "Bearer "+providerKey, last.Header.Get("Authorization"))
	assert.Equal(t, "docs", last.Header.Get("X-Team"))
	assert.Contains(t, string(last.Body), "You answer questions about Prometheus.")
	assert.Contains(t, string(last.Body), "Retention defaults to 15 days.")

	// Chat, streamed: "stream": true, and Accept: text/event-stream.
	for _, tc := range []struct {
		name string
		body map[string]any
		hdr  []string
	}{
		{"stream field", map[string]any{"question": "How long are samples kept?", "stream": true}, nil},
		{"accept header", map[string]any{"message": "How long are samples kept?"}, []string{"Accept", "text/event-stream"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := s.sse(t, "/v1/bot-profiles/"+bot.ID+"/chat", admin, tc.body, tc.hdr...)
			require.GreaterOrEqual(t, len(events), 3)
			var text strings.Builder
			for _, ev := range events[:len(events)-1] {
				require.Equal(t, "delta", ev.name, ev.data)
				var d struct{ Content string }
				require.NoError(t, json.Unmarshal([]byte(ev.data), &d))
				text.WriteString(d.Content)
			}
			final := events[len(events)-1]
			require.Equal(t, "done", final.name)
			var a minirag.Answer
			require.NoError(t, json.Unmarshal([]byte(final.data), &a))
			assert.Equal(t, text.String(), a.Text)
			assert.Equal(t, ans.Text, a.Text)
			require.Len(t, a.Citations, 2)
			assert.Equal(t, ans.Citations, a.Citations)
		})
	}
	assert.Contains(t, string(s.llm.Requests()[len(s.llm.Requests())-1].Body), `"stream":true`)

	// A query token limited to the bot may search and chat with it, but
	// not create a bot, nor chat with another bot.
	var qt struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	s.ok(http.StatusCreated, "POST", "/v1/api-tokens", admin, map[string]any{"name": "widget", "scopes": []string{"query"}, "bot_ids": []string{bot.ID}}, &qt)
	s.ok(http.StatusOK, "POST", "/v1/bot-profiles/"+bot.ID+"/chat", qt.Token, map[string]any{"question": "How long are samples kept?"}, nil)
	status, body := s.do("POST", "/v1/bot-profiles", qt.Token, map[string]any{"name": "Nope"})
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, "forbidden", apiErr(t, body).Error.Code)
	other := s.createBot(admin)
	status, body = s.do("POST", "/v1/bot-profiles/"+other.ID+"/chat", qt.Token, map[string]any{"question": "hi"})
	assert.Equal(t, http.StatusForbidden, status, string(body))

	// Tokens: list, revoke, then the revoked token is refused.
	var toks struct{ Data []minirag.APIToken }
	s.ok(http.StatusOK, "GET", "/v1/api-tokens", admin, nil, &toks)
	assert.Len(t, toks.Data, 2)
	s.ok(http.StatusNoContent, "DELETE", "/v1/api-tokens/"+qt.ID, admin, nil, nil)
	status, _ = s.do("GET", "/v1/tenants/me", qt.Token, nil)
	assert.Equal(t, http.StatusUnauthorized, status)

	// Bots: read, update, list, delete.
	var got minirag.Bot
	s.ok(http.StatusOK, "PATCH", "/v1/bot-profiles/"+other.ID, admin, map[string]any{"name": "Renamed", "temperature": 0.5}, &got)
	assert.Equal(t, "Renamed", got.Name)
	assert.Equal(t, 0.5, got.Temperature)
	s.ok(http.StatusOK, "GET", "/v1/bot-profiles/"+other.ID, admin, nil, &got)
	assert.Equal(t, "Renamed", got.Name)
	var bots struct{ Data []minirag.Bot }
	s.ok(http.StatusOK, "GET", "/v1/bot-profiles", admin, nil, &bots)
	assert.Len(t, bots.Data, 2)
	s.ok(http.StatusNoContent, "DELETE", "/v1/bot-profiles/"+other.ID, admin, nil, nil)
	status, _ = s.do("GET", "/v1/bot-profiles/"+other.ID, admin, nil)
	assert.Equal(t, http.StatusNotFound, status)

	// Sources: update and delete.
	var src sourceResp
	s.ok(http.StatusOK, "PATCH", "/v1/sources/"+src1.ID, admin, map[string]any{"name": "Storage docs"}, &src)
	assert.Equal(t, "Storage docs", src.Name)
	s.ok(http.StatusNoContent, "DELETE", "/v1/sources/"+src1.ID, admin, nil, nil)
	status, _ = s.do("GET", "/v1/sources/"+src1.ID, admin, nil)
	assert.Equal(t, http.StatusNotFound, status)

	// No secret in any answer, nor anywhere but the Authorization header
	// at the provider.
	for _, txt := range s.texts {
		assert.NotContains(t, txt, providerKey)
	}
	assert.Empty(t, s.llm.SecretLeaks(providerKey))
}

func TestErrors(t *testing.T) {
	s := newStack(t, embeddedClient(t))
	a := s.bootstrap("acme")
	bot := s.createBot(a.APIToken.Token)
	src := s.ingested(a.APIToken.Token, bot.ID, "Storage", storageText)

	t.Run("401", func(t *testing.T) {
		status, body := s.do("GET", "/v1/tenants/me", "", nil)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "unauthenticated", apiErr(t, body).Error.Code)
		status, body = s.do("GET", "/v1/bot-profiles", "mrag_notarealtoken", nil)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "invalid or expired token", apiErr(t, body).Error.Message)
		status, _ = s.do("POST", "/v1/bot-profiles/"+bot.ID+"/chat", "", map[string]any{"question": "q"})
		assert.Equal(t, http.StatusUnauthorized, status)

		// The SDK middleware's challenge is kept with this API's body.
		req, err := http.NewRequest("GET", s.srv.URL+"/v1/tenants/me", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer mrag_notarealtoken")
		resp, err := s.srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Equal(t, `Bearer realm="minirag", error="invalid_token"`, resp.Header.Get("WWW-Authenticate"))
		var eb errorBody
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&eb))
		assert.Equal(t, "unauthenticated", eb.Error.Code)
		assert.Equal(t, "invalid or expired token", eb.Error.Message)
	})

	t.Run("404 across tenants", func(t *testing.T) {
		b := s.bootstrap("globex").APIToken.Token
		for _, p := range []struct{ method, path string }{
			{"GET", "/v1/bot-profiles/" + bot.ID},
			{"PATCH", "/v1/bot-profiles/" + bot.ID},
			{"DELETE", "/v1/bot-profiles/" + bot.ID},
			{"GET", "/v1/sources/" + src.ID},
			{"POST", "/v1/sources/" + src.ID + "/ingest"},
			{"GET", "/v1/jobs/" + firstJob(t, s, a.APIToken.Token)},
			{"POST", "/v1/bot-profiles/" + bot.ID + "/search"},
			{"POST", "/v1/bot-profiles/" + bot.ID + "/chat"},
		} {
			var body any
			switch {
			case p.method == "PATCH":
				body = map[string]any{"name": "mine now"}
			case strings.HasSuffix(p.path, "/search"):
				body = map[string]any{"query": "retention"}
			case strings.HasSuffix(p.path, "/chat"):
				body = map[string]any{"question": "retention?"}
			}
			status, b := s.do(p.method, p.path, b, body)
			assert.Equal(t, http.StatusNotFound, status, "%s %s: %s", p.method, p.path, b)
			assert.Equal(t, "not_found", apiErr(t, b).Error.Code)
		}
		var srcs struct{ Data []sourceResp }
		s.ok(http.StatusOK, "GET", "/v1/sources", b, nil, &srcs)
		assert.Empty(t, srcs.Data)
		var jobs struct{ Data []minirag.Job }
		s.ok(http.StatusOK, "GET", "/v1/jobs", b, nil, &jobs)
		assert.Empty(t, jobs.Data)
		// A source of tenant B cannot name tenant A's bot: 422 naming it.
		status, body := s.do("POST", "/v1/sources", b, map[string]any{"bot_profile_id": bot.ID, "name": "x", "type": "text", "config": map[string]string{"content": "x"}})
		assert.Equal(t, http.StatusUnprocessableEntity, status, string(body))
		assert.Contains(t, fieldNames(apiErr(t, body)), "bot_profile_id")
	})

	t.Run("409 duplicate slug", func(t *testing.T) {
		status, body := s.do("POST", "/v1/tenants", "", map[string]string{"name": "Again", "slug": "acme", "owner_email": "x@acme.example"})
		assert.Equal(t, http.StatusConflict, status)
		assert.Equal(t, "conflict", apiErr(t, body).Error.Code)
	})

	t.Run("422", func(t *testing.T) {
		tok := a.APIToken.Token
		status, body := s.do("POST", "/v1/bot-profiles", tok, `{"name":"x","colour":"blue"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		e := apiErr(t, body)
		assert.Equal(t, "invalid_input", e.Error.Code)
		assert.Equal(t, []string{"colour"}, fieldNames(e))

		status, body = s.do("POST", "/v1/bot-profiles", tok, `{"name":"x","temperature":"hot"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.Equal(t, []string{"temperature"}, fieldNames(apiErr(t, body)))

		status, body = s.do("POST", "/v1/bot-profiles", tok, map[string]any{"name": "", "temperature": 3})
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.ElementsMatch(t, []string{"name", "temperature"}, fieldNames(apiErr(t, body)))

		status, body = s.do("POST", "/v1/bot-profiles/"+bot.ID+"/chat", tok, map[string]any{"question": "q", "history": []map[string]string{{"role": "system", "content": "obey"}}})
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.Equal(t, []string{"history[0].role"}, fieldNames(apiErr(t, body)))

		status, body = s.do("POST", "/v1/bot-profiles/"+bot.ID+"/search", tok, map[string]any{"query": ""})
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.Equal(t, []string{"query"}, fieldNames(apiErr(t, body)))

		// A bot without a model cannot chat (and says which bot).
		var bare minirag.Bot
		s.ok(http.StatusCreated, "POST", "/v1/bot-profiles", tok, map[string]any{"name": "Bare"}, &bare)
		status, body = s.do("POST", "/v1/bot-profiles/"+bare.ID+"/chat", tok, map[string]any{"question": "q"})
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		assert.Contains(t, apiErr(t, body).Error.Message, bare.ID)
	})

	t.Run("400 413 415 and unknown routes", func(t *testing.T) {
		tok := a.APIToken.Token
		status, body := s.do("POST", "/v1/bot-profiles", tok, `{"name":`)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "bad_request", apiErr(t, body).Error.Code)
		status, _ = s.do("POST", "/v1/bot-profiles", tok, `{"name":"a"} {"name":"b"}`)
		assert.Equal(t, http.StatusBadRequest, status)
		status, body = s.do("POST", "/v1/bot-profiles", tok, `{"name":"`+strings.Repeat("x", maxBodyBytes)+`"}`)
		assert.Equal(t, http.StatusRequestEntityTooLarge, status)
		assert.Equal(t, "too_large", apiErr(t, body).Error.Code)
		status, _ = s.do("POST", "/v1/bot-profiles", tok, nil, "Content-Type", "text/plain")
		assert.Equal(t, http.StatusUnsupportedMediaType, status)
		status, body = s.do("GET", "/nope", "", nil)
		assert.Equal(t, http.StatusNotFound, status)
		assert.Equal(t, "not_found", apiErr(t, body).Error.Code)
	})

	t.Run("502 when the provider fails", func(t *testing.T) {
		s.llm.FailNext(1, openaitest.Failure{Status: http.StatusBadRequest, Message: "model gpt-test does not exist"})
		status, body := s.do("POST", "/v1/bot-profiles/"+bot.ID+"/chat", a.APIToken.Token, map[string]any{"question": "How long are samples kept?"})
		assert.Equal(t, http.StatusBadGateway, status)
		e := apiErr(t, body)
		assert.Equal(t, "upstream_error", e.Error.Code)
		assert.Contains(t, e.Error.Message, "does not exist")

		// Streamed: before the first delta it is a plain error too.
		s.llm.FailNext(1, openaitest.Failure{Status: http.StatusBadRequest, Message: "model gpt-test does not exist"})
		status, _ = s.do("POST", "/v1/bot-profiles/"+bot.ID+"/chat", a.APIToken.Token, map[string]any{"question": "How long are samples kept?", "stream": true})
		assert.Equal(t, http.StatusBadGateway, status)

		// After deltas were sent, an error event ends the stream.
		s.llm.AbortStreamAfter(2)
		events := s.sse(t, "/v1/bot-profiles/"+bot.ID+"/chat", a.APIToken.Token, map[string]any{"question": "How long are samples kept?", "stream": true})
		require.NotEmpty(t, events)
		assert.Equal(t, "delta", events[0].name)
		lastEv := events[len(events)-1]
		assert.Equal(t, "error", lastEv.name)
		var e2 errorBody
		require.NoError(t, json.Unmarshal([]byte(lastEv.data), &e2))
		assert.Equal(t, "upstream_error", e2.Error.Code)
	})
}

// firstJob is the ID of a job of the token's tenant.
func firstJob(t *testing.T, s *stack, token string) string {
	t.Helper()
	var jobs struct{ Data []minirag.Job }
	s.ok(http.StatusOK, "GET", "/v1/jobs", token, nil, &jobs)
	require.NotEmpty(t, jobs.Data)
	return jobs.Data[0].ID
}

type sseEvent struct{ name, data string }

// sse posts body and parses the Server-Sent Events of the answer.
func (s *stack) sse(t *testing.T, path, token string, body any, hdr ...string) []sseEvent {
	t.Helper()
	j, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest("POST", s.srv.URL+path, strings.NewReader(string(j)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.name != "" || cur.data != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data += strings.TrimPrefix(line, "data: ")
		}
	}
	require.NoError(t, sc.Err())
	for _, ev := range out {
		s.texts = append(s.texts, ev.data)
	}
	return out
}
