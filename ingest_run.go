package minirag

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/minirag/minirag/chunk"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// An ingestion of one source runs these stages, each with the invariant
// its doc comment states:
//
//	checkIndex   (before loading)    which stored documents' vectors are all there; orphans deleted
//	accept       (loader goroutine)  normalize, hash, decide; chunk what changed
//	embed        (Concurrency goroutines) embed batches of chunk texts
//	writeStage   (two goroutines)    upsert new vectors → commit in Storage → delete old vectors
//	                                 (a group's upsert overlaps the previous group's commit)
//	removeGone   (after loading)     delete what the source no longer yields: Storage, then vectors
//
// Together they keep the package's invariant (doc.go, "Crash safety"):
// every chunk Storage holds has its vector, whatever stops the run.

// ingestRun is the state of one ingestion.
type ingestRun struct {
	c    *Client
	src  Source
	opts IngestOptions
	text chunk.Chunker
	md   chunk.Chunker
	now  time.Time
	// model and dims are the embedding space documents are embedded in
	// (recorded in their metadata).
	model, dims string
	// push, when not nil, is the batch of pushed documents the run writes
	// (UpsertDocuments, push.go) instead of loading the source.
	push *pushBatch

	stored map[string]storedDoc // by key
	// untrusted holds the IDs of stored documents a chunk of which has
	// no vector (or one labelled with another bot, source or document):
	// their content hash is not trusted (checkIndex).
	untrusted map[string]bool
	seen      map[string]bool  // keys the loader yielded
	skipped   []loader.Skipped // loader skips and empty documents, in order
	keep      map[string]bool  // keys skipped: their stored documents are kept
	chunks    map[string]int   // key -> stored chunk count after the run
	batches   chan embedBatch  // accept → embed
	done      chan []*docWork  // accept, embed → write
	cur       embedBatch       // the batch accept is filling
	mu        sync.Mutex       // guards docWork.pending/state/err across embed workers
	queued    atomic.Int64     // chunks of changed documents found so far
	res       IngestResult
	progress  IngestProgress
}

// newIngestRun prepares the run of src; ensureIndex has succeeded.
func (c *Client) newIngestRun(src Source, opts IngestOptions) (*ingestRun, error) {
	text, md, err := c.chunkers()
	if err != nil {
		return nil, err
	}
	space := c.indexSpace()
	r := &ingestRun{
		c: c, src: src, opts: opts, text: text, md: md,
		now:   c.now(),
		model: space.Model, dims: strconv.Itoa(space.Dims),
		untrusted: map[string]bool{}, seen: map[string]bool{}, keep: map[string]bool{},
		chunks: map[string]int{},
	}
	r.res.SourceID = src.ID
	r.progress.SourceID = src.ID
	return r, nil
}

// execute runs the stages. Its error fails the source as a whole (no
// document changed by it but those already written); documents' own
// errors are in r.res.Failed.
func (r *ingestRun) execute(ctx context.Context) error {
	if err := r.loadStored(ctx); err != nil {
		return err
	}
	if err := r.checkIndex(ctx); err != nil {
		return err
	}
	ld, err := r.newLoader()
	if err != nil {
		return err
	}
	loadErr := r.run(ctx, ld)
	r.res.Skipped = r.skipped
	if loadErr != nil {
		if ctx.Err() != nil {
			loadErr = ctx.Err()
		}
		return failedAt(kindLoad, loadErr)
	}
	if err := r.removeGone(ctx); err != nil {
		return err
	}
	r.tally()
	return nil
}

// storedDoc is what ingestion needs of a stored document.
type storedDoc struct {
	id, hash, botID string
	chunks          int
	// space is the embedding space recorded in its metadata ("" when it
	// has none).
	space string
	// doc is the stored document (its title, URI and metadata are
	// compared with the new version's; a metadata-only update keeps the
	// rest).
	doc record.Document
}

// spaceKey is how storedDoc.space spells an embedding space.
func spaceKey(model, dims string) string {
	if model == "" || dims == "" {
		return ""
	}
	return model + "\x00" + dims
}

// documentID is the ID of the document with key in a source: derived from
// the tenant, source and key, so that every run, and every process,
// names a document the same way.
func documentID(tenantID, sourceID, key string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("minirag:document\x00"+tenantID+"\x00"+sourceID+"\x00"+key)).String()
}

// contentHash is the hex SHA-256 of a normalized text.
func contentHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// loadStored reads the source's stored documents (not their text).
func (r *ingestRun) loadStored(ctx context.Context) error {
	if r.push != nil {
		return r.loadPushedStored(ctx) // push.go
	}
	docs, err := r.c.store.ListDocuments(ctx, r.src.TenantID, r.src.ID)
	if err != nil {
		return failedAt(kindStorage, fmt.Errorf("list documents: %w", err))
	}
	r.setStored(docs)
	return nil
}

// setStored records the stored documents the run compares with.
func (r *ingestRun) setStored(docs []record.Document) {
	r.stored = make(map[string]storedDoc, len(docs))
	for _, d := range docs {
		if d.SourceID != r.src.ID {
			continue
		}
		r.stored[d.Key] = storedDoc{id: d.ID, hash: d.ContentHash, botID: d.BotID, chunks: d.ChunkCount,
			space: spaceKey(d.Metadata.String(MetadataEmbeddingModel), d.Metadata.String(MetadataEmbeddingDims)),
			doc:   d}
	}
}

// checkIndex is the stage before loading. It streams the source's
// vectors page by page, checks each page against the chunks Storage
// holds, deletes the vectors without a chunk (left by a run that
// stopped between its phases, see writeStage), and counts for each
// stored document the chunks whose vector is there and labelled with
// the chunk's own bot, source and document. A document with fewer such
// chunks than it holds is untrusted: accept embeds it again even though
// its text is unchanged. That is what makes a plain Ingest converge
// after a crash, a failed write or a damaged vector store. Memory: one
// page, and one count per stored document.
func (r *ingestRun) checkIndex(ctx context.Context) error {
	if len(r.stored) == 0 {
		return nil
	}
	tenantID := r.src.TenantID
	good := make(map[string]int, len(r.stored))
	f := vectorstore.Filter{TenantID: tenantID, SourceIDs: []string{r.src.ID}}
	if r.push != nil {
		// Only the pushed documents' vectors: a push does not scan the
		// whole source (the next Ingest of it, or Reconcile, does).
		for _, d := range r.stored {
			f.DocumentIDs = append(f.DocumentIDs, d.id)
		}
	}
	err := r.c.eachVectorPage(ctx, f, reconcilePage, func(recs []vectorstore.Record) error {
		found, err := r.c.chunksByID(ctx, tenantID, recordIDs(recs))
		if err != nil {
			return err
		}
		var orphans []string
		for _, rec := range recs {
			ch, ok := found[rec.ID]
			switch {
			case !ok:
				orphans = append(orphans, rec.ID)
			case labelled(rec, ch):
				good[ch.DocumentID]++
			}
		}
		_, err = r.c.deleteOrphans(ctx, tenantID, orphans)
		return err
	})
	if err != nil {
		return failedAt(kindIndex, err)
	}
	for _, d := range r.stored {
		if good[d.id] < d.chunks {
			r.untrusted[d.id] = true
		}
	}
	return nil
}

// newLoader builds the source's loader; its skips are recorded in order
// with the documents.
func (r *ingestRun) newLoader() (loader.Loader, error) {
	switch {
	case r.push != nil:
		return r.push, nil
	case r.src.Type == SourceDocuments:
		// Nothing to load: the documents are pushed. Ingest checks their
		// vectors (checkIndex) and recounts them; removeGone keeps them.
		return pushBatch{}, nil
	}
	lopts := r.c.load
	lopts.Name = r.src.Name
	lopts.OnSkip = func(s loader.Skipped) {
		// Called from the goroutine running Load, as emit is: the writer
		// reports it in order with the documents.
		r.skipped = append(r.skipped, s)
		r.keep[s.Key] = true
		_ = r.sendDone(context.Background(), &docWork{doc: record.Document{Key: s.Key}, state: docSkipped})
	}
	if lopts.Logger == nil {
		lopts.Logger = r.c.log
	}
	ld, err := loader.New(r.src.Type, r.src.Config, lopts)
	if err != nil {
		return nil, failedAt(kindLoad, err)
	}
	return ld, nil
}

// docState is where a document is on its way through the pipeline.
type docState int

const (
	// docChanged: chunked, being embedded, then written.
	docChanged docState = iota
	// docUnchanged: the stored version stands (same hash, space and bot,
	// every vector there).
	docUnchanged
	// docFailed: w.err says why; the stored version stands.
	docFailed
	// docSkipped: no document, an item passed over (w.doc.Key is its
	// key), for the progress report.
	docSkipped
	// docMetadata: the text is unchanged but the title, URI or metadata
	// changed: the vectors' metadata is replaced, then the document is
	// committed with its stored chunks (same IDs), nothing is embedded.
	docMetadata
)

// docWork is a document on its way through the pipeline.
type docWork struct {
	doc     record.Document
	state   docState
	err     error
	isNew   bool
	pieces  []chunk.Piece
	vecs    [][]float32
	pending int // pieces not embedded yet (guarded by ingestRun.mu)
	// chunks are the new chunks (new IDs), built by the write stage.
	chunks []record.Chunk
	// replaced are the IDs of the chunks the commit replaced.
	replaced []string
}

// fail marks w failed (keeping the first error).
func (w *docWork) fail(err error) {
	if w.state != docFailed {
		w.state, w.err = docFailed, err
	}
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
		writeStage{r}.run(ctx)
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

// accept is the load stage, for one loaded document (in the loader's
// goroutine): normalize, hash, and decide. A document is unchanged only
// when its hash, bot and embedding space are the stored ones and
// checkIndex found every vector of its chunks; otherwise it is chunked
// and queued for embedding. A document without text is skipped, not
// failed, as a loader's skip is (its stored version is kept).
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

	text, err := chunk.NormalizeDocument(d.Key, d.Text)
	d.Text = ""
	if err != nil {
		return r.sendDone(ctx, &docWork{doc: record.Document{Key: d.Key}, state: docFailed, err: err})
	}
	if text == "" {
		return r.skipEmpty(ctx, d.Key)
	}
	hash := contentHash(text)
	meta := r.metadataOf(d)
	if exists && r.unchanged(old, hash) {
		// A loaded document's title and metadata are refreshed with its
		// text (its mtime, or a row number, changes without it); a pushed
		// one's whenever the host changes them.
		if r.push == nil || sameDescription(old.doc, d, meta) {
			return r.sendDone(ctx, &docWork{doc: record.Document{Key: d.Key, ChunkCount: old.chunks}, state: docUnchanged})
		}
		doc := old.doc
		doc.Title, doc.URI, doc.Metadata, doc.UpdatedAt = d.Title, d.URI, meta, r.now
		return r.sendDone(ctx, &docWork{doc: doc, state: docMetadata})
	}

	ch := r.text
	if d.Metadata["format"] == "markdown" {
		ch = r.md
	}
	pieces, err := ch.Chunk(text)
	if err != nil {
		return r.sendDone(ctx, &docWork{doc: record.Document{Key: d.Key}, state: docFailed, err: failedAt(kindChunk, err)})
	}
	if len(pieces) == 0 {
		return r.skipEmpty(ctx, d.Key)
	}
	w := r.newWork(d, text, hash, pieces, meta)
	w.isNew = !exists
	if exists {
		w.doc.ID = old.id
	}
	return r.queue(ctx, w)
}

// unchanged reports whether a stored document with this hash can stand
// as it is. A document moved to another bot (the source's bot changed)
// is written again so that its chunks and vectors carry the new bot; one
// embedded in another space (the embedder changed) is embedded again,
// since the index of this space has no vectors for it; an untrusted one
// (checkIndex) likewise.
func (r *ingestRun) unchanged(old storedDoc, hash string) bool {
	return old.hash == hash && old.botID == r.src.BotID && old.space == spaceKey(r.model, r.dims) &&
		!r.untrusted[old.id] && !r.opts.Force
}

// metadataOf returns a loaded or pushed document's metadata as stored:
// the pushed metadata, or the loader's (loaderMetadata), with the
// embedding space (MetadataEmbeddingModel, MetadataEmbeddingDims).
func (r *ingestRun) metadataOf(d loader.Document) record.Metadata {
	var meta record.Metadata
	if r.push != nil {
		meta = r.push.metadata(d.Key)
	} else {
		meta = loaderMetadata(d.Metadata)
	}
	meta[MetadataEmbeddingModel] = r.model
	meta[MetadataEmbeddingDims] = r.dims
	return meta
}

// sameDescription reports whether a stored document has the title, URI
// and metadata of its new version (metadata compared by their JSON
// encoding, which orders keys).
func sameDescription(old record.Document, d loader.Document, meta record.Metadata) bool {
	if old.Title != d.Title || old.URI != d.URI {
		return false
	}
	a, err1 := json.Marshal(old.Metadata)
	b, err2 := json.Marshal(meta)
	return err1 == nil && err2 == nil && bytes.Equal(a, b)
}

// skipEmpty records a document with no text to index as skipped.
func (r *ingestRun) skipEmpty(ctx context.Context, key string) error {
	r.keep[key] = true
	r.skipped = append(r.skipped, loader.Skipped{Key: key, Reason: emptyDocErr{}.reason()})
	return r.sendDone(ctx, &docWork{doc: record.Document{Key: key}, state: docSkipped})
}

// newWork builds the work of a changed document.
func (r *ingestRun) newWork(d loader.Document, text, hash string, pieces []chunk.Piece, meta record.Metadata) *docWork {
	tokens := 0
	for i := range pieces {
		tokens += pieces[i].Tokens
	}
	return &docWork{
		doc: record.Document{
			ID: documentID(r.src.TenantID, r.src.ID, d.Key), TenantID: r.src.TenantID, BotID: r.src.BotID, SourceID: r.src.ID,
			Key: d.Key, Title: d.Title, URI: d.URI, ContentHash: hash, ByteSize: int64(len(text)), TokenCount: tokens,
			ChunkCount: len(pieces), Metadata: meta, CreatedAt: r.now, UpdatedAt: r.now,
		},
		pieces:  pieces,
		vecs:    make([][]float32, len(pieces)),
		pending: len(pieces),
	}
}

// queue adds w's pieces to embedding batches.
func (r *ingestRun) queue(ctx context.Context, w *docWork) error {
	r.queued.Add(int64(len(w.pieces)))
	for i := range w.pieces {
		r.cur.texts = append(r.cur.texts, w.pieces[i].Text)
		r.cur.refs = append(r.cur.refs, pieceRef{w, i})
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

// embed is the embed stage, for one batch: it embeds the texts and
// hands the documents it completes to the writer. It writes nothing: a
// stop here loses only work.
func (r *ingestRun) embed(ctx context.Context, b embedBatch) {
	vecs, err := r.c.embedTexts(ctx, b.texts)
	if err == nil {
		// Before the pieces are counted done: the writer may not have
		// their documents yet, whose pieces meterEmbed reads.
		r.meterEmbed(ctx, b) // usage.go
	}
	var finished []*docWork
	r.mu.Lock()
	for i, ref := range b.refs {
		w := ref.w
		if err != nil {
			w.fail(failedAt(kindEmbed, err))
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

// removeGone deletes the stored documents the source no longer yields,
// except those skipped (a page that timed out this time, a file emptied
// while being saved, are kept). Storage first (each document with
// its chunks, one transaction each), then the vectors of the chunks it
// deleted, by ID: a stop in between leaves vectors without chunks, which
// searches drop and the next run deletes.
func (r *ingestRun) removeGone(ctx context.Context) error {
	tenantID := r.src.TenantID
	var dropped []string
	defer func() { r.c.dropVectors(ctx, tenantID, dropped, "removed documents") }()
	for key, d := range r.stored {
		if r.src.Type == SourceDocuments || loader.CoveredBySkip(r.keep, key) {
			// A pushed document is gone only when the host deletes it
			// (DeleteDocuments); an Ingest of its source keeps it.
			r.chunks[key] = d.chunks
			continue
		}
		if r.seen[key] {
			continue
		}
		ids, _, err := r.c.deleteDocument(ctx, tenantID, d.id)
		if err != nil {
			return failedAt(kindStorage, fmt.Errorf("delete removed document %q: %w", key, err))
		}
		dropped = append(dropped, ids...)
		r.res.Deleted++
	}
	return nil
}

// deleteDocument deletes a document and its chunks in one transaction
// and returns the IDs of the chunks deleted (their vectors are the
// caller's to delete), and whether it was there. A document already gone
// is not an error.
func (c *Client) deleteDocument(ctx context.Context, tenantID, docID string) ([]string, bool, error) {
	var ids []string
	err := c.store.InTx(ctx, func(tx storageTx) error {
		chunks, err := tx.ListChunks(ctx, tenantID, docID)
		if err != nil {
			return err
		}
		ids = make([]string, len(chunks))
		for i := range chunks {
			ids[i] = chunks[i].ID
		}
		return tx.DeleteDocument(ctx, tenantID, docID)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	return ids, err == nil, err
}

// tally sets the result's totals and sends the final progress report.
func (r *ingestRun) tally() {
	for _, n := range r.chunks {
		r.res.Documents++
		r.res.Chunks += n
	}
	r.progress.DocumentsTotal = len(r.seen)
	r.progress.ChunksQueued = int(r.queued.Load())
	r.progress.Key = ""
	r.progress.Done = true
	if r.opts.Progress != nil {
		r.opts.Progress(r.progress)
	}
}

// report records what happened to each document of a written group and
// sends the progress reports, in order.
func (r *ingestRun) report(group []*docWork) {
	for _, w := range group {
		if r.push != nil {
			r.recordPushed(w)
		}
		switch w.state {
		case docSkipped:
			r.progress.Skipped++
			r.progress.Key = w.doc.Key
			r.progress.ChunksQueued = int(r.queued.Load())
			if r.opts.Progress != nil {
				r.opts.Progress(r.progress)
			}
			continue
		case docFailed:
			r.failed(w.doc.Key, w.err)
		case docUnchanged:
			r.res.Unchanged++
			r.progress.Unchanged++
			r.chunks[w.doc.Key] = w.doc.ChunkCount
		case docMetadata:
			r.res.Updated++
			r.chunks[w.doc.Key] = w.doc.ChunkCount
			w.chunks = nil
		case docChanged:
			if w.isNew {
				r.res.Added++
			} else {
				r.res.Updated++
			}
			r.res.Embedded += len(w.chunks)
			r.progress.Chunks += len(w.chunks)
			r.chunks[w.doc.Key] = len(w.chunks)
			w.chunks = nil
		}
		r.progress.Documents++
		r.progress.Key = w.doc.Key
		r.progress.ChunksQueued = int(r.queued.Load())
		if r.opts.Progress != nil {
			r.opts.Progress(r.progress)
		}
	}
}

// recordPushed sets the result of a pushed document (push.go).
func (r *ingestRun) recordPushed(w *docWork) {
	switch w.state {
	case docSkipped:
		w.err = ErrEmptyDocument
		r.push.record(w, DocumentSkipped, 0)
	case docFailed:
		r.push.record(w, DocumentFailed, 0)
	case docUnchanged:
		r.push.record(w, DocumentUnchanged, w.doc.ChunkCount)
	case docMetadata:
		r.push.record(w, DocumentMetadataUpdated, w.doc.ChunkCount)
	case docChanged:
		status := DocumentUpdated
		if w.isNew {
			status = DocumentAdded
		}
		r.push.record(w, status, len(w.chunks))
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

// loaderMetadata converts a loader's metadata to a document's: keys that
// are not valid metadata keys get their other characters replaced by '_',
// "size" and the counts loaders record become numbers, and "mtime" a time
// in record.TimeLayout, so that filters can compare them.
func loaderMetadata(m map[string]string) record.Metadata {
	out := make(record.Metadata, len(m)+2)
	for k, v := range m {
		k = metadataKey(k)
		if k == "" {
			continue
		}
		switch k {
		case "size", "pages", "slides", "sheets", "rows", "row":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out[k] = float64(n)
				continue
			}
		case "mtime":
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				out[k] = record.FormatTime(t)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// metadataKey makes k a valid metadata key ("" when nothing is left).
func metadataKey(k string) string {
	if record.ValidMetadataKey(k) {
		return k
	}
	b := []byte(k)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > record.MaxMetadataKeyLen {
		b = b[:record.MaxMetadataKeyLen]
	}
	return string(b)
}
