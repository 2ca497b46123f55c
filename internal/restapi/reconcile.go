package restapi

import (
	"net/http"
	"strconv"

	"github.com/minirag/minirag"
)

// reconcile answers POST /v1/admin/reconcile[?dry_run=true][&metadata=true]: it compares
// the caller's tenant's chunks with its vectors and repairs what differs
// (minirag.TenantHandle.Reconcile), or only reports with dry_run; with
// metadata it also writes each document's metadata to its vectors. Admin
// scope. The body is the minirag.ReconcileReport.
func (s *server) reconcile(w http.ResponseWriter, r *http.Request) {
	var opts minirag.ReconcileOptions
	if v := r.URL.Query().Get("dry_run"); v != "" {
		dry, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, apiError{status: http.StatusUnprocessableEntity, code: "invalid_input", msg: "dry_run must be true or false"})
			return
		}
		opts.DryRun = dry
	}
	if v := r.URL.Query().Get("metadata"); v != "" {
		meta, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, apiError{status: http.StatusUnprocessableEntity, code: "invalid_input", msg: "metadata must be true or false"})
			return
		}
		opts.Metadata = meta
	}
	rep, err := s.handle(r).Reconcile(r.Context(), opts)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
