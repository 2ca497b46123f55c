// Package embed defines Embedder, which turns texts into vectors.
//
// Implementations: embed/hashing (offline, deterministic, lexical: the
// embedded stack's default) and embed/openai (any OpenAI-compatible
// endpoint: OpenAI, a LiteLLM proxy, Ollama, vLLM).
//
// # Optional capabilities
//
// An Embedder may also have this method, found by type assertion so that
// the interface stays small:
//
//	Lexical() bool
//
// Lexical reports that the embedder's vectors measure shared words and
// word fragments rather than meaning (embed/hashing returns true). Hybrid
// search in package minirag then fuses by normalized scores with the
// lexical ranking weighted higher, instead of reciprocal rank fusion (see
// minirag.Fusion). An embedder without the method is taken as semantic. A
// wrapper around an Embedder (a cache, a rate limiter, a counter) should
// forward Lexical when the embedder it wraps has it; embedding the
// interface type alone does not.
package embed

import (
	"context"
	"errors"
)

// Embedder turns texts into vectors of Dimensions() floats.
type Embedder interface {
	// Embed returns one vector per text, in order. It fails rather than
	// return fewer vectors, or vectors of another size.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Dimensions is the size of every vector.
	Dimensions() int
	// Model identifies the vector space (for example
	// "openai:text-embedding-3-small" or "hashing-v1-d384"); vectors of two
	// different models are never compared.
	Model() string
}

// ErrBadResponse reports that an embedding service answered with something
// other than one vector of the expected size per input: a wrong number of
// vectors, a missing or repeated index, or a vector of another size.
// Implementations wrap it with the details; test it with errors.Is.
var ErrBadResponse = errors.New("embed: bad response from embedding service")
