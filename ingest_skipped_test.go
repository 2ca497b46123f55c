package minirag

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIngestProgressReportsSkipped: a file the loader passes over (a
// binary file) is counted by the progress reports, in order with the
// documents, and listed with its reason in the result.
func TestIngestProgressReportsSkipped(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a-hours.md":  "# Hours\n\nThe library opens at nine and closes at six on weekdays.\n",
		"b-logo.txt":  "PNG\x00\x01\x02\x03 not text",
		"c-loans.txt": "Books are lent for three weeks and can be renewed twice online.",
	})
	src := e.dirSource(t, h, bot.ID, dir)

	var reports []IngestProgress
	res, err := h.Ingest(e.ctx, src.ID, IngestOptions{Progress: func(p IngestProgress) { reports = append(reports, p) }})
	require.NoError(t, err)

	require.Len(t, res.Skipped, 1)
	assert.Equal(t, "b-logo.txt", res.Skipped[0].Key)
	assert.Contains(t, res.Skipped[0].Reason, "binary")
	assert.Equal(t, 2, res.Added)
	assert.Equal(t, 2, res.Documents)

	require.NotEmpty(t, reports)
	final := reports[len(reports)-1]
	assert.True(t, final.Done)
	assert.Equal(t, 1, final.Skipped)
	assert.Equal(t, 2, final.Documents, "a skipped file is not a document")
	assert.Equal(t, 2, final.DocumentsTotal)
	// One report per document and one for the skipped file, then the
	// final one; Skipped grows at the skipped file's report.
	require.Len(t, reports, 4)
	var skippedAt []string
	prev := 0
	for _, p := range reports[:3] {
		assert.False(t, p.Done)
		if p.Skipped > prev {
			skippedAt = append(skippedAt, p.Key)
			prev = p.Skipped
		}
	}
	assert.Equal(t, []string{"b-logo.txt"}, skippedAt)

	js, err := json.Marshal(res)
	require.NoError(t, err)
	assert.Contains(t, string(js), "b-logo.txt")

	// A second run reports the skip again; nothing else changes.
	reports = nil
	res, err = h.Ingest(e.ctx, src.ID, IngestOptions{Progress: func(p IngestProgress) { reports = append(reports, p) }})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Unchanged)
	require.Len(t, res.Skipped, 1)
	assert.Equal(t, 1, reports[len(reports)-1].Skipped)
}
