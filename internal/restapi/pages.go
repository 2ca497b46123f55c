package restapi

import (
	"net/http"

	"github.com/minirag/minirag"
)

// Paged listings. Every list route (api-tokens, bot-profiles, sources,
// sources/{id}/documents, jobs, conversations, feedback) takes ?limit=
// (default 100, at most 1000; conversations and feedback 20 and 100) and
// ?cursor=, and answers {"data": [...], "next_cursor": "..."}: pass
// next_cursor back as cursor for the next page; it is absent on the last.

// pageParams reads ?limit= and ?cursor=.
func pageParams(r *http.Request) (minirag.Page, error) {
	limit, err := intParam(r, "limit")
	if err != nil {
		return minirag.Page{}, err
	}
	return minirag.Page{Limit: limit, Cursor: r.URL.Query().Get("cursor")}, nil
}

// listDocuments is GET /v1/sources/{id}/documents: a page of the source's
// documents, ordered by key.
func (s *server) listDocuments(w http.ResponseWriter, r *http.Request) {
	p, err := pageParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := filterParam(r) // documents.go
	if err != nil {
		s.fail(w, r, err)
		return
	}
	docs, err := s.handle(r).ListDocuments(r.Context(), minirag.DocumentQuery{SourceID: r.PathValue("id"), Filter: f, Page: p})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageBody[minirag.Document]{Data: docs.Items, NextCursor: docs.NextCursor})
}
