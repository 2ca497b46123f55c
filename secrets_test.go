package minirag

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSecretsNeverLeak runs a whole flow with debug logs captured, and
// prints, logs and JSON-encodes every value that holds a secret, checking
// that no secret appears anywhere but where it must be handed over once.
func TestSecretsNeverLeak(t *testing.T) {
	e := newEnv(t)
	const apiKey = "sk-SECRET-provider-key-0001"
	const headerVal = "hdr-SECRET-value-0002"
	b := e.bootstrap(t, "acme")
	h := e.scoped(t, b.Token.Plaintext)
	creds := &Credentials{APIKey: apiKey, Headers: map[string]string{"X-Secret": headerVal}}
	bot, err := h.CreateBot(e.ctx, BotParams{Name: "bot", Credentials: creds})
	require.NoError(t, err)
	tok, err := h.CreateAPIToken(e.ctx, CreateAPITokenParams{Name: "widget", Scopes: []Scope{ScopeQuery}, BotIDs: []string{bot.ID}})
	require.NoError(t, err)
	sess, err := e.c.IssueSession(e.ctx, b.Tenant.ID, b.Owner.ID)
	require.NoError(t, err)
	_, err = h.UpdateBot(e.ctx, bot.ID, BotUpdate{Credentials: creds})
	require.NoError(t, err)
	_, err = e.c.RotateCredentials(e.ctx)
	require.NoError(t, err)

	secrets := map[string]string{
		"owner token":      b.Token.Plaintext,
		"owner token body": b.Token.Plaintext[len(APITokenPrefix):],
		"query token":      tok.Plaintext,
		"query token body": tok.Plaintext[len(APITokenPrefix):],
		"session":          sess.Token,
		"session sig":      sess.Token[strings.LastIndexByte(sess.Token, '.')+1:],
		"api key":          apiKey,
		"header value":     headerVal,
		"encryption key":   e.keys[0],
		"jwt secret":       string(testJWTSecret),
	}

	// Errors of failed calls that were given secrets.
	var errs []error
	for _, bad := range []string{b.Token.Plaintext + "x", changeLast(tok.Plaintext), sess.Token + "x", "Bearer " + sess.Token} {
		_, err := e.c.Authenticate(e.ctx, bad)
		require.Error(t, err)
		errs = append(errs, err)
	}
	require.NoError(t, e.c.Tenant(b.Tenant.ID).RevokeAPIToken(e.ctx, tok.Token.ID))
	_, err = e.c.Authenticate(e.ctx, tok.Plaintext)
	errs = append(errs, err)
	_, err = h.CreateBot(e.ctx, BotParams{Name: "x", Credentials: &Credentials{APIKey: apiKey + "\n", Headers: map[string]string{"X-Secret": headerVal + "\r\n"}}})
	errs = append(errs, err)
	_, err = New(Config{Storage: e.c.store, EncryptionKeys: []string{e.keys[0] + "x"}})
	errs = append(errs, err)
	_, err = New(Config{Storage: e.c.store, JWT: JWTConfig{Secret: testJWTSecret, Algorithm: "RS256"}})
	errs = append(errs, err)
	for _, err := range errs {
		require.Error(t, err)
		for name, s := range secrets {
			assert.NotContains(t, err.Error(), s, "error %q holds the %s", err, name)
		}
	}

	// Printing and encoding values that hold secrets.
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	cfg := Config{Storage: e.c.store, EncryptionKeys: e.keys, JWT: JWTConfig{Secret: testJWTSecret}}
	edCfg := JWTConfig{Algorithm: JWTEdDSA, Ed25519PrivateKey: edPriv}
	secrets["ed25519 key"] = string(edPriv)
	values := map[string]any{
		"Config":        cfg,
		"*Config":       &cfg,
		"JWTConfig":     cfg.JWT,
		"Ed JWTConfig":  edCfg,
		"Credentials":   *creds,
		"*Credentials":  creds,
		"BotParams":     BotParams{Name: "x", Credentials: creds},
		"BotUpdate":     BotUpdate{Credentials: creds},
		"NewAPIToken":   tok,
		"Bootstrap":     b,
		"Session":       sess,
		"Principal":     h.Principal(),
		"APIToken":      tok.Token,
		"Bot":           bot,
		"[]Credentials": []Credentials{*creds},
	}
	for name, v := range values {
		var outs []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			outs = append(outs, fmt.Sprintf(verb, v))
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("value", "v", v)
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("value", "v", v)
		outs = append(outs, buf.String())
		j, err := json.Marshal(v)
		require.NoError(t, err, name)
		outs = append(outs, string(j))
		for _, out := range outs {
			for sname, s := range secrets {
				assert.NotContains(t, out, s, "%s printed %q holds the %s", name, out, sname)
			}
		}
	}
	// Redaction keeps what is useful.
	assert.Contains(t, fmt.Sprint(creds), "X-Secret")
	assert.Contains(t, fmt.Sprint(tok), tok.Token.ID)
	j, err := json.Marshal(tok)
	require.NoError(t, err)
	assert.Contains(t, string(j), `"plaintext":"[REDACTED]"`)
	assert.Contains(t, string(j), `"prefix":"`+tok.Token.Prefix+`"`)
	j, err = json.Marshal(creds)
	require.NoError(t, err)
	assert.JSONEq(t, `{"api_key":"[REDACTED]","headers":{"X-Secret":"[REDACTED]"}}`, string(j))
	// Credentials decode normally (a host reads them from a request).
	var in Credentials
	require.NoError(t, json.Unmarshal([]byte(`{"api_key":"k","headers":{"A":"b"}}`), &in))
	assert.Equal(t, Credentials{APIKey: "k", Headers: map[string]string{"A": "b"}}, in)

	// The Client's own logs, at debug level, through the whole flow.
	logs := e.logs.String()
	require.Contains(t, logs, "authentication failed", "debug logs were captured")
	require.Contains(t, logs, "bot created")
	for sname, s := range secrets {
		assert.NotContains(t, logs, s, "the logs hold the %s", sname)
	}
}

// changeLast returns s with its last byte replaced by another one ("A",
// or "B" when s already ends in "A"): a token of the right shape that is
// never the real one.
func changeLast(s string) string {
	if strings.HasSuffix(s, "A") {
		return s[:len(s)-1] + "B"
	}
	return s[:len(s)-1] + "A"
}

func TestChangeLast(t *testing.T) {
	for _, s := range []string{"mrg_abcA", "mrg_abcB", "mrg_abcz"} {
		got := changeLast(s)
		assert.NotEqual(t, s, got)
		assert.Equal(t, s[:len(s)-1], got[:len(got)-1])
	}
}
