package storagetest

import (
	"fmt"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// pager is one paged list under test.
type pager[T any] struct {
	what string
	id   func(T) string
	page func(p storage.Page) ([]T, string, error)
}

// pageAll pages through pg with limit and returns the IDs in order,
// checking the page contract on the way.
func pageAll[T any](f *fixture, pg pager[T], limit int) []string {
	f.t.Helper()
	var out []string
	cursor := ""
	for n := 0; ; n++ {
		if n > 1000 {
			f.t.Fatalf("%s(limit %d): more than 1000 pages", pg.what, limit)
		}
		items, next, err := pg.page(storage.Page{Limit: limit, Cursor: cursor})
		f.must(err, fmt.Sprintf("%s(limit %d, page %d)", pg.what, limit, n))
		if items == nil {
			f.t.Fatalf("%s returned a nil slice, want an empty one", pg.what)
		}
		if len(items) > limit {
			f.t.Fatalf("%s(limit %d) returned %d items", pg.what, limit, len(items))
		}
		if next != "" && len(items) < limit {
			f.t.Fatalf("%s(limit %d): a short page (%d) with a next cursor", pg.what, limit, len(items))
		}
		out = append(out, ids(items, pg.id)...)
		if next == "" {
			return out
		}
		cursor = next
	}
}

// checkPages checks that pg pages through exactly want (IDs in order) at
// every page size, and rejects bad limits and cursors.
func checkPages[T any](f *fixture, pg pager[T], want []string) {
	f.t.Helper()
	for _, limit := range []int{1, 2, 3, len(want), len(want) + 5} {
		if limit <= 0 {
			continue
		}
		f.sameIDs(fmt.Sprintf("%s pages of %d", pg.what, limit), want, pageAll(f, pg, limit))
	}
	for _, limit := range []int{0, -1} {
		_, _, err := pg.page(storage.Page{Limit: limit})
		f.wantField(err, "limit", fmt.Sprintf("%s with limit %d", pg.what, limit))
	}
	_, _, err := pg.page(storage.Page{Limit: 5, Cursor: "not a cursor"})
	f.wantField(err, "cursor", pg.what+" with a made-up cursor")
}

// testPages checks every List…Page call: the same items and order as the
// whole list, at every page size; next "" exactly at the end; bad limits,
// made-up cursors and cursors of another list rejected; tenants apart;
// items present throughout a listing interleaved with inserts listed
// exactly once.
func testPages(f *fixture) {
	s, ctx := f.s, f.ctx
	ta, tb := f.newTenant(), f.newTenant()
	for range 2 { // tenant B has some of everything, never listed for A
		u := f.newUser(tb.ID)
		f.newToken(tb.ID, u.ID)
		b := f.newBot(tb.ID)
		src := f.newSource(tb.ID, b.ID)
		f.newJob(tb.ID, src.ID, at(1))
	}

	var users []record.User
	for range 7 {
		users = append(users, f.newUser(ta.ID))
	}
	// Two users created at the same instant: ties broken by the list's
	// order, the same in every page.
	same := record.User{ID: f.id("usr"), TenantID: ta.ID, Email: f.id("same") + "@example.com", Role: record.RoleMember,
		CreatedAt: users[3].CreatedAt, UpdatedAt: users[3].CreatedAt}
	f.must(s.CreateUser(ctx, same), "CreateUser")
	var tokens []record.APIToken
	for i := range 5 {
		tokens = append(tokens, f.newToken(ta.ID, users[i].ID))
	}
	var bots []record.Bot
	for range 6 {
		bots = append(bots, f.newBot(ta.ID))
	}
	f.must(s.DeleteBot(ctx, ta.ID, bots[2].ID, f.tick()), "DeleteBot") // not listed
	var sources []record.Source
	for i := range 7 {
		sources = append(sources, f.newSource(ta.ID, bots[i%2].ID))
	}
	for i, key := range []string{"b", "a", "B", "é", "a/b", "a b", "Z", "ab", "_"} {
		f.putDoc(sources[0], key, fmt.Sprintf("doc %d", i), "text")
	}
	var jobs []record.Job
	for i := range 7 {
		jobs = append(jobs, f.newJob(ta.ID, sources[i%2].ID, at(i)))
	}
	tie := record.Job{ID: f.id("job"), TenantID: ta.ID, SourceID: sources[0].ID, Kind: "ingest", Status: record.JobQueued,
		MaxAttempts: 3, RunAt: at(1), CreatedAt: jobs[4].CreatedAt, UpdatedAt: jobs[4].CreatedAt}
	f.must(s.EnqueueJob(ctx, tie), "EnqueueJob")

	// Each paged list against its whole list.
	wholeUsers, err := s.ListUsers(ctx, ta.ID)
	f.must(err, "ListUsers")
	usersPager := pager[record.User]{"ListUsersPage", func(u record.User) string { return u.ID }, func(p storage.Page) ([]record.User, string, error) {
		return s.ListUsersPage(ctx, ta.ID, p)
	}}
	checkPages(f, usersPager, ids(wholeUsers, func(u record.User) string { return u.ID }))
	if len(wholeUsers) != 8 {
		f.t.Errorf("ListUsers: %d users, want 8", len(wholeUsers))
	}

	wholeTokens, err := s.ListAPITokens(ctx, ta.ID)
	f.must(err, "ListAPITokens")
	checkPages(f, pager[record.APIToken]{"ListAPITokensPage", func(t record.APIToken) string { return t.ID }, func(p storage.Page) ([]record.APIToken, string, error) {
		return s.ListAPITokensPage(ctx, ta.ID, p)
	}}, ids(wholeTokens, func(t record.APIToken) string { return t.ID }))

	wholeBots, err := s.ListBots(ctx, ta.ID)
	f.must(err, "ListBots")
	checkPages(f, pager[record.Bot]{"ListBotsPage", func(b record.Bot) string { return b.ID }, func(p storage.Page) ([]record.Bot, string, error) {
		return s.ListBotsPage(ctx, ta.ID, p)
	}}, ids(wholeBots, func(b record.Bot) string { return b.ID }))

	for _, botID := range []string{"", bots[1].ID, bots[3].ID} {
		whole, err := s.ListSources(ctx, ta.ID, botID)
		f.must(err, "ListSources")
		checkPages(f, pager[record.Source]{"ListSourcesPage(bot " + botID + ")", func(s record.Source) string { return s.ID }, func(p storage.Page) ([]record.Source, string, error) {
			return s.ListSourcesPage(ctx, ta.ID, botID, p)
		}}, ids(whole, func(s record.Source) string { return s.ID }))
	}

	for _, src := range sources[:2] {
		whole, err := s.ListDocuments(ctx, ta.ID, src.ID)
		f.must(err, "ListDocuments")
		checkPages(f, pager[record.Document]{"ListDocumentsPage", func(d record.Document) string { return d.ID }, func(p storage.Page) ([]record.Document, string, error) {
			return s.ListDocumentsPage(ctx, ta.ID, src.ID, p)
		}}, ids(whole, func(d record.Document) string { return d.ID }))
	}

	for _, srcID := range []string{"", sources[0].ID} {
		whole, err := s.ListJobs(ctx, ta.ID, srcID)
		f.must(err, "ListJobs")
		checkPages(f, pager[record.Job]{"ListJobsPage(source " + srcID + ")", func(j record.Job) string { return j.ID }, func(p storage.Page) ([]record.Job, string, error) {
			return s.ListJobsPage(ctx, ta.ID, srcID, p)
		}}, ids(whole, func(j record.Job) string { return j.ID }))
	}

	// A cursor of one list is not a cursor of another.
	_, next, err := s.ListUsersPage(ctx, ta.ID, storage.Page{Limit: 2})
	f.must(err, "ListUsersPage")
	_, _, err = s.ListBotsPage(ctx, ta.ID, storage.Page{Limit: 2, Cursor: next})
	f.wantField(err, "cursor", "ListBotsPage with a cursor of ListUsersPage")

	// Tenants apart: B's pages hold only B's items, with A's cursor too.
	bUsers, _, err := s.ListUsersPage(ctx, tb.ID, storage.Page{Limit: 100})
	f.must(err, "ListUsersPage of tenant B")
	for _, u := range bUsers {
		if u.TenantID != tb.ID {
			f.t.Errorf("ListUsersPage of tenant B returned a user of %s", u.TenantID)
		}
	}
	bUsers, _, err = s.ListUsersPage(ctx, tb.ID, storage.Page{Limit: 100, Cursor: next})
	f.must(err, "ListUsersPage of tenant B with tenant A's cursor")
	for _, u := range bUsers {
		if u.TenantID != tb.ID {
			f.t.Errorf("ListUsersPage of tenant B (A's cursor) returned a user of %s", u.TenantID)
		}
	}
	for _, call := range []func() error{
		func() error { _, _, err := s.ListUsersPage(ctx, "", storage.Page{Limit: 1}); return err },
		func() error { _, _, err := s.ListAPITokensPage(ctx, "", storage.Page{Limit: 1}); return err },
		func() error { _, _, err := s.ListBotsPage(ctx, "", storage.Page{Limit: 1}); return err },
		func() error { _, _, err := s.ListSourcesPage(ctx, "", "", storage.Page{Limit: 1}); return err },
		func() error {
			_, _, err := s.ListDocumentsPage(ctx, "", sources[0].ID, storage.Page{Limit: 1})
			return err
		},
		func() error { _, _, err := s.ListJobsPage(ctx, "", "", storage.Page{Limit: 1}); return err },
	} {
		f.wantErr(call(), record.ErrEmptyTenant, "a List…Page call with an empty tenant")
	}

	// Stable under inserts: users created before and after the cursor
	// while paging never make an existing user appear twice or not at all.
	seen := map[string]int{}
	cursor := ""
	for n := 0; ; n++ {
		page, next, err := s.ListUsersPage(ctx, ta.ID, storage.Page{Limit: 3, Cursor: cursor})
		f.must(err, "ListUsersPage while inserting")
		for _, u := range page {
			seen[u.ID]++
		}
		if next == "" {
			break
		}
		cursor = next
		early := record.User{ID: f.id("usr"), TenantID: ta.ID, Email: f.id("early") + "@example.com", Role: record.RoleMember,
			CreatedAt: at(-100 - n), UpdatedAt: at(-100 - n)}
		f.must(s.CreateUser(ctx, early), "CreateUser (early)")
		f.newUser(ta.ID) // late
	}
	for _, u := range wholeUsers {
		if seen[u.ID] != 1 {
			f.t.Errorf("ListUsersPage while inserting: user %s listed %d times, want once", u.ID, seen[u.ID])
		}
	}
	for id, n := range seen {
		if n > 1 {
			f.t.Errorf("ListUsersPage while inserting: user %s listed %d times", id, n)
		}
	}
}
