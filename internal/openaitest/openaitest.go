// Package openaitest runs an in-process HTTP server, bound to 127.0.0.1,
// that speaks the OpenAI API's JSON for the two endpoints MiniRAG calls:
//
//	POST /v1/embeddings        {input: string | [string…], model, dimensions?, encoding_format?}
//	                           → {object:"list", data:[{object:"embedding", index, embedding}], model, usage}
//	POST /v1/chat/completions  {model, messages, temperature?, max_tokens?, stream?, stream_options?}
//	                           → a chat.completion object, or with "stream":true the
//	                             Server-Sent Events stream "data: {chunk}\n\n" … "data: [DONE]\n\n"
//
// Tests, examples and benchmarks point an OpenAI-compatible client at
// Server.URL (which ends in "/v1", like https://api.openai.com/v1) and then
// look at what the server saw:
//
//	srv := openaitest.New(t, openaitest.Options{APIKey: "sk-test", Dimensions: 8})
//	srv.FailNext(2, openaitest.Failure{Status: 429, RetryAfter: "1"})
//	// … run the code under test against srv.URL …
//	srv.Requests()          // method, path, headers, body and status of each request
//	srv.PeakConcurrency()   // most requests in flight at once
//	srv.SecretLeaks("sk-test") // places other than Authorization where the key appeared
//
// Behaviour, by option and method:
//
//   - Embeddings: by default each input's vector is the embed/hashing
//     vector of the text (lexical, unit length) at the request's
//     "dimensions", or Options.Dimensions (384 when 0). Options.Embed
//     replaces it. encoding_format "base64" is answered as OpenAI does
//     (little-endian float32, base64). An empty input string, an empty
//     list, a missing model or token-array inputs get a 400.
//   - Chat: Options.Reply computes the reply text (default Echo). With
//     max_tokens (or max_completion_tokens) set, the reply is cut to that
//     many words and finish_reason is "length", else "stop". A stream sends
//     a first chunk with the role, one chunk per word of the reply (its
//     trailing space included), a chunk with finish_reason, then, when
//     stream_options.include_usage is set, a chunk with no choices and the
//     usage (other chunks carry "usage": null), then "data: [DONE]".
//   - Token counts in usage are estimates (bytes/4, at least 1 per text).
//   - Options.Delay is waited before answering each request, after a
//     concurrency slot is taken when Options.MaxConcurrent limits them;
//     waiting requests still count in PeakConcurrency, which measures what
//     the client did (a request counts until its answer starts). A client
//     that gives up stops the wait.
//   - Scripted failures (FailNext) are answered at once, before any delay
//     or slot, in the OpenAI error JSON {"error":{"message","type","code"}}.
//   - Options.APIKey, when set, is required as "Authorization: Bearer
//     <key>"; other requests get 401 (without the key in the message).
//
// A Server is safe for concurrent use. It does not download anything and
// never listens on anything but the loopback interface.
package openaitest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minirag/minirag/embed/hashing"
)

// DefaultDimensions is the size of default embeddings when neither the
// request nor Options say otherwise.
const DefaultDimensions = 384

// Options configure a Server. The zero value is a working server.
type Options struct {
	// APIKey, when not empty, must be sent as "Authorization: Bearer
	// <APIKey>"; requests without it get 401.
	APIKey string
	// Dimensions is the embedding size used when a request has no
	// "dimensions" field; 0 means DefaultDimensions.
	Dimensions int
	// Embed computes the vector of one input at the given size. Nil means
	// the embed/hashing vector of the text.
	Embed func(text string, dims int) []float32
	// Reply computes the assistant's reply to a chat request. Nil means
	// Echo.
	Reply func(req ChatRequest) string
	// Delay is waited before answering each (non-failing) request.
	Delay time.Duration
	// MaxConcurrent, when > 0, answers at most that many requests at
	// once; the others wait for a slot.
	MaxConcurrent int
	// StreamChunkDelay is waited between two chunks of a streamed reply.
	// A client that goes away ends the wait and the handler.
	StreamChunkDelay time.Duration
	// NoRecord keeps no request records (Requests returns none) so that
	// long benchmarks do not grow memory; counters still work.
	NoRecord bool
}

// Failure is a scripted error answer (see Server.FailNext).
type Failure struct {
	// Status is the HTTP status; 0 means 500.
	Status int
	// RetryAfter, when not empty, is sent as the Retry-After header
	// (seconds, or an HTTP date).
	RetryAfter string
	// Message is the error message; empty means a message derived from
	// the status.
	Message string
	// Type is error.type; empty means one derived from the status.
	Type string
	// Path limits the failure to requests for that path (for example
	// "/v1/embeddings"); empty means any request.
	Path string
	// Raw, when not empty, is sent as the body verbatim (as text/plain)
	// instead of the OpenAI error JSON, like a proxy's error page.
	Raw string
}

// Request is the record of one request the server received.
type Request struct {
	Method string
	// Path is the URL path, for example "/v1/embeddings".
	Path string
	// RawQuery is the URL query, without '?'.
	RawQuery string
	Header   http.Header
	Body     []byte
	// Status is the HTTP status answered (0 if the client went away
	// first).
	Status int
	// Received is when the request arrived.
	Received time.Time
}

// Server is a fake OpenAI API. Create it with New or Start.
type Server struct {
	// URL is the API's base URL, ending in "/v1".
	URL string

	opts    Options
	srv     *httptest.Server
	slots   chan struct{}
	hashMu  sync.Mutex
	hashers map[int]*hashing.Embedder

	inFlight atomic.Int64
	peak     atomic.Int64
	count    atomic.Int64
	inputs   atomic.Int64

	mu        sync.Mutex
	failures  []Failure
	requests  []Request
	embedHook func(*EmbeddingsRequest, *EmbeddingsResponse)
	truncate  int
	abortAt   []int
}

// New starts a Server and stops it when tb's test ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := Start(opts)
	tb.Cleanup(s.Close)
	return s
}

// Start starts a Server; call Close when done.
func Start(opts Options) *Server {
	if opts.Dimensions <= 0 {
		opts.Dimensions = DefaultDimensions
	}
	s := &Server{opts: opts, hashers: map[int]*hashing.Embedder{}}
	if opts.MaxConcurrent > 0 {
		s.slots = make(chan struct{}, opts.MaxConcurrent)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/embeddings", s.handleEmbeddings)
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	s.srv = httptest.NewServer(s.wrap(mux))
	s.URL = s.srv.URL + "/v1"
	return s
}

// Close stops the server, waiting for running handlers.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Client returns an *http.Client for the server (the httptest client).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// FailNext makes the next n requests (for f.Path, or any path) answer
// with the failure f. Calls queue up in order.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// SetEmbeddingsHook installs fn, called on every successful embeddings
// response just before it is sent, with the parsed request: it may drop,
// reorder, duplicate or resize vectors to simulate a faulty server. Nil
// removes the hook.
func (s *Server) SetEmbeddingsHook(fn func(req *EmbeddingsRequest, resp *EmbeddingsResponse)) {
	s.mu.Lock()
	s.embedHook = fn
	s.mu.Unlock()
}

// TruncateNext makes the next n embeddings responses leave out their last
// vector (a wrong-count response).
func (s *Server) TruncateNext(n int) {
	s.mu.Lock()
	s.truncate += n
	s.mu.Unlock()
}

// AbortStreamAfter makes the next streamed chat response send that many
// content chunks and then drop the connection, without finish_reason or
// "[DONE]".
func (s *Server) AbortStreamAfter(chunks int) {
	s.mu.Lock()
	s.abortAt = append(s.abortAt, chunks)
	s.mu.Unlock()
}

// Requests returns a copy of the records of every request received so far
// (none with Options.NoRecord).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

// RequestCount is the number of requests received so far.
func (s *Server) RequestCount() int { return int(s.count.Load()) }

// EmbeddedInputs is the number of inputs answered with a vector so far.
func (s *Server) EmbeddedInputs() int { return int(s.inputs.Load()) }

// PeakConcurrency is the largest number of requests in flight at once seen
// so far. A request is in flight from its arrival (waiting for a
// MaxConcurrent slot included) until its answer starts: a streamed answer
// stops counting at its first byte.
func (s *Server) PeakConcurrency() int { return int(s.peak.Load()) }

// SecretLeaks lists where secret appeared in the recorded requests other
// than as the "Authorization: Bearer <secret>" header: in another header,
// the path, the query or the body. An empty result means no leak.
func (s *Server) SecretLeaks(secret string) []string {
	if secret == "" {
		return nil
	}
	var out []string
	for i, r := range s.Requests() {
		for name, values := range r.Header {
			for _, v := range values {
				if name == "Authorization" && v == "Bearer "+secret {
					continue
				}
				if strings.Contains(v, secret) {
					out = append(out, fmt.Sprintf("request %d: header %s", i, name))
				}
			}
		}
		if strings.Contains(r.Path, secret) || strings.Contains(r.RawQuery, secret) {
			out = append(out, fmt.Sprintf("request %d: URL", i))
		}
		if bytes.Contains(r.Body, []byte(secret)) {
			out = append(out, fmt.Sprintf("request %d: body", i))
		}
	}
	return out
}

// statusRecorder remembers the status a handler wrote.
// The status is recorded before anything is written, so that a client
// that has the answer finds the status in Requests.
type statusRecorder struct {
	http.ResponseWriter
	status int
	record func(status int)
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.record(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// wrap records the request, tracks concurrency, checks the key and plays
// scripted failures before the endpoint handler runs.
func (s *Server) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inFlight.Add(1)
		var leave sync.Once
		done := func() { leave.Do(func() { s.inFlight.Add(-1) }) }
		defer done()
		for {
			p := s.peak.Load()
			if n <= p || s.peak.CompareAndSwap(p, n) {
				break
			}
		}
		s.count.Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		idx := -1
		if !s.opts.NoRecord {
			s.mu.Lock()
			idx = len(s.requests)
			s.requests = append(s.requests, Request{
				Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
				Header: r.Header.Clone(), Body: body, Received: time.Now(),
			})
			s.mu.Unlock()
		}
		rec := &statusRecorder{ResponseWriter: w, record: func(status int) {
			done() // the client may send its next request once it has this answer
			if idx >= 0 {
				s.mu.Lock()
				s.requests[idx].Status = status
				s.mu.Unlock()
			}
		}}

		if s.opts.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.APIKey {
			writeError(rec, http.StatusUnauthorized, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
			return
		}
		if f, ok := s.takeFailure(r.URL.Path); ok {
			s.writeFailure(rec, f)
			return
		}
		if s.slots != nil {
			select {
			case s.slots <- struct{}{}:
				defer func() { <-s.slots }()
			case <-r.Context().Done():
				return
			}
		}
		if !sleep(r.Context(), s.opts.Delay) {
			return
		}
		next.ServeHTTP(rec, r)
	})
}

func (s *Server) takeFailure(path string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.failures {
		if f.Path == "" || f.Path == path {
			s.failures = append(s.failures[:i], s.failures[i+1:]...)
			return f, true
		}
	}
	return Failure{}, false
}

func (s *Server) writeFailure(w http.ResponseWriter, f Failure) {
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Raw != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Raw)
		return
	}
	msg, typ, code := f.Message, f.Type, ""
	switch {
	case f.Status == http.StatusTooManyRequests:
		code = "rate_limit_exceeded"
		if typ == "" {
			typ = "requests"
		}
		if msg == "" {
			msg = "Rate limit reached for requests. Please try again later."
		}
	case f.Status >= 500:
		if typ == "" {
			typ = "server_error"
		}
		if msg == "" {
			msg = "The server had an error while processing your request."
		}
	default:
		if typ == "" {
			typ = "invalid_request_error"
		}
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
	}
	writeError(w, f.Status, msg, typ, code)
}

func writeError(w http.ResponseWriter, status int, msg, typ, code string) {
	var c any
	if code != "" {
		c = code
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": c,
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// EstimateTokens is the server's token estimate for usage: len(text)/4
// rounded up, at least 1 for a non-empty text.
func EstimateTokens(text string) int {
	return (len(text) + 3) / 4
}

// EmbeddingsRequest is the body of POST /v1/embeddings.
type EmbeddingsRequest struct {
	// Input is the list of texts (a single string is read as a list of
	// one).
	Input          []string `json:"-"`
	Model          string   `json:"model"`
	Dimensions     *int     `json:"dimensions,omitempty"`
	EncodingFormat string   `json:"encoding_format,omitempty"`
	User           string   `json:"user,omitempty"`
}

// Embedding is one item of EmbeddingsResponse.Data.
type Embedding struct {
	Object    string    `json:"object"`
	Index     int       `json:"index"`
	Embedding []float32 `json:"embedding"`
}

// Usage is the token usage of a response.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens,omitempty"`
	TotalTokens      int `json:"total_tokens"`
}

// EmbeddingsResponse is the body answered by POST /v1/embeddings.
type EmbeddingsResponse struct {
	Object string      `json:"object"`
	Data   []Embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  Usage       `json:"usage"`
}

func (s *Server) hasher(dims int) *hashing.Embedder {
	s.hashMu.Lock()
	defer s.hashMu.Unlock()
	h := s.hashers[dims]
	if h == nil {
		h, _ = hashing.New(hashing.Config{Dimensions: dims})
		s.hashers[dims] = h
	}
	return h
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	var raw struct {
		EmbeddingsRequest
		Input json.RawMessage `json:"input"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &raw); err != nil {
		writeError(w, http.StatusBadRequest, "We could not parse the JSON body of your request.", "invalid_request_error", "")
		return
	}
	req := raw.EmbeddingsRequest
	var one string
	if err := json.Unmarshal(raw.Input, &one); err == nil {
		req.Input = []string{one}
	} else if err := json.Unmarshal(raw.Input, &req.Input); err != nil {
		writeError(w, http.StatusBadRequest, "'$.input' is invalid: this server accepts a string or a list of strings.", "invalid_request_error", "")
		return
	}
	switch {
	case req.Model == "":
		writeError(w, http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", "")
		return
	case len(req.Input) == 0:
		writeError(w, http.StatusBadRequest, "'$.input' is invalid: it must not be empty.", "invalid_request_error", "")
		return
	case req.Dimensions != nil && *req.Dimensions <= 0:
		writeError(w, http.StatusBadRequest, "Invalid value for 'dimensions': it must be positive.", "invalid_request_error", "")
		return
	case req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64":
		writeError(w, http.StatusBadRequest, "Invalid value for 'encoding_format'.", "invalid_request_error", "")
		return
	}
	for i, t := range req.Input {
		if t == "" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("'$.input[%d]' is invalid: it must not be an empty string.", i), "invalid_request_error", "")
			return
		}
	}
	dims := s.opts.Dimensions
	if req.Dimensions != nil {
		dims = *req.Dimensions
	}
	resp := EmbeddingsResponse{Object: "list", Model: req.Model, Data: make([]Embedding, len(req.Input))}
	for i, t := range req.Input {
		var v []float32
		if s.opts.Embed != nil {
			v = s.opts.Embed(t, dims)
		} else {
			v = s.hasher(dims).Vector(t)
		}
		resp.Data[i] = Embedding{Object: "embedding", Index: i, Embedding: v}
		resp.Usage.PromptTokens += EstimateTokens(t)
	}
	resp.Usage.TotalTokens = resp.Usage.PromptTokens

	s.mu.Lock()
	hook := s.embedHook
	trunc := s.truncate > 0
	if trunc {
		s.truncate--
	}
	s.mu.Unlock()
	if trunc {
		resp.Data = resp.Data[:len(resp.Data)-1]
	}
	if hook != nil {
		hook(&req, &resp)
	}
	s.inputs.Add(int64(len(resp.Data)))
	if req.EncodingFormat != "base64" {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	type b64 struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding string `json:"embedding"`
	}
	data := make([]b64, len(resp.Data))
	for i, d := range resp.Data {
		buf := make([]byte, 4*len(d.Embedding))
		for j, x := range d.Embedding {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(x))
		}
		data[i] = b64{Object: d.Object, Index: d.Index, Embedding: base64.StdEncoding.EncodeToString(buf)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": resp.Model, "usage": resp.Usage})
}
