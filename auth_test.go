package minirag

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuthenticateAPIToken(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")

	p, err := e.c.Authenticate(e.ctx, b.Token.Plaintext)
	require.NoError(t, err)
	assert.Equal(t, Principal{
		TenantID: b.Tenant.ID,
		UserID:   b.Owner.ID,
		TokenID:  b.Token.Token.ID,
		Method:   MethodAPIToken,
		Scopes:   []Scope{ScopeAdmin},
	}, p)
	assert.True(t, p.HasScope(ScopeAdmin))
	assert.False(t, p.HasScope(ScopeQuery))
	assert.Equal(t, "api_token tenant="+b.Tenant.ID+" user="+b.Owner.ID+" token="+b.Token.Token.ID+" scopes=[admin]", p.String())
}

func TestAPITokenLastUsed(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.c.Tenant(b.Tenant.ID)
	tok, err := h.GetAPIToken(e.ctx, b.Token.Token.ID)
	require.NoError(t, err)
	assert.Nil(t, tok.LastUsedAt)

	first := e.clock.Now().UTC().Truncate(time.Microsecond)
	_, err = e.c.Authenticate(e.ctx, b.Token.Plaintext)
	require.NoError(t, err)
	tok, err = h.GetAPIToken(e.ctx, b.Token.Token.ID)
	require.NoError(t, err)
	require.NotNil(t, tok.LastUsedAt)
	assert.Equal(t, first, *tok.LastUsedAt)

	// Within a minute the time is not rewritten; after, it is.
	e.clock.Advance(30 * time.Second)
	_, err = e.c.Authenticate(e.ctx, b.Token.Plaintext)
	require.NoError(t, err)
	tok, _ = h.GetAPIToken(e.ctx, b.Token.Token.ID)
	assert.Equal(t, first, *tok.LastUsedAt)
	e.clock.Advance(31 * time.Second)
	_, err = e.c.Authenticate(e.ctx, b.Token.Plaintext)
	require.NoError(t, err)
	tok, _ = h.GetAPIToken(e.ctx, b.Token.Token.ID)
	assert.Equal(t, first.Add(61*time.Second), *tok.LastUsedAt)
}

func TestAuthenticateRejects(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	valid := b.Token.Plaintext
	flipped := []byte(valid)
	if flipped[20] == 'A' {
		flipped[20] = 'B'
	} else {
		flipped[20] = 'A'
	}
	for name, bearer := range map[string]string{
		"empty":         "",
		"garbage":       "hello",
		"prefix only":   APITokenPrefix,
		"too short":     valid[:len(valid)-1],
		"too long":      valid + "A",
		"bad base64":    valid[:len(valid)-1] + "*",
		"unknown token": string(flipped),
		"bearer word":   "Bearer " + valid,
		"jwt garbage":   "a.b.c",
	} {
		_, err := e.c.Authenticate(e.ctx, bearer)
		assert.ErrorIs(t, err, ErrUnauthenticated, name)
		if bearer != "" {
			assert.NotContains(t, err.Error(), bearer, name)
		}
	}
}

func TestRevocationIsImmediate(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.scoped(t, b.Token.Plaintext)
	extra, err := h.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "ci", Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
	_, err = e.c.Authenticate(e.ctx, extra.Plaintext)
	require.NoError(t, err)

	require.NoError(t, h.RevokeAPIToken(e.ctx, extra.Token.ID))
	_, err = e.c.Authenticate(e.ctx, extra.Plaintext)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.Contains(t, err.Error(), "revoked")
	// The other token is unaffected; listing shows the revocation.
	_, err = e.c.Authenticate(e.ctx, b.Token.Plaintext)
	require.NoError(t, err)
	list, err := h.ListAPITokens(e.ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Nil(t, list[0].RevokedAt)
	assert.NotNil(t, list[1].RevokedAt)
	for _, tk := range list {
		assert.Nil(t, tk.Hash, "listings never carry the hash")
	}
	// Another tenant cannot revoke it.
	b2 := e.bootstrap(t, "other")
	err = e.c.Tenant(b2.Tenant.ID).RevokeAPIToken(e.ctx, b.Token.Token.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = e.c.Authenticate(e.ctx, b.Token.Plaintext)
	assert.NoError(t, err)
}

func TestExpiredToken(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.c.Tenant(b.Tenant.ID)
	exp := e.clock.Now().Add(time.Hour)
	tok, err := h.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "short", Scopes: []Scope{ScopeQuery}, ExpiresAt: &exp})
	require.NoError(t, err)
	_, err = e.c.Authenticate(e.ctx, tok.Plaintext)
	require.NoError(t, err)
	e.clock.Advance(time.Hour)
	_, err = e.c.Authenticate(e.ctx, tok.Plaintext)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.Contains(t, err.Error(), "expired")

	past := e.clock.Now().Add(-time.Second)
	_, err = h.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "past", Scopes: []Scope{ScopeQuery}, ExpiresAt: &past})
	assert.Equal(t, []string{"expires_at"}, fieldsOf(t, err))
}

func TestDisabledUserCannotAuthenticate(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.c.Tenant(b.Tenant.ID)
	u, err := h.CreateUser(e.ctx, CreateUserParams{Email: "a@acme.example", Role: RoleAdmin})
	require.NoError(t, err)
	tok, err := h.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "a", UserID: u.ID, Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
	sess, err := e.c.IssueSession(e.ctx, b.Tenant.ID, u.ID)
	require.NoError(t, err)
	for _, cred := range []string{tok.Plaintext, sess.Token} {
		_, err = e.c.Authenticate(e.ctx, cred)
		require.NoError(t, err)
	}

	_, err = h.DisableUser(e.ctx, u.ID)
	require.NoError(t, err)
	for _, cred := range []string{tok.Plaintext, sess.Token} {
		_, err = e.c.Authenticate(e.ctx, cred)
		assert.ErrorIs(t, err, ErrUnauthenticated)
		assert.Contains(t, err.Error(), "disabled")
	}
	_, err = e.c.IssueSession(e.ctx, b.Tenant.ID, u.ID)
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = h.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "b", UserID: u.ID, Scopes: []Scope{ScopeAdmin}})
	assert.Equal(t, []string{"user_id"}, fieldsOf(t, err))

	// Re-enabled, demoted to member: the admin token keeps only what a
	// member may do (nothing of admin), at once.
	_, err = h.EnableUser(e.ctx, u.ID)
	require.NoError(t, err)
	_, err = h.UpdateUserRole(e.ctx, u.ID, RoleMember)
	require.NoError(t, err)
	p, err := e.c.Authenticate(e.ctx, tok.Plaintext)
	require.NoError(t, err)
	assert.Empty(t, p.Scopes)
	_, err = e.c.Scoped(p).ListBots(e.ctx)
	assert.ErrorIs(t, err, ErrForbidden)
}

func TestScopes(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	admin := e.scoped(t, b.Token.Plaintext)
	x, err := admin.CreateBot(e.ctx, BotParams{Name: "X"})
	require.NoError(t, err)
	y, err := admin.CreateBot(e.ctx, BotParams{Name: "Y"})
	require.NoError(t, err)

	q, err := admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "widget", Scopes: []Scope{ScopeQuery}, BotIDs: []string{x.ID, x.ID}})
	require.NoError(t, err)
	assert.Equal(t, []string{x.ID}, q.Token.BotIDs)
	hq := e.scoped(t, q.Plaintext)
	assert.Equal(t, []string{x.ID}, hq.Principal().BotIDs)

	// A query token changes nothing and reads no admin data.
	_, err = hq.CreateBot(e.ctx, BotParams{Name: "Z"})
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = hq.UpdateBot(e.ctx, x.ID, BotUpdate{Name: ptr("hacked")})
	assert.ErrorIs(t, err, ErrForbidden)
	assert.ErrorIs(t, hq.DeleteBot(e.ctx, x.ID), ErrForbidden)
	_, err = hq.ListBots(e.ctx)
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = hq.CreateSource(e.ctx, SourceParams{BotID: x.ID, Name: "s", Type: SourceText, Config: `{"content":"x"}`})
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = hq.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "escalate", Scopes: []Scope{ScopeAdmin}})
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = hq.ListAPITokens(e.ctx)
	assert.ErrorIs(t, err, ErrForbidden)
	// It may search and ask bot X only.
	assert.NoError(t, hq.authorizeBot(x.ID))
	assert.ErrorIs(t, hq.authorizeBot(y.ID), ErrForbidden)
	assert.ErrorIs(t, hq.authorizeAdmin(), ErrForbidden)
	// An unlimited query token may ask any bot; admin may too.
	qa, err := admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "all", Scopes: []Scope{ScopeQuery}})
	require.NoError(t, err)
	hqa := e.scoped(t, qa.Plaintext)
	assert.NoError(t, hqa.authorizeBot(y.ID))
	assert.NoError(t, admin.authorizeBot(y.ID))
	// A principal with no scope may do nothing.
	none := e.c.Scoped(Principal{TenantID: b.Tenant.ID, Method: MethodAPIToken})
	assert.ErrorIs(t, none.authorizeBot(x.ID), ErrForbidden)

	// Invalid token parameters name their fields.
	b2 := e.bootstrap(t, "other")
	other, err := e.c.Tenant(b2.Tenant.ID).CreateBot(e.ctx, BotParams{Name: "theirs"})
	require.NoError(t, err)
	require.NoError(t, admin.DeleteBot(e.ctx, y.ID))
	_, err = admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "w", Scopes: []Scope{ScopeQuery}, BotIDs: []string{x.ID, other.ID, y.ID, "nope"}})
	assert.Equal(t, []string{"bot_ids[1]", "bot_ids[2]", "bot_ids[3]"}, fieldsOf(t, err))
	_, err = admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "w", Scopes: []Scope{ScopeAdmin}, BotIDs: []string{x.ID}})
	assert.Equal(t, []string{"bot_ids"}, fieldsOf(t, err))
	_, err = admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Scopes: []Scope{"root"}})
	assert.Equal(t, []string{"name", "scopes[0]"}, fieldsOf(t, err))
	_, err = admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "w"})
	assert.Equal(t, []string{"scopes"}, fieldsOf(t, err))
	_, err = admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "w", Scopes: []Scope{ScopeQuery}, UserID: b2.Owner.ID})
	assert.Equal(t, []string{"user_id"}, fieldsOf(t, err))
}

func TestTrustedHandleTokenBelongsToOwner(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	tok, err := e.c.Tenant(b.Tenant.ID).CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "ops", Scopes: []Scope{ScopeAdmin, ScopeQuery}})
	require.NoError(t, err)
	assert.Equal(t, b.Owner.ID, tok.Token.UserID)
	p, err := e.c.Authenticate(e.ctx, tok.Plaintext)
	require.NoError(t, err)
	assert.Equal(t, []Scope{ScopeAdmin, ScopeQuery}, p.Scopes)
	assert.True(t, strings.HasPrefix(tok.Plaintext, tok.Token.Prefix))
}
