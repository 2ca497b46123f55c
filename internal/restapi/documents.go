package restapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
)

// maxPushBodyBytes bounds the body of a documents push: the library's
// bound on one push (minirag.MaxPushBytes) and room for the JSON around
// it (escapes, keys).
const maxPushBodyBytes = minirag.MaxPushBytes + minirag.MaxPushBytes/4

// documentRoutes adds the documents and tenant routes:
//
//	POST   /v1/sources/{id}/documents[?async=true]  push documents (200 with the results; 202 with a job when async)
//	POST   /v1/sources/{id}/documents/delete         delete documents by key
//	GET    /v1/sources/{id}/documents/by-key?key=    read a document by key
//	GET    /v1/documents[?source_id=&bot_profile_id=&filter=&limit=&cursor=]  list documents (filter: JSON)
//	GET    /v1/documents/{id}                        read a document
//	DELETE /v1/documents/{id}                        delete a document
//	PATCH  /v1/tenants/me                            rename the tenant or change its slug (owners)
//	DELETE /v1/tenants/me                            erase the tenant and everything of it (owners)
//
// GET /v1/sources/{id}/documents (pages.go) takes ?filter= too.
func (s *server) documentRoutes(api *http.ServeMux) {
	api.HandleFunc("POST /v1/sources/{id}/documents", s.admin(s.pushDocuments))
	api.HandleFunc("POST /v1/sources/{id}/documents/delete", s.admin(s.deleteDocuments))
	api.HandleFunc("GET /v1/sources/{id}/documents/by-key", s.getDocumentByKey)
	api.HandleFunc("GET /v1/documents", s.queryDocuments)
	api.HandleFunc("GET /v1/documents/{id}", s.getDocument)
	api.HandleFunc("DELETE /v1/documents/{id}", s.deleteDocument)
	api.HandleFunc("PATCH /v1/tenants/me", s.owner(s.updateTenant))
	api.HandleFunc("DELETE /v1/tenants/me", s.owner(s.deleteTenant))
}

// pushBody is the body of POST /v1/sources/{id}/documents.
type pushBody struct {
	Documents []minirag.DocumentInput `json:"documents"`
}

func (s *server) pushDocuments(w http.ResponseWriter, r *http.Request) {
	var b pushBody
	if err := decodeLimit(w, r, &b, maxPushBodyBytes); err != nil {
		s.fail(w, r, err)
		return
	}
	h := s.handle(r)
	if r.URL.Query().Get("async") == "true" {
		j, err := h.EnqueueUpsertDocuments(r.Context(), r.PathValue("id"), b.Documents)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, j)
		return
	}
	res, err := h.UpsertDocuments(r.Context(), r.PathValue("id"), b.Documents)
	var ie *minirag.IngestError
	if err != nil && !errors.As(err, &ie) {
		s.fail(w, r, err)
		return
	}
	// Documents that failed are in the results, each with its error.
	writeJSON(w, http.StatusOK, res)
}

// deleteKeysBody is the body of POST /v1/sources/{id}/documents/delete.
type deleteKeysBody struct {
	Keys []string `json:"keys"`
}

func (s *server) deleteDocuments(w http.ResponseWriter, r *http.Request) {
	var b deleteKeysBody
	if err := decode(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.handle(r).DeleteDocuments(r.Context(), r.PathValue("id"), b.Keys)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *server) getDocumentByKey(w http.ResponseWriter, r *http.Request) {
	d, err := s.handle(r).GetDocumentByKey(r.Context(), r.PathValue("id"), r.URL.Query().Get("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// filterParam reads ?filter= (the JSON form of package filter).
func filterParam(r *http.Request) (filter.Filter, error) {
	var f filter.Filter
	raw := r.URL.Query().Get("filter")
	if raw == "" {
		return f, nil
	}
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return f, record.Invalid("filter", "is not a valid filter: "+err.Error())
	}
	return f, nil
}

// documentQuery reads the query of a documents listing.
func documentQuery(r *http.Request) (minirag.DocumentQuery, error) {
	p, err := pageParams(r)
	if err != nil {
		return minirag.DocumentQuery{}, err
	}
	f, err := filterParam(r)
	if err != nil {
		return minirag.DocumentQuery{}, err
	}
	q := r.URL.Query()
	return minirag.DocumentQuery{SourceID: q.Get("source_id"), BotID: q.Get("bot_profile_id"), Filter: f, Page: p}, nil
}

func (s *server) queryDocuments(w http.ResponseWriter, r *http.Request) {
	q, err := documentQuery(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	docs, err := s.handle(r).ListDocuments(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageBody[minirag.Document]{Data: docs.Items, NextCursor: docs.NextCursor})
}

func (s *server) getDocument(w http.ResponseWriter, r *http.Request) {
	d, err := s.handle(r).GetDocument(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *server) deleteDocument(w http.ResponseWriter, r *http.Request) {
	if err := s.handle(r).DeleteDocument(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// owner answers 403 unless the caller is an owner of its tenant with the
// admin scope.
func (s *server) owner(next http.HandlerFunc) http.HandlerFunc {
	return s.admin(func(w http.ResponseWriter, r *http.Request) {
		p, _ := minirag.PrincipalFromContext(r.Context())
		forbidden := apiError{status: http.StatusForbidden, code: "forbidden", msg: "only an owner of the tenant may do this"}
		if p.UserID == "" {
			s.fail(w, r, forbidden)
			return
		}
		u, err := s.handle(r).GetUser(r.Context(), p.UserID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if u.Role != minirag.RoleOwner {
			s.fail(w, r, forbidden)
			return
		}
		next(w, r)
	})
}

func (s *server) updateTenant(w http.ResponseWriter, r *http.Request) {
	var u minirag.TenantUpdate
	if err := decode(w, r, &u); err != nil {
		s.fail(w, r, err)
		return
	}
	p, _ := minirag.PrincipalFromContext(r.Context())
	t, err := s.c.UpdateTenant(r.Context(), p.TenantID, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *server) deleteTenant(w http.ResponseWriter, r *http.Request) {
	p, _ := minirag.PrincipalFromContext(r.Context())
	if err := s.c.DeleteTenant(r.Context(), p.TenantID); err != nil && !errors.Is(err, minirag.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
