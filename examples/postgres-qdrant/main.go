// Command postgres-qdrant runs MiniRAG on the production stack of the
// platform it comes from: PostgreSQL for records, text and the job queue
// (storage/postgres), Qdrant for vectors (vectorstore/qdrant, gRPC), and an
// OpenAI-compatible endpoint, such as a LiteLLM proxy, for embeddings and
// chat (embed/openai, llm/openai).
//
// It bootstraps a tenant (or finds it again by slug), a bot and a file
// source over a directory, queues an ingestion of the source and runs a
// Worker until the queue is drained, then searches, and, when a chat
// endpoint is configured, asks the bot with citations. A second run finds
// the tenant, bot and source again and embeds only what changed in the
// directory.
//
//	go run ./examples/postgres-qdrant -dir ./docs -q "how do I restore a backup?"
//	go run ./examples/postgres-qdrant -genkey     # print a new Fernet key
//
// Configuration (environment):
//
//	MINIRAG_POSTGRES_URL         PostgreSQL URL (required), e.g. postgres://minirag:secret@127.0.0.1:5432/minirag
//	MINIRAG_POSTGRES_SCHEMA      schema of the tables (default: the URL's search_path, usually public)
//	MINIRAG_QDRANT_ADDR          host:port of Qdrant's gRPC API (default 127.0.0.1:6334)
//	MINIRAG_QDRANT_API_KEY       Qdrant API key (optional)
//	MINIRAG_QDRANT_TLS           1 to use TLS (do, when an API key crosses a network)
//	MINIRAG_QDRANT_PREFIX        collection name prefix (default minirag_)
//	MINIRAG_QDRANT_METADATA_FIELDS  metadata fields filters use, indexed ("lang:keyword,year:number")
//	MINIRAG_FERNET_KEY           Fernet key encrypting bot credentials (required; several,
//	                             comma-separated, while rotating: the first encrypts)
//	MINIRAG_EMBED_BASE_URL       OpenAI-compatible embeddings endpoint, e.g. http://127.0.0.1:4000/v1;
//	                             unset: the offline hashing embedder (lexical, not semantic)
//	MINIRAG_EMBED_MODEL          embedding model (required with MINIRAG_EMBED_BASE_URL)
//	MINIRAG_EMBED_API_KEY        its API key (optional)
//	MINIRAG_EMBED_DIMENSIONS     vector size to ask for (optional; default: the model's)
//	MINIRAG_CHAT_BASE_URL        OpenAI-compatible chat endpoint; unset: no answers, search only
//	MINIRAG_CHAT_MODEL           chat model (default gpt-4o-mini)
//	MINIRAG_CHAT_API_KEY         its API key, stored with the bot encrypted under the Fernet key
//
// Secrets (keys, the PostgreSQL password) are never printed. See
// docs/postgres-qdrant.md for running the services with Docker and a
// LiteLLM proxy configuration.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/embed/hashing"
	embedopenai "github.com/minirag/minirag/embed/openai"
	"github.com/minirag/minirag/llm"
	llmopenai "github.com/minirag/minirag/llm/openai"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/qdrant"
)

const (
	// maxAttempts bounds the runs of the ingestion job.
	maxAttempts       = 3
	defaultQdrantAddr = "127.0.0.1:6334"
	defaultChatModel  = "gpt-4o-mini"
	botName           = "Docs bot"
)

// defaultQueries are searched when no -q flag is given.
var defaultQueries = []string{
	"How do I get started?",
	"How do I configure it?",
}

// config is everything run needs. Its String form leaves secrets out.
type config struct {
	PostgresURL    string
	PostgresSchema string

	QdrantAddr   string
	QdrantAPIKey string
	QdrantTLS    bool
	QdrantPrefix string
	QdrantFields []qdrant.MetadataField

	FernetKeys []string

	EmbedBaseURL    string
	EmbedModel      string
	EmbedAPIKey     string
	EmbedDimensions int

	ChatBaseURL string
	ChatModel   string
	ChatAPIKey  string

	// Dir is the directory the file source reads.
	Dir string
	// Tenant is the tenant's slug.
	Tenant string
	// Queries are searched (and asked) after ingestion.
	Queries []string
	// Reindex embeds every document again, changed or not, to rebuild the
	// index (a Qdrant collection dropped or emptied while Storage kept the
	// documents). A new embedding model needs none: the SDK embeds the
	// documents again into the new model's collection by itself.
	Reindex bool
	// Workers is the Worker's concurrency.
	Workers int
	// ConnectTimeout bounds each service check at start.
	ConnectTimeout time.Duration
	// Logger receives the SDK's logs; nil is silent.
	Logger *slog.Logger

	// openStorage, when set, replaces PostgreSQL (tests). It returns the
	// Storage and a description of it.
	openStorage func(ctx context.Context) (storage.Storage, string, error)
	// embedMaxRetries is embed/openai's MaxRetries (0: its default).
	embedMaxRetries int
	// retryBackoff is the Worker's backoff (nil: 2s per failed attempt).
	retryBackoff func(attempt int) time.Duration
	// chatMaxRetries, when not 0, is llm/openai's MaxRetries for the bot's
	// chat model (0: the SDK's default model and retries).
	chatMaxRetries int
}

// String describes c without its secrets.
func (c config) String() string {
	return fmt.Sprintf("postgres=%s qdrant=%s embed=%s chat=%s dir=%s tenant=%s",
		pgAddr(c.PostgresURL), c.QdrantAddr, orNone(c.EmbedBaseURL), orNone(c.ChatBaseURL), c.Dir, c.Tenant)
}

// GoString is String, so %#v leaves secrets out too.
func (c config) GoString() string { return c.String() }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// errNoFernetKey is returned when MINIRAG_FERNET_KEY is unset.
var errNoFernetKey = errors.New(`MINIRAG_FERNET_KEY is not set: it is the Fernet key that encrypts bot credentials. ` +
	`Generate one with "go run ./examples/postgres-qdrant -genkey" (minirag.GenerateEncryptionKey), ` +
	`keep it in a secret manager, and export MINIRAG_FERNET_KEY=<key>`)

// configFromEnv reads the environment through getenv.
func configFromEnv(getenv func(string) string) (config, error) {
	c := config{
		PostgresURL:    getenv("MINIRAG_POSTGRES_URL"),
		PostgresSchema: getenv("MINIRAG_POSTGRES_SCHEMA"),
		QdrantAddr:     getenv("MINIRAG_QDRANT_ADDR"),
		QdrantAPIKey:   getenv("MINIRAG_QDRANT_API_KEY"),
		QdrantPrefix:   getenv("MINIRAG_QDRANT_PREFIX"),
		EmbedBaseURL:   getenv("MINIRAG_EMBED_BASE_URL"),
		EmbedModel:     getenv("MINIRAG_EMBED_MODEL"),
		EmbedAPIKey:    getenv("MINIRAG_EMBED_API_KEY"),
		ChatBaseURL:    getenv("MINIRAG_CHAT_BASE_URL"),
		ChatModel:      getenv("MINIRAG_CHAT_MODEL"),
		ChatAPIKey:     getenv("MINIRAG_CHAT_API_KEY"),
	}
	if c.QdrantAddr == "" {
		c.QdrantAddr = defaultQdrantAddr
	}
	fields, err := qdrant.ParseMetadataFields("MINIRAG_QDRANT_METADATA_FIELDS", getenv("MINIRAG_QDRANT_METADATA_FIELDS"))
	if err != nil {
		return c, err
	}
	c.QdrantFields = fields
	switch v := getenv("MINIRAG_QDRANT_TLS"); v {
	case "", "0", "false":
	case "1", "true":
		c.QdrantTLS = true
	default:
		return c, fmt.Errorf("MINIRAG_QDRANT_TLS must be 1 or 0, not %q", v)
	}
	for k := range strings.SplitSeq(getenv("MINIRAG_FERNET_KEY"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.FernetKeys = append(c.FernetKeys, k)
		}
	}
	if s := getenv("MINIRAG_EMBED_DIMENSIONS"); s != "" {
		d, err := strconv.Atoi(s)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("MINIRAG_EMBED_DIMENSIONS must be a positive integer, not %q", s)
		}
		c.EmbedDimensions = d
	}
	if c.ChatModel == "" {
		c.ChatModel = defaultChatModel
	}
	return c, nil
}

// queryFlags collects repeated -q flags.
type queryFlags []string

func (q *queryFlags) String() string     { return strings.Join(*q, "; ") }
func (q *queryFlags) Set(s string) error { *q = append(*q, s); return nil }

func main() {
	log.SetFlags(0)
	var queries queryFlags
	dir := flag.String("dir", ".", "directory of documents (.md, .txt, .html) the source reads")
	tenant := flag.String("tenant", "demo", "tenant slug, created on the first run")
	reindex := flag.Bool("reindex", false, "embed every document again, changed or not (to refill a dropped or emptied Qdrant collection; a new embedding model needs none)")
	workers := flag.Int("workers", 1, "jobs the worker runs at once")
	timeout := flag.Duration("connect-timeout", 10*time.Second, "time allowed to reach each service at start")
	verbose := flag.Bool("v", false, "log the SDK's debug records to stderr")
	genkey := flag.Bool("genkey", false, "print a new Fernet key for MINIRAG_FERNET_KEY and exit")
	flag.Var(&queries, "q", "a question to search (and ask); repeatable")
	flag.Parse()

	if *genkey {
		k, err := minirag.GenerateEncryptionKey()
		if err != nil {
			log.Fatalf("postgres-qdrant: %v", err)
		}
		fmt.Println(k)
		return
	}
	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		log.Fatalf("postgres-qdrant: %v", err)
	}
	cfg.Dir, cfg.Tenant, cfg.Queries, cfg.Reindex, cfg.Workers, cfg.ConnectTimeout = *dir, *tenant, queries, *reindex, *workers, *timeout
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatalf("postgres-qdrant: %v", err)
	}
}

// run is the example: it connects to the services, brings the tenant, bot
// and source into place, ingests through the job queue, searches and asks.
// Its report goes to out.
func run(ctx context.Context, cfg config, out io.Writer) error {
	if len(cfg.FernetKeys) == 0 {
		return errNoFernetKey
	}
	for i, k := range cfg.FernetKeys {
		// Checked before any service is reached; the key is never shown.
		if b, err := base64.URLEncoding.DecodeString(k); err != nil || len(b) != 32 {
			return fmt.Errorf("MINIRAG_FERNET_KEY: key %d is not a Fernet key (URL-safe base64 of 32 bytes); "+
				`generate one with "go run ./examples/postgres-qdrant -genkey"`, i+1)
		}
	}
	if cfg.Dir == "" {
		return errors.New("no directory to ingest (-dir)")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return fmt.Errorf("directory %s: %w", cfg.Dir, err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("directory to ingest: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("directory to ingest: %s is not a directory", dir)
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}

	// 1. PostgreSQL: records, chunk text, lexical index, job queue.
	st, desc, closeStorage, err := openStorage(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStorage()
	fmt.Fprintf(out, "storage: %s\n", desc)

	// 2. The embedder: an OpenAI-compatible endpoint, or hashing offline.
	emb, err := newEmbedder(ctx, cfg, out)
	if err != nil {
		st.Close()
		return err
	}

	// 3. Qdrant: the collection of the embedder's space, created when
	// missing. Checking it here names the address when it is unreachable.
	host, port, err := splitHostPort(cfg.QdrantAddr)
	if err != nil {
		st.Close()
		return err
	}
	vs, err := qdrant.Dial(ctx, qdrant.Config{Host: host, Port: port, APIKey: cfg.QdrantAPIKey, UseTLS: cfg.QdrantTLS,
		CollectionPrefix: cfg.QdrantPrefix, Logger: cfg.Logger, MetadataFields: cfg.QdrantFields})
	if err != nil {
		st.Close()
		return fmt.Errorf("Qdrant at %s: %w", cfg.QdrantAddr, err)
	}
	if cfg.QdrantAPIKey != "" && !cfg.QdrantTLS && !isLoopback(host) {
		fmt.Fprintf(out, "warning: the Qdrant API key goes to %s without TLS: set MINIRAG_QDRANT_TLS=1\n", host)
	}
	space := vectorstore.Space{Model: emb.Model(), Dims: emb.Dimensions()}
	if err := within(ctx, cfg.ConnectTimeout, func(ctx context.Context) error { return vs.Init(ctx, space) }); err != nil {
		st.Close()
		vs.Close()
		if errors.Is(err, qdrant.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("Qdrant at %s is unreachable (is it running, and is this its gRPC port, usually 6334? see docs/postgres-qdrant.md): %w", cfg.QdrantAddr, err)
		}
		return fmt.Errorf("Qdrant at %s: %w", cfg.QdrantAddr, err)
	}
	fmt.Fprintf(out, "vectors: Qdrant at %s, collection %s (%d dimensions, cosine)\n", cfg.QdrantAddr, vs.Collection(), space.Dims)

	mcfg := minirag.Config{
		Storage:        st,
		VectorStore:    vs,
		Embedder:       emb,
		EncryptionKeys: cfg.FernetKeys,
		// File sources may read only the directory given on the command
		// line: a host serving tenants confines them likewise.
		Loader: loader.Options{FileRoots: []string{dir}, Logger: cfg.Logger},
		Logger: cfg.Logger,
	}
	if cfg.chatMaxRetries != 0 {
		mcfg.ChatModel = func(ctx context.Context, bot minirag.Bot, cred minirag.Credentials) (llm.Model, error) {
			return llmopenai.New(llmopenai.Config{BaseURL: bot.BaseURL, APIKey: cred.APIKey, Model: bot.Model,
				ExtraHeaders: cred.Headers, MaxRetries: cfg.chatMaxRetries, Logger: cfg.Logger})
		}
	}
	c, err := minirag.New(mcfg)
	if err != nil {
		st.Close()
		vs.Close()
		return err
	}
	defer c.Close() // closes st and vs

	// 4. Tenant, bot and source: created on the first run, found again on
	// the next ones.
	h, err := ensureTenant(ctx, c, cfg.Tenant, out)
	if err != nil {
		return err
	}
	bot, err := ensureBot(ctx, h, cfg, out)
	if err != nil {
		return err
	}
	src, err := ensureSource(ctx, h, bot.ID, dir, out)
	if err != nil {
		return err
	}

	// 5. Ingestion through the job queue, drained by a Worker (several
	// processes sharing the database could run Workers at once).
	src, err = ingest(ctx, c, h, src, cfg, out)
	if err != nil {
		return err
	}

	// 6. Search, then answers when a chat endpoint is configured.
	queries := cfg.Queries
	if len(queries) == 0 {
		queries = defaultQueries
	}
	for _, q := range queries {
		hits, err := h.Search(ctx, minirag.SearchRequest{BotID: bot.ID, Query: q, TopK: 3})
		if err != nil {
			return fmt.Errorf("search %q: %w", q, err)
		}
		fmt.Fprintf(out, "\nQ: %s\n", q)
		if len(hits) == 0 {
			fmt.Fprintln(out, "  (no results)")
		}
		for i, r := range hits {
			fmt.Fprintf(out, "  %d. %.4f  %s  [%s]  (%s)\n     %s\n", i+1, r.Score, r.DocumentTitle, filepath.Base(r.URI),
				strings.Join(r.FoundBy, "+"), snippet(r.Text, 120))
		}
	}
	if src.ChunkCount > 0 {
		if err := checkIndex(ctx, h, bot.ID, queries[0], out); err != nil {
			return err
		}
	}
	fmt.Fprintln(out)
	if cfg.ChatBaseURL == "" {
		fmt.Fprintln(out, "answers: set MINIRAG_CHAT_BASE_URL (and MINIRAG_CHAT_MODEL, MINIRAG_CHAT_API_KEY) to ask the bot")
		return nil
	}
	fmt.Fprintf(out, "answers (model %s at %s):\n", bot.Model, bot.BaseURL)
	for _, q := range queries {
		a, err := h.Ask(ctx, minirag.AskRequest{BotID: bot.ID, Question: q})
		if err != nil {
			if errors.Is(err, minirag.ErrModelCall) {
				return fmt.Errorf("chat endpoint %s: %w", cfg.ChatBaseURL, err)
			}
			return fmt.Errorf("ask %q: %w", q, err)
		}
		fmt.Fprintf(out, "\nQ: %s\nA: %s\n", q, strings.Join(strings.Fields(a.Text), " "))
		for _, ct := range a.Citations {
			fmt.Fprintf(out, "   [%d] %s (%s)\n", ct.Marker, ct.DocumentTitle, filepath.Base(ct.URI))
		}
		fmt.Fprintf(out, "   %d passages, %d tokens\n", len(a.Passages), a.Usage.TotalTokens)
	}
	return nil
}

// openStorage opens storage/postgres on its own pool (closed by the
// returned func, after the Client has closed the store) once the server
// answers a ping.
func openStorage(ctx context.Context, cfg config) (storage.Storage, string, func(), error) {
	if cfg.openStorage != nil {
		st, desc, err := cfg.openStorage(ctx)
		return st, desc, func() {}, err
	}
	if cfg.PostgresURL == "" {
		return nil, "", nil, errors.New("MINIRAG_POSTGRES_URL is not set (for example postgres://minirag:secret@127.0.0.1:5432/minirag; see docs/postgres-qdrant.md)")
	}
	pcfg, err := pgxpool.ParseConfig(cfg.PostgresURL)
	if err != nil {
		// pgx leaves the password out of its parse errors.
		return nil, "", nil, fmt.Errorf("MINIRAG_POSTGRES_URL: %w", err)
	}
	addr := pgAddr(cfg.PostgresURL)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, "", nil, fmt.Errorf("PostgreSQL at %s: %w", addr, err)
	}
	if err := within(ctx, cfg.ConnectTimeout, pool.Ping); err != nil {
		pool.Close()
		return nil, "", nil, fmt.Errorf("PostgreSQL at %s is unreachable or refused the connection: %w", addr, err)
	}
	var opts []postgres.Option
	if cfg.PostgresSchema != "" {
		opts = append(opts, postgres.WithSchema(cfg.PostgresSchema))
	}
	if cfg.Logger != nil {
		opts = append(opts, postgres.WithLogger(cfg.Logger))
	}
	st, err := postgres.New(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, "", nil, fmt.Errorf("PostgreSQL at %s: %w", addr, err)
	}
	desc := "PostgreSQL at " + addr
	if cfg.PostgresSchema != "" {
		desc += ", schema " + cfg.PostgresSchema
	}
	return st, desc, pool.Close, nil
}

// pgAddr names a PostgreSQL server as host:port/database, without user or
// password.
func pgAddr(url string) string {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil || url == "" {
		return "(unset)"
	}
	cc := pcfg.ConnConfig
	return net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))) + "/" + cc.Database
}

// newEmbedder returns embed/openai on MINIRAG_EMBED_BASE_URL, checked by
// one request when the vector size is not configured, or the hashing
// embedder when no endpoint is configured.
func newEmbedder(ctx context.Context, cfg config, out io.Writer) (embed.Embedder, error) {
	if cfg.EmbedBaseURL == "" {
		e, err := hashing.New(hashing.Config{})
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "embeddings: %s, offline (MINIRAG_EMBED_BASE_URL is not set; this embedder is lexical, not semantic: "+
			"set MINIRAG_EMBED_BASE_URL and MINIRAG_EMBED_MODEL for a real embedding model)\n", e.Model())
		return e, nil
	}
	if cfg.EmbedModel == "" {
		return nil, errors.New("MINIRAG_EMBED_MODEL is required with MINIRAG_EMBED_BASE_URL")
	}
	e, err := embedopenai.New(embedopenai.Config{BaseURL: cfg.EmbedBaseURL, APIKey: cfg.EmbedAPIKey, Model: cfg.EmbedModel,
		Dimensions: cfg.EmbedDimensions, MaxRetries: cfg.embedMaxRetries, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("embedding endpoint %s: %w", cfg.EmbedBaseURL, err)
	}
	// One request: learns the vector size (when not configured) and
	// checks that the endpoint answers, before anything is ingested.
	err = within(ctx, cfg.ConnectTimeout, func(ctx context.Context) error {
		if cfg.EmbedDimensions > 0 {
			_, err := e.Embed(ctx, []string{"ping"})
			return err
		}
		_, err := e.Probe(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("embedding endpoint %s (model %s): %w", cfg.EmbedBaseURL, cfg.EmbedModel, err)
	}
	fmt.Fprintf(out, "embeddings: %s at %s (%d dimensions)\n", cfg.EmbedModel, cfg.EmbedBaseURL, e.Dimensions())
	return e, nil
}

// within runs fn with ctx bounded by d.
func within(ctx context.Context, d time.Duration, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return fn(ctx)
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("MINIRAG_QDRANT_ADDR must be host:port (the gRPC port, usually 6334): %w", err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("MINIRAG_QDRANT_ADDR has a bad port %q", p)
	}
	return host, port, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ensureTenant finds the tenant by slug, or bootstraps it (tenant, owner,
// admin API token) and authenticates with the new token.
func ensureTenant(ctx context.Context, c *minirag.Client, slug string, out io.Writer) (*minirag.TenantHandle, error) {
	t, err := c.GetTenantBySlug(ctx, slug)
	switch {
	case err == nil:
		fmt.Fprintf(out, "tenant: %q (%s), found\n", t.Slug, t.ID)
		return c.Tenant(t.ID), nil // trusted code: the token's plaintext was shown once, on the first run
	case !errors.Is(err, minirag.ErrNotFound):
		return nil, err
	}
	b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: slug, Slug: slug, OwnerEmail: "owner@" + slug + ".example"})
	if err != nil {
		return nil, fmt.Errorf("create tenant %q: %w", slug, err)
	}
	// The bootstrap token's plaintext exists only now; a host hands it to
	// the owner. This example does not print it: it authenticates with it.
	p, err := c.Authenticate(ctx, b.Token.Plaintext)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "tenant: %q (%s), created with owner %s and an admin API token %s… (plaintext not shown)\n",
		b.Tenant.Slug, b.Tenant.ID, b.Owner.Email, b.Token.Token.Prefix)
	return c.Scoped(p), nil
}

// ensureBot finds the bot by name or creates it, and points it at the chat
// endpoint when one is configured (the API key is stored encrypted).
func ensureBot(ctx context.Context, h *minirag.TenantHandle, cfg config, out io.Writer) (minirag.Bot, error) {
	bots, err := h.ListBots(ctx)
	if err != nil {
		return minirag.Bot{}, err
	}
	var cred *minirag.Credentials
	if cfg.ChatAPIKey != "" {
		cred = &minirag.Credentials{APIKey: cfg.ChatAPIKey}
	}
	for _, b := range bots {
		if b.Name != botName {
			continue
		}
		if cfg.ChatBaseURL == "" {
			fmt.Fprintf(out, "bot: %q (%s), found\n", b.Name, b.ID)
			return b, nil
		}
		b, err = h.UpdateBot(ctx, b.ID, minirag.BotUpdate{BaseURL: &cfg.ChatBaseURL, Model: &cfg.ChatModel, Credentials: cred})
		if err != nil {
			return minirag.Bot{}, fmt.Errorf("update bot: %w", err)
		}
		fmt.Fprintf(out, "bot: %q (%s), found; chat model %s, credentials stored: %t\n", b.Name, b.ID, b.Model, b.HasCredentials)
		return b, nil
	}
	p := minirag.BotParams{
		Name:         botName,
		Description:  "Answers from the documents of " + cfg.Dir,
		SystemPrompt: "You answer questions about the documentation, briefly.",
		Model:        cfg.ChatModel,
		BaseURL:      cfg.ChatBaseURL,
		Credentials:  cred,
	}
	b, err := h.CreateBot(ctx, p)
	if err != nil {
		return minirag.Bot{}, fmt.Errorf("create bot: %w", err)
	}
	fmt.Fprintf(out, "bot: %q (%s), created; credentials stored: %t\n", b.Name, b.ID, b.HasCredentials)
	return b, nil
}

// ensureSource finds the bot's file source over dir or creates it.
func ensureSource(ctx context.Context, h *minirag.TenantHandle, botID, dir string, out io.Writer) (minirag.Source, error) {
	name := "files in " + dir
	srcs, err := h.ListSources(ctx, botID)
	if err != nil {
		return minirag.Source{}, err
	}
	for _, s := range srcs {
		if s.Name == name && s.Type == minirag.SourceFile {
			fmt.Fprintf(out, "source: %q (%s), found: %d documents, %d chunks\n", s.Name, s.ID, s.DocumentCount, s.ChunkCount)
			return s, nil
		}
	}
	s, err := h.CreateSource(ctx, minirag.SourceParams{BotID: botID, Name: name, Type: minirag.SourceFile,
		Config: loader.FileConfig{Path: dir}})
	if err != nil {
		return minirag.Source{}, fmt.Errorf("create source: %w", err)
	}
	fmt.Fprintf(out, "source: %q (%s), created\n", s.Name, s.ID)
	return s, nil
}

// ingest queues an ingestion of src and runs a Worker until its job is
// done or failed, waiting out retry backoffs. It returns the source as the
// ingestion left it; a failed job is an error only when the source has no
// document to search.
func ingest(ctx context.Context, c *minirag.Client, h *minirag.TenantHandle, src minirag.Source, cfg config, out io.Writer) (minirag.Source, error) {
	job, err := h.EnqueueIngest(ctx, src.ID)
	if err != nil {
		return src, fmt.Errorf("enqueue ingestion: %w", err)
	}
	fmt.Fprintf(out, "ingestion: job %s queued\n", job.ID)
	backoff := cfg.retryBackoff
	if backoff == nil {
		backoff = func(attempt int) time.Duration { return time.Duration(attempt) * 2 * time.Second }
	}
	w, err := c.NewWorker(minirag.WorkerConfig{
		Concurrency: cfg.Workers,
		MaxAttempts: maxAttempts,
		Backoff:     backoff,
		Ingest: minirag.IngestOptions{Force: cfg.Reindex, Progress: func(p minirag.IngestProgress) {
			if p.Done {
				fmt.Fprintf(out, "ingestion: %d documents (%d unchanged, %d failed), %d chunks embedded\n",
					p.DocumentsTotal, p.Unchanged, p.Failed, p.Chunks)
			}
		}},
	})
	if err != nil {
		return src, err
	}
	for {
		if err := w.Drain(ctx); err != nil {
			return src, fmt.Errorf("worker: %w", err)
		}
		job, err = h.GetJob(ctx, job.ID)
		if err != nil {
			return src, err
		}
		if job.Status == minirag.JobDone || job.Status == minirag.JobFailed {
			break
		}
		// Failed, and queued again for a later attempt.
		wait := time.Until(job.RunAt)
		fmt.Fprintf(out, "ingestion: attempt %d failed (%s); retrying in %s\n", job.Attempts, job.LastError, wait.Round(time.Second))
		select {
		case <-ctx.Done():
			return src, ctx.Err()
		case <-time.After(max(wait, 50*time.Millisecond)):
		}
	}
	src, err = h.GetSource(ctx, src.ID)
	if err != nil {
		return src, err
	}
	if job.Status == minirag.JobFailed {
		if src.DocumentCount == 0 {
			return src, fmt.Errorf("ingestion of %q failed after %d attempt(s): %s", src.Name, job.Attempts, job.LastError)
		}
		// What was ingested (now or before) stays searchable.
		fmt.Fprintf(out, "ingestion: job failed after %d attempt(s): %s\n", job.Attempts, job.LastError)
	}
	fmt.Fprintf(out, "source: status %s, %d documents, %d chunks", src.Status, src.DocumentCount, src.ChunkCount)
	if src.Error != "" {
		fmt.Fprintf(out, " (errors: %s)", src.Error)
	}
	fmt.Fprintln(out)
	return src, nil
}

// checkIndex warns when the source has chunks but Qdrant finds none of
// them: the collection was dropped or emptied while Storage kept the
// documents, which ingestion then sees as unchanged and does not embed
// again. (A new embedding model is not such a case: ingestion embeds
// every document again into the new model's collection.)
func checkIndex(ctx context.Context, h *minirag.TenantHandle, botID, q string, out io.Writer) error {
	hits, err := h.Search(ctx, minirag.SearchRequest{BotID: botID, Query: q, TopK: 1, Mode: minirag.SearchDense})
	if err != nil {
		return fmt.Errorf("search %q: %w", q, err)
	}
	if len(hits) == 0 {
		fmt.Fprintln(out, "\nwarning: the source has chunks but the Qdrant collection holds no vector for them "+
			"(was the collection dropped or emptied?): run again with -reindex")
	}
	return nil
}

// snippet returns the start of s on one line, at most n bytes, cut at a
// word boundary.
func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n], ' ')
	if cut <= 0 {
		cut = n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	return s[:cut] + "…"
}
