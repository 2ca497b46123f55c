package restapi

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/minirag/minirag"
)

// TestReconcileRoute: POST /v1/admin/reconcile reports on the caller's
// tenant only, dry or not; a bad dry_run is 422.
func TestReconcileRoute(t *testing.T) {
	s := newStack(t, embeddedClient(t))
	a := s.bootstrap("acme")
	tok := a.APIToken.Token
	bot := s.createBot(tok)
	s.ingested(tok, bot.ID, "Storage", storageText)
	s.bootstrap("globex")

	var rep minirag.ReconcileReport
	s.ok(http.StatusOK, "POST", "/v1/admin/reconcile?dry_run=true", tok, nil, &rep)
	assert.True(t, rep.DryRun)
	assert.Equal(t, 1, rep.Tenants, "the caller's tenant only")
	assert.Positive(t, rep.Chunks)
	assert.Equal(t, rep.Chunks, rep.Vectors)
	assert.True(t, rep.Consistent())

	s.ok(http.StatusOK, "POST", "/v1/admin/reconcile", tok, nil, &rep)
	assert.False(t, rep.DryRun)
	assert.Equal(t, 1, rep.Tenants)

	status, _ := s.do("POST", "/v1/admin/reconcile?dry_run=maybe", tok, nil)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
}
