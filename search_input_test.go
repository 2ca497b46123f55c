package minirag

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSearchNonFiniteNumbers: a NaN or infinite weight or MinScore is
// ErrInvalidInput naming the field (it used to give NaN scores), in
// every mode; finite values, and a negative MinScore, still search.
func TestSearchNonFiniteNumbers(t *testing.T) {
	e := newIngestEnv(t)
	h, bot := e.tenantWithBot(t, "acme")
	s := e.textSource(t, h, bot.ID, "Kitchen", "The espresso machine on the third floor needs descaling every Friday.")
	_, err := h.Ingest(e.ctx, s.ID, IngestOptions{})
	require.NoError(t, err)

	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for field, req := range map[string]SearchRequest{
			"dense_weight":   {DenseWeight: bad},
			"lexical_weight": {LexicalWeight: bad},
			"min_score":      {MinScore: bad},
		} {
			for _, mode := range []SearchMode{SearchHybrid, SearchDense, SearchLexical} {
				req.BotID, req.Query, req.Mode = bot.ID, "espresso", mode
				_, err := h.Search(e.ctx, req)
				require.ErrorIs(t, err, ErrInvalidInput, "%s=%v %s", field, bad, mode)
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				require.Len(t, ve.Fields, 1)
				assert.Equal(t, field, ve.Fields[0].Field)
				assert.Equal(t, "must be a finite number", ve.Fields[0].Message)
			}
		}
	}
	res, err := h.Search(e.ctx, SearchRequest{BotID: bot.ID, Query: "espresso", DenseWeight: 0.5, LexicalWeight: 2, MinScore: -1})
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.False(t, math.IsNaN(res[0].Score))
}
