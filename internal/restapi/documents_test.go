package restapi

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
)

// TestDocumentRoutes: a host pushes documents with metadata into a
// documents source, updates and deletes them by key, lists them with a
// filter and by page, reads one by ID and by key, filters search and
// chat by metadata; a query token may do none of the writes; the owner
// renames and then erases the tenant.
func TestDocumentRoutes(t *testing.T) {
	s := newStack(t, embeddedClient(t))
	b := s.bootstrap("docs")
	admin := b.APIToken.Token
	bot := s.createBot(admin)
	var src sourceResp
	s.ok(http.StatusCreated, "POST", "/v1/sources", admin, map[string]any{"bot_profile_id": bot.ID, "name": "tickets", "type": "documents"}, &src)
	path := "/v1/sources/" + src.ID + "/documents"

	var docs []map[string]any
	for i := range 6 {
		docs = append(docs, map[string]any{
			"key": fmt.Sprintf("t-%d", i), "title": fmt.Sprintf("Ticket %d", i),
			"text":     fmt.Sprintf("Ticket %d: the refund for order %d has not arrived.", i, i),
			"metadata": map[string]any{"status": []string{"open", "closed"}[i%2], "priority": i},
		})
	}
	var res minirag.UpsertDocumentsResult
	s.ok(http.StatusOK, "POST", path, admin, map[string]any{"documents": docs}, &res)
	assert.Equal(t, 6, res.Added)
	docs[0]["metadata"] = map[string]any{"status": "closed", "priority": 0}
	s.ok(http.StatusOK, "POST", path, admin, map[string]any{"documents": docs[:1]}, &res)
	assert.Equal(t, minirag.DocumentMetadataUpdated, res.Documents[0].Status)
	assert.Zero(t, res.Embedded)

	// Bad input names the field.
	status, body := s.do("POST", path, admin, map[string]any{"documents": []map[string]any{{"key": "x", "text": ""}}})
	require.Equal(t, http.StatusUnprocessableEntity, status, string(body))
	assert.Equal(t, []string{"documents[0].text"}, fieldNames(apiErr(t, body)))

	// Listing with a filter, by page.
	f := url.QueryEscape(`{"field":"status","eq":"open"}`)
	var page struct {
		Data       []minirag.Document `json:"data"`
		NextCursor string             `json:"next_cursor"`
	}
	s.ok(http.StatusOK, "GET", "/v1/documents?source_id="+src.ID+"&filter="+f+"&limit=1", admin, nil, &page)
	require.Len(t, page.Data, 1)
	require.NotEmpty(t, page.NextCursor)
	assert.Equal(t, "open", page.Data[0].Metadata["status"])
	page.NextCursor = ""
	s.ok(http.StatusOK, "GET", path+"?filter="+f+"&limit=10", admin, nil, &page)
	assert.Len(t, page.Data, 2, "t-2 and t-4 are open")
	assert.Empty(t, page.NextCursor)
	status, body = s.do("GET", "/v1/documents?filter="+url.QueryEscape(`{"field":"status","like":"x"}`), admin, nil)
	require.Equal(t, http.StatusUnprocessableEntity, status, string(body))
	assert.Equal(t, []string{"filter"}, fieldNames(apiErr(t, body)))

	// Read by key and by ID.
	var d minirag.Document
	s.ok(http.StatusOK, "GET", path+"/by-key?key=t-2", admin, nil, &d)
	assert.Equal(t, "Ticket 2", d.Title)
	s.ok(http.StatusOK, "GET", "/v1/documents/"+d.ID, admin, nil, &d)
	assert.Equal(t, "t-2", d.Key)

	// Search and chat filtered by metadata.
	var hits struct {
		Data []minirag.SearchResult `json:"data"`
	}
	s.ok(http.StatusOK, "POST", "/v1/bot-profiles/"+bot.ID+"/search", admin, map[string]any{
		"query": "refund not arrived", "top_k": 10, "filter": map[string]any{"and": []any{
			map[string]any{"field": "status", "eq": "open"}, map[string]any{"field": "priority", "gte": 3}}},
	}, &hits)
	require.Len(t, hits.Data, 1)
	assert.Equal(t, "t-4", hits.Data[0].DocumentKey)
	var ans minirag.Answer
	s.ok(http.StatusOK, "POST", "/v1/bot-profiles/"+bot.ID+"/chat", admin, map[string]any{
		"question": "Has the refund arrived?", "extractive": true, "filter": map[string]any{"field": "priority", "eq": 5},
	}, &ans)
	require.NotEmpty(t, ans.Citations)
	for _, c := range ans.Citations {
		assert.Equal(t, "Ticket 5", c.DocumentTitle)
	}

	// A query token writes nothing.
	var tok struct {
		Token string `json:"token"`
	}
	s.ok(http.StatusCreated, "POST", "/v1/api-tokens", admin, map[string]any{"name": "q", "scopes": []string{"query"}}, &tok)
	for _, c := range []struct{ method, path string }{
		{"POST", path}, {"POST", path + "/delete"}, {"DELETE", "/v1/documents/" + d.ID}, {"PATCH", "/v1/tenants/me"}, {"DELETE", "/v1/tenants/me"},
	} {
		status, body := s.do(c.method, c.path, tok.Token, map[string]any{})
		assert.Equal(t, http.StatusForbidden, status, "%s %s: %s", c.method, c.path, body)
	}

	// Delete by key and by ID.
	var del minirag.DeleteDocumentsResult
	s.ok(http.StatusOK, "POST", path+"/delete", admin, map[string]any{"keys": []string{"t-0", "t-9"}}, &del)
	assert.Equal(t, 1, del.Deleted)
	assert.Equal(t, []string{"t-9"}, del.NotFound)
	s.ok(http.StatusNoContent, "DELETE", "/v1/documents/"+d.ID, admin, nil, nil)
	status, _ = s.do("GET", "/v1/documents/"+d.ID, admin, nil)
	assert.Equal(t, http.StatusNotFound, status)

	// An asynchronous push runs on the worker.
	var job minirag.Job
	s.ok(http.StatusAccepted, "POST", path+"?async=true", admin, map[string]any{"documents": []map[string]any{{"key": "late", "text": "A late ticket."}}}, &job)
	assert.Equal(t, minirag.JobKindUpsertDocuments, job.Kind)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s.ok(http.StatusOK, "GET", "/v1/jobs/"+job.ID, admin, nil, &job)
		if job.Status == minirag.JobDone || time.Now().After(deadline) {
			break
		}
	}
	require.Equal(t, minirag.JobDone, job.Status, job.LastError)
	s.ok(http.StatusOK, "GET", path+"/by-key?key=late", admin, nil, &d)

	// The owner renames the tenant, then erases it: its token no longer
	// works.
	var tn minirag.Tenant
	s.ok(http.StatusOK, "PATCH", "/v1/tenants/me", admin, map[string]any{"name": "Renamed", "slug": "docs-renamed"}, &tn)
	assert.Equal(t, "Renamed", tn.Name)
	assert.Equal(t, "docs-renamed", tn.Slug)
	s.ok(http.StatusNoContent, "DELETE", "/v1/tenants/me", admin, nil, nil)
	status, _ = s.do("GET", "/v1/tenants/me", admin, nil)
	assert.Equal(t, http.StatusUnauthorized, status)
}
