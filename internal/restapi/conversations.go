package restapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/minirag/minirag"
)

// endUserHeader names the end user a request acts for (a widget visitor):
// the host's opaque ID, trusted as given from any caller holding a valid
// token. With it, conversation routes see only that end user's
// conversations (minirag's TenantHandle.ForEndUser).
const endUserHeader = "X-End-User-Id"

// conversationRoutes adds the routes of conversations, feedback and usage:
//
//	POST   /v1/conversations                               start a conversation {bot_profile_id, title}
//	GET    /v1/conversations[?bot_profile_id=&limit=&cursor=] list, newest first, paged
//	GET    /v1/conversations/{id}                          read with its messages
//	PATCH  /v1/conversations/{id}                          rename {title}
//	DELETE /v1/conversations/{id}                          delete (204)
//	POST   /v1/conversations/{id}/messages                 ask in it (JSON, or SSE as chat)
//	PUT    /v1/conversations/{id}/messages/{mid}/feedback  rate an answer {rating, comment}
//	GET    /v1/feedback[?bot_profile_id=&rating=&limit=&cursor=] list feedback (admin)
//	GET    /v1/usage[?from=&to=&bot_profile_id=&group_by=bot,model] tokens used (admin)
//
// POST /v1/bot-profiles/{id}/chat accepts "conversation_id" too.
func (s *server) conversationRoutes(api *http.ServeMux) {
	api.HandleFunc("POST /v1/conversations", s.createConversation)
	api.HandleFunc("GET /v1/conversations", s.listConversations)
	api.HandleFunc("GET /v1/conversations/{id}", s.getConversation)
	api.HandleFunc("PATCH /v1/conversations/{id}", s.renameConversation)
	api.HandleFunc("DELETE /v1/conversations/{id}", s.deleteConversation)
	api.HandleFunc("POST /v1/conversations/{id}/messages", s.postMessage)
	api.HandleFunc("PUT /v1/conversations/{id}/messages/{mid}/feedback", s.putFeedback)
	api.HandleFunc("GET /v1/feedback", s.listFeedback)
	api.HandleFunc("GET /v1/usage", s.usage)
}

type conversationBody struct {
	BotProfileID string `json:"bot_profile_id"`
	Title        string `json:"title"`
}

func (s *server) createConversation(w http.ResponseWriter, r *http.Request) {
	var b conversationBody
	if err := decode(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.handle(r).CreateConversation(r.Context(), minirag.CreateConversationParams{BotID: b.BotProfileID, Title: b.Title})
	if err != nil {
		s.fail(w, r, renameField(err, "bot_id", "bot_profile_id"))
		return
	}
	w.Header().Set("Location", "/v1/conversations/"+c.ID)
	writeJSON(w, http.StatusCreated, c)
}

// intParam reads an integer query parameter (0 when absent).
func intParam(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, apiError{status: http.StatusUnprocessableEntity, code: "invalid_input", msg: "invalid input: " + name + ": must be an integer",
			fields: []minirag.FieldError{{Field: name, Message: "must be an integer"}}}
	}
	return n, nil
}

// pageBody is a page of a listing.
type pageBody[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func (s *server) listConversations(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.handle(r).ListConversations(r.Context(), minirag.ListConversationsRequest{
		BotID: r.URL.Query().Get("bot_profile_id"), Limit: limit, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageBody[minirag.Conversation]{Data: p.Conversations, NextCursor: p.NextCursor})
}

func (s *server) getConversation(w http.ResponseWriter, r *http.Request) {
	c, err := s.handle(r).GetConversation(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *server) renameConversation(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Title string `json:"title"`
	}
	if err := decode(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.handle(r).RenameConversation(r.Context(), r.PathValue("id"), b.Title)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *server) deleteConversation(w http.ResponseWriter, r *http.Request) {
	if err := s.handle(r).DeleteConversation(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// postMessage asks a question in a conversation: the body of chat, without
// history (the conversation's messages are the history).
func (s *server) postMessage(w http.ResponseWriter, r *http.Request) {
	var b chatBody
	if err := decode(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, b, "", r.PathValue("id"))
}

func (s *server) putFeedback(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Rating  int    `json:"rating"`
		Comment string `json:"comment"`
	}
	if err := decode(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.handle(r).PutFeedback(r.Context(), minirag.FeedbackParams{
		ConversationID: r.PathValue("id"), MessageID: r.PathValue("mid"), Rating: b.Rating, Comment: b.Comment})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *server) listFeedback(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rating, err := intParam(r, "rating")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.handle(r).ListFeedback(r.Context(), minirag.FeedbackRequest{
		BotID: r.URL.Query().Get("bot_profile_id"), Rating: rating, Limit: limit, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageBody[minirag.FeedbackItem]{Data: p.Feedback, NextCursor: p.NextCursor})
}

// timeParam reads a date (2006-01-02) or an RFC 3339 time.
func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.DateOnly, time.RFC3339Nano} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, apiError{status: http.StatusUnprocessableEntity, code: "invalid_input", msg: "invalid input: " + name + ": must be a date (2006-01-02) or an RFC 3339 time",
		fields: []minirag.FieldError{{Field: name, Message: "must be a date (2006-01-02) or an RFC 3339 time"}}}
}

func (s *server) usage(w http.ResponseWriter, r *http.Request) {
	from, err := timeParam(r, "from")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to, err := timeParam(r, "to")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var groups []string
	if g := r.URL.Query().Get("group_by"); g != "" {
		groups = strings.Split(g, ",")
	}
	rep, err := s.handle(r).Usage(r.Context(), minirag.UsageRequest{From: from, To: to, BotID: r.URL.Query().Get("bot_profile_id"), GroupBy: groups})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// renameField names an SDK field as this API spells it.
func renameField(err error, from, to string) error {
	e := toAPIError(err)
	for i := range e.fields {
		if e.fields[i].Field == from {
			e.fields[i].Field = to
			e.msg = strings.ReplaceAll(e.msg, from, to)
		}
	}
	return e
}

// quotaFromEnv reads the limits every tenant gets (MINIRAG_QUOTA_*; unset
// or 0: no limit).
func quotaFromEnv(getenv func(string) string) (minirag.Quota, error) {
	var q minirag.Quota
	for _, f := range []struct {
		name string
		set  func(int64)
	}{
		{"MINIRAG_QUOTA_REQUESTS_PER_MINUTE", func(n int64) { q.RequestsPerMinute = int(n) }},
		{"MINIRAG_QUOTA_TOKENS_PER_DAY", func(n int64) { q.TokensPerDay = n }},
		{"MINIRAG_QUOTA_TOKENS_PER_MONTH", func(n int64) { q.TokensPerMonth = n }},
		{"MINIRAG_QUOTA_MAX_DOCUMENTS", func(n int64) { q.MaxDocuments = int(n) }},
		{"MINIRAG_QUOTA_MAX_CHUNKS", func(n int64) { q.MaxChunks = int(n) }},
	} {
		v := getenv(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			return minirag.Quota{}, fmt.Errorf("%s must be a non-negative integer", f.name)
		}
		f.set(n)
	}
	return q, nil
}
