package minirag

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "error %v is not a *ValidationError", err)
	require.ErrorIs(t, err, ErrInvalidInput)
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestCreateTenantBootstrap(t *testing.T) {
	e := newEnv(t)
	b, err := e.c.CreateTenant(e.ctx, CreateTenantParams{Name: "  Acme  ", Slug: "acme-co", OwnerEmail: "Alice@Example.COM", OwnerName: "Alice"})
	require.NoError(t, err)

	now := e.clock.Now().UTC().Truncate(time.Microsecond)
	assert.Equal(t, "Acme", b.Tenant.Name)
	assert.Equal(t, "acme-co", b.Tenant.Slug)
	assert.Equal(t, now, b.Tenant.CreatedAt)
	assert.Equal(t, b.Tenant.ID, b.Owner.TenantID)
	assert.Equal(t, "alice@example.com", b.Owner.Email)
	assert.Equal(t, RoleOwner, b.Owner.Role)
	assert.False(t, b.Owner.Disabled)

	// The token: prefix, 32 random bytes, SHA-256 stored, display prefix.
	plain := b.Token.Plaintext
	require.True(t, strings.HasPrefix(plain, APITokenPrefix))
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(plain, APITokenPrefix))
	require.NoError(t, err)
	assert.Len(t, raw, 32)
	assert.Equal(t, plain[:12], b.Token.Token.Prefix)
	sum := sha256.Sum256([]byte(plain))
	stored, err := e.c.Storage().APITokenByHash(e.ctx, sum[:])
	require.NoError(t, err)
	assert.Equal(t, b.Token.Token.ID, stored.ID)
	assert.Equal(t, b.Owner.ID, stored.UserID)
	assert.Equal(t, []Scope{ScopeAdmin}, stored.Scopes)

	// Everything is readable back.
	got, err := e.c.GetTenant(e.ctx, b.Tenant.ID)
	require.NoError(t, err)
	assert.Equal(t, b.Tenant, got)
	got, err = e.c.GetTenantBySlug(e.ctx, "acme-co")
	require.NoError(t, err)
	assert.Equal(t, b.Tenant.ID, got.ID)
	me, err := e.scoped(t, plain).GetTenant(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, b.Tenant, me)
	users, err := e.c.Tenant(b.Tenant.ID).ListUsers(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []User{b.Owner}, users)

	// Two bootstraps give different tokens.
	b2 := e.bootstrap(t, "other")
	assert.NotEqual(t, plain, b2.Token.Plaintext)
}

func TestCreateTenantDuplicateSlug(t *testing.T) {
	e := newEnv(t)
	e.bootstrap(t, "acme")
	_, err := e.c.CreateTenant(e.ctx, CreateTenantParams{Name: "Again", Slug: "acme", OwnerEmail: "x@y.example"})
	require.ErrorIs(t, err, ErrConflict)
	// Nothing of the failed bootstrap remains: one tenant.
	ts, err := e.c.Storage().ListTenants(e.ctx)
	require.NoError(t, err)
	assert.Len(t, ts, 1)
}

func TestCreateTenantValidation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		p    CreateTenantParams
		want []string
	}{
		{CreateTenantParams{}, []string{"name", "slug", "owner_email"}},
		{CreateTenantParams{Name: "A", Slug: "ab", OwnerEmail: "a@b.example"}, []string{"slug"}},
		{CreateTenantParams{Name: "A", Slug: "Acme", OwnerEmail: "a@b.example"}, []string{"slug"}},
		{CreateTenantParams{Name: "A", Slug: "-acme", OwnerEmail: "a@b.example"}, []string{"slug"}},
		{CreateTenantParams{Name: "A", Slug: "acme-", OwnerEmail: "a@b.example"}, []string{"slug"}},
		{CreateTenantParams{Name: "A", Slug: "ac_me", OwnerEmail: "a@b.example"}, []string{"slug"}},
		{CreateTenantParams{Name: "A", Slug: strings.Repeat("a", 64), OwnerEmail: "a@b.example"}, []string{"slug"}},
		{CreateTenantParams{Name: "A", Slug: "acme", OwnerEmail: "not-an-email"}, []string{"owner_email"}},
		{CreateTenantParams{Name: "A", Slug: "acme", OwnerEmail: "Alice <a@b.example>"}, []string{"owner_email"}},
		{CreateTenantParams{Name: strings.Repeat("n", 201), Slug: "acme", OwnerEmail: "a@b.example"}, []string{"name"}},
	}
	for _, c := range cases {
		_, err := e.c.CreateTenant(e.ctx, c.p)
		assert.Equal(t, c.want, fieldsOf(t, err), "%+v", c.p)
	}
	// The boundaries that are valid.
	for _, slug := range []string{"abc", strings.Repeat("a", 63), "a-1", "0-0"} {
		_, err := e.c.CreateTenant(e.ctx, CreateTenantParams{Name: "ok", Slug: slug, OwnerEmail: "a@b.example"})
		assert.NoError(t, err, slug)
	}
}

func TestTenantHandleEmptyTenant(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.Tenant("").ListBots(e.ctx)
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = e.c.GetTenant(e.ctx, "")
	assert.ErrorIs(t, err, ErrInvalidInput)
	_, err = e.c.Scoped(Principal{Scopes: []Scope{ScopeAdmin}}).ListBots(e.ctx)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	_, err = e.c.Tenant("no-such-tenant").GetTenant(e.ctx)
	assert.ErrorIs(t, err, ErrNotFound)
}
