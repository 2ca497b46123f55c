package restapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
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
//	POST   /v1/admin/reconcile[?dry_run=]    reconcile the tenant's index (reconcile.go)
//
// the documents and tenant routes (documents.go) and the conversation, feedback and usage routes (conversations.go).
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
	api.HandleFunc("POST /v1/api-tokens", s.admin(s.createToken))
	api.HandleFunc("GET /v1/api-tokens", s.listTokens)
	api.HandleFunc("DELETE /v1/api-tokens/{id}", s.revokeToken)
	api.HandleFunc("POST /v1/bot-profiles", s.admin(s.createBot))
	api.HandleFunc("GET /v1/bot-profiles", s.listBots)
	api.HandleFunc("GET /v1/bot-profiles/{id}", s.getBot)
	api.HandleFunc("PATCH /v1/bot-profiles/{id}", s.admin(s.updateBot))
	api.HandleFunc("DELETE /v1/bot-profiles/{id}", s.deleteBot)
	api.HandleFunc("POST /v1/bot-profiles/{id}/search", s.botScope(s.search))
	api.HandleFunc("POST /v1/bot-profiles/{id}/chat", s.botScope(s.chat))
	api.HandleFunc("POST /v1/sources", s.admin(s.createSource))
	api.HandleFunc("GET /v1/sources", s.listSources)
	api.HandleFunc("GET /v1/sources/{id}", s.getSource)
	api.HandleFunc("PATCH /v1/sources/{id}", s.admin(s.updateSource))
	api.HandleFunc("DELETE /v1/sources/{id}", s.deleteSource)
	api.HandleFunc("POST /v1/sources/{id}/ingest", s.admin(s.ingest))
	api.HandleFunc("GET /v1/sources/{id}/documents", s.listDocuments)
	s.documentRoutes(api) // documents.go
	api.HandleFunc("GET /v1/jobs", s.listJobs)
	api.HandleFunc("GET /v1/jobs/{id}", s.getJob)
	s.conversationRoutes(api) // conversations.go
	api.HandleFunc("POST /v1/admin/reconcile", s.reconcile)

	root := http.NewServeMux()
	root.HandleFunc("POST /v1/tenants", s.createTenant)
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	root.Handle("/v1/", s.authenticate(jsonFallback(api)))
	return jsonFallback(root)
}

// jsonFallback serves mux, writing its own answers for a request no route
// takes (404 page not found, 405 method not allowed, plain text) as this
// API's JSON errors, the Allow header of a 405 kept.
func jsonFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &headerRecorder{h: http.Header{}}
		mux.ServeHTTP(rec, r) // the mux's own 404, 405 or redirect
		switch rec.status {
		case http.StatusNotFound:
			writeError(w, apiError{status: http.StatusNotFound, code: "not_found", msg: "no such route"})
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.h.Get("Allow"))
			writeError(w, apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", msg: "method not allowed on this route"})
		default:
			mux.ServeHTTP(w, r) // a redirect to the clean path
		}
	})
}

// headerRecorder keeps the status and headers of an answer, not its body.
type headerRecorder struct {
	h      http.Header
	status int
}

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// admin answers 403 before reading the body when the caller lacks the
// admin scope, so that a query token learns nothing from validation.
func (s *server) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p, _ := minirag.PrincipalFromContext(r.Context()); !p.HasScope(minirag.ScopeAdmin) {
			s.fail(w, r, apiError{status: http.StatusForbidden, code: "forbidden", msg: "the admin scope is required"})
			return
		}
		next(w, r)
	}
}

// botScope answers 403 before reading the body when the caller may not
// search or ask the bot of the path (as TenantHandle checks it: the admin
// scope, or the query scope allowing the bot).
func (s *server) botScope(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, _ := minirag.PrincipalFromContext(r.Context())
		switch {
		case p.HasScope(minirag.ScopeAdmin):
		case !p.HasScope(minirag.ScopeQuery):
			s.fail(w, r, apiError{status: http.StatusForbidden, code: "forbidden", msg: "the query scope is required"})
			return
		case len(p.BotIDs) > 0 && !slices.Contains(p.BotIDs, r.PathValue("id")):
			s.fail(w, r, apiError{status: http.StatusForbidden, code: "forbidden", msg: "the token does not allow this bot"})
			return
		}
		next(w, r)
	}
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
// The message is written for the client: what went wrong, never the
// chain of operations, adapter names, host paths or driver text the SDK's
// error holds (fail logs that). A 404 reads "not found" here; fail names
// the object ("bot not found").
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
	e := apiError{status: status, code: code, msg: publicMessage(status, err)}
	var v *minirag.ValidationError
	if errors.As(err, &v) {
		e.fields = v.Fields
		e.msg = strings.TrimPrefix(v.Error(), "minirag: ")
	}
	return e
}

// sentinels are the SDK's error values whose text ends the operation
// chain of an error: what follows one is the SDK's explanation.
var sentinels = map[int]error{
	http.StatusUnauthorized:        minirag.ErrUnauthenticated,
	http.StatusForbidden:           minirag.ErrForbidden,
	http.StatusNotFound:            minirag.ErrNotFound,
	http.StatusConflict:            minirag.ErrConflict,
	http.StatusUnprocessableEntity: minirag.ErrInvalidInput,
	http.StatusTooManyRequests:     minirag.ErrQuotaExceeded,
}

// publicMessage is the client's message for an SDK error of status.
func publicMessage(status int, err error) string {
	text := err.Error()
	detail := ""
	if s, ok := sentinels[status]; ok {
		if i := strings.LastIndex(text, s.Error()); i >= 0 {
			detail = strings.TrimPrefix(text[i+len(s.Error()):], ": ")
		}
	}
	switch status {
	case http.StatusNotFound:
		return "not found"
	case http.StatusConflict:
		return conflictMessage(text, detail)
	case http.StatusUnauthorized:
		return "unauthenticated"
	case 499:
		return "the request was cancelled"
	case http.StatusGatewayTimeout:
		return "the request took too long"
	}
	// "forbidden: the admin scope is required", "invalid input: bot … has
	// no model; configure it or set extractive_fallback": the SDK's own
	// words after the sentinel.
	name := "error"
	if s, ok := sentinels[status]; ok {
		name = strings.TrimPrefix(s.Error(), "minirag: ")
	}
	if detail != "" {
		return name + ": " + detail
	}
	return name
}

// conflictMessage names the usual conflicts in words; adapters word a
// duplicate differently (SQLite's column, PostgreSQL's constraint name).
func conflictMessage(text, detail string) string {
	switch t := strings.ToLower(text); {
	case strings.Contains(t, "inactive"):
		return "conflict: the bot is inactive"
	case strings.Contains(t, "slug"):
		return "conflict: a tenant with this slug already exists"
	case strings.Contains(t, "email"):
		return "conflict: a user with this email already exists in the tenant"
	case strings.Contains(detail, "owner"):
		return "conflict: " + detail
	}
	return "conflict with the current state"
}

// notFoundNouns are the objects an SDK error may say were not found, by
// the word its text uses.
var notFoundNouns = []struct{ word, noun string }{
	{"message", "message"}, {"conversation", "conversation"}, {"bot", "bot"}, {"source", "source"},
	{"job", "job"}, {"api token", "API token"}, {"user", "user"}, {"tenant", "tenant"},
}

// notFoundMessage is "<object> not found": the object the error's
// operations name last before "not found", else the one the route names.
func notFoundMessage(r *http.Request, err error) string {
	text := strings.ToLower(err.Error())
	if i := strings.LastIndex(text, minirag.ErrNotFound.Error()); i >= 0 {
		text = text[:i]
	}
	best, at := "", -1
	for _, n := range notFoundNouns {
		if i := strings.LastIndex(text, n.word); i > at {
			best, at = n.noun, i
		}
	}
	if best == "" {
		// The segment before the route's last wildcard: /v1/sources/{id}/ingest.
		segs := strings.Split(r.Pattern, "/")
		for i := len(segs) - 1; i > 0; i-- {
			if strings.HasPrefix(segs[i], "{") {
				best = strings.TrimSuffix(strings.ReplaceAll(segs[i-1], "bot-profiles", "bots"), "s")
				best = strings.ReplaceAll(best, "api-token", "API token")
				break
			}
		}
	}
	if best == "" {
		return "not found"
	}
	return best + " not found"
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

// fail answers err and logs it with its full text (the SDK keeps secrets
// out of error texts): at error level when the server failed (500), at
// warning level when the bot's model provider did (502), at debug level
// for the caller's mistakes (4xx), whose answer holds a short message
// only.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := s.logFailure(r, err)
	if d, ok := minirag.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.status, errorJSON(e))
}

// logFailure logs err as fail does and returns its answer.
func (s *server) logFailure(r *http.Request, err error) apiError {
	e := toAPIError(err)
	if e.status == http.StatusNotFound && e.msg == "not found" {
		e.msg = notFoundMessage(r, err)
	}
	level := slog.LevelDebug
	switch {
	case e.status == http.StatusInternalServerError:
		level = slog.LevelError
	case e.status >= 500 && e.status != http.StatusGatewayTimeout:
		level = slog.LevelWarn
	}
	s.log.LogAttrs(r.Context(), level, "request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", e.status), slog.String("error", err.Error()))
	return e
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
	return decodeLimit(w, r, dst, maxBodyBytes)
}

// decodeLimit is decode with a body of at most limit bytes.
func decodeLimit(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", msg: "the body must be application/json"}
	}
	// The body is kept (at most maxBodyBytes) to name the field of a bad
	// time value, which encoding/json does not.
	var body bytes.Buffer
	dec := json.NewDecoder(io.TeeReader(http.MaxBytesReader(w, r.Body, limit), &body))
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
		timeErr *time.ParseError
	)
	var netErr net.Error
	switch {
	case errors.As(err, &netErr) && netErr.Timeout():
		// http.Server.ReadTimeout passed while the body was arriving.
		return apiError{status: http.StatusRequestTimeout, code: "request_timeout", msg: "the request body did not arrive in time"}
	case errors.As(err, &timeErr):
		const msg = "must be a time in RFC 3339 format, such as 2030-01-31T00:00:00Z"
		field := badTimeField(body.Bytes(), dst)
		if field == "" {
			return apiError{status: http.StatusUnprocessableEntity, code: "invalid_input", msg: "invalid input: a time " + msg}
		}
		return apiError{status: http.StatusUnprocessableEntity, code: "invalid_input", msg: "invalid input: " + field + ": " + msg,
			fields: []minirag.FieldError{{Field: field, Message: msg}}}
	case errors.As(err, &tooBig):
		return apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: fmt.Sprintf("the body must be at most %d bytes", limit)}
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

// badTimeField is the JSON name of the time field of dst (a pointer to a
// struct) whose value in the object body is not an RFC 3339 time, or ""
// when none is found.
func badTimeField(body []byte, dst any) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	for _, name := range timeFields(reflect.TypeOf(dst)) {
		raw, ok := fields[name]
		if !ok {
			continue
		}
		var t *time.Time
		if json.Unmarshal(raw, &t) != nil {
			return name
		}
	}
	return ""
}

// timeFields are the JSON names of the time.Time and *time.Time fields of
// struct type t (or a pointer to one), embedded structs' included.
func timeFields(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	timeType := reflect.TypeFor[time.Time]()
	var out []string
	for f := range t.Fields() {
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case ft == timeType && name != "-" && f.IsExported():
			out = append(out, cmp.Or(name, f.Name))
		case f.Anonymous && ft.Kind() == reflect.Struct:
			out = append(out, timeFields(ft)...)
		}
	}
	return out
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
