// Command minirag is the operator's command for a MiniRAG deployment:
// migrate the schema, manage tenants, API tokens, bots and sources, ingest,
// search, ask, check the backends and rotate the encryption keys, without
// writing a program.
//
//	go run ./cmd/minirag tenant create --name Acme --slug acme --owner-email owner@acme.example
//	go run ./cmd/minirag bot create --tenant acme --name Docs --extractive-fallback
//	go run ./cmd/minirag source add --tenant acme --bot <bot-id> --name handbook --file ./handbook
//	go run ./cmd/minirag ingest --tenant acme <source-id>
//	go run ./cmd/minirag ask --tenant acme --bot <bot-id> "How long are samples kept?"
//
// Usage:
//
//	minirag [global flags] <command> [flags] [args]
//
// Commands:
//
//	migrate                     create or upgrade the storage schema and the vector index
//	check                       check the backends (storage, vector store, embedder[, --bot's model])
//	tenant create|list          bootstrap a tenant (prints its owner's admin token once); list tenants
//	tenant delete --yes         erase --tenant and all its data (Client.DeleteTenant; resumable)
//	token create|revoke         create an API token (printed once); revoke one
//	bot create|list             create a bot; list a tenant's bots
//	source add|list             add a text, file or url source; list sources
//	ingest SOURCE_ID...         ingest sources (a progress bar on a terminal, plain lines when piped)
//	search QUERY                search a bot's sources
//	ask QUESTION                ask a bot, the answer streamed as it is written
//	reconcile                   repair the vector index against storage (--dry-run to report only; --metadata after an upgrade)
//	rotate-keys                 re-encrypt bot credentials under a new first key
//	serve                       serve the REST API (package internal/restapi, docs/httpserver.md)
//	                            with an ingestion worker until SIGINT/SIGTERM (--addr, env MINIRAG_ADDR,
//	                            default 127.0.0.1:8080; --workers; MINIRAG_METRICS_ADDR, OTEL_EXPORTER_OTLP_*)
//
// Global flags (before or after the command): --dir (env MINIRAG_DATA_DIR,
// default ./minirag-data) is the embedded stack's folder; --json prints
// JSON for scripts; -v logs at debug level to stderr. The environment
// selects services exactly as for examples/httpserver (see package
// internal/hostenv): MINIRAG_POSTGRES_URL, MINIRAG_PGVECTOR_URL,
// MINIRAG_QDRANT_ADDR, MINIRAG_EMBED_BASE_URL…, MINIRAG_ENCRYPTION_KEYS,
// MINIRAG_JWT_SECRET, MINIRAG_FILE_ROOT. --tenant takes a tenant's slug
// or ID (env MINIRAG_TENANT).
//
// Exit codes:
//
//	0  success
//	1  failure (a backend, the network, an unexpected error)
//	2  usage: unknown command or flag, missing argument
//	3  invalid input (the message names the field)
//	4  not found (tenant, bot, source, token)
//	5  conflict (a slug or name already taken, an inactive bot)
//	6  partly done: an ingestion with failed documents, or an unhealthy check
//
// Secrets (API token plaintexts) are printed only by the command that
// creates them; a bot's API key is read from the environment variable
// named by --api-key-env, never from a flag (flags show in ps).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitInvalid  = 3
	exitNotFound = 4
	exitConflict = 5
	exitPartial  = 6
)

// usageError is a command line mistake (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// partialError is a command that did part of its work (exit 6).
type partialError struct{ err error }

func (e partialError) Error() string { return e.err.Error() }
func (e partialError) Unwrap() error { return e.err }

const usageText = `usage: minirag [--dir DIR] [--json] [-v] <command> [flags] [args]

commands:
  migrate                      create or upgrade the storage schema and the vector index
  check [--bot ID --tenant T]  check the backends
  tenant create --name N --slug S --owner-email E [--owner-name N]
  tenant list
  tenant delete --tenant T --yes
  token create --tenant T --name N [--scopes admin,query] [--bots ID,ID] [--expires 720h]
  token revoke --tenant T TOKEN_ID
  bot create --tenant T --name N [--model M --base-url U --api-key-env VAR] [--system-prompt P] [--extractive-fallback]
  bot list --tenant T
  source add --tenant T --bot ID --name N (--text TEXT | --file PATH | --url URL)
  source list --tenant T [--bot ID]
  ingest --tenant T [--force] SOURCE_ID...
  search --tenant T --bot ID [--mode hybrid|dense|lexical] [--top-k K] QUERY
  ask --tenant T --bot ID [--extractive] QUESTION
  reconcile [--tenant T] [--dry-run] [--metadata]
  rotate-keys
  serve [--addr HOST:PORT] [--workers N]   the REST API until SIGINT/SIGTERM (logs on stderr)

exit codes: 0 ok, 1 failure, 2 usage, 3 invalid input, 4 not found, 5 conflict, 6 partly done
`

// run runs one command line and returns its exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	err := a.dispatch(ctx, args)
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if code == exitUsage {
		fmt.Fprintf(stderr, "minirag: %v\n\n%s", err, usageText)
	} else {
		fmt.Fprintf(stderr, "minirag: %v\n", trimPrefix(err))
	}
	return code
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var ue usageError
	var pe partialError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &pe):
		return exitPartial
	case errors.Is(err, errInvalid):
		return exitInvalid
	case errors.Is(err, errNotFound):
		return exitNotFound
	case errors.Is(err, errConflict):
		return exitConflict
	}
	return exitFailure
}
