package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/internal/testsvc"
)

// simpleProtocol adds pgx's simple-protocol setting to a PGlite URL (PGlite
// multiplexes connections onto one backend; see internal/testsvc).
func simpleProtocol(t *testing.T, url string) string {
	t.Helper()
	lite, err := testsvc.IsPGlite(t.Context(), url)
	require.NoError(t, err)
	if !lite {
		return url
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "default_query_exec_mode=simple_protocol"
}

// testConfig is a configuration on the test services: records in a fresh
// schema of the PostgreSQL server, vectors in a fresh schema of the
// pgvector server.
func testConfig(t *testing.T) config {
	t.Helper()
	pgURL, vecURL := testsvc.PostgresURL(t), testsvc.PGVectorURL(t)
	key, err := minirag.GenerateEncryptionKey()
	require.NoError(t, err)
	return config{
		PostgresURL:    pgURL,
		PostgresSchema: testsvc.Schema(t, pgURL),
		MaxConns:       4,
		PGVectorURL:    simpleProtocol(t, vecURL),
		PGVectorSchema: testsvc.Schema(t, vecURL),
		FernetKeys:     []string{key},
		LLMAPIKey:      "sk-llm-secret-in-test",
		Dir:            t.TempDir(),
		Tenant:         "acme",
	}
}

func runOK(t *testing.T, cfg config) string {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), cfg, &out)
	require.NoError(t, err, "output:\n%s", out.String())
	return out.String()
}

func noSecrets(t *testing.T, cfg config, out string) {
	t.Helper()
	for _, s := range append([]string{cfg.LLMAPIKey, cfg.EmbedAPIKey}, cfg.FernetKeys...) {
		if s != "" {
			assert.NotContains(t, out, s)
			assert.NotContains(t, cfg.String(), s)
		}
	}
}

func TestRun(t *testing.T) {
	cfg := testConfig(t)
	out := runOK(t, cfg)
	assert.Contains(t, out, "storage: PostgreSQL at ")
	assert.Contains(t, out, ", schema "+cfg.PostgresSchema+"\n")
	assert.Contains(t, out, "embeddings: hashing-v1-d384, offline")
	assert.Regexp(t, `vectors: pgvector \d+\.\d+\.\d+ at \S+, schema `+cfg.PGVectorSchema+`, table minirag_vec_\S+ \(384 dimensions, HNSW cosine\)`, out)
	assert.Regexp(t, `tenant: "acme" \(\S+\), created with owner owner@acme\.example`, out)
	assert.Contains(t, out, "created with credentials from MINIRAG_LLM_API_KEY (stored Fernet-encrypted: true)")
	assert.Contains(t, out, "ingestion job: done after 1 attempt(s)\n")
	assert.Regexp(t, `source: status ready, 3 documents, [1-9]\d* chunks`, out)
	assert.Regexp(t, `Q: How do I restore a backup\?\n  1\. \S+  Backups  \[backups\.md\]  \(\S+\)`, out)
	assert.Regexp(t, `Q: How do I send alerts to Slack\?\n  1\. \S+  Alerts  \[alerts\.md\]`, out)
	assert.Regexp(t, `Q: How much does the team plan cost per month\?\n  1\. \S+  Pricing  \[pricing\.md\]`, out)
	assert.Contains(t, out, "answers (extractive):")
	assert.Regexp(t, `\[1\] Backups \(backups\.md\)`, out)
	noSecrets(t, cfg, out)
	first := out

	// The documents were copied into the folder, which the source reads.
	for _, name := range []string{"alerts.md", "backups.md", "pricing.md"} {
		assert.FileExists(t, filepath.Join(cfg.Dir, name))
	}

	// Second run: everything is found again; nothing changed.
	out = runOK(t, cfg)
	assert.Regexp(t, `tenant: "acme" \(\S+\), found`, out)
	assert.Regexp(t, `bot: "Support bot" \(\S+\), found`, out)
	assert.Regexp(t, `source: "Lighthouse handbook" \(\S+\), found`, out)
	assert.Contains(t, out, "ingestion job: done after 1 attempt(s)\n")
	assert.Equal(t, sourceLine(first), sourceLine(out), "same documents and chunks")

	// A document edited in the folder: found by its new words.
	require.NoError(t, os.WriteFile(filepath.Join(cfg.Dir, "pricing.md"),
		[]byte("# Pricing\n\nThe team plan now costs 35 dollars per month, billed through the marketplace.\n"), 0o644))
	out = runOK(t, cfg)
	assert.Regexp(t, `Q: How much does the team plan cost per month\?\n  1\. \S+  Pricing  \[pricing\.md\]  \(\S+\)\n     [^\n]*35 dollars`, out)
	assert.NotContains(t, out, "29 dollars")
	noSecrets(t, cfg, out)
}

// sourceLine is the "source: status …" line of an output.
func sourceLine(out string) string {
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(line, "source: status") {
			return line
		}
	}
	return ""
}

// TestRunOpenAIEmbeddings runs the example with an OpenAI-compatible
// embeddings endpoint (an in-process fake).
func TestRunOpenAIEmbeddings(t *testing.T) {
	cfg := testConfig(t)
	api := openaitest.New(t, openaitest.Options{APIKey: "sk-embed-secret-in-test", Dimensions: 64})
	cfg.EmbedBaseURL, cfg.EmbedModel, cfg.EmbedAPIKey = api.URL, "text-embedding-3-small", "sk-embed-secret-in-test"
	out := runOK(t, cfg)
	assert.Contains(t, out, "embeddings: text-embedding-3-small at "+api.URL+" (64 dimensions)")
	assert.Contains(t, out, "(64 dimensions, HNSW cosine)")
	assert.Contains(t, out, "ingestion job: done after 1 attempt(s)\n")
	assert.Regexp(t, `Q: How do I restore a backup\?\n  1\. \S+  Backups`, out)
	assert.Empty(t, api.SecretLeaks("sk-embed-secret-in-test"))
	noSecrets(t, cfg, out)

	// A second run embeds nothing: its only embeddings request is the
	// start-up probe (and the three searches' queries).
	embeds := func() int {
		n := 0
		for _, r := range api.Requests() {
			if r.Path == "/v1/embeddings" {
				n++
			}
		}
		return n
	}
	before := embeds()
	require.Greater(t, before, 1+len(questions)*2, "the first run embedded the documents")
	out = runOK(t, cfg)
	assert.Regexp(t, `source: "Lighthouse handbook" \(\S+\), found`, out)
	assert.Equal(t, 1+len(questions)*2, embeds()-before, "probe + a query embedding per search and per answer, no document")
}

func TestRunErrors(t *testing.T) {
	key, err := minirag.GenerateEncryptionKey()
	require.NoError(t, err)
	base := config{PostgresURL: "postgres://u:pg-secret-pw@127.0.0.1:1/db?connect_timeout=2", FernetKeys: []string{key}, Dir: t.TempDir()}
	for name, tc := range map[string]struct {
		mod  func(c *config)
		want string
	}{
		"no fernet key":  {func(c *config) { c.FernetKeys = nil }, "MINIRAG_FERNET_KEY is not set"},
		"bad fernet key": {func(c *config) { c.FernetKeys = []string{key, "not-a-key"} }, "MINIRAG_FERNET_KEY: key 2: "},
		"no url":         {func(c *config) { c.PostgresURL = "" }, "MINIRAG_POSTGRES_URL is not set"},
		"bad url":        {func(c *config) { c.PostgresURL = "postgres://u:pg-secret-pw@[::1/db" }, "MINIRAG_POSTGRES_URL cannot be parsed"},
		"unreachable":    {func(c *config) {}, "PostgreSQL at 127.0.0.1:1/db is unreachable"},
	} {
		t.Run(name, func(t *testing.T) {
			c := base
			tc.mod(&c)
			err := run(context.Background(), c, &bytes.Buffer{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "pg-secret-pw")
			assert.NotContains(t, err.Error(), "not-a-key")
			assert.NotContains(t, err.Error(), key)
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := configFromEnv(env(map[string]string{
		"MINIRAG_POSTGRES_URL": "postgres://u:hunter22@db.internal:5433/rag", "MINIRAG_FERNET_KEY": " k1 , k2 ",
		"MINIRAG_POSTGRES_MAX_CONNS": "12", "MINIRAG_EMBED_DIMENSIONS": "256", "MINIRAG_EMBED_API_KEY": "sk-hidden",
		"MINIRAG_LLM_API_KEY": "sk-llm-hidden",
	}))
	require.NoError(t, err)
	assert.Equal(t, c.PostgresURL, c.PGVectorURL, "pgvector defaults to the same database")
	assert.Equal(t, []string{"k1", "k2"}, c.FernetKeys)
	assert.Equal(t, int32(12), c.MaxConns)
	assert.Equal(t, 256, c.EmbedDimensions)
	for _, s := range []string{c.String(), c.GoString()} {
		assert.Contains(t, s, "postgres=db.internal:5433/rag")
		for _, secret := range []string{"hunter22", "sk-hidden", "sk-llm-hidden", "k1", "k2"} {
			assert.NotContains(t, s, secret)
		}
	}

	c, err = configFromEnv(env(map[string]string{"MINIRAG_POSTGRES_URL": "postgres://a/b", "MINIRAG_PGVECTOR_URL": "postgres://c/d"}))
	require.NoError(t, err)
	assert.Equal(t, "postgres://c/d", c.PGVectorURL)

	for name, m := range map[string]map[string]string{
		"MINIRAG_POSTGRES_MAX_CONNS": {"MINIRAG_POSTGRES_MAX_CONNS": "0"},
		"MINIRAG_EMBED_DIMENSIONS":   {"MINIRAG_EMBED_DIMENSIONS": "many"},
	} {
		_, err := configFromEnv(env(m))
		assert.ErrorContains(t, err, name)
	}
}

func TestSnippet(t *testing.T) {
	assert.Equal(t, "a b c", snippet("a\n b   c", 20))
	assert.Equal(t, "alpha…", snippet("alpha beta gamma", 5))
}
