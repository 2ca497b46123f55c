// Package restapi is the REST host on top of MiniRAG: the HTTP API of
// the Python MiniRAG platform this module is the Go form of (tenants, API tokens, bot profiles, sources,
// ingestion, search and chat with Server-Sent Events) served by net/http,
// with an ingestion Worker draining the job queue in the same process.
//
// It is served by two programs, which only parse their flags and call Run:
//
//	go run ./examples/httpserver                       # embedded stack in ./minirag-data
//	go run ./examples/httpserver -addr 127.0.0.1:9000 -dir /var/lib/minirag
//	go run ./cmd/minirag serve --addr 127.0.0.1:9000 --dir /var/lib/minirag
//
// New returns the API's http.Handler alone, for a host that serves it
// itself. Routes: server.go (newServer), conversations.go, pages.go,
// reconcile.go, chat.go; observability: observe.go.
//
// By default everything is embedded and offline (minirag.Open: SQLite, the
// local vector store, the hashing embedder). Environment variables switch
// parts to services:
//
//	MINIRAG_POSTGRES_URL      storage/postgres instead of SQLite (pool size: pool_max_conns=N in the URL)
//	MINIRAG_PGVECTOR_URL      vectorstore/pgvector instead of the local store (on PGlite, whose
//	                          connections share one backend, or behind a transaction-mode pooler,
//	                          add default_query_exec_mode=simple_protocol to the URL)
//	MINIRAG_PG_POOL_MAX_CONNS the size of each PostgreSQL pool (storage, pgvector) whose URL has no
//	                          pool_max_conns (pgx's default is max(4, CPUs), shared by auth and search)
//	MINIRAG_QDRANT_ADDR       vectorstore/qdrant (host:port of the gRPC API), with MINIRAG_QDRANT_API_KEY
//	MINIRAG_EMBED_BASE_URL    embed/openai on an OpenAI-compatible endpoint, with
//	                          MINIRAG_EMBED_MODEL (required), MINIRAG_EMBED_API_KEY, MINIRAG_EMBED_DIMENSIONS
//	MINIRAG_ENCRYPTION_KEYS   Fernet keys of bot credentials, comma-separated, first encrypts
//	                          (required with a service; the embedded stack keeps one in its folder otherwise)
//	MINIRAG_JWT_SECRET        HS256 secret of JWT sessions (at least 32 bytes)
//	MINIRAG_FILE_ROOT         the only folder "file" sources may read (default <dir>/files)
//	MINIRAG_ALLOW_PRIVATE_NETWORKS=1  lets bots' base_url and url sources reach loopback and
//	                          private addresses (refused by default: anyone may create a tenant)
//	MINIRAG_QUOTA_REQUESTS_PER_MINUTE, MINIRAG_QUOTA_TOKENS_PER_DAY, MINIRAG_QUOTA_TOKENS_PER_MONTH,
//	MINIRAG_QUOTA_MAX_DOCUMENTS, MINIRAG_QUOTA_MAX_CHUNKS   the same limits for every tenant
//	                          (minirag.Quota; unset: none); over a limit, 429 with Retry-After
//
// Each bot calls its own OpenAI-compatible chat endpoint (its base_url,
// model and encrypted credentials). See docs/httpserver.md.
package restapi

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/internal/hostenv"
)

// Options configure Run.
type Options struct {
	// Addr is the listen address (host:port; port 0 picks a free one,
	// logged as "listening addr=http://…"). Required.
	Addr string
	// Dir is the embedded stack's data folder. Required.
	Dir string
	// Workers is the number of ingestion jobs run at once (default 2).
	Workers int
	// Getenv reads the environment variables of the package doc
	// (default: none set).
	Getenv func(string) string
	// ServiceName names the process in traces and metrics (default
	// "minirag-httpserver").
	ServiceName string
}

// New returns the REST API on top of c, with GET /readyz, every request
// traced and measured by otelhttp (through the global providers). log may
// be nil (no logs).
func New(c *minirag.Client, log *slog.Logger) http.Handler {
	return observed(newServer(c, log), c)
}

// Run opens the Client from the environment, starts an ingestion Worker
// and serves the API on opts.Addr until ctx is done, then shuts down
// gracefully: no new requests, running ones get 10 seconds, the worker
// puts its running jobs back in the queue. log may be nil (no logs).
func Run(ctx context.Context, log *slog.Logger, opts Options) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	return run(ctx, log, opts.Addr, opts.Dir, cmp.Or(opts.Workers, 2), opts.Getenv, cmp.Or(opts.ServiceName, "minirag-httpserver"))
}

func run(ctx context.Context, log *slog.Logger, addr, dir string, workers int, getenv func(string) string, service string) error {
	tel, err := setupTelemetry(ctx, getenv, service) // observe.go
	if err != nil {
		return err
	}
	defer tel.shutdown(context.WithoutCancel(ctx))
	if tel.metrics != nil {
		stopMetrics, err := serveMetrics(ctx, log, getenv("MINIRAG_METRICS_ADDR"), tel.metrics)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	c, desc, err := openClient(ctx, log, dir, getenv)
	if err != nil {
		return err
	}
	defer c.Close()

	wk, err := c.NewWorker(minirag.WorkerConfig{Concurrency: workers, Logger: log})
	if err != nil {
		return err
	}
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		_ = wk.Run(wctx)
	}()
	defer func() { wcancel(); <-wdone }()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := httpServer(ctx, New(c, log), requestReadTimeout)
	log.Info("listening", slog.String("addr", "http://"+ln.Addr().String()), slog.String("stack", desc))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// requestReadTimeout bounds the reading of a whole request, headers and
// body: a client dribbling its body is cut off (408) instead of holding
// its connection and goroutine for ever. A body is at most 1 MiB, so 30 s
// allows about 35 KB/s. Answers are not bounded: a streamed chat answer
// may take longer (http.Server.ReadTimeout does not end a handler that
// has read its body).
const requestReadTimeout = 30 * time.Second

// httpServer is the http.Server of h: headers within 10 s, the whole
// request within readTimeout, idle keep-alive connections closed after 2
// minutes; requests' contexts derive from ctx without its cancellation
// (shutdown drains them instead).
func httpServer(ctx context.Context, h http.Handler, readTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, readTimeout),
		ReadTimeout:       readTimeout,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// openClient builds the Client from the environment (internal/hostenv,
// shared with cmd/minirag), with the quotas of MINIRAG_QUOTA_*. It
// returns a description of the stack without secrets.
func openClient(ctx context.Context, log *slog.Logger, dir string, getenv func(string) string) (*minirag.Client, string, error) {
	quota, err := quotaFromEnv(getenv) // conversations.go
	if err != nil {
		return nil, "", err
	}
	return hostenv.OpenClient(ctx, log, dir, getenv, func(c *minirag.Config) {
		if quota != (minirag.Quota{}) {
			c.Quotas = func(context.Context, string) (minirag.Quota, error) { return quota, nil }
		}
	})
}
