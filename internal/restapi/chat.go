package restapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/filter"
)

// ingestBody is the optional body of POST /v1/sources/{id}/ingest.
type ingestBody struct {
	// Force chunks and embeds every document again, changed or not (a
	// job of kind "ingest:force").
	Force bool `json:"force"`
}

// ingest queues an ingestion of the source and answers 202 with the job;
// the Worker running beside the server drains the queue. The body is
// optional: none (or an empty one) is {}.
func (s *server) ingest(w http.ResponseWriter, r *http.Request) {
	var b ingestBody
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.fail(w, r, apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: fmt.Sprintf("the body must be at most %d bytes", maxBodyBytes)})
		return
	case err != nil:
		s.fail(w, r, apiError{status: http.StatusBadRequest, code: "bad_request", msg: "the body could not be read"})
		return
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(raw))
		if err := decode(w, r, &b); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	job, err := s.handle(r).EnqueueIngestWithOptions(r.Context(), r.PathValue("id"), minirag.EnqueueOptions{Force: b.Force})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+job.ID)
	writeJSON(w, http.StatusAccepted, showJob(job))
}

func (s *server) getJob(w http.ResponseWriter, r *http.Request) {
	job, err := s.handle(r).GetJob(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, showJob(job))
}

func (s *server) listJobs(w http.ResponseWriter, r *http.Request) {
	p, err := pageParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	jobs, err := s.handle(r).ListJobsPage(r.Context(), r.URL.Query().Get("source_id"), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]jobBody, len(jobs.Items))
	for i, j := range jobs.Items {
		out[i] = showJob(j)
	}
	writeJSON(w, http.StatusOK, pageBody[jobBody]{Data: out, NextCursor: jobs.NextCursor})
}

// jobBody is a job as the API shows it: max_attempts is the number of runs
// the job gets, the worker's default (minirag.DefaultMaxAttempts: this
// server's worker keeps it) when the job sets none, not the stored 0.
type jobBody struct {
	minirag.Job
	MaxAttempts int `json:"max_attempts"`
}

func showJob(j minirag.Job) jobBody {
	return jobBody{Job: j, MaxAttempts: cmp.Or(j.MaxAttempts, minirag.DefaultMaxAttempts)}
}

// searchBody is the body of POST /v1/bot-profiles/{id}/search.
type searchBody struct {
	Query         string             `json:"query"`
	TopK          int                `json:"top_k"`
	SourceIDs     []string           `json:"source_ids"`
	Mode          minirag.SearchMode `json:"mode"`
	Fusion        minirag.Fusion     `json:"fusion"`
	MinScore      float64            `json:"min_score"`
	RRFK          int                `json:"rrf_k"`
	DenseWeight   float64            `json:"dense_weight"`
	LexicalWeight float64            `json:"lexical_weight"`
	Filter        filter.Filter      `json:"filter"`
}

func (s *server) search(w http.ResponseWriter, r *http.Request) {
	var b searchBody
	if err := decode(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.handle(r).Search(r.Context(), minirag.SearchRequest{
		BotID: r.PathValue("id"), Query: b.Query, TopK: b.TopK, SourceIDs: b.SourceIDs, Mode: b.Mode, Fusion: b.Fusion,
		MinScore: b.MinScore, RRFK: b.RRFK, DenseWeight: b.DenseWeight, LexicalWeight: b.LexicalWeight, Filter: b.Filter,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(res))
}

// chatBody is the body of POST /v1/bot-profiles/{id}/chat.
type chatBody struct {
	// Question is the user's message ("message" is accepted too).
	Question         string             `json:"question"`
	Message          string             `json:"message"`
	ConversationID   string             `json:"conversation_id"`
	Query            string             `json:"query"`
	History          []minirag.Message  `json:"history"`
	TopK             int                `json:"top_k"`
	SourceIDs        []string           `json:"source_ids"`
	Mode             minirag.SearchMode `json:"mode"`
	Fusion           minirag.Fusion     `json:"fusion"`
	MaxContextTokens int                `json:"max_context_tokens"`
	Extractive       bool               `json:"extractive"`
	// Filter limits retrieval to documents whose metadata match it.
	Filter filter.Filter `json:"filter"`
	// Stream asks for Server-Sent Events (as does Accept: text/event-stream).
	Stream bool `json:"stream"`
}

// wantsSSE reports whether the client asked for an event stream.
func wantsSSE(r *http.Request, b chatBody) bool {
	if b.Stream {
		return true
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
			return true
		}
	}
	return false
}

func (s *server) chat(w http.ResponseWriter, r *http.Request) {
	var b chatBody
	if err := decode(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, b, r.PathValue("id"), b.ConversationID)
}

// answer asks b's question of botID (or of the conversation
// conversationID's bot) and writes the answer as JSON or, when the
// caller wants it, as server-sent events. chat and postMessage share it.
func (s *server) answer(w http.ResponseWriter, r *http.Request, b chatBody, botID, conversationID string) {
	q := b.Question
	if q == "" {
		q = b.Message
	}
	req := minirag.AskRequest{
		BotID: botID, ConversationID: conversationID, Question: q, Query: b.Query, History: b.History, TopK: b.TopK, SourceIDs: b.SourceIDs,
		Mode: b.Mode, Fusion: b.Fusion, MaxContextTokens: b.MaxContextTokens, Extractive: b.Extractive, Filter: b.Filter,
	}
	h := s.handle(r)
	if !wantsSSE(r, b) {
		a, err := h.Ask(r.Context(), req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
		return
	}
	s.chatSSE(w, r, h, req)
}

// chatSSE streams an answer as Server-Sent Events:
//
//	event: delta    data: {"content":"…"}            (zero or more)
//	event: done     data: {the Answer, with citations}
//	event: error    data: {"error":{"code","message"}} (instead of done)
//
// An error found before the first event (bad input, scopes, a bot that
// cannot answer) is answered as a plain JSON error with its status.
func (s *server) chatSSE(w http.ResponseWriter, r *http.Request, h *minirag.TenantHandle, req minirag.AskRequest) {
	flusher, _ := w.(http.Flusher)
	started := false
	start := func() {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		started = true
	}
	send := func(event string, v any) bool {
		data, err := json.Marshal(v)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	for d, err := range h.AskStream(r.Context(), req) {
		if err != nil {
			if !started {
				s.fail(w, r, err)
				return
			}
			send("error", errorJSON(s.logFailure(r, err)))
			return
		}
		if !started {
			start()
		}
		if d.Done {
			send("done", d.Answer)
			return
		}
		if !send("delta", struct {
			Content string `json:"content"`
		}{d.Content}) {
			return // the client went away; breaking ends the model call
		}
	}
}
