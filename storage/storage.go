// Package storage defines Storage, the interface through which MiniRAG
// persists every record (package record) and its ingestion queue.
//
// Implementations: storage/sqlite (embedded, pure Go) and storage/postgres
// (pgx/v5). Every implementation must pass the conformance suite in
// storage/storagetest.
//
// Rules every implementation keeps:
//
//   - Every method that takes a tenant ID returns an error wrapping
//     record.ErrInvalidInput (record.ErrEmptyTenant) when it is empty; it is
//     never read as "all tenants". The only calls not scoped to one tenant
//     are named so: APITokenByHash (the hash is the credential), ListTenants,
//     and the job-claiming calls a Worker uses.
//   - An object of another tenant is record.ErrNotFound, for reads, updates
//     and deletes alike.
//   - Uniqueness violations are record.ErrConflict; missing rows
//     record.ErrNotFound; no driver error reaches a caller unwrapped.
//   - IDs and timestamps are set by the caller. Times are returned in UTC
//     with at least microsecond precision (callers truncate to microseconds).
//   - Slices and maps in returned records are never shared with the store.
//   - A cancelled context aborts the call with an error wrapping ctx.Err().
package storage

import (
	"context"
	"time"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
)

// Storage is everything MiniRAG persists.
type Storage interface {
	Tenants
	Users
	APITokens
	Bots
	Sources
	Documents
	Lexical
	Jobs
	Conversations
	Feedback
	Usage

	// InTx runs fn in one transaction: fn's writes through tx commit
	// together when fn returns nil and roll back otherwise. Calling InTx on
	// a tx runs fn in the same transaction.
	InTx(ctx context.Context, fn func(tx Storage) error) error
	// Close releases the store's resources (not a pool the caller passed in).
	Close() error
}

// Page asks a List…Page call for one page of its list: at most Limit
// items (Limit must be positive, else record.ErrInvalidInput naming
// "limit"), starting after the item Cursor points at ("" starts at the
// first). The call returns the items and next, the Cursor of the following
// page, "" exactly when this page is the last.
//
// Cursors are opaque: pass back only a next the same kind of list
// returned (another string wraps record.ErrInvalidInput naming "cursor").
// Paging is by key (keyset), in the list's order: an item present for the
// whole listing is returned exactly once whatever is inserted or deleted
// meanwhile, and each page is one index range scan, however deep.
type Page struct {
	Limit  int
	Cursor string
}

// Tenants persists tenants.
type Tenants interface {
	// CreateTenant stores t. A duplicate ID or slug is ErrConflict.
	CreateTenant(ctx context.Context, t record.Tenant) error
	GetTenant(ctx context.Context, id string) (record.Tenant, error)
	GetTenantBySlug(ctx context.Context, slug string) (record.Tenant, error)
	// ListTenants lists every tenant, oldest first (for maintenance such as
	// re-encrypting credentials).
	ListTenants(ctx context.Context) ([]record.Tenant, error)
	// UpdateTenant writes t's Name, Slug and UpdatedAt. A slug another
	// tenant has is ErrConflict; an unknown tenant ErrNotFound.
	UpdateTenant(ctx context.Context, t record.Tenant) error
	// DeleteTenant erases a tenant and everything of it: users, API
	// tokens, bots and their credentials, sources, documents, chunks and
	// their full-text index and statistics, jobs, conversations, messages,
	// feedback, usage and request counters. The tenant row goes last.
	// Where the store deletes in several transactions (a large tenant),
	// each leaves the rest consistent (no chunk outlives its document) and
	// API tokens and users go first, so an interrupted erase can no
	// longer be used and calling DeleteTenant again finishes it. An
	// unknown tenant (one already erased included) is ErrNotFound.
	// Vectors kept elsewhere (a VectorStore) are the caller's to delete.
	DeleteTenant(ctx context.Context, id string) error
}

// Users persists users.
type Users interface {
	// CreateUser stores u. An email already used in the tenant (compared
	// case-insensitively) is ErrConflict; an unknown tenant is ErrNotFound.
	CreateUser(ctx context.Context, u record.User) error
	GetUser(ctx context.Context, tenantID, id string) (record.User, error)
	GetUserByEmail(ctx context.Context, tenantID, email string) (record.User, error)
	// ListUsers lists a tenant's users, oldest first.
	ListUsers(ctx context.Context, tenantID string) ([]record.User, error)
	// ListUsersPage is one page of ListUsers (see Page).
	ListUsersPage(ctx context.Context, tenantID string, p Page) (users []record.User, next string, err error)
	// UpdateUser writes u's Name, Role, Disabled and UpdatedAt.
	UpdateUser(ctx context.Context, u record.User) error
}

// APITokens persists API tokens.
type APITokens interface {
	// CreateAPIToken stores t. A duplicate hash is ErrConflict.
	CreateAPIToken(ctx context.Context, t record.APIToken) error
	// APITokenByHash finds a token by the SHA-256 of its plaintext, in any
	// tenant, revoked and expired ones included (the caller decides).
	APITokenByHash(ctx context.Context, hash []byte) (record.APIToken, error)
	GetAPIToken(ctx context.Context, tenantID, id string) (record.APIToken, error)
	// ListAPITokens lists a tenant's tokens, oldest first, revoked included.
	ListAPITokens(ctx context.Context, tenantID string) ([]record.APIToken, error)
	// ListAPITokensPage is one page of ListAPITokens (see Page).
	ListAPITokensPage(ctx context.Context, tenantID string, p Page) (tokens []record.APIToken, next string, err error)
	// RevokeAPIToken sets RevokedAt (once; revoking again keeps the first time).
	RevokeAPIToken(ctx context.Context, tenantID, id string, at time.Time) error
	// TouchAPIToken sets LastUsedAt.
	TouchAPIToken(ctx context.Context, tenantID, id string, at time.Time) error
}

// Bots persists bot profiles. A soft-deleted bot is ErrNotFound for every
// method but stays in storage.
type Bots interface {
	// CreateBot stores b (HasCredentials ignored).
	CreateBot(ctx context.Context, b record.Bot) error
	GetBot(ctx context.Context, tenantID, id string) (record.Bot, error)
	// ListBots lists a tenant's bots that are not deleted, oldest first.
	ListBots(ctx context.Context, tenantID string) ([]record.Bot, error)
	// ListBotsPage is one page of ListBots (see Page).
	ListBotsPage(ctx context.Context, tenantID string, p Page) (bots []record.Bot, next string, err error)
	// UpdateBot writes every field of b but ID, TenantID, CreatedAt,
	// DeletedAt and credentials.
	UpdateBot(ctx context.Context, b record.Bot) error
	// DeleteBot soft-deletes a bot.
	DeleteBot(ctx context.Context, tenantID, id string, at time.Time) error
	// SetBotCredentials replaces a bot's encrypted credentials; a nil or
	// empty Ciphertext removes them.
	SetBotCredentials(ctx context.Context, c record.BotCredentials) error
	// GetBotCredentials returns a bot's encrypted credentials, ErrNotFound
	// when it has none.
	GetBotCredentials(ctx context.Context, tenantID, botID string) (record.BotCredentials, error)
	// ListBotCredentials lists the encrypted credentials of a tenant's bots,
	// soft-deleted bots included.
	ListBotCredentials(ctx context.Context, tenantID string) ([]record.BotCredentials, error)
}

// Sources persists sources.
type Sources interface {
	// CreateSource stores s. A BotID that is not a live bot of s's tenant
	// is an error wrapping ErrInvalidInput naming "bot_id".
	CreateSource(ctx context.Context, s record.Source) error
	GetSource(ctx context.Context, tenantID, id string) (record.Source, error)
	// ListSources lists a tenant's sources, oldest first, only those of
	// botID when it is not empty.
	ListSources(ctx context.Context, tenantID, botID string) ([]record.Source, error)
	// ListSourcesPage is one page of ListSources (see Page).
	ListSourcesPage(ctx context.Context, tenantID, botID string, p Page) (sources []record.Source, next string, err error)
	// UpdateSource writes s's BotID, Name, Type, Config and UpdatedAt
	// (BotID checked as in CreateSource). When BotID changes, the source's
	// documents and chunks move with it in the same write: their BotID
	// becomes the new bot and nothing else about them changes, so from then
	// on SearchLexical filtered by the new bot finds their text and
	// filtered by the old bot does not. A rejected or rolled back update
	// moves nothing. Vectors kept elsewhere (a VectorStore) are the
	// caller's to move.
	UpdateSource(ctx context.Context, s record.Source) error
	// SetSourceState writes a source's ingestion state.
	SetSourceState(ctx context.Context, tenantID, id string, st record.SourceState) error
	// DeleteSource deletes a source with its documents, chunks and jobs.
	DeleteSource(ctx context.Context, tenantID, id string) error
}

// Documents persists documents and their chunks.
type Documents interface {
	// PutDocument creates or replaces (by source and Key) a document and
	// replaces all its chunks, atomically. A document that exists keeps its
	// ID and CreatedAt; the ID in d is used only when it is new. It returns
	// the stored document. Chunks take the document's IDs.
	//
	// A document belongs to its source's bot: the stored document and
	// every chunk take the BotID of the source named by d.SourceID, and
	// the BotID given in d and in chunks is ignored (empty or another
	// bot's alike). A SourceID that is not a source of d's tenant is
	// record.ErrNotFound.
	PutDocument(ctx context.Context, d record.Document, chunks []record.Chunk) (record.Document, error)
	GetDocument(ctx context.Context, tenantID, id string) (record.Document, error)
	// ListDocuments lists a source's documents ordered by Key.
	ListDocuments(ctx context.Context, tenantID, sourceID string) ([]record.Document, error)
	// ListDocumentsPage is one page of ListDocuments (see Page), ordered
	// by Key compared byte-wise.
	ListDocumentsPage(ctx context.Context, tenantID, sourceID string, p Page) (docs []record.Document, next string, err error)
	// GetDocumentByKey returns the document of a source with this Key
	// (compared byte-wise). A source not of the tenant is ErrNotFound.
	GetDocumentByKey(ctx context.Context, tenantID, sourceID, key string) (record.Document, error)
	// QueryDocumentsPage is one page (see Page) of the tenant's documents
	// q selects, ordered by SourceID then Key (both byte-wise). An invalid
	// q.Filter wraps ErrInvalidInput naming "filter".
	QueryDocumentsPage(ctx context.Context, q DocumentQuery, p Page) (docs []record.Document, next string, err error)
	// DeleteDocument deletes a document and its chunks.
	DeleteDocument(ctx context.Context, tenantID, id string) error
	// ListChunks lists a document's chunks by ordinal.
	ListChunks(ctx context.Context, tenantID, documentID string) ([]record.Chunk, error)
	// GetChunks returns the chunks with these IDs in the tenant, in the
	// order of ids; IDs not found (or of another tenant) are left out.
	GetChunks(ctx context.Context, tenantID string, ids []string) ([]record.Chunk, error)
	// GetDocuments returns the documents with these IDs in the tenant;
	// IDs not found are left out.
	GetDocuments(ctx context.Context, tenantID string, ids []string) ([]record.Document, error)
	// GetChunksWithDocuments returns the chunks with these IDs in the
	// tenant, each with its document, in the order of ids; IDs not found
	// (or of another tenant) and repeated IDs are left out, as by
	// GetChunks. It is GetChunks and GetDocuments of their documents in
	// one query, each row found by its primary key (search loads its
	// results with it).
	GetChunksWithDocuments(ctx context.Context, tenantID string, ids []string) ([]ChunkWithDocument, error)
	// ScanChunks returns at most limit refs to the tenant's chunks whose ID
	// sorts after `after` (byte-wise; "" starts at the beginning), in
	// ascending byte-wise order of ID. Pass the last ID of a page as after
	// to get the next; a page shorter than limit is the last. It streams a
	// tenant's chunks without loading them (reconciliation with the
	// VectorStore uses it): each page is one range scan of an index on
	// (tenant, ID). Empty tenant: record.ErrEmptyTenant; limit <= 0:
	// record.ErrInvalidInput.
	ScanChunks(ctx context.Context, tenantID, after string, limit int) ([]ChunkRef, error)
}

// DocumentQuery selects documents for QueryDocumentsPage.
type DocumentQuery struct {
	TenantID string // required
	// BotID and SourceID, when set, keep only the documents of that bot
	// or source.
	BotID    string
	SourceID string
	// Filter, when not zero, keeps only the documents whose Metadata
	// match it (see package filter).
	Filter filter.Filter
}

// ChunkWithDocument is a chunk and the document it belongs to
// (Documents.GetChunksWithDocuments).
type ChunkWithDocument struct {
	Chunk    record.Chunk
	Document record.Document
}

// ChunkRef identifies a stored chunk and what it belongs to.
type ChunkRef struct {
	ID, DocumentID, SourceID, BotID string
}

// DocumentWithChunks is one item of DocumentBatcher.PutDocuments: a
// document and all its chunks.
type DocumentWithChunks struct {
	Document record.Document
	Chunks   []record.Chunk
}

// DocumentBatcher is an optional capability of a Storage: storing many
// documents in one call, at less cost per document than one PutDocument
// each (one transaction, statements prepared once, one full-text index
// update). Callers find it by type assertion, on a Storage or on the tx an
// InTx callback receives, and fall back to PutDocument when it is absent:
//
//	if b, ok := s.(storage.DocumentBatcher); ok {
//		stored, err = b.PutDocuments(ctx, docs)
//	}
//
// storage/storagetest checks it on every store that offers it.
type DocumentBatcher interface {
	// PutDocuments does what PutDocument does for each item, in one
	// transaction: every item is stored or, on any error, none is. It
	// returns the stored documents in the order of docs. As with
	// PutDocument, each document and its chunks take the BotID of the
	// item's source; the BotIDs given are ignored. Errors follow
	// PutDocument's (an empty tenant ID in any item; invalid input naming
	// the field as "documents[i].field", a source and key given twice
	// included; a source not of the tenant, record.ErrNotFound; a
	// conflict) and name the index and key of the item that failed where
	// the store can tell. No items is not an error.
	PutDocuments(ctx context.Context, docs []DocumentWithChunks) ([]record.Document, error)
}

// LexicalQuery is a full-text query over chunk text and document titles.
type LexicalQuery struct {
	TenantID  string // required
	BotID     string // optional
	SourceIDs []string
	Text      string
	Limit     int
	// Language is the text-search configuration where the adapter has
	// several (PostgreSQL); empty means the adapter's default.
	Language string
	// Filter, when not zero, keeps only chunks of documents whose
	// Metadata match it (package filter), applied in the query before
	// ranking. An invalid Filter wraps ErrInvalidInput naming "filter".
	Filter filter.Filter
}

// LexicalMatch is a chunk found by lexical search; higher Score is better.
type LexicalMatch struct {
	ChunkID string
	Score   float64
}

// Lexical searches chunk text.
type Lexical interface {
	// SearchLexical ranks the tenant's chunks against q.Text, best first.
	// Text with no searchable terms gives no matches, not an error.
	SearchLexical(ctx context.Context, q LexicalQuery) ([]LexicalMatch, error)
}

// Jobs is the ingestion queue.
type Jobs interface {
	// EnqueueJob stores a queued job.
	EnqueueJob(ctx context.Context, j record.Job) error
	GetJob(ctx context.Context, tenantID, id string) (record.Job, error)
	// ListJobs lists a tenant's jobs, newest first, only those of sourceID
	// when it is not empty.
	ListJobs(ctx context.Context, tenantID, sourceID string) ([]record.Job, error)
	// ListJobsPage is one page of ListJobs (see Page).
	ListJobsPage(ctx context.Context, tenantID, sourceID string, p Page) (jobs []record.Job, next string, err error)
	// ClaimJob gives worker the oldest job, of any tenant, that is queued
	// with RunAt <= now, or running with an expired lease; it becomes
	// running, Attempts+1, leased until now+lease. Two concurrent callers
	// never get the same job. ErrNotFound when there is none.
	ClaimJob(ctx context.Context, worker string, now time.Time, lease time.Duration) (record.Job, error)
	// ExtendLease moves the lease of a job worker holds to until.
	// ErrConflict when worker no longer holds it.
	ExtendLease(ctx context.Context, jobID, worker string, until time.Time) error
	// CompleteJob marks a job worker holds done. ErrConflict when worker no
	// longer holds it.
	CompleteJob(ctx context.Context, jobID, worker string, at time.Time) error
	// FailJob records errText on a job worker holds; with retryAt non-nil
	// the job is queued again to run then, otherwise it is failed.
	// ErrConflict when worker no longer holds it.
	FailJob(ctx context.Context, jobID, worker, errText string, at time.Time, retryAt *time.Time) error
}

// ConversationQuery selects a page of a tenant's conversations for
// ListConversations, newest first: by UpdatedAt, then ID, descending.
type ConversationQuery struct {
	TenantID string // required
	// BotID, UserID and EndUserID, when set, keep only the conversations
	// with that value.
	BotID     string
	UserID    string
	EndUserID string
	// BeforeUpdatedAt and BeforeID, when BeforeID is set, continue a
	// listing after the conversation with these values (the last of the
	// previous page): only conversations with (UpdatedAt, ID) below
	// (BeforeUpdatedAt, BeforeID) are listed.
	BeforeUpdatedAt time.Time
	BeforeID        string
	// Limit bounds the page; 0 or less means no bound.
	Limit int
}

// Conversations persists conversations and their messages.
type Conversations interface {
	// CreateConversation stores c. A BotID that is not a bot of c's
	// tenant is an error wrapping ErrInvalidInput naming "bot_id"; a
	// duplicate ID is ErrConflict. MessageCount is stored as 0.
	CreateConversation(ctx context.Context, c record.Conversation) error
	GetConversation(ctx context.Context, tenantID, id string) (record.Conversation, error)
	// ListConversations lists a page of conversations (see
	// ConversationQuery).
	ListConversations(ctx context.Context, q ConversationQuery) ([]record.Conversation, error)
	// RenameConversation sets a conversation's Title and UpdatedAt.
	RenameConversation(ctx context.Context, tenantID, id, title string, at time.Time) error
	// DeleteConversation deletes a conversation with its messages and
	// their feedback.
	DeleteConversation(ctx context.Context, tenantID, id string) error
	// AppendMessages appends msgs to a conversation in one transaction:
	// all are stored or none. Each gets the next Seq (after the
	// conversation's last message, in the order of msgs) and the
	// conversation's TenantID and ConversationID; the conversation's
	// MessageCount grows by len(msgs) and its UpdatedAt becomes at.
	// Concurrent appends to one conversation never share a Seq. It
	// returns the stored messages. A conversation not of the tenant is
	// ErrNotFound; a duplicate message ID ErrConflict.
	AppendMessages(ctx context.Context, tenantID, conversationID string, msgs []record.ConversationMessage, at time.Time) ([]record.ConversationMessage, error)
	// ListMessages lists a conversation's messages by Seq; with last > 0,
	// only the last ones (still oldest first). A conversation not of the
	// tenant is ErrNotFound.
	ListMessages(ctx context.Context, tenantID, conversationID string, last int) ([]record.ConversationMessage, error)
	// GetMessage returns one message of the tenant.
	GetMessage(ctx context.Context, tenantID, id string) (record.ConversationMessage, error)
}

// FeedbackQuery selects a page of a tenant's feedback for ListFeedback,
// newest first: by UpdatedAt, then ID, descending.
type FeedbackQuery struct {
	TenantID string // required
	BotID    string // optional
	// Rating, when not 0, keeps only feedback with this rating.
	Rating int
	// BeforeUpdatedAt and BeforeID, when BeforeID is set, continue a
	// listing after the feedback with these values.
	BeforeUpdatedAt time.Time
	BeforeID        string
	// Limit bounds the page; 0 or less means no bound.
	Limit int
}

// Feedback persists feedback on answers.
type Feedback interface {
	// PutFeedback stores f as the feedback of message f.MessageID,
	// replacing the Rating, Comment, UserID, EndUserID and UpdatedAt of
	// the one it already has (whose ID and CreatedAt stay). The message
	// must be a message of f's tenant in conversation f.ConversationID
	// (ErrNotFound otherwise). It returns the stored feedback.
	PutFeedback(ctx context.Context, f record.Feedback) (record.Feedback, error)
	// ListFeedback lists a page of feedback (see FeedbackQuery).
	ListFeedback(ctx context.Context, q FeedbackQuery) ([]record.Feedback, error)
}

// UsageQuery selects usage rows for ListUsage.
type UsageQuery struct {
	TenantID string // required
	BotID    string // optional
	// From and To bound the days: rows of From's UTC day and later, and,
	// when To is not zero, of days before To (a To inside a day keeps that
	// day in).
	From, To time.Time
}

// Usage is the usage ledger (tokens and requests per tenant, bot, model,
// kind and day) and the counters quotas read.
type Usage interface {
	// AddUsage adds u's Requests, InputTokens and OutputTokens to the row
	// of (u.TenantID, u.BotID, u.Model, u.Kind, u.Day), creating it when
	// missing. u.Day is truncated to its UTC day. Concurrent additions,
	// from any number of processes sharing the store, are all counted.
	AddUsage(ctx context.Context, u record.Usage) error
	// ListUsage lists the rows q selects, ordered by Day, BotID, Model and
	// Kind.
	ListUsage(ctx context.Context, q UsageQuery) ([]record.Usage, error)
	// CountRequest counts one request of the tenant in the window that
	// starts at window (callers use one key per period, such as the
	// minute), unless limit requests were already counted in it; it
	// reports whether the request was counted. The check and the count
	// are one atomic step: n concurrent callers, in any number of
	// processes, get exactly min(n, limit) true answers in a window. The
	// tenant's windows that start before window are removed.
	CountRequest(ctx context.Context, tenantID string, window time.Time, limit int) (bool, error)
	// CountContent returns the number of documents and chunks the tenant
	// holds.
	CountContent(ctx context.Context, tenantID string) (documents, chunks int, err error)
}
