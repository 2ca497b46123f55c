package main

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/minirag/minirag/internal/restapi"
)

// serve runs the REST host (package internal/restapi, the API of
// examples/httpserver and docs/httpserver.md) with an ingestion Worker
// until SIGINT or SIGTERM, then shuts down gracefully. Its logs go to
// stderr (JSON with --json); the first one names the address it listens
// on, so --addr 127.0.0.1:0 (a free port) can be found.
func (a *app) serve(ctx context.Context, args []string) error {
	fs := a.flags("serve")
	addr := fs.String("addr", cmp.Or(a.getenv("MINIRAG_ADDR"), "127.0.0.1:8080"), "listen address (env MINIRAG_ADDR)")
	workers := fs.Int("workers", 2, "ingestion jobs run at once")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	if *workers < 1 {
		return usagef("serve: --workers must be at least 1")
	}
	level := slog.LevelInfo
	if a.verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	log := slog.New(slog.NewTextHandler(a.stderr, opts))
	if a.json {
		log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	}
	return restapi.Run(ctx, log, restapi.Options{
		Addr: *addr, Dir: a.dir, Workers: *workers, Getenv: a.getenv, ServiceName: "minirag",
	})
}
