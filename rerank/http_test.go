package rerank

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cohereServer answers like Cohere's /v2/rerank: documents holding more
// of the query's words score higher.
func cohereServer(t *testing.T, key string, fail *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/rerank" {
			http.NotFound(w, r)
			return
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+key {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"invalid api token ` + strings.TrimPrefix(got, "Bearer ") + `"}`))
			return
		}
		if fail != nil && fail.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var req struct {
			Model     string   `json:"model"`
			Query     string   `json:"query"`
			Documents []string `json:"documents"`
			TopN      int      `json:"top_n"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "rerank-v3.5" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		type res struct {
			Index int     `json:"index"`
			Score float64 `json:"relevance_score"`
		}
		var out []res
		for i, d := range req.Documents {
			s := 0.0
			for _, w := range strings.Fields(strings.ToLower(req.Query)) {
				if strings.Contains(strings.ToLower(d), w) {
					s++
				}
			}
			out = append(out, res{i, s / 10})
		}
		// Cohere answers best first, cut to top_n.
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if out[j].Score > out[i].Score {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		if req.TopN > 0 && len(out) > req.TopN {
			out = out[:req.TopN]
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "x", "results": out, "meta": map[string]any{}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPCohere(t *testing.T) {
	srv := cohereServer(t, "co-secret-key", nil)
	r, err := NewHTTP(Config{URL: srv.URL + "/v2/rerank", Model: "rerank-v3.5", APIKey: "co-secret-key"})
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"cats sleep", "alerts go to the alertmanager", "the alertmanager routes alerts to receivers"}
	res, err := r.Rerank(t.Context(), "alertmanager routes receivers", docs, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Index != 2 || res[1].Index != 1 {
		t.Fatalf("Rerank = %+v, want indexes 2 then 1", res)
	}
	if res[0].Score <= res[1].Score {
		t.Errorf("scores not best first: %+v", res)
	}
	empty, err := r.Rerank(t.Context(), "q", nil, 3)
	if err != nil || len(empty) != 0 {
		t.Errorf("Rerank of no documents = %v, %v; want none, nil", empty, err)
	}
}

func TestHTTPErrorsHoldNoKey(t *testing.T) {
	srv := cohereServer(t, "right-key", nil)
	r, err := NewHTTP(Config{URL: srv.URL + "/v2/rerank", Model: "rerank-v3.5", APIKey: "wrong-secret-key"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Rerank(t.Context(), "q", []string{"a"}, 1)
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401 StatusError", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-key") {
		t.Errorf("error text holds the API key: %q", err)
	}
}

func TestHTTPRetries(t *testing.T) {
	var fail atomic.Int32
	fail.Store(2)
	srv := cohereServer(t, "k-123", &fail)
	r, err := NewHTTP(Config{URL: srv.URL + "/v2/rerank", Model: "rerank-v3.5", APIKey: "k-123"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rerank(t.Context(), "alerts", []string{"alerts", "cats"}, 0); err != nil {
		t.Fatalf("two 503s then success: %v", err)
	}
	fail.Store(5)
	r, _ = NewHTTP(Config{URL: srv.URL + "/v2/rerank", Model: "rerank-v3.5", APIKey: "k-123", MaxRetries: 1})
	if _, err := r.Rerank(t.Context(), "alerts", []string{"alerts"}, 0); err == nil {
		t.Fatal("5 failures with 1 retry: no error")
	}
}

func TestHTTPTimeout(t *testing.T) {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	defer srv.Close()
	defer close(done)
	r, _ := NewHTTP(Config{URL: srv.URL, Timeout: 50 * time.Millisecond, MaxRetries: -1})
	start := time.Now()
	if _, err := r.Rerank(t.Context(), "q", []string{"a"}, 1); err == nil {
		t.Fatal("no error from a server slower than the timeout")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the timeout did not cut the call: %v", d)
	}
}

func TestHTTPNoRedirectWithCredentials(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
		_, _ = w.Write([]byte(`{"results":[]}`))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/rerank", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	r, _ := NewHTTP(Config{URL: srv.URL + "/rerank", APIKey: "secret-key", HTTPClient: &http.Client{}})
	_, err := r.Rerank(t.Context(), "q", []string{"a"}, 1)
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, want the redirect as a StatusError", err)
	}
	if leaked.Load() {
		t.Error("the redirect was followed with the credentials")
	}
}

func TestHTTPTEI(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Query string   `json:"query"`
			Texts []string `json:"texts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Texts) != 3 {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		// TEI answers every text, best first.
		_, _ = w.Write([]byte(`[{"index":1,"score":0.9},{"index":2,"score":0.5},{"index":0,"score":0.1}]`))
	}))
	defer srv.Close()
	r, err := NewHTTP(Config{URL: srv.URL + "/rerank", API: APITEI})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Rerank(t.Context(), "q", []string{"a", "b", "c"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Index != 1 || res[1].Index != 2 {
		t.Errorf("Rerank = %+v, want 1 then 2", res)
	}
}

func TestHTTPBadResponses(t *testing.T) {
	for _, body := range []string{`nope`, `{"results":[{"index":7,"relevance_score":1}]}`, `{"results":[{"index":0}]}`,
		`{"results":[{"index":0,"relevance_score":1},{"index":0,"relevance_score":1}]}`, `{}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(body)) }))
		r, _ := NewHTTP(Config{URL: srv.URL})
		_, err := r.Rerank(context.Background(), "q", []string{"a", "b"}, 0)
		if !errors.Is(err, ErrBadResponse) {
			t.Errorf("body %s: err = %v, want ErrBadResponse", body, err)
		}
		srv.Close()
	}
}

func TestNewHTTPChecksConfig(t *testing.T) {
	for _, c := range []Config{{}, {URL: "ftp://x/rerank"}, {URL: "http://user:pw@x/rerank"}, {URL: "http://x/rerank", API: "grpc"}} {
		if _, err := NewHTTP(c); err == nil {
			t.Errorf("NewHTTP(%+v): no error", c)
		}
	}
}

func TestLexical(t *testing.T) {
	docs := []string{"Cats sleep all day.", "Firing alerts are sent to the Alertmanager.", "The Alertmanager routes alerts to receivers such as email."}
	res, err := Lexical{}.Rerank(t.Context(), "how does the alertmanager route alerts", docs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Index != 2 || res[2].Index != 0 {
		t.Errorf("Lexical = %+v, want 2 first and 0 last", res)
	}
}
