package eval

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/loader"
)

// Env is an embedded MiniRAG stack holding the corpus, ingested as one file
// source of one bot.
type Env struct {
	// Client is the stack; Tenant the handle of the evaluation's tenant.
	Client *minirag.Client
	Tenant *minirag.TenantHandle
	// BotID is the bot searched; Source its one file source.
	BotID  string
	Source minirag.Source
	// Ingest is what the ingestion did.
	Ingest minirag.IngestResult
	// Fusion, RRFK, DenseWeight and LexicalWeight, when not zero, are
	// passed on with every search (hybrid fusion settings; zero means the
	// SDK's defaults). For exploring fusion, not for the reported figures.
	Fusion                     minirag.Fusion
	RRFK                       int
	DenseWeight, LexicalWeight float64
	// keys maps a document ID to its path relative to the corpus root.
	keys map[string]string
}

// Setup opens the default embedded stack (minirag.Open, with opts: for
// example minirag.WithEmbedder to measure another embedding model) in
// workDir, which should be a new empty directory, creates a tenant, a bot and one
// file source over every markdown file of corpusDir, and ingests it.
// Close the Env when done.
func Setup(ctx context.Context, corpusDir, workDir string, opts ...minirag.OpenOption) (*Env, error) {
	abs, err := filepath.Abs(corpusDir)
	if err != nil {
		return nil, fmt.Errorf("eval: corpus: %w", err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("eval: corpus: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("eval: corpus %s: not a directory", abs)
	}
	// The default embedded stack: SQLite, the local vector store, the
	// hashing embedder and the default (markdown-aware) chunkers.
	c, err := minirag.Open(ctx, workDir, opts...)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	env := &Env{Client: c}
	if err := env.load(ctx, abs); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return env, nil
}

func (e *Env) load(ctx context.Context, corpus string) error {
	b, err := e.Client.CreateTenant(ctx, minirag.CreateTenantParams{
		Name: "Retrieval evaluation", Slug: "eval", OwnerEmail: "eval@example.com", OwnerName: "Eval",
	})
	if err != nil {
		return fmt.Errorf("eval: create tenant: %w", err)
	}
	e.Tenant = e.Client.Tenant(b.Tenant.ID)
	bot, err := e.Tenant.CreateBot(ctx, minirag.BotParams{Name: "Prometheus docs"})
	if err != nil {
		return fmt.Errorf("eval: create bot: %w", err)
	}
	e.BotID = bot.ID
	src, err := e.Tenant.CreateSource(ctx, minirag.SourceParams{
		BotID: bot.ID, Name: "prometheus-docs", Type: minirag.SourceFile,
		// The corpus is docs/ and blog/; SOURCE.md describes the copy. The
		// 13 index.md files are front matter only: ingestion skips them
		// (IngestResult.Skipped), as it does any document without text.
		Config: loader.FileConfig{Path: corpus, Include: []string{"**/*.md"}, Exclude: []string{"SOURCE.md"}},
	})
	if err != nil {
		return fmt.Errorf("eval: create source: %w", err)
	}
	e.Source = src
	res, err := e.Tenant.Ingest(ctx, src.ID, minirag.IngestOptions{})
	if err != nil {
		return fmt.Errorf("eval: ingest: %w", err)
	}
	if len(res.Failed) > 0 {
		return fmt.Errorf("eval: ingest: %d documents failed, first: %w", len(res.Failed), res.Failed[0])
	}
	e.Ingest = res
	docs, err := e.Client.Storage().ListDocuments(ctx, b.Tenant.ID, src.ID)
	if err != nil {
		return fmt.Errorf("eval: list documents: %w", err)
	}
	e.keys = make(map[string]string, len(docs))
	for _, d := range docs {
		e.keys[d.ID] = d.Key
	}
	return nil
}

// Documents returns the corpus-relative paths of the ingested documents.
func (e *Env) Documents() map[string]bool {
	out := make(map[string]bool, len(e.keys))
	for _, k := range e.keys {
		out[k] = true
	}
	return out
}

// Search is a Searcher over the Env's bot.
func (e *Env) Search(ctx context.Context, query string, mode minirag.SearchMode, topK int) ([]Hit, error) {
	res, err := e.Tenant.Search(ctx, minirag.SearchRequest{
		BotID: e.BotID, Query: query, TopK: topK, Mode: mode,
		Fusion: e.Fusion, RRFK: e.RRFK, DenseWeight: e.DenseWeight, LexicalWeight: e.LexicalWeight,
	})
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, len(res))
	for i, r := range res {
		key, ok := e.keys[r.DocumentID]
		if !ok {
			return nil, fmt.Errorf("eval: result %s: unknown document %s", r.ChunkID, r.DocumentID)
		}
		hits[i] = Hit{Document: key, Text: r.Text, ChunkID: r.ChunkID, Score: r.Score}
	}
	return hits, nil
}

// Close closes the stack.
func (e *Env) Close() error { return e.Client.Close() }
