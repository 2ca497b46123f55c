// Command postgres is the quickstart flow on the scale-out stack:
// PostgreSQL holds every record, the chunk text, the lexical index and the
// ingestion job queue (storage/postgres), and pgvector holds the vectors
// (vectorstore/pgvector), in the same database or another one.
//
// It bootstraps a tenant on the first run (and finds it again by slug on
// the next ones), creates a bot with encrypted provider credentials and a
// file source over a few markdown documents shipped with the example,
// queues an ingestion and drains the queue with a Worker, then answers
// three searches (hybrid: pgvector + PostgreSQL full text) and the same
// questions extractively, with citations. A second run embeds nothing;
// edit a document in the -dir folder and only it is embedded again.
//
//	export MINIRAG_POSTGRES_URL=postgres://minirag:secret@127.0.0.1:5432/minirag
//	export MINIRAG_FERNET_KEY=$(go run ./examples/postgres -genkey)
//	go run ./examples/postgres
//
// Configuration (environment):
//
//	MINIRAG_POSTGRES_URL        PostgreSQL URL (required)
//	MINIRAG_POSTGRES_SCHEMA     schema of the SDK's tables (default: the URL's search_path, usually public)
//	MINIRAG_POSTGRES_MAX_CONNS  pool size (default: pgxpool's, max(4, CPUs); or pool_max_conns in the URL)
//	MINIRAG_PGVECTOR_URL        PostgreSQL with the vector extension (default: MINIRAG_POSTGRES_URL,
//	                            and then one pool serves both)
//	MINIRAG_PGVECTOR_SCHEMA     schema of the vector tables (default: the URL's search_path)
//	MINIRAG_FERNET_KEY          Fernet key encrypting bot credentials (required; several,
//	                            comma-separated, while rotating: the first encrypts)
//	MINIRAG_EMBED_BASE_URL      OpenAI-compatible embeddings endpoint; unset: the offline
//	                            hashing embedder (lexical, not semantic)
//	MINIRAG_EMBED_MODEL         embedding model (required with MINIRAG_EMBED_BASE_URL)
//	MINIRAG_EMBED_API_KEY       its API key (optional)
//	MINIRAG_EMBED_DIMENSIONS    vector size to ask for (optional)
//	MINIRAG_LLM_API_KEY         the provider key stored (encrypted) with the bot (default: a dummy value)
//
// A URL may carry pgx's settings, for example pool_max_conns=10, or
// default_query_exec_mode=exec behind PgBouncer in transaction mode.
// Secrets (keys, passwords) are never printed. See docs/postgres.md.
package main

import (
	"context"
	"embed"
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

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/minirag/minirag"
	membed "github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/embed/hashing"
	embedopenai "github.com/minirag/minirag/embed/openai"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage/postgres"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

const (
	botName    = "Support bot"
	sourceName = "Lighthouse handbook"
	docsDir    = "docs"
)

// docs are the markdown documents the example ingests.
//
//go:embed docs/*.md
var docs embed.FS

// questions are searched and asked after ingestion.
var questions = []string{
	"How do I restore a backup?",
	"How do I send alerts to Slack?",
	"How much does the team plan cost per month?",
}

// config is everything run needs. Its String form leaves secrets out.
type config struct {
	PostgresURL    string
	PostgresSchema string
	MaxConns       int32
	PGVectorURL    string
	PGVectorSchema string
	FernetKeys     []string

	EmbedBaseURL    string
	EmbedModel      string
	EmbedAPIKey     string
	EmbedDimensions int
	// LLMAPIKey is stored, encrypted, with the bot.
	LLMAPIKey string

	// Dir receives the example's documents (existing files are kept) and
	// is what the file source reads.
	Dir string
	// Tenant is the tenant's slug.
	Tenant string
	// Logger receives the SDK's logs; nil is silent.
	Logger *slog.Logger
}

// String describes c without its secrets.
func (c config) String() string {
	return fmt.Sprintf("postgres=%s schema=%q pgvector=%s schema=%q embed=%q dir=%s tenant=%s",
		pgAddr(c.PostgresURL), c.PostgresSchema, pgAddr(c.PGVectorURL), c.PGVectorSchema, c.EmbedBaseURL, c.Dir, c.Tenant)
}

// GoString is String, so %#v leaves secrets out too.
func (c config) GoString() string { return c.String() }

// configFromEnv reads the environment through getenv.
func configFromEnv(getenv func(string) string) (config, error) {
	c := config{
		PostgresURL:    getenv("MINIRAG_POSTGRES_URL"),
		PostgresSchema: getenv("MINIRAG_POSTGRES_SCHEMA"),
		PGVectorURL:    getenv("MINIRAG_PGVECTOR_URL"),
		PGVectorSchema: getenv("MINIRAG_PGVECTOR_SCHEMA"),
		EmbedBaseURL:   getenv("MINIRAG_EMBED_BASE_URL"),
		EmbedModel:     getenv("MINIRAG_EMBED_MODEL"),
		EmbedAPIKey:    getenv("MINIRAG_EMBED_API_KEY"),
		LLMAPIKey:      getenv("MINIRAG_LLM_API_KEY"),
	}
	if c.PGVectorURL == "" {
		c.PGVectorURL = c.PostgresURL
	}
	for k := range strings.SplitSeq(getenv("MINIRAG_FERNET_KEY"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.FernetKeys = append(c.FernetKeys, k)
		}
	}
	if s := getenv("MINIRAG_POSTGRES_MAX_CONNS"); s != "" {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("MINIRAG_POSTGRES_MAX_CONNS must be a positive integer, not %q", s)
		}
		c.MaxConns = int32(n)
	}
	if s := getenv("MINIRAG_EMBED_DIMENSIONS"); s != "" {
		d, err := strconv.Atoi(s)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("MINIRAG_EMBED_DIMENSIONS must be a positive integer, not %q", s)
		}
		c.EmbedDimensions = d
	}
	return c, nil
}

func main() {
	log.SetFlags(0)
	dir := flag.String("dir", "./postgres-example-docs", "folder the example's documents are copied to and ingested from")
	tenant := flag.String("tenant", "postgres-example", "tenant slug, created on the first run")
	verbose := flag.Bool("v", false, "log the SDK's debug records to stderr")
	genkey := flag.Bool("genkey", false, "print a new Fernet key for MINIRAG_FERNET_KEY and exit")
	flag.Parse()
	if *genkey {
		k, err := minirag.GenerateEncryptionKey()
		if err != nil {
			log.Fatalf("postgres: %v", err)
		}
		fmt.Println(k)
		return
	}
	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		log.Fatalf("postgres: %v", err)
	}
	cfg.Dir, cfg.Tenant = *dir, *tenant
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatalf("postgres: %v", err)
	}
}

// run is the example; its report goes to out.
func run(ctx context.Context, cfg config, out io.Writer) error {
	if len(cfg.FernetKeys) == 0 {
		return errors.New(`MINIRAG_FERNET_KEY is not set: generate a key with "go run ./examples/postgres -genkey", ` +
			"keep it in a secret manager and export MINIRAG_FERNET_KEY=<key>")
	}
	for i, k := range cfg.FernetKeys {
		if err := minirag.ValidateEncryptionKey(k); err != nil { // never holds the key
			return fmt.Errorf("MINIRAG_FERNET_KEY: key %d: %w", i+1, err)
		}
	}
	if cfg.PostgresURL == "" {
		return errors.New("MINIRAG_POSTGRES_URL is not set (for example postgres://minirag:secret@127.0.0.1:5432/minirag; see docs/postgres.md)")
	}
	if cfg.PGVectorURL == "" {
		cfg.PGVectorURL = cfg.PostgresURL
	}
	if cfg.Tenant == "" {
		cfg.Tenant = "postgres-example"
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil || cfg.Dir == "" {
		return fmt.Errorf("documents folder %q: %v", cfg.Dir, err)
	}
	if err := copyDocs(dir); err != nil {
		return fmt.Errorf("documents folder %s: %w", dir, err)
	}

	// 1. The pools: one when records and vectors share a database.
	pool, err := openPool(ctx, "MINIRAG_POSTGRES_URL", cfg.PostgresURL, cfg.MaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()
	vpool := pool
	if cfg.PGVectorURL != cfg.PostgresURL {
		if vpool, err = openPool(ctx, "MINIRAG_PGVECTOR_URL", cfg.PGVectorURL, cfg.MaxConns); err != nil {
			return err
		}
		defer vpool.Close()
	}

	// 2. Storage: migrations run here, under an advisory lock.
	opts := []postgres.Option{postgres.WithLogger(cfg.Logger)}
	if cfg.PostgresSchema != "" {
		opts = append(opts, postgres.WithSchema(cfg.PostgresSchema))
	}
	st, err := postgres.New(ctx, pool, opts...)
	if err != nil {
		return fmt.Errorf("PostgreSQL at %s: %w", pgAddr(cfg.PostgresURL), err)
	}
	fmt.Fprintf(out, "storage: PostgreSQL at %s, schema %s\n", pgAddr(cfg.PostgresURL), orDefault(cfg.PostgresSchema))

	// 3. The embedder, then pgvector's table for its space.
	emb, err := newEmbedder(ctx, cfg, out)
	if err != nil {
		return err
	}
	vs, err := pgvector.New(ctx, vpool, pgvector.Options{Schema: cfg.PGVectorSchema, Logger: cfg.Logger})
	if err != nil {
		return err
	}
	if err := vs.Init(ctx, vectorstore.Space{Model: emb.Model(), Dims: emb.Dimensions()}); err != nil {
		return fmt.Errorf("pgvector at %s: %w", pgAddr(cfg.PGVectorURL), err)
	}
	scan := "iterative index scans (filtered searches keep their recall)"
	if !vs.IterativeScan() {
		scan = "no iterative index scans (pgvector < 0.8: see docs/postgres.md)"
	}
	fmt.Fprintf(out, "vectors: pgvector %s at %s, schema %s, table %s (%d dimensions, HNSW cosine), %s\n",
		vs.Version(), pgAddr(cfg.PGVectorURL), orDefault(cfg.PGVectorSchema), vs.TableName(emb.Model()), emb.Dimensions(), scan)

	c, err := minirag.New(minirag.Config{
		Storage:        st,
		VectorStore:    vs,
		Embedder:       emb,
		EncryptionKeys: cfg.FernetKeys,
		// File sources may read only the example's folder: a host serving
		// tenants confines them likewise.
		Loader: loader.Options{FileRoots: []string{dir}, Logger: cfg.Logger},
		Logger: cfg.Logger,
	})
	if err != nil {
		return err
	}
	defer c.Close() // closes st and vs; the pools are closed after

	// 4. Tenant, bot and source: created on the first run, found again
	// on the next ones.
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

	// 5. Ingestion through the job queue in PostgreSQL, drained by a
	// Worker (any number of processes may run Workers on one database).
	job, err := h.EnqueueIngest(ctx, src.ID)
	if err != nil {
		return err
	}
	w, err := c.NewWorker(minirag.WorkerConfig{MaxAttempts: 1})
	if err != nil {
		return err
	}
	if err := w.Drain(ctx); err != nil {
		return err
	}
	if job, err = h.GetJob(ctx, job.ID); err != nil {
		return err
	}
	if src, err = h.GetSource(ctx, src.ID); err != nil {
		return err
	}
	fmt.Fprintf(out, "ingestion job: %s after %d attempt(s)", job.Status, job.Attempts)
	if job.LastError != "" {
		fmt.Fprintf(out, ": %s", job.LastError)
	}
	fmt.Fprintf(out, "\nsource: status %s, %d documents, %d chunks\n", src.Status, src.DocumentCount, src.ChunkCount)
	if job.Status != minirag.JobDone {
		return fmt.Errorf("ingestion job %s: %s", job.Status, job.LastError)
	}

	// 6. Search (hybrid: pgvector and PostgreSQL full text, fused).
	for _, q := range questions {
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
				strings.Join(r.FoundBy, "+"), snippet(r.Text, 110))
		}
	}

	// 7. Answers, extractive (offline), citing the passages.
	fmt.Fprintln(out, "\nanswers (extractive):")
	for _, q := range questions {
		a, err := h.Ask(ctx, minirag.AskRequest{BotID: bot.ID, Question: q, Extractive: true})
		if err != nil {
			return fmt.Errorf("ask %q: %w", q, err)
		}
		fmt.Fprintf(out, "\nQ: %s\nA: %s\n", q, snippet(a.Text, 300))
		for _, ct := range a.Citations {
			fmt.Fprintf(out, "   [%d] %s (%s)\n", ct.Marker, ct.DocumentTitle, filepath.Base(ct.URI))
		}
	}
	return nil
}

// openPool parses url (pgx settings in the URL apply), sets MaxConns when
// given and checks the server answers. Errors never hold the password.
func openPool(ctx context.Context, env, url string, maxConns int32) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be parsed (a URL such as postgres://user:password@host:5432/db)", env)
	}
	if maxConns > 0 {
		pcfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at %s: %w", pgAddr(url), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("PostgreSQL at %s is unreachable or refused the connection: %w", pgAddr(url), err)
	}
	return pool, nil
}

// pgAddr names a server as host:port/database, without user or password.
func pgAddr(url string) string {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil || url == "" {
		return "(unset)"
	}
	cc := pcfg.ConnConfig
	return net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))) + "/" + cc.Database
}

func orDefault(schema string) string {
	if schema == "" {
		return "(search_path)"
	}
	return schema
}

// newEmbedder returns embed/openai on MINIRAG_EMBED_BASE_URL, or the
// offline hashing embedder.
func newEmbedder(ctx context.Context, cfg config, out io.Writer) (membed.Embedder, error) {
	if cfg.EmbedBaseURL == "" {
		e, err := hashing.New(hashing.Config{})
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "embeddings: %s, offline (lexical, not semantic: set MINIRAG_EMBED_BASE_URL and MINIRAG_EMBED_MODEL for a model)\n", e.Model())
		return e, nil
	}
	if cfg.EmbedModel == "" {
		return nil, errors.New("MINIRAG_EMBED_MODEL is required with MINIRAG_EMBED_BASE_URL")
	}
	e, err := embedopenai.New(embedopenai.Config{BaseURL: cfg.EmbedBaseURL, APIKey: cfg.EmbedAPIKey, Model: cfg.EmbedModel,
		Dimensions: cfg.EmbedDimensions, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("embedding endpoint %s: %w", cfg.EmbedBaseURL, err)
	}
	// One request learns the vector size (pgvector's column needs it)
	// and checks the endpoint before anything is ingested.
	if _, err := e.Probe(ctx); err != nil {
		return nil, fmt.Errorf("embedding endpoint %s (model %s): %w", cfg.EmbedBaseURL, cfg.EmbedModel, err)
	}
	fmt.Fprintf(out, "embeddings: %s at %s (%d dimensions)\n", cfg.EmbedModel, cfg.EmbedBaseURL, e.Dimensions())
	return e, nil
}

// ensureTenant finds the tenant by slug, or bootstraps it and
// authenticates with its first API token.
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
	p, err := c.Authenticate(ctx, b.Token.Plaintext)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "tenant: %q (%s), created with owner %s and an admin API token %s… (plaintext not shown)\n",
		b.Tenant.Slug, b.Tenant.ID, b.Owner.Email, b.Token.Token.Prefix)
	return c.Scoped(p), nil
}

func ensureBot(ctx context.Context, h *minirag.TenantHandle, cfg config, out io.Writer) (minirag.Bot, error) {
	bots, err := h.ListBots(ctx)
	if err != nil {
		return minirag.Bot{}, err
	}
	for _, b := range bots {
		if b.Name == botName {
			fmt.Fprintf(out, "bot: %q (%s), found\n", b.Name, b.ID)
			return b, nil
		}
	}
	key, from := cfg.LLMAPIKey, "MINIRAG_LLM_API_KEY"
	if key == "" {
		key, from = "sk-postgres-example-dummy", "a dummy value"
	}
	b, err := h.CreateBot(ctx, minirag.BotParams{
		Name:               botName,
		SystemPrompt:       "Answer only from the passages given. Cite them.",
		Model:              "gpt-4o-mini",
		ExtractiveFallback: true,
		Credentials:        &minirag.Credentials{APIKey: key},
	})
	if err != nil {
		return minirag.Bot{}, err
	}
	fmt.Fprintf(out, "bot: %q (%s), created with credentials from %s (stored Fernet-encrypted: %t)\n", b.Name, b.ID, from, b.HasCredentials)
	return b, nil
}

func ensureSource(ctx context.Context, h *minirag.TenantHandle, botID, dir string, out io.Writer) (minirag.Source, error) {
	srcs, err := h.ListSources(ctx, botID)
	if err != nil {
		return minirag.Source{}, err
	}
	for _, s := range srcs {
		if s.Name == sourceName {
			fmt.Fprintf(out, "source: %q (%s), found\n", s.Name, s.ID)
			return s, nil
		}
	}
	s, err := h.CreateSource(ctx, minirag.SourceParams{BotID: botID, Name: sourceName, Type: minirag.SourceFile,
		Config: loader.FileConfig{Path: dir, Include: []string{"*.md"}}})
	if err != nil {
		return minirag.Source{}, err
	}
	fmt.Fprintf(out, "source: %q (%s), created over %s\n", s.Name, s.ID, dir)
	return s, nil
}

// copyDocs writes the embedded documents to dst, keeping files that exist
// (so that edits made there survive).
func copyDocs(dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := docs.ReadDir(docsDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		target := filepath.Join(dst, e.Name())
		if _, err := os.Stat(target); err == nil {
			continue
		}
		b, err := docs.ReadFile(docsDir + "/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// snippet is the start of text on one line, at most n runes.
func snippet(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	r := []rune(text)
	if len(r) <= n {
		return text
	}
	return string(r[:n]) + "…"
}
