package minirag

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/sqlite"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/local"
)

// BenchmarkReconcile100k reconciles one tenant of 100,000 chunks (1,000
// documents of 100 chunks) on the embedded stack: SQLite in a file and
// the local vector store. "consistent" finds nothing to repair; "repair"
// first deletes 1,000 vectors and adds 1,000 orphans, which each
// iteration repairs (the embedder is the hashing one, 64 dimensions).
//
//	go test -run '^$' -bench BenchmarkReconcile100k -benchtime 3x .
func BenchmarkReconcile100k(b *testing.B) {
	const docs, perDoc = 1000, 100
	ctx := b.Context()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	require.NoError(b, err)
	vs, err := local.Open("")
	require.NoError(b, err)
	emb, err := hashing.New(hashing.Config{Dimensions: 64})
	require.NoError(b, err)
	c, err := New(Config{Storage: st, VectorStore: vs, Embedder: emb})
	require.NoError(b, err)
	defer c.Close()
	require.NoError(b, c.ensureIndex(ctx))
	t, err := c.CreateTenant(ctx, CreateTenantParams{Name: "Bench", Slug: "bench", OwnerEmail: "o@bench.example"})
	require.NoError(b, err)
	tid := t.Tenant.ID
	h := c.Tenant(tid)
	bot, err := h.CreateBot(ctx, BotParams{Name: "bot"})
	require.NoError(b, err)
	src, err := h.CreateSource(ctx, SourceParams{BotID: bot.ID, Name: "s", Type: SourceText, Config: `{"content":"x"}`})
	require.NoError(b, err)
	vec, err := emb.Embed(ctx, []string{"a chunk of text"})
	require.NoError(b, err)
	var all []string
	for d := range docs {
		doc := record.Document{ID: id.New(), TenantID: tid, SourceID: src.ID, Key: fmt.Sprintf("doc-%04d", d), Title: "Doc",
			ContentHash: "h", ChunkCount: perDoc, CreatedAt: c.now(), UpdatedAt: c.now()}
		chunks := make([]record.Chunk, perDoc)
		recs := make([]vectorstore.Record, perDoc)
		for i := range chunks {
			chunks[i] = record.Chunk{ID: id.New(), TenantID: tid, BotID: bot.ID, SourceID: src.ID, DocumentID: doc.ID, Ordinal: i,
				Text: fmt.Sprintf("chunk %d of document %d", i, d), TokenCount: 6}
			recs[i] = chunkRecord(chunks[i], vec[0], nil)
			all = append(all, chunks[i].ID)
		}
		_, err := st.PutDocuments(ctx, []storage.DocumentWithChunks{{Document: doc, Chunks: chunks}})
		require.NoError(b, err)
		require.NoError(b, vs.Upsert(ctx, recs))
	}
	for _, mode := range []string{"consistent", "repair"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				if mode == "repair" {
					b.StopTimer()
					lost := all[:1000]
					require.NoError(b, vs.Delete(ctx, vectorstore.Filter{TenantID: tid, IDs: lost}))
					orphans := make([]vectorstore.Record, 1000)
					for i := range orphans {
						orphans[i] = vectorstore.Record{ID: id.New(), Vector: vec[0], TenantID: tid, BotID: bot.ID, SourceID: src.ID, DocumentID: "gone"}
					}
					require.NoError(b, vs.Upsert(ctx, orphans))
					b.StartTimer()
				}
				rep, err := c.Reconcile(ctx, ReconcileOptions{TenantID: tid})
				require.NoError(b, err)
				require.Equal(b, docs*perDoc, rep.Chunks)
				if mode == "repair" {
					require.Equal(b, 1000, rep.MissingVectors)
					require.Equal(b, 1000, rep.Orphans)
				} else {
					require.True(b, rep.Consistent())
				}
			}
		})
	}
}
