package minirag_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage/sqlite"
)

// newClient opens a Client on an in-memory SQLite database with a fresh
// encryption key. A real host reads its keys from a secret manager.
func newClient(ctx context.Context) *minirag.Client {
	st, err := sqlite.Open(ctx, sqlite.MemoryPath)
	if err != nil {
		log.Fatal(err)
	}
	key, err := minirag.GenerateEncryptionKey()
	if err != nil {
		log.Fatal(err)
	}
	c, err := minirag.New(minirag.Config{
		Storage:        st,
		EncryptionKeys: []string{key},
		JWT:            minirag.JWTConfig{Secret: []byte("an-hs256-secret-of-at-least-32-bytes"), Issuer: "example"},
	})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

func ExampleNew() {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.MemoryPath) // or a file path
	if err != nil {
		log.Fatal(err)
	}
	key, err := minirag.GenerateEncryptionKey()
	if err != nil {
		log.Fatal(err)
	}
	cfg := minirag.Config{
		Storage:        st, // the Client owns it: Close closes it
		EncryptionKeys: []string{key},
		JWT:            minirag.JWTConfig{Secret: []byte("an-hs256-secret-of-at-least-32-bytes")},
	}
	c, err := minirag.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// A Config prints without its secrets.
	fmt.Println(cfg.JWT)
	fmt.Println(strings.Contains(fmt.Sprint(cfg), key))
	// Output:
	// minirag.JWTConfig{Algorithm:HS256, keys:[REDACTED], Issuer:"", Audience:"", TTL:0s, Leeway:0s}
	// false
}

func ExampleClient_CreateTenant() {
	ctx := context.Background()
	c := newClient(ctx)
	defer c.Close()

	b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{
		Name:       "Acme",
		Slug:       "acme",
		OwnerEmail: "Alice@Acme.example",
		OwnerName:  "Alice",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.Tenant.Slug, b.Owner.Email, b.Owner.Role)
	// The plaintext is returned this once; only its SHA-256 is stored.
	fmt.Println(strings.HasPrefix(b.Token.Plaintext, minirag.APITokenPrefix), len(b.Token.Plaintext), b.Token.Token.Scopes)

	_, err = c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Again", Slug: "acme", OwnerEmail: "bob@acme.example"})
	fmt.Println(errors.Is(err, minirag.ErrConflict))
	_, err = c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Bad", Slug: "No Spaces", OwnerEmail: "bob"})
	fmt.Println(err)
	// Output:
	// acme alice@acme.example owner
	// true 48 [admin]
	// true
	// minirag: invalid input: slug: must be 3 to 63 lowercase letters, digits or hyphens, starting and ending with a letter or digit; owner_email: must be a valid email address
}

func ExampleClient_Authenticate() {
	ctx := context.Background()
	c := newClient(ctx)
	defer c.Close()
	b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "alice@acme.example"})
	if err != nil {
		log.Fatal(err)
	}

	// An API token.
	p, err := c.Authenticate(ctx, b.Token.Plaintext)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Method, p.TenantID == b.Tenant.ID, p.Scopes)

	// A JWT session.
	s, err := c.IssueSession(ctx, b.Tenant.ID, b.Owner.ID)
	if err != nil {
		log.Fatal(err)
	}
	p, err = c.Authenticate(ctx, s.Token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Method, p.UserID == b.Owner.ID, p.Scopes)

	// A revoked token is refused at once.
	if err := c.Scoped(p).RevokeAPIToken(ctx, b.Token.Token.ID); err != nil {
		log.Fatal(err)
	}
	_, err = c.Authenticate(ctx, b.Token.Plaintext)
	fmt.Println(err, minirag.HTTPStatus(err))
	// Output:
	// api_token true [admin]
	// jwt true [admin query]
	// minirag: unauthenticated: API token revoked 401
}

func ExampleClient_Middleware() {
	ctx := context.Background()
	c := newClient(ctx)
	defer c.Close()
	b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "alice@acme.example"})
	if err != nil {
		log.Fatal(err)
	}

	api := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := minirag.PrincipalFromContext(r.Context())
		bots, err := c.Scoped(p).ListBots(r.Context())
		if err != nil {
			http.Error(w, err.Error(), minirag.HTTPStatus(err))
			return
		}
		fmt.Fprintf(w, "%d bots\n", len(bots))
	}))

	for _, auth := range []string{"Bearer " + b.Token.Plaintext, "", "Bearer mrag_forged"} {
		r := httptest.NewRequest(http.MethodGet, "/v1/bots", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Header().Get("WWW-Authenticate"), " ", w.Body.String())
	}
	// Output:
	// 200  0 bots
	// 401 Bearer realm="minirag" {"error":"unauthenticated","message":"missing bearer token"}
	// 401 Bearer realm="minirag", error="invalid_token" {"error":"unauthenticated","message":"invalid or expired token"}
}

func ExampleClient_MiddlewareWith() {
	ctx := context.Background()
	c := newClient(ctx)
	defer c.Close()

	// The host writes refusals in its own error shape; the middleware has
	// set the WWW-Authenticate challenge already.
	mw := c.MiddlewareWith(minirag.MiddlewareOptions{OnError: func(w http.ResponseWriter, r *http.Request, err error) {
		var ae *minirag.AuthError
		errors.As(err, &ae)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(ae.Status)
		fmt.Fprintf(w, "{\"title\":%q}\n", ae.Message)
	}})
	api := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") }))

	r := httptest.NewRequest(http.MethodGet, "/v1/bots", nil)
	r.Header.Set("Authorization", "Bearer mrag_forged")
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Header().Get("WWW-Authenticate"), " ", w.Body.String())
	// Output:
	// 401 Bearer realm="minirag", error="invalid_token" {"title":"invalid or expired token"}
}

func ExampleTenantHandle_CreateBot() {
	ctx := context.Background()
	c := newClient(ctx)
	defer c.Close()
	b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "alice@acme.example"})
	if err != nil {
		log.Fatal(err)
	}
	p, err := c.Authenticate(ctx, b.Token.Plaintext)
	if err != nil {
		log.Fatal(err)
	}
	h := c.Scoped(p)

	creds := &minirag.Credentials{APIKey: "sk-example", Headers: map[string]string{"X-Org": "acme"}}
	bot, err := h.CreateBot(ctx, minirag.BotParams{
		Name:         "Support",
		SystemPrompt: "Answer from the documentation only.",
		Model:        "gpt-4o-mini",
		Temperature:  0.2,
		Credentials:  creds, // encrypted with the first EncryptionKeys key
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bot.Name, bot.Active, bot.HasCredentials)
	fmt.Println(creds) // credentials print redacted

	// Partial update: only the named fields change.
	name := "Support (beta)"
	bot, err = h.UpdateBot(ctx, bot.ID, minirag.BotUpdate{Name: &name, ClearCredentials: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bot.Name, bot.Model, bot.HasCredentials)

	// A query-only token cannot change bots.
	q, err := h.CreateAPIToken(ctx, minirag.CreateAPITokenParams{Name: "widget", Scopes: []minirag.Scope{minirag.ScopeQuery}, BotIDs: []string{bot.ID}})
	if err != nil {
		log.Fatal(err)
	}
	qp, err := c.Authenticate(ctx, q.Plaintext)
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Scoped(qp).CreateBot(ctx, minirag.BotParams{Name: "Mine"})
	fmt.Println(errors.Is(err, minirag.ErrForbidden))
	// Output:
	// Support true true
	// minirag.Credentials{APIKey:[REDACTED], Headers:map[X-Org:[REDACTED]]}
	// Support (beta) gpt-4o-mini false
	// true
}

func ExampleTenantHandle_CreateSource() {
	ctx := context.Background()
	c := newClient(ctx)
	defer c.Close()
	acme, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "alice@acme.example"})
	if err != nil {
		log.Fatal(err)
	}
	other, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Other", Slug: "other", OwnerEmail: "eve@other.example"})
	if err != nil {
		log.Fatal(err)
	}
	h := c.Tenant(acme.Tenant.ID) // trusted code: every scope
	bot, err := h.CreateBot(ctx, minirag.BotParams{Name: "Support"})
	if err != nil {
		log.Fatal(err)
	}

	src, err := h.CreateSource(ctx, minirag.SourceParams{
		BotID:  bot.ID,
		Name:   "FAQ",
		Type:   minirag.SourceText,
		Config: loader.TextConfig{Content: "Opening hours: 9 to 5."},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(src.Name, src.Type, src.Status, string(src.Config))

	// Bad configuration and another tenant's bot name their fields.
	_, err = h.CreateSource(ctx, minirag.SourceParams{BotID: bot.ID, Name: "Docs", Type: minirag.SourceURL, Config: `{"url":"ftp://x"}`})
	fmt.Println(err)
	_, err = c.Tenant(other.Tenant.ID).CreateSource(ctx, minirag.SourceParams{BotID: bot.ID, Name: "Steal", Type: minirag.SourceText, Config: loader.TextConfig{Content: "x"}})
	var ve *minirag.ValidationError
	fmt.Println(errors.As(err, &ve), ve.Fields[0].Field, minirag.HTTPStatus(err))
	// Output:
	// FAQ text pending {"content":"Opening hours: 9 to 5."}
	// minirag: invalid input: config.url: must be an absolute http or https URL
	// true bot_id 422
}
