package minirag

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUsersLifecycle(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.scoped(t, b.Token.Plaintext)

	u, err := h.CreateUser(e.ctx, CreateUserParams{Email: " Bob@Acme.Example ", Name: "Bob"})
	require.NoError(t, err)
	assert.Equal(t, "bob@acme.example", u.Email)
	assert.Equal(t, RoleMember, u.Role)

	_, err = h.CreateUser(e.ctx, CreateUserParams{Email: "BOB@acme.example"})
	assert.ErrorIs(t, err, ErrConflict, "email unique per tenant, case-insensitively")
	_, err = h.CreateUser(e.ctx, CreateUserParams{Email: "x", Role: "boss"})
	assert.Equal(t, []string{"email", "role"}, fieldsOf(t, err))

	got, err := h.GetUser(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got)
	list, err := h.ListUsers(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []User{b.Owner, u}, list)

	e.clock.Advance(1000)
	admin, err := h.UpdateUserRole(e.ctx, u.ID, RoleAdmin)
	require.NoError(t, err)
	assert.Equal(t, RoleAdmin, admin.Role)
	assert.True(t, admin.UpdatedAt.After(u.UpdatedAt))
	_, err = h.UpdateUserRole(e.ctx, u.ID, "root")
	assert.Equal(t, []string{"role"}, fieldsOf(t, err))

	dis, err := h.DisableUser(e.ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, dis.Disabled)
	en, err := h.EnableUser(e.ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, en.Disabled)

	// The same email may exist in another tenant.
	b2 := e.bootstrap(t, "other")
	_, err = e.c.Tenant(b2.Tenant.ID).CreateUser(e.ctx, CreateUserParams{Email: "bob@acme.example"})
	assert.NoError(t, err)
	// And tenant B cannot see or change tenant A's user.
	hb := e.scoped(t, b2.Token.Plaintext)
	_, err = hb.GetUser(e.ctx, u.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = hb.DisableUser(e.ctx, u.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = hb.UpdateUserRole(e.ctx, u.ID, RoleOwner)
	assert.ErrorIs(t, err, ErrNotFound)
	got, err = h.GetUser(e.ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, RoleAdmin, got.Role)
	assert.False(t, got.Disabled)
}

func TestLastOwnerIsKept(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.c.Tenant(b.Tenant.ID)

	_, err := h.DisableUser(e.ctx, b.Owner.ID)
	assert.ErrorIs(t, err, ErrConflict)
	_, err = h.UpdateUserRole(e.ctx, b.Owner.ID, RoleAdmin)
	assert.ErrorIs(t, err, ErrConflict)

	// A disabled second owner does not count.
	o2, err := h.CreateUser(e.ctx, CreateUserParams{Email: "o2@acme.example", Role: RoleOwner})
	require.NoError(t, err)
	_, err = h.DisableUser(e.ctx, o2.ID)
	require.NoError(t, err)
	_, err = h.DisableUser(e.ctx, b.Owner.ID)
	assert.ErrorIs(t, err, ErrConflict)

	// An enabled second owner does.
	_, err = h.EnableUser(e.ctx, o2.ID)
	require.NoError(t, err)
	_, err = h.UpdateUserRole(e.ctx, b.Owner.ID, RoleMember)
	require.NoError(t, err)
	_, err = h.DisableUser(e.ctx, o2.ID)
	assert.ErrorIs(t, err, ErrConflict)
}

func TestMemberTokenCannotManageUsers(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.c.Tenant(b.Tenant.ID)
	m, err := h.CreateUser(e.ctx, CreateUserParams{Email: "m@acme.example"})
	require.NoError(t, err)
	q, err := h.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "member", UserID: m.ID, Scopes: []Scope{ScopeQuery}})
	require.NoError(t, err)
	hq := e.scoped(t, q.Plaintext)
	_, err = hq.ListUsers(e.ctx)
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = hq.CreateUser(e.ctx, CreateUserParams{Email: "x@acme.example"})
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = hq.UpdateUserRole(e.ctx, m.ID, RoleOwner)
	assert.ErrorIs(t, err, ErrForbidden)
	// A member cannot get an admin token.
	_, err = h.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "x", UserID: m.ID, Scopes: []Scope{ScopeAdmin}})
	assert.Equal(t, []string{"scopes"}, fieldsOf(t, err))
}

func TestOnlyOwnersManageOwners(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	owner := e.scoped(t, b.Token.Plaintext)
	adminUser, err := owner.CreateUser(e.ctx, CreateUserParams{Email: "admin@acme.example", Role: RoleAdmin})
	require.NoError(t, err)
	tok, err := owner.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "admin", UserID: adminUser.ID, Scopes: []Scope{ScopeAdmin}})
	require.NoError(t, err)
	admin := e.scoped(t, tok.Plaintext)

	// An admin manages members and admins...
	m, err := admin.CreateUser(e.ctx, CreateUserParams{Email: "m@acme.example"})
	require.NoError(t, err)
	_, err = admin.UpdateUserRole(e.ctx, m.ID, RoleAdmin)
	require.NoError(t, err)
	_, err = admin.DisableUser(e.ctx, m.ID)
	require.NoError(t, err)
	// ...but cannot make, unmake or disable an owner.
	_, err = admin.CreateUser(e.ctx, CreateUserParams{Email: "o@acme.example", Role: RoleOwner})
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = admin.UpdateUserRole(e.ctx, adminUser.ID, RoleOwner)
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = admin.UpdateUserRole(e.ctx, m.ID, RoleOwner)
	assert.ErrorIs(t, err, ErrForbidden)
	_, err = admin.DisableUser(e.ctx, b.Owner.ID)
	assert.ErrorIs(t, err, ErrForbidden)
	o2, err := owner.CreateUser(e.ctx, CreateUserParams{Email: "o2@acme.example", Role: RoleOwner})
	require.NoError(t, err)
	_, err = admin.UpdateUserRole(e.ctx, o2.ID, RoleMember)
	assert.ErrorIs(t, err, ErrForbidden)
	got, err := owner.GetUser(e.ctx, o2.ID)
	require.NoError(t, err)
	assert.Equal(t, RoleOwner, got.Role)
	// An owner can.
	_, err = owner.UpdateUserRole(e.ctx, adminUser.ID, RoleOwner)
	require.NoError(t, err)
	_, err = owner.DisableUser(e.ctx, o2.ID)
	require.NoError(t, err)
}
