package openai

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/minirag/minirag/internal/openaihttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedirectToAnotherHostNotFollowed: an endpoint redirecting (307) to
// another loopback origin gets the call refused at once (no retry), and
// the API key and the extra credential header never reach the other
// origin.
func TestRedirectToAnotherHostNotFollowed(t *testing.T) {
	var evilHits, frontHits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { evilHits.Add(1) }))
	defer evil.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		frontHits.Add(1)
		http.Redirect(w, r, evil.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer front.Close()
	c, err := New(Config{BaseURL: front.URL + "/v1", APIKey: "sk-secret", Model: "m", ExtraHeaders: map[string]string{"X-Api-Key": "header-secret"}})
	require.NoError(t, err)
	_, err = c.Embed(t.Context(), []string{"hi"})
	require.ErrorIs(t, err, openaihttp.ErrRedirectRefused)
	assert.NotContains(t, err.Error(), "secret")
	assert.Zero(t, evilHits.Load())
	assert.Equal(t, int32(1), frontHits.Load(), "not retried")
}
