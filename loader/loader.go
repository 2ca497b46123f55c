// Package loader reads the documents of a source: inline text, files and
// directories, or web pages.
package loader

import "context"

// Document is one item a loader yields. Text is raw (not yet normalized).
type Document struct {
	// Key identifies the document within its source across loads
	// (a path relative to the source root, or a URL).
	Key   string
	Title string
	URI   string
	Text  string
	// Metadata is free-form (content type, modification time…).
	Metadata map[string]string
}

// Skipped is an item a loader passed over, and why.
type Skipped struct {
	Key    string
	Reason string
}

// Loader yields a source's documents one at a time, so a large source never
// needs all its text in memory at once.
type Loader interface {
	// Load calls emit for each document, in a stable order, and stops at
	// the first error emit returns (returning it).
	Load(ctx context.Context, emit func(Document) error) error
}
