package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/minirag/minirag"
	llmopenai "github.com/minirag/minirag/llm/openai"
)

// maxBodyBytes bounds every request body.
const maxBodyBytes = 1 << 20

// server holds the handlers of the REST API.
type server struct {
	c   *minirag.Client
	log *slog.Logger
}

// newServer returns the REST API on top of c:
//
//	POST   /v1/tenants                       bootstrap a tenant (public)
//	GET    /v1/tenants/me                    the caller's tenant
//	POST   /v1/api-tokens                    create an API token
//	GET    /v1/api-tokens                    list API tokens
//	DELETE /v1/api-tokens/{id}               revoke an API token
//	POST   /v1/bot-profiles                  create a bot
//	GET    /v1/bot-profiles                  list bots
//	GET    /v1/bot-profiles/{id}             read a bot
//	PATCH  /v1/bot-profiles/{id}             update a bot
//	DELETE /v1/bot-profiles/{id}             delete a bot
//	POST   /v1/bot-profiles/{id}/search      search a bot's sources
//	POST   /v1/bot-profiles/{id}/chat        ask a bot (JSON, or SSE)
//	POST   /v1/sources                       create a source
//	GET    /v1/sources[?bot_profile_id=]     list sources
//	GET    /v1/sources/{id}                  read a source
//	PATCH  /v1/sources/{id}                  update a source
//	DELETE /v1/sources/{id}                  delete a source
//	POST   /v1/sources/{id}/ingest           queue an ingestion (202)
//	GET    /v1/jobs[?source_id=]             list ingestion jobs
//	GET    /v1/jobs/{id}                     read a job
//
// and the conversation, feedback and usage routes (conversations.go).
//
// Every route but the bootstrap needs "Authorization: Bearer <API token or
// JWT>" (minirag's Middleware). Errors are JSON:
// {"error":{"code","message","fields"}}.
func newServer(c *minirag.Client, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{c: c, log: log}

	api := http.NewServeMux()
	api.HandleFunc("GET /v1/tenants/me", s.getTenant)
	api.HandleFunc("POST /v1/api-tokens", s.createToken)
	api.HandleFunc("GET /v1/api-tokens", s.listTokens)
	api.HandleFunc("DELETE /v1/api-tokens/{id}", s.revokeToken)
	api.HandleFunc("POST /v1/bot-profiles", s.createBot)
	api.HandleFunc("GET /v1/bot-profiles", s.listBots)
	api.HandleFunc("GET /v1/bot-profiles/{id}", s.getBot)
	api.HandleFunc("PATCH /v1/bot-profiles/{id}", s.updateBot)
	api.HandleFunc("DELETE /v1/bot-profiles/{id}", s.deleteBot)
	api.HandleFunc("POST /v1/bot-profiles/{id}/search", s.search)
	api.HandleFunc("POST /v1/bot-profiles/{id}/chat", s.chat)
	api.HandleFunc("POST /v1/sources", s.createSource)
	api.HandleFunc("GET /v1/sources", s.listSources)
	api.HandleFunc("GET /v1/sources/{id}", s.getSource)
	api.HandleFunc("PATCH /v1/sources/{id}", s.updateSource)
	api.HandleFunc("DELETE /v1/sources/{id}", s.deleteSource)
	api.HandleFunc("POST /v1/sources/{id}/ingest", s.ingest)
	api.HandleFunc("GET /v1/jobs", s.listJobs)
	api.HandleFunc("GET /v1/jobs/{id}", s.getJob)
	s.conversationRoutes(api) // conversations.go

	root := http.NewServeMux()
	root.HandleFunc("POST /v1/tenants", s.createTenant)
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	root.Handle("/v1/", s.authenticate(api))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiError{status: http.StatusNotFound, code: "not_found", msg: "no such route"})
	})
	return root
}

// authenticate runs minirag's Middleware in front of next, its error
// answers (401; 499 when the client went away during authentication, not
// logged, as the handlers do; 500 when authentication is unavailable)
// written in this API's error shape; the WWW-Authenticate header it sets
// is kept.
func (s *server) authenticate(next http.Handler) http.Handler {
	return s.c.MiddlewareWith(minirag.MiddlewareOptions{OnError: func(w http.ResponseWriter, _ *http.Request, err error) {
		var ae *minirag.AuthError
		if !errors.As(err, &ae) { // not reached: the middleware always gives one
			writeError(w, err)
			return
		}
		code, ok := codes[ae.Status] // 401, 499 (client gone), 504
		if !ok {
			code = "internal"
		}
		writeError(w, apiError{status: ae.Status, code: code, msg: ae.Message})
	}})(next)
}

// handle is the caller's tenant handle (Middleware put the principal in
// the context).
func (s *server) handle(r *http.Request) *minirag.TenantHandle {
	p, _ := minirag.PrincipalFromContext(r.Context())
	return s.c.Scoped(p).ForEndUser(r.Header.Get(endUserHeader))
}

// apiError is an error answer.
type apiError struct {
	status int
	code   string
	msg    string
	fields []minirag.FieldError
}

func (e apiError) Error() string { return e.msg }

// errorBody is the JSON of an error answer.
type errorBody struct {
	Error struct {
		Code    string               `json:"code"`
		Message string               `json:"message"`
		Fields  []minirag.FieldError `json:"fields,omitempty"`
	} `json:"error"`
}

// codes names the statuses of SDK errors.
var codes = map[int]string{
	http.StatusUnauthorized:        "unauthenticated",
	http.StatusForbidden:           "forbidden",
	http.StatusNotFound:            "not_found",
	http.StatusConflict:            "conflict",
	http.StatusUnprocessableEntity: "invalid_input",
	http.StatusGatewayTimeout:      "timeout",
	http.StatusTooManyRequests:     "quota_exceeded",
	499:                            "cancelled",
}

// toAPIError maps an SDK error to its status, code, message and fields.
// The message of an unexpected error is not shown (it is logged).
func toAPIError(err error) apiError {
	var ae apiError
	if errors.As(err, &ae) {
		return ae
	}
	var se *llmopenai.StatusError
	if errors.As(err, &se) {
		return apiError{status: http.StatusBadGateway, code: "upstream_error",
			msg: fmt.Sprintf("the model provider answered %d: %s", se.StatusCode, se.Message)}
	}
	status := minirag.HTTPStatus(err)
	code, ok := codes[status]
	if !ok && errors.Is(err, minirag.ErrModelCall) {
		return apiError{status: http.StatusBadGateway, code: "upstream_error", msg: "the model provider's answer failed or was cut short"}
	}
	if !ok {
		return apiError{status: http.StatusInternalServerError, code: "internal", msg: "internal error"}
	}
	e := apiError{status: status, code: code, msg: strings.TrimPrefix(err.Error(), "minirag: ")}
	var v *minirag.ValidationError
	if errors.As(err, &v) {
		e.fields = v.Fields
	}
	return e
}

func errorJSON(e apiError) errorBody {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Fields = e.code, e.msg, e.fields
	return b
}

func writeError(w http.ResponseWriter, err error) {
	if d, ok := minirag.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
	e := toAPIError(err)
	writeJSON(w, e.status, errorJSON(e))
}

// fail answers err, logging unexpected ones.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if e := toAPIError(err); e.status == http.StatusInternalServerError {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	writeError(w, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads the JSON body into dst: at most maxBodyBytes, one value,
// unknown fields rejected (422 naming the field), a wrong type 422 naming
// the field, malformed JSON 400, too large 413.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", msg: "the body must be application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if dec.More() {
			return apiError{status: http.StatusBadRequest, code: "bad_request", msg: "the body must hold one JSON value"}
		}
		if _, err := dec.Token(); err != io.EOF {
			return apiError{status: http.StatusBadRequest, code: "bad_request", msg: "the body must hold one JSON value"}
		}
		return nil
	}
	var (
		tooBig  *http.MaxBytesError
		typeErr *json.UnmarshalTypeError
		synErr  *json.SyntaxError
	)
	switch {
	case errors.As(err, &tooBig):
		return apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: fmt.Sprintf("the body must be at most %d bytes", maxBodyBytes)}
	case errors.Is(err, io.EOF):
		return apiError{status: http.StatusBadRequest, code: "bad_request", msg: "the body is empty; a JSON object is required"}
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return apiError{status: http.StatusUnprocessableEntity, code: "invalid_input", msg: "the body must be a JSON object"}
		}
		return apiError{status: http.StatusUnprocessableEntity, code: "invalid_input", msg: "invalid input: " + field + ": must be a " + jsonKind(typeErr.Type.Kind().String()),
			fields: []minirag.FieldError{{Field: field, Message: "must be a " + jsonKind(typeErr.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apiError{status: http.StatusUnprocessableEntity, code: "invalid_input", msg: "invalid input: " + field + ": unknown field",
			fields: []minirag.FieldError{{Field: field, Message: "unknown field"}}}
	case errors.As(err, &synErr), errors.Is(err, io.ErrUnexpectedEOF):
		return apiError{status: http.StatusBadRequest, code: "bad_request", msg: "the body is not valid JSON"}
	default:
		return apiError{status: http.StatusUnprocessableEntity, code: "invalid_input", msg: "invalid input: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
}

// jsonKind names a Go kind as JSON does.
func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "number"
	case k == "bool":
		return "boolean"
	case k == "slice", k == "array":
		return "list"
	case k == "map", k == "struct":
		return "object"
	}
	return k
}

// listBody wraps a list.
type listBody[T any] struct {
	Data []T `json:"data"`
}

func list[T any](items []T) listBody[T] {
	if items == nil {
		items = []T{}
	}
	return listBody[T]{Data: items}
}
