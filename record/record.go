package record

import (
	"encoding/json"
	"time"
)

// Tenant is an isolated customer of a MiniRAG deployment. Every other record
// belongs to exactly one tenant.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Slug      string    `json:"slug"` // unique across the deployment
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Role is a user's role within a tenant.
type Role string

// Roles.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// User is a person of a tenant. Email is unique within the tenant.
type User struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Scope is a permission carried by an API token or a session.
type Scope string

// Scopes.
const (
	// ScopeAdmin allows everything within the tenant.
	ScopeAdmin Scope = "admin"
	// ScopeQuery allows search and ask only, optionally limited to some bots.
	ScopeQuery Scope = "query"
)

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s == ScopeAdmin || s == ScopeQuery }

// APIToken is the stored form of an API token. The plaintext is never
// stored: only its SHA-256 (Hash), and a short display Prefix.
type APIToken struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	UserID   string `json:"user_id"`
	Name     string `json:"name"`
	// Prefix is the first characters of the plaintext, for listings.
	Prefix string `json:"prefix"`
	// Hash is SHA-256 of the plaintext. It is never encoded to JSON.
	Hash   []byte  `json:"-"`
	Scopes []Scope `json:"scopes"`
	// BotIDs, when non-empty, limits a query token to these bots.
	BotIDs     []string   `json:"bot_ids,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Bot is a bot profile: how a tenant's assistant answers. Its provider
// credentials are stored encrypted apart from this record; HasCredentials
// tells whether there are any.
type Bot struct {
	ID           string  `json:"id"`
	TenantID     string  `json:"tenant_id"`
	Name         string  `json:"name"`
	Description  string  `json:"description"`
	SystemPrompt string  `json:"system_prompt"`
	Model        string  `json:"model"`
	Temperature  float64 `json:"temperature"`
	MaxTokens    int     `json:"max_tokens"`
	// BaseURL is the OpenAI-compatible endpoint; empty means the default.
	BaseURL string `json:"base_url"`
	Active  bool   `json:"active"`
	// ExtractiveFallback makes Ask answer from the best passages when the
	// bot has no model or credentials.
	ExtractiveFallback bool `json:"extractive_fallback"`
	// Language is the language of the bot's content for lexical search
	// (empty: English): a text search configuration on storage/postgres,
	// English (stemmed) or not on storage/sqlite; see their package docs.
	Language string `json:"language,omitempty"`
	// RewriteFollowUps makes Ask, in a conversation, rewrite a follow-up
	// question into a standalone search query with one short call of the
	// bot's model before retrieval.
	RewriteFollowUps bool `json:"rewrite_follow_ups,omitempty"`
	// Rerank, when set, reranks the fused candidates of Search and Ask
	// with a rerank endpoint.
	Rerank *BotRerank `json:"rerank,omitempty"`
	// HasCredentials is set by Storage on reads; it is ignored on writes.
	HasCredentials bool       `json:"has_credentials"`
	DeletedAt      *time.Time `json:"-"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// BotRerank is a bot's rerank endpoint: an HTTP API of the shape Cohere,
// Jina, vLLM and the LiteLLM proxy serve at /rerank ("cohere", the
// default) or of Hugging Face TEI ("tei"). Its API key is one of the bot's
// credentials.
type BotRerank struct {
	// URL is the endpoint's full URL (for example
	// https://api.cohere.com/v2/rerank or http://tei:8080/rerank).
	URL string `json:"url"`
	// Model names the rerank model (Cohere, Jina, vLLM, LiteLLM; TEI
	// ignores it).
	Model string `json:"model,omitempty"`
	// API is "cohere" (empty) or "tei", the request and response shape.
	API string `json:"api,omitempty"`
	// TopN is how many fused candidates are reranked (0 means 20).
	TopN int `json:"top_n,omitempty"`
}

// BotCredentials is a bot's encrypted credential blob (a Fernet token).
type BotCredentials struct {
	TenantID   string `json:"-"`
	BotID      string `json:"-"`
	Ciphertext []byte `json:"-"`
}

// SourceType is the kind of a source, which picks its loader.
type SourceType string

// Source types.
const (
	SourceText SourceType = "text"
	SourceFile SourceType = "file"
	SourceURL  SourceType = "url"
	// SourceDocuments holds the documents the host pushes
	// (TenantHandle.UpsertDocuments in package minirag); it has no loader
	// and no configuration.
	SourceDocuments SourceType = "documents"
)

// Valid reports whether t is a known source type.
func (t SourceType) Valid() bool {
	return t == SourceText || t == SourceFile || t == SourceURL || t == SourceDocuments
}

// SourceStatus is where a source is in its ingestion.
type SourceStatus string

// Source statuses.
const (
	StatusPending    SourceStatus = "pending"
	StatusProcessing SourceStatus = "processing"
	StatusReady      SourceStatus = "ready"
	StatusError      SourceStatus = "error"
)

// Valid reports whether s is a known status.
func (s SourceStatus) Valid() bool {
	return s == StatusPending || s == StatusProcessing || s == StatusReady || s == StatusError
}

// Source is a place content comes from, attached to a bot.
type Source struct {
	ID       string     `json:"id"`
	TenantID string     `json:"tenant_id"`
	BotID    string     `json:"bot_id"`
	Name     string     `json:"name"`
	Type     SourceType `json:"type"`
	// Config is the type's configuration as JSON (see package loader).
	Config         json.RawMessage `json:"config"`
	Status         SourceStatus    `json:"status"`
	Error          string          `json:"error,omitempty"`
	DocumentCount  int             `json:"document_count"`
	ChunkCount     int             `json:"chunk_count"`
	LastIngestedAt *time.Time      `json:"last_ingested_at,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// SourceState is the ingestion state of a source, written as one update.
type SourceState struct {
	Status         SourceStatus
	Error          string
	DocumentCount  int
	ChunkCount     int
	LastIngestedAt *time.Time
	UpdatedAt      time.Time
}

// Document is one item a source yielded (a file, a page, an inline text).
type Document struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	BotID    string `json:"bot_id"`
	SourceID string `json:"source_id"`
	// Key identifies the document within its source across ingestions
	// (a relative path, a URL). Unique per source.
	Key   string `json:"key"`
	Title string `json:"title"`
	URI   string `json:"uri"`
	// ContentHash is the hex SHA-256 of the normalized text.
	ContentHash string `json:"content_hash"`
	ByteSize    int64  `json:"byte_size"`
	TokenCount  int    `json:"token_count"`
	ChunkCount  int    `json:"chunk_count"`
	// Metadata is the document's metadata (see Metadata): what the host
	// gave for a pushed document, what the loader found for others, and
	// the embedding space ingestion recorded.
	Metadata  Metadata  `json:"metadata,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Chunk is a piece of a document's normalized text, the unit of retrieval.
type Chunk struct {
	ID         string `json:"id"`
	TenantID   string `json:"tenant_id"`
	BotID      string `json:"bot_id"`
	SourceID   string `json:"source_id"`
	DocumentID string `json:"document_id"`
	Ordinal    int    `json:"ordinal"`
	Text       string `json:"text"`
	TokenCount int    `json:"token_count"`
	// Start and End are byte offsets into the document's normalized text.
	Start       int      `json:"start"`
	End         int      `json:"end"`
	HeadingPath []string `json:"heading_path,omitempty"`
}

// JobStatus is where an ingestion job is.
type JobStatus string

// Job statuses.
const (
	JobQueued  JobStatus = "queued"
	JobRunning JobStatus = "running"
	JobDone    JobStatus = "done"
	JobFailed  JobStatus = "failed"
)

// Job is a unit of background work kept in Storage (today: ingest a source).
type Job struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"tenant_id"`
	SourceID    string    `json:"source_id"`
	Kind        string    `json:"kind"`
	Status      JobStatus `json:"status"`
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts"`
	// RunAt is the earliest time the job may be claimed.
	RunAt          time.Time  `json:"run_at"`
	LeaseOwner     string     `json:"lease_owner,omitempty"`
	LeaseExpiresAt *time.Time `json:"lease_expires_at,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
	// Payload is the job's input beyond its source, for kinds that have
	// one (documents pushed through a Worker); nil otherwise. Storages
	// keep it as it is given.
	Payload []byte `json:"-"`
	// TraceContext is the W3C traceparent of the span that enqueued the
	// job ("" when there was none), so the Worker's span can link to it.
	TraceContext string `json:"-"`
}
