package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minirag/minirag/record"
)

// CreateTenant stores t. A duplicate ID or slug is record.ErrConflict.
func (s *Store) CreateTenant(ctx context.Context, t record.Tenant) error {
	const op = "create tenant"
	var v record.ValidationError
	if t.ID == "" {
		v.Add("id", "is required")
	}
	if t.Slug == "" {
		v.Add("slug", "is required")
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO tenants (id, name, slug, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.Slug, tm(t.CreatedAt), tm(t.UpdatedAt))
	if err != nil {
		return opErr(ctx, op, err)
	}
	return nil
}

const tenantCols = `id, name, slug, created_at, updated_at`

func scanTenant(sc interface{ Scan(...any) error }) (record.Tenant, error) {
	var t record.Tenant
	var c, u int64
	if err := sc.Scan(&t.ID, &t.Name, &t.Slug, &c, &u); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = fromTm(c), fromTm(u)
	return t, nil
}

// GetTenant returns the tenant with this ID.
func (s *Store) GetTenant(ctx context.Context, id string) (record.Tenant, error) {
	if err := checkTenant(ctx, "get tenant", id); err != nil {
		return record.Tenant{}, err
	}
	t, err := scanTenant(s.q.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = ?`, id))
	if err != nil {
		return record.Tenant{}, opErr(ctx, "get tenant", err)
	}
	return t, nil
}

// GetTenantBySlug returns the tenant with this slug.
func (s *Store) GetTenantBySlug(ctx context.Context, slug string) (record.Tenant, error) {
	const op = "get tenant by slug"
	if slug == "" {
		return record.Tenant{}, fmt.Errorf("sqlite: %s: %w", op, record.Invalid("slug", "is required"))
	}
	t, err := scanTenant(s.q.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE slug = ?`, slug))
	if err != nil {
		return record.Tenant{}, opErr(ctx, op, err)
	}
	return t, nil
}

// ListTenants lists every tenant, oldest first.
func (s *Store) ListTenants(ctx context.Context) ([]record.Tenant, error) {
	return queryList(ctx, s.q, "list tenants", scanTenant,
		`SELECT `+tenantCols+` FROM tenants ORDER BY created_at, id`)
}

// queryList runs a query and scans every row with scan.
func queryList[T any](ctx context.Context, q querier, op string, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, opErr(ctx, op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, opErr(ctx, op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, opErr(ctx, op, err)
	}
	return out, nil
}

// exists reports whether query finds a row.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Users.

// CreateUser stores u. An email already used in the tenant (compared
// case-insensitively) is record.ErrConflict; an unknown tenant is
// record.ErrNotFound.
func (s *Store) CreateUser(ctx context.Context, u record.User) error {
	const op = "create user"
	if err := checkTenant(ctx, op, u.TenantID); err != nil {
		return err
	}
	if u.ID == "" {
		return fmt.Errorf("sqlite: %s: %w", op, record.Invalid("id", "is required"))
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO users (id, tenant_id, email, email_norm, name, role, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.TenantID, u.Email, normEmail(u.Email), u.Name, string(u.Role), boolInt(u.Disabled), tm(u.CreatedAt), tm(u.UpdatedAt))
	if isFKViolation(err) {
		return fmt.Errorf("sqlite: %s: tenant: %w", op, record.ErrNotFound)
	}
	if err != nil {
		return opErr(ctx, op, err)
	}
	return nil
}

func normEmail(e string) string { return strings.ToLower(e) }

const userCols = `id, tenant_id, email, name, role, disabled, created_at, updated_at`

func scanUser(sc interface{ Scan(...any) error }) (record.User, error) {
	var u record.User
	var role string
	var c, up int64
	if err := sc.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.Disabled, &c, &up); err != nil {
		return u, err
	}
	u.Role = record.Role(role)
	u.CreatedAt, u.UpdatedAt = fromTm(c), fromTm(up)
	return u, nil
}

// GetUser returns a user of the tenant.
func (s *Store) GetUser(ctx context.Context, tenantID, id string) (record.User, error) {
	if err := checkTenant(ctx, "get user", tenantID); err != nil {
		return record.User{}, err
	}
	u, err := scanUser(s.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err != nil {
		return record.User{}, opErr(ctx, "get user", err)
	}
	return u, nil
}

// GetUserByEmail returns the user of the tenant with this email, compared
// case-insensitively.
func (s *Store) GetUserByEmail(ctx context.Context, tenantID, email string) (record.User, error) {
	if err := checkTenant(ctx, "get user by email", tenantID); err != nil {
		return record.User{}, err
	}
	u, err := scanUser(s.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE tenant_id = ? AND email_norm = ?`, tenantID, normEmail(email)))
	if err != nil {
		return record.User{}, opErr(ctx, "get user by email", err)
	}
	return u, nil
}

// ListUsers lists a tenant's users, oldest first.
func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]record.User, error) {
	if err := checkTenant(ctx, "list users", tenantID); err != nil {
		return nil, err
	}
	return queryList(ctx, s.q, "list users", scanUser,
		`SELECT `+userCols+` FROM users WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
}

// UpdateUser writes u's Name, Role, Disabled and UpdatedAt.
func (s *Store) UpdateUser(ctx context.Context, u record.User) error {
	const op = "update user"
	if err := checkTenant(ctx, op, u.TenantID); err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `UPDATE users SET name = ?, role = ?, disabled = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		u.Name, string(u.Role), boolInt(u.Disabled), tm(u.UpdatedAt), u.TenantID, u.ID)
	return affected(ctx, op, res, err)
}

// affected turns the result of an UPDATE or DELETE of one row into an
// error: record.ErrNotFound when it touched none.
func affected(ctx context.Context, op string, res sql.Result, err error) error {
	if err != nil {
		return opErr(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return opErr(ctx, op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", op, record.ErrNotFound)
	}
	return nil
}

// API tokens.

// CreateAPIToken stores t. A duplicate hash is record.ErrConflict; a user
// that is not of t's tenant is record.ErrNotFound.
func (s *Store) CreateAPIToken(ctx context.Context, t record.APIToken) error {
	const op = "create api token"
	if err := checkTenant(ctx, op, t.TenantID); err != nil {
		return err
	}
	var v record.ValidationError
	if t.ID == "" {
		v.Add("id", "is required")
	}
	if len(t.Hash) == 0 {
		v.Add("hash", "is required")
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	var userID any
	if t.UserID != "" {
		userID = t.UserID
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO api_tokens (id, tenant_id, user_id, name, prefix, hash, scopes, bot_ids, expires_at, last_used_at, revoked_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.TenantID, userID, t.Name, t.Prefix, t.Hash, jsonList(t.Scopes), jsonList(t.BotIDs),
		tmPtr(t.ExpiresAt), tmPtr(t.LastUsedAt), tmPtr(t.RevokedAt), tm(t.CreatedAt))
	if isFKViolation(err) {
		return fmt.Errorf("sqlite: %s: tenant or user: %w", op, record.ErrNotFound)
	}
	if err != nil {
		return opErr(ctx, op, err)
	}
	return nil
}

// jsonList encodes a list as JSON text, nil as NULL.
func jsonList[T any](l []T) any {
	if l == nil {
		return nil
	}
	b, _ := json.Marshal(l) // a list of strings always encodes
	return string(b)
}

// fromJSONList decodes a list encoded by jsonList.
func fromJSONList[T any](v sql.NullString) ([]T, error) {
	if !v.Valid {
		return nil, nil
	}
	l := []T{}
	if err := json.Unmarshal([]byte(v.String), &l); err != nil {
		return nil, fmt.Errorf("decoding stored list: %w", err)
	}
	return l, nil
}

const tokenCols = `id, tenant_id, COALESCE(user_id, ''), name, prefix, hash, scopes, bot_ids, expires_at, last_used_at, revoked_at, created_at`

func scanToken(sc interface{ Scan(...any) error }) (record.APIToken, error) {
	var t record.APIToken
	var scopes, bots sql.NullString
	var exp, used, rev sql.NullInt64
	var c int64
	if err := sc.Scan(&t.ID, &t.TenantID, &t.UserID, &t.Name, &t.Prefix, &t.Hash, &scopes, &bots, &exp, &used, &rev, &c); err != nil {
		return t, err
	}
	var err error
	if t.Scopes, err = fromJSONList[record.Scope](scopes); err != nil {
		return t, err
	}
	if t.BotIDs, err = fromJSONList[string](bots); err != nil {
		return t, err
	}
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromTmPtr(exp), fromTmPtr(used), fromTmPtr(rev)
	t.CreatedAt = fromTm(c)
	return t, nil
}

// APITokenByHash finds a token by the SHA-256 of its plaintext, in any
// tenant, revoked and expired ones included.
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (record.APIToken, error) {
	const op = "api token by hash"
	if err := ctx.Err(); err != nil {
		return record.APIToken{}, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if len(hash) == 0 {
		return record.APIToken{}, fmt.Errorf("sqlite: %s: %w", op, record.Invalid("hash", "is required"))
	}
	t, err := scanToken(s.q.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE hash = ?`, hash))
	if err != nil {
		return record.APIToken{}, opErr(ctx, op, err)
	}
	return t, nil
}

// GetAPIToken returns a token of the tenant.
func (s *Store) GetAPIToken(ctx context.Context, tenantID, id string) (record.APIToken, error) {
	if err := checkTenant(ctx, "get api token", tenantID); err != nil {
		return record.APIToken{}, err
	}
	t, err := scanToken(s.q.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err != nil {
		return record.APIToken{}, opErr(ctx, "get api token", err)
	}
	return t, nil
}

// ListAPITokens lists a tenant's tokens, oldest first, revoked included.
func (s *Store) ListAPITokens(ctx context.Context, tenantID string) ([]record.APIToken, error) {
	if err := checkTenant(ctx, "list api tokens", tenantID); err != nil {
		return nil, err
	}
	return queryList(ctx, s.q, "list api tokens", scanToken,
		`SELECT `+tokenCols+` FROM api_tokens WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
}

// RevokeAPIToken sets RevokedAt; revoking again keeps the first time.
func (s *Store) RevokeAPIToken(ctx context.Context, tenantID, id string, at time.Time) error {
	const op = "revoke api token"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant_id = ? AND id = ?`,
		tm(at), tenantID, id)
	return affected(ctx, op, res, err)
}

// TouchAPIToken sets LastUsedAt.
func (s *Store) TouchAPIToken(ctx context.Context, tenantID, id string, at time.Time) error {
	const op = "touch api token"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE tenant_id = ? AND id = ?`,
		tm(at), tenantID, id)
	return affected(ctx, op, res, err)
}

// UpdateTenant writes t's Name, Slug and UpdatedAt. A slug another tenant
// has is record.ErrConflict; an unknown tenant record.ErrNotFound.
func (s *Store) UpdateTenant(ctx context.Context, t record.Tenant) error {
	const op = "update tenant"
	if err := checkTenant(ctx, op, t.ID); err != nil {
		return err
	}
	if t.Slug == "" {
		return fmt.Errorf("sqlite: %s: %w", op, record.Invalid("slug", "is required"))
	}
	res, err := s.q.ExecContext(ctx, `UPDATE tenants SET name = ?, slug = ?, updated_at = ? WHERE id = ?`,
		t.Name, t.Slug, tm(t.UpdatedAt), t.ID)
	return affected(ctx, op, res, err)
}

// tenantTables are the tables DeleteTenant empties of a tenant's rows, in
// order: API tokens and users first (so that nothing of a tenant being
// erased can sign in), children before their parents, so that no foreign
// key cascade is left to do; chunks before documents, their triggers
// deleting their full-text rows.
var tenantTables = []string{
	"api_tokens", "users", "feedback", "conversation_messages", "conversations", "chunks", "documents", "jobs",
	"sources", "bots", "usage_daily", "request_windows",
}

// DeleteTenant erases a tenant and everything of it, in one transaction
// (the tenant row last). An unknown tenant is record.ErrNotFound.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	const op = "delete tenant"
	if err := checkTenant(ctx, op, id); err != nil {
		return err
	}
	return s.withTx(ctx, func(tx *Store) error {
		ok, err := exists(ctx, tx.q, `SELECT 1 FROM tenants WHERE id = ?`, id)
		if err != nil {
			return opErr(ctx, op, err)
		}
		if !ok {
			return fmt.Errorf("sqlite: %s: %w", op, record.ErrNotFound)
		}
		for _, table := range tenantTables {
			if _, err := tx.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE tenant_id = ?`, id); err != nil {
				return opErr(ctx, op+": "+table, err)
			}
		}
		res, err := tx.q.ExecContext(ctx, `DELETE FROM tenants WHERE id = ?`, id)
		return affected(ctx, op, res, err)
	})
}
