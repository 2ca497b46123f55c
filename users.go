package minirag

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// CreateUserParams are the inputs of TenantHandle.CreateUser.
type CreateUserParams struct {
	// Email is required and unique in the tenant (stored lowercase).
	Email string `json:"email"`
	// Name is optional.
	Name string `json:"name"`
	// Role is owner, admin or member; empty means member.
	Role Role `json:"role"`
}

// CreateUser adds a user to the tenant. An email already used in the
// tenant is ErrConflict. Only an owner (or trusted code) may create an
// owner. Needs the admin scope.
func (h *TenantHandle) CreateUser(ctx context.Context, p CreateUserParams) (User, error) {
	if err := h.authorizeAdmin(); err != nil {
		return User{}, err
	}
	var v record.ValidationError
	email, ok := normalizeEmail(p.Email)
	if !ok {
		v.Add("email", "must be a valid email address")
	}
	name := strings.TrimSpace(p.Name)
	checkName(&v, "name", name, false)
	role := p.Role
	if role == "" {
		role = RoleMember
	}
	if !role.Valid() {
		v.Add("role", "must be owner, admin or member")
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	if role == RoleOwner {
		if err := h.requireOwner(ctx, h.c.store); err != nil {
			return User{}, err
		}
	}
	now := h.c.now()
	u := User{ID: id.New(), TenantID: h.p.TenantID, Email: email, Name: name, Role: role, CreatedAt: now, UpdatedAt: now}
	if err := h.c.store.CreateUser(ctx, u); err != nil {
		return User{}, fmt.Errorf("minirag: create user: %w", err)
	}
	h.c.log.LogAttrs(ctx, slogInfo, "user created", attrTenant(u.TenantID), attrUser(u.ID))
	return u, nil
}

// ListUsers lists the tenant's users, oldest first. Needs the admin scope.
func (h *TenantHandle) ListUsers(ctx context.Context) ([]User, error) {
	if err := h.authorizeAdmin(); err != nil {
		return nil, err
	}
	us, err := h.c.store.ListUsers(ctx, h.p.TenantID)
	if err != nil {
		return nil, fmt.Errorf("minirag: list users: %w", err)
	}
	return us, nil
}

// GetUser returns a user of the tenant. Needs the admin scope.
func (h *TenantHandle) GetUser(ctx context.Context, userID string) (User, error) {
	if err := h.authorizeAdmin(); err != nil {
		return User{}, err
	}
	u, err := h.c.store.GetUser(ctx, h.p.TenantID, userID)
	if err != nil {
		return User{}, fmt.Errorf("minirag: get user: %w", err)
	}
	return u, nil
}

// UpdateUserRole changes a user's role. Only an owner (or trusted code)
// may make or unmake an owner (ErrForbidden otherwise); demoting the
// tenant's last enabled owner is ErrConflict. Needs the admin scope.
func (h *TenantHandle) UpdateUserRole(ctx context.Context, userID string, role Role) (User, error) {
	if err := h.authorizeAdmin(); err != nil {
		return User{}, err
	}
	if !role.Valid() {
		return User{}, record.Invalid("role", "must be owner, admin or member")
	}
	return h.updateUser(ctx, userID, "update user role", func(u *User) { u.Role = role })
}

// DisableUser disables a user: their API tokens and sessions stop
// authenticating at once. Only an owner (or trusted code) may disable or
// enable an owner; disabling the tenant's last enabled owner is
// ErrConflict. Needs the admin scope.
func (h *TenantHandle) DisableUser(ctx context.Context, userID string) (User, error) {
	if err := h.authorizeAdmin(); err != nil {
		return User{}, err
	}
	return h.updateUser(ctx, userID, "disable user", func(u *User) { u.Disabled = true })
}

// EnableUser enables a disabled user again. Needs the admin scope.
func (h *TenantHandle) EnableUser(ctx context.Context, userID string) (User, error) {
	if err := h.authorizeAdmin(); err != nil {
		return User{}, err
	}
	return h.updateUser(ctx, userID, "enable user", func(u *User) { u.Disabled = false })
}

// updateUser applies change to a user in a transaction, refusing a change
// that leaves the tenant without an enabled owner.
func (h *TenantHandle) updateUser(ctx context.Context, userID, op string, change func(*User)) (User, error) {
	var out User
	err := h.c.store.InTx(ctx, func(tx storage.Storage) error {
		u, err := tx.GetUser(ctx, h.p.TenantID, userID)
		if err != nil {
			return err
		}
		wasOwner := u.Role == RoleOwner && !u.Disabled
		before := u
		change(&u)
		if u.Role != before.Role && (u.Role == RoleOwner || before.Role == RoleOwner) ||
			u.Disabled != before.Disabled && before.Role == RoleOwner {
			if err := h.requireOwner(ctx, tx); err != nil {
				return err
			}
		}
		if wasOwner && (u.Role != RoleOwner || u.Disabled) {
			users, err := tx.ListUsers(ctx, h.p.TenantID)
			if err != nil {
				return err
			}
			others := 0
			for _, o := range users {
				if o.ID != u.ID && o.Role == RoleOwner && !o.Disabled {
					others++
				}
			}
			if others == 0 {
				return fmt.Errorf("%w: the tenant's last enabled owner cannot be demoted or disabled", ErrConflict)
			}
		}
		u.UpdatedAt = h.c.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		out = u
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("minirag: %s: %w", op, err)
	}
	h.c.log.LogAttrs(ctx, slogInfo, op, attrTenant(out.TenantID), attrUser(out.ID))
	return out, nil
}

// requireOwner checks that the handle acts for an enabled owner of its
// tenant, or is trusted code.
func (h *TenantHandle) requireOwner(ctx context.Context, st storage.Storage) error {
	if h.p.Method == MethodTrusted {
		return nil
	}
	if h.p.UserID != "" {
		actor, err := st.GetUser(ctx, h.p.TenantID, h.p.UserID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil && actor.Role == RoleOwner && !actor.Disabled {
			return nil
		}
	}
	return fmt.Errorf("%w: only an owner may make, unmake, disable or enable an owner, or act with or on an owner's API tokens", ErrForbidden)
}
