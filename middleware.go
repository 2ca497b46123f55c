package minirag

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

type principalKey struct{}

// ContextWithPrincipal returns a copy of ctx carrying p.
func ContextWithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the Principal stored by Middleware (or
// ContextWithPrincipal), and whether there is one.
func PrincipalFromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Middleware authenticates every request with the credential of its
// "Authorization: Bearer …" header (see Authenticate) and calls next with
// the Principal in the request's context (PrincipalFromContext). Without
// a valid credential it answers 401 with a "WWW-Authenticate: Bearer"
// header (RFC 6750) and a small JSON body
// ({"error":"unauthenticated","message":…}); when authentication itself
// fails (storage down) it answers 500 and logs the cause at error level;
// when the request's context ends during authentication (the client
// disconnected) it answers 499 ("cancelled", 504 "timeout" for a passed
// deadline) and logs nothing above debug level. The body never echoes the
// credential. MiddlewareWith lets the host write these answers in its own
// shape.
func (c *Client) Middleware(next http.Handler) http.Handler {
	return c.MiddlewareWith(MiddlewareOptions{})(next)
}

// MiddlewareOptions configures MiddlewareWith.
type MiddlewareOptions struct {
	// OnError, when set, writes the answer to a request the middleware
	// does not pass on, instead of the default JSON body. err is an
	// *AuthError: its Status is 401 (err matches ErrUnauthenticated; the
	// "WWW-Authenticate: Bearer" header is already set and must be kept),
	// 499 or 504 (the request's context ended during authentication: the
	// client went away or its deadline passed; err wraps the context
	// error; nothing is logged above debug level, as HTTPStatus maps the
	// same errors of a handler), or 500 (authentication is unavailable,
	// already logged; err wraps the cause, which is not for the client's
	// eyes: show Message only). OnError must write a status; neither err
	// nor Message holds the credential.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
}

// AuthError is the error MiddlewareOptions.OnError gets.
type AuthError struct {
	// Status is the HTTP status the middleware would answer: 401, 499,
	// 504 or 500.
	Status int
	// Message says what is wrong, safe to show to the client (for
	// example "invalid or expired token").
	Message string
	// Err is ErrUnauthenticated for a 401, the cause of the failure for
	// a 500.
	Err error
}

// Error returns "minirag: " and the Message (never the cause of a 500).
func (e *AuthError) Error() string { return "minirag: " + e.Message }

// Unwrap returns Err.
func (e *AuthError) Unwrap() error { return e.Err }

// MiddlewareWith returns Middleware configured by opts: a func wrapping a
// handler, as routers' middleware chains expect.
func (c *Client) MiddlewareWith(opts MiddlewareOptions) func(next http.Handler) http.Handler {
	fail := func(w http.ResponseWriter, r *http.Request, challenge string, e *AuthError) {
		if challenge != "" {
			w.Header().Set("WWW-Authenticate", challenge)
		}
		if opts.OnError != nil {
			opts.OnError(w, r, e)
			return
		}
		code := map[int]string{http.StatusUnauthorized: "unauthenticated", 499: "cancelled", http.StatusGatewayTimeout: "timeout"}[e.Status]
		if code == "" {
			code = "internal"
		}
		writeAuthError(w, e.Status, code, e.Message)
	}
	unauth := func(msg string) *AuthError {
		return &AuthError{Status: http.StatusUnauthorized, Message: msg, Err: ErrUnauthenticated}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := r.Header.Get("Authorization")
			if h == "" {
				fail(w, r, `Bearer realm="minirag"`, unauth("missing bearer token"))
				return
			}
			scheme, cred, ok := strings.Cut(h, " ")
			cred = strings.TrimSpace(cred)
			if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
				fail(w, r, `Bearer realm="minirag", error="invalid_request"`, unauth("the Authorization header must be: Bearer <token>"))
				return
			}
			p, err := c.Authenticate(r.Context(), cred)
			switch {
			case errors.Is(err, ErrUnauthenticated):
				fail(w, r, `Bearer realm="minirag", error="invalid_token"`, unauth("invalid or expired token"))
				return
			case err != nil && r.Context().Err() != nil:
				// The client went away (or the request's deadline passed)
				// during authentication: not a failure of the server, so no
				// error record; the status is HTTPStatus's, as a handler
				// answers the same cancellation (499, or 504).
				status := HTTPStatus(r.Context().Err())
				c.log.LogAttrs(r.Context(), slog.LevelDebug, "authentication abandoned", slog.String("error", r.Context().Err().Error()))
				fail(w, r, "", &AuthError{Status: status, Message: "the request was cancelled", Err: err})
				return
			case err != nil:
				c.log.LogAttrs(r.Context(), slog.LevelError, "authentication error", slog.String("error", err.Error()))
				fail(w, r, "", &AuthError{Status: http.StatusInternalServerError, Message: "authentication is unavailable", Err: err})
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithPrincipal(r.Context(), p)))
		})
	}
}

func writeAuthError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
