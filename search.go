package minirag

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/internal/telemetry"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// SearchMode picks the candidate lists a search uses.
type SearchMode string

// Search modes.
const (
	// SearchHybrid (the default) fuses the dense and lexical rankings (see
	// Fusion).
	SearchHybrid SearchMode = "hybrid"
	// SearchDense ranks chunks by the cosine similarity of their vectors
	// to the query's embedding.
	SearchDense SearchMode = "dense"
	// SearchLexical ranks chunks by full-text relevance (BM25: FTS5 on SQLite,
	// the tsvector on PostgreSQL) over chunk text and document title.
	SearchLexical SearchMode = "lexical"
)

// Valid reports whether m is a known mode; the empty mode is SearchHybrid.
func (m SearchMode) Valid() bool {
	return m == "" || m == SearchHybrid || m == SearchDense || m == SearchLexical
}

// Fusion is how hybrid search merges the dense and lexical rankings.
//
// The default (SearchRequest.Fusion empty) depends on the embedder,
// because how much the dense ranking adds depends on what it measures:
//
//   - a lexical embedder (one with the optional method Lexical() bool of
//     package embed returning true, as embed/hashing, the embedded stack's
//     default, does; a wrapper must forward it) makes
//     vectors of shared words and word fragments, a weaker copy of what the
//     lexical index already ranks (no inverse document frequency): the
//     default is FusionScores with weights dense 0.20, lexical 0.80, so
//     that the dense ranking mostly reorders chunks that BM25 scores alike;
//   - any other embedder (a semantic model): FusionRRF with k = DefaultRRFK
//     and equal weights, the usual default when the two rankings make
//     different mistakes.
//
// The first was measured on the labeled set of package eval (the weight
// chosen on one half of the questions, checked on the other; see
// docs/QUALITY.md). The second was not measured: no semantic model was
// available offline. With a semantic model, measure before relying on
// either (go run ./eval/cmd/quality -embed-url ... -embed-model ...).
type Fusion string

// Fusion methods.
const (
	// FusionScores normalizes each list's scores over its candidates
	// (min-max: the best candidate 1, the worst 0; a chunk missing from a
	// list gets 0 there) and takes their weighted mean, score =
	// (DenseWeight·dense + LexicalWeight·lexical) / (DenseWeight +
	// LexicalWeight), between 0 and 1. The size of a score matters, not
	// only its rank: a chunk far ahead in one list stays ahead.
	FusionScores Fusion = "scores"
	// FusionRRF is reciprocal rank fusion: score = Σ weight / (RRFK +
	// rank) over the lists that found the chunk. Only ranks matter; a chunk
	// found by both lists gains over one ranked first by a single list.
	FusionRRF Fusion = "rrf"
)

// Valid reports whether f is a known fusion; the empty fusion is the
// embedder's default (see Fusion).
func (f Fusion) Valid() bool { return f == "" || f == FusionScores || f == FusionRRF }

// Default hybrid weights of FusionScores over a lexical embedder (see
// Fusion): chosen on half of the labeled set of package eval, checked on
// the other half (docs/QUALITY.md).
const (
	// LexicalEmbedderDenseWeight is the default DenseWeight.
	LexicalEmbedderDenseWeight = 0.20
	// LexicalEmbedderLexicalWeight is the default LexicalWeight.
	LexicalEmbedderLexicalWeight = 0.80
)

// Search defaults and bounds.
const (
	// DefaultTopK is SearchRequest.TopK when it is 0.
	DefaultTopK = 5
	// MaxTopK bounds SearchRequest.TopK.
	MaxTopK = 1000
	// DefaultRRFK is the reciprocal-rank-fusion constant k (FusionRRF)
	// when SearchRequest.RRFK is 0.
	DefaultRRFK = 60
	// maxQueryBytes bounds a query.
	maxQueryBytes = 8 << 10
	// maxSourceIDs bounds SearchRequest.SourceIDs (storage and vector
	// store filters take one parameter per ID).
	maxSourceIDs = 1000
)

// Who found a search result.
const (
	FoundByDense   = "dense"
	FoundByLexical = "lexical"
)

// SearchRequest is a retrieval over one bot's sources.
type SearchRequest struct {
	// BotID is the bot whose sources are searched (required).
	BotID string `json:"bot_id"`
	// Query is the text searched for (required, at most 8 KiB).
	Query string `json:"query"`
	// TopK is how many results at most: 0 means DefaultTopK, at most
	// MaxTopK.
	TopK int `json:"top_k,omitempty"`
	// SourceIDs, when not empty, limits the search to these sources of the
	// bot (at most 1000).
	SourceIDs []string `json:"source_ids,omitempty"`
	// MinScore, when not zero, drops results whose Score is below it. The
	// scale is the mode's: cosine similarity (-1 to 1) for dense, the
	// lexical score for lexical (higher is better), the fused score for
	// hybrid (0 to 1 with FusionScores; at most
	// (DenseWeight+LexicalWeight)/(RRFK+1) with FusionRRF).
	// MinScore, like the weights, must be a finite number (NaN and ±Inf
	// are ErrInvalidInput).
	MinScore float64 `json:"min_score,omitempty"`
	// Mode is hybrid (default), dense or lexical.
	Mode SearchMode `json:"mode,omitempty"`
	// Fusion is how hybrid merges the two rankings: FusionScores or
	// FusionRRF; empty means the embedder's default (see Fusion). Ignored
	// by the other modes.
	Fusion Fusion `json:"fusion,omitempty"`
	// RRFK is the constant k of reciprocal rank fusion (FusionRRF only),
	// score = Σ weight / (k + rank); 0 means DefaultRRFK. A larger k
	// flattens the difference between top ranks.
	RRFK int `json:"rrf_k,omitempty"`
	// DenseWeight and LexicalWeight weigh the two rankings in hybrid
	// fusion; 0 means the default weight: 1, except with FusionScores over
	// a lexical embedder, where they are LexicalEmbedderDenseWeight and
	// LexicalEmbedderLexicalWeight.
	DenseWeight   float64 `json:"dense_weight,omitempty"`
	LexicalWeight float64 `json:"lexical_weight,omitempty"`
	// Filter, when not zero, keeps only chunks of documents whose
	// Metadata match it (package filter), applied inside each backend
	// before ranking (the VectorStore's scan, Storage's full-text query),
	// so TopK matching results come back whenever that many exist. Each
	// result's document is checked against it again when loaded, so a
	// vector whose metadata is stale never yields a result that does not
	// match. An invalid filter is ErrInvalidInput naming "filter".
	Filter filter.Filter `json:"filter,omitzero"`
}

// SearchResult is one chunk found by Search, best first.
type SearchResult struct {
	ChunkID    string `json:"chunk_id"`
	DocumentID string `json:"document_id"`
	SourceID   string `json:"source_id"`
	Text       string `json:"text"`
	// Ordinal is the chunk's position in its document; Start and End are
	// its byte offsets in the document's normalized text.
	Ordinal int `json:"ordinal"`
	Start   int `json:"start"`
	End     int `json:"end"`
	// Score orders the results; its scale is the mode's (see
	// SearchRequest.MinScore).
	Score float64 `json:"score"`
	// DenseScore is the cosine similarity and DenseRank the 1-based rank
	// in the dense list, when found by it (FoundBy holds "dense");
	// LexicalScore and LexicalRank likewise for the lexical list.
	DenseScore   float64 `json:"dense_score,omitempty"`
	DenseRank    int     `json:"dense_rank,omitempty"`
	LexicalScore float64 `json:"lexical_score,omitempty"`
	LexicalRank  int     `json:"lexical_rank,omitempty"`
	// FoundBy lists the rankings that found the chunk: "dense",
	// "lexical", or both.
	FoundBy []string `json:"found_by"`
	// Reranked is set when the bot's reranker ordered the results
	// (Bot.Rerank): Score is then the reranker's and FusedScore the score
	// of the mode before reranking.
	Reranked      bool     `json:"reranked,omitempty"`
	FusedScore    float64  `json:"fused_score,omitempty"`
	DocumentTitle string   `json:"document_title"`
	URI           string   `json:"uri,omitempty"`
	HeadingPath   []string `json:"heading_path,omitempty"`
	// DocumentKey is the document's key in its source (a pushed
	// document's Key, a file's path, a page's URL).
	DocumentKey string `json:"document_key"`
	// Metadata is the document's metadata (see record.Metadata).
	Metadata record.Metadata `json:"metadata,omitempty"`
}

// candidate is a chunk in the fusion.
type candidate struct {
	id           string
	dense, lex   float64
	dRank, lRank int
	score        float64
}

// Search finds the chunks of the bot's sources closest to the query:
// dense (the query's embedding against the VectorStore), lexical
// (Storage's full-text index) or hybrid (both lists, searched
// concurrently and fused as SearchRequest.Fusion says), then loads the
// chunk texts and their documents in one batch each. Every search is
// confined to the handle's tenant and the bot.
//
// The bot must exist in the tenant (ErrNotFound); a query-scoped handle
// limited to other bots gets ErrForbidden. An empty query is
// ErrInvalidInput naming "query". Vector matches whose chunk is no longer
// in Storage (a document being rewritten) are left out.
func (h *TenantHandle) Search(ctx context.Context, req SearchRequest) ([]SearchResult, error) {
	if err := h.authorizeBot(req.BotID); err != nil {
		return nil, err
	}
	if err := h.checkQueryQuota(ctx); err != nil {
		return nil, err
	}
	return h.searchTraced(ctx, req, nil)
}

// search is Search; loaded, when not nil, is the bot of req.BotID as the
// caller (Ask) already read it from Storage, so it is not read again.
func (h *TenantHandle) search(ctx context.Context, req SearchRequest, loaded *Bot) ([]SearchResult, error) {
	if err := h.authorizeBot(req.BotID); err != nil {
		return nil, err
	}
	req.Query = strings.TrimSpace(req.Query)
	var v record.ValidationError
	if req.BotID == "" {
		v.Add("bot_id", "is required")
	}
	switch {
	case req.Query == "":
		v.Add("query", "is required")
	case len(req.Query) > maxQueryBytes:
		v.Add("query", fmt.Sprintf("must be at most %d bytes", maxQueryBytes))
	}
	if req.TopK < 0 || req.TopK > MaxTopK {
		v.Add("top_k", fmt.Sprintf("must be between 1 and %d (0 means %d)", MaxTopK, DefaultTopK))
	}
	if !req.Mode.Valid() {
		v.Add("mode", "must be one of hybrid, dense, lexical")
	}
	if !req.Fusion.Valid() {
		v.Add("fusion", "must be one of scores, rrf")
	}
	if req.RRFK < 0 {
		v.Add("rrf_k", "must not be negative")
	}
	for _, f := range []struct {
		name string
		x    float64
	}{{"dense_weight", req.DenseWeight}, {"lexical_weight", req.LexicalWeight}, {"min_score", req.MinScore}} {
		switch {
		case math.IsNaN(f.x) || math.IsInf(f.x, 0):
			v.Add(f.name, "must be a finite number")
		case f.x < 0 && f.name != "min_score":
			v.Add(f.name, "must not be negative")
		}
	}
	if len(req.SourceIDs) > maxSourceIDs {
		v.Add("source_ids", fmt.Sprintf("must hold at most %d IDs", maxSourceIDs))
		req.SourceIDs = nil // one error, not one per ID
	}
	for i, s := range req.SourceIDs {
		if s == "" {
			v.Add(fmt.Sprintf("source_ids[%d]", i), "is empty")
		}
	}
	if err := mergeValidation(&v, req.Filter.Validate("filter")); err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if req.TopK == 0 {
		req.TopK = DefaultTopK
	}
	if req.Mode == "" {
		req.Mode = SearchHybrid
	}
	req = hybridDefaults(req, isLexicalEmbedder(h.c.emb))
	tenantID := h.p.TenantID
	var bot Bot
	if loaded != nil && loaded.ID == req.BotID && loaded.TenantID == tenantID {
		bot = *loaded
	} else {
		var err error
		if bot, err = h.c.store.GetBot(ctx, tenantID, req.BotID); err != nil {
			return nil, fmt.Errorf("minirag: search: %w", err)
		}
	}

	// How many candidates each list contributes: more than TopK, so that
	// fusion has both lists' tails to work with and dropped vector hits
	// leave enough.
	want := req.TopK + req.TopK/2 + 5
	if req.Mode == SearchHybrid {
		want = min(max(req.TopK*4, 40), 4*MaxTopK)
	}

	var dense []vectorstore.Match
	var lex []storage.LexicalMatch
	var denseErr, lexErr error
	searchDense := func() {
		ctx, sp := h.c.stage(ctx, "search.dense")
		dense, denseErr = h.searchDense(ctx, req, bot.ID, want)
		telemetry.End(sp, denseErr)
	}
	searchLexical := func() {
		ctx, sp := h.c.stage(ctx, "search.lexical")
		defer func() { telemetry.End(sp, lexErr) }()
		lex, lexErr = h.c.store.SearchLexical(ctx, storage.LexicalQuery{
			TenantID: tenantID, BotID: bot.ID, SourceIDs: req.SourceIDs, Text: req.Query, Limit: want, Language: bot.Language,
			Filter: req.Filter,
		})
		if lexErr != nil {
			lexErr = fmt.Errorf("minirag: search: lexical: %w", lexErr)
		}
	}
	switch req.Mode {
	case SearchDense:
		searchDense()
	case SearchLexical:
		searchLexical()
	default:
		// The two lists do not depend on each other: a hybrid search takes
		// as long as the slower of the two, not their sum.
		done := make(chan struct{})
		go func() {
			defer close(done)
			searchLexical()
		}()
		searchDense()
		<-done
	}
	if err := errors.Join(denseErr, lexErr); err != nil {
		return nil, err
	}

	_, fsp := h.c.stage(ctx, "search.fuse")
	cands := fuse(dense, lex, req)
	telemetry.End(fsp, nil)
	if len(cands) == 0 {
		return []SearchResult{}, nil
	}
	ctx, lsp := h.c.stage(ctx, "search.load")
	defer lsp.End()
	// A bot with a reranker reranks its top fused candidates: that many
	// are loaded, then cut to TopK by the reranker (rerank.go).
	out, err := h.hydrate(ctx, tenantID, bot.ID, req, cands, max(req.TopK, rerankTopN(bot)))
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	if bot.Rerank != nil {
		return h.rerankResults(ctx, bot, req.Query, out, req.TopK)
	}
	return out, nil
}

// searchDense embeds the query and asks the VectorStore for the want
// closest vectors of the bot's sources (those of req.SourceIDs when set).
// The filter names the sources Storage gives the bot now, not the bot
// ID the vectors carry: a source moved to another bot is found under
// the new bot from the instant Storage moves it, before its vectors are
// relabelled (doc.go, "Crash safety").
func (h *TenantHandle) searchDense(ctx context.Context, req SearchRequest, botID string, want int) ([]vectorstore.Match, error) {
	if err := h.c.ensureIndex(ctx); err != nil {
		return nil, err
	}
	sourceIDs := req.SourceIDs
	if len(sourceIDs) == 0 {
		srcs, err := h.c.store.ListSources(ctx, h.p.TenantID, botID)
		if err != nil {
			return nil, fmt.Errorf("minirag: search: list the bot's sources: %w", err)
		}
		if len(srcs) == 0 {
			return nil, nil
		}
		sourceIDs = make([]string, len(srcs))
		for i := range srcs {
			sourceIDs[i] = srcs[i].ID
		}
	}
	vecs, err := h.c.emb.Embed(ctx, []string{req.Query})
	if err != nil {
		return nil, fmt.Errorf("minirag: search: embed the query: %w", err)
	}
	if len(vecs) != 1 {
		return nil, fmt.Errorf("minirag: search: embed the query: %w: %d vectors for 1 text", embed.ErrBadResponse, len(vecs))
	}
	h.c.meterEmbedding(ctx, h.p.TenantID, botID, []string{req.Query})
	dense, err := h.c.vec.Search(ctx, vectorstore.Query{
		Vector: vecs[0], TopK: want,
		Filter: vectorstore.Filter{TenantID: h.p.TenantID, SourceIDs: sourceIDs, Metadata: req.Filter},
	})
	if err != nil {
		return nil, fmt.Errorf("minirag: search: vector store: %w", err)
	}
	return dense, nil
}

// isLexicalEmbedder reports whether e's vectors measure shared surface
// forms (words, word fragments) rather than meaning: e has the optional
// capability Lexical() bool of package embed (embed/hashing has it) and
// it returns true. The capability, not the concrete type, is tested, so a
// wrapper (a cache, a counter) keeps the default by forwarding the method.
func isLexicalEmbedder(e embed.Embedder) bool {
	l, ok := e.(interface{ Lexical() bool })
	return ok && l.Lexical()
}

// hybridDefaults fills in the fusion settings left at zero (see Fusion
// and SearchRequest): the fusion by the kind of embedder, then RRFK and
// the weights.
func hybridDefaults(req SearchRequest, lexicalEmbedder bool) SearchRequest {
	if req.Fusion == "" {
		req.Fusion = FusionRRF
		if lexicalEmbedder {
			req.Fusion = FusionScores
		}
	}
	if req.RRFK == 0 {
		req.RRFK = DefaultRRFK
	}
	dw, lw := 1.0, 1.0
	if req.Fusion == FusionScores && lexicalEmbedder {
		dw, lw = LexicalEmbedderDenseWeight, LexicalEmbedderLexicalWeight
	}
	if req.DenseWeight == 0 {
		req.DenseWeight = dw
	}
	if req.LexicalWeight == 0 {
		req.LexicalWeight = lw
	}
	return req
}

// fuse merges the candidate lists by the request's mode and fusion (the
// request's defaults already filled in), best first, applying MinScore.
func fuse(dense []vectorstore.Match, lex []storage.LexicalMatch, req SearchRequest) []candidate {
	byID := make(map[string]*candidate, len(dense)+len(lex))
	order := make([]*candidate, 0, len(dense)+len(lex))
	get := func(id string) *candidate {
		c, ok := byID[id]
		if !ok {
			c = &candidate{id: id}
			byID[id] = c
			order = append(order, c)
		}
		return c
	}
	for i, m := range dense {
		c := get(m.ID)
		if c.dRank == 0 {
			c.dRank, c.dense = i+1, float64(m.Score)
		}
	}
	for i, m := range lex {
		c := get(m.ChunkID)
		if c.lRank == 0 {
			c.lRank, c.lex = i+1, m.Score
		}
	}
	switch {
	case req.Mode == SearchDense:
		for _, c := range order {
			c.score = c.dense
		}
	case req.Mode == SearchLexical:
		for _, c := range order {
			c.score = c.lex
		}
	case req.Fusion == FusionScores:
		// Min-max over each list's candidates; the lists are best first.
		var dHi, dLo, lHi, lLo float64
		if len(dense) > 0 {
			dHi, dLo = float64(dense[0].Score), float64(dense[len(dense)-1].Score)
		}
		if len(lex) > 0 {
			lHi, lLo = lex[0].Score, lex[len(lex)-1].Score
		}
		wSum := req.DenseWeight + req.LexicalWeight
		for _, c := range order {
			if c.dRank > 0 {
				c.score += req.DenseWeight * minMax(c.dense, dLo, dHi)
			}
			if c.lRank > 0 {
				c.score += req.LexicalWeight * minMax(c.lex, lLo, lHi)
			}
			c.score /= wSum
		}
	default:
		k := float64(req.RRFK)
		for _, c := range order {
			if c.dRank > 0 {
				c.score += req.DenseWeight / (k + float64(c.dRank))
			}
			if c.lRank > 0 {
				c.score += req.LexicalWeight / (k + float64(c.lRank))
			}
		}
	}
	out := make([]candidate, 0, len(order))
	for _, c := range order {
		if req.MinScore != 0 && c.score < req.MinScore {
			continue
		}
		out = append(out, *c)
	}
	// Stable: ties keep the dense list's order, then the lexical list's.
	sort.SliceStable(out, func(i, j int) bool { return out[i].score > out[j].score })
	return out
}

// minMax maps x from [lo, hi] to [0, 1]; every x is 1 when hi == lo (a
// list of one candidate, or of equal scores).
func minMax(x, lo, hi float64) float64 {
	if hi <= lo {
		return 1
	}
	return (x - lo) / (hi - lo)
}

// hydrate loads the chunks of the fused candidates, best first, and
// returns the first keep of them that exist, are in the bot (and sources)
// asked for and whose document matches the request's filter, with their
// documents' title, URI, key and metadata. It loads only as many chunks
// as it may return, each with its document in the same query, by primary
// key: a page of the missing count plus a few spare, then more only when
// some were left out (a vector whose chunk is gone, a stale vector whose
// document no longer matches the filter, or, defensively, a chunk outside
// the bot or the sources).
func (h *TenantHandle) hydrate(ctx context.Context, tenantID, botID string, req SearchRequest, cands []candidate, keep int) ([]SearchResult, error) {
	out := make([]SearchResult, 0, keep)
	ids := make([]string, 0, keep+4)
	for next := 0; next < len(cands) && len(out) < keep; {
		page := cands[next:min(len(cands), next+keep-len(out)+4)]
		next += len(page)
		ids = ids[:0]
		for _, c := range page {
			ids = append(ids, c.id)
		}
		loaded, err := h.c.store.GetChunksWithDocuments(ctx, tenantID, ids)
		if err != nil {
			return nil, fmt.Errorf("minirag: search: load chunks: %w", err)
		}
		byID := make(map[string]*storage.ChunkWithDocument, len(loaded))
		for i := range loaded {
			byID[loaded[i].Chunk.ID] = &loaded[i]
		}
		for _, c := range page {
			cd, ok := byID[c.id]
			if !ok {
				continue
			}
			ch, d := &cd.Chunk, &cd.Document
			if ch.BotID != botID || (len(req.SourceIDs) > 0 && !slices.Contains(req.SourceIDs, ch.SourceID)) ||
				!req.Filter.Match(d.Metadata) {
				continue
			}
			r := SearchResult{
				ChunkID: ch.ID, DocumentID: ch.DocumentID, SourceID: ch.SourceID, Text: ch.Text,
				Ordinal: ch.Ordinal, Start: ch.Start, End: ch.End, HeadingPath: ch.HeadingPath,
				Score: c.score, DenseScore: c.dense, DenseRank: c.dRank, LexicalScore: c.lex, LexicalRank: c.lRank,
				FoundBy:       make([]string, 0, 2),
				DocumentTitle: d.Title, URI: d.URI, DocumentKey: d.Key, Metadata: d.Metadata,
			}
			if c.dRank > 0 {
				r.FoundBy = append(r.FoundBy, FoundByDense)
			}
			if c.lRank > 0 {
				r.FoundBy = append(r.FoundBy, FoundByLexical)
			}
			out = append(out, r)
			if len(out) == keep {
				break
			}
		}
	}
	return out, nil
}
