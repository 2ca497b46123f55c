package restapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListRoutesPage: every list route pages with ?limit= and ?cursor=,
// answering next_cursor until the last page; a bad limit or cursor is 422
// naming the field.
func TestListRoutesPage(t *testing.T) {
	s := newStack(t, embeddedClient(t))
	admin := s.bootstrap("acme").APIToken.Token
	bot := s.createBot(admin)
	s.createBot(admin)
	s.createBot(admin)
	src := s.ingested(admin, bot.ID, "Storage", storageText)
	s.ingested(admin, bot.ID, "Alerting", alertingText)
	for range 2 {
		s.ok(http.StatusCreated, "POST", "/v1/api-tokens", admin, map[string]any{"name": "t", "scopes": []string{"query"}}, nil)
	}

	// pages follows next_cursor with limit 1 and returns the IDs seen.
	pages := func(path string) []string {
		t.Helper()
		var ids []string
		cursor := ""
		for n := 0; n < 100; n++ {
			u, _ := url.Parse(path)
			q := u.Query()
			q.Set("limit", "1")
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			u.RawQuery = q.Encode()
			var page struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
				NextCursor string `json:"next_cursor"`
			}
			s.ok(http.StatusOK, "GET", u.String(), admin, nil, &page)
			require.LessOrEqual(t, len(page.Data), 1, path)
			for _, d := range page.Data {
				ids = append(ids, d.ID)
			}
			if page.NextCursor == "" {
				return ids
			}
			cursor = page.NextCursor
		}
		t.Fatalf("%s: more than 100 pages", path)
		return nil
	}
	whole := func(path string) []string {
		t.Helper()
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		s.ok(http.StatusOK, "GET", path, admin, nil, &page)
		assert.Empty(t, page.NextCursor, "%s: one page holds everything", path)
		var ids []string
		for _, d := range page.Data {
			ids = append(ids, d.ID)
		}
		return ids
	}
	for path, n := range map[string]int{
		"/v1/bot-profiles":                     3,
		"/v1/api-tokens":                       3,
		"/v1/sources":                          2,
		"/v1/sources?bot_profile_id=" + bot.ID: 2,
		"/v1/jobs":                             2,
		"/v1/sources/" + src.ID + "/documents": 1,
	} {
		ids := pages(path)
		assert.Len(t, ids, n, path)
		assert.Equal(t, whole(path), ids, path)
	}

	for _, q := range []string{"limit=x", "limit=-1", "limit=1001", "cursor=nope"} {
		status, raw := s.do("GET", "/v1/bot-profiles?"+q, admin, nil)
		assert.Equal(t, http.StatusUnprocessableEntity, status, q)
		var body struct {
			Error struct {
				Fields []struct {
					Field string `json:"field"`
				} `json:"fields"`
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal(raw, &body), string(raw))
		require.NotEmpty(t, body.Error.Fields, string(raw))
		want := "limit"
		if q == "cursor=nope" {
			want = "cursor"
		}
		assert.Equal(t, want, body.Error.Fields[0].Field, q)
	}
	status, _ := s.do("GET", "/v1/sources/nope/documents", admin, nil)
	assert.Equal(t, http.StatusNotFound, status)
}
