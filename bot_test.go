package minirag

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/record"
)

func TestBotCRUD(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.scoped(t, b.Token.Plaintext)

	bot, err := h.CreateBot(e.ctx, BotParams{
		Name:         " Support ",
		Description:  "Answers support questions",
		SystemPrompt: "Be brief.",
		Model:        "gpt-4o-mini",
		Temperature:  0.2,
		MaxTokens:    512,
		BaseURL:      "https://llm.example/v1",
		Language:     "english",
		Credentials:  &Credentials{APIKey: "sk-live-123", Headers: map[string]string{"X-Org": "acme"}},
	})
	require.NoError(t, err)
	assert.Equal(t, "Support", bot.Name)
	assert.True(t, bot.Active, "Active defaults to true")
	assert.True(t, bot.HasCredentials)
	assert.Equal(t, b.Tenant.ID, bot.TenantID)

	got, err := h.GetBot(e.ctx, bot.ID)
	require.NoError(t, err)
	assert.Equal(t, bot, got)
	list, err := h.ListBots(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []Bot{bot}, list)

	creds, err := e.c.decryptCredentials(e.ctx, b.Tenant.ID, bot.ID)
	require.NoError(t, err)
	assert.Equal(t, Credentials{APIKey: "sk-live-123", Headers: map[string]string{"X-Org": "acme"}}, creds)
	// Stored encrypted: the ciphertext does not hold the key.
	bc, err := e.c.store.GetBotCredentials(e.ctx, b.Tenant.ID, bot.ID)
	require.NoError(t, err)
	assert.NotContains(t, string(bc.Ciphertext), "sk-live-123")
	assert.True(t, strings.HasPrefix(string(bc.Ciphertext), "gAAAAA"), "a Fernet token")

	// Partial update: only the given fields change.
	e.clock.Advance(time.Second)
	upd, err := h.UpdateBot(e.ctx, bot.ID, BotUpdate{Temperature: ptr(1.5), Active: ptr(false)})
	require.NoError(t, err)
	want := bot
	want.Temperature = 1.5
	want.Active = false
	want.UpdatedAt = bot.UpdatedAt.Add(time.Second)
	assert.Equal(t, want, upd)
	got, err = h.GetBot(e.ctx, bot.ID)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	creds, err = e.c.decryptCredentials(e.ctx, b.Tenant.ID, bot.ID)
	require.NoError(t, err)
	assert.Equal(t, "sk-live-123", creds.APIKey, "credentials untouched by an update that does not name them")

	// Replace, then clear the credentials.
	upd, err = h.UpdateBot(e.ctx, bot.ID, BotUpdate{Credentials: &Credentials{APIKey: "sk-new"}})
	require.NoError(t, err)
	assert.True(t, upd.HasCredentials)
	creds, err = e.c.decryptCredentials(e.ctx, b.Tenant.ID, bot.ID)
	require.NoError(t, err)
	assert.Equal(t, Credentials{APIKey: "sk-new"}, creds)
	upd, err = h.UpdateBot(e.ctx, bot.ID, BotUpdate{ClearCredentials: true})
	require.NoError(t, err)
	assert.False(t, upd.HasCredentials)
	got, err = h.GetBot(e.ctx, bot.ID)
	require.NoError(t, err)
	assert.False(t, got.HasCredentials)
	creds, err = e.c.decryptCredentials(e.ctx, b.Tenant.ID, bot.ID)
	require.NoError(t, err)
	assert.Equal(t, Credentials{}, creds)

	// Invalid updates change nothing.
	_, err = h.UpdateBot(e.ctx, bot.ID, BotUpdate{Name: ptr(" "), Temperature: ptr(2.5)})
	assert.Equal(t, []string{"name", "temperature"}, fieldsOf(t, err))
	_, err = h.UpdateBot(e.ctx, bot.ID, BotUpdate{Credentials: &Credentials{APIKey: "k"}, ClearCredentials: true})
	assert.Equal(t, []string{"credentials"}, fieldsOf(t, err))
	got, err = h.GetBot(e.ctx, bot.ID)
	require.NoError(t, err)
	assert.Equal(t, "Support", got.Name)

	// Soft delete: gone from get and list, kept in storage, credentials erased.
	_, err = h.UpdateBot(e.ctx, bot.ID, BotUpdate{Credentials: &Credentials{APIKey: "sk-again"}})
	require.NoError(t, err)
	require.NoError(t, h.DeleteBot(e.ctx, bot.ID))
	_, err = h.GetBot(e.ctx, bot.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	list, err = h.ListBots(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	assert.ErrorIs(t, h.DeleteBot(e.ctx, bot.ID), ErrNotFound)
	_, err = h.UpdateBot(e.ctx, bot.ID, BotUpdate{Name: ptr("back")})
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = e.c.decryptCredentials(e.ctx, b.Tenant.ID, bot.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	all, err := e.c.store.ListBotCredentials(e.ctx, b.Tenant.ID)
	require.NoError(t, err)
	assert.Empty(t, all, "a deleted bot's credentials are erased")
}

func TestBotValidation(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.c.Tenant(b.Tenant.ID)
	for _, c := range []struct {
		p    BotParams
		want []string
	}{
		{BotParams{}, []string{"name"}},
		{BotParams{Name: "x", Temperature: -0.1}, []string{"temperature"}},
		{BotParams{Name: "x", Temperature: 2.01}, []string{"temperature"}},
		{BotParams{Name: "x", Temperature: math.NaN()}, []string{"temperature"}},
		{BotParams{Name: "x", MaxTokens: -1}, []string{"max_tokens"}},
		{BotParams{Name: "x", BaseURL: "ftp://x.example"}, []string{"base_url"}},
		{BotParams{Name: "x", BaseURL: "/v1"}, []string{"base_url"}},
		{BotParams{Name: "x", BaseURL: "https://user:pw@x.example"}, []string{"base_url"}},
		{BotParams{Name: "x", Credentials: &Credentials{}}, []string{"credentials"}},
		{BotParams{Name: "x", Credentials: &Credentials{APIKey: "a\nb"}}, []string{"credentials.api_key"}},
		{BotParams{Name: "x", Credentials: &Credentials{APIKey: "k", Headers: map[string]string{"Bad Name": "v"}}}, []string{"credentials.headers"}},
		{BotParams{Name: "x", Credentials: &Credentials{APIKey: "k", Headers: map[string]string{"X-A": "v\r\n"}}}, []string{"credentials.headers.X-A"}},
	} {
		_, err := h.CreateBot(e.ctx, c.p)
		assert.Equal(t, c.want, fieldsOf(t, err), "%+v", c.p)
	}
	for _, p := range []BotParams{
		{Name: "x", Temperature: 0},
		{Name: "x", Temperature: 2},
		{Name: "x", BaseURL: "http://127.0.0.1:11434/v1", Active: ptr(false)},
	} {
		bot, err := h.CreateBot(e.ctx, p)
		require.NoError(t, err)
		assert.Equal(t, p.Active == nil, bot.Active)
	}
	list, err := h.ListBots(e.ctx)
	require.NoError(t, err)
	assert.Len(t, list, 3, "no invalid bot was stored")
}

func TestBotTenantIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.bootstrap(t, "tenant-a")
	b := e.bootstrap(t, "tenant-b")
	ha := e.scoped(t, a.Token.Plaintext)
	hb := e.scoped(t, b.Token.Plaintext)
	bot, err := ha.CreateBot(e.ctx, BotParams{Name: "A's bot", Credentials: &Credentials{APIKey: "sk-a"}})
	require.NoError(t, err)

	_, err = hb.GetBot(e.ctx, bot.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	list, err := hb.ListBots(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = hb.UpdateBot(e.ctx, bot.ID, BotUpdate{Name: ptr("stolen"), ClearCredentials: true})
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, hb.DeleteBot(e.ctx, bot.ID), ErrNotFound)
	_, err = e.c.decryptCredentials(e.ctx, b.Tenant.ID, bot.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = e.c.decryptCredentials(e.ctx, "", bot.ID)
	assert.ErrorIs(t, err, ErrInvalidInput)

	got, err := ha.GetBot(e.ctx, bot.ID)
	require.NoError(t, err)
	assert.Equal(t, bot, got)
	creds, err := e.c.decryptCredentials(e.ctx, a.Tenant.ID, bot.ID)
	require.NoError(t, err)
	assert.Equal(t, "sk-a", creds.APIKey)
}

func TestNoEncryptionKey(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.EncryptionKeys = nil })
	b := e.bootstrap(t, "acme")
	h := e.c.Tenant(b.Tenant.ID)
	_, err := h.CreateBot(e.ctx, BotParams{Name: "x", Credentials: &Credentials{APIKey: "k"}})
	assert.ErrorIs(t, err, ErrNoEncryptionKey)
	bot, err := h.CreateBot(e.ctx, BotParams{Name: "x"})
	require.NoError(t, err, "bots without credentials need no key")
	_, err = h.UpdateBot(e.ctx, bot.ID, BotUpdate{Credentials: &Credentials{APIKey: "k"}})
	assert.ErrorIs(t, err, ErrNoEncryptionKey)
	_, err = e.c.RotateCredentials(e.ctx)
	assert.ErrorIs(t, err, ErrNoEncryptionKey)
	list, err := h.ListBots(e.ctx)
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func TestBadEncryptionKeys(t *testing.T) {
	st := newEnv(t).c.store
	secretish := "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
	_, err := New(Config{Storage: st, EncryptionKeys: []string{secretish}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "EncryptionKeys")
	assert.NotContains(t, err.Error(), secretish)
	_, err = New(Config{})
	assert.ErrorContains(t, err, "Storage")
}

func TestRotateCredentials(t *testing.T) {
	e := newEnv(t)
	oldKey := e.keys[0]
	a := e.bootstrap(t, "tenant-a")
	b := e.bootstrap(t, "tenant-b")
	ba, err := e.c.Tenant(a.Tenant.ID).CreateBot(e.ctx, BotParams{Name: "a", Credentials: &Credentials{APIKey: "sk-a"}})
	require.NoError(t, err)
	bb, err := e.c.Tenant(b.Tenant.ID).CreateBot(e.ctx, BotParams{Name: "b", Credentials: &Credentials{APIKey: "sk-b", Headers: map[string]string{"X-K": "v"}}})
	require.NoError(t, err)
	_, err = e.c.Tenant(b.Tenant.ID).CreateBot(e.ctx, BotParams{Name: "none"})
	require.NoError(t, err)

	// A new Client on the same storage with a new key first.
	newKey, err := GenerateEncryptionKey()
	require.NoError(t, err)
	rotated, err := New(Config{Storage: e.c.store, EncryptionKeys: []string{newKey, oldKey}, Now: e.clock.Now})
	require.NoError(t, err)
	// One bot already under the new key (set through the rotated client).
	bc, err := rotated.Tenant(a.Tenant.ID).CreateBot(e.ctx, BotParams{Name: "c", Credentials: &Credentials{APIKey: "sk-c"}})
	require.NoError(t, err)

	n, err := rotated.RotateCredentials(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = rotated.RotateCredentials(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "a second run has nothing to do")

	// The new key alone now opens every credential; the old alone none.
	onlyNew, err := New(Config{Storage: e.c.store, EncryptionKeys: []string{newKey}})
	require.NoError(t, err)
	for tid, want := range map[[2]string]Credentials{
		{a.Tenant.ID, ba.ID}: {APIKey: "sk-a"},
		{b.Tenant.ID, bb.ID}: {APIKey: "sk-b", Headers: map[string]string{"X-K": "v"}},
		{a.Tenant.ID, bc.ID}: {APIKey: "sk-c"},
	} {
		got, err := onlyNew.decryptCredentials(e.ctx, tid[0], tid[1])
		require.NoError(t, err)
		assert.Equal(t, want, got)
		_, err = e.c.decryptCredentials(e.ctx, tid[0], tid[1])
		assert.Error(t, err)
		assert.NotContains(t, err.Error(), want.APIKey)
	}

	// A credential no key opens is reported by bot, and the rest rotate.
	third, _ := GenerateEncryptionKey()
	stranger, err := New(Config{Storage: e.c.store, EncryptionKeys: []string{third}})
	require.NoError(t, err)
	n, err = stranger.RotateCredentials(e.ctx)
	assert.Equal(t, 0, n)
	require.Error(t, err)
	assert.Contains(t, err.Error(), ba.ID)
	assert.NotContains(t, err.Error(), "sk-")
}

func TestDecryptCorruptCredentials(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	bot, err := e.c.Tenant(b.Tenant.ID).CreateBot(e.ctx, BotParams{Name: "x", Credentials: &Credentials{APIKey: "sk-x"}})
	require.NoError(t, err)
	require.NoError(t, e.c.store.SetBotCredentials(e.ctx, record.BotCredentials{TenantID: b.Tenant.ID, BotID: bot.ID, Ciphertext: []byte("gAAAAAnot-a-token")}))
	_, err = e.c.decryptCredentials(e.ctx, b.Tenant.ID, bot.ID)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot be decrypted")
}
