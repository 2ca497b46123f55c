package minirag

import "github.com/minirag/minirag/record"

// Records, aliases of package record's types: most programs never import
// record directly.
type (
	// Tenant is an isolated customer; every other record belongs to one.
	Tenant = record.Tenant
	// User is a person of a tenant.
	User = record.User
	// Role is a user's role in a tenant.
	Role = record.Role
	// APIToken is the stored form of an API token (never its secret).
	APIToken = record.APIToken
	// Scope is a permission of an API token or session.
	Scope = record.Scope
	// Bot is a bot profile. Its credentials are never part of it; only
	// HasCredentials tells whether it has any.
	Bot = record.Bot
	// Source is a place content comes from, attached to a bot.
	Source = record.Source
	// SourceType is the kind of a source.
	SourceType = record.SourceType
	// SourceStatus is where a source is in its ingestion.
	SourceStatus = record.SourceStatus
	// Document is one item a source yielded.
	Document = record.Document
	// Chunk is a piece of a document, the unit of retrieval.
	Chunk = record.Chunk
	// Job is a unit of background work (ingestion).
	Job = record.Job
)

// Roles.
const (
	RoleOwner  = record.RoleOwner
	RoleAdmin  = record.RoleAdmin
	RoleMember = record.RoleMember
)

// Scopes.
const (
	// ScopeAdmin allows everything within the tenant.
	ScopeAdmin = record.ScopeAdmin
	// ScopeQuery allows search and ask only, optionally on listed bots.
	ScopeQuery = record.ScopeQuery
)

// Source types.
const (
	SourceText = record.SourceText
	SourceFile = record.SourceFile
	SourceURL  = record.SourceURL
	// SourceDocuments is a source of documents the host pushes
	// (TenantHandle.UpsertDocuments); it takes no Config.
	SourceDocuments = record.SourceDocuments
)

// Source statuses.
const (
	StatusPending    = record.StatusPending
	StatusProcessing = record.StatusProcessing
	StatusReady      = record.StatusReady
	StatusError      = record.StatusError
)
