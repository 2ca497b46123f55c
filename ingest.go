package minirag

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/minirag/minirag/chunk"
	"github.com/minirag/minirag/embed"
	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
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

// MarshalJSON encodes the key and the error's text.
func (e *DocumentError) MarshalJSON() ([]byte, error) {
	msg := ""
	if e.Err != nil {
		msg = e.Err.Error()
	}
	return json.Marshal(struct {
		Key   string `json:"key"`
		Error string `json:"error"`
	}{e.Key, msg})
}

// ErrEmptyDocument reports a document with no text after normalization.
// It matches ErrInvalidInput.
var ErrEmptyDocument error = emptyDocErr{}

type emptyDocErr struct{}

func (emptyDocErr) Error() string        { return "minirag: empty document (no text after normalization)" }
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

// Error names the source and the failed documents (the first few).
func (e *IngestError) Error() string {
	return fmt.Sprintf("minirag: ingest source %q: %s", e.SourceName, sourceErrorText(e.Failed, e.Total))
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
	// Skipped lists what the loader passed over (binary or too large
	// files, pages that failed); stored documents with these keys are
	// kept.
	Skipped []loader.Skipped `json:"skipped,omitempty"`
	// Failed lists the documents that could not be ingested.
	Failed   []*DocumentError `json:"failed,omitempty"`
	Duration time.Duration    `json:"duration"`
}

// ingestRuntime is the Client's lazily prepared ingestion state: the
// vector store's Init and the default chunkers. Its zero value is ready.
type ingestRuntime struct {
	mu        sync.Mutex
	vecReady  bool
	space     vectorstore.Space // the VectorStore's space, once vecReady
	chunkOnce sync.Once
	text, md  chunk.Chunker
	chunkErr  error
}

// chunkers returns the chunker of plain text and of markdown.
func (c *Client) chunkers() (text, md chunk.Chunker, err error) {
	r := &c.rt
	r.chunkOnce.Do(func() {
		switch ch := c.chunk.(type) {
		case nil:
			opts := chunk.Options{MaxTokens: chunk.DefaultMaxTokens, Overlap: chunk.DefaultOverlap}
			if r.text, r.chunkErr = chunk.NewTokenChunker(opts); r.chunkErr == nil {
				r.md, r.chunkErr = chunk.NewMarkdownChunker(opts)
			}
		case *chunk.TokenChunker:
			r.text = ch
			r.md, r.chunkErr = chunk.NewMarkdownChunker(ch.Options())
		case *chunk.MarkdownChunker:
			r.md = ch
			r.text, r.chunkErr = chunk.NewTokenChunker(ch.Options())
		default:
			r.text, r.md = ch, ch
		}
		if r.chunkErr != nil {
			r.chunkErr = fmt.Errorf("minirag: chunker: %w", r.chunkErr)
		}
	})
	return r.text, r.md, r.chunkErr
}

// prober is an Embedder that can learn its vector size (embed/openai).
type prober interface {
	Probe(ctx context.Context) (int, error)
}

// ensureIndex checks that the Client has a VectorStore and an Embedder and
// initializes the store for the embedder's space once.
func (c *Client) ensureIndex(ctx context.Context) error {
	if c.vec == nil || c.emb == nil {
		return fmt.Errorf("minirag: ingestion and dense search need Config.VectorStore and Config.Embedder")
	}
	r := &c.rt
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.vecReady {
		return nil
	}
	dims := c.emb.Dimensions()
	if dims <= 0 {
		if p, ok := c.emb.(prober); ok {
			d, err := p.Probe(ctx)
			if err != nil {
				return fmt.Errorf("minirag: learn the embedding size: %w", err)
			}
			dims = d
		}
	}
	space := vectorstore.Space{Model: c.emb.Model(), Dims: dims}
	if err := c.vec.Init(ctx, space); err != nil {
		return fmt.Errorf("minirag: init vector store: %w", err)
	}
	r.space = space
	r.vecReady = true
	return nil
}

// indexSpace returns the embedding space of the index; ensureIndex must
// have succeeded.
func (c *Client) indexSpace() vectorstore.Space {
	c.rt.mu.Lock()
	defer c.rt.mu.Unlock()
	return c.rt.space
}

// deleteSourceVectors removes a source's vectors, when the Client has a
// vector store. The source must be of the tenant (ErrNotFound otherwise).
func (c *Client) deleteSourceVectors(ctx context.Context, tenantID, sourceID string) error {
	if c.vec == nil || c.emb == nil {
		return nil
	}
	if tenantID == "" {
		return record.ErrEmptyTenant
	}
	if _, err := c.store.GetSource(ctx, tenantID, sourceID); err != nil {
		return fmt.Errorf("minirag: delete source: %w", err)
	}
	if err := c.ensureIndex(ctx); err != nil {
		return err
	}
	if err := c.vec.Delete(ctx, vectorstore.Filter{TenantID: tenantID, SourceIDs: []string{sourceID}}); err != nil {
		return fmt.Errorf("minirag: delete source: vectors: %w", err)
	}
	return nil
}

// moveSourceVectors rewrites the vectors of a source's stored chunks with
// the bot, source and document IDs Storage now has for them (after the
// source moved to another bot), embedding the stored texts again.
func (c *Client) moveSourceVectors(ctx context.Context, tenantID, sourceID string) error {
	if c.vec == nil || c.emb == nil {
		return nil
	}
	fail := func(err error) error {
		return fmt.Errorf("minirag: update source: moving the vectors to the new bot failed (ingest the source with IngestOptions.Force): %w", err)
	}
	if err := c.ensureIndex(ctx); err != nil {
		return fail(err)
	}
	docs, err := c.store.ListDocuments(ctx, tenantID, sourceID)
	if err != nil {
		return fail(err)
	}
	for _, d := range docs {
		chunks, err := c.store.ListChunks(ctx, tenantID, d.ID)
		if err != nil {
			return fail(err)
		}
		texts := make([]string, len(chunks))
		for i, ch := range chunks {
			texts[i] = ch.Text
		}
		var vecs [][]float32
		if len(texts) > 0 {
			if vecs, err = c.emb.Embed(ctx, texts); err != nil {
				return fail(err)
			}
			if len(vecs) != len(texts) {
				return fail(fmt.Errorf("%w: %d vectors for %d texts", embed.ErrBadResponse, len(vecs), len(texts)))
			}
		}
		recs := make([]vectorstore.Record, len(chunks))
		for i, ch := range chunks {
			recs[i] = vectorstore.Record{ID: ch.ID, Vector: vecs[i], TenantID: tenantID, BotID: ch.BotID, SourceID: ch.SourceID, DocumentID: ch.DocumentID}
		}
		if err := c.vec.Delete(ctx, vectorstore.Filter{TenantID: tenantID, DocumentIDs: []string{d.ID}}); err != nil {
			return fail(err)
		}
		if err := c.vec.Upsert(ctx, recs); err != nil {
			return fail(err)
		}
	}
	return nil
}

// documentID is the ID of the document with key in a source: derived from
// the tenant, source and key, so that a run interrupted between writing
// vectors and storing the document cleans up its vectors on the next run.
func documentID(tenantID, sourceID, key string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("minirag:document\x00"+tenantID+"\x00"+sourceID+"\x00"+key)).String()
}

// contentHash is the hex SHA-256 of a normalized text.
func contentHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// storedDoc is what ingestion needs of a stored document.
type storedDoc struct {
	id, hash, botID string
	chunks          int
	// space is the embedding space recorded in its metadata ("" when it
	// has none).
	space string
}

// spaceKey is how storedDoc.space spells an embedding space.
func spaceKey(model, dims string) string {
	if model == "" || dims == "" {
		return ""
	}
	return model + "\x00" + dims
}

// docWork is a changed document on its way through embedding.
type docWork struct {
	doc     record.Document
	pieces  []chunk.Piece
	vecs    [][]float32
	pending int // pieces not embedded yet (guarded by ingestRun.mu)
	err     error
	isNew   bool
	// unchanged marks a document whose hash is the stored one.
	unchanged bool
	// skipped marks no document but an item the loader passed over
	// (doc.Key is its key), for the progress report.
	skipped bool
	// chunksOut are the chunks to store, once the vectors are written.
	chunksOut []record.Chunk
}

// embedBatch is one Embed call: texts of one or more documents.
type embedBatch struct {
	texts []string
	refs  []pieceRef
}

type pieceRef struct {
	w *docWork
	i int
}

// ingestRun is the state of one ingestion.
type ingestRun struct {
	c      *Client
	src    Source
	opts   IngestOptions
	text   chunk.Chunker
	md     chunk.Chunker
	stored map[string]storedDoc
	seen   map[string]bool
	now    time.Time
	// model and dims are the embedding space documents are embedded in
	// (recorded in their metadata).
	model, dims string

	batches chan embedBatch
	done    chan []*docWork
	cur     embedBatch

	mu       sync.Mutex   // guards docWork.pending/err across embed workers
	queued   atomic.Int64 // chunks of changed documents found so far
	res      IngestResult
	progress IngestProgress
	chunks   map[string]int // key -> stored chunk count after the run
}

// Ingest loads the source's documents and brings the index up to date,
// inline: each document is normalized (chunk.NormalizeDocument: invalid
// UTF-8 is an error naming the document) and hashed; a document whose
// hash is unchanged, and whose chunks were embedded by the same embedding
// model (see MetadataEmbeddingModel), is skipped; a new or changed one, or
// one embedded by another model, is chunked (the
// markdown chunker for markdown), embedded in batches (several in flight,
// see IngestOptions) and written: its old vectors are deleted, the new
// ones upserted, then the document and its chunks replace the old ones in
// Storage. Stored documents the source no longer yields are deleted from
// Storage and the VectorStore, except those the loader reported as skipped
// (a page that timed out this time is kept).
//
// The source moves to processing, then ready, or error with the error
// text. A document that fails (empty, invalid UTF-8, an embedding error)
// keeps its previously stored version, and searches keep finding it; the
// others are ingested, and Ingest returns the result with an error that
// joins one *DocumentError per failed document. A source that cannot be
// loaded (a path gone, a URL that does not answer) fails as a whole and
// changes no document. Needs the admin scope.
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

func (c *Client) ingest(ctx context.Context, tenantID, sourceID string, opts IngestOptions) (IngestResult, error) {
	start := time.Now()
	if sourceID == "" {
		return IngestResult{}, record.Invalid("source_id", "is required")
	}
	if opts.Concurrency < 0 || opts.BatchSize < 0 {
		var v record.ValidationError
		if opts.Concurrency < 0 {
			v.Add("concurrency", "must not be negative")
		}
		if opts.BatchSize < 0 {
			v.Add("batch_size", "must not be negative")
		}
		return IngestResult{}, v.Err()
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = DefaultIngestConcurrency
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultEmbedBatchSize
	}
	src, err := c.store.GetSource(ctx, tenantID, sourceID)
	if err != nil {
		return IngestResult{}, fmt.Errorf("minirag: ingest: %w", err)
	}
	if err := c.ensureIndex(ctx); err != nil {
		return IngestResult{}, err
	}
	text, md, err := c.chunkers()
	if err != nil {
		return IngestResult{}, err
	}
	space := c.indexSpace()
	r := &ingestRun{
		c: c, src: src, opts: opts, text: text, md: md,
		seen:   map[string]bool{},
		chunks: map[string]int{},
		now:    c.now(),
		model:  space.Model,
		dims:   strconv.Itoa(space.Dims),
	}
	r.res.SourceID = src.ID
	r.progress.SourceID = src.ID

	// processing, keeping the counts of the last run while it runs.
	if err := c.setSourceState(ctx, src, record.SourceState{
		Status: StatusProcessing, DocumentCount: src.DocumentCount, ChunkCount: src.ChunkCount,
		LastIngestedAt: src.LastIngestedAt,
	}); err != nil {
		return IngestResult{}, err
	}
	c.log.LogAttrs(ctx, slogInfo, "ingest started", attrTenant(tenantID), attrSource(src.ID))

	fail := func(err error) (IngestResult, error) {
		r.res.Duration = time.Since(start)
		c.finishSource(ctx, src, record.SourceState{
			Status: StatusError, Error: err.Error(), DocumentCount: src.DocumentCount, ChunkCount: src.ChunkCount,
			LastIngestedAt: src.LastIngestedAt,
		})
		c.log.LogAttrs(ctx, slogWarn, "ingest failed", attrTenant(tenantID), attrSource(src.ID), attrErr(err))
		return r.res, err
	}

	docs, err := c.store.ListDocuments(ctx, tenantID, src.ID)
	if err != nil {
		return fail(fmt.Errorf("minirag: ingest source %q: list documents: %w", src.Name, err))
	}
	r.stored = make(map[string]storedDoc, len(docs))
	for _, d := range docs {
		r.stored[d.Key] = storedDoc{id: d.ID, hash: d.ContentHash, botID: d.BotID, chunks: d.ChunkCount,
			space: spaceKey(d.Metadata[MetadataEmbeddingModel], d.Metadata[MetadataEmbeddingDims])}
	}
	docs = nil

	var skipped []loader.Skipped
	lopts := c.load
	lopts.Name = src.Name
	lopts.OnSkip = func(s loader.Skipped) {
		// Called from the goroutine running Load, as emit is: the writer
		// reports it in order with the documents.
		skipped = append(skipped, s)
		_ = r.sendDone(ctx, &docWork{doc: record.Document{Key: s.Key}, skipped: true})
	}
	if lopts.Logger == nil {
		lopts.Logger = c.log
	}
	ld, err := loader.New(src.Type, src.Config, lopts)
	if err != nil {
		return fail(fmt.Errorf("minirag: ingest source %q: %w", src.Name, err))
	}

	loadErr := r.run(ctx, ld)
	r.res.Skipped = skipped
	if loadErr != nil {
		if ctx.Err() != nil {
			loadErr = fmt.Errorf("minirag: ingest source %q: %w", src.Name, ctx.Err())
		} else {
			loadErr = fmt.Errorf("minirag: ingest source %q: %w", src.Name, loadErr)
		}
		return fail(loadErr)
	}

	// Documents gone from the source.
	keep := make(map[string]bool, len(skipped))
	for _, s := range skipped {
		keep[s.Key] = true
	}
	var gone []storedDoc
	for key, d := range r.stored {
		if r.seen[key] {
			continue
		}
		if loader.CoveredBySkip(keep, key) {
			r.chunks[key] = d.chunks
			continue
		}
		gone = append(gone, d)
	}
	if len(gone) > 0 {
		ids := make([]string, len(gone))
		for i, d := range gone {
			ids[i] = d.id
		}
		if err := c.vec.Delete(ctx, vectorstore.Filter{TenantID: tenantID, SourceIDs: []string{src.ID}, DocumentIDs: ids}); err != nil {
			return fail(fmt.Errorf("minirag: ingest source %q: delete vectors of removed documents: %w", src.Name, err))
		}
		for _, d := range gone {
			if err := c.store.DeleteDocument(ctx, tenantID, d.id); err != nil && !errors.Is(err, ErrNotFound) {
				return fail(fmt.Errorf("minirag: ingest source %q: delete removed document: %w", src.Name, err))
			}
			r.res.Deleted++
		}
	}

	for _, n := range r.chunks {
		r.res.Documents++
		r.res.Chunks += n
	}
	r.res.Duration = time.Since(start)
	r.progress.DocumentsTotal = len(r.seen)
	r.progress.ChunksQueued = int(r.queued.Load())
	r.progress.Key = ""
	r.progress.Done = true
	if opts.Progress != nil {
		opts.Progress(r.progress)
	}

	now := c.now()
	st := record.SourceState{Status: StatusReady, DocumentCount: r.res.Documents, ChunkCount: r.res.Chunks, LastIngestedAt: &now}
	var outErr error
	if len(r.res.Failed) > 0 {
		outErr = &IngestError{SourceID: src.ID, SourceName: src.Name, Total: len(r.seen), Failed: r.res.Failed}
		st.Status = StatusError
		st.Error = sourceErrorText(r.res.Failed, len(r.seen))
		st.LastIngestedAt = src.LastIngestedAt
	}
	c.finishSource(ctx, src, st)
	c.log.LogAttrs(ctx, slogInfo, "ingest finished", attrTenant(tenantID), attrSource(src.ID),
		slogInt("documents", r.res.Documents), slogInt("embedded", r.res.Embedded),
		slogInt("unchanged", r.res.Unchanged), slogInt("deleted", r.res.Deleted), slogInt("failed", len(r.res.Failed)),
		slogInt("skipped", len(r.res.Skipped)))
	return r.res, outErr
}

// sourceErrorText is the source's error text for failed documents: the
// first few, named.
func sourceErrorText(failed []*DocumentError, total int) string {
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
		fmt.Fprintf(&b, "%q: %v", e.Key, e.Err)
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

// run loads the documents and drives the pipeline: the loader's goroutine
// normalizes, hashes and chunks, embed workers embed batches, and one writer
// stores finished documents. It returns the loader's error (documents'
// own errors are in r.res.Failed).
func (r *ingestRun) run(ctx context.Context, ld loader.Loader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.batches = make(chan embedBatch)
	// Finished documents go to the writer a batch's worth at a time; the
	// buffer lets every embed worker hand over its batch without waiting
	// for the writer.
	r.done = make(chan []*docWork, r.opts.Concurrency*2)

	var workers sync.WaitGroup
	for range r.opts.Concurrency {
		workers.Go(func() {
			for b := range r.batches {
				r.embed(ctx, b)
			}
		})
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		r.write(ctx)
	}()

	loadErr := ld.Load(ctx, func(d loader.Document) error {
		return r.accept(ctx, d)
	})
	if loadErr == nil && len(r.cur.texts) > 0 {
		loadErr = r.sendBatch(ctx)
	}
	close(r.batches)
	workers.Wait()
	close(r.done)
	<-writerDone
	if loadErr == nil {
		loadErr = ctx.Err()
	}
	return loadErr
}

// accept handles one loaded document (in the loader's goroutine).
func (r *ingestRun) accept(ctx context.Context, d loader.Document) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.Key == "" {
		return fmt.Errorf("loader yielded a document without a key")
	}
	if r.seen[d.Key] {
		return fmt.Errorf("loader yielded document %q twice", d.Key)
	}
	r.seen[d.Key] = true
	old, exists := r.stored[d.Key]
	work := &docWork{isNew: !exists}

	text, err := chunk.NormalizeDocument(d.Key, d.Text)
	d.Text = ""
	if err == nil && text == "" {
		err = ErrEmptyDocument
	}
	if err != nil {
		work.doc.Key = d.Key
		work.err = err
		return r.sendDone(ctx, work)
	}
	hash := contentHash(text)
	// A document moved to another bot (the source's bot changed) is
	// written again so that its chunks and vectors carry the new bot; one
	// embedded in another space (the embedder changed) is embedded again,
	// since the index of this space has no vectors for it.
	if exists && old.hash == hash && old.botID == r.src.BotID && old.space == spaceKey(r.model, r.dims) && !r.opts.Force {
		return r.sendDone(ctx, &docWork{doc: record.Document{Key: d.Key, ChunkCount: old.chunks}, unchanged: true})
	}

	ch := r.text
	if d.Metadata["format"] == "markdown" {
		ch = r.md
	}
	pieces, err := ch.Chunk(text)
	if err == nil && len(pieces) == 0 {
		err = fmt.Errorf("document %q has no text to index", d.Key)
	}
	if err != nil {
		work.doc.Key = d.Key
		work.err = err
		return r.sendDone(ctx, work)
	}
	tokens := 0
	for i := range pieces {
		tokens += pieces[i].Tokens
	}
	meta := make(map[string]string, len(d.Metadata)+2)
	maps.Copy(meta, d.Metadata)
	meta[MetadataEmbeddingModel] = r.model
	meta[MetadataEmbeddingDims] = r.dims
	work.doc = record.Document{
		ID: documentID(r.src.TenantID, r.src.ID, d.Key), TenantID: r.src.TenantID, BotID: r.src.BotID, SourceID: r.src.ID,
		Key: d.Key, Title: d.Title, URI: d.URI, ContentHash: hash, ByteSize: int64(len(text)), TokenCount: tokens,
		ChunkCount: len(pieces), Metadata: meta, CreatedAt: r.now, UpdatedAt: r.now,
	}
	if exists {
		work.doc.ID = old.id
	}
	work.pieces = pieces
	work.vecs = make([][]float32, len(pieces))
	work.pending = len(pieces)
	r.queued.Add(int64(len(pieces)))
	for i := range pieces {
		r.cur.texts = append(r.cur.texts, pieces[i].Text)
		r.cur.refs = append(r.cur.refs, pieceRef{work, i})
		if len(r.cur.texts) >= r.opts.BatchSize {
			if err := r.sendBatch(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *ingestRun) sendBatch(ctx context.Context) error {
	b := r.cur
	r.cur = embedBatch{texts: make([]string, 0, r.opts.BatchSize), refs: make([]pieceRef, 0, r.opts.BatchSize)}
	select {
	case r.batches <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *ingestRun) sendDone(ctx context.Context, w ...*docWork) error {
	select {
	case r.done <- w:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// embed embeds one batch and hands the documents it completes to the
// writer.
func (r *ingestRun) embed(ctx context.Context, b embedBatch) {
	vecs, err := r.c.emb.Embed(ctx, b.texts)
	if err == nil && len(vecs) != len(b.texts) {
		err = fmt.Errorf("%w: %d vectors for %d texts", embed.ErrBadResponse, len(vecs), len(b.texts))
	}
	if err == nil {
		dims := r.c.emb.Dimensions()
		for _, v := range vecs {
			if len(v) != dims {
				err = fmt.Errorf("%w: a vector of %d dimensions, want %d", embed.ErrBadResponse, len(v), dims)
				break
			}
		}
	}
	if err == nil {
		r.meterEmbed(ctx, b) // usage.go
	}
	var finished []*docWork
	r.mu.Lock()
	for i, ref := range b.refs {
		w := ref.w
		if err != nil {
			if w.err == nil {
				w.err = fmt.Errorf("embed: %w", err)
			}
		} else {
			w.vecs[ref.i] = vecs[i]
		}
		w.pending--
		if w.pending == 0 {
			finished = append(finished, w)
		}
	}
	r.mu.Unlock()
	if len(finished) > 0 {
		_ = r.sendDone(ctx, finished...)
	}
}

// write stores finished documents, several at a time when they queue up.
func (r *ingestRun) write(ctx context.Context) {
	const maxGroup = 256
	group := make([]*docWork, 0, maxGroup)
	for ws := range r.done {
		group = append(group[:0], ws...)
	fill:
		for len(group) < maxGroup {
			select {
			case ws, ok := <-r.done:
				if !ok {
					break fill
				}
				group = append(group, ws...)
			default:
				break fill
			}
		}
		r.writeGroup(ctx, group)
		clear(group)
	}
}

// writeGroup writes a group of finished documents: old vectors deleted,
// new ones upserted, then each document stored with its chunks.
func (r *ingestRun) writeGroup(ctx context.Context, group []*docWork) {
	var ids []string
	var recs []vectorstore.Record
	for _, w := range group {
		if w.err != nil || w.unchanged || w.skipped {
			continue
		}
		ids = append(ids, w.doc.ID)
	}
	var groupErr error
	if len(ids) > 0 {
		if err := ctx.Err(); err != nil {
			groupErr = err
		} else if err := r.c.vec.Delete(ctx, vectorstore.Filter{TenantID: r.src.TenantID, SourceIDs: []string{r.src.ID}, DocumentIDs: ids}); err != nil {
			groupErr = fmt.Errorf("delete old vectors: %w", err)
		}
		if groupErr == nil {
			for _, w := range group {
				if w.err != nil || w.unchanged || w.skipped {
					continue
				}
				chunks := make([]record.Chunk, len(w.pieces))
				for i, p := range w.pieces {
					chunks[i] = record.Chunk{
						ID: id.New(), TenantID: w.doc.TenantID, BotID: w.doc.BotID, SourceID: w.doc.SourceID, DocumentID: w.doc.ID,
						Ordinal: i, Text: p.Text, TokenCount: p.Tokens, Start: p.Start, End: p.End, HeadingPath: p.HeadingPath,
					}
					recs = append(recs, vectorstore.Record{
						ID: chunks[i].ID, Vector: w.vecs[i], TenantID: w.doc.TenantID, BotID: w.doc.BotID,
						SourceID: w.doc.SourceID, DocumentID: w.doc.ID,
					})
				}
				w.vecs = nil
				w.pieces = nil
				w.chunksOut = chunks
			}
			if err := r.c.vec.Upsert(ctx, recs); err != nil {
				groupErr = fmt.Errorf("upsert vectors: %w", err)
			}
		}
	}
	// One transaction for the group's documents (one PutDocuments call
	// when the store offers it); if it fails, each is stored on its own so
	// that one bad document does not fail the others.
	inTx := false
	if b, ok := r.c.store.(storage.DocumentBatcher); ok && groupErr == nil && len(ids) > 1 {
		items := make([]storage.DocumentWithChunks, 0, len(ids))
		for _, w := range group {
			if w.err == nil && !w.unchanged && !w.skipped {
				items = append(items, storage.DocumentWithChunks{Document: w.doc, Chunks: w.chunksOut})
			}
		}
		_, err := b.PutDocuments(ctx, items)
		inTx = err == nil
	} else if groupErr == nil && len(ids) > 1 {
		err := r.c.store.InTx(ctx, func(tx storage.Storage) error {
			for _, w := range group {
				if w.err == nil && !w.unchanged && !w.skipped {
					if _, err := tx.PutDocument(ctx, w.doc, w.chunksOut); err != nil {
						return err
					}
				}
			}
			return nil
		})
		inTx = err == nil
	}
	for _, w := range group {
		if w.skipped {
			r.progress.Skipped++
			r.progress.Key = w.doc.Key
			r.progress.ChunksQueued = int(r.queued.Load())
			if r.opts.Progress != nil {
				r.opts.Progress(r.progress)
			}
			continue
		}
		switch {
		case w.err != nil:
			r.failed(w.doc.Key, w.err)
		case w.unchanged:
			r.res.Unchanged++
			r.progress.Unchanged++
			r.chunks[w.doc.Key] = w.doc.ChunkCount
		case groupErr != nil:
			r.failed(w.doc.Key, groupErr)
		default:
			if !inTx {
				if _, err := r.c.store.PutDocument(ctx, w.doc, w.chunksOut); err != nil {
					r.failed(w.doc.Key, fmt.Errorf("store: %w", err))
					break
				}
			}
			if w.isNew {
				r.res.Added++
			} else {
				r.res.Updated++
			}
			r.res.Embedded += len(w.chunksOut)
			r.progress.Chunks += len(w.chunksOut)
			r.chunks[w.doc.Key] = len(w.chunksOut)
			w.chunksOut = nil
		}
		r.progress.Documents++
		r.progress.Key = w.doc.Key
		r.progress.ChunksQueued = int(r.queued.Load())
		if r.opts.Progress != nil {
			r.opts.Progress(r.progress)
		}
	}
}

// failed records a failed document; its stored version, if any, stays
// and counts.
func (r *ingestRun) failed(key string, err error) {
	r.res.Failed = append(r.res.Failed, &DocumentError{Key: key, Err: err})
	r.progress.Failed++
	if old, ok := r.stored[key]; ok {
		r.chunks[key] = old.chunks
	}
}

func attrSource(id string) slog.Attr    { return slog.String("source_id", id) }
func attrErr(err error) slog.Attr       { return slog.String("error", err.Error()) }
func slogInt(k string, v int) slog.Attr { return slog.Int(k, v) }
