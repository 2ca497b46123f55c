// Package loader reads the documents of a source: inline text, files and
// directories, or web pages.
//
//	record.Source{Type, Config}
//	        │  New(type, config, Options)   (ParseConfig validates the config)
//	        ▼
//	Loader.Load(ctx, emit) ──► emit(Document{Key, Title, URI, Text, Metadata})  one at a time
//	        │
//	        └──► Options.OnSkip(Skipped{Key, Reason})  files or pages passed over
//
// Three loaders exist, one per record.SourceType:
//
//   - text (TextLoader): one document from the config's inline content;
//   - file (FileLoader): a file, or a directory walked in lexical order with
//     include and exclude globs; .txt, .md and .html files (HTML is turned
//     into text with HTMLToText), the files of registered formats (DOCX,
//     PPTX, ODT and EPUB built in; PDF and XLSX when package loader/pdf or
//     loader/xlsx is imported; see Format), and CSV, TSV and JSON Lines
//     files as one document per row (see RecordsConfig);
//   - url (URLLoader): one web page, or a crawl of the start page's host
//     bounded by pages and depth; responses of registered formats too.
//
// Documents of registered formats and records are markdown whose headings
// carry locations ("Page 12", "Slide 3: …", "Rows 2–21", "Row 7"), so
// chunk heading paths hold them; Location reads them back. Parsing is
// bounded by Options.Limits (pages, rows, decompressed bytes, time); a file
// over a limit, malformed, or whose parser panics is skipped with the
// reason, and the others go on. docs/FORMATS.md has the details and the
// measured extraction quality.
//
// Loaders never hold more than one document's text at a time, and never read
// more than the configured size limits into memory.
//
// # Security on a shared host
//
// A file source reads the server's file system and a url source makes the
// server send requests. A host serving several tenants should set
// Options.FileRoots (file sources outside those directories are rejected, and
// symbolic links leading out of them are not followed) and leave
// Options.AllowPrivateNetworks false (url sources cannot reach loopback,
// private, link-local or otherwise non-public addresses, checked on the
// address actually dialled, so DNS names resolving to such addresses are
// refused too).
//
// # Errors
//
// Errors name the source's path or URL, or the document's. A config that does
// not validate gives an error wrapping record.ErrInvalidInput (a
// *record.ValidationError naming "config.<field>"); a source whose location
// cannot be read at load time (a vanished path, a URL that does not answer or
// answers with an error status) gives an error wrapping ErrUnavailable; a
// refused address gives ErrBlockedAddress.
package loader

import (
	"context"
	"errors"
)

// Document is one item a loader yields. Text is raw (not yet normalized).
type Document struct {
	// Key identifies the document within its source across loads
	// (a path relative to the source root, or a URL).
	Key   string
	Title string
	URI   string
	Text  string
	// Metadata is free-form. The loaders of this package set
	// "content_type" (the original media type, such as "text/html"),
	// "format" ("markdown" when Text is markdown, including HTML rendered
	// by HTMLToText; "text" otherwise), "size" (bytes read, for files and
	// pages) and, for files, "mtime" (RFC 3339).
	Metadata map[string]string
}

// Skipped is an item a loader passed over, and why.
//
// A skipped item may be one that exists but could not be read this time
// (a page that timed out, a file that was unreadable): a caller that
// deletes the documents a source no longer yields should keep those whose
// Key was reported as skipped.
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

// ErrUnavailable reports that a source's location cannot be read at load
// time, although its config is valid: a file path that does not exist (any
// more), a URL that does not answer in time or answers with an error status,
// or a single file or page this loader cannot read (binary, too large, an
// unsupported type). Errors wrapping it name the path or URL.
var ErrUnavailable = errors.New("loader: source unavailable")

// ErrBlockedAddress reports a url source whose host resolves to an address
// that Options.AllowPrivateNetworks does not allow (loopback, private,
// link-local, unspecified, multicast and other non-public ranges).
var ErrBlockedAddress = errors.New("loader: address not allowed")
