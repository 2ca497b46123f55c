// Package minirag is an embeddable, multi-tenant retrieval-augmented
// generation (RAG) back end for Go programs: tenants and their users, API
// tokens and JWT sessions, bot profiles with encrypted provider
// credentials, and sources of content. The library never opens a port; a
// host adds its own HTTP (or gRPC, or CLI) layer.
//
// # The quick path
//
// Open gives a Client on the embedded stack kept in one folder, with no
// service to run: SQLite (storage/sqlite), the local vector store
// (vectorstore/local), the offline hashing embedder (embed/hashing) and the
// default chunkers.
//
//	c, err := minirag.Open(ctx, "./data") // creates ./data on the first run
//	defer c.Close()
//	boot, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "owner@acme.test"})
//	h := c.Tenant(boot.Tenant.ID) // trusted code; c.Scoped(principal) for a request
//	bot, err := h.CreateBot(ctx, minirag.BotParams{Name: "Docs", ExtractiveFallback: true})
//	src, err := h.CreateSource(ctx, minirag.SourceParams{BotID: bot.ID, Name: "docs", Type: minirag.SourceFile,
//		Config: loader.FileConfig{Path: "./docs", Include: []string{"*.md"}}})
//	res, err := h.Ingest(ctx, src.ID, minirag.IngestOptions{})
//	hits, err := h.Search(ctx, minirag.SearchRequest{BotID: bot.ID, Query: "how do I restore a backup?"})
//	ans, err := h.Ask(ctx, minirag.AskRequest{BotID: bot.ID, Question: "how do I restore a backup?"})
//
// (each err checked; ExampleOpen, in example_ingest_test.go, runs this path).
//
// Open keeps a generated Fernet key and JWT secret in the folder (mode
// 0600) unless WithEncryptionKeys and WithJWT supply them: fine for a demo
// or a single-user tool; a production host passes keys from a secret
// manager, or builds its Client with New.
//
// # The shape
//
//	Client ── New(Config{Storage, EncryptionKeys, JWT, …}) or Open(ctx, dir)
//	  │
//	  ├─ CreateTenant ──▶ Tenant + owner User + admin API token (one transaction)
//	  ├─ Authenticate(bearer) ──▶ Principal {tenant, user, token, scopes, bots}
//	  ├─ Middleware(next) ── net/http: Authorization: Bearer … → Principal in context
//	  ├─ IssueSession(tenant, user) ──▶ JWT
//	  ├─ RotateCredentials ── re-encrypt every bot credential under the first key
//	  │
//	  ├─ Tenant(id)          trusted handle: every scope
//	  └─ Scoped(principal)   caller's handle: its tenant, its scopes
//	        │
//	        └─ TenantHandle: users, API tokens, bots, sources,
//	           Ingest / EnqueueIngest, Search, Ask
//
// # Ingestion and search
//
//	Source ─▶ loader ─▶ Normalize ─▶ SHA-256 ── unchanged, same embedding model? skip
//	                                   │ changed, new, or embedded by another model
//	                                   ▼
//	          chunk (markdown or token) ─▶ embed in batches (several in flight)
//	                                   ▼
//	          VectorStore: upsert new ─▶ Storage: document + chunks ─▶ VectorStore: delete old
//
// TenantHandle.Ingest runs inline; TenantHandle.EnqueueIngest queues a job
// in Storage that any number of Workers (Client.NewWorker) drain, with
// leases, retries with backoff and recovery of jobs whose worker died.
// Documents a source no longer yields are deleted; a document that fails
// keeps its previous version searchable. TenantHandle.Search ranks the
// chunks of one bot's sources by dense similarity, lexical relevance, or
// both fused (hybrid, the default mode), always within the handle's
// tenant. How hybrid fuses depends on the embedder (see Fusion): over a
// lexical embedder (embed/hashing, Open's default) it takes the weighted
// mean of the two lists' normalized scores, lexical weighted 0.80 (chosen
// on half of the labeled questions of package eval, checked on the other
// half: docs/QUALITY.md); over any other embedder, reciprocal rank fusion.
// SearchRequest.Fusion picks either explicitly.
//
// # Documents pushed by the host
//
// A host that holds its content in its own database (tickets, products,
// records) pushes it into a source of type SourceDocuments:
// TenantHandle.UpsertDocuments takes a batch of DocumentInput (its own
// Key, Title, URI, Text and a JSON Metadata object), idempotent per key,
// through the pipeline above; DeleteDocuments deletes by key;
// EnqueueUpsertDocuments hands a batch to a Worker. Every document, of
// every source type, can be listed (ListDocuments, paged and filtered),
// read (GetDocument, GetDocumentByKey) and deleted (DeleteDocument).
// SearchRequest.Filter and AskRequest.Filter (package filter: equality,
// sets, numeric and time ranges, exists, and, or, not) keep the chunks of
// documents whose metadata match, applied inside Storage's full-text
// query and the VectorStore's scan before ranking; each SearchResult
// carries its document's key and metadata.
//
// # Crash safety
//
// Storage is the source of truth; the VectorStore follows it. The
// invariant, kept at every instant whatever stops the process (a kill, a
// full disk, a dropped connection, a failed call): every chunk Storage
// holds has its vector in the current embedding space, so a document is
// found in every search mode in its previous version or in its new one,
// never in neither. Vectors without a chunk may exist for a while; a
// search never returns them, and they are deleted later. The writes are
// ordered to keep it:
//
//   - Ingesting a document: upsert the new chunks' vectors under new chunk
//     IDs → commit the document and its chunks in Storage, one
//     transaction (the switch) → delete the old chunks' vectors by ID.
//   - Pushing documents (TenantHandle.UpsertDocuments): the same path as
//     ingesting, through the same pipeline. A document whose text is
//     unchanged but whose metadata, title or URI changed embeds nothing:
//     its vectors' metadata is replaced first, then Storage commits
//     (search re-checks each result's metadata in Storage, so a stop in
//     between never lets a filter return a document that does not match,
//     and pushing again converges).
//   - Deleting a document (TenantHandle.DeleteDocument, DeleteDocuments),
//     a source (TenantHandle.DeleteSource), a bot with its sources
//     (TenantHandle.DeleteBot) or a tenant (Client.DeleteTenant): Storage
//     first, in one transaction (a tenant in several, resumable), then
//     the vectors.
//   - Moving a source to another bot (TenantHandle.UpdateSource): Storage
//     moves the documents and chunks in one transaction, and that is the
//     switch: a dense search asks the VectorStore for the vectors of the
//     bot's sources as Storage lists them, not for the bot ID a vector
//     carries. Then each vector is relabelled with the new bot, replaced in
//     place (never deleted first).
//   - Changing the embedding model starts an empty space (the VectorStore
//     keeps one per model): until its vectors are written, dense search
//     finds nothing. Client.Reconcile fills it from the stored chunk text,
//     with no source loaded; Ingest embeds every document recorded in
//     another space again.
//
// What a stop leaves behind is repaired by Client.Reconcile, which
// compares both stores page by page (chunks without vectors are embedded
// from their stored text, vectors without chunks deleted), by Open after
// an unclean shutdown of its folder, by a Worker every
// WorkerConfig.ReconcileInterval, and by Ingest itself: a plain Ingest
// deletes the source's vectors without chunks and does not trust the
// content hash of a document a chunk of which lacks its vector, so it
// converges after any failure. docs/RELIABILITY.md has the fault tests
// and figures.
//
// Every call through a TenantHandle is confined to the handle's tenant. An
// object of another tenant is ErrNotFound, except a reference in an input
// (a source's bot), which is ErrInvalidInput naming the field.
//
// # Scopes
//
// An API token or session holds scopes: ScopeAdmin allows everything in
// the tenant; ScopeQuery allows search and ask only, optionally limited to
// listed bots (what a public chat widget embeds). A call the scopes do not
// allow is ErrForbidden. A token never allows more than its user's role:
// owners and admins may hold admin and query, members query only.
//
// # Credentials and tokens
//
//   - API tokens are "mrag_" followed by 32 random bytes in base64url. Only
//     their SHA-256 is stored; the plaintext is returned once, by
//     CreateTenant or TenantHandle.CreateAPIToken.
//   - JWT sessions (HS256 by default, EdDSA or RS256) pin their algorithm,
//     require exp, and check iss and aud when configured.
//   - Bot credentials are encrypted with Fernet under Config.EncryptionKeys
//     (the first encrypts, all decrypt); reads expose only
//     Bot.HasCredentials.
//
// Secrets never appear in errors, logs, String or %v output, or JSON
// encodings: the types that hold them (Config, JWTConfig, Credentials,
// NewAPIToken, Session) redact themselves in String, GoString, LogValue
// and MarshalJSON. A host hands a new token over by reading its field
// (NewAPIToken.Plaintext, Session.Token) explicitly.
//
// # Errors
//
// Callers test errors with errors.Is against ErrNotFound, ErrInvalidInput
// (with a *ValidationError naming each bad field, see errors.As),
// ErrUnauthenticated, ErrForbidden and ErrConflict; HTTPStatus maps them
// to status codes.
//
// # Storage
//
// Records are kept by a storage.Storage (storage/sqlite embedded, or
// storage/postgres); IDs are UUIDv7 strings; times are UTC with
// microsecond precision. The Client owns the Storage it is given and
// closes it in Close.
package minirag
