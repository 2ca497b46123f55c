package minirag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// Bounds of one UpsertDocuments or DeleteDocuments call (and of one
// EnqueueUpsertDocuments job). A larger push is split by the caller into
// calls of at most these sizes; each call is independent.
const (
	// MaxPushDocuments bounds the documents (or keys) of one call.
	MaxPushDocuments = 1000
	// MaxPushBytes bounds the bytes of one call: the sum over its
	// documents of key, title, URI, text and metadata (as JSON).
	MaxPushBytes = 32 << 20
	// MaxDocumentKeyBytes bounds a document's Key.
	MaxDocumentKeyBytes = 1024
	// MaxDocumentTitleBytes bounds a document's Title.
	MaxDocumentTitleBytes = 4 << 10
	// MaxDocumentURIBytes bounds a document's URI.
	MaxDocumentURIBytes = 8 << 10
	// MaxDocumentTextBytes bounds a document's Text (as a text source's
	// content is bounded).
	MaxDocumentTextBytes = loader.MaxTextBytes
)

// maxFieldErrors bounds the fields one validation error of a push names.
const maxFieldErrors = 20

// DocumentInput is a document the host pushes into a documents source
// (UpsertDocuments).
type DocumentInput struct {
	// Key identifies the document in its source (required, at most
	// MaxDocumentKeyBytes, valid UTF-8): the host's own ID for the record
	// (a row's primary key, a ticket number). Pushing a key again
	// updates that document.
	Key string `json:"key"`
	// Title and URI are shown with search results and citations
	// (optional).
	Title string `json:"title,omitempty"`
	URI   string `json:"uri,omitempty"`
	// Text is what is chunked, embedded and searched (required, at most
	// MaxDocumentTextBytes, valid UTF-8). It is normalized as loaded
	// documents are (chunk.NormalizeDocument); a Metadata "format" of
	// "markdown" selects the markdown chunker.
	Text string `json:"text"`
	// Metadata is the document's metadata (see record.Metadata: JSON
	// values, limits, keys), returned with the document and with every
	// search result of it, and matched by filters
	// (SearchRequest.Filter). Go values are normalized
	// (record.NormalizeMetadata: ints to numbers, times to strings in
	// record.TimeLayout). The keys MetadataEmbeddingModel and
	// MetadataEmbeddingDims are ingestion's and may not be set.
	Metadata record.Metadata `json:"metadata,omitempty"`
}

// DocumentStatus is what a push did to one document.
type DocumentStatus string

// Document statuses of a push.
const (
	// DocumentAdded: a new key; chunked, embedded and stored.
	DocumentAdded DocumentStatus = "added"
	// DocumentUpdated: the text changed (or the embedding model did);
	// chunked and embedded again.
	DocumentUpdated DocumentStatus = "updated"
	// DocumentMetadataUpdated: the text is unchanged, the title, URI or
	// metadata changed; stored without embedding anything.
	DocumentMetadataUpdated DocumentStatus = "metadata_updated"
	// DocumentUnchanged: nothing changed; nothing was written.
	DocumentUnchanged DocumentStatus = "unchanged"
	// DocumentSkipped: no text after normalization (ErrEmptyDocument);
	// a stored version is kept.
	DocumentSkipped DocumentStatus = "skipped"
	// DocumentFailed: see DocumentResult.Error; a stored version is kept
	// and stays searchable.
	DocumentFailed DocumentStatus = "failed"
)

// DocumentResult is the outcome of one pushed document.
type DocumentResult struct {
	Key        string         `json:"key"`
	DocumentID string         `json:"document_id"`
	Status     DocumentStatus `json:"status"`
	// Chunks is the document's stored chunk count after the call (0 when
	// it failed or was skipped and had no stored version).
	Chunks int `json:"chunks"`
	// Error says why it failed (Status DocumentFailed; its JSON is the
	// public text, see DocumentError) or was skipped.
	Error *DocumentError `json:"error,omitempty"`
}

// UpsertDocumentsResult is what UpsertDocuments did.
type UpsertDocumentsResult struct {
	SourceID string `json:"source_id"`
	// Documents holds one result per input document, in input order.
	Documents []DocumentResult `json:"documents"`
	// Counts of Documents by status.
	Added           int `json:"added"`
	Updated         int `json:"updated"`
	MetadataUpdated int `json:"metadata_updated"`
	Unchanged       int `json:"unchanged"`
	Skipped         int `json:"skipped"`
	Failed          int `json:"failed"`
	// Embedded is the number of chunks embedded by the call.
	Embedded int           `json:"embedded"`
	Duration time.Duration `json:"duration"`
}

// DeleteDocumentsResult is what DeleteDocuments did.
type DeleteDocumentsResult struct {
	// Deleted is the number of documents deleted.
	Deleted int `json:"deleted"`
	// NotFound lists the keys no document of the source had.
	NotFound []string `json:"not_found,omitempty"`
}

// UpsertDocuments writes documents the host pushes into a source of type
// SourceDocuments, each identified by its Key: it is how a host mirrors
// its own records (rows, tickets, products) into a bot, one call per
// batch of at most MaxPushDocuments documents and MaxPushBytes bytes
// (past either, or with any invalid document, the call is
// ErrInvalidInput naming "documents" or "documents[i].<field>" and
// writes nothing).
//
// It is idempotent per key: a document whose normalized text, title, URI
// and metadata are the stored ones writes nothing (DocumentUnchanged);
// one whose text is unchanged but whose title, URI or metadata changed is
// stored without embedding anything (DocumentMetadataUpdated: the
// vectors' metadata is replaced, then Storage commits); a new or changed
// text goes through ingestion's pipeline (chunk, embed in batches, write
// in the crash-safe order of the package documentation, "Crash safety":
// new vectors, then the Storage commit, then the old vectors' deletion).
// Calling it again after any failure or stop converges.
//
// Each document has its DocumentResult; a document that fails keeps its
// stored version, and the call returns the result with an *IngestError
// holding one *DocumentError per failed document. The source's counts
// and status are updated (ready, or error naming the failed documents).
// An Ingest of a documents source keeps its documents (they are gone only
// when DeleteDocuments or DeleteDocument deletes them). Needs the admin
// scope. EnqueueUpsertDocuments runs the same through a Worker.
func (h *TenantHandle) UpsertDocuments(ctx context.Context, sourceID string, docs []DocumentInput) (UpsertDocumentsResult, error) {
	if err := h.authorizeAdmin(); err != nil {
		return UpsertDocumentsResult{}, err
	}
	batch, err := newPushBatch(sourceID, docs)
	if err != nil {
		return UpsertDocumentsResult{}, err
	}
	if err := h.checkIngestQuota(ctx); err != nil { // quota.go
		return UpsertDocumentsResult{}, err
	}
	src, err := h.c.pushSource(ctx, h.p.TenantID, sourceID)
	if err != nil {
		return UpsertDocumentsResult{}, err
	}
	return h.c.upsertDocuments(ctx, src, batch)
}

// pushSource returns the documents source pushed to.
func (c *Client) pushSource(ctx context.Context, tenantID, sourceID string) (Source, error) {
	src, err := c.store.GetSource(ctx, tenantID, sourceID)
	if err != nil {
		return Source{}, fmt.Errorf("minirag: push documents: %w", err)
	}
	if src.Type != SourceDocuments {
		return Source{}, record.Invalid("source_id", fmt.Sprintf("names a %s source; documents are pushed only to a source of type %s", src.Type, SourceDocuments))
	}
	return src, nil
}

// pushBatch is a validated batch of pushed documents. It is the loader of
// a push's ingestion run: Load yields its documents in order.
type pushBatch struct {
	docs  []DocumentInput // metadata normalized
	index map[string]int  // key → position
	// results are filled by the run (ingestRun.report).
	results []DocumentResult
}

// newPushBatch validates a push (see UpsertDocuments) and normalizes
// its metadata.
func newPushBatch(sourceID string, docs []DocumentInput) (*pushBatch, error) {
	var v record.ValidationError
	if sourceID == "" {
		v.Add("source_id", "is required")
	}
	if len(docs) > MaxPushDocuments {
		v.Add("documents", fmt.Sprintf("holds %d documents, more than the limit of %d per call (split the push into batches)", len(docs), MaxPushDocuments))
		return nil, v.Err()
	}
	b := &pushBatch{docs: make([]DocumentInput, len(docs)), index: make(map[string]int, len(docs)), results: make([]DocumentResult, len(docs))}
	total := 0
	for i, d := range docs {
		if len(v.Fields) >= maxFieldErrors {
			break
		}
		field := func(name string) string { return fmt.Sprintf("documents[%d].%s", i, name) }
		switch {
		case d.Key == "":
			v.Add(field("key"), "is required")
		case len(d.Key) > MaxDocumentKeyBytes:
			v.Add(field("key"), fmt.Sprintf("is longer than %d bytes", MaxDocumentKeyBytes))
		case !utf8.ValidString(d.Key):
			v.Add(field("key"), "is not valid UTF-8")
		default:
			if j, dup := b.index[d.Key]; dup {
				v.Add(field("key"), fmt.Sprintf("repeats documents[%d].key", j))
			}
			b.index[d.Key] = i
		}
		switch {
		case len(d.Title) > MaxDocumentTitleBytes:
			v.Add(field("title"), fmt.Sprintf("is longer than %d bytes", MaxDocumentTitleBytes))
		case !utf8.ValidString(d.Title):
			v.Add(field("title"), "is not valid UTF-8")
		}
		switch {
		case len(d.URI) > MaxDocumentURIBytes:
			v.Add(field("uri"), fmt.Sprintf("is longer than %d bytes", MaxDocumentURIBytes))
		case !utf8.ValidString(d.URI):
			v.Add(field("uri"), "is not valid UTF-8")
		}
		switch {
		case strings.TrimSpace(d.Text) == "":
			v.Add(field("text"), "is required")
		case len(d.Text) > MaxDocumentTextBytes:
			v.Add(field("text"), fmt.Sprintf("is longer than %d bytes", MaxDocumentTextBytes))
		case !utf8.ValidString(d.Text):
			v.Add(field("text"), "is not valid UTF-8")
		}
		meta, err := record.NormalizeMetadata(field("metadata"), d.Metadata)
		if err := mergeValidation(&v, err); err != nil {
			return nil, err
		}
		for _, k := range []string{MetadataEmbeddingModel, MetadataEmbeddingDims} {
			if _, ok := meta[k]; ok {
				v.Add(field("metadata."+k), "is set by ingestion (the embedding space), not by the caller")
			}
		}
		d.Metadata = meta
		mb, _ := json.Marshal(meta)
		total += len(d.Key) + len(d.Title) + len(d.URI) + len(d.Text) + len(mb)
		b.docs[i] = d
		b.results[i] = DocumentResult{Key: d.Key}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if total > MaxPushBytes {
		return nil, record.Invalid("documents", fmt.Sprintf("holds %d bytes, more than the limit of %d per call (split the push into batches)", total, MaxPushBytes))
	}
	return b, nil
}

// Load implements loader.Loader: it yields the batch's documents in
// order.
func (b pushBatch) Load(ctx context.Context, emit func(loader.Document) error) error {
	for _, d := range b.docs {
		if err := ctx.Err(); err != nil {
			return err
		}
		ld := loader.Document{Key: d.Key, Title: d.Title, URI: d.URI, Text: d.Text}
		if d.Metadata.String("format") == "markdown" {
			ld.Metadata = map[string]string{"format": "markdown"}
		}
		if err := emit(ld); err != nil {
			return err
		}
	}
	return nil
}

// metadata returns a copy of the pushed metadata of key (never nil).
func (b *pushBatch) metadata(key string) record.Metadata {
	m := b.docs[b.index[key]].Metadata.Clone()
	if m == nil {
		m = record.Metadata{}
	}
	return m
}

// record sets the result of a document the run reports.
func (b *pushBatch) record(w *docWork, status DocumentStatus, chunks int) {
	i, ok := b.index[w.doc.Key]
	if !ok {
		return
	}
	r := &b.results[i]
	r.Status, r.Chunks = status, chunks
	if w.doc.ID != "" {
		r.DocumentID = w.doc.ID
	}
	if w.err != nil {
		r.Error = &DocumentError{Key: w.doc.Key, Err: w.err}
	}
}

// loadPushedStored reads the stored versions of the pushed documents
// (by the IDs their keys derive, see documentID), not the whole source.
func (r *ingestRun) loadPushedStored(ctx context.Context) error {
	ids := make([]string, len(r.push.docs))
	for i, d := range r.push.docs {
		ids[i] = documentID(r.src.TenantID, r.src.ID, d.Key)
		r.push.results[i].DocumentID = ids[i]
	}
	docs, err := r.c.store.GetDocuments(ctx, r.src.TenantID, ids)
	if err != nil {
		return failedAt(kindStorage, fmt.Errorf("get documents: %w", err))
	}
	r.setStored(docs)
	return nil
}

// upsertDocuments runs a push through an ingestion run over the batch,
// then records the source's new counts and state.
func (c *Client) upsertDocuments(ctx context.Context, src Source, b *pushBatch) (UpsertDocumentsResult, error) {
	start := time.Now()
	out := UpsertDocumentsResult{SourceID: src.ID, Documents: b.results}
	if len(b.docs) == 0 {
		return out, nil
	}
	if err := c.ensureIndex(ctx); err != nil {
		return out, err
	}
	opts, _ := IngestOptions{}.withDefaults()
	r, err := c.newIngestRun(src, opts)
	if err != nil {
		return out, err
	}
	r.push = b
	runErr := r.execute(ctx)
	out.Duration = time.Since(start)
	var failed []*DocumentError
	dDocs, dChunks := 0, 0
	for i := range b.results {
		res := &b.results[i]
		old, existed := r.stored[res.Key]
		switch res.Status {
		case DocumentAdded:
			out.Added++
			dDocs++
			dChunks += res.Chunks
		case DocumentUpdated:
			out.Updated++
			dChunks += res.Chunks - old.chunks
		case DocumentMetadataUpdated:
			out.MetadataUpdated++
		case DocumentUnchanged:
			out.Unchanged++
		case DocumentSkipped:
			out.Skipped++
		case DocumentFailed:
			out.Failed++
			failed = append(failed, res.Error)
		default:
			// Not reached by the run (it stopped first): the stored
			// version stands.
			res.Status = DocumentFailed
			cause := runErr
			if cause == nil {
				cause = errors.New("not written")
			}
			res.Error = &DocumentError{Key: res.Key, Err: cause}
			out.Failed++
			failed = append(failed, res.Error)
		}
		if res.Status == DocumentFailed || res.Status == DocumentSkipped {
			if existed {
				res.Chunks = old.chunks
			}
		}
	}
	out.Embedded = r.res.Embedded
	c.recordPush(ctx, src, dDocs, dChunks, failed, len(b.docs), true)
	c.log.LogAttrs(ctx, slogInfo, "documents pushed", attrTenant(src.TenantID), attrSource(src.ID),
		slog.Int("documents", len(b.docs)), slog.Int("embedded", out.Embedded), slog.Int("unchanged", out.Unchanged),
		slog.Int("failed", out.Failed))
	if runErr != nil {
		return out, fmt.Errorf("minirag: push documents to source %q: %w", src.Name, runErr)
	}
	if len(failed) > 0 {
		return out, &IngestError{SourceID: src.ID, SourceName: src.Name, Total: len(b.docs), Failed: failed}
	}
	return out, nil
}

// recordPush updates a documents source's counts by what a push or a
// delete changed, and its status: ready, or error naming the failed
// documents. Counts are adjusted, not recounted (an Ingest of the source
// recounts them); a failure to record is logged, the documents are
// written.
func (c *Client) recordPush(ctx context.Context, src Source, dDocs, dChunks int, failed []*DocumentError, total int, setStatus bool) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := c.store.InTx(wctx, func(tx storage.Storage) error {
		cur, err := tx.GetSource(wctx, src.TenantID, src.ID)
		if err != nil {
			return err
		}
		now := c.now()
		st := record.SourceState{Status: StatusReady, DocumentCount: max(0, cur.DocumentCount+dDocs),
			ChunkCount: max(0, cur.ChunkCount+dChunks), LastIngestedAt: &now, UpdatedAt: now}
		if !setStatus {
			st.Status, st.Error, st.LastIngestedAt = cur.Status, cur.Error, cur.LastIngestedAt
		}
		if setStatus && len(failed) > 0 {
			st.Status = StatusError
			st.Error = sourceErrorText(failed, total)
			st.LastIngestedAt = cur.LastIngestedAt
		}
		return tx.SetSourceState(wctx, src.TenantID, src.ID, st)
	})
	if err != nil {
		c.log.LogAttrs(ctx, slogWarn, "push: could not record the source's state", attrTenant(src.TenantID), attrSource(src.ID), attrErr(err))
	}
}

// DeleteDocuments deletes the documents of a source with these keys (at
// most MaxPushDocuments), each with its chunks in one Storage
// transaction, then their vectors (Storage decides, the vectors follow:
// see the package documentation, "Crash safety"). Keys no document has
// are listed in the result's NotFound, not an error, so a retry after an
// interruption converges (it also deletes the vectors a stop left). A
// source that is not the tenant's is ErrNotFound. It works for every
// source type, but the next Ingest of a loaded source (file, url, text)
// brings back a document its loader still yields. Needs the admin scope.
func (h *TenantHandle) DeleteDocuments(ctx context.Context, sourceID string, keys []string) (DeleteDocumentsResult, error) {
	if err := h.authorizeAdmin(); err != nil {
		return DeleteDocumentsResult{}, err
	}
	var v record.ValidationError
	if sourceID == "" {
		v.Add("source_id", "is required")
	}
	if len(keys) > MaxPushDocuments {
		v.Add("keys", fmt.Sprintf("holds %d keys, more than the limit of %d per call", len(keys), MaxPushDocuments))
	}
	for i, k := range keys {
		if k == "" && len(v.Fields) < maxFieldErrors {
			v.Add(fmt.Sprintf("keys[%d]", i), "is empty")
		}
	}
	if err := v.Err(); err != nil {
		return DeleteDocumentsResult{}, err
	}
	tenantID := h.p.TenantID
	src, err := h.c.store.GetSource(ctx, tenantID, sourceID)
	if err != nil {
		return DeleteDocumentsResult{}, fmt.Errorf("minirag: delete documents: %w", err)
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = documentID(tenantID, sourceID, k)
	}
	stored, err := h.c.store.GetDocuments(ctx, tenantID, ids)
	if err != nil {
		return DeleteDocumentsResult{}, fmt.Errorf("minirag: delete documents: %w", err)
	}
	byKey := make(map[string]record.Document, len(stored))
	for _, d := range stored {
		if d.SourceID == sourceID {
			byKey[d.Key] = d
		}
	}
	var res DeleteDocumentsResult
	// chunkIDs are the chunks Storage deleted; gone the IDs of documents
	// Storage no longer has (deleted now, or not found), whose vectors
	// are deleted too: a retry after a stop between Storage and the
	// vectors deletes those left. Never the IDs of documents whose
	// delete failed: their chunks still need them.
	var chunkIDs, gone []string
	dChunks := 0
	defer func() {
		h.c.deleteDocumentVectors(ctx, tenantID, chunkIDs, vectorstore.Filter{TenantID: tenantID, SourceIDs: []string{sourceID}, DocumentIDs: gone})
	}()
	for _, k := range keys {
		d, ok := byKey[k]
		if !ok {
			// A document stored under another ID (written before IDs
			// were derived from keys).
			d, err = h.c.store.GetDocumentByKey(ctx, tenantID, sourceID, k)
			switch {
			case errors.Is(err, ErrNotFound):
				res.NotFound = append(res.NotFound, k)
				gone = append(gone, documentID(tenantID, sourceID, k))
				continue
			case err != nil:
				return res, fmt.Errorf("minirag: delete documents: %w", err)
			}
		}
		cids, found, err := h.c.deleteDocument(ctx, tenantID, d.ID)
		if err != nil {
			h.c.recordPush(ctx, src, -res.Deleted, dChunks, nil, 0, false)
			return res, fmt.Errorf("minirag: delete documents: %w", err)
		}
		gone = append(gone, d.ID)
		if !found {
			res.NotFound = append(res.NotFound, k)
			continue
		}
		chunkIDs = append(chunkIDs, cids...)
		res.Deleted++
		dChunks -= d.ChunkCount
	}
	if res.Deleted > 0 {
		h.c.recordPush(ctx, src, -res.Deleted, dChunks, nil, 0, false)
	}
	h.c.log.LogAttrs(ctx, slogInfo, "documents deleted", attrTenant(tenantID), attrSource(sourceID), slog.Int("deleted", res.Deleted))
	return res, nil
}

// EnqueueUpsertDocuments queues UpsertDocuments of these documents for a
// Worker (for pushes a request should not wait for): the documents are
// validated as UpsertDocuments validates them (bad input writes and
// queues nothing) and stored, with their normalized metadata, in the
// job's Payload (JobKindUpsertDocuments), so the job survives a restart.
// Each call queues its own job (jobs are not merged); a Worker runs them
// in the order they were queued when it runs one at a time. A job whose
// documents partly fail is retried as ingestion jobs are; a retry writes
// only what is still missing (UpsertDocuments is idempotent). Needs the
// admin scope.
func (h *TenantHandle) EnqueueUpsertDocuments(ctx context.Context, sourceID string, docs []DocumentInput) (Job, error) {
	if err := h.authorizeAdmin(); err != nil {
		return Job{}, err
	}
	batch, err := newPushBatch(sourceID, docs)
	if err != nil {
		return Job{}, err
	}
	if len(batch.docs) == 0 {
		return Job{}, record.Invalid("documents", "is empty")
	}
	if err := h.checkIngestQuota(ctx); err != nil { // quota.go
		return Job{}, err
	}
	if _, err := h.c.pushSource(ctx, h.p.TenantID, sourceID); err != nil {
		return Job{}, err
	}
	payload, err := json.Marshal(batch.docs)
	if err != nil {
		return Job{}, fmt.Errorf("minirag: enqueue documents: %w", err)
	}
	now := h.c.now()
	j := Job{
		ID: id.New(), TenantID: h.p.TenantID, SourceID: sourceID, Kind: JobKindUpsertDocuments, Status: JobQueued,
		RunAt: now, CreatedAt: now, UpdatedAt: now, Payload: payload, TraceContext: traceParent(ctx), // telemetry.go
	}
	if err := h.c.store.EnqueueJob(ctx, j); err != nil {
		return Job{}, fmt.Errorf("minirag: enqueue documents: %w", err)
	}
	h.c.log.LogAttrs(ctx, slogInfo, "documents queued", attrTenant(h.p.TenantID), attrSource(sourceID),
		slog.String("job_id", j.ID), slog.Int("documents", len(batch.docs)))
	return j, nil
}

// runUpsertJob runs a JobKindUpsertDocuments job: the push its Payload
// holds, validated again.
func (c *Client) runUpsertJob(ctx context.Context, job Job) error {
	var docs []DocumentInput
	if err := json.Unmarshal(job.Payload, &docs); err != nil {
		return record.Invalid("payload", "is not a list of documents")
	}
	batch, err := newPushBatch(job.SourceID, docs)
	if err != nil {
		return err
	}
	src, err := c.pushSource(ctx, job.TenantID, job.SourceID)
	if err != nil {
		return err
	}
	_, err = c.upsertDocuments(ctx, src, batch)
	return err
}
