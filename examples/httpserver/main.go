// Command httpserver is a REST host on top of MiniRAG: the HTTP API of
// the Python MiniRAG platform this module is the Go form of (tenants, API tokens, bot profiles, sources,
// ingestion, search and chat with Server-Sent Events) served by net/http,
// with an ingestion Worker draining the job queue in the same process.
//
//	go run ./examples/httpserver                       # embedded stack in ./minirag-data
//	go run ./examples/httpserver -addr 127.0.0.1:9000 -dir /var/lib/minirag
//
// The handlers, the environment it reads (MINIRAG_POSTGRES_URL,
// MINIRAG_QDRANT_ADDR, MINIRAG_EMBED_BASE_URL, MINIRAG_METRICS_ADDR…) and
// the graceful shutdown live in package internal/restapi, which `minirag
// serve` (cmd/minirag) runs too; this program parses its flags and calls
// restapi.Run. See docs/httpserver.md.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/minirag/minirag/internal/restapi"
)

func main() {
	addr := flag.String("addr", envOr("MINIRAG_ADDR", "127.0.0.1:8080"), "listen address (env MINIRAG_ADDR)")
	dir := flag.String("dir", envOr("MINIRAG_DATA_DIR", "./minirag-data"), "data folder of the embedded stack (env MINIRAG_DATA_DIR)")
	workers := flag.Int("workers", 2, "ingestion jobs run at once")
	verbose := flag.Bool("v", false, "debug logs")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := restapi.Run(ctx, log, restapi.Options{Addr: *addr, Dir: *dir, Workers: *workers, Getenv: os.Getenv})
	if err != nil {
		log.Error("httpserver", slog.String("error", err.Error()))
		stop()
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
