package minirag

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
)

// assertBaseURLRefused checks that err is bad input naming base_url and a
// blocked address.
func assertBaseURLRefused(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidInput)
	assert.ErrorIs(t, err, loader.ErrBlockedAddress)
	var ve *record.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	require.Len(t, ve.Fields, 1)
	assert.Equal(t, "base_url", ve.Fields[0].Field)
}

func TestModelEndpointsAllowedByDefault(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Reply: func(openaitest.ChatRequest) string { return "Fifteen days [1]." }})
	a := newAskEnv(t, nil, BotParams{Model: "gpt-test", BaseURL: srv.URL}) // 127.0.0.1
	ans, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "How long is the retention of samples on disk?"})
	require.NoError(t, err)
	assert.Equal(t, "Fifteen days [1].", ans.Text)
	assert.Len(t, srv.Requests(), 1, "without PublicModelEndpointsOnly a loopback base_url is called")
}

func TestPublicModelEndpointsOnlyRefusesAtCreateAndUpdate(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PublicModelEndpointsOnly = true })
	h := e.c.Tenant(e.bootstrap(t, "acme").Tenant.ID)
	for _, u := range []string{
		"http://127.0.0.1:11434/v1",
		"http://localhost:4000/v1", // a name resolving to loopback
		"http://10.1.2.3/v1",
		"http://[::1]:8080/v1",
		"http://169.254.169.254/latest",
		"http://[::ffff:192.168.0.1]/v1",
	} {
		_, err := h.CreateBot(e.ctx, BotParams{Name: "b", Model: "m", BaseURL: u})
		assertBaseURLRefused(t, err)
	}
	bots, err := h.ListBots(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, bots, "a refused bot was stored")

	b, err := h.CreateBot(e.ctx, BotParams{Name: "b", Model: "m", BaseURL: "https://93.184.215.14/v1"})
	require.NoError(t, err, "a public address is allowed")
	_, err = h.UpdateBot(e.ctx, b.ID, BotUpdate{BaseURL: ptr("http://127.0.0.1:9/v1")})
	assertBaseURLRefused(t, err)
	got, err := h.GetBot(e.ctx, b.ID)
	require.NoError(t, err)
	assert.Equal(t, "https://93.184.215.14/v1", got.BaseURL, "a refused update changed the bot")
	_, err = h.UpdateBot(e.ctx, b.ID, BotUpdate{Name: ptr("renamed")})
	require.NoError(t, err, "an update not touching base_url is not checked")
	_, err = h.CreateBot(e.ctx, BotParams{Name: "default endpoint", Model: "m", Credentials: &Credentials{APIKey: "sk-x"}})
	require.NoError(t, err, "no base_url means the provider's public default")
}

func TestPublicModelEndpointsOnlyRefusesAtAsk(t *testing.T) {
	srv := openaitest.New(t, openaitest.Options{Reply: func(openaitest.ChatRequest) string { return "never" }})
	a := newAskEnv(t, nil, BotParams{Model: "gpt-test", BaseURL: srv.URL})
	// The guard is turned on after the bot was stored (a host that
	// enables it later): Ask refuses before any connection.
	a.c.publicModels, a.c.modelHTTP = true, publicOnlyHTTPClient()
	_, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "How long is the retention of samples on disk?"})
	assertBaseURLRefused(t, err)
	_, err = CollectAnswer(a.h.AskStream(a.ctx, AskRequest{BotID: a.bot.ID, Question: "How long is the retention?"}))
	assertBaseURLRefused(t, err)
	assert.Empty(t, srv.Requests(), "the guarded client called a loopback base_url")
	// The extractive answer needs no model call and still works.
	ans, err := a.h.Ask(a.ctx, AskRequest{BotID: a.bot.ID, Question: "How long is the retention?", Extractive: true})
	require.NoError(t, err)
	assert.True(t, ans.Extractive)
}

// TestPublicModelEndpointsOnlyDial: the dial check sees the address a
// name resolves to at dial time, so a name that passed (or skipped) the
// base_url check and resolves to loopback is refused.
func TestPublicModelEndpointsOnlyDial(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := netip.MustParseAddrPort(srv.Listener.Addr().String()).Port()

	client := publicOnlyHTTPClient()
	for _, u := range []string{srv.URL, "http://localhost:" + strconv.Itoa(int(port)) + "/"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		assert.ErrorIs(t, err, loader.ErrBlockedAddress, u)
	}
	assert.Zero(t, hits.Load(), "the guarded client connected to loopback")

	// The unguarded default reaches it (the test server works).
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.EqualValues(t, 1, hits.Load())
}
