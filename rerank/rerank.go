// Package rerank reorders retrieved passages by their relevance to a
// query: the Reranker interface, HTTP, a client of the /rerank API that
// Cohere, Jina, Hugging Face TEI, vLLM and the LiteLLM proxy serve, and
// Lexical, an offline reranker for tests and evaluation.
//
// A minirag bot with a rerank endpoint (record.Bot.Rerank) reranks the top
// fused candidates of Search and Ask before they are cut to TopK.
package rerank

import (
	"context"
	"errors"
)

// Result is a document's place in a reranking: its index in the documents
// given and its relevance score (higher is better; the scale is the
// reranker's).
type Result struct {
	Index int     `json:"index"`
	Score float64 `json:"score"`
}

// Reranker scores documents against a query.
type Reranker interface {
	// Rerank returns the topN documents (all when topN <= 0 or larger than
	// len(docs)) most relevant to query, best first, each once, by index
	// into docs. No documents is no results, not an error.
	Rerank(ctx context.Context, query string, docs []string, topN int) ([]Result, error)
}

// ErrBadResponse reports an answer of a rerank endpoint that cannot be
// used (not the expected JSON, an index out of range or repeated).
var ErrBadResponse = errors.New("rerank: bad response")
