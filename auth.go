package minirag

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// APITokenPrefix starts every API token's plaintext, so that a token is
// recognizable (by Authenticate, and by secret scanners).
const APITokenPrefix = "mrag_"

const (
	apiTokenRandomBytes = 32
	// apiTokenLen is the plaintext length: the prefix and 32 random bytes
	// in unpadded base64url.
	apiTokenLen = len(APITokenPrefix) + (apiTokenRandomBytes*8+5)/6
	// apiTokenDisplayLen is how much of the plaintext APIToken.Prefix keeps.
	apiTokenDisplayLen = 12
	// touchInterval bounds how often LastUsedAt is written per token.
	touchInterval = time.Minute
)

// AuthMethod says how a Principal was authenticated.
type AuthMethod string

// Authentication methods.
const (
	// MethodAPIToken: an API token ("mrag_…").
	MethodAPIToken AuthMethod = "api_token"
	// MethodJWT: a JWT session issued by IssueSession.
	MethodJWT AuthMethod = "jwt"
	// MethodTrusted: no credential; a handle from Client.Tenant.
	MethodTrusted AuthMethod = "trusted"
)

// Principal is an authenticated caller: its tenant, user, credential and
// what it may do. It holds no secret.
type Principal struct {
	TenantID string `json:"tenant_id"`
	UserID   string `json:"user_id,omitempty"`
	// TokenID is the API token's ID, or the session's "jti".
	TokenID string     `json:"token_id,omitempty"`
	Method  AuthMethod `json:"method"`
	Scopes  []Scope    `json:"scopes"`
	// BotIDs, when non-empty, limits the query scope to these bots.
	BotIDs []string `json:"bot_ids,omitempty"`
}

// HasScope reports whether p holds scope s.
func (p Principal) HasScope(s Scope) bool { return slices.Contains(p.Scopes, s) }

// String describes p (it holds no secret).
func (p Principal) String() string {
	s := fmt.Sprintf("%s tenant=%s user=%s token=%s scopes=%v", p.Method, p.TenantID, p.UserID, p.TokenID, p.Scopes)
	if len(p.BotIDs) > 0 {
		s += fmt.Sprintf(" bots=%v", p.BotIDs)
	}
	return s
}

// LogValue describes p for log/slog.
func (p Principal) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("method", string(p.Method)),
		slog.String("tenant_id", p.TenantID),
		slog.String("user_id", p.UserID),
		slog.String("token_id", p.TokenID),
		slog.Any("scopes", p.Scopes),
	)
}

// NewAPIToken is a token just created: the stored record and the
// plaintext, which is shown this once and cannot be recovered. String,
// GoString, LogValue and MarshalJSON redact the plaintext, so that logging
// or encoding a value that holds one never leaks it: a host hands the
// plaintext over by reading the field itself.
type NewAPIToken struct {
	Token     APIToken
	Plaintext string
}

// MarshalJSON encodes the token record and a redacted plaintext.
func (t NewAPIToken) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Token     APIToken `json:"api_token"`
		Plaintext string   `json:"plaintext"`
	}{t.Token, "[REDACTED]"})
}

// String redacts the plaintext.
func (t NewAPIToken) String() string {
	return fmt.Sprintf("minirag.NewAPIToken{ID:%s, Name:%q, Prefix:%s, Scopes:%v, Plaintext:[REDACTED]}",
		t.Token.ID, t.Token.Name, t.Token.Prefix, t.Token.Scopes)
}

// GoString redacts the plaintext.
func (t NewAPIToken) GoString() string { return t.String() }

// LogValue redacts the plaintext.
func (t NewAPIToken) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token_id", t.Token.ID), slog.String("name", t.Token.Name))
}

// CreateAPITokenParams are the inputs of TenantHandle.CreateAPIToken.
type CreateAPITokenParams struct {
	// Name labels the token in listings (required).
	Name string `json:"name"`
	// UserID is the user the token acts for; empty means the handle's
	// user, or for a trusted handle the tenant's oldest enabled owner. The
	// token stops working when the user is disabled, and never allows more
	// than the user's role (members: query only).
	UserID string `json:"user_id,omitempty"`
	// Scopes are admin and/or query (required).
	Scopes []Scope `json:"scopes"`
	// BotIDs limits a query-only token to these bots of the tenant.
	BotIDs []string `json:"bot_ids,omitempty"`
	// ExpiresAt, when set, must be in the future.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// roleScopes is what a role may ever hold.
func roleScopes(r Role) []Scope {
	switch r {
	case RoleOwner, RoleAdmin:
		return []Scope{ScopeAdmin, ScopeQuery}
	case RoleMember:
		return []Scope{ScopeQuery}
	}
	return nil
}

// intersectScopes keeps the scopes of have that allowed permits.
func intersectScopes(have, allowed []Scope) []Scope {
	out := make([]Scope, 0, len(have))
	for _, s := range have {
		if slices.Contains(allowed, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func hashToken(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// newAPITokenRecord makes a token record and its plaintext.
func newAPITokenRecord(tenantID, userID, name string, scopes []Scope, botIDs []string, expiresAt *time.Time, now time.Time) (APIToken, string, error) {
	var b [apiTokenRandomBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return APIToken{}, "", fmt.Errorf("minirag: generate token: %w", err)
	}
	plain := APITokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	t := APIToken{
		ID:        id.New(),
		TenantID:  tenantID,
		UserID:    userID,
		Name:      name,
		Prefix:    plain[:apiTokenDisplayLen],
		Hash:      hashToken(plain),
		Scopes:    slices.Clone(scopes),
		BotIDs:    slices.Clone(botIDs),
		ExpiresAt: expiresAt,
		CreatedAt: now,
	}
	return t, plain, nil
}

// CreateAPIToken creates an API token and returns it with its plaintext,
// shown this once. A token acting as an owner other than the caller needs
// an owner (or trusted code): ErrForbidden otherwise. Needs the admin
// scope.
func (h *TenantHandle) CreateAPIToken(ctx context.Context, p CreateAPITokenParams) (NewAPIToken, error) {
	if err := h.authorizeAdmin(); err != nil {
		return NewAPIToken{}, err
	}
	now := h.c.now()
	var v record.ValidationError
	name := strings.TrimSpace(p.Name)
	checkName(&v, "name", name, true)
	var scopes []Scope
	if len(p.Scopes) == 0 {
		v.Add("scopes", "at least one scope is required (admin, query)")
	}
	for i, s := range p.Scopes {
		if !s.Valid() {
			v.Add(fmt.Sprintf("scopes[%d]", i), "must be admin or query")
		} else if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	if len(p.BotIDs) > 0 && slices.Contains(scopes, ScopeAdmin) {
		v.Add("bot_ids", "only a query-only token can be limited to bots")
	}
	var expiresAt *time.Time
	if p.ExpiresAt != nil {
		e := p.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !e.After(now) {
			v.Add("expires_at", "must be in the future")
		}
		expiresAt = &e
	}
	if err := v.Err(); err != nil {
		return NewAPIToken{}, err
	}

	// Resolve the user and check the bots.
	var user User
	var err error
	switch {
	case p.UserID != "":
		user, err = h.c.store.GetUser(ctx, h.p.TenantID, p.UserID)
		if errors.Is(err, ErrNotFound) {
			v.Add("user_id", "does not name a user of this tenant")
		} else if err != nil {
			return NewAPIToken{}, fmt.Errorf("minirag: create API token: %w", err)
		}
	case h.p.UserID != "":
		user, err = h.c.store.GetUser(ctx, h.p.TenantID, h.p.UserID)
		if err != nil {
			return NewAPIToken{}, fmt.Errorf("minirag: create API token: %w", err)
		}
	default:
		user, err = h.oldestOwner(ctx)
		if err != nil {
			return NewAPIToken{}, fmt.Errorf("minirag: create API token: %w", err)
		}
	}
	// A token acting as another owner would pass requireOwner: only an
	// owner (or trusted code) may mint one.
	if user.Role == RoleOwner && user.ID != h.p.UserID {
		if err := h.requireOwner(ctx, h.c.store); err != nil {
			return NewAPIToken{}, fmt.Errorf("minirag: create API token: %w", err)
		}
	}
	if user.ID != "" {
		if user.Disabled {
			v.Add("user_id", "names a disabled user")
		} else if len(intersectScopes(scopes, roleScopes(user.Role))) != len(scopes) {
			v.Add("scopes", fmt.Sprintf("exceed what the user's role (%s) allows", user.Role))
		}
	}
	botIDs, err := h.checkBotIDs(ctx, &v, "bot_ids", p.BotIDs)
	if err != nil {
		return NewAPIToken{}, fmt.Errorf("minirag: create API token: %w", err)
	}
	if err := v.Err(); err != nil {
		return NewAPIToken{}, err
	}

	tok, plain, err := newAPITokenRecord(h.p.TenantID, user.ID, name, scopes, botIDs, expiresAt, now)
	if err != nil {
		return NewAPIToken{}, err
	}
	if err := h.c.store.CreateAPIToken(ctx, tok); err != nil {
		return NewAPIToken{}, fmt.Errorf("minirag: create API token: %w", err)
	}
	h.c.log.LogAttrs(ctx, slogInfo, "API token created", attrTenant(tok.TenantID), attrUser(tok.UserID), attrToken(tok.ID))
	tok.Hash = nil
	return NewAPIToken{Token: tok, Plaintext: plain}, nil
}

// oldestOwner returns the tenant's oldest enabled owner.
func (h *TenantHandle) oldestOwner(ctx context.Context) (User, error) {
	users, err := h.c.store.ListUsers(ctx, h.p.TenantID)
	if err != nil {
		return User{}, err
	}
	for _, u := range users {
		if u.Role == RoleOwner && !u.Disabled {
			return u, nil
		}
	}
	return User{}, fmt.Errorf("%w: the tenant has no enabled owner", ErrNotFound)
}

// checkBotIDs adds a field error for each ID that is not a live bot of the
// tenant and returns the IDs without duplicates.
func (h *TenantHandle) checkBotIDs(ctx context.Context, v *record.ValidationError, field string, ids []string) ([]string, error) {
	var out []string
	for i, botID := range ids {
		if slices.Contains(out, botID) {
			continue
		}
		if botID == "" {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "is empty")
			continue
		}
		_, err := h.c.store.GetBot(ctx, h.p.TenantID, botID)
		if errors.Is(err, ErrNotFound) {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "does not name a bot of this tenant")
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, botID)
	}
	return out, nil
}

// ListAPITokens lists the tenant's API tokens, oldest first, revoked ones
// included (never a secret). Needs the admin scope.
func (h *TenantHandle) ListAPITokens(ctx context.Context) ([]APIToken, error) {
	if err := h.authorizeAdmin(); err != nil {
		return nil, err
	}
	ts, err := h.c.store.ListAPITokens(ctx, h.p.TenantID)
	if err != nil {
		return nil, fmt.Errorf("minirag: list API tokens: %w", err)
	}
	for i := range ts {
		ts[i].Hash = nil
	}
	return ts, nil
}

// GetAPIToken returns one of the tenant's API tokens (never its secret).
// Needs the admin scope.
func (h *TenantHandle) GetAPIToken(ctx context.Context, tokenID string) (APIToken, error) {
	if err := h.authorizeAdmin(); err != nil {
		return APIToken{}, err
	}
	t, err := h.c.store.GetAPIToken(ctx, h.p.TenantID, tokenID)
	if err != nil {
		return APIToken{}, fmt.Errorf("minirag: get API token: %w", err)
	}
	t.Hash = nil
	return t, nil
}

// RevokeAPIToken revokes a token: the next Authenticate with it fails.
// Revoking a revoked token keeps the first revocation time. A token acting
// as an owner other than the caller can be revoked only by an owner (or
// trusted code), as every other action on an owner: ErrForbidden
// otherwise. Needs the admin scope.
func (h *TenantHandle) RevokeAPIToken(ctx context.Context, tokenID string) error {
	if err := h.authorizeAdmin(); err != nil {
		return err
	}
	err := h.c.store.InTx(ctx, func(tx storage.Storage) error {
		tok, err := tx.GetAPIToken(ctx, h.p.TenantID, tokenID)
		if err != nil {
			return err
		}
		if tok.UserID != "" && tok.UserID != h.p.UserID {
			u, err := tx.GetUser(ctx, h.p.TenantID, tok.UserID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err == nil && u.Role == RoleOwner {
				if err := h.requireOwner(ctx, tx); err != nil {
					return err
				}
			}
		}
		return tx.RevokeAPIToken(ctx, h.p.TenantID, tokenID, h.c.now())
	})
	if err != nil {
		return fmt.Errorf("minirag: revoke API token: %w", err)
	}
	h.c.log.LogAttrs(ctx, slogInfo, "API token revoked", attrTenant(h.p.TenantID), attrToken(tokenID))
	return nil
}

// IssueSession issues a JWT session for a user of a tenant (trusted code:
// call it after the host has authenticated the user its own way). The
// session carries the scopes of the user's role: owners and admins get
// admin and query, members query. A disabled user is ErrForbidden; an
// unknown tenant or user ErrNotFound; without a signing key
// ErrJWTDisabled.
func (c *Client) IssueSession(ctx context.Context, tenantID, userID string) (Session, error) {
	if c.jwt == nil || c.jwt.signKey == nil {
		return Session{}, ErrJWTDisabled
	}
	if tenantID == "" {
		return Session{}, record.ErrEmptyTenant
	}
	u, err := c.store.GetUser(ctx, tenantID, userID)
	if err != nil {
		return Session{}, fmt.Errorf("minirag: issue session: %w", err)
	}
	if u.Disabled {
		return Session{}, fmt.Errorf("%w: the user is disabled", ErrForbidden)
	}
	s, err := c.jwt.sign(tenantID, userID, id.New(), roleScopes(u.Role), c.now())
	if err != nil {
		return Session{}, err
	}
	c.log.LogAttrs(ctx, slogInfo, "session issued", attrTenant(tenantID), attrUser(userID))
	return s, nil
}

// Authenticate verifies a bearer credential — an API token ("mrag_…") or
// a JWT session — and returns its Principal. Pass the credential alone,
// without the "Bearer " of an Authorization header. A malformed, unknown,
// revoked or expired credential, a disabled user or an unknown tenant is
// ErrUnauthenticated; the error says why in a few words and never contains
// the credential. Other errors (storage down) are returned wrapped.
func (c *Client) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	var (
		p   Principal
		err error
	)
	switch {
	case bearer == "":
		err = fmt.Errorf("%w: no credential", ErrUnauthenticated)
	case strings.HasPrefix(bearer, APITokenPrefix):
		p, err = c.authenticateAPIToken(ctx, bearer)
	case strings.Count(bearer, ".") == 2:
		p, err = c.authenticateJWT(ctx, bearer)
	default:
		err = fmt.Errorf("%w: not an API token or a JWT", ErrUnauthenticated)
	}
	if err != nil {
		c.log.LogAttrs(ctx, slogDebug, "authentication failed", slog.String("error", err.Error()))
		return Principal{}, err
	}
	return p, nil
}

func (c *Client) authenticateAPIToken(ctx context.Context, plain string) (Principal, error) {
	if len(plain) != apiTokenLen {
		return Principal{}, fmt.Errorf("%w: malformed API token", ErrUnauthenticated)
	}
	if _, err := base64.RawURLEncoding.DecodeString(plain[len(APITokenPrefix):]); err != nil {
		return Principal{}, fmt.Errorf("%w: malformed API token", ErrUnauthenticated)
	}
	tok, err := c.store.APITokenByHash(ctx, hashToken(plain))
	if errors.Is(err, ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: unknown API token", ErrUnauthenticated)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("minirag: authenticate: %w", err)
	}
	now := c.now()
	if tok.RevokedAt != nil {
		return Principal{}, fmt.Errorf("%w: API token revoked", ErrUnauthenticated)
	}
	if tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt) {
		return Principal{}, fmt.Errorf("%w: API token expired", ErrUnauthenticated)
	}
	scopes, err := c.checkSubject(ctx, tok.TenantID, tok.UserID, tok.Scopes)
	if err != nil {
		return Principal{}, err
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= touchInterval {
		if err := c.store.TouchAPIToken(ctx, tok.TenantID, tok.ID, now); err != nil {
			c.log.LogAttrs(ctx, slogWarn, "cannot record API token use", attrTenant(tok.TenantID), attrToken(tok.ID), slog.String("error", err.Error()))
		}
	}
	return Principal{
		TenantID: tok.TenantID,
		UserID:   tok.UserID,
		TokenID:  tok.ID,
		Method:   MethodAPIToken,
		Scopes:   scopes,
		BotIDs:   tok.BotIDs,
	}, nil
}

func (c *Client) authenticateJWT(ctx context.Context, token string) (Principal, error) {
	claims, err := c.jwt.parse(token)
	if err != nil {
		return Principal{}, err
	}
	if claims.TenantID == "" || claims.Subject == "" {
		return Principal{}, fmt.Errorf("%w: session token without tenant or subject", ErrUnauthenticated)
	}
	scopes, err := c.checkSubject(ctx, claims.TenantID, claims.Subject, claims.Scopes)
	if err != nil {
		return Principal{}, err
	}
	return Principal{
		TenantID: claims.TenantID,
		UserID:   claims.Subject,
		TokenID:  claims.ID,
		Method:   MethodJWT,
		Scopes:   scopes,
	}, nil
}

// checkSubject checks that the tenant exists and the user is enabled, and
// returns the scopes the user's current role still allows.
func (c *Client) checkSubject(ctx context.Context, tenantID, userID string, scopes []Scope) ([]Scope, error) {
	if _, err := c.store.GetTenant(ctx, tenantID); errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown tenant", ErrUnauthenticated)
	} else if err != nil {
		return nil, fmt.Errorf("minirag: authenticate: %w", err)
	}
	u, err := c.store.GetUser(ctx, tenantID, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown user", ErrUnauthenticated)
	}
	if err != nil {
		return nil, fmt.Errorf("minirag: authenticate: %w", err)
	}
	if u.Disabled {
		return nil, fmt.Errorf("%w: user disabled", ErrUnauthenticated)
	}
	return intersectScopes(scopes, roleScopes(u.Role)), nil
}
