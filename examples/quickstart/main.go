// Command quickstart shows MiniRAG embedded in a Go program, offline: it
// opens (or reopens) the embedded stack in a data directory with
// minirag.Open, bootstraps a tenant on the first run (and finds it again by
// slug on the next ones), creates a bot with encrypted provider
// credentials and a file source over a few markdown documents shipped with
// the example, ingests them (progress on stderr), and answers three
// searches with scores and titles. A second run finds nothing changed and
// embeds nothing. Then the bot answers the same questions with citations
// (TenantHandle.Ask): extractively, offline, by default; through a chat
// model when an OpenAI-compatible endpoint is configured:
//
//	MINIRAG_CHAT_BASE_URL   the endpoint, for example http://127.0.0.1:11434/v1 (Ollama)
//	MINIRAG_CHAT_MODEL      the model (default: the bot's, gpt-4o-mini)
//	MINIRAG_CHAT_API_KEY    its API key, stored encrypted with the bot (optional)
//
// It never prints a secret.
//
//	go run ./examples/quickstart            # data in ./quickstart-data
//	go run ./examples/quickstart -dir /tmp/mrag
//
// The documents (docs/*.md, about "Orbit", a fictional uptime monitor
// written for this example) are embedded in the binary and copied to
// <dir>/docs on the first run; edit a copy there and run again to see only
// that document re-ingested.
//
// The provider API key stored (encrypted) with the bot is read from
// MINIRAG_LLM_API_KEY, or is a dummy value when it is unset.
//
// minirag.Open generates the Fernet key that encrypts bot credentials on
// the first run and keeps it in the data directory (secret.key, mode 0600)
// so the example is self-contained. A production host keeps its keys in a
// secret manager and passes them with minirag.WithEncryptionKeys (or
// Config.EncryptionKeys); it never stores them beside the data they
// protect.
package main

import (
	"context"
	"embed"
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
)

const (
	tenantSlug = "quickstart"
	botName    = "Support bot"
	sourceName = "Orbit handbook"
	docsDir    = "docs"
)

// docs are the markdown documents the example ingests.
//
//go:embed docs/*.md
var docs embed.FS

// questions are the searches the example answers.
var questions = []string{
	"How do I send alerts to Slack?",
	"How can I restore a backup?",
	"How much does the team plan cost per month?",
}

func main() {
	dir := flag.String("dir", "./quickstart-data", "data directory (created when missing)")
	flag.Parse()
	log.SetFlags(0)
	if err := run(context.Background(), os.Stdout, os.Stderr, *dir); err != nil {
		log.Fatalf("quickstart: %v", err)
	}
}

// run is the example: w receives the results, progress the ingestion's
// progress.
func run(ctx context.Context, w, progress io.Writer, dir string) error {
	_, keyErr := os.Stat(filepath.Join(dir, minirag.OpenKeyFile))
	c, err := minirag.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(w, "data directory: %s\n", dir)
	if errors.Is(keyErr, fs.ErrNotExist) {
		fmt.Fprintf(w, "generated an encryption key in %s (mode 0600; production keeps keys in a secret manager)\n",
			filepath.Join(dir, minirag.OpenKeyFile))
	}

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
	src, err := ensureSource(ctx, w, h, bot.ID, dir)
	if err != nil {
		return err
	}

	// Ingest: the first run embeds every document; later runs only what
	// changed in <dir>/docs.
	res, err := h.Ingest(ctx, src.ID, minirag.IngestOptions{Progress: func(p minirag.IngestProgress) {
		if p.Done {
			fmt.Fprintf(progress, "ingest: done, %d documents, %d chunks embedded\n", p.DocumentsTotal, p.Chunks)
			return
		}
		fmt.Fprintf(progress, "ingest: %d documents (%d unchanged, %d failed), %d chunks embedded: %s\n",
			p.Documents, p.Unchanged, p.Failed, p.Chunks, p.Key)
	}})
	if err != nil {
		return err
	}
	if res.Embedded == 0 && res.Deleted == 0 {
		fmt.Fprintf(w, "nothing changed: %d documents unchanged, 0 chunks embedded\n", res.Unchanged)
	} else {
		fmt.Fprintf(w, "ingested %q: %d added, %d updated, %d unchanged, %d deleted; %d chunks embedded in %s\n",
			src.Name, res.Added, res.Updated, res.Unchanged, res.Deleted, res.Embedded, res.Duration.Round(1e6))
	}
	fmt.Fprintf(w, "source holds %d documents, %d chunks\n", res.Documents, res.Chunks)

	// Search: hybrid (dense + lexical, fused) by default.
	for _, q := range questions {
		hits, err := h.Search(ctx, minirag.SearchRequest{BotID: bot.ID, Query: q, TopK: 3})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nQ: %s\n", q)
		for i, r := range hits {
			section := strings.Join(r.HeadingPath, " › ")
			fmt.Fprintf(w, "  %d. %.4f  %s — %s  (found by %s)\n     %s\n", i+1, r.Score, r.DocumentTitle, section,
				strings.Join(r.FoundBy, "+"), snippet(r.Text, 110))
		}
	}
	fmt.Fprintln(w)

	// Answers, grounded in the passages and citing them.
	if err := answer(ctx, w, h, bot); err != nil {
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

// answer asks the bot the questions: through its chat model when
// MINIRAG_CHAT_BASE_URL is set (the bot is pointed at it first), else
// extractively, with no network.
func answer(ctx context.Context, w io.Writer, h *minirag.TenantHandle, bot minirag.Bot) error {
	base := os.Getenv("MINIRAG_CHAT_BASE_URL")
	extractive := base == ""
	if extractive {
		fmt.Fprintln(w, "answers (extractive: set MINIRAG_CHAT_BASE_URL to answer with a chat model):")
	} else {
		u := minirag.BotUpdate{BaseURL: &base}
		if m := os.Getenv("MINIRAG_CHAT_MODEL"); m != "" {
			u.Model = &m
		}
		if k := os.Getenv("MINIRAG_CHAT_API_KEY"); k != "" {
			u.Credentials = &minirag.Credentials{APIKey: k}
		}
		var err error
		if bot, err = h.UpdateBot(ctx, bot.ID, u); err != nil {
			return err
		}
		fmt.Fprintf(w, "answers (model %s at %s):\n", bot.Model, bot.BaseURL)
	}
	for _, q := range questions {
		a, err := h.Ask(ctx, minirag.AskRequest{BotID: bot.ID, Question: q, Extractive: extractive})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nQ: %s\nA: %s\n", q, strings.Join(strings.Fields(a.Text), " "))
		for _, c := range a.Citations {
			fmt.Fprintf(w, "   [%d] %s (%s)\n", c.Marker, c.DocumentTitle, filepath.Base(c.URI))
		}
		if !a.Extractive {
			fmt.Fprintf(w, "   %d passages, %d tokens\n", len(a.Passages), a.Usage.TotalTokens)
		}
	}
	fmt.Fprintln(w)
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

// ensureSource returns the file source over <dir>/docs, creating it, and
// copying the example's documents there, on the first run.
func ensureSource(ctx context.Context, w io.Writer, h *minirag.TenantHandle, botID, dir string) (minirag.Source, error) {
	path, err := filepath.Abs(filepath.Join(dir, docsDir))
	if err != nil {
		return minirag.Source{}, err
	}
	if err := copyDocs(path); err != nil {
		return minirag.Source{}, err
	}
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
		BotID:  botID,
		Name:   sourceName,
		Type:   minirag.SourceFile,
		Config: loader.FileConfig{Path: path, Include: []string{"*.md"}},
	})
	if err != nil {
		return minirag.Source{}, err
	}
	fmt.Fprintf(w, "created source %q (%s) over %s\n", s.Name, s.ID, path)
	return s, nil
}

// copyDocs writes the embedded documents to dst, leaving files that exist
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
