package minirag

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
)

// collect pages through list with limit and returns the IDs in order.
func collect[T any](t *testing.T, limit int, id func(T) string, list func(p Page) (PageOf[T], error)) []string {
	t.Helper()
	var out []string
	cursor := ""
	for n := 0; n < 1000; n++ {
		page, err := list(Page{Limit: limit, Cursor: cursor})
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Items), limit)
		for _, it := range page.Items {
			out = append(out, id(it))
		}
		if page.NextCursor == "" {
			return out
		}
		require.Len(t, page.Items, limit, "a short page with a next cursor")
		cursor = page.NextCursor
	}
	t.Fatal("more than 1000 pages")
	return nil
}

func idsOf[T any](items []T, id func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func TestListPages(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	h := e.scoped(t, b.Token.Plaintext)
	ctx := e.ctx

	var bots []Bot
	for i := range 5 {
		e.clock.Advance(1000)
		bot, err := h.CreateBot(ctx, BotParams{Name: fmt.Sprintf("bot %d", i)})
		require.NoError(t, err)
		bots = append(bots, bot)
		_, err = h.CreateUser(ctx, CreateUserParams{Email: fmt.Sprintf("u%d@acme.example", i)})
		require.NoError(t, err)
		_, err = h.CreateAPIToken(ctx, CreateAPITokenParams{Name: fmt.Sprintf("t%d", i), Scopes: []Scope{ScopeQuery}})
		require.NoError(t, err)
	}
	var srcs []Source
	for i := range 5 {
		e.clock.Advance(1000)
		src, err := h.CreateSource(ctx, SourceParams{BotID: bots[i%2].ID, Name: fmt.Sprintf("s%d", i), Type: SourceText,
			Config: loader.TextConfig{Content: "Hello.", Title: "T"}})
		require.NoError(t, err)
		srcs = append(srcs, src)
		_, err = h.EnqueueIngest(ctx, srcs[0].ID)
		require.NoError(t, err)
	}
	for i, key := range []string{"b", "a", "Z", "é", "a/b"} {
		_, err := e.c.store.PutDocument(ctx, record.Document{ID: fmt.Sprintf("doc-%d", i), TenantID: b.Tenant.ID, SourceID: srcs[0].ID,
			Key: key, Title: key, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}, nil)
		require.NoError(t, err)
	}

	// Every paged list gives its whole list, in order, at every page size.
	for _, limit := range []int{1, 2, 4, 100} {
		users, err := h.ListUsers(ctx)
		require.NoError(t, err)
		assert.Equal(t, idsOf(users, func(u User) string { return u.ID }),
			collect(t, limit, func(u User) string { return u.ID }, func(p Page) (PageOf[User], error) { return h.ListUsersPage(ctx, p) }))
		toks, err := h.ListAPITokens(ctx)
		require.NoError(t, err)
		assert.Equal(t, idsOf(toks, func(t APIToken) string { return t.ID }),
			collect(t, limit, func(t APIToken) string { return t.ID }, func(p Page) (PageOf[APIToken], error) { return h.ListAPITokensPage(ctx, p) }))
		all, err := h.ListBots(ctx)
		require.NoError(t, err)
		assert.Equal(t, idsOf(all, func(b Bot) string { return b.ID }),
			collect(t, limit, func(b Bot) string { return b.ID }, func(p Page) (PageOf[Bot], error) { return h.ListBotsPage(ctx, p) }))
		for _, botID := range []string{"", bots[1].ID} {
			ss, err := h.ListSources(ctx, botID)
			require.NoError(t, err)
			assert.Equal(t, idsOf(ss, func(s Source) string { return s.ID }),
				collect(t, limit, func(s Source) string { return s.ID }, func(p Page) (PageOf[Source], error) { return h.ListSourcesPage(ctx, botID, p) }))
		}
		js, err := h.ListJobs(ctx, "")
		require.NoError(t, err)
		assert.Equal(t, idsOf(js, func(j Job) string { return j.ID }),
			collect(t, limit, func(j Job) string { return j.ID }, func(p Page) (PageOf[Job], error) { return h.ListJobsPage(ctx, "", p) }))
		assert.Equal(t, []string{"doc-2", "doc-1", "doc-4", "doc-0", "doc-3"}, // Z a a/b b é, byte-wise
			collect(t, limit, func(d Document) string { return d.ID }, func(p Page) (PageOf[Document], error) { return h.ListDocumentsPage(ctx, srcs[0].ID, p) }))
	}
	page, err := h.ListAPITokensPage(ctx, Page{})
	require.NoError(t, err)
	assert.Len(t, page.Items, 6, "Limit 0 is DefaultPageLimit")
	for _, tok := range page.Items {
		assert.Nil(t, tok.Hash, "no token hash in a listing")
	}

	// Bad input names the field.
	for _, limit := range []int{-1, MaxPageLimit + 1} {
		_, err := h.ListBotsPage(ctx, Page{Limit: limit})
		assert.Equal(t, []string{"limit"}, fieldsOf(t, err))
	}
	_, err = h.ListBotsPage(ctx, Page{Cursor: "nope"})
	assert.Equal(t, []string{"cursor"}, fieldsOf(t, err))
	users, err := h.ListUsersPage(ctx, Page{Limit: 1})
	require.NoError(t, err)
	_, err = h.ListBotsPage(ctx, Page{Cursor: users.NextCursor})
	assert.Equal(t, []string{"cursor"}, fieldsOf(t, err), "a cursor of another list")

	// Another tenant sees none of it; a query-only token may not list.
	other := e.scoped(t, e.bootstrap(t, "other").Token.Plaintext)
	_, err = other.ListDocumentsPage(ctx, srcs[0].ID, Page{})
	assert.ErrorIs(t, err, ErrNotFound)
	ob, err := other.ListBotsPage(ctx, Page{})
	require.NoError(t, err)
	assert.Empty(t, ob.Items)
	q, err := h.CreateAPIToken(ctx, CreateAPITokenParams{Name: "q", Scopes: []Scope{ScopeQuery}})
	require.NoError(t, err)
	_, err = e.scoped(t, q.Plaintext).ListBotsPage(ctx, Page{})
	assert.ErrorIs(t, err, ErrForbidden)
}
