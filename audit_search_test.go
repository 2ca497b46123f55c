package minirag

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAuditSearchManySourceIDs: a search restricted to a huge list of
// source IDs (a 1 MiB request body holds tens of thousands) is bad input
// naming source_ids, not a storage failure (SQLite's variable limit)
// reported as an internal error.
func TestAuditSearchManySourceIDs(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	src := e.textSource(t, h, bot.ID, "Backups", docsCorpus["backup.md"])
	_, err := h.Ingest(e.ctx, src.ID, IngestOptions{})
	require.NoError(t, err)

	ids := make([]string, 40000)
	for i := range ids {
		ids[i] = fmt.Sprintf("s%d", i)
	}
	ids[0] = src.ID
	for _, mode := range []SearchMode{SearchLexical, SearchDense, SearchHybrid} {
		_, err = h.Search(e.ctx, SearchRequest{BotID: bot.ID, Query: "restore a backup", SourceIDs: ids, Mode: mode})
		require.ErrorIs(t, err, ErrInvalidInput, "mode %s", mode)
		var v *ValidationError
		require.ErrorAs(t, err, &v)
		require.Equal(t, "source_ids", v.Fields[0].Field)
	}
	_, err = h.Ask(e.ctx, AskRequest{BotID: bot.ID, Question: "restore a backup?", SourceIDs: ids, Extractive: true})
	require.ErrorIs(t, err, ErrInvalidInput)
}
