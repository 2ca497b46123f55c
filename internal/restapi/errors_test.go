package restapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/internal/openaitest"
)

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// loggedStack is newStack whose server logs (debug level) into the
// returned buffer.
func loggedStack(t *testing.T) (*stack, *logBuffer) {
	s := newStack(t, embeddedClient(t))
	logs := &logBuffer{}
	s.srv = httptest.NewServer(newServer(s.c, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	t.Cleanup(s.srv.Close)
	return s, logs
}

// internals are what an error body must never show: adapter and package
// names, the SDK's sentinel prefix, Go's parser texts.
var internals = []string{"sqlite", "postgres", "minirag:", "sql", "parsing time", "json:", "/tmp", "get bot"}

func assertClean(t *testing.T, body []byte) errorBody {
	t.Helper()
	e := apiErr(t, body)
	for _, s := range internals {
		assert.NotContains(t, strings.ToLower(e.Error.Message), s, "error message %q", e.Error.Message)
	}
	return e
}

// TestErrorBodiesClean: error bodies say what is wrong in a few words
// ("bot not found"), never the SDK's chain of operations and adapter
// texts ("get bot: sqlite: get bot: minirag: not found", which they used
// to be); the details go to the log.
func TestErrorBodiesClean(t *testing.T) {
	s, logs := loggedStack(t)
	a := s.bootstrap("acme")
	tok := a.APIToken.Token

	for path, want := range map[string]string{
		"/v1/bot-profiles/nope":        "bot not found",
		"/v1/sources/nope":             "source not found",
		"/v1/jobs/nope":                "job not found",
		"/v1/conversations/nope":       "conversation not found",
		"/v1/bot-profiles/nope/search": "bot not found",
		"/v1/sources/nope/ingest":      "source not found",
		"/v1/api-tokens/nope":          "API token not found",
	} {
		method, body := "GET", any(nil)
		switch {
		case strings.HasSuffix(path, "/search"):
			method, body = "POST", map[string]any{"query": "x"}
		case strings.HasSuffix(path, "/ingest"):
			method = "POST"
		case strings.HasPrefix(path, "/v1/api-tokens/"):
			method = "DELETE"
		}
		status, b := s.do(method, path, tok, body)
		assert.Equal(t, http.StatusNotFound, status, "%s %s: %s", method, path, b)
		e := assertClean(t, b)
		assert.Equal(t, "not_found", e.Error.Code)
		assert.Equal(t, want, e.Error.Message, "%s %s", method, path)
	}
	assert.Contains(t, logs.String(), "sqlite", "the details are logged")
	assert.Contains(t, logs.String(), "status=404")

	status, b := s.do("POST", "/v1/tenants", "", map[string]string{"name": "Again", "slug": "acme", "owner_email": "x@acme.example"})
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, "conflict: a tenant with this slug already exists", assertClean(t, b).Error.Message)

	var q struct{ Token string }
	s.ok(http.StatusCreated, "POST", "/v1/api-tokens", tok, map[string]any{"name": "q", "scopes": []string{"query"}}, &q)
	status, b = s.do("GET", "/v1/bot-profiles", q.Token, nil)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, "forbidden: the admin scope is required", assertClean(t, b).Error.Message)

	// Validation messages keep the field names.
	status, b = s.do("POST", "/v1/bot-profiles", tok, map[string]any{"name": "", "temperature": 3})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	e := assertClean(t, b)
	assert.True(t, strings.HasPrefix(e.Error.Message, "invalid input: "), e.Error.Message)
	assert.Contains(t, e.Error.Message, "temperature")
}

// TestEveryErrorJSON: a route no handler takes is a JSON 404 (or 405 with
// Allow), under /v1/ with a valid token and outside it (a /v1/ route
// used to answer Go's plain-text "404 page not found").
func TestEveryErrorJSON(t *testing.T) {
	s := newStack(t, embeddedClient(t))
	tok := s.bootstrap("acme").APIToken.Token
	for _, c := range []struct {
		method, path, token string
		status              int
		code                string
	}{
		{"GET", "/v1/nope", tok, http.StatusNotFound, "not_found"},
		{"GET", "/v1/bot-profiles/a/b/c", tok, http.StatusNotFound, "not_found"},
		{"PUT", "/v1/bot-profiles", tok, http.StatusMethodNotAllowed, "method_not_allowed"},
		{"GET", "/nope", "", http.StatusNotFound, "not_found"},
		{"GET", "/v1/tenants", "", http.StatusUnauthorized, "unauthenticated"},
	} {
		req, err := http.NewRequest(c.method, s.srv.URL+c.path, nil)
		require.NoError(t, err)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := s.srv.Client().Do(req)
		require.NoError(t, err)
		var e errorBody
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		require.NoError(t, err, "%s %s", c.method, c.path)
		assert.Equal(t, c.status, resp.StatusCode, "%s %s", c.method, c.path)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), "%s %s", c.method, c.path)
		assert.Equal(t, c.code, e.Error.Code, "%s %s", c.method, c.path)
		if c.status == http.StatusMethodNotAllowed {
			assert.NotEmpty(t, resp.Header.Get("Allow"))
		}
	}
}

// TestBadTimeIsFieldError: expires_at:"tomorrow" is a 422 naming the field
// (it used to be Go's time-parse text).
func TestBadTimeIsFieldError(t *testing.T) {
	s := newStack(t, embeddedClient(t))
	tok := s.bootstrap("acme").APIToken.Token
	status, b := s.do("POST", "/v1/api-tokens", tok, map[string]any{"name": "t", "scopes": []string{"query"}, "expires_at": "tomorrow"})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	e := assertClean(t, b)
	assert.Equal(t, []string{"expires_at"}, fieldNames(e))
	assert.Contains(t, e.Error.Fields[0].Message, "RFC 3339")
	status, _ = s.do("POST", "/v1/api-tokens", tok, map[string]any{"name": "t", "scopes": []string{"query"}, "expires_at": "2099-01-01T00:00:00Z"})
	assert.Equal(t, http.StatusCreated, status)
}

// TestScopeBeforeBody: a token without the scope a route needs gets 403
// whatever its body holds (a query token used to get 422 for a bad body
// on an admin route, learning the route's validation).
func TestScopeBeforeBody(t *testing.T) {
	s := newStack(t, embeddedClient(t))
	tok := s.bootstrap("acme").APIToken.Token
	bot := s.createBot(tok)
	var other minirag.Bot
	s.ok(http.StatusCreated, "POST", "/v1/bot-profiles", tok, map[string]any{"name": "Other"}, &other)
	var q struct{ Token string }
	s.ok(http.StatusCreated, "POST", "/v1/api-tokens", tok, map[string]any{"name": "q", "scopes": []string{"query"}, "bot_ids": []string{bot.ID}}, &q)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/bot-profiles", `{"name":"","colour":"blue"}`},
		{"PATCH", "/v1/bot-profiles/" + bot.ID, `{"temperature":"hot"}`},
		{"POST", "/v1/sources", `{`},
		{"PATCH", "/v1/sources/x", `{"config":1}`},
		{"POST", "/v1/api-tokens", `{"expires_at":"tomorrow"}`},
		{"POST", "/v1/sources/x/ingest", `{"force":"yes"}`},
		{"POST", "/v1/bot-profiles/" + other.ID + "/search", `{"query":""}`},
		{"POST", "/v1/bot-profiles/" + other.ID + "/chat", `{"question":5}`},
	} {
		status, b := s.do(c.method, c.path, q.Token, c.body)
		assert.Equal(t, http.StatusForbidden, status, "%s %s: %s", c.method, c.path, b)
		assert.Equal(t, "forbidden", apiErr(t, b).Error.Code)
	}
	// The allowed bot still validates the body.
	status, b := s.do("POST", "/v1/bot-profiles/"+bot.ID+"/search", q.Token, `{"query":""}`)
	assert.Equal(t, http.StatusUnprocessableEntity, status, string(b))
}

// TestModelFailureLogged: a failed model call (502) is logged with its
// cause, at warning level, without the provider key (it was not logged).
func TestModelFailureLogged(t *testing.T) {
	s, logs := loggedStack(t)
	tok := s.bootstrap("acme").APIToken.Token
	bot := s.createBot(tok)
	s.ingested(tok, bot.ID, "Storage", storageText)
	s.llm.FailNext(1, openaitest.Failure{Status: http.StatusBadRequest, Message: "model gpt-test does not exist"})
	status, b := s.do("POST", "/v1/bot-profiles/"+bot.ID+"/chat", tok, map[string]any{"question": "How long are samples kept?"})
	assert.Equal(t, http.StatusBadGateway, status, string(b))
	out := logs.String()
	assert.Contains(t, out, "level=WARN")
	assert.Contains(t, out, "status=502")
	assert.Contains(t, out, "does not exist")
	assert.NotContains(t, out, providerKey)
}

// TestJobShowsEffectiveMaxAttempts: a job without its own limit shows the
// worker's (it showed max_attempts:0).
func TestJobShowsEffectiveMaxAttempts(t *testing.T) {
	s := newStack(t, embeddedClient(t))
	tok := s.bootstrap("acme").APIToken.Token
	bot := s.createBot(tok)
	src := s.ingested(tok, bot.ID, "Storage", storageText)
	var jobs struct{ Data []map[string]any }
	s.ok(http.StatusOK, "GET", "/v1/jobs?source_id="+src.ID, tok, nil, &jobs)
	require.Len(t, jobs.Data, 1)
	assert.EqualValues(t, minirag.DefaultMaxAttempts, jobs.Data[0]["max_attempts"])
	var job map[string]any
	s.ok(http.StatusOK, "GET", "/v1/jobs/"+jobs.Data[0]["id"].(string), tok, nil, &job)
	assert.EqualValues(t, minirag.DefaultMaxAttempts, job["max_attempts"])
	s.ok(http.StatusAccepted, "POST", "/v1/sources/"+src.ID+"/ingest", tok, nil, &job)
	assert.EqualValues(t, minirag.DefaultMaxAttempts, job["max_attempts"])
}
