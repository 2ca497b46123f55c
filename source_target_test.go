package minirag

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/loader"
)

// wantField asserts err is ErrInvalidInput whose first field is field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	require.ErrorIs(t, err, ErrInvalidInput)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, field, ve.Fields[0].Field, err.Error())
}

// TestSourceTargetCheckedAtCreateAndUpdate: a file source outside the
// host's file root and a url source on a private or metadata address are
// refused when created or updated (they used to be accepted and fail
// only at ingestion), naming config.path or config.url, and an update so
// refused changes nothing.
func TestSourceTargetCheckedAtCreateAndUpdate(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"docs/a.md": "# A\n\nAlpha text.\n"})
	e := newIngestEnv(t, func(c *Config) { c.Loader = loader.Options{FileRoots: []string{root}} })
	h, bot := e.tenantWithBot(t, "acme")

	for _, p := range []string{"/etc/passwd", "../../etc", "..", filepath.Join(filepath.Dir(root), "elsewhere")} {
		_, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "f", Type: SourceFile, Config: loader.FileConfig{Path: p}})
		wantField(t, err, "config.path")
	}
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/", // cloud metadata
		"http://127.0.0.1:8080/admin",
		"http://[::1]/",
		"http://10.1.2.3/",
		"http://[::ffff:169.254.169.254]/",
		"http://localhost:9/", // a name resolving to loopback
	} {
		_, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "u", Type: SourceURL, Config: loader.URLConfig{URL: u}})
		wantField(t, err, "config.url")
	}
	// Errors of several fields come together.
	_, err := h.CreateSource(e.ctx, SourceParams{BotID: "", Name: "u", Type: SourceURL, Config: loader.URLConfig{URL: "http://169.254.169.254/"}})
	require.ErrorIs(t, err, ErrInvalidInput)
	assert.Contains(t, err.Error(), "bot_id")
	assert.Contains(t, err.Error(), "config.url")

	ss, err := h.ListSources(e.ctx, "")
	require.NoError(t, err)
	assert.Empty(t, ss, "nothing refused was stored")

	// A relative path names a folder under the file root, not under the
	// process's working directory; it ingests.
	good, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "docs", Type: SourceFile, Config: loader.FileConfig{Path: "docs"}})
	require.NoError(t, err)
	res, err := h.Ingest(e.ctx, good.ID, IngestOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Documents)
	// A public address literal is accepted (checked again at the dial).
	web, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "web", Type: SourceURL, Config: loader.URLConfig{URL: "http://93.184.216.34/"}})
	require.NoError(t, err)

	// Updates are checked the same way and change nothing when refused.
	_, err = h.UpdateSource(e.ctx, good.ID, SourceUpdate{Config: loader.FileConfig{Path: "/etc"}})
	wantField(t, err, "config.path")
	_, err = h.UpdateSource(e.ctx, web.ID, SourceUpdate{Config: loader.URLConfig{URL: "http://169.254.169.254/"}})
	wantField(t, err, "config.url")
	_, err = h.UpdateSource(e.ctx, web.ID, SourceUpdate{Config: json.RawMessage(`{"url":"http://localhost/"}`)})
	wantField(t, err, "config.url")
	typ := SourceFile
	_, err = h.UpdateSource(e.ctx, web.ID, SourceUpdate{Type: &typ, Config: loader.FileConfig{Path: "../.."}})
	wantField(t, err, "config.path")
	got, err := h.GetSource(e.ctx, good.ID)
	require.NoError(t, err)
	assert.JSONEq(t, `{"path":"docs"}`, string(got.Config))
	got, err = h.GetSource(e.ctx, web.ID)
	require.NoError(t, err)
	assert.Equal(t, SourceURL, got.Type)
	assert.JSONEq(t, `{"url":"http://93.184.216.34/"}`, string(got.Config))
	_, err = h.UpdateSource(e.ctx, good.ID, SourceUpdate{Config: loader.FileConfig{Path: filepath.Join(root, "docs", "a.md")}})
	require.NoError(t, err)
}

// TestSourceTargetPrivateNetworksAllowed: a host that allows private
// networks (tests, a local intranet) may create url sources on them; a
// host without file roots reads any path (the loader's documented zero
// value).
func TestSourceTargetPrivateNetworksAllowed(t *testing.T) {
	e := newIngestEnv(t) // AllowPrivateNetworks, no FileRoots
	h, bot := e.tenantWithBot(t, "acme")
	_, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "u", Type: SourceURL, Config: loader.URLConfig{URL: "http://127.0.0.1:1/"}})
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	_, err = h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "f", Type: SourceFile, Config: loader.FileConfig{Path: wd}})
	require.NoError(t, err)
}

// TestTrailingJSONSourceConfig: a source config holding a second JSON
// value is refused naming config (the second one used to be dropped).
func TestTrailingJSONSourceConfig(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	_, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "t", Type: SourceText, Config: json.RawMessage(`{"content":"x"} {"content":"y"}`)})
	wantField(t, err, "config")
	s, err := h.CreateSource(e.ctx, SourceParams{BotID: bot.ID, Name: "t", Type: SourceText, Config: json.RawMessage(`{"content":"x"}`)})
	require.NoError(t, err)
	_, err = h.UpdateSource(e.ctx, s.ID, SourceUpdate{Config: `{"content":"x"}{}`})
	wantField(t, err, "config")
}
