package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Conversations.

// CreateConversation stores c with MessageCount 0. A BotID that is not a
// bot of the tenant is invalid input naming "bot_id".
func (s *Store) CreateConversation(ctx context.Context, c record.Conversation) error {
	const op = "create conversation"
	if err := begin(ctx, op, c.TenantID); err != nil {
		return err
	}
	if c.ID == "" {
		return fmt.Errorf("postgres: %s: %w", op, record.Invalid("id", "is required"))
	}
	_, err := s.q.Exec(ctx, s.sql(`INSERT INTO @.conversations (id, tenant_id, bot_id, user_id, end_user_id, title, message_count,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)`),
		c.ID, c.TenantID, c.BotID, c.UserID, c.EndUserID, c.Title, c.CreatedAt, c.UpdatedAt)
	return wrapErr(ctx, op, err)
}

const convCols = `id, tenant_id, bot_id, user_id, end_user_id, title, message_count, created_at, updated_at`

func scanConv(r pgx.Row) (record.Conversation, error) {
	var c record.Conversation
	err := r.Scan(&c.ID, &c.TenantID, &c.BotID, &c.UserID, &c.EndUserID, &c.Title, &c.MessageCount, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	return c, err
}

// GetConversation returns a conversation of the tenant.
func (s *Store) GetConversation(ctx context.Context, tenantID, id string) (record.Conversation, error) {
	const op = "get conversation"
	if err := begin(ctx, op, tenantID); err != nil {
		return record.Conversation{}, err
	}
	return one(ctx, s, op, scanConv, `SELECT `+convCols+` FROM @.conversations WHERE tenant_id = $1 AND id = $2`, tenantID, id)
}

// where builds a WHERE clause with numbered parameters.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

func (w *where) String() string { return strings.Join(w.conds, " AND ") }

// next is the placeholder of the next parameter.
func (w *where) next(arg any) string {
	w.args = append(w.args, arg)
	return "$" + strconv.Itoa(len(w.args))
}

// ListConversations lists a page of the tenant's conversations, newest
// (by UpdatedAt, then ID) first.
func (s *Store) ListConversations(ctx context.Context, q storage.ConversationQuery) ([]record.Conversation, error) {
	const op = "list conversations"
	if err := begin(ctx, op, q.TenantID); err != nil {
		return nil, err
	}
	var w where
	w.add("tenant_id = ?", q.TenantID)
	if q.BotID != "" {
		w.add("bot_id = ?", q.BotID)
	}
	if q.UserID != "" {
		w.add("user_id = ?", q.UserID)
	}
	if q.EndUserID != "" {
		w.add("end_user_id = ?", q.EndUserID)
	}
	if q.BeforeID != "" {
		w.add("(updated_at, id) < (?, ?)", q.BeforeUpdatedAt, q.BeforeID)
	}
	query := `SELECT ` + convCols + ` FROM @.conversations WHERE ` + w.String() + ` ORDER BY updated_at DESC, id DESC`
	if q.Limit > 0 {
		query += ` LIMIT ` + w.next(q.Limit)
	}
	return list(ctx, s, op, scanConv, query, w.args...)
}

// RenameConversation sets a conversation's title and UpdatedAt.
func (s *Store) RenameConversation(ctx context.Context, tenantID, id, title string, at time.Time) error {
	const op = "rename conversation"
	if err := begin(ctx, op, tenantID); err != nil {
		return err
	}
	return s.exec(ctx, op, `UPDATE @.conversations SET title = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2`, tenantID, id, title, at)
}

// DeleteConversation deletes a conversation, its messages and their
// feedback.
func (s *Store) DeleteConversation(ctx context.Context, tenantID, id string) error {
	const op = "delete conversation"
	if err := begin(ctx, op, tenantID); err != nil {
		return err
	}
	return s.exec(ctx, op, `DELETE FROM @.conversations WHERE tenant_id = $1 AND id = $2`, tenantID, id)
}

// AppendMessages appends msgs to a conversation in one transaction. The
// UPDATE of the conversation's count locks its row, so concurrent appends
// (in any process) take turns and never share a Seq.
func (s *Store) AppendMessages(ctx context.Context, tenantID, conversationID string, msgs []record.ConversationMessage, at time.Time) ([]record.ConversationMessage, error) {
	const op = "append messages"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	var v record.ValidationError
	cites := make([]any, len(msgs))
	for i, m := range msgs {
		if m.ID == "" {
			v.Add(fmt.Sprintf("messages[%d].id", i), "is required")
		}
		if len(m.Citations) > 0 {
			b, err := json.Marshal(m.Citations)
			if err != nil {
				v.Add(fmt.Sprintf("messages[%d].citations", i), err.Error())
			}
			cites[i] = string(b)
		}
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	out := make([]record.ConversationMessage, len(msgs))
	err := s.tx(ctx, op, func(tx *Store) error {
		var count int
		err := tx.q.QueryRow(ctx, tx.sql(`UPDATE @.conversations SET message_count = message_count + $3, updated_at = $4
			WHERE tenant_id = $1 AND id = $2 RETURNING message_count`), tenantID, conversationID, len(msgs), at).Scan(&count)
		if err != nil {
			return wrapErr(ctx, op, err)
		}
		seq := count - len(msgs)
		for i, m := range msgs {
			seq++
			m.TenantID, m.ConversationID, m.Seq = tenantID, conversationID, seq
			if _, err := tx.q.Exec(ctx, tx.sql(`INSERT INTO @.conversation_messages (id, tenant_id, conversation_id, seq, role, content,
					status, error, query, citations, model, latency_ms, prompt_tokens, completion_tokens, extractive, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`),
				m.ID, tenantID, conversationID, seq, string(m.Role), m.Content, string(m.Status), m.Error, m.Query, cites[i],
				m.Model, m.LatencyMS, m.PromptTokens, m.CompletionTokens, m.Extractive, m.CreatedAt); err != nil {
				return wrapErr(ctx, op, err)
			}
			if m.Citations != nil {
				m.Citations = append([]record.MessageCitation(nil), m.Citations...)
			}
			m.CreatedAt = usec(m.CreatedAt).UTC()
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

func scanMsg(r pgx.Row) (record.ConversationMessage, error) {
	var m record.ConversationMessage
	var role, status string
	var cites []byte
	err := r.Scan(&m.ID, &m.TenantID, &m.ConversationID, &m.Seq, &role, &m.Content, &status, &m.Error, &m.Query, &cites,
		&m.Model, &m.LatencyMS, &m.PromptTokens, &m.CompletionTokens, &m.Extractive, &m.CreatedAt)
	if err != nil {
		return m, err
	}
	m.Role, m.Status, m.CreatedAt = record.MessageRole(role), record.MessageStatus(status), utc(m.CreatedAt)
	if cites != nil {
		if err := json.Unmarshal(cites, &m.Citations); err != nil {
			return m, fmt.Errorf("message %s: citations: %w", m.ID, err)
		}
	}
	return m, nil
}

// ListMessages lists a conversation's messages by Seq (the last ones when
// last > 0).
func (s *Store) ListMessages(ctx context.Context, tenantID, conversationID string, last int) ([]record.ConversationMessage, error) {
	const op = "list messages"
	if err := begin(ctx, op, tenantID); err != nil {
		return nil, err
	}
	var ok bool
	if err := s.q.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM @.conversations WHERE tenant_id = $1 AND id = $2)`),
		tenantID, conversationID).Scan(&ok); err != nil {
		return nil, wrapErr(ctx, op, err)
	}
	if !ok {
		return nil, fmt.Errorf("postgres: %s: %w", op, record.ErrNotFound)
	}
	if last > 0 {
		return list(ctx, s, op, scanMsg, `SELECT * FROM (SELECT `+msgCols+` FROM @.conversation_messages
			WHERE tenant_id = $1 AND conversation_id = $2 ORDER BY seq DESC LIMIT $3) m ORDER BY seq`, tenantID, conversationID, last)
	}
	return list(ctx, s, op, scanMsg, `SELECT `+msgCols+` FROM @.conversation_messages
		WHERE tenant_id = $1 AND conversation_id = $2 ORDER BY seq`, tenantID, conversationID)
}

// GetMessage returns a conversation message of the tenant.
func (s *Store) GetMessage(ctx context.Context, tenantID, id string) (record.ConversationMessage, error) {
	const op = "get message"
	if err := begin(ctx, op, tenantID); err != nil {
		return record.ConversationMessage{}, err
	}
	return one(ctx, s, op, scanMsg, `SELECT `+msgCols+` FROM @.conversation_messages WHERE tenant_id = $1 AND id = $2`, tenantID, id)
}

// Feedback.

const feedbackCols = `id, tenant_id, bot_id, conversation_id, message_id, rating, comment, user_id, end_user_id, created_at, updated_at`

func scanFeedback(r pgx.Row) (record.Feedback, error) {
	var f record.Feedback
	err := r.Scan(&f.ID, &f.TenantID, &f.BotID, &f.ConversationID, &f.MessageID, &f.Rating, &f.Comment,
		&f.UserID, &f.EndUserID, &f.CreatedAt, &f.UpdatedAt)
	f.CreatedAt, f.UpdatedAt = utc(f.CreatedAt), utc(f.UpdatedAt)
	return f, err
}

// PutFeedback stores or replaces the feedback of a message, in one
// statement that checks the message belongs to the tenant and the
// conversation.
func (s *Store) PutFeedback(ctx context.Context, f record.Feedback) (record.Feedback, error) {
	const op = "put feedback"
	if err := begin(ctx, op, f.TenantID); err != nil {
		return record.Feedback{}, err
	}
	if f.ID == "" {
		return record.Feedback{}, fmt.Errorf("postgres: %s: %w", op, record.Invalid("id", "is required"))
	}
	return one(ctx, s, op, scanFeedback, `INSERT INTO @.feedback (id, tenant_id, bot_id, conversation_id, message_id, rating, comment,
			user_id, end_user_id, created_at, updated_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM @.conversation_messages
			WHERE tenant_id = $2 AND id = $5 AND conversation_id = $4
		ON CONFLICT (message_id) DO UPDATE SET rating = excluded.rating, comment = excluded.comment,
			user_id = excluded.user_id, end_user_id = excluded.end_user_id, updated_at = excluded.updated_at
		RETURNING `+feedbackCols,
		f.ID, f.TenantID, f.BotID, f.ConversationID, f.MessageID, f.Rating, f.Comment, f.UserID, f.EndUserID, f.CreatedAt, f.UpdatedAt)
}

// ListFeedback lists a page of the tenant's feedback, newest first.
func (s *Store) ListFeedback(ctx context.Context, q storage.FeedbackQuery) ([]record.Feedback, error) {
	const op = "list feedback"
	if err := begin(ctx, op, q.TenantID); err != nil {
		return nil, err
	}
	var w where
	w.add("tenant_id = ?", q.TenantID)
	if q.BotID != "" {
		w.add("bot_id = ?", q.BotID)
	}
	if q.Rating != 0 {
		w.add("rating = ?", q.Rating)
	}
	if q.BeforeID != "" {
		w.add("(updated_at, id) < (?, ?)", q.BeforeUpdatedAt, q.BeforeID)
	}
	query := `SELECT ` + feedbackCols + ` FROM @.feedback WHERE ` + w.String() + ` ORDER BY updated_at DESC, id DESC`
	if q.Limit > 0 {
		query += ` LIMIT ` + w.next(q.Limit)
	}
	return list(ctx, s, op, scanFeedback, query, w.args...)
}

// Usage.

// day is t's UTC date as a date parameter.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// AddUsage adds u's counts to its day's row (one INSERT … ON CONFLICT DO
// UPDATE: concurrent additions from any process all count).
func (s *Store) AddUsage(ctx context.Context, u record.Usage) error {
	const op = "add usage"
	if err := begin(ctx, op, u.TenantID); err != nil {
		return err
	}
	_, err := s.q.Exec(ctx, s.sql(`INSERT INTO @.usage_daily AS u (tenant_id, day, bot_id, model, kind, requests, input_tokens, output_tokens)
		VALUES ($1, $2::date, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (tenant_id, day, bot_id, model, kind) DO UPDATE SET requests = u.requests + excluded.requests,
			input_tokens = u.input_tokens + excluded.input_tokens, output_tokens = u.output_tokens + excluded.output_tokens`),
		u.TenantID, day(u.Day).Format(time.DateOnly), u.BotID, u.Model, string(u.Kind), u.Requests, u.InputTokens, u.OutputTokens)
	return wrapErr(ctx, op, err)
}

// ListUsage lists the usage rows q selects.
func (s *Store) ListUsage(ctx context.Context, q storage.UsageQuery) ([]record.Usage, error) {
	const op = "list usage"
	if err := begin(ctx, op, q.TenantID); err != nil {
		return nil, err
	}
	var w where
	w.add("tenant_id = ?", q.TenantID)
	w.add("day >= ?::date", day(q.From).Format(time.DateOnly))
	if !q.To.IsZero() {
		// A To inside a day still counts that day out only from its
		// midnight: compare with the instant's date, rounded up.
		to := day(q.To)
		if !to.Equal(q.To.UTC()) {
			to = to.AddDate(0, 0, 1)
		}
		w.add("day < ?::date", to.Format(time.DateOnly))
	}
	if q.BotID != "" {
		w.add("bot_id = ?", q.BotID)
	}
	return list(ctx, s, op, func(r pgx.Row) (record.Usage, error) {
		var u record.Usage
		var d time.Time
		var kind string
		err := r.Scan(&u.TenantID, &d, &u.BotID, &u.Model, &kind, &u.Requests, &u.InputTokens, &u.OutputTokens)
		u.Day, u.Kind = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), record.UsageKind(kind)
		return u, err
	}, `SELECT tenant_id, day, bot_id, model, kind, requests, input_tokens, output_tokens FROM @.usage_daily
		WHERE `+w.String()+` ORDER BY day, bot_id, model, kind`, w.args...)
}

// CountRequest counts a request in the tenant's window unless the limit
// is reached: one INSERT … ON CONFLICT DO UPDATE … WHERE, atomic on the
// window's row whatever the number of processes.
func (s *Store) CountRequest(ctx context.Context, tenantID string, window time.Time, limit int) (bool, error) {
	const op = "count request"
	if err := begin(ctx, op, tenantID); err != nil {
		return false, err
	}
	if limit <= 0 {
		return false, nil
	}
	if _, err := s.q.Exec(ctx, s.sql(`DELETE FROM @.request_windows WHERE tenant_id = $1 AND window_start < $2`), tenantID, window); err != nil {
		return false, wrapErr(ctx, op, err)
	}
	tag, err := s.q.Exec(ctx, s.sql(`INSERT INTO @.request_windows AS w (tenant_id, window_start, requests) VALUES ($1, $2, 1)
		ON CONFLICT (tenant_id, window_start) DO UPDATE SET requests = w.requests + 1 WHERE w.requests < $3`),
		tenantID, window, limit)
	if err != nil {
		return false, wrapErr(ctx, op, err)
	}
	return tag.RowsAffected() > 0, nil
}

// CountContent returns the number of documents and chunks of the tenant.
func (s *Store) CountContent(ctx context.Context, tenantID string) (int, int, error) {
	const op = "count content"
	if err := begin(ctx, op, tenantID); err != nil {
		return 0, 0, err
	}
	var docs, chunks int
	err := s.q.QueryRow(ctx, s.sql(`SELECT (SELECT count(*) FROM @.documents WHERE tenant_id = $1), (SELECT count(*) FROM @.chunks WHERE tenant_id = $1)`),
		tenantID).Scan(&docs, &chunks)
	if err != nil {
		return 0, 0, wrapErr(ctx, op, err)
	}
	return docs, chunks, nil
}
