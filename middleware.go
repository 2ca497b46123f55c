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
// header (RFC 6750) and a small JSON body; when authentication itself
// fails (storage down) it answers 500. The body never echoes the
// credential.
func (c *Client) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			writeAuthError(w, http.StatusUnauthorized, `Bearer realm="minirag"`, "unauthenticated", "missing bearer token")
			return
		}
		scheme, cred, ok := strings.Cut(h, " ")
		cred = strings.TrimSpace(cred)
		if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
			writeAuthError(w, http.StatusUnauthorized, `Bearer realm="minirag", error="invalid_request"`, "unauthenticated", "the Authorization header must be: Bearer <token>")
			return
		}
		p, err := c.Authenticate(r.Context(), cred)
		switch {
		case errors.Is(err, ErrUnauthenticated):
			writeAuthError(w, http.StatusUnauthorized, `Bearer realm="minirag", error="invalid_token"`, "unauthenticated", "invalid or expired token")
			return
		case err != nil:
			c.log.LogAttrs(r.Context(), slog.LevelError, "authentication error", slog.String("error", err.Error()))
			writeAuthError(w, http.StatusInternalServerError, "", "internal", "authentication is unavailable")
			return
		}
		next.ServeHTTP(w, r.WithContext(ContextWithPrincipal(r.Context(), p)))
	})
}

func writeAuthError(w http.ResponseWriter, status int, challenge, code, msg string) {
	if challenge != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
