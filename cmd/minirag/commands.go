package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/internal/hostenv"
	"github.com/minirag/minirag/loader"
)

func (a *app) migrate(ctx context.Context, args []string) error {
	fs := a.flags("migrate")
	if err := parse(fs, args); err != nil {
		return err
	}
	// Opening a store applies its pending migrations; Open initializes
	// the vector index for the embedder; Check proves both answer.
	c, desc, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	h := c.Check(ctx, minirag.CheckOptions{SkipEmbedder: true})
	if err := h.Err(); err != nil {
		return err
	}
	return a.emit(map[string]any{"migrated": true, "stack": desc}, func(w io.Writer) {
		fmt.Fprintf(w, "migrated: %s\n", desc)
	})
}

func (a *app) check(ctx context.Context, args []string) error {
	fs := a.flags("check")
	a.tenantFlag(fs)
	bot := fs.String("bot", "", "also check this bot's chat model (a one-token call; needs --tenant)")
	skip := fs.Bool("skip-embedder", false, "leave out the embedder")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	opts := minirag.CheckOptions{SkipEmbedder: *skip}
	if *bot != "" {
		h, err := a.handle(ctx, c)
		if err != nil {
			return err
		}
		opts.TenantID, opts.BotID = h.TenantID(), *bot
	}
	health := c.Check(ctx, opts)
	if err := a.emit(health, func(w io.Writer) {
		for _, b := range health.Backends {
			state := "ok"
			if !b.OK {
				state = "FAIL: " + b.Error
			}
			fmt.Fprintf(w, "%-12s %-20s %8.1fms  %s\n", b.Name, b.Kind, float64(b.Latency.Microseconds())/1000, state)
		}
	}); err != nil {
		return err
	}
	if err := health.Err(); err != nil {
		return partialError{err}
	}
	return nil
}

func (a *app) tenantCreate(ctx context.Context, args []string) error {
	fs := a.flags("tenant create")
	var p minirag.CreateTenantParams
	fs.StringVar(&p.Name, "name", "", "display name (required)")
	fs.StringVar(&p.Slug, "slug", "", "unique handle (required)")
	fs.StringVar(&p.OwnerEmail, "owner-email", "", "the owner's email (required)")
	fs.StringVar(&p.OwnerName, "owner-name", "", "the owner's name")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	b, err := c.CreateTenant(ctx, p)
	if err != nil {
		return err
	}
	out := struct {
		Tenant minirag.Tenant `json:"tenant"`
		Owner  minirag.User   `json:"owner"`
		Token  string         `json:"token"`
	}{b.Tenant, b.Owner, b.Token.Plaintext}
	return a.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "tenant %s (%s) created, owner %s\n", b.Tenant.Slug, b.Tenant.ID, b.Owner.Email)
		fmt.Fprintf(w, "admin API token (shown once): %s\n", b.Token.Plaintext)
	})
}

func (a *app) tenantList(ctx context.Context, args []string) error {
	fs := a.flags("tenant list")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ts, err := c.Storage().ListTenants(ctx)
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []minirag.Tenant{}
	}
	return a.emit(ts, func(w io.Writer) {
		for _, t := range ts {
			fmt.Fprintf(w, "%s\t%s\t%s\n", t.ID, t.Slug, t.Name)
		}
	})
}

func (a *app) tokenCreate(ctx context.Context, args []string) error {
	fs := a.flags("token create")
	a.tenantFlag(fs)
	name := fs.String("name", "", "label (required)")
	scopes := fs.String("scopes", "admin,query", "comma-separated: admin, query")
	bots := fs.String("bots", "", "comma-separated bot IDs a query-only token is limited to")
	expires := fs.Duration("expires", 0, "lifetime (0: never expires)")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := a.handle(ctx, c)
	if err != nil {
		return err
	}
	p := minirag.CreateAPITokenParams{Name: *name, BotIDs: splitList(*bots)}
	for _, s := range splitList(*scopes) {
		p.Scopes = append(p.Scopes, minirag.Scope(s))
	}
	if *expires > 0 {
		t := time.Now().Add(*expires)
		p.ExpiresAt = &t
	}
	tok, err := h.CreateAPIToken(ctx, p)
	if err != nil {
		return err
	}
	out := struct {
		Token minirag.APIToken `json:"api_token"`
		Plain string           `json:"token"`
	}{tok.Token, tok.Plaintext}
	return a.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "token %s (%s) created\n", tok.Token.ID, tok.Token.Name)
		fmt.Fprintf(w, "API token (shown once): %s\n", tok.Plaintext)
	})
}

func (a *app) tokenRevoke(ctx context.Context, args []string) error {
	fs := a.flags("token revoke")
	a.tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("token revoke: one TOKEN_ID is required")
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := a.handle(ctx, c)
	if err != nil {
		return err
	}
	id := fs.Arg(0)
	if err := h.RevokeAPIToken(ctx, id); err != nil {
		return err
	}
	return a.emit(map[string]any{"revoked": id}, func(w io.Writer) { fmt.Fprintf(w, "token %s revoked\n", id) })
}

func (a *app) botCreate(ctx context.Context, args []string) error {
	fs := a.flags("bot create")
	a.tenantFlag(fs)
	var p minirag.BotParams
	fs.StringVar(&p.Name, "name", "", "name (required)")
	fs.StringVar(&p.Description, "description", "", "description")
	fs.StringVar(&p.SystemPrompt, "system-prompt", "", "system prompt")
	fs.StringVar(&p.Model, "model", "", "chat model")
	fs.StringVar(&p.BaseURL, "base-url", "", "OpenAI-compatible endpoint (default OpenAI)")
	fs.Float64Var(&p.Temperature, "temperature", 0, "sampling temperature")
	fs.IntVar(&p.MaxTokens, "max-tokens", 0, "bound of the answer's tokens")
	fs.BoolVar(&p.ExtractiveFallback, "extractive-fallback", false, "answer extractively when the bot cannot call a model")
	fs.StringVar(&p.Language, "language", "", "language of the bot's sources (lexical search)")
	keyEnv := fs.String("api-key-env", "", "name of the environment variable holding the model's API key")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *keyEnv != "" {
		k := a.getenv(*keyEnv)
		if k == "" {
			return fmt.Errorf("--api-key-env: %s is empty or unset: %w", *keyEnv, minirag.ErrInvalidInput)
		}
		p.Credentials = &minirag.Credentials{APIKey: k}
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := a.handle(ctx, c)
	if err != nil {
		return err
	}
	b, err := h.CreateBot(ctx, p)
	if err != nil {
		return err
	}
	return a.emit(b, func(w io.Writer) { fmt.Fprintf(w, "bot %s (%s) created\n", b.ID, b.Name) })
}

func (a *app) botList(ctx context.Context, args []string) error {
	fs := a.flags("bot list")
	a.tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := a.handle(ctx, c)
	if err != nil {
		return err
	}
	bs, err := h.ListBots(ctx)
	if err != nil {
		return err
	}
	if bs == nil {
		bs = []minirag.Bot{}
	}
	return a.emit(bs, func(w io.Writer) {
		for _, b := range bs {
			model := b.Model
			if model == "" {
				model = "-"
			}
			fmt.Fprintf(w, "%s\t%s\tmodel=%s\tactive=%t\n", b.ID, b.Name, model, b.Active)
		}
	})
}

func (a *app) sourceAdd(ctx context.Context, args []string) error {
	fs := a.flags("source add")
	a.tenantFlag(fs)
	bot := fs.String("bot", "", "bot ID (required)")
	name := fs.String("name", "", "name (required)")
	text := fs.String("text", "", "the text itself (a text source)")
	file := fs.String("file", "", "a file or folder (a file source; within MINIRAG_FILE_ROOT, default <dir>/files)")
	url := fs.String("url", "", "a page to load (a url source)")
	maxPages := fs.Int("max-pages", 0, "url: crawl up to this many pages of the site")
	if err := parse(fs, args); err != nil {
		return err
	}
	p := minirag.SourceParams{BotID: *bot, Name: *name}
	n := 0
	if *text != "" {
		n++
		p.Type, p.Config = minirag.SourceText, loader.TextConfig{Content: *text}
	}
	if *file != "" {
		n++
		path, err := filepath.Abs(*file)
		if err != nil {
			return err
		}
		p.Type, p.Config = minirag.SourceFile, loader.FileConfig{Path: path}
	}
	if *url != "" {
		n++
		p.Type, p.Config = minirag.SourceURL, loader.URLConfig{URL: *url, MaxPages: *maxPages}
	}
	if n != 1 {
		return usagef("source add: give one of --text, --file, --url")
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := a.handle(ctx, c)
	if err != nil {
		return err
	}
	s, err := h.CreateSource(ctx, p)
	if err != nil {
		return err
	}
	return a.emit(s, func(w io.Writer) { fmt.Fprintf(w, "source %s (%s, %s) added\n", s.ID, s.Name, s.Type) })
}

func (a *app) sourceList(ctx context.Context, args []string) error {
	fs := a.flags("source list")
	a.tenantFlag(fs)
	bot := fs.String("bot", "", "only this bot's sources")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := a.handle(ctx, c)
	if err != nil {
		return err
	}
	ss, err := h.ListSources(ctx, *bot)
	if err != nil {
		return err
	}
	if ss == nil {
		ss = []minirag.Source{}
	}
	return a.emit(ss, func(w io.Writer) {
		for _, s := range ss {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\tdocuments=%d chunks=%d\n", s.ID, s.Name, s.Type, s.Status, s.DocumentCount, s.ChunkCount)
		}
	})
}

func (a *app) ingest(ctx context.Context, args []string) error {
	fs := a.flags("ingest")
	a.tenantFlag(fs)
	force := fs.Bool("force", false, "embed every document again, changed or not")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("ingest: at least one SOURCE_ID is required")
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := a.handle(ctx, c)
	if err != nil {
		return err
	}
	var results []minirag.IngestResult
	var failed error
	for _, id := range fs.Args() {
		p := newProgress(a.stderr, id, !a.json && isTerminal(a.stderr))
		res, err := h.Ingest(ctx, id, minirag.IngestOptions{Force: *force, Progress: p.report})
		p.finish()
		var ie *minirag.IngestError
		if err != nil && !errors.As(err, &ie) {
			return err
		}
		results = append(results, res)
		if err != nil {
			failed = errors.Join(failed, err)
		}
		if !a.json {
			fmt.Fprintf(a.stdout, "source %s: %d documents, %d chunks (added %d, updated %d, unchanged %d, deleted %d, embedded %d chunks, %d failed, %d skipped)\n",
				id, res.Documents, res.Chunks, res.Added, res.Updated, res.Unchanged, res.Deleted, res.Embedded, len(res.Failed), len(res.Skipped))
			for _, f := range res.Failed {
				fmt.Fprintf(a.stdout, "  failed: %s: %s\n", f.Key, trimPrefix(f.Err))
			}
		}
	}
	if a.json {
		if err := a.emit(results, nil); err != nil {
			return err
		}
	}
	if failed != nil {
		return partialError{failed}
	}
	return nil
}

func (a *app) search(ctx context.Context, args []string) error {
	fs := a.flags("search")
	a.tenantFlag(fs)
	var req minirag.SearchRequest
	fs.StringVar(&req.BotID, "bot", "", "bot ID (required)")
	mode := fs.String("mode", "", "hybrid (default), dense or lexical")
	fs.IntVar(&req.TopK, "top-k", 0, "results (default 5)")
	if err := parse(fs, args); err != nil {
		return err
	}
	req.Query = strings.Join(fs.Args(), " ")
	req.Mode = minirag.SearchMode(*mode)
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := a.handle(ctx, c)
	if err != nil {
		return err
	}
	rs, err := h.Search(ctx, req)
	if err != nil {
		return err
	}
	return a.emit(rs, func(w io.Writer) {
		for i, r := range rs {
			fmt.Fprintf(w, "%d. %s (score %.3g)\n   %s\n", i+1, r.DocumentTitle, r.Score, oneLine(r.Text, 160))
		}
	})
}

func (a *app) ask(ctx context.Context, args []string) error {
	fs := a.flags("ask")
	a.tenantFlag(fs)
	var req minirag.AskRequest
	fs.StringVar(&req.BotID, "bot", "", "bot ID (required)")
	fs.BoolVar(&req.Extractive, "extractive", false, "answer with sentences of the passages, without a model")
	mode := fs.String("mode", "", "retrieval: hybrid (default), dense or lexical")
	fs.IntVar(&req.TopK, "top-k", 0, "passages retrieved (default 6)")
	if err := parse(fs, args); err != nil {
		return err
	}
	req.Question = strings.Join(fs.Args(), " ")
	req.Mode = minirag.SearchMode(*mode)
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := a.handle(ctx, c)
	if err != nil {
		return err
	}
	for d, err := range h.AskStream(ctx, req) {
		if err != nil {
			if !a.json {
				fmt.Fprintln(a.stdout)
			}
			return err
		}
		if d.Done {
			if a.json {
				return a.emit(d.Answer, nil)
			}
			fmt.Fprintln(a.stdout)
			for _, ct := range d.Answer.Citations {
				fmt.Fprintf(a.stdout, "[%d] %s\n", ct.Marker, ct.DocumentTitle)
			}
			return nil
		}
		if !a.json {
			fmt.Fprint(a.stdout, d.Content)
		}
	}
	return errors.New("the answer stream ended early")
}

// rotateKeys re-encrypts every bot credential under a new first key.
//
// With MINIRAG_ENCRYPTION_KEYS, the operator has put the new key first:
// the credentials are re-encrypted under it; afterwards the old keys can
// be dropped from the variable. On the embedded stack without that
// variable, the key file <dir>/secret.key is replaced: a new key is
// written to secret.key.new first, the credentials are re-encrypted under
// it (the old key still opens those not yet done), and only then does it
// replace secret.key. An interrupted run is finished by running it again,
// which reuses secret.key.new.
func (a *app) rotateKeys(ctx context.Context, args []string) error {
	fs := a.flags("rotate-keys")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(hostenv.Keys(a.getenv)) > 0 || !hostenv.Embedded(a.getenv) {
		c, _, err := a.open(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		n, err := c.RotateCredentials(ctx)
		if err != nil {
			return err
		}
		return a.emit(map[string]any{"rotated": n}, func(w io.Writer) {
			fmt.Fprintf(w, "%d bot credentials re-encrypted under the first key of MINIRAG_ENCRYPTION_KEYS\n", n)
		})
	}
	keyFile := filepath.Join(a.dir, minirag.OpenKeyFile)
	old, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("rotate-keys: read the key file: %w", err)
	}
	next := keyFile + ".new"
	nb, err := os.ReadFile(next)
	var newKey string
	switch {
	case err == nil:
		newKey = strings.TrimSpace(string(nb)) // an earlier run was interrupted
	case errors.Is(err, os.ErrNotExist):
		if newKey, err = minirag.GenerateEncryptionKey(); err != nil {
			return err
		}
		if err := writeFileSync(next, []byte(newKey+"\n")); err != nil {
			return fmt.Errorf("rotate-keys: write %s: %w", next, err)
		}
	default:
		return fmt.Errorf("rotate-keys: read %s: %w", next, err)
	}
	if err := minirag.ValidateEncryptionKey(newKey); err != nil {
		return fmt.Errorf("rotate-keys: %s: %w", next, err)
	}
	oldKey := strings.TrimSpace(string(old))
	c, _, err := a.open(ctx, func(cfg *minirag.Config) { cfg.EncryptionKeys = []string{newKey, oldKey} })
	if err != nil {
		return err
	}
	n, err := c.RotateCredentials(ctx)
	c.Close()
	if err != nil {
		return fmt.Errorf("%w (the new key stays in %s; run rotate-keys again)", err, next)
	}
	if err := os.Rename(next, keyFile); err != nil {
		return fmt.Errorf("rotate-keys: replace the key file: %w", err)
	}
	return a.emit(map[string]any{"rotated": n}, func(w io.Writer) {
		fmt.Fprintf(w, "%d bot credentials re-encrypted; %s holds the new key\n", n, keyFile)
	})
}

// writeFileSync writes a new file of mode 0600 and syncs it.
func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	return errors.Join(werr, f.Sync(), f.Close())
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// oneLine flattens s and cuts it to n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// reconcile repairs the vector index against Storage (Client.Reconcile):
// every tenant, or --tenant's only.
func (a *app) reconcile(ctx context.Context, args []string) error {
	fs := a.flags("reconcile")
	a.tenantFlag(fs)
	dry := fs.Bool("dry-run", false, "report what would be repaired, change nothing")
	meta := fs.Bool("metadata", false, "also write every document's metadata to its vectors (once, after an upgrade)")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	opts := minirag.ReconcileOptions{DryRun: *dry, Metadata: *meta}
	var rep minirag.ReconcileReport
	if a.tenant != "" {
		h, herr := a.handle(ctx, c)
		if herr != nil {
			return herr
		}
		rep, err = h.Reconcile(ctx, opts)
	} else {
		rep, err = c.Reconcile(ctx, opts)
	}
	if eerr := a.emit(rep, func(w io.Writer) {
		verb := "repaired"
		if rep.DryRun {
			verb = "dry run"
		}
		fmt.Fprintf(w, "%s: %d tenants, %d chunks, %d vectors; %d missing vectors, %d mislabelled, %d orphans; %d embedded, %d deleted\n",
			verb, rep.Tenants, rep.Chunks, rep.Vectors, rep.MissingVectors, rep.Mislabelled, rep.Orphans, rep.Embedded, rep.Deleted)
	}); eerr != nil {
		return eerr
	}
	return err
}
