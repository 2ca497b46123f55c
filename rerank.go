package minirag

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/rerank"
)

// RerankerFunc builds the reranker of a bot with a rerank endpoint
// (Config.Reranker), from the bot and its credentials, decrypted for this
// call only: do not keep, log or return them.
type RerankerFunc func(ctx context.Context, bot Bot, cred Credentials) (rerank.Reranker, error)

// BotRerank is a bot's rerank endpoint (Bot.Rerank).
type BotRerank = record.BotRerank

// DefaultRerankTopN is how many fused candidates are reranked when
// BotRerank.TopN is 0.
const DefaultRerankTopN = 20

// maxRerankTopN bounds BotRerank.TopN.
const maxRerankTopN = 200

// validateRerank checks a bot's rerank endpoint.
func validateRerank(v *record.ValidationError, r *BotRerank) {
	if r == nil {
		return
	}
	r.URL = strings.TrimSpace(r.URL)
	if _, err := rerank.NewHTTP(rerank.Config{URL: r.URL, API: r.API}); err != nil {
		msg := strings.TrimPrefix(err.Error(), "rerank: ")
		field := "rerank.url"
		if strings.HasPrefix(msg, "api") {
			field = "rerank.api"
		}
		v.Add(field, msg)
	}
	if r.TopN < 0 || r.TopN > maxRerankTopN {
		v.Add("rerank.top_n", fmt.Sprintf("must be between 0 and %d", maxRerankTopN))
	}
	if len(r.Model) > maxNameLen {
		v.Add("rerank.model", fmt.Sprintf("must be at most %d characters", maxNameLen))
	}
}

// rerankTopN is how many candidates a bot reranks (0 without a rerank
// endpoint).
func rerankTopN(b Bot) int {
	if b.Rerank == nil {
		return 0
	}
	if b.Rerank.TopN > 0 {
		return b.Rerank.TopN
	}
	return DefaultRerankTopN
}

// botReranker builds the bot's reranker with its credentials.
func (c *Client) botReranker(ctx context.Context, b Bot) (rerank.Reranker, error) {
	if err := c.checkRerankEndpoint(ctx, b.Rerank.URL); err != nil {
		return nil, fmt.Errorf("minirag: reranker of bot %s: %w", b.ID, err)
	}
	cred, err := c.botCredentials(ctx, b)
	if err != nil {
		return nil, err
	}
	if c.reranker != nil {
		r, err := c.reranker(ctx, b, cred)
		if err != nil {
			return nil, fmt.Errorf("minirag: reranker of bot %s: %w", b.ID, err)
		}
		return r, nil
	}
	r, err := rerank.NewHTTP(rerank.Config{URL: b.Rerank.URL, Model: b.Rerank.Model, API: b.Rerank.API,
		APIKey: cred.RerankAPIKey, HTTPClient: c.modelHTTP})
	if err != nil {
		return nil, fmt.Errorf("minirag: reranker of bot %s: %w", b.ID, err)
	}
	return r, nil
}

// rerankResults reorders results (the bot's top fused candidates, with
// their texts) by the bot's reranker and keeps topK. A result's Score
// becomes the reranker's score; the fused one stays in FusedScore.
func (h *TenantHandle) rerankResults(ctx context.Context, b Bot, query string, results []SearchResult, topK int) ([]SearchResult, error) {
	if len(results) == 0 {
		return results, nil
	}
	r, err := h.c.botReranker(ctx, b)
	if err != nil {
		return nil, err
	}
	docs := make([]string, len(results))
	for i, res := range results {
		docs[i] = res.Text
		if res.DocumentTitle != "" {
			docs[i] = res.DocumentTitle + "\n" + res.Text
		}
	}
	ranked, err := r.Rerank(ctx, query, docs, topK)
	if err != nil {
		return nil, fmt.Errorf("minirag: rerank (bot %s): %w", b.ID, err)
	}
	model := b.Rerank.Model
	if model == "" {
		model = "rerank"
	}
	if tok, err := h.c.tokenizer(); err == nil {
		n := tok.Count(query) * len(docs)
		for _, d := range docs {
			n += tok.Count(d)
		}
		h.c.recordUsage(ctx, record.Usage{TenantID: h.p.TenantID, BotID: b.ID, Model: model, Kind: UsageRerank, Requests: 1, InputTokens: int64(n)})
	}
	out := make([]SearchResult, 0, len(ranked))
	for _, rr := range ranked {
		if rr.Index < 0 || rr.Index >= len(results) {
			continue
		}
		res := results[rr.Index]
		res.FusedScore = res.Score
		res.Score = rr.Score
		res.Reranked = true
		out = append(out, res)
		if len(out) == topK {
			break
		}
	}
	return out, nil
}

// checkRerankEndpoint is checkModelEndpoint for a bot's rerank URL, its
// errors naming rerank.url.
func (c *Client) checkRerankEndpoint(ctx context.Context, raw string) error {
	err := c.checkModelEndpoint(ctx, raw)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, loader.ErrBlockedAddress):
		return fmt.Errorf("%w: %w", loader.ErrBlockedAddress,
			record.Invalid("rerank.url", "names a non-public address, which this server does not call"))
	}
	return record.Invalid("rerank.url", "must be an absolute http or https URL")
}
