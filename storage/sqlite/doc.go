// Package sqlite is the embedded implementation of storage.Storage on
// modernc.org/sqlite (pure Go, no cgo).
//
// Open takes a file path or ":memory:":
//
//	store, err := sqlite.Open(ctx, "minirag.db")     // persistent, WAL mode
//	store, err := sqlite.Open(ctx, ":memory:")       // private, gone on Close
//
// Every Open of ":memory:" gets its own database, shared by the store's
// connections and by nobody else.
//
// The schema is versioned: numbered migrations embedded in the binary are
// applied in one transaction when the store opens, and recorded in the
// schema_migrations table. A database written by a newer version of this
// package is refused with an error rather than misread.
//
// Connections run with foreign keys on, a busy timeout, and write
// transactions that start with BEGIN IMMEDIATE, so concurrent writers wait
// for each other instead of failing on a lock upgrade. Files use WAL mode
// with synchronous=NORMAL: a crash of the process loses nothing committed; a
// power loss may lose the last transactions but never corrupts the file.
//
// Layout of the data:
//
//	tenants ─┬─ users ── api_tokens
//	         └─ bots ── sources ─┬─ documents ── chunks ── chunks_fts, chunks_fts_plain (FTS5)
//	                             └─ jobs
//
// Lexical search uses an FTS5 index over each chunk's text and its
// document's title, ranked by BM25 (FTS5's k1 = 1.2, b = 0.75; text weighs
// 1, title 0.5). The tokenizer follows the chunk's bot's language
// (record.Bot.Language): a bot whose language is empty, "english" or "en"
// (any case) is indexed in chunks_fts, with Porter stemming on the
// unicode61 tokenizer ("running" finds "runs"); any other language in
// chunks_fts_plain, unicode61 without stemming (FTS5's only stemmer is
// Porter's English one, which would mangle other languages), so such a
// bot's search matches words as written, case and diacritics folded. A
// search reads both tables. Changing a bot's language (UpdateBot) or moving
// a source to a bot of another language (UpdateSource) re-indexes those
// chunks in the same transaction. Any language name is accepted (unlike
// storage/postgres, which needs a text search configuration of its server). User text is never passed to FTS5 as query syntax: it is split into
// words, each word is quoted, and the words are joined with OR, so quotes,
// stars, colons or parentheses in a query are plain text. Each indexed row
// also carries tokens for its tenant, bot and source, so FTS5 itself keeps
// a search to its tenant (and bot and sources) before ranking, and the cost
// of a search follows the size of the tenant's matches rather than of the
// whole database; the result is checked against the chunks table again.
// BM25's term statistics are those of the whole index, all tenants
// together.
//
// Store implements the optional storage.DocumentBatcher: PutDocuments
// stores many documents in one transaction with statements prepared once
// and chunk rows inserted 256 per statement. That matters for FTS5, which
// writes its pending terms to a new index segment (and merges segments) at
// every savepoint, and SQLite opens one for each writing statement in a
// transaction: one INSERT per chunk would mean one segment per chunk.
// PutDocument takes the same path for its own chunks.
//
// Document metadata is JSON text in documents.metadata. Metadata filters
// (package filter; LexicalQuery.Filter, DocumentQuery.Filter) compile to
// SQL over it with the JSON1 functions: json_each for the any-element
// semantics of arrays, json_type checks so that strings, numbers and bools
// never compare with each other, values and JSON paths bound as
// parameters. A filtered lexical search joins each full-text match to its
// document and applies the filter before the limit; there is no index on
// metadata fields, so its cost follows the number of the tenant's chunks
// matching the words, not the filter's selectivity (figures in
// docs/PERFORMANCE.md). QueryDocumentsPage pages by (source_id, key) on the
// indexes documents_tenant and documents_bot. DeleteTenant erases a tenant
// in one transaction, API tokens and users first, chunks (and so their
// full-text rows) before documents, the tenant row last.
//
// Beyond the storage.Storage contract: SetBotCredentials also works on a
// soft-deleted bot, so that every credential ListBotCredentials returns can
// be re-encrypted.
//
// The Store an InTx callback receives must not be used from several
// goroutines at once, nor after the callback returns.
//
// Times are stored as integer microseconds since the Unix epoch and come back
// in UTC.
package sqlite
