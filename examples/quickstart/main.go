// Command quickstart shows MiniRAG embedded in a Go program, offline: it
// creates (or reopens) a SQLite database in a data directory, bootstraps a
// tenant on the first run (and finds it again by slug on the next ones),
// creates a bot with encrypted provider credentials and a text source, and
// prints what it holds. It never prints a secret.
//
//	go run ./examples/quickstart            # data in ./quickstart-data
//	go run ./examples/quickstart -dir /tmp/mrag
//
// The provider API key stored (encrypted) with the bot is read from
// MINIRAG_LLM_API_KEY, or is a dummy value when it is unset.
//
// The Fernet key that encrypts bot credentials is generated on the first
// run and kept in the data directory (mode 0600) so the example is
// self-contained. A production host keeps its keys in a secret manager and
// passes them in Config.EncryptionKeys; it never stores them beside the
// data they protect.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/storage/sqlite"
)

const (
	tenantSlug = "quickstart"
	botName    = "Support bot"
	sourceName = "Welcome text"
	keyFile    = "encryption.key"
	dbFile     = "minirag.db"
)

func main() {
	dir := flag.String("dir", "./quickstart-data", "data directory (created when missing)")
	flag.Parse()
	log.SetFlags(0)
	if err := run(context.Background(), os.Stdout, *dir); err != nil {
		log.Fatalf("quickstart: %v", err)
	}
}

func run(ctx context.Context, w io.Writer, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := loadOrCreateKey(w, filepath.Join(dir, keyFile))
	if err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, dbFile))
	if err != nil {
		return err
	}
	c, err := minirag.New(minirag.Config{Storage: st, EncryptionKeys: []string{key}})
	if err != nil {
		st.Close()
		return err
	}
	defer c.Close()
	fmt.Fprintf(w, "data directory: %s\n", dir)

	// The tenant: bootstrap it on the first run, find it by slug afterwards.
	var h *minirag.TenantHandle
	t, err := c.GetTenantBySlug(ctx, tenantSlug)
	switch {
	case errors.Is(err, minirag.ErrNotFound):
		b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{
			Name:       "Quickstart Inc.",
			Slug:       tenantSlug,
			OwnerEmail: "owner@quickstart.example",
			OwnerName:  "Quickstart Owner",
		})
		if err != nil {
			return err
		}
		t = b.Tenant
		fmt.Fprintf(w, "created tenant %q (%s), owner %s\n", t.Name, t.ID, b.Owner.Email)
		// The bootstrap token's plaintext exists only now. A host would
		// hand it to the owner; here it authenticates this run.
		p, err := c.Authenticate(ctx, b.Token.Plaintext)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "authenticated with API token %s… as %s\n", b.Token.Token.Prefix, p)
		h = c.Scoped(p)
	case err != nil:
		return err
	default:
		fmt.Fprintf(w, "reopened tenant %q (%s)\n", t.Name, t.ID)
		h = c.Tenant(t.ID) // trusted code: the token's plaintext was shown once, on the first run
	}

	bot, err := ensureBot(ctx, w, h)
	if err != nil {
		return err
	}
	if _, err := ensureSource(ctx, w, h, bot.ID); err != nil {
		return err
	}

	// What the tenant holds now.
	toks, err := h.ListAPITokens(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "API tokens:")
	for _, tk := range toks {
		state := "active"
		if tk.RevokedAt != nil {
			state = "revoked"
		}
		fmt.Fprintf(w, "  %-10s %s… scopes=%v %s\n", tk.Name, tk.Prefix, tk.Scopes, state)
	}
	bots, err := h.ListBots(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "bots:")
	for _, b := range bots {
		fmt.Fprintf(w, "  %s %q model=%q temperature=%.1f has_credentials=%t\n", b.ID, b.Name, b.Model, b.Temperature, b.HasCredentials)
	}
	srcs, err := h.ListSources(ctx, bot.ID)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "sources:")
	for _, s := range srcs {
		fmt.Fprintf(w, "  %s %q type=%s status=%s config=%s\n", s.ID, s.Name, s.Type, s.Status, s.Config)
	}
	return nil
}

func ensureBot(ctx context.Context, w io.Writer, h *minirag.TenantHandle) (minirag.Bot, error) {
	bots, err := h.ListBots(ctx)
	if err != nil {
		return minirag.Bot{}, err
	}
	for _, b := range bots {
		if b.Name == botName {
			fmt.Fprintf(w, "reusing bot %q (%s)\n", b.Name, b.ID)
			return b, nil
		}
	}
	apiKey := os.Getenv("MINIRAG_LLM_API_KEY")
	keySource := "MINIRAG_LLM_API_KEY"
	if apiKey == "" {
		apiKey, keySource = "sk-quickstart-dummy-key", "a dummy value"
	}
	b, err := h.CreateBot(ctx, minirag.BotParams{
		Name:               botName,
		Description:        "Answers questions from the quickstart's sources.",
		SystemPrompt:       "Answer only from the passages given. Cite them.",
		Model:              "gpt-4o-mini",
		Temperature:        0.2,
		MaxTokens:          512,
		ExtractiveFallback: true,
		Credentials:        &minirag.Credentials{APIKey: apiKey},
	})
	if err != nil {
		return minirag.Bot{}, err
	}
	fmt.Fprintf(w, "created bot %q (%s) with credentials from %s (stored encrypted)\n", b.Name, b.ID, keySource)
	return b, nil
}

func ensureSource(ctx context.Context, w io.Writer, h *minirag.TenantHandle, botID string) (minirag.Source, error) {
	srcs, err := h.ListSources(ctx, botID)
	if err != nil {
		return minirag.Source{}, err
	}
	for _, s := range srcs {
		if s.Name == sourceName {
			fmt.Fprintf(w, "reusing source %q (%s)\n", s.Name, s.ID)
			return s, nil
		}
	}
	s, err := h.CreateSource(ctx, minirag.SourceParams{
		BotID: botID,
		Name:  sourceName,
		Type:  minirag.SourceText,
		Config: loader.TextConfig{
			Title:   "Welcome",
			Content: "MiniRAG is an embeddable multi-tenant RAG back end for Go programs. Tenants own bots; bots own sources.",
		},
	})
	if err != nil {
		return minirag.Source{}, err
	}
	fmt.Fprintf(w, "created source %q (%s)\n", s.Name, s.ID)
	return s, nil
}

// loadOrCreateKey reads the Fernet key kept in path, creating it (mode
// 0600) on the first run. For the example only: keep real keys in a secret
// manager.
func loadOrCreateKey(w io.Writer, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Printf("warning: %s is readable by others (mode %v); run chmod 600", path, fi.Mode().Perm())
		}
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	key, err := minirag.GenerateEncryptionKey()
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	fmt.Fprintf(w, "generated an encryption key in %s (mode 0600; production keeps keys in a secret manager)\n", path)
	return key, nil
}
