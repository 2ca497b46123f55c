// Package openaihttp holds what embed/openai and llm/openai share on top of
// github.com/sashabaranov/go-openai: a client whose HTTP layer adds extra
// headers and captures each response's status and Retry-After (go-openai's
// errors do not carry headers), the translation of go-openai's errors into
// a StatusError that never contains the API key, and the retry loop
// (exponential backoff with jitter, Retry-After honoured, context
// respected while waiting).
package openaihttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sashabaranov/go-openai"
)

// DefaultBaseURL is OpenAI's API.
const DefaultBaseURL = "https://api.openai.com/v1"

// Defaults of Retry.
const (
	DefaultMaxRetries    = 4
	DefaultMinBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff    = 30 * time.Second
	DefaultMaxRetryAfter = 2 * time.Minute
)

// ErrRedirectRefused is the cause of a call whose endpoint answered with a
// redirect to another origin (scheme, host or port): the request carries
// the API key and the extra credential headers, which must not reach a
// host the bot was not configured for. Go's http.Client drops only
// Authorization (and not even that for another port of the same host), so
// such a redirect is not followed at all. A call failing so is not
// retried.
var ErrRedirectRefused = errors.New("openaihttp: redirect to another host refused")

// NewClient returns a go-openai client for baseURL (DefaultBaseURL when
// empty) that sends apiKey as a bearer token (none when empty), adds
// extra headers to every request (replacing any of the same name), and
// records responses into the Capture of the request's context. It
// follows a redirect only to the same origin (scheme, host and port) as
// the request; any other is refused with [ErrRedirectRefused]. hc itself
// is not modified.
func NewClient(baseURL, apiKey string, hc *http.Client, extra map[string]string) *openai.Client {
	cfg := openai.DefaultConfig(apiKey)
	if baseURL != "" {
		cfg.BaseURL = strings.TrimRight(baseURL, "/")
	} else {
		cfg.BaseURL = DefaultBaseURL
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	own := *hc
	own.CheckRedirect = sameOriginRedirect(hc.CheckRedirect)
	hc = &own
	h := make(http.Header, len(extra))
	for k, v := range extra {
		h.Set(k, v)
	}
	cfg.HTTPClient = &doer{c: hc, extra: h}
	return openai.NewClientWithConfig(cfg)
}

// sameOriginRedirect is a CheckRedirect that refuses a redirect leaving
// the first request's origin, and otherwise defers to next (Go's default,
// at most 10 redirects, when nil).
func sameOriginRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if first := via[0].URL; req.URL.Scheme != first.Scheme || origin(req.URL) != origin(first) {
			// The target's scheme and host only: its path or query may
			// carry a token.
			return fmt.Errorf("%w: %s://%s", ErrRedirectRefused, req.URL.Scheme, req.URL.Host)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("openaihttp: stopped after 10 redirects")
		}
		return nil
	}
}

// origin is u's lowercase host and port (the scheme's default when
// absent).
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}

type doer struct {
	c     *http.Client
	extra http.Header
}

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	for k, vs := range d.extra {
		req.Header[k] = append([]string(nil), vs...)
	}
	ctx, sp := startHTTPSpan(req)
	if ctx != nil {
		req = req.WithContext(ctx)
	}
	resp, err := d.c.Do(req)
	if sp != nil {
		endHTTPSpan(sp, resp, err)
	}
	if c, ok := req.Context().Value(captureKey{}).(*Capture); ok && resp != nil {
		c.Status = resp.StatusCode
		c.RetryAfter = resp.Header.Get("Retry-After")
		c.RetryAfterMs = resp.Header.Get("Retry-After-Ms")
	}
	return resp, err
}

type captureKey struct{}

// Capture holds what the HTTP layer saw of the last response of a call.
type Capture struct {
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// RetryAfter and RetryAfterMs are the raw header values.
	RetryAfter, RetryAfterMs string
}

// WithCapture returns a context whose requests record their response in
// the returned Capture.
func WithCapture(ctx context.Context) (context.Context, *Capture) {
	c := new(Capture)
	return context.WithValue(ctx, captureKey{}, c), c
}

// ParseRetryAfter reads a Retry-After value: seconds (a decimal number) or
// an HTTP date, relative to now. ms is the Retry-After-Ms header (used by
// some proxies), read first. It reports false when neither is usable.
func ParseRetryAfter(v, ms string, now time.Time) (time.Duration, bool) {
	if ms != "" {
		if f, err := strconv.ParseFloat(strings.TrimSpace(ms), 64); err == nil && f >= 0 {
			return time.Duration(f * float64(time.Millisecond)), true
		}
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 {
			return 0, false
		}
		return time.Duration(f * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// StatusError is an error answer of the API: an HTTP status with the
// server's message. It never contains the API key.
type StatusError struct {
	// Pkg prefixes the message ("embed/openai", "llm/openai").
	Pkg string
	// StatusCode is the HTTP status.
	StatusCode int
	// Type and Code are the OpenAI error's type and code, when given.
	Type, Code string
	// Message is the server's message (or the start of a non-JSON body).
	Message string
	// RetryAfter is the wait the server asked for, if any (a Retry-After
	// of 0 or a date in the past reads as 0: the usual backoff applies).
	RetryAfter time.Duration
}

// Error implements error.
func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString(e.Pkg)
	b.WriteString(": server answered ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	if e.Code != "" {
		b.WriteString(" (")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Temporary reports whether a retry may succeed (429 and 5xx).
func (e *StatusError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// Redact replaces every occurrence of secret in s.
func Redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}

// HeaderSecrets returns the values of extra headers that RedactError
// removes: those of at least 4 bytes (shorter ones hold no credential, and
// removing them would garble messages).
func HeaderSecrets(h map[string]string) []string {
	var out []string
	for _, v := range h {
		if len(v) >= 4 {
			out = append(out, v)
		}
	}
	return out
}

// RedactError removes every secret from the text of an error Classify
// returned: a *StatusError's Message, a *TransportError's text (dropping
// its cause when the cause's text holds a secret). Other errors are
// returned as they are.
func RedactError(err error, secrets []string) error {
	var se *StatusError
	var te *TransportError
	switch {
	case errors.As(err, &se):
		for _, s := range secrets {
			se.Message = Redact(se.Message, s)
		}
	case errors.As(err, &te):
		for _, s := range secrets {
			if s != "" && te.err != nil && strings.Contains(te.err.Error(), s) {
				te.err = nil
			}
			te.msg = Redact(te.msg, s)
		}
	}
	return err
}

// TransportError is a failure to get an answer at all (connection refused,
// reset, truncated body). Its text has the API key removed; Unwrap gives
// the cause only when the cause's text did not contain the key.
type TransportError struct {
	Pkg string
	msg string
	err error
}

// Error implements error.
func (e *TransportError) Error() string { return e.Pkg + ": " + e.msg }

// Unwrap returns the cause, unless its text contained the key.
func (e *TransportError) Unwrap() error { return e.err }

// Classify turns an error of a go-openai call into this package's errors:
// *StatusError for an API error answer, a wrapped context error when ctx
// is done, *TransportError otherwise. It reports whether a retry may
// succeed.
func Classify(ctx context.Context, pkg, apiKey string, err error, c *Capture, now time.Time) (error, bool) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", pkg, ctxErr), false
	}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	se := &StatusError{Pkg: pkg}
	switch {
	case errors.As(err, &apiErr) && apiErr.HTTPStatusCode != 0:
		se.StatusCode = apiErr.HTTPStatusCode
		se.Type = apiErr.Type
		if s, ok := apiErr.Code.(string); ok {
			se.Code = s
		} else if n, ok := apiErr.Code.(int); ok && n != 0 {
			se.Code = strconv.Itoa(n)
		}
		se.Message = apiErr.Message
	case errors.As(err, &reqErr):
		se.StatusCode = reqErr.HTTPStatusCode
		se.Message = string(reqErr.Body)
	default:
		if c != nil && c.Status >= 200 && c.Status < 300 {
			// An answer arrived but could not be read.
			msg := Redact("reading the response: "+err.Error(), apiKey)
			te := &TransportError{Pkg: pkg, msg: msg}
			if !strings.Contains(err.Error(), apiKey) || apiKey == "" {
				te.err = err
			}
			return te, errors.Is(err, io.ErrUnexpectedEOF)
		}
		te := &TransportError{Pkg: pkg, msg: Redact(err.Error(), apiKey)}
		if apiKey == "" || !strings.Contains(err.Error(), apiKey) {
			te.err = err
		}
		// http.Client.Do fails with *url.Error; anything else failed before
		// the request was sent (go-openai's own checks) and would again.
		var ue *url.Error
		return te, errors.As(err, &ue) && !errors.Is(err, ErrRedirectRefused)
	}
	se.Message = cleanMessage(Redact(se.Message, apiKey))
	if c != nil {
		if d, ok := ParseRetryAfter(c.RetryAfter, c.RetryAfterMs, now); ok {
			se.RetryAfter = d
		}
	}
	return se, se.Temporary()
}

// cleanMessage keeps the first 300 bytes of a message on one line.
func cleanMessage(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		cut := 300
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Retry runs calls again after temporary failures.
type Retry struct {
	// Pkg prefixes errors and log messages.
	Pkg string
	// APIKey is removed from any error text.
	APIKey string
	// Secrets are removed from any error text too: the values of the
	// extra headers, which may carry credentials (see HeaderSecrets).
	Secrets []string
	// MaxRetries is the number of retries after the first attempt: 0
	// means DefaultMaxRetries, negative means none.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff (0 means the
	// defaults). The n-th retry waits a random time between half and all of
	// MinBackoff·2ⁿ⁻¹, capped at MaxBackoff, unless the server sent
	// Retry-After.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured: a server asking
	// for more fails the call at once. 0 means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// Logger gets a debug record per retry; nil means silent.
	Logger *slog.Logger
	// Sleep waits d or until ctx is done (tests replace it); nil means a
	// timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for Retry-After dates; nil means time.Now.
	Now func() time.Time
}

// Do calls op until it succeeds, fails for good, or retries run out. op
// gets a context carrying a fresh Capture for each attempt; its error is
// classified by Classify. Do returns the last classified error.
func (r *Retry) Do(ctx context.Context, op func(ctx context.Context) error) error {
	for attempt := 0; ; attempt++ {
		actx, capture := WithCapture(ctx)
		err := op(actx)
		if err == nil {
			return nil
		}
		cerr, temporary := Classify(ctx, r.Pkg, r.APIKey, err, capture, r.now())
		cerr = RedactError(cerr, r.Secrets)
		if !temporary || attempt >= r.maxRetries() {
			return cerr
		}
		wait, ok := r.Backoff(attempt, cerr)
		if !ok {
			return cerr
		}
		if r.Logger != nil {
			r.Logger.LogAttrs(ctx, slog.LevelDebug, r.Pkg+": retrying",
				slog.Int("attempt", attempt+1), slog.Duration("wait", wait), slog.String("error", cerr.Error()))
		}
		if err := r.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: %w (while waiting to retry after: %v)", r.Pkg, err, cerr)
		}
	}
}

func (r *Retry) maxRetries() int {
	switch {
	case r.MaxRetries < 0:
		return 0
	case r.MaxRetries == 0:
		return DefaultMaxRetries
	}
	return r.MaxRetries
}

// Backoff returns the wait before retry number attempt+1 after err, and
// false when the server asked for a longer wait than MaxRetryAfter.
func (r *Retry) Backoff(attempt int, err error) (time.Duration, bool) {
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		limit := r.MaxRetryAfter
		if limit == 0 {
			limit = DefaultMaxRetryAfter
		}
		return se.RetryAfter, se.RetryAfter <= limit
	}
	lo, hi := r.MinBackoff, r.MaxBackoff
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1)), true
}

func (r *Retry) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Retry) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
