package minirag

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/loader"
)

func TestSourceCRUD(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.scoped(t, b.Token.Plaintext)
	bot1, err := h.CreateBot(e.ctx, BotParams{Name: "one"})
	require.NoError(t, err)
	bot2, err := h.CreateBot(e.ctx, BotParams{Name: "two"})
	require.NoError(t, err)

	// Config as a typed struct, as raw JSON, as a string.
	s1, err := h.CreateSource(e.ctx, SourceParams{BotID: bot1.ID, Name: " FAQ ", Type: SourceText, Config: loader.TextConfig{Content: "Hello.", Title: "FAQ"}})
	require.NoError(t, err)
	assert.Equal(t, "FAQ", s1.Name)
	assert.Equal(t, StatusPending, s1.Status)
	assert.Equal(t, b.Tenant.ID, s1.TenantID)
	assert.JSONEq(t, `{"content":"Hello.","title":"FAQ"}`, string(s1.Config))
	s2, err := h.CreateSource(e.ctx, SourceParams{BotID: bot2.ID, Name: "docs", Type: SourceURL, Config: json.RawMessage(`{"url":"https://docs.example/","max_pages":5}`)})
	require.NoError(t, err)
	s3, err := h.CreateSource(e.ctx, SourceParams{BotID: bot1.ID, Name: "files", Type: SourceFile, Config: `{"path":"./docs","include":["*.md"]}`})
	require.NoError(t, err)

	got, err := h.GetSource(e.ctx, s1.ID)
	require.NoError(t, err)
	assert.Equal(t, s1, got)
	all, err := h.ListSources(e.ctx, "")
	require.NoError(t, err)
	assert.Equal(t, []Source{s1, s2, s3}, all)
	of1, err := h.ListSources(e.ctx, bot1.ID)
	require.NoError(t, err)
	assert.Equal(t, []Source{s1, s3}, of1)

	// Partial update: the name only.
	e.clock.Advance(time.Second)
	u, err := h.UpdateSource(e.ctx, s1.ID, SourceUpdate{Name: ptr("FAQ v2")})
	require.NoError(t, err)
	want := s1
	want.Name = "FAQ v2"
	want.UpdatedAt = s1.UpdatedAt.Add(time.Second)
	assert.Equal(t, want, u)
	// Move to another bot, change type with config.
	u, err = h.UpdateSource(e.ctx, s1.ID, SourceUpdate{BotID: &bot2.ID, Type: ptr(SourceURL), Config: loader.URLConfig{URL: "http://example.com"}})
	require.NoError(t, err)
	assert.Equal(t, bot2.ID, u.BotID)
	assert.Equal(t, SourceURL, u.Type)
	assert.JSONEq(t, `{"url":"http://example.com"}`, string(u.Config))
	got, err = h.GetSource(e.ctx, s1.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got)
	// Changing the type alone revalidates the old config against it.
	_, err = h.UpdateSource(e.ctx, s1.ID, SourceUpdate{Type: ptr(SourceText)})
	assert.Equal(t, []string{"config.url"}, fieldsOf(t, err))
	_, err = h.UpdateSource(e.ctx, s1.ID, SourceUpdate{Config: `{"url":"notaurl"}`})
	assert.Equal(t, []string{"config.url"}, fieldsOf(t, err))
	_, err = h.UpdateSource(e.ctx, s1.ID, SourceUpdate{Name: ptr("")})
	assert.Equal(t, []string{"name"}, fieldsOf(t, err))
	got, err = h.GetSource(e.ctx, s1.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got, "failed updates change nothing")

	require.NoError(t, h.DeleteSource(e.ctx, s1.ID))
	_, err = h.GetSource(e.ctx, s1.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, h.DeleteSource(e.ctx, s1.ID), ErrNotFound)
	_, err = h.UpdateSource(e.ctx, s1.ID, SourceUpdate{Name: ptr("x")})
	assert.ErrorIs(t, err, ErrNotFound)
	all, err = h.ListSources(e.ctx, "")
	require.NoError(t, err)
	assert.Equal(t, []Source{s2, s3}, all)
}

func TestSourceValidation(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.c.Tenant(b.Tenant.ID)
	bot, err := h.CreateBot(e.ctx, BotParams{Name: "bot"})
	require.NoError(t, err)
	for _, c := range []struct {
		p    SourceParams
		want []string
	}{
		{SourceParams{}, []string{"name", "type", "bot_id"}},
		{SourceParams{BotID: bot.ID, Name: "x", Type: "ftp", Config: `{}`}, []string{"type"}},
		{SourceParams{BotID: bot.ID, Name: "x", Type: SourceText}, []string{"config"}},
		{SourceParams{BotID: bot.ID, Name: "x", Type: SourceText, Config: `{"content":""}`}, []string{"config.content"}},
		{SourceParams{BotID: bot.ID, Name: "x", Type: SourceText, Config: `{"content":"x","colour":"red"}`}, []string{"config.colour"}},
		{SourceParams{BotID: bot.ID, Name: "x", Type: SourceURL, Config: loader.URLConfig{URL: "file:///etc/passwd"}}, []string{"config.url"}},
		{SourceParams{BotID: bot.ID, Name: "x", Type: SourceFile, Config: loader.FileConfig{}}, []string{"config.path"}},
		{SourceParams{BotID: "nope", Name: "x", Type: SourceText, Config: `{"content":"x"}`}, []string{"bot_id"}},
	} {
		_, err := h.CreateSource(e.ctx, c.p)
		assert.Equal(t, c.want, fieldsOf(t, err), "%+v", c.p)
	}
	list, err := h.ListSources(e.ctx, "")
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestSourceCrossTenantBotAndIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.bootstrap(t, "tenant-a")
	b := e.bootstrap(t, "tenant-b")
	ha := e.scoped(t, a.Token.Plaintext)
	hb := e.scoped(t, b.Token.Plaintext)
	botA, err := ha.CreateBot(e.ctx, BotParams{Name: "A"})
	require.NoError(t, err)
	botB, err := hb.CreateBot(e.ctx, BotParams{Name: "B"})
	require.NoError(t, err)
	text := loader.TextConfig{Content: "x"}

	// B cannot attach a source to A's bot (422 naming bot_id).
	_, err = hb.CreateSource(e.ctx, SourceParams{BotID: botA.ID, Name: "s", Type: SourceText, Config: text})
	assert.Equal(t, []string{"bot_id"}, fieldsOf(t, err))
	assert.Equal(t, 422, HTTPStatus(err))
	// Nor to a deleted bot of its own.
	dead, err := hb.CreateBot(e.ctx, BotParams{Name: "dead"})
	require.NoError(t, err)
	require.NoError(t, hb.DeleteBot(e.ctx, dead.ID))
	_, err = hb.CreateSource(e.ctx, SourceParams{BotID: dead.ID, Name: "s", Type: SourceText, Config: text})
	assert.Equal(t, []string{"bot_id"}, fieldsOf(t, err))

	sa, err := ha.CreateSource(e.ctx, SourceParams{BotID: botA.ID, Name: "A's", Type: SourceText, Config: text})
	require.NoError(t, err)
	sb, err := hb.CreateSource(e.ctx, SourceParams{BotID: botB.ID, Name: "B's", Type: SourceText, Config: text})
	require.NoError(t, err)
	// B cannot move its source to A's bot.
	_, err = hb.UpdateSource(e.ctx, sb.ID, SourceUpdate{BotID: &botA.ID})
	assert.Equal(t, []string{"bot_id"}, fieldsOf(t, err))

	// B never sees nor changes A's source.
	_, err = hb.GetSource(e.ctx, sa.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	list, err := hb.ListSources(e.ctx, "")
	require.NoError(t, err)
	assert.Equal(t, []Source{sb}, list)
	list, err = hb.ListSources(e.ctx, botA.ID)
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = hb.UpdateSource(e.ctx, sa.ID, SourceUpdate{Name: ptr("stolen")})
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, hb.DeleteSource(e.ctx, sa.ID), ErrNotFound)
	got, err := ha.GetSource(e.ctx, sa.ID)
	require.NoError(t, err)
	assert.Equal(t, sa, got)
}
