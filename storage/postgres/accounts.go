package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/minirag/minirag/record"
)

// Tenants.

// CreateTenant stores t. A duplicate ID or slug is record.ErrConflict.
func (s *Store) CreateTenant(ctx context.Context, t record.Tenant) error {
	const op = "create tenant"
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	var v record.ValidationError
	if t.ID == "" {
		v.Add("id", "is required")
	}
	if t.Slug == "" {
		v.Add("slug", "is required")
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	_, err := s.q.Exec(ctx, s.sql(`INSERT INTO @.tenants (id, name, slug, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`),
		t.ID, t.Name, t.Slug, t.CreatedAt, t.UpdatedAt)
	return wrapErr(ctx, op, err)
}

const tenantCols = `id, name, slug, created_at, updated_at`

func scanTenant(r pgx.Row) (record.Tenant, error) {
	var t record.Tenant
	err := r.Scan(&t.ID, &t.Name, &t.Slug, &t.CreatedAt, &t.UpdatedAt)
	t.CreatedAt, t.UpdatedAt = utc(t.CreatedAt), utc(t.UpdatedAt)
	return t, err
}

// GetTenant returns the tenant with this ID.
func (s *Store) GetTenant(ctx context.Context, id string) (record.Tenant, error) {
	const op = "get tenant"
	if err := begin(ctx, op, id); err != nil {
		return record.Tenant{}, err
	}
	return one(ctx, s, op, scanTenant, `SELECT `+tenantCols+` FROM @.tenants WHERE id = $1`, id)
}

// GetTenantBySlug returns the tenant with this slug.
func (s *Store) GetTenantBySlug(ctx context.Context, slug string) (record.Tenant, error) {
	const op = "get tenant by slug"
	if err := ctx.Err(); err != nil {
		return record.Tenant{}, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if slug == "" {
		return record.Tenant{}, fmt.Errorf("postgres: %s: %w", op, record.Invalid("slug", "is required"))
	}
	return one(ctx, s, op, scanTenant, `SELECT `+tenantCols+` FROM @.tenants WHERE slug = $1`, slug)
}

// ListTenants lists every tenant, oldest first.
func (s *Store) ListTenants(ctx context.Context) ([]record.Tenant, error) {
	const op = "list tenants"
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return list(ctx, s, op, scanTenant, `SELECT `+tenantCols+` FROM @.tenants ORDER BY created_at, id`)
}

// UpdateTenant writes t's Name, Slug and UpdatedAt. A slug another tenant
// has is record.ErrConflict; an unknown tenant record.ErrNotFound.
func (s *Store) UpdateTenant(ctx context.Context, t record.Tenant) error {
	const op = "update tenant"
	if err := begin(ctx, op, t.ID); err != nil {
		return err
	}
	if t.Slug == "" {
		return fmt.Errorf("postgres: %s: %w", op, record.Invalid("slug", "is required"))
	}
	return s.exec(ctx, op, `UPDATE @.tenants SET name = $2, slug = $3, updated_at = $4 WHERE id = $1`, t.ID, t.Name, t.Slug, t.UpdatedAt)
}

// Users.

// normEmail is the form emails are compared in (Unicode lower case).
func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// CreateUser stores u. An email already used in the tenant (compared
// case-insensitively) is record.ErrConflict; an unknown tenant is
// record.ErrNotFound.
func (s *Store) CreateUser(ctx context.Context, u record.User) error {
	const op = "create user"
	if err := begin(ctx, op, u.TenantID); err != nil {
		return err
	}
	var v record.ValidationError
	if u.ID == "" {
		v.Add("id", "is required")
	}
	if u.Email == "" {
		v.Add("email", "is required")
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	_, err := s.q.Exec(ctx, s.sql(`INSERT INTO @.users (id, tenant_id, email, email_norm, name, role, disabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`),
		u.ID, u.TenantID, u.Email, normEmail(u.Email), u.Name, string(u.Role), u.Disabled, u.CreatedAt, u.UpdatedAt)
	return wrapErr(ctx, op, err)
}

const userCols = `id, tenant_id, email, name, role, disabled, created_at, updated_at`

func scanUser(r pgx.Row) (record.User, error) {
	var u record.User
	var role string
	err := r.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.Disabled, &u.CreatedAt, &u.UpdatedAt)
	u.Role = record.Role(role)
	u.CreatedAt, u.UpdatedAt = utc(u.CreatedAt), utc(u.UpdatedAt)
	return u, err
}

// GetUser returns a user of the tenant.
func (s *Store) GetUser(ctx context.Context, tenantID, id string) (record.User, error) {
	const op = "get user"
	if err := begin(ctx, op, tenantID); err != nil {
		return record.User{}, err
	}
	return one(ctx, s, op, scanUser, `SELECT `+userCols+` FROM @.users WHERE tenant_id = $1 AND id = $2`, tenantID, id)
}

// GetUserByEmail returns the tenant's user with this email, compared
// case-insensitively.
func (s *Store) GetUserByEmail(ctx context.Context, tenantID, email string) (record.User, error) {
	const op = "get user by email"
	if err := begin(ctx, op, tenantID); err != nil {
		return record.User{}, err
	}
	return one(ctx, s, op, scanUser, `SELECT `+userCols+` FROM @.users WHERE tenant_id = $1 AND email_norm = $2`, tenantID, normEmail(email))
}

// ListUsers lists a tenant's users, oldest first.
func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]record.User, error) {
	const op = "list users"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	return list(ctx, s, op, scanUser, `SELECT `+userCols+` FROM @.users WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
}

// UpdateUser writes u's Name, Role, Disabled and UpdatedAt.
func (s *Store) UpdateUser(ctx context.Context, u record.User) error {
	const op = "update user"
	if err := begin(ctx, op, u.TenantID); err != nil {
		return err
	}
	return s.exec(ctx, op, `UPDATE @.users SET name = $3, role = $4, disabled = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2`,
		u.TenantID, u.ID, u.Name, string(u.Role), u.Disabled, u.UpdatedAt)
}

// API tokens.

// CreateAPIToken stores t. A duplicate hash is record.ErrConflict; a user
// that is not of t's tenant is record.ErrNotFound.
func (s *Store) CreateAPIToken(ctx context.Context, t record.APIToken) error {
	const op = "create api token"
	if err := begin(ctx, op, t.TenantID); err != nil {
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
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	scopes := make([]string, len(t.Scopes))
	for i, sc := range t.Scopes {
		scopes[i] = string(sc)
	}
	_, err := s.q.Exec(ctx, s.sql(`INSERT INTO @.api_tokens (id, tenant_id, user_id, name, prefix, hash, scopes, bot_ids,
			expires_at, last_used_at, revoked_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`),
		t.ID, t.TenantID, nullStr(t.UserID), t.Name, t.Prefix, t.Hash, scopes, t.BotIDs,
		t.ExpiresAt, t.LastUsedAt, t.RevokedAt, t.CreatedAt)
	return wrapErr(ctx, op, err)
}

const tokenCols = `id, tenant_id, coalesce(user_id, ''), name, prefix, hash, scopes, bot_ids, expires_at, last_used_at, revoked_at, created_at`

func scanToken(r pgx.Row) (record.APIToken, error) {
	var t record.APIToken
	var scopes []string
	err := r.Scan(&t.ID, &t.TenantID, &t.UserID, &t.Name, &t.Prefix, &t.Hash, &scopes, &t.BotIDs,
		&t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt, &t.CreatedAt)
	if scopes != nil {
		t.Scopes = make([]record.Scope, len(scopes))
		for i, sc := range scopes {
			t.Scopes[i] = record.Scope(sc)
		}
	}
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt, t.CreatedAt = utcPtr(t.ExpiresAt), utcPtr(t.LastUsedAt), utcPtr(t.RevokedAt), utc(t.CreatedAt)
	return t, err
}

// APITokenByHash finds a token by the SHA-256 of its plaintext, in any
// tenant, revoked and expired ones included.
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (record.APIToken, error) {
	const op = "api token by hash"
	if err := ctx.Err(); err != nil {
		return record.APIToken{}, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if len(hash) == 0 {
		return record.APIToken{}, fmt.Errorf("postgres: %s: %w", op, record.Invalid("hash", "is required"))
	}
	return one(ctx, s, op, scanToken, `SELECT `+tokenCols+` FROM @.api_tokens WHERE hash = $1`, hash)
}

// GetAPIToken returns a token of the tenant.
func (s *Store) GetAPIToken(ctx context.Context, tenantID, id string) (record.APIToken, error) {
	const op = "get api token"
	if err := begin(ctx, op, tenantID); err != nil {
		return record.APIToken{}, err
	}
	return one(ctx, s, op, scanToken, `SELECT `+tokenCols+` FROM @.api_tokens WHERE tenant_id = $1 AND id = $2`, tenantID, id)
}

// ListAPITokens lists a tenant's tokens, oldest first, revoked included.
func (s *Store) ListAPITokens(ctx context.Context, tenantID string) ([]record.APIToken, error) {
	const op = "list api tokens"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	return list(ctx, s, op, scanToken, `SELECT `+tokenCols+` FROM @.api_tokens WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
}

// RevokeAPIToken sets RevokedAt once; revoking again keeps the first time.
func (s *Store) RevokeAPIToken(ctx context.Context, tenantID, id string, at time.Time) error {
	const op = "revoke api token"
	if err := begin(ctx, op, tenantID); err != nil {
		return err
	}
	return s.exec(ctx, op, `UPDATE @.api_tokens SET revoked_at = coalesce(revoked_at, $3) WHERE tenant_id = $1 AND id = $2`, tenantID, id, at)
}

// TouchAPIToken sets LastUsedAt.
func (s *Store) TouchAPIToken(ctx context.Context, tenantID, id string, at time.Time) error {
	const op = "touch api token"
	if err := begin(ctx, op, tenantID); err != nil {
		return err
	}
	return s.exec(ctx, op, `UPDATE @.api_tokens SET last_used_at = $3 WHERE tenant_id = $1 AND id = $2`, tenantID, id, at)
}

// Bots.

// CreateBot stores b (HasCredentials and DeletedAt ignored). An unknown
// tenant is record.ErrNotFound.
func (s *Store) CreateBot(ctx context.Context, b record.Bot) error {
	const op = "create bot"
	if err := begin(ctx, op, b.TenantID); err != nil {
		return err
	}
	if b.ID == "" {
		return fmt.Errorf("postgres: %s: %w", op, record.Invalid("id", "is required"))
	}
	rerank, err := rerankArg(op, b.Rerank)
	if err != nil {
		return err
	}
	if _, err := s.botLanguage(ctx, op, b.Language); err != nil {
		return err
	}
	_, err = s.q.Exec(ctx, s.sql(`INSERT INTO @.bots (id, tenant_id, name, description, system_prompt, model, temperature,
			max_tokens, base_url, active, extractive_fallback, language, rewrite_follow_ups, rerank, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`),
		b.ID, b.TenantID, b.Name, b.Description, b.SystemPrompt, b.Model, b.Temperature, b.MaxTokens, b.BaseURL,
		b.Active, b.ExtractiveFallback, b.Language, b.RewriteFollowUps, rerank, b.CreatedAt, b.UpdatedAt)
	return wrapErr(ctx, op, err)
}

const botCols = `id, tenant_id, name, description, system_prompt, model, temperature, max_tokens, base_url, active,
	extractive_fallback, language, rewrite_follow_ups, rerank, credentials IS NOT NULL, deleted_at, created_at, updated_at`

func scanBot(r pgx.Row) (record.Bot, error) {
	var b record.Bot
	var rerank []byte
	err := r.Scan(&b.ID, &b.TenantID, &b.Name, &b.Description, &b.SystemPrompt, &b.Model, &b.Temperature, &b.MaxTokens,
		&b.BaseURL, &b.Active, &b.ExtractiveFallback, &b.Language, &b.RewriteFollowUps, &rerank, &b.HasCredentials,
		&b.DeletedAt, &b.CreatedAt, &b.UpdatedAt)
	b.DeletedAt, b.CreatedAt, b.UpdatedAt = utcPtr(b.DeletedAt), utc(b.CreatedAt), utc(b.UpdatedAt)
	if err == nil && rerank != nil {
		b.Rerank = new(record.BotRerank)
		if jerr := json.Unmarshal(rerank, b.Rerank); jerr != nil {
			err = fmt.Errorf("bot %s: rerank: %w", b.ID, jerr)
		}
	}
	return b, err
}

// rerankArg encodes a bot's rerank endpoint for its jsonb column; nil is
// NULL.
func rerankArg(op string, r *record.BotRerank) (any, error) {
	if r == nil {
		return nil, nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, record.Invalid("rerank", err.Error()))
	}
	return string(b), nil
}

// GetBot returns a live bot of the tenant.
func (s *Store) GetBot(ctx context.Context, tenantID, id string) (record.Bot, error) {
	const op = "get bot"
	if err := begin(ctx, op, tenantID); err != nil {
		return record.Bot{}, err
	}
	return one(ctx, s, op, scanBot, `SELECT `+botCols+` FROM @.bots WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`, tenantID, id)
}

// ListBots lists a tenant's live bots, oldest first.
func (s *Store) ListBots(ctx context.Context, tenantID string) ([]record.Bot, error) {
	const op = "list bots"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	return list(ctx, s, op, scanBot, `SELECT `+botCols+` FROM @.bots WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`, tenantID)
}

// UpdateBot writes every field of b but ID, TenantID, CreatedAt, DeletedAt
// and credentials.
func (s *Store) UpdateBot(ctx context.Context, b record.Bot) error {
	const op = "update bot"
	if err := begin(ctx, op, b.TenantID); err != nil {
		return err
	}
	rerank, err := rerankArg(op, b.Rerank)
	if err != nil {
		return err
	}
	lang, err := s.botLanguage(ctx, op, b.Language)
	if err != nil {
		return err
	}
	err = s.tx(ctx, op, func(tx *Store) error {
		if err := tx.exec(ctx, op, `UPDATE @.bots SET name = $3, description = $4, system_prompt = $5, model = $6, temperature = $7,
			max_tokens = $8, base_url = $9, active = $10, extractive_fallback = $11, language = $12, updated_at = $13,
			rewrite_follow_ups = $14, rerank = $15
		WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
			b.TenantID, b.ID, b.Name, b.Description, b.SystemPrompt, b.Model, b.Temperature, b.MaxTokens, b.BaseURL,
			b.Active, b.ExtractiveFallback, b.Language, b.UpdatedAt, b.RewriteFollowUps, rerank); err != nil {
			return err
		}
		// Re-index the bot's chunks in its new language (the chunks
		// trigger recomputes tsv, the statement triggers the statistics).
		_, err := tx.q.Exec(ctx, tx.sql(`UPDATE @.chunks SET lang = $3::regconfig
			WHERE tenant_id = $1 AND bot_id = $2 AND lang <> $3::regconfig`), b.TenantID, b.ID, lang)
		return wrapErr(ctx, op, err)
	})
	if err != nil {
		return err
	}
	s.wrote(ctx, b.TenantID)
	return nil
}

// DeleteBot soft-deletes a bot.
func (s *Store) DeleteBot(ctx context.Context, tenantID, id string, at time.Time) error {
	const op = "delete bot"
	if err := begin(ctx, op, tenantID); err != nil {
		return err
	}
	return s.exec(ctx, op, `UPDATE @.bots SET deleted_at = $3 WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`, tenantID, id, at)
}

// SetBotCredentials replaces a live bot's encrypted credentials; a nil or
// empty Ciphertext removes them.
func (s *Store) SetBotCredentials(ctx context.Context, c record.BotCredentials) error {
	const op = "set bot credentials"
	if err := begin(ctx, op, c.TenantID); err != nil {
		return err
	}
	var ct any
	if len(c.Ciphertext) > 0 {
		ct = c.Ciphertext
	}
	return s.exec(ctx, op, `UPDATE @.bots SET credentials = $3 WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`, c.TenantID, c.BotID, ct)
}

func scanCreds(r pgx.Row) (record.BotCredentials, error) {
	var c record.BotCredentials
	err := r.Scan(&c.TenantID, &c.BotID, &c.Ciphertext)
	return c, err
}

// GetBotCredentials returns a live bot's encrypted credentials,
// record.ErrNotFound when it has none.
func (s *Store) GetBotCredentials(ctx context.Context, tenantID, botID string) (record.BotCredentials, error) {
	const op = "get bot credentials"
	if err := begin(ctx, op, tenantID); err != nil {
		return record.BotCredentials{}, err
	}
	return one(ctx, s, op, scanCreds, `SELECT tenant_id, id, credentials FROM @.bots
		WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL AND credentials IS NOT NULL`, tenantID, botID)
}

// ListBotCredentials lists the encrypted credentials of a tenant's bots,
// soft-deleted bots included, oldest bot first.
func (s *Store) ListBotCredentials(ctx context.Context, tenantID string) ([]record.BotCredentials, error) {
	const op = "list bot credentials"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	return list(ctx, s, op, scanCreds, `SELECT tenant_id, id, credentials FROM @.bots
		WHERE tenant_id = $1 AND credentials IS NOT NULL ORDER BY created_at, id`, tenantID)
}
