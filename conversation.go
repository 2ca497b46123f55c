package minirag

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Conversation is a thread of questions and answers with one bot, kept
// in Storage (see TenantHandle.CreateConversation).
type Conversation = record.Conversation

// ConversationMessage is a stored question or answer of a Conversation.
type ConversationMessage = record.ConversationMessage

// MessageCitation is a passage a stored answer cites, with its retrieval
// score.
type MessageCitation = record.MessageCitation

// Message roles and statuses of stored conversation messages.
const (
	MessageUser       = record.MessageUser
	MessageAssistant  = record.MessageAssistant
	MessageComplete   = record.MessageComplete
	MessageIncomplete = record.MessageIncomplete
	MessageFailed     = record.MessageFailed
)

// Conversation limits.
const (
	// DefaultConversationPage is ListConversationsRequest.Limit when 0.
	DefaultConversationPage = 20
	// MaxConversationPage bounds ListConversationsRequest.Limit and
	// FeedbackRequest.Limit.
	MaxConversationPage = 100
	// maxEndUserIDLen bounds an end user's ID, in bytes.
	maxEndUserIDLen = 200
	// maxTitleLen bounds a conversation's title, in characters.
	maxTitleLen = 200
	// maxCommentLen bounds a feedback comment, in characters.
	maxCommentLen = 4000
	// historyMessages is the most stored messages Ask reads as history.
	historyMessages = maxHistory
)

// ForEndUser returns a handle whose conversation calls are confined to one
// end user of the host (a widget visitor, a customer of the tenant), named
// by an opaque ID of the host's own: CreateConversation records it, and
// ListConversations, GetConversation, RenameConversation,
// DeleteConversation, PutFeedback and Ask with a ConversationID see only
// that end user's conversations (another's is ErrNotFound). The ID is
// trusted as given: the host authenticates its end users. An empty ID
// returns the handle unchanged.
func (h *TenantHandle) ForEndUser(endUserID string) *TenantHandle {
	if endUserID == "" {
		return h
	}
	c := *h
	c.endUser = endUserID
	return &c
}

// EndUserID returns the end user the handle is confined to (ForEndUser),
// or "".
func (h *TenantHandle) EndUserID() string { return h.endUser }

// CreateConversationParams are the fields of a new conversation.
type CreateConversationParams struct {
	// BotID is the bot the conversation is held with (required).
	BotID string `json:"bot_id"`
	// Title is optional (at most 200 characters); Ask sets it to the
	// beginning of the first question when it is empty.
	Title string `json:"title,omitempty"`
}

// CreateConversation starts a conversation with a bot, held by the
// handle's user (Principal.UserID) and end user (ForEndUser). Needs the
// admin scope or the query scope allowing the bot; the bot must be a live
// bot of the tenant (ErrInvalidInput naming bot_id otherwise).
func (h *TenantHandle) CreateConversation(ctx context.Context, p CreateConversationParams) (Conversation, error) {
	const op = "create conversation"
	if err := h.authorizeBot(p.BotID); err != nil {
		return Conversation{}, err
	}
	var v record.ValidationError
	if p.BotID == "" {
		v.Add("bot_id", "is required")
	}
	p.Title = strings.TrimSpace(p.Title)
	checkTitle(&v, p.Title)
	if len(h.endUser) > maxEndUserIDLen || !utf8.ValidString(h.endUser) {
		v.Add("end_user_id", fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxEndUserIDLen))
	}
	if err := v.Err(); err != nil {
		return Conversation{}, err
	}
	if _, err := h.c.store.GetBot(ctx, h.p.TenantID, p.BotID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Conversation{}, record.Invalid("bot_id", "is not a bot of the tenant")
		}
		return Conversation{}, fmt.Errorf("minirag: %s: %w", op, err)
	}
	now := h.c.now()
	c := Conversation{ID: id.New(), TenantID: h.p.TenantID, BotID: p.BotID, UserID: h.p.UserID, EndUserID: h.endUser,
		Title: p.Title, CreatedAt: now, UpdatedAt: now}
	if err := h.c.store.CreateConversation(ctx, c); err != nil {
		return Conversation{}, fmt.Errorf("minirag: %s: %w", op, err)
	}
	return c, nil
}

func checkTitle(v *record.ValidationError, title string) {
	if !utf8.ValidString(title) || utf8.RuneCountInString(title) > maxTitleLen {
		v.Add("title", fmt.Sprintf("must be valid UTF-8 of at most %d characters", maxTitleLen))
	}
}

// visible reports whether the handle may see c: a handle for an end user
// sees only that end user's conversations; a handle without the admin
// scope only its own user's, with bots it may query.
func (h *TenantHandle) visible(c Conversation) bool {
	if h.endUser != "" && c.EndUserID != h.endUser {
		return false
	}
	if h.p.HasScope(ScopeAdmin) {
		return true
	}
	return c.UserID == h.p.UserID && h.authorizeBot(c.BotID) == nil
}

// conversation loads a conversation the handle may see (ErrNotFound
// otherwise).
func (h *TenantHandle) conversation(ctx context.Context, op, id string) (Conversation, error) {
	if err := h.authorizeAny(); err != nil {
		return Conversation{}, err
	}
	if !h.p.HasScope(ScopeAdmin) && !h.p.HasScope(ScopeQuery) {
		return Conversation{}, fmt.Errorf("%w: the query scope is required", ErrForbidden)
	}
	if id == "" {
		return Conversation{}, record.Invalid("conversation_id", "is required")
	}
	c, err := h.c.store.GetConversation(ctx, h.p.TenantID, id)
	if err != nil {
		return Conversation{}, fmt.Errorf("minirag: %s: %w", op, err)
	}
	if !h.visible(c) {
		return Conversation{}, fmt.Errorf("minirag: %s: %w", op, ErrNotFound)
	}
	return c, nil
}

// ConversationWithMessages is a conversation and its messages, oldest
// first.
type ConversationWithMessages struct {
	Conversation
	Messages []ConversationMessage `json:"messages"`
}

// GetConversation returns a conversation with its messages. A
// conversation of another tenant, end user (ForEndUser) or, for a handle
// without the admin scope, of another user is ErrNotFound.
func (h *TenantHandle) GetConversation(ctx context.Context, conversationID string) (ConversationWithMessages, error) {
	const op = "get conversation"
	c, err := h.conversation(ctx, op, conversationID)
	if err != nil {
		return ConversationWithMessages{}, err
	}
	msgs, err := h.c.store.ListMessages(ctx, h.p.TenantID, c.ID, 0)
	if err != nil {
		return ConversationWithMessages{}, fmt.Errorf("minirag: %s: %w", op, err)
	}
	if msgs == nil {
		msgs = []ConversationMessage{}
	}
	return ConversationWithMessages{Conversation: c, Messages: msgs}, nil
}

// RenameConversation sets a conversation's title.
func (h *TenantHandle) RenameConversation(ctx context.Context, conversationID, title string) (Conversation, error) {
	const op = "rename conversation"
	title = strings.TrimSpace(title)
	var v record.ValidationError
	checkTitle(&v, title)
	if title == "" {
		v.Add("title", "is required")
	}
	if err := v.Err(); err != nil {
		return Conversation{}, err
	}
	c, err := h.conversation(ctx, op, conversationID)
	if err != nil {
		return Conversation{}, err
	}
	now := h.c.now()
	if err := h.c.store.RenameConversation(ctx, h.p.TenantID, c.ID, title, now); err != nil {
		return Conversation{}, fmt.Errorf("minirag: %s: %w", op, err)
	}
	c.Title, c.UpdatedAt = title, now
	return c, nil
}

// DeleteConversation deletes a conversation with its messages and their
// feedback.
func (h *TenantHandle) DeleteConversation(ctx context.Context, conversationID string) error {
	const op = "delete conversation"
	c, err := h.conversation(ctx, op, conversationID)
	if err != nil {
		return err
	}
	if err := h.c.store.DeleteConversation(ctx, h.p.TenantID, c.ID); err != nil {
		return fmt.Errorf("minirag: %s: %w", op, err)
	}
	return nil
}

// ListConversationsRequest selects a page of conversations.
type ListConversationsRequest struct {
	// BotID, when set, keeps only the conversations with this bot.
	BotID string `json:"bot_id,omitempty"`
	// Limit is the page size (0 means DefaultConversationPage; at most
	// MaxConversationPage).
	Limit int `json:"limit,omitempty"`
	// Cursor continues a listing: the NextCursor of the previous page.
	Cursor string `json:"cursor,omitempty"`
}

// ConversationPage is a page of conversations, most recently updated
// first.
type ConversationPage struct {
	Conversations []Conversation `json:"conversations"`
	// NextCursor continues the listing; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// ListConversations lists the conversations the handle may see, most
// recently updated first, a page at a time: a handle for an end user
// (ForEndUser) lists that end user's; a handle without the admin scope
// its own user's with bots it may query; an admin handle every
// conversation of the tenant.
func (h *TenantHandle) ListConversations(ctx context.Context, req ListConversationsRequest) (ConversationPage, error) {
	const op = "list conversations"
	if err := h.authorizeAny(); err != nil {
		return ConversationPage{}, err
	}
	admin := h.p.HasScope(ScopeAdmin)
	if req.BotID != "" {
		if err := h.authorizeBot(req.BotID); err != nil {
			return ConversationPage{}, err
		}
	} else if !admin && !h.p.HasScope(ScopeQuery) {
		return ConversationPage{}, fmt.Errorf("%w: the query scope is required", ErrForbidden)
	}
	var v record.ValidationError
	switch {
	case req.Limit < 0 || req.Limit > MaxConversationPage:
		v.Add("limit", fmt.Sprintf("must be between 0 and %d", MaxConversationPage))
	case req.Limit == 0:
		req.Limit = DefaultConversationPage
	}
	before, beforeID, err := decodeCursor(req.Cursor)
	if err != nil {
		v.Add("cursor", "is not a cursor of this listing")
	}
	if err := v.Err(); err != nil {
		return ConversationPage{}, err
	}
	q := storage.ConversationQuery{TenantID: h.p.TenantID, BotID: req.BotID, EndUserID: h.endUser,
		BeforeUpdatedAt: before, BeforeID: beforeID}
	if !admin {
		q.UserID = h.p.UserID
	}
	out := []Conversation{}
	// A query handle limited to some bots may find conversations of other
	// bots in a page: they are left out, and more pages read.
	for len(out) < req.Limit {
		q.Limit = req.Limit + 1 - len(out)
		page, err := h.c.store.ListConversations(ctx, q)
		if err != nil {
			return ConversationPage{}, fmt.Errorf("minirag: %s: %w", op, err)
		}
		for _, c := range page {
			if h.visible(c) {
				out = append(out, c)
			}
		}
		if len(page) < q.Limit {
			return ConversationPage{Conversations: out}, nil
		}
		last := page[len(page)-1]
		q.BeforeUpdatedAt, q.BeforeID = last.UpdatedAt, last.ID
	}
	next := ""
	if len(out) > req.Limit {
		out = out[:req.Limit]
	}
	last := out[len(out)-1]
	next = encodeCursor(last.UpdatedAt, last.ID)
	return ConversationPage{Conversations: out, NextCursor: next}, nil
}

// encodeCursor is an opaque cursor of (time, id).
func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + "|" + id))
}

func decodeCursor(s string) (time.Time, string, error) {
	if s == "" {
		return time.Time{}, "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", err
	}
	ts, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", fmt.Errorf("bad cursor")
	}
	return time.UnixMicro(n).UTC(), id, nil
}

// Feedback is a rating of an answer: thumbs up (+1) or down (-1), with an
// optional comment.
type Feedback = record.Feedback

// FeedbackParams rates an answer.
type FeedbackParams struct {
	ConversationID string `json:"conversation_id"`
	// MessageID is the answer's (Answer.MessageID, or an assistant
	// message of GetConversation).
	MessageID string `json:"message_id"`
	// Rating is 1 (thumbs up) or -1 (thumbs down).
	Rating int `json:"rating"`
	// Comment is optional, at most 4000 characters.
	Comment string `json:"comment,omitempty"`
}

// PutFeedback rates an answer of a conversation the handle may see. An
// answer has one feedback: rating it again replaces the rating and the
// comment.
func (h *TenantHandle) PutFeedback(ctx context.Context, p FeedbackParams) (Feedback, error) {
	const op = "put feedback"
	var v record.ValidationError
	if p.Rating != 1 && p.Rating != -1 {
		v.Add("rating", "must be 1 (thumbs up) or -1 (thumbs down)")
	}
	p.Comment = strings.TrimSpace(p.Comment)
	if !utf8.ValidString(p.Comment) || utf8.RuneCountInString(p.Comment) > maxCommentLen {
		v.Add("comment", fmt.Sprintf("must be valid UTF-8 of at most %d characters", maxCommentLen))
	}
	if p.MessageID == "" {
		v.Add("message_id", "is required")
	}
	if p.ConversationID == "" {
		v.Add("conversation_id", "is required")
	}
	if err := v.Err(); err != nil {
		return Feedback{}, err
	}
	c, err := h.conversation(ctx, op, p.ConversationID)
	if err != nil {
		return Feedback{}, err
	}
	m, err := h.c.store.GetMessage(ctx, h.p.TenantID, p.MessageID)
	if err != nil {
		return Feedback{}, fmt.Errorf("minirag: %s: message: %w", op, err)
	}
	if m.ConversationID != c.ID {
		return Feedback{}, fmt.Errorf("minirag: %s: message: %w", op, ErrNotFound)
	}
	if m.Role != MessageAssistant {
		return Feedback{}, record.Invalid("message_id", "is not an answer (feedback rates the assistant's messages)")
	}
	now := h.c.now()
	f, err := h.c.store.PutFeedback(ctx, Feedback{ID: id.New(), TenantID: h.p.TenantID, BotID: c.BotID, ConversationID: c.ID,
		MessageID: m.ID, Rating: p.Rating, Comment: p.Comment, UserID: h.p.UserID, EndUserID: h.endUser, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return Feedback{}, fmt.Errorf("minirag: %s: %w", op, err)
	}
	return f, nil
}

// FeedbackRequest selects a page of feedback.
type FeedbackRequest struct {
	// BotID, when set, keeps only the feedback on this bot's answers.
	BotID string `json:"bot_id,omitempty"`
	// Rating, when not 0, keeps only this rating (1 or -1).
	Rating int `json:"rating,omitempty"`
	// Limit is the page size (0 means DefaultConversationPage; at most
	// MaxConversationPage).
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// FeedbackItem is a feedback with the answer it rates and the question
// before it, so that an admin sees what to fix in the sources.
type FeedbackItem struct {
	Feedback
	// Question is the user's message before the answer ("" when it is
	// gone).
	Question string `json:"question"`
	// Answer is the rated answer, with its citations.
	Answer ConversationMessage `json:"answer"`
}

// FeedbackPage is a page of feedback, most recently given first.
type FeedbackPage struct {
	Feedback   []FeedbackItem `json:"feedback"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// ListFeedback lists the tenant's feedback, most recent first, for its
// admins (the admin scope is required).
func (h *TenantHandle) ListFeedback(ctx context.Context, req FeedbackRequest) (FeedbackPage, error) {
	const op = "list feedback"
	if err := h.authorizeAdmin(); err != nil {
		return FeedbackPage{}, err
	}
	var v record.ValidationError
	switch {
	case req.Limit < 0 || req.Limit > MaxConversationPage:
		v.Add("limit", fmt.Sprintf("must be between 0 and %d", MaxConversationPage))
	case req.Limit == 0:
		req.Limit = DefaultConversationPage
	}
	if req.Rating != 0 && req.Rating != 1 && req.Rating != -1 {
		v.Add("rating", "must be 0 (any), 1 or -1")
	}
	before, beforeID, err := decodeCursor(req.Cursor)
	if err != nil {
		v.Add("cursor", "is not a cursor of this listing")
	}
	if err := v.Err(); err != nil {
		return FeedbackPage{}, err
	}
	list, err := h.c.store.ListFeedback(ctx, storage.FeedbackQuery{TenantID: h.p.TenantID, BotID: req.BotID, Rating: req.Rating,
		BeforeUpdatedAt: before, BeforeID: beforeID, Limit: req.Limit + 1})
	if err != nil {
		return FeedbackPage{}, fmt.Errorf("minirag: %s: %w", op, err)
	}
	page := FeedbackPage{Feedback: []FeedbackItem{}}
	if len(list) > req.Limit {
		list = list[:req.Limit]
		last := list[len(list)-1]
		page.NextCursor = encodeCursor(last.UpdatedAt, last.ID)
	}
	convMsgs := make(map[string][]ConversationMessage) // read once per conversation
	for _, f := range list {
		item := FeedbackItem{Feedback: f}
		m, err := h.c.store.GetMessage(ctx, h.p.TenantID, f.MessageID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return FeedbackPage{}, fmt.Errorf("minirag: %s: %w", op, err)
		}
		item.Answer = m
		if err == nil && m.Seq > 1 {
			prev, ok := convMsgs[f.ConversationID]
			if !ok {
				prev, err = h.c.store.ListMessages(ctx, h.p.TenantID, f.ConversationID, 0)
				if err != nil && !errors.Is(err, ErrNotFound) {
					return FeedbackPage{}, fmt.Errorf("minirag: %s: %w", op, err)
				}
				convMsgs[f.ConversationID] = prev
			}
			for _, p := range prev {
				if p.Seq == m.Seq-1 && p.Role == MessageUser {
					item.Question = p.Content
				}
			}
		}
		page.Feedback = append(page.Feedback, item)
	}
	return page, nil
}
