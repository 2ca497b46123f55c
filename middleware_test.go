package minirag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

func TestMiddleware(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	var seen Principal
	var called int
	h := e.c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called++
		p, ok := PrincipalFromContext(r.Context())
		require.True(t, ok)
		seen = p
		bots, err := e.c.Scoped(p).ListBots(r.Context())
		if err != nil {
			http.Error(w, err.Error(), HTTPStatus(err))
			return
		}
		fmt.Fprintf(w, "%d bots", len(bots))
	}))

	do := func(auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/v1/bots", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	w := do("Bearer " + b.Token.Plaintext)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "0 bots", w.Body.String())
	assert.Equal(t, b.Tenant.ID, seen.TenantID)
	assert.Equal(t, MethodAPIToken, seen.Method)
	w = do("bearer " + b.Token.Plaintext)
	assert.Equal(t, http.StatusOK, w.Code, "the scheme is case-insensitive")

	s, err := e.c.IssueSession(e.ctx, b.Tenant.ID, b.Owner.ID)
	require.NoError(t, err)
	w = do("Bearer " + s.Token)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, MethodJWT, seen.Method)

	calledBefore := called
	for name, auth := range map[string]string{
		"missing":        "",
		"basic":          "Basic dXNlcjpwYXNz",
		"no credential":  "Bearer ",
		"scheme only":    "Bearer",
		"invalid token":  "Bearer mrag_invalid",
		"unknown token":  "Bearer " + b.Token.Plaintext[:len(b.Token.Plaintext)-2] + "xx",
		"garbage jwt":    "Bearer a.b.c",
		"token no space": b.Token.Plaintext,
	} {
		w := do(auth)
		assert.Equal(t, http.StatusUnauthorized, w.Code, name)
		assert.Contains(t, w.Header().Get("WWW-Authenticate"), "Bearer", name)
		assert.Equal(t, "application/json", w.Header().Get("Content-Type"), name)
		var body map[string]string
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), name)
		assert.Equal(t, "unauthenticated", body["error"], name)
		assert.NotEmpty(t, body["message"], name)
		assert.NotContains(t, w.Body.String(), b.Token.Plaintext[5:], name)
	}
	assert.Equal(t, calledBefore, called, "next is never called without a principal")
	assert.Equal(t, `Bearer realm="minirag"`, do("").Header().Get("WWW-Authenticate"))
	assert.Contains(t, do("Bearer mrag_x").Header().Get("WWW-Authenticate"), `error="invalid_token"`)

	// A revoked token is refused on the next request.
	require.NoError(t, e.c.Tenant(b.Tenant.ID).RevokeAPIToken(e.ctx, b.Token.Token.ID))
	assert.Equal(t, http.StatusUnauthorized, do("Bearer "+b.Token.Plaintext).Code)
}

func TestMiddlewareStorageFailure(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	require.NoError(t, e.c.store.Close()) // storage down
	h := e.c.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next called") }))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+b.Token.Plaintext)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.NotContains(t, w.Body.String(), b.Token.Plaintext)
}

func TestPrincipalContext(t *testing.T) {
	_, ok := PrincipalFromContext(context.Background())
	assert.False(t, ok)
	p := Principal{TenantID: "t", Scopes: []Scope{ScopeQuery}}
	got, ok := PrincipalFromContext(ContextWithPrincipal(context.Background(), p))
	assert.True(t, ok)
	assert.Equal(t, p, got)
}

func TestHTTPStatus(t *testing.T) {
	for err, want := range map[error]int{
		nil:                                     200,
		ErrNotFound:                             404,
		fmt.Errorf("x: %w", ErrNotFound):        404,
		&ValidationError{}:                      422,
		fmt.Errorf("x: %w", ErrInvalidInput):    422,
		ErrUnauthenticated:                      401,
		ErrForbidden:                            403,
		ErrConflict:                             409,
		context.DeadlineExceeded:                504,
		fmt.Errorf("x: %w", context.Canceled):   499,
		errors.New("boom"):                      500,
		ErrNoEncryptionKey:                      500,
		fmt.Errorf("x: %w", ErrUnauthenticated): 401,
	} {
		assert.Equal(t, want, HTTPStatus(err), "%v", err)
	}
}

func TestMiddlewareWithOnError(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	var got []error
	mw := e.c.MiddlewareWith(MiddlewareOptions{OnError: func(w http.ResponseWriter, r *http.Request, err error) {
		got = append(got, err)
		var ae *AuthError
		require.True(t, errors.As(err, &ae))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(ae.Status)
		fmt.Fprintf(w, "host says: %s", ae.Message)
	}})
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	do := func(auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	w := do("Bearer " + b.Token.Plaintext)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "ok", w.Body.String())
	assert.Empty(t, got, "OnError called for a good credential")

	for auth, want := range map[string]struct{ challenge, msg string }{
		"":                   {`Bearer realm="minirag"`, "missing bearer token"},
		"Basic dXNlcjpwYXNz": {`Bearer realm="minirag", error="invalid_request"`, "the Authorization header must be: Bearer <token>"},
		"Bearer mrag_nope":   {`Bearer realm="minirag", error="invalid_token"`, "invalid or expired token"},
	} {
		got = nil
		w := do(auth)
		assert.Equal(t, http.StatusUnauthorized, w.Code, auth)
		assert.Equal(t, want.challenge, w.Header().Get("WWW-Authenticate"), "the challenge is kept with OnError: %q", auth)
		assert.Equal(t, "host says: "+want.msg, w.Body.String(), auth)
		require.Len(t, got, 1, auth)
		assert.ErrorIs(t, got[0], ErrUnauthenticated, auth)
		assert.Equal(t, http.StatusUnauthorized, HTTPStatus(got[0]), auth)
		assert.Equal(t, "minirag: "+want.msg, got[0].Error())
	}

	// Storage down: a 500 AuthError wrapping the cause, whose message
	// shows only the safe Message.
	got = nil
	require.NoError(t, e.c.store.Close())
	w = do("Bearer " + b.Token.Plaintext)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Empty(t, w.Header().Get("WWW-Authenticate"))
	assert.Equal(t, "host says: authentication is unavailable", w.Body.String())
	require.Len(t, got, 1)
	assert.NotErrorIs(t, got[0], ErrUnauthenticated)
	assert.Equal(t, "minirag: authentication is unavailable", got[0].Error())
	var ae *AuthError
	require.True(t, errors.As(got[0], &ae))
	assert.Error(t, ae.Err, "the cause is kept for the host's logs")
	assert.NotContains(t, got[0].Error(), b.Token.Plaintext)
}

// blockingAuthStore blocks API token lookups until the request's context
// ends, then fails with the context's error (as a database driver does
// when its query is cancelled).
type blockingAuthStore struct {
	storage.Storage
	entered chan struct{}
}

func (s blockingAuthStore) APITokenByHash(ctx context.Context, hash []byte) (record.APIToken, error) {
	s.entered <- struct{}{}
	<-ctx.Done()
	return record.APIToken{}, fmt.Errorf("store: get token: %w", ctx.Err())
}

// TestMiddlewareClientGoneDuringAuth: a client that disconnects while its
// credential is being checked is answered 499 (504 when the request's
// deadline passed), as handlers answer the same cancellation, and nothing
// is logged at error level (it used to be 500 "authentication is
// unavailable" with an ERROR record per request).
func TestMiddlewareClientGoneDuringAuth(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	bs := blockingAuthStore{Storage: e.c.store, entered: make(chan struct{}, 1)}
	e.c.store = bs
	var got []*AuthError
	plain := e.c.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next called") }))
	custom := e.c.MiddlewareWith(MiddlewareOptions{OnError: func(w http.ResponseWriter, r *http.Request, err error) {
		var ae *AuthError
		require.ErrorAs(t, err, &ae)
		got = append(got, ae)
		w.WriteHeader(ae.Status)
	}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next called") }))

	for _, tc := range []struct {
		name   string
		end    func(ctx context.Context) (context.Context, func())
		status int
		code   string
	}{
		{"disconnect", func(ctx context.Context) (context.Context, func()) {
			ctx, cancel := context.WithCancel(ctx)
			go func() { <-bs.entered; cancel() }()
			return ctx, cancel
		}, 499, "cancelled"},
		{"deadline", func(ctx context.Context) (context.Context, func()) {
			go func() { <-bs.entered }()
			return context.WithTimeout(ctx, 20*time.Millisecond)
		}, http.StatusGatewayTimeout, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, h := range []http.Handler{plain, custom} {
				ctx, cancel := tc.end(t.Context())
				r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
				r.Header.Set("Authorization", "Bearer "+b.Token.Plaintext)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				cancel()
				assert.Equal(t, tc.status, w.Code)
				if i == 0 {
					var body map[string]string
					require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
					assert.Equal(t, tc.code, body["error"])
				}
			}
			require.Len(t, got, 1)
			assert.Equal(t, tc.status, got[0].Status)
			got = nil
		})
	}
	assert.NotContains(t, e.logs.String(), "level=ERROR")
	assert.NotContains(t, e.logs.String(), "authentication error")
}
