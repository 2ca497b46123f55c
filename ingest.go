package minirag

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/minirag/minirag/chunk"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
)

// Defaults of IngestOptions.
const (
	// DefaultIngestConcurrency is how many Embed calls ingestion keeps in
	// flight.
	DefaultIngestConcurrency = 4
	// DefaultEmbedBatchSize is how many chunk texts go into one Embed call.
	DefaultEmbedBatchSize = 64
)

// IngestOptions tune one ingestion. The zero value is the default.
type IngestOptions struct {
	// Progress, if set, is called after each document is done (written,
	// unchanged or failed), after each file or page the loader passes
	// over (IngestProgress.Skipped grows), and once more at the end with
	// Done set. Calls come from one goroutine at a time, in order; a slow
	// callback slows ingestion.
	Progress func(IngestProgress)
	// Concurrency is how many Embed calls are kept in flight at once;
	// 0 means DefaultIngestConcurrency. Set it to what the embedding
	// service serves in parallel, or one or two more, so that a request is
	// already waiting when one finishes (bench/ingest_test.go: slots + 2
	// reaches 0.93 to 0.97 of the server's nominal capacity). An Embedder
	// that splits calls itself (embed/openai) gets whole batches: set its
	// BatchSize to at least BatchSize here.
	Concurrency int
	// BatchSize is how many chunk texts, of one or several documents, go
	// into one Embed call; 0 means DefaultEmbedBatchSize.
	BatchSize int
	// Force chunks and embeds every document again, changed or not (to
	// rebuild an index, or after changing the chunker). A change of
	// embedding model needs no Force: see MetadataEmbeddingModel.
	Force bool
}

// Document metadata ingestion records on every document it writes (beside
// the loader's metadata, which cannot set these keys): the embedding space
// its chunks were embedded in. A stored document whose recorded space is
// not the Client's embedder's (Model and Dimensions) is chunked and
// embedded again by the next Ingest even though its text is unchanged, so
// that switching the embedder (a new vector space, an empty index) fills
// the new index; a document without them (written before they existed)
// is likewise embedded again once.
const (
	// MetadataEmbeddingModel holds embed.Embedder.Model().
	MetadataEmbeddingModel = "embedding_model"
	// MetadataEmbeddingDims holds the vector size, in decimal.
	MetadataEmbeddingDims = "embedding_dims"
)

// IngestProgress reports how far an ingestion is.
type IngestProgress struct {
	SourceID string
	// Documents is the number of documents done (written, unchanged or
	// failed) so far.
	Documents int
	// DocumentsTotal is the number of documents the source yielded; it is
	// known, and set, only when Done is true (loaders stream).
	DocumentsTotal int
	// Chunks is the number of chunks embedded and written so far.
	Chunks int
	// ChunksQueued is the number of chunks of changed documents found so
	// far (those written plus those being embedded): the chunk total once
	// loading has finished.
	ChunksQueued int
	// Unchanged and Failed count documents so far.
	Unchanged, Failed int
	// Skipped counts the files or pages the loader passed over so far
	// (binary or too large files, pages that failed); they are not
	// documents. IngestResult.Skipped lists them with the reasons.
	Skipped int
	// Key is the document just done, or the item just skipped (empty in
	// the final report).
	Key string
	// Done is set on the last report.
	Done bool
}

// DocumentError is a document that could not be ingested, and why. Its
// previously stored version, if any, is kept.
type DocumentError struct {
	// Key is the document's key in its source (a path or a URL).
	Key string
	Err error
}

// Error implements error; it names the document.
func (e *DocumentError) Error() string {
	return fmt.Sprintf("minirag: document %q: %v", e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *DocumentError) Unwrap() error { return e.Err }

// MarshalJSON encodes the key and the kind of failure (PublicText), not
// the cause's full text, which may hold host paths or driver messages: a
// host that serves the result to a tenant shows nothing of its own
// internals. The full error is in Err, and in the Client's log.
func (e *DocumentError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Key   string `json:"key"`
		Error string `json:"error"`
	}{e.Key, e.PublicText()})
}

// PublicText says what failed in terms a tenant may read: the kind of
// failure ("embedding failed", "invalid UTF-8", "storing failed"…),
// never a host path, SQL or a driver's message.
func (e *DocumentError) PublicText() string { return publicText(e.Err) }

// ErrEmptyDocument describes a document with no text after normalization
// (or none a chunker keeps). Ingestion does not fail such a document: it
// lists it in IngestResult.Skipped with this error's text as the reason.
// It matches ErrInvalidInput.
var ErrEmptyDocument error = emptyDocErr{}

type emptyDocErr struct{}

func (emptyDocErr) Error() string        { return "minirag: " + emptyDocErr{}.reason() }
func (emptyDocErr) reason() string       { return "empty document (no text to index after normalization)" }
func (emptyDocErr) Is(target error) bool { return target == ErrInvalidInput }

// IngestError is returned by an ingestion in which some documents failed
// (the others were ingested). Unwrap gives the *DocumentError of each, so
// errors.Is and errors.As see their causes.
type IngestError struct {
	SourceID   string
	SourceName string
	// Total is the number of documents the source yielded.
	Total  int
	Failed []*DocumentError
}

// Error names the source and the failed documents (the first few), each
// with its cause: it is for the host (a log, an operator's tool). What
// tenants may read is PublicText.
func (e *IngestError) Error() string {
	return fmt.Sprintf("minirag: ingest source %q: %s", e.SourceName, failedText(e.Failed, e.Total, false))
}

// PublicText is Error without the causes: each failed document is named
// with the kind of its failure (DocumentError.PublicText), never a host
// path, SQL or a driver's message. It is the source's error text.
func (e *IngestError) PublicText() string {
	return fmt.Sprintf("ingest source %q: %s", e.SourceName, failedText(e.Failed, e.Total, true))
}

// Unwrap returns the documents' errors.
func (e *IngestError) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, d := range e.Failed {
		out[i] = d
	}
	return out
}

// IngestResult is what an ingestion did.
type IngestResult struct {
	SourceID string `json:"source_id"`
	// Documents and Chunks are the source's stored documents and chunks
	// after the run.
	Documents int `json:"documents"`
	Chunks    int `json:"chunks"`
	// Added, Updated and Unchanged count the documents the source yielded
	// by what happened to them; Deleted counts stored documents the source
	// no longer yields, which were removed.
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Deleted   int `json:"deleted"`
	// Embedded is the number of chunks embedded by this run (zero when
	// nothing changed).
	Embedded int `json:"embedded"`
	// Skipped lists what was passed over, with the reason: what the
	// loader skipped (binary or too large files, pages that failed) and
	// documents with no text (an empty file, a markdown file of front
	// matter only). Neither is a failure; stored documents with these
	// keys are kept.
	Skipped []loader.Skipped `json:"skipped,omitempty"`
	// Failed lists the documents that could not be ingested.
	Failed   []*DocumentError `json:"failed,omitempty"`
	Duration time.Duration    `json:"duration"`
}

// Ingest loads the source's documents and brings the index up to date,
// inline: each document is normalized (chunk.NormalizeDocument: invalid
// UTF-8 is an error naming the document) and hashed; a document whose
// hash is unchanged, whose chunks were embedded by the same embedding
// model (see MetadataEmbeddingModel) and all have their vectors, is
// skipped; a new or changed one, one embedded by another model, or one
// with a chunk missing its vector (after a crash or a lost vector
// store), is chunked (the markdown chunker for markdown), embedded in
// batches (several in flight, see IngestOptions) and written in the
// order that keeps every stored chunk searchable (see the package
// documentation, "Crash safety"): the new vectors are upserted under
// new chunk IDs, the document and its chunks replace the old ones in
// Storage in one transaction, then the old chunks' vectors are deleted.
// Stored documents the source no longer yields are deleted from Storage,
// then their vectors, except those the loader reported as skipped (a
// page that timed out this time is kept). Vectors of the source without
// a chunk (left by a crash) are deleted first.
//
// The source moves to processing, then ready, or error with a text that
// names the failed documents and the kind of each failure (never a host
// path, SQL or a driver's message: the full errors go to Config.Logger).
// A document with no text (an empty file, a markdown file holding only
// front matter) is not a failure: it is listed in IngestResult.Skipped
// (its stored version, if any, is kept). A document that fails
// (invalid UTF-8, an embedding or a storage error) keeps its previously
// stored version, and searches keep finding it; the others are ingested,
// and Ingest returns the result with an *IngestError holding one
// *DocumentError per failed document. A source that cannot be loaded (a
// path gone, a URL that does not answer) fails as a whole and changes no
// document. Running Ingest again converges, whatever stopped the last
// run. Needs the admin scope.
//
// Documents stream through one at a time (a bounded number are being
// embedded at once), so memory does not grow with the size of the source.
func (h *TenantHandle) Ingest(ctx context.Context, sourceID string, opts IngestOptions) (IngestResult, error) {
	if err := h.authorizeAdmin(); err != nil {
		return IngestResult{}, err
	}
	if err := h.checkIngestQuota(ctx); err != nil { // quota.go
		return IngestResult{}, err
	}
	return h.c.tracedIngest(ctx, h.p.TenantID, sourceID, opts)
}

// withDefaults validates o and fills in its defaults.
func (o IngestOptions) withDefaults() (IngestOptions, error) {
	var v record.ValidationError
	if o.Concurrency < 0 {
		v.Add("concurrency", "must not be negative")
	}
	if o.BatchSize < 0 {
		v.Add("batch_size", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return o, err
	}
	o.Concurrency = cmp.Or(o.Concurrency, DefaultIngestConcurrency)
	o.BatchSize = cmp.Or(o.BatchSize, DefaultEmbedBatchSize)
	return o, nil
}

// ingest runs one ingestion: prepare, mark the source processing, run
// the pipeline (ingest_run.go), record the outcome.
func (c *Client) ingest(ctx context.Context, tenantID, sourceID string, opts IngestOptions) (IngestResult, error) {
	start := time.Now()
	if sourceID == "" {
		return IngestResult{}, record.Invalid("source_id", "is required")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return IngestResult{}, err
	}
	src, err := c.store.GetSource(ctx, tenantID, sourceID)
	if err != nil {
		return IngestResult{}, fmt.Errorf("minirag: ingest: %w", err)
	}
	if err := c.ensureIndex(ctx); err != nil {
		return IngestResult{}, err
	}
	r, err := c.newIngestRun(src, opts)
	if err != nil {
		return IngestResult{}, err
	}
	// processing, keeping the counts of the last run while it runs.
	if err := c.setSourceState(ctx, src, record.SourceState{
		Status: StatusProcessing, DocumentCount: src.DocumentCount, ChunkCount: src.ChunkCount,
		LastIngestedAt: src.LastIngestedAt,
	}); err != nil {
		return IngestResult{}, err
	}
	c.log.LogAttrs(ctx, slogInfo, "ingest started", attrTenant(tenantID), attrSource(src.ID))

	runErr := r.execute(ctx)
	r.res.Duration = time.Since(start)
	if runErr != nil {
		err := fmt.Errorf("minirag: ingest source %q: %w", src.Name, runErr)
		c.finishSource(ctx, src, record.SourceState{
			Status: StatusError, Error: publicText(runErr), DocumentCount: src.DocumentCount, ChunkCount: src.ChunkCount,
			LastIngestedAt: src.LastIngestedAt,
		})
		c.log.LogAttrs(ctx, slogWarn, "ingest failed", attrTenant(tenantID), attrSource(src.ID), attrErr(err))
		return r.res, err
	}
	return r.res, c.finishIngest(ctx, r)
}

// finishIngest records a run that got through: ready, or error naming
// the failed documents (the full errors are logged).
func (c *Client) finishIngest(ctx context.Context, r *ingestRun) error {
	src := r.src
	now := c.now()
	st := record.SourceState{Status: StatusReady, DocumentCount: r.res.Documents, ChunkCount: r.res.Chunks, LastIngestedAt: &now}
	var outErr error
	if len(r.res.Failed) > 0 {
		outErr = &IngestError{SourceID: src.ID, SourceName: src.Name, Total: len(r.seen), Failed: r.res.Failed}
		st.Status = StatusError
		st.Error = sourceErrorText(r.res.Failed, len(r.seen))
		st.LastIngestedAt = src.LastIngestedAt
		for _, f := range r.res.Failed {
			c.log.LogAttrs(ctx, slogWarn, "ingest: document failed", attrTenant(src.TenantID), attrSource(src.ID),
				slog.String("key", f.Key), attrErr(f.Err))
		}
	}
	c.finishSource(ctx, src, st)
	c.log.LogAttrs(ctx, slogInfo, "ingest finished", attrTenant(src.TenantID), attrSource(src.ID),
		slog.Int("documents", r.res.Documents), slog.Int("embedded", r.res.Embedded),
		slog.Int("unchanged", r.res.Unchanged), slog.Int("deleted", r.res.Deleted), slog.Int("failed", len(r.res.Failed)),
		slog.Int("skipped", len(r.res.Skipped)))
	return outErr
}

// sourceErrorText is the source's error text for failed documents: the
// first few, named, each with the kind of its failure.
func sourceErrorText(failed []*DocumentError, total int) string {
	return failedText(failed, total, true)
}

// failedText names the first few failed documents, each with the kind of
// its failure (public) or its cause.
func failedText(failed []*DocumentError, total int, public bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d documents failed: ", len(failed), total)
	for i, e := range failed {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(failed)-3)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if public {
			fmt.Fprintf(&b, "%q: %s", e.Key, e.PublicText())
		} else {
			fmt.Fprintf(&b, "%q: %v", e.Key, e.Err)
		}
	}
	return b.String()
}

// setSourceState writes a source's state.
func (c *Client) setSourceState(ctx context.Context, src Source, st record.SourceState) error {
	st.UpdatedAt = c.now()
	if err := c.store.SetSourceState(ctx, src.TenantID, src.ID, st); err != nil {
		return fmt.Errorf("minirag: ingest: set source state: %w", err)
	}
	return nil
}

// finishSource writes a source's final state even when ctx is cancelled,
// so that a cancelled run does not leave it processing.
func (c *Client) finishSource(ctx context.Context, src Source, st record.SourceState) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.setSourceState(wctx, src, st); err != nil {
		c.log.LogAttrs(ctx, slogWarn, "ingest: could not record the source's state", attrTenant(src.TenantID), attrSource(src.ID), attrErr(err))
	}
}

// Kinds of ingestion failure: what a tenant reads in a source's error
// text and in IngestResult's JSON (see publicText).
const (
	kindLoad    = "loading the source failed"
	kindStorage = "storing failed"
	kindIndex   = "checking the vector index failed"
	kindVectors = "writing vectors failed"
	kindEmbed   = "embedding failed"
	kindChunk   = "chunking failed"
)

// stageError is an error of one stage of ingestion or reconciliation;
// kind says what failed in words a tenant may read, err is the cause,
// for the host's log.
type stageError struct {
	kind string
	err  error
}

func (e *stageError) Error() string { return e.kind + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// failedAt wraps err as a failure of kind (kept when err already has
// one).
func failedAt(kind string, err error) error {
	var se *stageError
	if errors.As(err, &se) {
		return err
	}
	return &stageError{kind: kind, err: err}
}

// publicText describes err for a tenant: the kind of failure, never the
// cause's own text (which may hold host paths, SQL or a driver's
// message). Input errors name their fields.
func publicText(err error) string {
	if err == nil {
		return ""
	}
	var (
		se   *stageError
		ve   *ValidationError
		text string
	)
	errors.As(err, &se)
	switch {
	case errors.Is(err, chunk.ErrInvalidUTF8):
		return "invalid UTF-8"
	case errors.Is(err, ErrEmptyDocument):
		return emptyDocErr{}.reason()
	case errors.Is(err, loader.ErrBlockedAddress):
		text = "the address is not allowed"
	case errors.As(err, &ve) && len(ve.Fields) > 0:
		names := make([]string, len(ve.Fields))
		for i, f := range ve.Fields {
			names[i] = f.Field
		}
		text = "invalid " + strings.Join(names, ", ")
	case se != nil:
		text = se.kind
	case errors.Is(err, ErrNotFound):
		text = "not found"
	default:
		text = "failed"
	}
	if se != nil && text != se.kind {
		text = se.kind + ": " + text
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		text += " (timed out)"
	case errors.Is(err, context.Canceled):
		text += " (cancelled)"
	}
	return text
}
