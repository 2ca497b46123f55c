package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Storage traces the calls of the read and write paths (search, ingestion,
// the job queue, authentication) to a storage.Storage as client spans
// named "storage.<Method>". Calls it does not override go straight to the
// wrapped Storage; ClaimJob is one of them on purpose: a worker polls it
// every PollInterval, and an empty queue would make a trace per poll.
type Storage struct {
	storage.Storage
	t *T
}

// batchStorage is a Storage whose wrapped Storage is a
// storage.DocumentBatcher.
type batchStorage struct {
	*Storage
	b storage.DocumentBatcher
}

// WrapStorage returns s traced by t. The result is a
// storage.DocumentBatcher when s is one.
func WrapStorage(s storage.Storage, t *T) storage.Storage {
	w := &Storage{Storage: s, t: t}
	if b, ok := s.(storage.DocumentBatcher); ok {
		return &batchStorage{Storage: w, b: b}
	}
	return w
}

// Unwrap returns the wrapped Storage.
func (s *Storage) Unwrap() storage.Storage { return s.Storage }

func (s *Storage) start(ctx context.Context, op string, tenantID string) (context.Context, trace.Span) {
	ctx, sp := s.t.tracer.Start(ctx, "storage."+op, trace.WithSpanKind(trace.SpanKindClient))
	if sp.IsRecording() {
		sp.SetAttributes(KeyOp.String(op), KeySystem.String(Provider(s.Storage)))
		if tenantID != "" {
			sp.SetAttributes(KeyTenant.String(tenantID))
		}
	}
	return ctx, sp
}

func count(sp trace.Span, n int) {
	if sp.IsRecording() {
		sp.SetAttributes(KeyCount.Int(n))
	}
}

// InTx traces the transaction and the calls made in it.
func (s *Storage) InTx(ctx context.Context, fn func(tx storage.Storage) error) (err error) {
	ctx, sp := s.start(ctx, "InTx", "")
	defer func() { End(sp, err) }()
	return s.Storage.InTx(ctx, func(tx storage.Storage) error { return fn(WrapStorage(tx, s.t)) })
}

// GetTenant traces storage.Tenants.GetTenant.
func (s *Storage) GetTenant(ctx context.Context, id string) (_ record.Tenant, err error) {
	ctx, sp := s.start(ctx, "GetTenant", id)
	defer func() { End(sp, err) }()
	return s.Storage.GetTenant(ctx, id)
}

// APITokenByHash traces storage.APITokens.APITokenByHash.
func (s *Storage) APITokenByHash(ctx context.Context, hash []byte) (_ record.APIToken, err error) {
	ctx, sp := s.start(ctx, "APITokenByHash", "")
	defer func() { End(sp, err) }()
	return s.Storage.APITokenByHash(ctx, hash)
}

// GetBot traces storage.Bots.GetBot.
func (s *Storage) GetBot(ctx context.Context, tenantID, id string) (_ record.Bot, err error) {
	ctx, sp := s.start(ctx, "GetBot", tenantID)
	defer func() { End(sp, err) }()
	return s.Storage.GetBot(ctx, tenantID, id)
}

// GetBotCredentials traces storage.Bots.GetBotCredentials.
func (s *Storage) GetBotCredentials(ctx context.Context, tenantID, botID string) (_ record.BotCredentials, err error) {
	ctx, sp := s.start(ctx, "GetBotCredentials", tenantID)
	defer func() { End(sp, err) }()
	return s.Storage.GetBotCredentials(ctx, tenantID, botID)
}

// GetSource traces storage.Sources.GetSource.
func (s *Storage) GetSource(ctx context.Context, tenantID, id string) (_ record.Source, err error) {
	ctx, sp := s.start(ctx, "GetSource", tenantID)
	defer func() { End(sp, err) }()
	return s.Storage.GetSource(ctx, tenantID, id)
}

// SetSourceState traces storage.Sources.SetSourceState.
func (s *Storage) SetSourceState(ctx context.Context, tenantID, id string, st record.SourceState) (err error) {
	ctx, sp := s.start(ctx, "SetSourceState", tenantID)
	defer func() { End(sp, err) }()
	return s.Storage.SetSourceState(ctx, tenantID, id, st)
}

// PutDocument traces storage.Documents.PutDocument.
func (s *Storage) PutDocument(ctx context.Context, d record.Document, chunks []record.Chunk) (_ record.Document, err error) {
	ctx, sp := s.start(ctx, "PutDocument", d.TenantID)
	defer func() { End(sp, err) }()
	count(sp, len(chunks))
	return s.Storage.PutDocument(ctx, d, chunks)
}

// PutDocuments traces storage.DocumentBatcher.PutDocuments.
func (s *batchStorage) PutDocuments(ctx context.Context, docs []storage.DocumentWithChunks) (_ []record.Document, err error) {
	tenant := ""
	if len(docs) > 0 {
		tenant = docs[0].Document.TenantID
	}
	ctx, sp := s.start(ctx, "PutDocuments", tenant)
	defer func() { End(sp, err) }()
	count(sp, len(docs))
	return s.b.PutDocuments(ctx, docs)
}

// ListDocuments traces storage.Documents.ListDocuments.
func (s *Storage) ListDocuments(ctx context.Context, tenantID, sourceID string) (_ []record.Document, err error) {
	ctx, sp := s.start(ctx, "ListDocuments", tenantID)
	defer func() { End(sp, err) }()
	docs, err := s.Storage.ListDocuments(ctx, tenantID, sourceID)
	count(sp, len(docs))
	return docs, err
}

// DeleteDocument traces storage.Documents.DeleteDocument.
func (s *Storage) DeleteDocument(ctx context.Context, tenantID, id string) (err error) {
	ctx, sp := s.start(ctx, "DeleteDocument", tenantID)
	defer func() { End(sp, err) }()
	return s.Storage.DeleteDocument(ctx, tenantID, id)
}

// GetChunks traces storage.Documents.GetChunks.
func (s *Storage) GetChunks(ctx context.Context, tenantID string, ids []string) (_ []record.Chunk, err error) {
	ctx, sp := s.start(ctx, "GetChunks", tenantID)
	defer func() { End(sp, err) }()
	count(sp, len(ids))
	return s.Storage.GetChunks(ctx, tenantID, ids)
}

// GetDocuments traces storage.Documents.GetDocuments.
func (s *Storage) GetDocuments(ctx context.Context, tenantID string, ids []string) (_ []record.Document, err error) {
	ctx, sp := s.start(ctx, "GetDocuments", tenantID)
	defer func() { End(sp, err) }()
	count(sp, len(ids))
	return s.Storage.GetDocuments(ctx, tenantID, ids)
}

// GetChunksWithDocuments traces storage.Documents.GetChunksWithDocuments.
func (s *Storage) GetChunksWithDocuments(ctx context.Context, tenantID string, ids []string) (_ []storage.ChunkWithDocument, err error) {
	ctx, sp := s.start(ctx, "GetChunksWithDocuments", tenantID)
	defer func() { End(sp, err) }()
	count(sp, len(ids))
	return s.Storage.GetChunksWithDocuments(ctx, tenantID, ids)
}

// SearchLexical traces storage.Lexical.SearchLexical. The query text is
// put on the span only with Config.RecordContent.
func (s *Storage) SearchLexical(ctx context.Context, q storage.LexicalQuery) (_ []storage.LexicalMatch, err error) {
	ctx, sp := s.start(ctx, "SearchLexical", q.TenantID)
	defer func() { End(sp, err) }()
	if sp.IsRecording() {
		sp.SetAttributes(KeyBot.String(q.BotID), attribute.Int("minirag.limit", q.Limit))
		if s.t.content {
			sp.SetAttributes(KeyQuery.String(q.Text))
		}
	}
	m, err := s.Storage.SearchLexical(ctx, q)
	count(sp, len(m))
	return m, err
}

// EnqueueJob traces storage.Jobs.EnqueueJob.
func (s *Storage) EnqueueJob(ctx context.Context, j record.Job) (err error) {
	ctx, sp := s.start(ctx, "EnqueueJob", j.TenantID)
	defer func() { End(sp, err) }()
	return s.Storage.EnqueueJob(ctx, j)
}

// CompleteJob traces storage.Jobs.CompleteJob.
func (s *Storage) CompleteJob(ctx context.Context, jobID, worker string, at time.Time) (err error) {
	ctx, sp := s.start(ctx, "CompleteJob", "")
	defer func() { End(sp, err) }()
	return s.Storage.CompleteJob(ctx, jobID, worker, at)
}

// FailJob traces storage.Jobs.FailJob.
func (s *Storage) FailJob(ctx context.Context, jobID, worker, errText string, at time.Time, retryAt *time.Time) (err error) {
	ctx, sp := s.start(ctx, "FailJob", "")
	defer func() { End(sp, err) }()
	return s.Storage.FailJob(ctx, jobID, worker, errText, at, retryAt)
}
