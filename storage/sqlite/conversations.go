package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Conversations.

// CreateConversation stores c with MessageCount 0. A BotID that is not a
// bot of the tenant is invalid input naming "bot_id".
func (s *Store) CreateConversation(ctx context.Context, c record.Conversation) error {
	const op = "create conversation"
	if err := checkTenant(ctx, op, c.TenantID); err != nil {
		return err
	}
	if c.ID == "" {
		return fmt.Errorf("sqlite: %s: %w", op, record.Invalid("id", "is required"))
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO conversations (id, tenant_id, bot_id, user_id, end_user_id, title, message_count, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)`,
		c.ID, c.TenantID, c.BotID, c.UserID, c.EndUserID, c.Title, tm(c.CreatedAt), tm(c.UpdatedAt))
	if isFKViolation(err) {
		return fmt.Errorf("sqlite: %s: %w", op, record.Invalid("bot_id", "is not a bot of the tenant"))
	}
	if err != nil {
		return opErr(ctx, op, err)
	}
	return nil
}

const convCols = `id, tenant_id, bot_id, user_id, end_user_id, title, message_count, created_at, updated_at`

func scanConv(sc interface{ Scan(...any) error }) (record.Conversation, error) {
	var c record.Conversation
	var cr, up int64
	if err := sc.Scan(&c.ID, &c.TenantID, &c.BotID, &c.UserID, &c.EndUserID, &c.Title, &c.MessageCount, &cr, &up); err != nil {
		return c, err
	}
	c.CreatedAt, c.UpdatedAt = fromTm(cr), fromTm(up)
	return c, nil
}

// GetConversation returns a conversation of the tenant.
func (s *Store) GetConversation(ctx context.Context, tenantID, id string) (record.Conversation, error) {
	const op = "get conversation"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return record.Conversation{}, err
	}
	c, err := scanConv(s.q.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversations WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err != nil {
		return record.Conversation{}, opErr(ctx, op, err)
	}
	return c, nil
}

// ListConversations lists a page of the tenant's conversations, newest
// (by UpdatedAt, then ID) first.
func (s *Store) ListConversations(ctx context.Context, q storage.ConversationQuery) ([]record.Conversation, error) {
	const op = "list conversations"
	if err := checkTenant(ctx, op, q.TenantID); err != nil {
		return nil, err
	}
	where := []string{"tenant_id = ?"}
	args := []any{q.TenantID}
	for _, f := range []struct{ col, v string }{{"bot_id", q.BotID}, {"user_id", q.UserID}, {"end_user_id", q.EndUserID}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	if q.BeforeID != "" {
		where = append(where, "(updated_at < ? OR (updated_at = ? AND id < ?))")
		args = append(args, tm(q.BeforeUpdatedAt), tm(q.BeforeUpdatedAt), q.BeforeID)
	}
	query := `SELECT ` + convCols + ` FROM conversations WHERE ` + strings.Join(where, " AND ") + ` ORDER BY updated_at DESC, id DESC`
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	return queryList(ctx, s.q, op, scanConv, query, args...)
}

// RenameConversation sets a conversation's title and UpdatedAt.
func (s *Store) RenameConversation(ctx context.Context, tenantID, id, title string, at time.Time) error {
	const op = "rename conversation"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `UPDATE conversations SET title = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`, title, tm(at), tenantID, id)
	return affected(ctx, op, res, err)
}

// DeleteConversation deletes a conversation, its messages and their
// feedback.
func (s *Store) DeleteConversation(ctx context.Context, tenantID, id string) error {
	const op = "delete conversation"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `DELETE FROM conversations WHERE tenant_id = ? AND id = ?`, tenantID, id)
	return affected(ctx, op, res, err)
}

// AppendMessages appends msgs to a conversation in one transaction, with
// the next sequence numbers.
func (s *Store) AppendMessages(ctx context.Context, tenantID, conversationID string, msgs []record.ConversationMessage, at time.Time) ([]record.ConversationMessage, error) {
	const op = "append messages"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return nil, err
	}
	var v record.ValidationError
	for i, m := range msgs {
		if m.ID == "" {
			v.Add(fmt.Sprintf("messages[%d].id", i), "is required")
		}
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	out := make([]record.ConversationMessage, len(msgs))
	err := s.withTx(ctx, func(tx *Store) error {
		// The UPDATE takes the write lock (BEGIN IMMEDIATE already holds
		// it): the count read back is this transaction's.
		var count int
		err := tx.q.QueryRowContext(ctx, `UPDATE conversations SET message_count = message_count + ?, updated_at = ?
			WHERE tenant_id = ? AND id = ? RETURNING message_count`, len(msgs), tm(at), tenantID, conversationID).Scan(&count)
		if err != nil {
			return opErr(ctx, op, err)
		}
		seq := count - len(msgs)
		for i, m := range msgs {
			seq++
			m.TenantID, m.ConversationID, m.Seq = tenantID, conversationID, seq
			var cites any
			if len(m.Citations) > 0 {
				b, err := json.Marshal(m.Citations)
				if err != nil {
					return fmt.Errorf("sqlite: %s: %w", op, record.Invalid(fmt.Sprintf("messages[%d].citations", i), err.Error()))
				}
				cites = string(b)
			}
			if _, err := tx.q.ExecContext(ctx, `INSERT INTO conversation_messages (id, tenant_id, conversation_id, seq, role, content, status,
					error, query, citations, model, latency_ms, prompt_tokens, completion_tokens, extractive, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				m.ID, tenantID, conversationID, seq, string(m.Role), m.Content, string(m.Status), m.Error, m.Query, cites,
				m.Model, m.LatencyMS, m.PromptTokens, m.CompletionTokens, boolInt(m.Extractive), tm(m.CreatedAt)); err != nil {
				return opErr(ctx, op, err)
			}
			m.Citations = cloneCitations(m.Citations)
			m.CreatedAt = fromTm(tm(m.CreatedAt))
			out[i] = m
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const msgCols = `id, tenant_id, conversation_id, seq, role, content, status, error, query, citations, model, latency_ms,
	prompt_tokens, completion_tokens, extractive, created_at`

func scanMsg(sc interface{ Scan(...any) error }) (record.ConversationMessage, error) {
	var m record.ConversationMessage
	var role, status string
	var cites sql.NullString
	var cr int64
	if err := sc.Scan(&m.ID, &m.TenantID, &m.ConversationID, &m.Seq, &role, &m.Content, &status, &m.Error, &m.Query, &cites,
		&m.Model, &m.LatencyMS, &m.PromptTokens, &m.CompletionTokens, &m.Extractive, &cr); err != nil {
		return m, err
	}
	m.Role, m.Status, m.CreatedAt = record.MessageRole(role), record.MessageStatus(status), fromTm(cr)
	if cites.Valid {
		if err := json.Unmarshal([]byte(cites.String), &m.Citations); err != nil {
			return m, fmt.Errorf("message %s: citations: %w", m.ID, err)
		}
	}
	return m, nil
}

// ListMessages lists a conversation's messages by Seq (the last ones when
// last > 0).
func (s *Store) ListMessages(ctx context.Context, tenantID, conversationID string, last int) ([]record.ConversationMessage, error) {
	const op = "list messages"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return nil, err
	}
	ok, err := exists(ctx, s.q, `SELECT 1 FROM conversations WHERE tenant_id = ? AND id = ?`, tenantID, conversationID)
	if err != nil {
		return nil, opErr(ctx, op, err)
	}
	if !ok {
		return nil, fmt.Errorf("sqlite: %s: %w", op, record.ErrNotFound)
	}
	query := `SELECT ` + msgCols + ` FROM conversation_messages WHERE tenant_id = ? AND conversation_id = ? ORDER BY seq`
	args := []any{tenantID, conversationID}
	if last > 0 {
		query = `SELECT * FROM (SELECT ` + msgCols + ` FROM conversation_messages WHERE tenant_id = ? AND conversation_id = ?
			ORDER BY seq DESC LIMIT ?) ORDER BY seq`
		args = append(args, last)
	}
	return queryList(ctx, s.q, op, scanMsg, query, args...)
}

// GetMessage returns a conversation message of the tenant.
func (s *Store) GetMessage(ctx context.Context, tenantID, id string) (record.ConversationMessage, error) {
	const op = "get message"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return record.ConversationMessage{}, err
	}
	m, err := scanMsg(s.q.QueryRowContext(ctx, `SELECT `+msgCols+` FROM conversation_messages WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if err != nil {
		return record.ConversationMessage{}, opErr(ctx, op, err)
	}
	return m, nil
}

func cloneCitations(c []record.MessageCitation) []record.MessageCitation {
	if c == nil {
		return nil
	}
	return append([]record.MessageCitation(nil), c...)
}

// Feedback.

// PutFeedback stores or replaces the feedback of a message.
func (s *Store) PutFeedback(ctx context.Context, f record.Feedback) (record.Feedback, error) {
	const op = "put feedback"
	if err := checkTenant(ctx, op, f.TenantID); err != nil {
		return record.Feedback{}, err
	}
	if f.ID == "" {
		return record.Feedback{}, fmt.Errorf("sqlite: %s: %w", op, record.Invalid("id", "is required"))
	}
	var out record.Feedback
	err := s.withTx(ctx, func(tx *Store) error {
		ok, err := exists(ctx, tx.q, `SELECT 1 FROM conversation_messages WHERE tenant_id = ? AND id = ? AND conversation_id = ?`,
			f.TenantID, f.MessageID, f.ConversationID)
		if err != nil {
			return opErr(ctx, op, err)
		}
		if !ok {
			return fmt.Errorf("sqlite: %s: message: %w", op, record.ErrNotFound)
		}
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO feedback (id, tenant_id, bot_id, conversation_id, message_id, rating, comment,
				user_id, end_user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (message_id) DO UPDATE SET rating = excluded.rating, comment = excluded.comment,
				user_id = excluded.user_id, end_user_id = excluded.end_user_id, updated_at = excluded.updated_at`,
			f.ID, f.TenantID, f.BotID, f.ConversationID, f.MessageID, f.Rating, f.Comment, f.UserID, f.EndUserID,
			tm(f.CreatedAt), tm(f.UpdatedAt)); err != nil {
			return opErr(ctx, op, err)
		}
		out, err = scanFeedback(tx.q.QueryRowContext(ctx, `SELECT `+feedbackCols+` FROM feedback WHERE tenant_id = ? AND message_id = ?`,
			f.TenantID, f.MessageID))
		if err != nil {
			return opErr(ctx, op, err)
		}
		return nil
	})
	return out, err
}

const feedbackCols = `id, tenant_id, bot_id, conversation_id, message_id, rating, comment, user_id, end_user_id, created_at, updated_at`

func scanFeedback(sc interface{ Scan(...any) error }) (record.Feedback, error) {
	var f record.Feedback
	var cr, up int64
	if err := sc.Scan(&f.ID, &f.TenantID, &f.BotID, &f.ConversationID, &f.MessageID, &f.Rating, &f.Comment,
		&f.UserID, &f.EndUserID, &cr, &up); err != nil {
		return f, err
	}
	f.CreatedAt, f.UpdatedAt = fromTm(cr), fromTm(up)
	return f, nil
}

// ListFeedback lists a page of the tenant's feedback, newest first.
func (s *Store) ListFeedback(ctx context.Context, q storage.FeedbackQuery) ([]record.Feedback, error) {
	const op = "list feedback"
	if err := checkTenant(ctx, op, q.TenantID); err != nil {
		return nil, err
	}
	where := []string{"tenant_id = ?"}
	args := []any{q.TenantID}
	if q.BotID != "" {
		where = append(where, "bot_id = ?")
		args = append(args, q.BotID)
	}
	if q.Rating != 0 {
		where = append(where, "rating = ?")
		args = append(args, q.Rating)
	}
	if q.BeforeID != "" {
		where = append(where, "(updated_at < ? OR (updated_at = ? AND id < ?))")
		args = append(args, tm(q.BeforeUpdatedAt), tm(q.BeforeUpdatedAt), q.BeforeID)
	}
	query := `SELECT ` + feedbackCols + ` FROM feedback WHERE ` + strings.Join(where, " AND ") + ` ORDER BY updated_at DESC, id DESC`
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	return queryList(ctx, s.q, op, scanFeedback, query, args...)
}

// Usage.

// day is the UTC midnight starting t's day.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// AddUsage adds u's counts to its day's row.
func (s *Store) AddUsage(ctx context.Context, u record.Usage) error {
	const op = "add usage"
	if err := checkTenant(ctx, op, u.TenantID); err != nil {
		return err
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO usage_daily (tenant_id, day, bot_id, model, kind, requests, input_tokens, output_tokens)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, day, bot_id, model, kind) DO UPDATE SET requests = requests + excluded.requests,
			input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens`,
		u.TenantID, tm(day(u.Day)), u.BotID, u.Model, string(u.Kind), u.Requests, u.InputTokens, u.OutputTokens)
	if isFKViolation(err) {
		return fmt.Errorf("sqlite: %s: tenant: %w", op, record.ErrNotFound)
	}
	if err != nil {
		return opErr(ctx, op, err)
	}
	return nil
}

// ListUsage lists the usage rows q selects.
func (s *Store) ListUsage(ctx context.Context, q storage.UsageQuery) ([]record.Usage, error) {
	const op = "list usage"
	if err := checkTenant(ctx, op, q.TenantID); err != nil {
		return nil, err
	}
	where := []string{"tenant_id = ?", "day >= ?"}
	args := []any{q.TenantID, tm(day(q.From))}
	if !q.To.IsZero() {
		// A To inside a day leaves that day in.
		to := day(q.To)
		if !to.Equal(q.To.UTC()) {
			to = to.AddDate(0, 0, 1)
		}
		where = append(where, "day < ?")
		args = append(args, tm(to))
	}
	if q.BotID != "" {
		where = append(where, "bot_id = ?")
		args = append(args, q.BotID)
	}
	return queryList(ctx, s.q, op, func(sc interface{ Scan(...any) error }) (record.Usage, error) {
		var u record.Usage
		var d int64
		var kind string
		err := sc.Scan(&u.TenantID, &d, &u.BotID, &u.Model, &kind, &u.Requests, &u.InputTokens, &u.OutputTokens)
		u.Day, u.Kind = fromTm(d), record.UsageKind(kind)
		return u, err
	}, `SELECT tenant_id, day, bot_id, model, kind, requests, input_tokens, output_tokens FROM usage_daily
		WHERE `+strings.Join(where, " AND ")+` ORDER BY day, bot_id, model, kind`, args...)
}

// CountRequest counts a request in the tenant's window unless the limit
// is reached (one statement: atomic under SQLite's write lock).
func (s *Store) CountRequest(ctx context.Context, tenantID string, window time.Time, limit int) (bool, error) {
	const op = "count request"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return false, err
	}
	if limit <= 0 {
		return false, nil
	}
	counted := false
	err := s.withTx(ctx, func(tx *Store) error {
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM request_windows WHERE tenant_id = ? AND window_start < ?`, tenantID, tm(window)); err != nil {
			return opErr(ctx, op, err)
		}
		res, err := tx.q.ExecContext(ctx, `INSERT INTO request_windows (tenant_id, window_start, requests) VALUES (?, ?, 1)
			ON CONFLICT (tenant_id, window_start) DO UPDATE SET requests = requests + 1 WHERE requests < ?`,
			tenantID, tm(window), limit)
		if isFKViolation(err) {
			return fmt.Errorf("sqlite: %s: tenant: %w", op, record.ErrNotFound)
		}
		if err != nil {
			return opErr(ctx, op, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return opErr(ctx, op, err)
		}
		counted = n > 0
		return nil
	})
	return counted, err
}

// CountContent returns the number of documents and chunks of the tenant.
func (s *Store) CountContent(ctx context.Context, tenantID string) (int, int, error) {
	const op = "count content"
	if err := checkTenant(ctx, op, tenantID); err != nil {
		return 0, 0, err
	}
	var docs, chunks int
	err := s.q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM documents WHERE tenant_id = ?), (SELECT COUNT(*) FROM chunks WHERE tenant_id = ?)`,
		tenantID, tenantID).Scan(&docs, &chunks)
	if err != nil {
		return 0, 0, opErr(ctx, op, err)
	}
	return docs, chunks, nil
}
