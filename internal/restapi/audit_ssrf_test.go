package restapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/loader"
)

// TestAuditBotBaseURLNoPrivateNetworks: POST /v1/tenants is public, so
// anyone can make a bot whose base_url names a host on the server's
// private network (a metadata service, an admin port); asking it must not
// make the server send requests there (their answer would come back in
// the 502 message). MINIRAG_ALLOW_PRIVATE_NETWORKS=1 allows it (a local
// Ollama).
func TestAuditBotBaseURLNoPrivateNetworks(t *testing.T) {
	var hits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "internal-only data", http.StatusBadRequest)
	}))
	defer internal.Close()

	// ask returns the error of creating the bot, or else of asking it.
	ask := func(t *testing.T, env map[string]string) error {
		dir := t.TempDir()
		c, _, err := openClient(t.Context(), slog.New(slog.DiscardHandler), dir, envMap(env))
		require.NoError(t, err)
		defer c.Close()
		b, err := c.CreateTenant(t.Context(), minirag.CreateTenantParams{Name: "Eve", Slug: "eve", OwnerEmail: "eve@eve.example"})
		require.NoError(t, err)
		h := c.Scoped(mustAuth(t, c, b.Token.Plaintext))
		bot, err := h.CreateBot(t.Context(), minirag.BotParams{Name: "b", Model: "m", BaseURL: internal.URL + "/v1"})
		if err != nil {
			return err
		}
		src, err := h.CreateSource(t.Context(), minirag.SourceParams{BotID: bot.ID, Name: "t", Type: minirag.SourceText,
			Config: loader.TextConfig{Title: "Hours", Content: "Opening hours are nine to five on weekdays."}})
		require.NoError(t, err)
		_, err = h.Ingest(t.Context(), src.ID, minirag.IngestOptions{})
		require.NoError(t, err)
		_, err = h.Ask(t.Context(), minirag.AskRequest{BotID: bot.ID, Question: "What are the opening hours?"})
		return err
	}

	err := ask(t, nil)
	assert.ErrorIs(t, err, minirag.ErrInvalidInput, "a private base_url is bad input naming base_url")
	assert.ErrorIs(t, err, loader.ErrBlockedAddress)
	assert.Contains(t, err.Error(), "base_url")
	assert.Zero(t, hits.Load(), "the server sent a request to a private address named by a tenant's bot")

	hits.Store(0)
	err = ask(t, map[string]string{"MINIRAG_ALLOW_PRIVATE_NETWORKS": "1"})
	assert.Error(t, err) // the fake internal service answers 400
	assert.NotZero(t, hits.Load(), "MINIRAG_ALLOW_PRIVATE_NETWORKS=1 did not allow a private base URL")
}
