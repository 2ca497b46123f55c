package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/minirag/minirag/vectorstore"
)

// VectorStore traces the calls to a vectorstore.VectorStore as client
// spans named "vectorstore.<Method>". Calls it does not override go
// straight to the wrapped store.
type VectorStore struct {
	vectorstore.VectorStore
	t *T
}

// WrapVectorStore returns v traced by t.
func WrapVectorStore(v vectorstore.VectorStore, t *T) *VectorStore {
	return &VectorStore{VectorStore: v, t: t}
}

// Unwrap returns the wrapped VectorStore.
func (v *VectorStore) Unwrap() vectorstore.VectorStore { return v.VectorStore }

func (v *VectorStore) start(ctx context.Context, op, tenantID string) (context.Context, trace.Span) {
	ctx, sp := v.t.tracer.Start(ctx, "vectorstore."+op, trace.WithSpanKind(trace.SpanKindClient))
	if sp.IsRecording() {
		sp.SetAttributes(KeyOp.String(op), KeySystem.String(Provider(v.VectorStore)))
		if tenantID != "" {
			sp.SetAttributes(KeyTenant.String(tenantID))
		}
	}
	return ctx, sp
}

// Init traces vectorstore.VectorStore.Init.
func (v *VectorStore) Init(ctx context.Context, space vectorstore.Space) (err error) {
	ctx, sp := v.start(ctx, "Init", "")
	defer func() { End(sp, err) }()
	if sp.IsRecording() {
		sp.SetAttributes(KeySpaceModel.String(space.Model), KeySpaceDims.Int(space.Dims))
	}
	return v.VectorStore.Init(ctx, space)
}

// Upsert traces vectorstore.VectorStore.Upsert.
func (v *VectorStore) Upsert(ctx context.Context, recs []vectorstore.Record) (err error) {
	tenant := ""
	if len(recs) > 0 {
		tenant = recs[0].TenantID
	}
	ctx, sp := v.start(ctx, "Upsert", tenant)
	defer func() { End(sp, err) }()
	count(sp, len(recs))
	return v.VectorStore.Upsert(ctx, recs)
}

// Delete traces vectorstore.VectorStore.Delete.
func (v *VectorStore) Delete(ctx context.Context, f vectorstore.Filter) (err error) {
	ctx, sp := v.start(ctx, "Delete", f.TenantID)
	defer func() { End(sp, err) }()
	if sp.IsRecording() && f.BotID != "" {
		sp.SetAttributes(KeyBot.String(f.BotID))
	}
	return v.VectorStore.Delete(ctx, f)
}

// Search traces vectorstore.VectorStore.Search.
func (v *VectorStore) Search(ctx context.Context, q vectorstore.Query) (_ []vectorstore.Match, err error) {
	ctx, sp := v.start(ctx, "Search", q.Filter.TenantID)
	defer func() { End(sp, err) }()
	if sp.IsRecording() {
		sp.SetAttributes(KeyBot.String(q.Filter.BotID), KeyTopK.Int(q.TopK))
	}
	m, err := v.VectorStore.Search(ctx, q)
	count(sp, len(m))
	return m, err
}
