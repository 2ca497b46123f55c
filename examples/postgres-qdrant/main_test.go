package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/internal/qdrantfake"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore/qdrant"
)

const (
	testAPIKey    = "sk-test-9f2c41"
	testQdrantKey = "qk-test-77ab03"
)

// testDocs is the directory the tests ingest.
var testDocs = map[string]string{
	"backup.md":  "# Backups\n\nNightly backups go to the cold-storage bucket. To restore a backup, run `orbit restore` with the snapshot date.\n",
	"alerts.md":  "# Alerts\n\nAlerts are sent to Slack through a webhook; configure the channel in the alerting settings.\n",
	"billing.md": "# Billing\n\nThe team plan costs twelve euros per seat and month; invoices are sent on the first day of the month.\n",
}

type testEnv struct {
	cfg    config
	qdrant *qdrantfake.Server
	api    *openaitest.Server
	dir    string
}

// newTestEnv is the stack of the example on in-process fakes: Qdrant
// (with an API key) and an OpenAI-compatible server for embeddings and
// chat; Storage is SQLite in a file, so that a second run finds what the
// first created, unless the test sets PostgreSQL.
func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	e := &testEnv{
		qdrant: qdrantfake.Start(t, qdrantfake.Options{APIKey: testQdrantKey}),
		api:    openaitest.New(t, openaitest.Options{APIKey: testAPIKey, Dimensions: 64}),
		dir:    t.TempDir(),
	}
	writeDocs(t, e.dir, testDocs)
	key, err := minirag.GenerateEncryptionKey()
	require.NoError(t, err)
	dbPath := filepath.Join(t.TempDir(), "minirag.db")
	e.cfg = config{
		QdrantAddr:      e.qdrant.Addr(),
		QdrantAPIKey:    testQdrantKey,
		FernetKeys:      []string{key},
		EmbedBaseURL:    e.api.URL,
		EmbedModel:      "text-embedding-3-small",
		EmbedAPIKey:     testAPIKey,
		ChatBaseURL:     e.api.URL,
		ChatModel:       "gpt-4o-mini",
		ChatAPIKey:      testAPIKey,
		Dir:             e.dir,
		Tenant:          "acme",
		Queries:         []string{"how do I restore a backup?", "how much is the team plan?"},
		Workers:         2,
		ConnectTimeout:  10 * time.Second,
		embedMaxRetries: -1,
		chatMaxRetries:  -1,
		// Long enough that the Drain which ran the failed attempt finds
		// nothing to claim even on a loaded machine (the example then
		// reports the failure and waits), short enough for a quick test.
		retryBackoff: func(int) time.Duration { return 500 * time.Millisecond },
		openStorage: func(ctx context.Context) (storage.Storage, string, error) {
			st, err := sqlite.Open(ctx, dbPath)
			return st, "SQLite at " + dbPath, err
		},
	}
	return e
}

func writeDocs(t *testing.T, dir string, docs map[string]string) {
	t.Helper()
	for name, body := range docs {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
}

func (e *testEnv) run(t *testing.T) string {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), e.cfg, &out)
	require.NoError(t, err, "output:\n%s", out.String())
	return out.String()
}

// noSecrets checks that no key appears in the output or anywhere the fake
// servers saw other than the Authorization header.
func (e *testEnv) noSecrets(t *testing.T, out string) {
	t.Helper()
	for _, s := range []string{testAPIKey, testQdrantKey, e.cfg.FernetKeys[0]} {
		assert.NotContains(t, out, s)
		assert.NotContains(t, e.cfg.String(), s)
	}
	assert.Empty(t, e.api.SecretLeaks(testAPIKey))
}

func TestRunFullStackOnFakes(t *testing.T) {
	e := newTestEnv(t)

	out := e.run(t)
	assert.Contains(t, out, `tenant: "acme"`)
	assert.Contains(t, out, "created with owner owner@acme.example")
	assert.Contains(t, out, "embeddings: text-embedding-3-small at "+e.api.URL+" (64 dimensions)")
	collections := e.qdrant.CollectionNames()
	require.Len(t, collections, 1)
	assert.Contains(t, collections[0], "text-embedding-3-small")
	assert.Contains(t, out, "vectors: Qdrant at "+e.qdrant.Addr()+", collection "+collections[0]+" (64 dimensions, cosine)")
	assert.Contains(t, out, "bot: \"Docs bot\"")
	assert.Contains(t, out, "credentials stored: true")
	assert.Contains(t, out, "ingestion: 3 documents (0 unchanged, 0 failed)")
	assert.Contains(t, out, "source: status ready, 3 documents")
	assert.Regexp(t, `Q: how do I restore a backup\?\n  1\. \S+  Backups  \[backup\.md\]`, out)
	assert.Regexp(t, `Q: how much is the team plan\?\n  1\. \S+  Billing  \[billing\.md\]`, out)
	assert.Contains(t, out, "answers (model gpt-4o-mini at "+e.api.URL+")")
	assert.Contains(t, out, "A: echo:") // the fake chat model echoes the prompt, passages and question
	assert.Regexp(t, `\[1\] Backups \(backup\.md\)`, out)
	assert.NotContains(t, out, "warning:")
	e.noSecrets(t, out)

	// The vectors are in Qdrant, in the tenant's name.
	pts, ok := e.qdrant.Points(collections[0])
	require.True(t, ok)
	require.NotEmpty(t, pts)
	tenant := pts[0].Payload[qdrant.FieldTenant].GetStringValue()
	require.NotEmpty(t, tenant)
	for _, p := range pts {
		assert.Equal(t, tenant, p.Payload[qdrant.FieldTenant].GetStringValue())
	}
	// The chat requests went with the bot's decrypted key, and every
	// embedding request with the embedding key.
	var chats, embeds int
	for _, r := range e.api.Requests() {
		assert.Equal(t, "Bearer "+testAPIKey, r.Header.Get("Authorization"), r.Path)
		switch r.Path {
		case "/v1/chat/completions":
			chats++
		case "/v1/embeddings":
			embeds++
		}
	}
	assert.Equal(t, 2, chats)
	assert.Positive(t, embeds)

	// Second run, one document changed: everything is found again and
	// only that document is embedded.
	writeDocs(t, e.dir, map[string]string{"alerts.md": "# Alerts\n\nAlerts now go to Microsoft Teams as well as Slack.\n"})
	e.cfg.ChatBaseURL = "" // search only
	out = e.run(t)
	assert.Contains(t, out, `tenant: "acme"`)
	assert.Regexp(t, `tenant: "acme" \(\S+\), found`, out)
	assert.Contains(t, out, "bot: \"Docs bot\"")
	assert.Regexp(t, `source: "files in [^"]+" \(\S+\), found: 3 documents`, out)
	assert.Contains(t, out, "ingestion: 3 documents (2 unchanged, 0 failed), 1 chunks embedded")
	assert.Contains(t, out, "answers: set MINIRAG_CHAT_BASE_URL")
	e.noSecrets(t, out)
	pts2, _ := e.qdrant.Points(collections[0])
	assert.Len(t, pts2, len(pts))
}

func TestRunHashingFallback(t *testing.T) {
	e := newTestEnv(t)
	e.cfg.EmbedBaseURL, e.cfg.ChatBaseURL = "", ""
	out := e.run(t)
	assert.Contains(t, out, "embeddings: hashing-v1-d384, offline (MINIRAG_EMBED_BASE_URL is not set")
	assert.Contains(t, out, "collection minirag_hashing-v1-d384 (384 dimensions, cosine)")
	assert.Regexp(t, `Q: how do I restore a backup\?\n  1\. \S+  Backups`, out)
	assert.Empty(t, e.api.Requests(), "nothing sent to the OpenAI-compatible server")

	// Switching to a real embedding model starts an empty collection, and
	// the SDK embeds the unchanged documents again into it (each document
	// records the model its chunks were embedded by): no -reindex needed.
	e.cfg.EmbedBaseURL = e.api.URL
	out = e.run(t)
	assert.Contains(t, out, "collection minirag_openai_text-embedding-3-small")
	assert.Contains(t, out, "ingestion: 3 documents (0 unchanged, 0 failed), 3 chunks embedded")
	assert.NotContains(t, out, "warning:")
	assert.Regexp(t, `Q: how do I restore a backup\?\n  1\. \S+  Backups`, out)
	var embeds int
	for _, r := range e.api.Requests() {
		if r.Path == "/v1/embeddings" {
			embeds++
		}
	}
	assert.Greater(t, embeds, 1, "the start-up check and the ingestion's embeddings")
	collection := ""
	for _, name := range e.qdrant.CollectionNames() {
		if strings.Contains(name, "text-embedding-3-small") {
			collection = name
		}
	}
	require.NotEmpty(t, collection)
	pts, ok := e.qdrant.Points(collection)
	require.True(t, ok)
	assert.Len(t, pts, 3, "one chunk per document, in the new model's collection")

	// Same model again: nothing to embed.
	out = e.run(t)
	assert.Contains(t, out, "ingestion: 3 documents (3 unchanged, 0 failed), 0 chunks embedded")
	assert.NotContains(t, out, "warning:")

	// The collection dropped behind the SDK's back: Storage still says the
	// documents are embedded by this model, but ingestion finds their
	// chunks without vectors, does not trust their hashes and embeds them
	// again: a plain run heals the index.
	require.NoError(t, e.qdrant.Client(t).DeleteCollection(t.Context(), collection))
	out = e.run(t)
	assert.Contains(t, out, "ingestion: 3 documents (0 unchanged, 0 failed), 3 chunks embedded")
	assert.NotContains(t, out, "warning:")
	e.cfg.Reindex = true
	out = e.run(t)
	assert.Contains(t, out, "ingestion: 3 documents (0 unchanged, 0 failed), 3 chunks embedded")
	assert.NotContains(t, out, "warning:")
	assert.Regexp(t, `Q: how do I restore a backup\?\n  1\. \S+  Backups`, out)
}

func TestRunPostgres(t *testing.T) {
	url := testsvc.PostgresURL(t)
	e := newTestEnv(t)
	e.cfg.openStorage = nil
	e.cfg.PostgresURL = url
	e.cfg.PostgresSchema = testsvc.Schema(t, url)
	out := e.run(t)
	assert.Contains(t, out, "storage: PostgreSQL at ")
	assert.Contains(t, out, ", schema "+e.cfg.PostgresSchema)
	assert.Contains(t, out, "ingestion: 3 documents (0 unchanged, 0 failed)")
	assert.Regexp(t, `Q: how do I restore a backup\?\n  1\. \S+  Backups`, out)
	assert.Contains(t, out, "A: echo:")
	e.noSecrets(t, out)

	out = e.run(t)
	assert.Regexp(t, `tenant: "acme" \(\S+\), found`, out)
	assert.Contains(t, out, "(3 unchanged, 0 failed), 0 chunks embedded")
}

// failingEmbeddings puts a proxy in front of the OpenAI-compatible server
// that answers 503 to the embedding requests for which fail returns true
// (n counts embedding requests from 1), and returns its URL.
func failingEmbeddings(t *testing.T, api *openaitest.Server, fail func(n int64) bool) string {
	t.Helper()
	target, err := url.Parse(api.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/embeddings") && fail(n.Add(1)) {
			http.Error(w, `{"error":{"message":"overloaded","type":"server_error"}}`, http.StatusServiceUnavailable)
			return
		}
		r.URL.Path = strings.TrimPrefix(r.URL.Path, "/v1")
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func TestRunRetriesIngestion(t *testing.T) {
	e := newTestEnv(t)
	e.cfg.ChatBaseURL = ""
	// Request 1 is the start-up check; request 2, the ingestion's first
	// attempt, fails; the second attempt succeeds.
	e.cfg.EmbedBaseURL = failingEmbeddings(t, e.api, func(n int64) bool { return n == 2 })
	out := e.run(t)
	assert.Contains(t, out, "ingestion: attempt 1 failed (")
	// The job's error is what a tenant may read: the kind of failure; the
	// cause (a 503) is in the host's log.
	assert.Contains(t, out, "embedding failed")
	assert.Contains(t, out, "source: status ready, 3 documents")
	assert.Regexp(t, `Q: how do I restore a backup\?\n  1\. \S+  Backups`, out)
}

func TestRunIngestionFailsForGood(t *testing.T) {
	e := newTestEnv(t)
	e.cfg.ChatBaseURL = ""
	e.cfg.EmbedBaseURL = failingEmbeddings(t, e.api, func(n int64) bool { return n > 1 })
	var out bytes.Buffer
	err := run(context.Background(), e.cfg, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed after 3 attempt(s)")
	assert.Equal(t, 2, strings.Count(out.String(), "retrying in"))
}

func TestRunBadDocument(t *testing.T) {
	e := newTestEnv(t)
	e.cfg.ChatBaseURL = ""
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, "empty.md"), []byte("  \n\n"), 0o644))
	out := e.run(t)
	// An empty document is skipped, not failed: the job succeeds and the
	// other documents are searchable.
	assert.NotContains(t, out, "job failed")
	assert.Contains(t, out, "3 documents")
	assert.Regexp(t, `Q: how do I restore a backup\?\n  1\. \S+  Backups`, out)
}

func TestRunErrors(t *testing.T) {
	closedPort := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		return addr
	}

	t.Run("no fernet key", func(t *testing.T) {
		e := newTestEnv(t)
		e.cfg.FernetKeys = nil
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		require.ErrorIs(t, err, errNoFernetKey)
		assert.Contains(t, err.Error(), "-genkey")
		assert.Contains(t, err.Error(), "minirag.GenerateEncryptionKey")
	})
	t.Run("bad fernet key", func(t *testing.T) {
		e := newTestEnv(t)
		e.cfg.FernetKeys = append(e.cfg.FernetKeys, "not-a-key")
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		require.ErrorContains(t, err, "MINIRAG_FERNET_KEY: key 2 is not a Fernet key")
		assert.NotContains(t, err.Error(), "not-a-key")
		assert.Empty(t, e.api.Requests(), "nothing reached before the keys are checked")
	})
	t.Run("qdrant unreachable", func(t *testing.T) {
		e := newTestEnv(t)
		addr := closedPort(t)
		e.cfg.QdrantAddr = addr
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		require.ErrorIs(t, err, qdrant.ErrUnavailable)
		assert.Contains(t, err.Error(), "Qdrant at "+addr+" is unreachable")
		assert.NotContains(t, err.Error(), testQdrantKey)
	})
	t.Run("qdrant wrong key", func(t *testing.T) {
		e := newTestEnv(t)
		e.cfg.QdrantAPIKey = "qk-wrong"
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		require.ErrorIs(t, err, qdrant.ErrAccessDenied)
		assert.Contains(t, err.Error(), "Qdrant at "+e.qdrant.Addr())
		assert.NotContains(t, err.Error(), "qk-wrong")
	})
	t.Run("bad qdrant address", func(t *testing.T) {
		e := newTestEnv(t)
		e.cfg.QdrantAddr = "localhost"
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		assert.ErrorContains(t, err, "MINIRAG_QDRANT_ADDR must be host:port")
	})
	t.Run("postgres unset", func(t *testing.T) {
		e := newTestEnv(t)
		e.cfg.openStorage = nil
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		assert.ErrorContains(t, err, "MINIRAG_POSTGRES_URL is not set")
	})
	t.Run("postgres unreachable", func(t *testing.T) {
		e := newTestEnv(t)
		e.cfg.openStorage = nil
		addr := closedPort(t)
		e.cfg.PostgresURL = "postgres://minirag:pg-secret-pw@" + addr + "/minirag"
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "PostgreSQL at "+addr+"/minirag is unreachable")
		assert.NotContains(t, err.Error(), "pg-secret-pw")
		assert.NotContains(t, e.cfg.String(), "pg-secret-pw")
		assert.Contains(t, e.cfg.String(), "postgres="+addr+"/minirag")
	})
	t.Run("embedding endpoint unreachable", func(t *testing.T) {
		e := newTestEnv(t)
		url := "http://" + closedPort(t) + "/v1"
		e.cfg.EmbedBaseURL = url
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "embedding endpoint "+url+" (model text-embedding-3-small)")
		assert.NotContains(t, err.Error(), testAPIKey)
	})
	t.Run("embedding key rejected", func(t *testing.T) {
		e := newTestEnv(t)
		e.cfg.EmbedAPIKey = "sk-wrong"
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "embedding endpoint "+e.api.URL)
		assert.Contains(t, err.Error(), "401")
		assert.NotContains(t, err.Error(), "sk-wrong")
	})
	t.Run("embedding model missing", func(t *testing.T) {
		e := newTestEnv(t)
		e.cfg.EmbedModel = ""
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		assert.ErrorContains(t, err, "MINIRAG_EMBED_MODEL is required")
	})
	t.Run("chat endpoint unreachable", func(t *testing.T) {
		e := newTestEnv(t)
		url := "http://" + closedPort(t) + "/v1"
		e.cfg.ChatBaseURL = url
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		require.ErrorIs(t, err, minirag.ErrModelCall)
		assert.Contains(t, err.Error(), "chat endpoint "+url)
	})
	t.Run("directory missing", func(t *testing.T) {
		e := newTestEnv(t)
		e.cfg.Dir = filepath.Join(e.dir, "nope")
		err := run(context.Background(), e.cfg, &bytes.Buffer{})
		assert.ErrorContains(t, err, "nope")
	})
}

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	c, err := configFromEnv(env(map[string]string{"MINIRAG_FERNET_KEY": " k1 , k2 ", "MINIRAG_EMBED_DIMENSIONS": "256", "MINIRAG_QDRANT_TLS": "1"}))
	require.NoError(t, err)
	assert.Equal(t, []string{"k1", "k2"}, c.FernetKeys)
	assert.Equal(t, 256, c.EmbedDimensions)
	assert.True(t, c.QdrantTLS)
	assert.Equal(t, defaultQdrantAddr, c.QdrantAddr)
	assert.Equal(t, defaultChatModel, c.ChatModel)

	for name, m := range map[string]map[string]string{
		"MINIRAG_EMBED_DIMENSIONS": {"MINIRAG_EMBED_DIMENSIONS": "many"},
		"MINIRAG_QDRANT_TLS":       {"MINIRAG_QDRANT_TLS": "yes please"},
	} {
		_, err := configFromEnv(env(m))
		assert.ErrorContains(t, err, name)
	}

	c, err = configFromEnv(env(map[string]string{
		"MINIRAG_POSTGRES_URL": "postgres://u:hunter22@db.internal:5433/rag", "MINIRAG_QDRANT_API_KEY": "qk-hidden",
		"MINIRAG_EMBED_API_KEY": "sk-hidden", "MINIRAG_CHAT_API_KEY": "sk-chat-hidden", "MINIRAG_FERNET_KEY": "fk-hidden",
	}))
	require.NoError(t, err)
	for _, s := range []string{c.String(), c.GoString()} {
		assert.Contains(t, s, "postgres=db.internal:5433/rag")
		for _, secret := range []string{"hunter22", "qk-hidden", "sk-hidden", "sk-chat-hidden", "fk-hidden"} {
			assert.NotContains(t, s, secret)
		}
	}
}

func TestQdrantKeyWithoutTLSWarns(t *testing.T) {
	e := newTestEnv(t)
	e.cfg.ChatBaseURL = ""
	out := e.run(t)
	assert.NotContains(t, out, "without TLS", "loopback: no warning")
	assert.True(t, isLoopback("localhost"))
	assert.True(t, isLoopback("::1"))
	assert.False(t, isLoopback("qdrant.internal"))
	assert.False(t, isLoopback("10.0.0.7"))
}

func TestSnippet(t *testing.T) {
	assert.Equal(t, "a b c", snippet("a\n b   c", 20))
	assert.Equal(t, "alpha…", snippet("alpha beta gamma", 8))
	s := snippet(strings.Repeat("é", 10), 5) // no space: cut inside the word, on a rune boundary
	assert.Equal(t, "éé…", s)
	assert.True(t, utf8.ValidString(s))
}
