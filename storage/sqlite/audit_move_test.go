package sqlite_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/sqlite"
)

// TestAuditUpdateSourceMovesContent: when UpdateSource changes a source's
// bot, its documents and chunks move to the new bot (as storage/postgres
// now does, and as minirag.UpdateSource relies on before it moves the
// vectors). Otherwise the old bot, and query tokens limited to it, keep
// finding the source's text, and the new bot does not.
func TestAuditUpdateSourceMovesContent(t *testing.T) {
	s, err := sqlite.Open(t.Context(), sqlite.MemoryPath)
	require.NoError(t, err)
	defer s.Close()
	auditUpdateSourceMovesContent(t, s)
}

func auditUpdateSourceMovesContent(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ten := record.Tenant{ID: "t-move", Name: "T", Slug: "t-move", CreatedAt: now, UpdatedAt: now}
	require.NoError(t, s.CreateTenant(ctx, ten))
	botA := record.Bot{ID: "bot-a", TenantID: ten.ID, Name: "A", Active: true, CreatedAt: now, UpdatedAt: now}
	botB := record.Bot{ID: "bot-b", TenantID: ten.ID, Name: "B", Active: true, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, s.CreateBot(ctx, botA))
	require.NoError(t, s.CreateBot(ctx, botB))
	src := record.Source{ID: "src-1", TenantID: ten.ID, BotID: botA.ID, Name: "S", Type: record.SourceText,
		Status: record.StatusReady, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, s.CreateSource(ctx, src))
	doc, err := s.PutDocument(ctx, record.Document{ID: "doc-1", TenantID: ten.ID, SourceID: src.ID, Key: "k", Title: "Zebra",
		ContentHash: "h", CreatedAt: now, UpdatedAt: now},
		[]record.Chunk{{ID: "chunk-1", TenantID: ten.ID, SourceID: src.ID, DocumentID: "doc-1", Text: "zebras graze quietly", End: 20}})
	require.NoError(t, err)
	require.Equal(t, botA.ID, doc.BotID)

	src.BotID = botB.ID
	src.UpdatedAt = now.Add(time.Minute)
	require.NoError(t, s.UpdateSource(ctx, src))

	d, err := s.GetDocument(ctx, ten.ID, doc.ID)
	require.NoError(t, err)
	require.Equal(t, botB.ID, d.BotID, "the document stayed with the old bot")
	chunks, err := s.ListChunks(ctx, ten.ID, doc.ID)
	require.NoError(t, err)
	require.Len(t, chunks, 1)
	require.Equal(t, botB.ID, chunks[0].BotID, "the chunk stayed with the old bot")

	m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: ten.ID, BotID: botA.ID, Text: "zebras", Limit: 5})
	require.NoError(t, err)
	require.Empty(t, m, "the old bot still finds the moved source's text")
	m, err = s.SearchLexical(ctx, storage.LexicalQuery{TenantID: ten.ID, BotID: botB.ID, Text: "zebras", Limit: 5})
	require.NoError(t, err)
	require.Len(t, m, 1, "the new bot does not find the moved source's text")
}
