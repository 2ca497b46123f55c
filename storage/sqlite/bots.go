package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/minirag/minirag/record"
)

// CreateBot stores b (HasCredentials ignored). An unknown tenant is
// record.ErrNotFound.
func (s *Store) CreateBot(ctx context.Context, b record.Bot) error {
	const op = "create bot"
	if err := checkTenant(ctx, op, b.TenantID); err != nil {
		return err
	}
	if b.ID == "" {
		return fmt.Errorf("sqlite: %s: %w", op, record.Invalid("id", "is required"))
	}
	rerank, err := rerankJSON(b.Rerank)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	_, err = s.q.ExecContext(ctx, `INSERT INTO bots (id, tenant_id, name, description, system_prompt, model, temperature, max_tokens,
			base_url, active, extractive_fallback, language, rewrite_follow_ups, rerank, deleted_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.TenantID, b.Name, b.Description, b.SystemPrompt, b.Model, b.Temperature, b.MaxTokens,
		b.BaseURL, boolInt(b.Active), boolInt(b.ExtractiveFallback), b.Language, boolInt(b.RewriteFollowUps), rerank,
		tmPtr(b.DeletedAt), tm(b.CreatedAt), tm(b.UpdatedAt))
	if isFKViolation(err) {
		return fmt.Errorf("sqlite: %s: tenant: %w", op, record.ErrNotFound)
	}
	if err != nil {
		return opErr(ctx, op, err)
	}
	return nil
}

const botCols = `id, tenant_id, name, description, system_prompt, model, temperature, max_tokens,
	base_url, active, extractive_fallback, language, rewrite_follow_ups, rerank, credentials IS NOT NULL, deleted_at, created_at, updated_at`

func scanBot(sc interface{ Scan(...any) error }) (record.Bot, error) {
	var b record.Bot
	var del sql.NullInt64
	var rerank sql.NullString
	var c, u int64
	if err := sc.Scan(&b.ID, &b.TenantID, &b.Name, &b.Description, &b.SystemPrompt, &b.Model, &b.Temperature, &b.MaxTokens,
		&b.BaseURL, &b.Active, &b.ExtractiveFallback, &b.Language, &b.RewriteFollowUps, &rerank, &b.HasCredentials, &del, &c, &u); err != nil {
		return b, err
	}
	if rerank.Valid {
		b.Rerank = new(record.BotRerank)
		if err := json.Unmarshal([]byte(rerank.String), b.Rerank); err != nil {
			return b, fmt.Errorf("bot %s: rerank: %w", b.ID, err)
		}
	}
	b.DeletedAt = fromTmPtr(del)
	b.CreatedAt, b.UpdatedAt = fromTm(c), fromTm(u)
	return b, nil
}

// GetBot returns a live bot of the tenant.
func (s *Store) GetBot(ctx context.Context, tenantID, id string) (record.Bot, error) {
	if err := checkTenant(ctx, "get bot", tenantID); err != nil {
		return record.Bot{}, err
	}
	b, err := scanBot(s.q.QueryRowContext(ctx, `SELECT `+botCols+` FROM bots WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`, tenantID, id))
	if err != nil {
		return record.Bot{}, opErr(ctx, "get bot", err)
	}
	return b, nil
}

// ListBots lists a tenant's live bots, oldest first.
func (s *Store) ListBots(ctx context.Context, tenantID string) ([]record.Bot, error) {
	if err := checkTenant(ctx, "list bots", tenantID); err != nil {
		return nil, err
	}
	return queryList(ctx, s.q, "list bots", scanBot,
		`SELECT `+botCols+` FROM bots WHERE tenant_id = ? AND deleted_at IS NULL ORDER BY created_at, id`, tenantID)
}

// UpdateBot writes every field of b but ID, TenantID, CreatedAt, DeletedAt
// and credentials.
func (s *Store) UpdateBot(ctx context.Context, b record.Bot) error {
	const op = "update bot"
	if err := checkTenant(ctx, op, b.TenantID); err != nil {
		return err
	}
	rerank, err := rerankJSON(b.Rerank)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return s.withTx(ctx, func(tx *Store) error {
		var old string
		err := tx.q.QueryRowContext(ctx, `SELECT language FROM bots WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`,
			b.TenantID, b.ID).Scan(&old)
		if err != nil {
			return opErr(ctx, op, err)
		}
		res, err := tx.q.ExecContext(ctx, `UPDATE bots SET name = ?, description = ?, system_prompt = ?, model = ?, temperature = ?,
			max_tokens = ?, base_url = ?, active = ?, extractive_fallback = ?, language = ?, rewrite_follow_ups = ?, rerank = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`,
			b.Name, b.Description, b.SystemPrompt, b.Model, b.Temperature, b.MaxTokens, b.BaseURL,
			boolInt(b.Active), boolInt(b.ExtractiveFallback), b.Language, boolInt(b.RewriteFollowUps), rerank, tm(b.UpdatedAt), b.TenantID, b.ID)
		if err := affected(ctx, op, res, err); err != nil {
			return err
		}
		if stems(old) == stems(b.Language) {
			return nil
		}
		// Re-index the bot's chunks with the new language's tokenizer: the
		// update trigger moves each to the other FTS5 table.
		if _, err := tx.q.ExecContext(ctx, `UPDATE chunks SET text = text WHERE tenant_id = ? AND bot_id = ?`, b.TenantID, b.ID); err != nil {
			return opErr(ctx, op, err)
		}
		return nil
	})
}

// stems reports whether a bot language is indexed with English stemming
// (chunks_fts, porter over unicode61): empty, "english" or "en", in any
// case. Any other language is indexed without stemming (chunks_fts_plain,
// unicode61); see migrations/0005_language.sql.
func stems(language string) bool {
	switch strings.ToLower(strings.TrimSpace(language)) {
	case "", "english", "en":
		return true
	}
	return false
}

// DeleteBot soft-deletes a live bot: it stays in storage with DeletedAt set
// (and UpdatedAt moved to at).
func (s *Store) DeleteBot(ctx context.Context, tenantID, id string, at time.Time) error {
	const op = "delete bot"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `UPDATE bots SET deleted_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`,
		tm(at), tm(at), tenantID, id)
	return affected(ctx, op, res, err)
}

// SetBotCredentials replaces a bot's encrypted credentials; a nil or empty
// Ciphertext removes them. It works on soft-deleted bots too, so that
// credentials listed by ListBotCredentials can be re-encrypted under a new
// key.
func (s *Store) SetBotCredentials(ctx context.Context, c record.BotCredentials) error {
	const op = "set bot credentials"
	if err := checkTenant(ctx, op, c.TenantID); err != nil {
		return err
	}
	var blob any
	if len(c.Ciphertext) > 0 {
		blob = c.Ciphertext
	}
	res, err := s.q.ExecContext(ctx, `UPDATE bots SET credentials = ? WHERE tenant_id = ? AND id = ?`, blob, c.TenantID, c.BotID)
	return affected(ctx, op, res, err)
}

// GetBotCredentials returns a live bot's encrypted credentials,
// record.ErrNotFound when it has none.
func (s *Store) GetBotCredentials(ctx context.Context, tenantID, botID string) (record.BotCredentials, error) {
	const op = "get bot credentials"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return record.BotCredentials{}, err
	}
	c := record.BotCredentials{TenantID: tenantID, BotID: botID}
	err := s.q.QueryRowContext(ctx, `SELECT credentials FROM bots WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL AND credentials IS NOT NULL`,
		tenantID, botID).Scan(&c.Ciphertext)
	if err != nil {
		return record.BotCredentials{}, opErr(ctx, op, err)
	}
	return c, nil
}

// ListBotCredentials lists the encrypted credentials of a tenant's bots,
// soft-deleted bots included, oldest bot first.
func (s *Store) ListBotCredentials(ctx context.Context, tenantID string) ([]record.BotCredentials, error) {
	const op = "list bot credentials"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return nil, err
	}
	return queryList(ctx, s.q, op, func(sc interface{ Scan(...any) error }) (record.BotCredentials, error) {
		var c record.BotCredentials
		err := sc.Scan(&c.TenantID, &c.BotID, &c.Ciphertext)
		return c, err
	}, `SELECT tenant_id, id, credentials FROM bots WHERE tenant_id = ? AND credentials IS NOT NULL ORDER BY created_at, id`, tenantID)
}

// Sources.

// checkBot returns a *record.ValidationError naming "bot_id" unless botID
// is a live bot of the tenant.
func checkBot(ctx context.Context, q querier, op, tenantID, botID string) error {
	if botID == "" {
		return fmt.Errorf("sqlite: %s: %w", op, record.Invalid("bot_id", "is required"))
	}
	ok, err := exists(ctx, q, `SELECT 1 FROM bots WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`, tenantID, botID)
	if err != nil {
		return opErr(ctx, op, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s: %w", op, record.Invalid("bot_id", "is not a bot of the tenant"))
	}
	return nil
}

// configJSON validates and encodes a source's config; nil is NULL.
func configJSON(op string, c json.RawMessage) (any, error) {
	if c == nil {
		return nil, nil
	}
	if !json.Valid(c) {
		return nil, fmt.Errorf("sqlite: %s: %w", op, record.Invalid("config", "is not valid JSON"))
	}
	return string(c), nil
}

// CreateSource stores s. A BotID that is not a live bot of s's tenant is a
// *record.ValidationError naming "bot_id".
func (s *Store) CreateSource(ctx context.Context, src record.Source) error {
	const op = "create source"
	if err := checkTenant(ctx, op, src.TenantID); err != nil {
		return err
	}
	if src.ID == "" {
		return fmt.Errorf("sqlite: %s: %w", op, record.Invalid("id", "is required"))
	}
	cfg, err := configJSON(op, src.Config)
	if err != nil {
		return err
	}
	return s.withTx(ctx, func(tx *Store) error {
		if err := checkBot(ctx, tx.q, op, src.TenantID, src.BotID); err != nil {
			return err
		}
		_, err := tx.q.ExecContext(ctx, `INSERT INTO sources (id, tenant_id, bot_id, name, type, config, status, error,
				document_count, chunk_count, last_ingested_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			src.ID, src.TenantID, src.BotID, src.Name, string(src.Type), cfg, string(src.Status), src.Error,
			src.DocumentCount, src.ChunkCount, tmPtr(src.LastIngestedAt), tm(src.CreatedAt), tm(src.UpdatedAt))
		if err != nil {
			return opErr(ctx, op, err)
		}
		return nil
	})
}

const sourceCols = `id, tenant_id, bot_id, name, type, config, status, error, document_count, chunk_count,
	last_ingested_at, created_at, updated_at`

func scanSource(sc interface{ Scan(...any) error }) (record.Source, error) {
	var s record.Source
	var typ, status string
	var cfg sql.NullString
	var last sql.NullInt64
	var c, u int64
	if err := sc.Scan(&s.ID, &s.TenantID, &s.BotID, &s.Name, &typ, &cfg, &status, &s.Error, &s.DocumentCount, &s.ChunkCount,
		&last, &c, &u); err != nil {
		return s, err
	}
	s.Type, s.Status = record.SourceType(typ), record.SourceStatus(status)
	if cfg.Valid {
		s.Config = json.RawMessage(cfg.String)
	}
	s.LastIngestedAt = fromTmPtr(last)
	s.CreatedAt, s.UpdatedAt = fromTm(c), fromTm(u)
	return s, nil
}

// GetSource returns a source of the tenant.
func (s *Store) GetSource(ctx context.Context, tenantID, id string) (record.Source, error) {
	if err := checkTenant(ctx, "get source", tenantID); err != nil {
		return record.Source{}, err
	}
	src, err := scanSource(s.q.QueryRowContext(ctx, `SELECT `+sourceCols+` FROM sources WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err != nil {
		return record.Source{}, opErr(ctx, "get source", err)
	}
	return src, nil
}

// ListSources lists a tenant's sources, oldest first, only those of botID
// when it is not empty.
func (s *Store) ListSources(ctx context.Context, tenantID, botID string) ([]record.Source, error) {
	if err := checkTenant(ctx, "list sources", tenantID); err != nil {
		return nil, err
	}
	if botID != "" {
		return queryList(ctx, s.q, "list sources", scanSource,
			`SELECT `+sourceCols+` FROM sources WHERE tenant_id = ? AND bot_id = ? ORDER BY created_at, id`, tenantID, botID)
	}
	return queryList(ctx, s.q, "list sources", scanSource,
		`SELECT `+sourceCols+` FROM sources WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
}

// UpdateSource writes s's BotID, Name, Type, Config and UpdatedAt, BotID
// checked as in CreateSource. When the bot changes, the source's documents
// and chunks move to the new bot too.
func (s *Store) UpdateSource(ctx context.Context, src record.Source) error {
	const op = "update source"
	if err := checkTenant(ctx, op, src.TenantID); err != nil {
		return err
	}
	cfg, err := configJSON(op, src.Config)
	if err != nil {
		return err
	}
	return s.withTx(ctx, func(tx *Store) error {
		ok, err := exists(ctx, tx.q, `SELECT 1 FROM sources WHERE tenant_id = ? AND id = ?`, src.TenantID, src.ID)
		if err != nil {
			return opErr(ctx, op, err)
		}
		if !ok {
			return fmt.Errorf("sqlite: %s: %w", op, record.ErrNotFound)
		}
		if err := checkBot(ctx, tx.q, op, src.TenantID, src.BotID); err != nil {
			return err
		}
		res, err := tx.q.ExecContext(ctx, `UPDATE sources SET bot_id = ?, name = ?, type = ?, config = ?, updated_at = ?
			WHERE tenant_id = ? AND id = ?`,
			src.BotID, src.Name, string(src.Type), cfg, tm(src.UpdatedAt), src.TenantID, src.ID)
		if err := affected(ctx, op, res, err); err != nil {
			return err
		}
		for _, table := range []string{"documents", "chunks"} {
			if _, err := tx.q.ExecContext(ctx, `UPDATE `+table+` SET bot_id = ? WHERE tenant_id = ? AND source_id = ? AND bot_id <> ?`,
				src.BotID, src.TenantID, src.ID, src.BotID); err != nil {
				return opErr(ctx, op, err)
			}
		}
		return nil
	})
}

// SetSourceState writes a source's ingestion state.
func (s *Store) SetSourceState(ctx context.Context, tenantID, id string, st record.SourceState) error {
	const op = "set source state"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `UPDATE sources SET status = ?, error = ?, document_count = ?, chunk_count = ?,
			last_ingested_at = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`,
		string(st.Status), st.Error, st.DocumentCount, st.ChunkCount, tmPtr(st.LastIngestedAt), tm(st.UpdatedAt), tenantID, id)
	return affected(ctx, op, res, err)
}

// DeleteSource deletes a source with its documents, chunks and jobs.
func (s *Store) DeleteSource(ctx context.Context, tenantID, id string) error {
	const op = "delete source"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return err
	}
	// Foreign keys cascade to documents, chunks (and their FTS rows) and jobs.
	res, err := s.q.ExecContext(ctx, `DELETE FROM sources WHERE tenant_id = ? AND id = ?`, tenantID, id)
	return affected(ctx, op, res, err)
}

// rerankJSON encodes a bot's rerank endpoint for its column; nil is NULL.
func rerankJSON(r *record.BotRerank) (any, error) {
	if r == nil {
		return nil, nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, record.Invalid("rerank", err.Error())
	}
	return string(b), nil
}
