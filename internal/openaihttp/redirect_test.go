package openaihttp

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a loopback OpenAI-compatible embeddings endpoint that records
// the credential headers of each request it gets.
type recorder struct {
	mu   sync.Mutex
	seen []http.Header
	srv  *httptest.Server
}

func newRecorder(t *testing.T, addr string) *recorder {
	t.Helper()
	r := &recorder{}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Header.Clone())
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,0]}],"model":"m"}`))
	}))
	r.srv.Listener.Close()
	r.srv.Listener = l
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) headers() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.seen...)
}

// redirector answers every request with a 307 to target + the same path.
func redirector(t *testing.T, target string) (*httptest.Server, *int) {
	t.Helper()
	var mu sync.Mutex
	n := new(int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		*n++
		mu.Unlock()
		http.Redirect(w, req, target+req.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	return srv, n
}

// TestRedirectToAnotherHostRefused: an endpoint answering 307 to another
// origin (another port of the same loopback host, where Go keeps even
// Authorization, and another loopback host) makes the call fail with
// ErrRedirectRefused, not retried, and the other origin receives nothing:
// neither the API key nor an extra credential header.
func TestRedirectToAnotherHostRefused(t *testing.T) {
	const key, apiKey = "sk-secret-key", "x-api-secret"
	for name, addr := range map[string]string{"other port": "127.0.0.1:0", "other host": "127.0.0.2:0"} {
		t.Run(name, func(t *testing.T) {
			evil := newRecorder(t, addr)
			front, hits := redirector(t, evil.srv.URL)
			c := NewClient(front.URL+"/v1", key, nil, map[string]string{"X-Api-Key": apiKey})
			_, err := c.CreateEmbeddings(t.Context(), openai.EmbeddingRequest{Input: []string{"x"}, Model: "m"})
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrRedirectRefused)
			assert.Contains(t, err.Error(), evil.srv.URL, "names the refused origin")
			assert.Empty(t, evil.headers(), "the other origin gets no request")
			assert.Equal(t, 1, *hits)

			cerr, temp := Classify(t.Context(), "pkg", key, err, &Capture{Status: 307}, time.Now())
			assert.False(t, temp, "a refused redirect is not retried")
			assert.ErrorIs(t, cerr, ErrRedirectRefused)
			assert.NotContains(t, cerr.Error(), key)
			assert.NotContains(t, cerr.Error(), apiKey)
		})
	}
}

// TestRedirectSameOriginFollowed: a redirect within the endpoint's origin
// is followed with the headers, and the caller's http.Client keeps its own
// redirect policy (NewClient does not modify it).
func TestRedirectSameOriginFollowed(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	mux := http.NewServeMux()
	mux.HandleFunc("/old/embeddings", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new/embeddings", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/new/embeddings", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,0]}],"model":"m"}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	hc := &http.Client{}
	c := NewClient(srv.URL+"/old", "sk-k", hc, map[string]string{"X-Api-Key": "v"})
	_, err := c.CreateEmbeddings(t.Context(), openai.EmbeddingRequest{Input: []string{"x"}, Model: "m"})
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "v", got.Get("X-Api-Key"))
	assert.Equal(t, "Bearer sk-k", got.Get("Authorization"))
	assert.Nil(t, hc.CheckRedirect, "the caller's client is not modified")

	// A caller's own policy still applies within the origin.
	stop := errors.New("no redirects here")
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return stop }
	c = NewClient(srv.URL+"/old", "", hc, nil)
	_, err = c.CreateEmbeddings(t.Context(), openai.EmbeddingRequest{Input: []string{"x"}, Model: "m"})
	assert.ErrorIs(t, err, stop)
}
