package minirag

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuditAdminCannotMintOwnerToken: only an owner may make an owner
// (CreateUser, UpdateUserRole), so an admin must not be able to mint an API
// token acting as an owner either: that token would pass requireOwner.
func TestAuditAdminCannotMintOwnerToken(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	owner := e.scoped(t, b.Token.Plaintext)
	adminUser, err := owner.CreateUser(e.ctx, CreateUserParams{Email: "admin@acme.example", Role: RoleAdmin})
	require.NoError(t, err)
	tok, err := owner.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "admin", UserID: adminUser.ID, Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
	admin := e.scoped(t, tok.Plaintext)

	// The admin cannot make an owner directly.
	_, err = admin.CreateUser(e.ctx, CreateUserParams{Email: "evil@acme.example", Role: RoleOwner})
	require.ErrorIs(t, err, ErrForbidden)

	// Nor through a token acting as the owner.
	ownerTok, err := admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "as-owner", UserID: b.Owner.ID, Scopes: []Scope{ScopeAdmin}})
	assert.ErrorIs(t, err, ErrForbidden)
	if err == nil {
		_, err = e.scoped(t, ownerTok.Plaintext).CreateUser(e.ctx, CreateUserParams{Email: "evil@acme.example", Role: RoleOwner})
		assert.ErrorIs(t, err, ErrForbidden, "an admin became an owner through a minted token")
	}

	// An owner may still mint a token for another owner, and an admin for
	// a member or for itself.
	other, err := owner.CreateUser(e.ctx, CreateUserParams{Email: "owner2@acme.example", Role: RoleOwner})
	require.NoError(t, err)
	_, err = owner.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "o2", UserID: other.ID, Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
	member, err := admin.CreateUser(e.ctx, CreateUserParams{Email: "m@acme.example"})
	require.NoError(t, err)
	_, err = admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "m", UserID: member.ID, Scopes: []Scope{ScopeQuery}})
	require.NoError(t, err)
	_, err = admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "self", Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
	// Trusted code may mint for the owner.
	_, err = e.c.Tenant(b.Tenant.ID).CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "ops", UserID: b.Owner.ID, Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
}

// TestAdminCannotRevokeOwnerTokens: every other action on an owner is
// refused to an admin, so revoking an owner's API tokens is too (it used
// to succeed); an owner, trusted code, and the owner itself may, and an
// admin still revokes its own and members' tokens.
func TestAdminCannotRevokeOwnerTokens(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	owner := e.scoped(t, b.Token.Plaintext)
	adminUser, err := owner.CreateUser(e.ctx, CreateUserParams{Email: "admin@acme.example", Role: RoleAdmin})
	require.NoError(t, err)
	adminTok, err := owner.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "admin", UserID: adminUser.ID, Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
	admin := e.scoped(t, adminTok.Plaintext)
	ownerTok, err := owner.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "ci", Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
	require.Equal(t, b.Owner.ID, ownerTok.Token.UserID)

	err = admin.RevokeAPIToken(e.ctx, ownerTok.Token.ID)
	require.ErrorIs(t, err, ErrForbidden)
	err = admin.RevokeAPIToken(e.ctx, b.Token.Token.ID)
	require.ErrorIs(t, err, ErrForbidden, "the bootstrap token")
	got, err := owner.GetAPIToken(e.ctx, ownerTok.Token.ID)
	require.NoError(t, err)
	assert.Nil(t, got.RevokedAt, "a refused revocation changes nothing")
	_, err = e.c.Authenticate(e.ctx, ownerTok.Plaintext)
	require.NoError(t, err)

	// An unknown token is still ErrNotFound for the admin.
	require.ErrorIs(t, admin.RevokeAPIToken(e.ctx, "no-such-token"), ErrNotFound)

	// An admin revokes a member's token and its own.
	member, err := admin.CreateUser(e.ctx, CreateUserParams{Email: "m@acme.example"})
	require.NoError(t, err)
	mTok, err := admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "m", UserID: member.ID, Scopes: []Scope{ScopeQuery}})
	require.NoError(t, err)
	require.NoError(t, admin.RevokeAPIToken(e.ctx, mTok.Token.ID))
	self, err := admin.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "self", Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
	require.NoError(t, admin.RevokeAPIToken(e.ctx, self.Token.ID))

	// The owner, another owner and trusted code may.
	other, err := owner.CreateUser(e.ctx, CreateUserParams{Email: "o2@acme.example", Role: RoleOwner})
	require.NoError(t, err)
	otherTok, err := owner.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "o2", UserID: other.ID, Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
	require.NoError(t, e.scoped(t, otherTok.Plaintext).RevokeAPIToken(e.ctx, ownerTok.Token.ID))
	ops, err := e.c.Tenant(b.Tenant.ID).CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "ops", UserID: b.Owner.ID, Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
	require.NoError(t, owner.RevokeAPIToken(e.ctx, ops.Token.ID))
	require.NoError(t, e.c.Tenant(b.Tenant.ID).RevokeAPIToken(e.ctx, otherTok.Token.ID))
}
