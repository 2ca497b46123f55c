package openaitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// ChatMessage is one message of a chat request. Content given as a list
// of parts is read as the concatenation of its text parts.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// UnmarshalJSON reads content as a string or a list of parts.
func (m *ChatMessage) UnmarshalJSON(b []byte) error {
	var raw struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	m.Role = raw.Role
	m.Content = ""
	if len(raw.Content) == 0 || string(raw.Content) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw.Content, &m.Content); err == nil {
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw.Content, &parts); err != nil {
		return err
	}
	var sb strings.Builder
	for _, p := range parts {
		sb.WriteString(p.Text)
	}
	m.Content = sb.String()
	return nil
}

// StreamOptions is the stream_options field of a chat request.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// ChatRequest is the body of POST /v1/chat/completions (the fields this
// server reads).
type ChatRequest struct {
	Model               string         `json:"model"`
	Messages            []ChatMessage  `json:"messages"`
	Temperature         *float64       `json:"temperature,omitempty"`
	MaxTokens           *int           `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int           `json:"max_completion_tokens,omitempty"`
	Stream              bool           `json:"stream,omitempty"`
	StreamOptions       *StreamOptions `json:"stream_options,omitempty"`
}

// Echo is the default reply: "echo: " followed by the content of the last
// user message.
func Echo(req ChatRequest) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			return "echo: " + req.Messages[i].Content
		}
	}
	return "echo:"
}

var chatIDs atomic.Int64

// words splits text after each run of spaces, so that joining the pieces
// gives text back.
func words(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); i++ {
		if text[i] == ' ' && (i+1 == len(text) || text[i+1] != ' ') {
			out = append(out, text[start:i+1])
			start = i + 1
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	var req ChatRequest
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "We could not parse the JSON body of your request.", "invalid_request_error", "")
		return
	}
	switch {
	case req.Model == "":
		writeError(w, http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", "")
		return
	case len(req.Messages) == 0:
		writeError(w, http.StatusBadRequest, "'messages' must contain at least one message.", "invalid_request_error", "")
		return
	}
	reply := Echo
	if s.opts.Reply != nil {
		reply = s.opts.Reply
	}
	pieces := words(reply(req))
	finish := "stop"
	limit := req.MaxTokens
	if limit == nil {
		limit = req.MaxCompletionTokens
	}
	if limit != nil && *limit > 0 && len(pieces) > *limit {
		pieces, finish = pieces[:*limit], "length"
	}
	content := strings.Join(pieces, "")
	usage := Usage{CompletionTokens: EstimateTokens(content)}
	for _, m := range req.Messages {
		usage.PromptTokens += EstimateTokens(m.Content) + 3
	}
	usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
	id := fmt.Sprintf("chatcmpl-%d", chatIDs.Add(1))
	created := time.Now().Unix()

	if !req.Stream {
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"choices": []any{map[string]any{
				"index":         0,
				"message":       map[string]any{"role": "assistant", "content": content},
				"finish_reason": finish,
				"logprobs":      nil,
			}},
			"usage": usage,
		})
		return
	}

	s.mu.Lock()
	abortAt := -1
	if len(s.abortAt) > 0 {
		abortAt, s.abortAt = s.abortAt[0], s.abortAt[1:]
	}
	s.mu.Unlock()

	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(choices []any, u *Usage) bool {
		chunk := map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": choices,
		}
		if includeUsage {
			chunk["usage"] = u // null on all but the last chunk
		}
		b, _ := json.Marshal(chunk)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return r.Context().Err() == nil
	}
	choice := func(delta map[string]any, finish any) []any {
		return []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}
	}
	if !send(choice(map[string]any{"role": "assistant", "content": ""}, nil), nil) {
		return
	}
	for i, p := range pieces {
		if i == abortAt {
			panic(http.ErrAbortHandler) // drops the connection
		}
		if i > 0 && !sleep(r.Context(), s.opts.StreamChunkDelay) {
			return
		}
		if !send(choice(map[string]any{"content": p}, nil), nil) {
			return
		}
	}
	if abortAt >= len(pieces) {
		panic(http.ErrAbortHandler)
	}
	if !send(choice(map[string]any{}, finish), nil) {
		return
	}
	if includeUsage && !send([]any{}, &usage) {
		return
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}
