package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/internal/hostenv"
)

var (
	errInvalid  = minirag.ErrInvalidInput
	errNotFound = minirag.ErrNotFound
	errConflict = minirag.ErrConflict
)

// app is one invocation: its streams, environment and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	dir     string
	json    bool
	verbose bool
	tenant  string
}

// flags returns a FlagSet for cmd holding the global flags too.
func (a *app) flags(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet("minirag "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.dir, "dir", a.dir, "data folder of the embedded stack (env MINIRAG_DATA_DIR)")
	fs.BoolVar(&a.json, "json", a.json, "print JSON")
	fs.BoolVar(&a.verbose, "v", a.verbose, "debug logs on stderr")
	return fs
}

// tenantFlag adds --tenant to fs.
func (a *app) tenantFlag(fs *flag.FlagSet) {
	fs.StringVar(&a.tenant, "tenant", a.getenv("MINIRAG_TENANT"), "tenant slug or ID (env MINIRAG_TENANT)")
}

// parse parses args into fs; a flag error is a usage error.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usagef("%s: help requested", fs.Name())
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

func (a *app) dispatch(ctx context.Context, args []string) error {
	a.dir = a.getenv("MINIRAG_DATA_DIR")
	if a.dir == "" {
		a.dir = "./minirag-data"
	}
	fs := a.flags("")
	if err := parse(fs, args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) == 0 {
		return usagef("a command is required")
	}
	cmd, rest := args[0], args[1:]
	sub := func() (string, []string, error) {
		if len(rest) == 0 {
			return "", nil, usagef("%s: a subcommand is required", cmd)
		}
		return rest[0], rest[1:], nil
	}
	switch cmd {
	case "migrate":
		return a.migrate(ctx, rest)
	case "check":
		return a.check(ctx, rest)
	case "tenant", "token", "bot", "source":
		s, r, err := sub()
		if err != nil {
			return err
		}
		switch cmd + " " + s {
		case "tenant create":
			return a.tenantCreate(ctx, r)
		case "tenant list":
			return a.tenantList(ctx, r)
		case "tenant delete":
			return a.tenantDelete(ctx, r)
		case "token create":
			return a.tokenCreate(ctx, r)
		case "token revoke":
			return a.tokenRevoke(ctx, r)
		case "bot create":
			return a.botCreate(ctx, r)
		case "bot list":
			return a.botList(ctx, r)
		case "source add":
			return a.sourceAdd(ctx, r)
		case "source list":
			return a.sourceList(ctx, r)
		}
		return usagef("unknown command %q", cmd+" "+s)
	case "ingest":
		return a.ingest(ctx, rest)
	case "search":
		return a.search(ctx, rest)
	case "ask":
		return a.ask(ctx, rest)
	case "reconcile":
		return a.reconcile(ctx, rest)
	case "rotate-keys":
		return a.rotateKeys(ctx, rest)
	case "serve":
		return a.serve(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprint(a.stdout, usageText)
		return nil
	}
	return usagef("unknown command %q", cmd)
}

// logger logs to stderr: warnings, or everything with -v.
func (a *app) logger() *slog.Logger {
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
}

// open opens the Client the environment describes.
func (a *app) open(ctx context.Context, mods ...func(*minirag.Config)) (*minirag.Client, string, error) {
	return hostenv.OpenClient(ctx, a.logger(), a.dir, a.getenv, mods...)
}

// handle resolves --tenant (a slug, else an ID) to a trusted handle.
func (a *app) handle(ctx context.Context, c *minirag.Client) (*minirag.TenantHandle, error) {
	if a.tenant == "" {
		return nil, usagef("--tenant is required (a slug or ID; env MINIRAG_TENANT)")
	}
	t, err := c.GetTenantBySlug(ctx, a.tenant)
	if errors.Is(err, minirag.ErrNotFound) || errors.Is(err, minirag.ErrInvalidInput) {
		t, err = c.GetTenant(ctx, a.tenant)
		if errors.Is(err, minirag.ErrInvalidInput) {
			err = fmt.Errorf("tenant %q: %w", a.tenant, minirag.ErrNotFound)
		}
	}
	if err != nil {
		return nil, err
	}
	return c.Tenant(t.ID), nil
}

// emit prints v as JSON with --json, else the text of human.
func (a *app) emit(v any, human func(w io.Writer)) error {
	if a.json {
		enc := json.NewEncoder(a.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	human(a.stdout)
	return nil
}

// trimPrefix drops the "minirag: " the SDK's errors start with.
func trimPrefix(err error) string {
	return strings.TrimPrefix(err.Error(), "minirag: ")
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// when formats a time for listings.
func when(t time.Time) string { return t.UTC().Format(time.RFC3339) }
