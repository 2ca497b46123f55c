package rerank

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// APIs an HTTP reranker speaks.
const (
	// APICohere is the request {"model","query","documents","top_n"} and
	// the answer {"results":[{"index","relevance_score"}]} of Cohere
	// (/v1/rerank, /v2/rerank), Jina (/v1/rerank), vLLM (/rerank,
	// /v1/rerank, /v2/rerank) and the LiteLLM proxy (/rerank).
	APICohere = "cohere"
	// APITEI is Hugging Face text-embeddings-inference's /rerank: the
	// request {"query","texts"} and the answer [{"index","score"}].
	APITEI = "tei"
)

// Defaults of Config.
const (
	DefaultTimeout    = 15 * time.Second
	DefaultMaxRetries = 2
	// maxRetryWait bounds a wait between attempts (Retry-After included).
	maxRetryWait = 10 * time.Second
	// maxBody bounds the answer read.
	maxBody = 8 << 20
)

// Config configures an HTTP reranker.
type Config struct {
	// URL is the endpoint's full URL, such as
	// https://api.cohere.com/v2/rerank (required; http or https).
	URL string
	// Model names the model (sent with APICohere; TEI serves one model).
	Model string
	// API is APICohere (empty) or APITEI.
	API string
	// APIKey, when set, is sent as "Authorization: Bearer <key>". It
	// never appears in errors.
	APIKey string
	// Headers are extra headers sent with each request (their values
	// never appear in errors either).
	Headers map[string]string
	// HTTPClient sends the requests (nil: a new client). Redirects are
	// never followed, whatever its CheckRedirect: a redirect would carry
	// the credentials to another address, so a 3xx answer is an error.
	HTTPClient *http.Client
	// Timeout bounds each attempt (0 means DefaultTimeout).
	Timeout time.Duration
	// MaxRetries is the number of retries of a failed attempt (a network
	// error, 408, 429 or 5xx), with exponential backoff and Retry-After
	// honoured up to 10 s; 0 means DefaultMaxRetries, negative none.
	MaxRetries int
}

// HTTP is a Reranker calling a /rerank endpoint. It is safe for
// concurrent use.
type HTTP struct {
	cfg     Config
	hc      *http.Client
	secrets []string
}

// NewHTTP checks cfg and returns its reranker.
func NewHTTP(cfg Config) (*HTTP, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "" || err != nil:
		return nil, errors.New("rerank: url is required and must be a URL")
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, errors.New("rerank: url must be an http or https URL with a host")
	case u.User != nil:
		return nil, errors.New("rerank: url must not contain user information (use the API key)")
	}
	if cfg.API == "" {
		cfg.API = APICohere
	}
	if cfg.API != APICohere && cfg.API != APITEI {
		return nil, fmt.Errorf("rerank: api must be %q or %q", APICohere, APITEI)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	hc := *base
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	h := &HTTP{cfg: cfg, hc: &hc}
	if cfg.APIKey != "" {
		h.secrets = append(h.secrets, cfg.APIKey)
	}
	for _, v := range cfg.Headers {
		if len(v) >= 4 {
			h.secrets = append(h.secrets, v)
		}
	}
	return h, nil
}

// StatusError is an error answer of the endpoint. Message holds the start
// of its body, credentials removed.
type StatusError struct {
	StatusCode int
	Message    string
	RetryAfter time.Duration
}

// Error implements error.
func (e *StatusError) Error() string {
	s := "rerank: server answered " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *StatusError) temporary() bool {
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// Rerank implements Reranker.
func (h *HTTP) Rerank(ctx context.Context, query string, docs []string, topN int) ([]Result, error) {
	if len(docs) == 0 {
		return []Result{}, nil
	}
	if topN <= 0 || topN > len(docs) {
		topN = len(docs)
	}
	var body any
	if h.cfg.API == APITEI {
		body = struct {
			Query    string   `json:"query"`
			Texts    []string `json:"texts"`
			Truncate bool     `json:"truncate"`
		}{query, docs, true}
	} else {
		body = struct {
			Model     string   `json:"model,omitempty"`
			Query     string   `json:"query"`
			Documents []string `json:"documents"`
			TopN      int      `json:"top_n"`
		}{h.cfg.Model, query, docs, topN}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("rerank: encode request: %w", err)
	}
	var last error
	for attempt := 0; ; attempt++ {
		res, retryAfter, temporary, err := h.attempt(ctx, payload, len(docs))
		if err == nil {
			return best(res, topN), nil
		}
		last = err
		if !temporary || attempt >= h.cfg.MaxRetries || ctx.Err() != nil {
			break
		}
		wait := time.Duration(float64(200*time.Millisecond) * float64(int(1)<<attempt) * (0.5 + rand.Float64()))
		if retryAfter > wait {
			wait = retryAfter
		}
		wait = min(wait, maxRetryWait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("rerank: %w (after %v)", ctx.Err(), last)
		case <-t.C:
		}
	}
	if ctx.Err() != nil && !errors.Is(last, ctx.Err()) {
		return nil, fmt.Errorf("rerank: %w (%v)", ctx.Err(), last)
	}
	return nil, last
}

// attempt sends one request. It reports the wait the server asked for and
// whether a retry may succeed.
func (h *HTTP) attempt(ctx context.Context, payload []byte, n int) ([]Result, time.Duration, bool, error) {
	actx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, h.cfg.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, 0, false, fmt.Errorf("rerank: build request: %s", h.redact(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range h.cfg.Headers {
		req.Header.Set(k, v)
	}
	if h.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+h.cfg.APIKey)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, false, fmt.Errorf("rerank: %w", ctx.Err())
		}
		// The URL is the host's configuration; the text may hold a
		// header value only if the transport echoed it: redacted.
		return nil, 0, true, fmt.Errorf("rerank: request failed: %s", h.redact(err.Error()))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, 0, true, fmt.Errorf("rerank: read answer: %s", h.redact(err.Error()))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &StatusError{StatusCode: resp.StatusCode, Message: h.redact(excerpt(b))}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			se.Message = "redirects are not followed (they would carry the credentials elsewhere); configure the final URL"
		}
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
			se.RetryAfter = time.Duration(s) * time.Second
		}
		return nil, se.RetryAfter, se.temporary(), se
	}
	res, err := parse(b, n)
	if err != nil {
		return nil, 0, false, err
	}
	return res, 0, false, nil
}

// parse reads {"results":[{"index","relevance_score"}]} or
// [{"index","score"}].
func parse(b []byte, n int) ([]Result, error) {
	type item struct {
		Index          *int     `json:"index"`
		RelevanceScore *float64 `json:"relevance_score"`
		Score          *float64 `json:"score"`
	}
	var items []item
	trim := bytes.TrimSpace(b)
	if len(trim) > 0 && trim[0] == '[' {
		if err := json.Unmarshal(trim, &items); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadResponse, err)
		}
	} else {
		var env struct {
			Results []item `json:"results"`
		}
		if err := json.Unmarshal(trim, &env); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadResponse, err)
		}
		if env.Results == nil {
			return nil, fmt.Errorf("%w: no results", ErrBadResponse)
		}
		items = env.Results
	}
	seen := make(map[int]bool, len(items))
	out := make([]Result, 0, len(items))
	for _, it := range items {
		if it.Index == nil || *it.Index < 0 || *it.Index >= n || seen[*it.Index] {
			return nil, fmt.Errorf("%w: a result's index is missing, out of range or repeated", ErrBadResponse)
		}
		seen[*it.Index] = true
		r := Result{Index: *it.Index}
		switch {
		case it.RelevanceScore != nil:
			r.Score = *it.RelevanceScore
		case it.Score != nil:
			r.Score = *it.Score
		default:
			return nil, fmt.Errorf("%w: a result has no score", ErrBadResponse)
		}
		out = append(out, r)
	}
	return out, nil
}

// best sorts results by score, best first (index on ties), and keeps topN.
func best(res []Result, topN int) []Result {
	sortResults(res)
	if len(res) > topN {
		res = res[:topN]
	}
	return res
}

func (h *HTTP) redact(s string) string {
	for _, sec := range h.secrets {
		s = strings.ReplaceAll(s, sec, "[REDACTED]")
	}
	return s
}

// excerpt is the start of a body, on one line.
func excerpt(b []byte) string {
	const n = 300
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > n {
		s = s[:n]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return s
}
