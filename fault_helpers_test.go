package minirag

// Test support for the reliability tests: a direct comparison of Storage
// with the VectorStore (not through Reconcile, which is under test), and
// wrappers of Storage and VectorStore that fail the n-th call.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// indexDiff is how a tenant's vectors differ from its chunks.
type indexDiff struct {
	chunks, vectors int
	// missing: chunks without a vector; mislabelled: vectors whose bot,
	// source or document is not their chunk's; orphans: vectors without
	// a chunk.
	missing, mislabelled, orphans []string
}

func (d indexDiff) String() string {
	return fmt.Sprintf("%d chunks, %d vectors: %d missing, %d mislabelled, %d orphans",
		d.chunks, d.vectors, len(d.missing), len(d.mislabelled), len(d.orphans))
}

// diffIndex reads every chunk of the tenant from Storage (ScanChunks)
// and every vector from the VectorStore (List) and compares them.
func diffIndex(t testing.TB, st storage.Storage, vs vectorstore.VectorStore, tenantID string) indexDiff {
	t.Helper()
	ctx := context.Background()
	chunks := map[string]storage.ChunkRef{}
	after := ""
	for {
		refs, err := st.ScanChunks(ctx, tenantID, after, 500)
		require.NoError(t, err)
		if len(refs) == 0 {
			break
		}
		for _, r := range refs {
			chunks[r.ID] = r
		}
		after = refs[len(refs)-1].ID
	}
	vecs := map[string]vectorstore.Record{}
	cursor := ""
	for {
		recs, next, err := vs.List(ctx, vectorstore.Filter{TenantID: tenantID}, cursor, 500)
		require.NoError(t, err)
		for _, r := range recs {
			vecs[r.ID] = r
		}
		if next == "" {
			break
		}
		cursor = next
	}
	d := indexDiff{chunks: len(chunks), vectors: len(vecs)}
	for id, c := range chunks {
		v, ok := vecs[id]
		switch {
		case !ok:
			d.missing = append(d.missing, id)
		case v.BotID != c.BotID || v.SourceID != c.SourceID || v.DocumentID != c.DocumentID:
			d.mislabelled = append(d.mislabelled, id)
		}
	}
	for id := range vecs {
		if _, ok := chunks[id]; !ok {
			d.orphans = append(d.orphans, id)
		}
	}
	sort.Strings(d.missing)
	sort.Strings(d.orphans)
	return d
}

// errFault is the error of an injected fault.
var errFault = errors.New("injected fault")

// faultPlan decides which call fails: once armed, the at-th call counted
// (1-based) fails, either before it runs (nothing done) or after it ran
// (done, but reported failed: a connection lost on the way back).
type faultPlan struct {
	mu     sync.Mutex
	armed  bool
	calls  int
	at     int
	after  bool
	fired  string
	counts map[string]int
}

// arm starts counting; the at-th call from now fails.
func (p *faultPlan) arm(at int, after bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed, p.calls, p.at, p.after, p.fired = true, 0, at, after, ""
}

// disarm stops counting and returns the calls counted and the call that
// failed ("" when none did).
func (p *faultPlan) disarm() (int, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = false
	return p.calls, p.fired
}

// do runs call under the plan.
func (p *faultPlan) do(op string, call func() error) error {
	p.mu.Lock()
	fail := false
	if p.armed {
		p.calls++
		if p.calls == p.at {
			fail = true
			p.fired = fmt.Sprintf("%s (call %d, after=%v)", op, p.calls, p.after)
		}
	}
	after := p.after
	p.mu.Unlock()
	if fail && !after {
		return fmt.Errorf("%s: %w", op, errFault)
	}
	err := call()
	if fail {
		return errors.Join(err, fmt.Errorf("%s, after it ran: %w", op, errFault))
	}
	return err
}

func faultCall[T any](p *faultPlan, op string, call func() (T, error)) (T, error) {
	var out T
	err := p.do(op, func() error {
		var err error
		out, err = call()
		return err
	})
	return out, err
}

// faultStore is a Storage whose calls on the paths under test go through
// a faultPlan (the calls of a transaction too).
type faultStore struct {
	storage.Storage
	p *faultPlan
}

func (s *faultStore) InTx(ctx context.Context, fn func(tx storage.Storage) error) error {
	return s.p.do("InTx", func() error {
		return s.Storage.InTx(ctx, func(tx storage.Storage) error { return fn(&faultStore{Storage: tx, p: s.p}) })
	})
}

func (s *faultStore) GetSource(ctx context.Context, tenantID, id string) (record.Source, error) {
	return faultCall(s.p, "GetSource", func() (record.Source, error) { return s.Storage.GetSource(ctx, tenantID, id) })
}

func (s *faultStore) ListSources(ctx context.Context, tenantID, botID string) ([]record.Source, error) {
	return faultCall(s.p, "ListSources", func() ([]record.Source, error) { return s.Storage.ListSources(ctx, tenantID, botID) })
}

func (s *faultStore) UpdateSource(ctx context.Context, src record.Source) error {
	return s.p.do("UpdateSource", func() error { return s.Storage.UpdateSource(ctx, src) })
}

func (s *faultStore) SetSourceState(ctx context.Context, tenantID, id string, st record.SourceState) error {
	return s.p.do("SetSourceState", func() error { return s.Storage.SetSourceState(ctx, tenantID, id, st) })
}

func (s *faultStore) DeleteSource(ctx context.Context, tenantID, id string) error {
	return s.p.do("DeleteSource", func() error { return s.Storage.DeleteSource(ctx, tenantID, id) })
}

func (s *faultStore) GetBot(ctx context.Context, tenantID, id string) (record.Bot, error) {
	return faultCall(s.p, "GetBot", func() (record.Bot, error) { return s.Storage.GetBot(ctx, tenantID, id) })
}

func (s *faultStore) DeleteBot(ctx context.Context, tenantID, id string, at time.Time) error {
	return s.p.do("DeleteBot", func() error { return s.Storage.DeleteBot(ctx, tenantID, id, at) })
}

func (s *faultStore) ListDocuments(ctx context.Context, tenantID, sourceID string) ([]record.Document, error) {
	return faultCall(s.p, "ListDocuments", func() ([]record.Document, error) { return s.Storage.ListDocuments(ctx, tenantID, sourceID) })
}

func (s *faultStore) PutDocument(ctx context.Context, d record.Document, chunks []record.Chunk) (record.Document, error) {
	return faultCall(s.p, "PutDocument", func() (record.Document, error) { return s.Storage.PutDocument(ctx, d, chunks) })
}

func (s *faultStore) PutDocuments(ctx context.Context, docs []storage.DocumentWithChunks) ([]record.Document, error) {
	return faultCall(s.p, "PutDocuments", func() ([]record.Document, error) {
		return s.Storage.(storage.DocumentBatcher).PutDocuments(ctx, docs)
	})
}

func (s *faultStore) DeleteDocument(ctx context.Context, tenantID, id string) error {
	return s.p.do("DeleteDocument", func() error { return s.Storage.DeleteDocument(ctx, tenantID, id) })
}

func (s *faultStore) ListChunks(ctx context.Context, tenantID, documentID string) ([]record.Chunk, error) {
	return faultCall(s.p, "ListChunks", func() ([]record.Chunk, error) { return s.Storage.ListChunks(ctx, tenantID, documentID) })
}

func (s *faultStore) GetChunks(ctx context.Context, tenantID string, ids []string) ([]record.Chunk, error) {
	return faultCall(s.p, "GetChunks", func() ([]record.Chunk, error) { return s.Storage.GetChunks(ctx, tenantID, ids) })
}

func (s *faultStore) GetChunksWithDocuments(ctx context.Context, tenantID string, ids []string) ([]storage.ChunkWithDocument, error) {
	return faultCall(s.p, "GetChunksWithDocuments", func() ([]storage.ChunkWithDocument, error) {
		return s.Storage.GetChunksWithDocuments(ctx, tenantID, ids)
	})
}

func (s *faultStore) ScanChunks(ctx context.Context, tenantID, after string, limit int) ([]storage.ChunkRef, error) {
	return faultCall(s.p, "ScanChunks", func() ([]storage.ChunkRef, error) { return s.Storage.ScanChunks(ctx, tenantID, after, limit) })
}

// faultVec is a VectorStore whose writes and listings go through a
// faultPlan.
type faultVec struct {
	vectorstore.VectorStore
	p *faultPlan
}

func (v *faultVec) Upsert(ctx context.Context, recs []vectorstore.Record) error {
	return v.p.do("Upsert", func() error { return v.VectorStore.Upsert(ctx, recs) })
}

func (v *faultVec) Delete(ctx context.Context, f vectorstore.Filter) error {
	return v.p.do("Delete", func() error { return v.VectorStore.Delete(ctx, f) })
}

func (v *faultVec) List(ctx context.Context, f vectorstore.Filter, cursor string, limit int) ([]vectorstore.Record, string, error) {
	var next string
	recs, err := faultCall(v.p, "List", func() ([]vectorstore.Record, error) {
		recs, n, err := v.VectorStore.List(ctx, f, cursor, limit)
		next = n
		return recs, err
	})
	return recs, next, err
}

func (v *faultVec) Search(ctx context.Context, q vectorstore.Query) ([]vectorstore.Match, error) {
	return faultCall(v.p, "Search", func() ([]vectorstore.Match, error) { return v.VectorStore.Search(ctx, q) })
}
