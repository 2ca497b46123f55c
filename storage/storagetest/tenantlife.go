package storagetest

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// testUpdateTenant: name and slug written, CreatedAt kept; the old slug
// no longer finds it; another tenant's slug is ErrConflict (nothing
// changed); unknown tenant ErrNotFound; empty ID and slug rejected.
func testUpdateTenant(f *fixture) {
	s, ctx := f.s, f.ctx
	t1, t2 := f.newTenant(), f.newTenant()

	upd := t1
	upd.Name, upd.Slug, upd.UpdatedAt = "Renamed", "renamed-"+f.tag, f.tick()
	upd.CreatedAt = at(-1000) // not written
	f.must(s.UpdateTenant(ctx, upd), "UpdateTenant")
	want := upd
	want.CreatedAt = t1.CreatedAt
	got, err := s.GetTenant(ctx, t1.ID)
	f.must(err, "GetTenant after UpdateTenant")
	f.equal("GetTenant after UpdateTenant", want, got)
	got, err = s.GetTenantBySlug(ctx, upd.Slug)
	f.must(err, "GetTenantBySlug(new slug)")
	f.equal("GetTenantBySlug(new slug)", want, got)
	_, err = s.GetTenantBySlug(ctx, t1.Slug)
	f.wantErr(err, record.ErrNotFound, "GetTenantBySlug(old slug) after UpdateTenant")

	// The same slug again (a rename only) is not a conflict.
	again := want
	again.Name, again.UpdatedAt = "Renamed again", f.tick()
	f.must(s.UpdateTenant(ctx, again), "UpdateTenant keeping the slug")
	want = again

	// The old slug is free for another tenant.
	f.must(s.CreateTenant(ctx, record.Tenant{ID: f.id("tnt"), Name: "reuses", Slug: t1.Slug, CreatedAt: f.tick(), UpdatedAt: f.tick()}),
		"CreateTenant with a slug freed by UpdateTenant")

	conflict := want
	conflict.Name, conflict.Slug, conflict.UpdatedAt = "Conflict", t2.Slug, f.tick()
	f.wantErr(s.UpdateTenant(ctx, conflict), record.ErrConflict, "UpdateTenant to another tenant's slug")
	got, err = s.GetTenant(ctx, t1.ID)
	f.must(err, "GetTenant after a conflicting UpdateTenant")
	f.equal("GetTenant after a conflicting UpdateTenant (nothing changed)", want, got)
	got, err = s.GetTenant(ctx, t2.ID)
	f.must(err, "GetTenant of the other tenant")
	f.equal("the other tenant after a conflicting UpdateTenant", t2, got)

	unknown := record.Tenant{ID: f.id("tnt"), Name: "x", Slug: f.id("slug"), UpdatedAt: f.tick()}
	f.wantErr(s.UpdateTenant(ctx, unknown), record.ErrNotFound, "UpdateTenant of an unknown tenant")
	_, err = s.GetTenant(ctx, unknown.ID)
	f.wantErr(err, record.ErrNotFound, "GetTenant after UpdateTenant of an unknown tenant (no upsert)")

	noID := want
	noID.ID = ""
	f.wantErr(s.UpdateTenant(ctx, noID), record.ErrEmptyTenant, "UpdateTenant with an empty ID")
	noSlug := want
	noSlug.Slug = ""
	f.wantField(s.UpdateTenant(ctx, noSlug), "slug", "UpdateTenant with an empty slug")
}

// fullTenant is a tenant with records of every kind.
type fullTenant struct {
	world
	bot2     record.Bot
	docs     []record.Document
	conv     record.Conversation
	msgs     []record.ConversationMessage
	feedback record.Feedback
	window   time.Time
}

// newFullTenant creates a tenant with two users, tokens, two bots with
// credentials, sources, documents with chunks, queued and running jobs, a
// conversation with messages and feedback, usage rows and a full request
// window.
func (f *fixture) newFullTenant() fullTenant {
	f.t.Helper()
	s, ctx := f.s, f.ctx
	ft := fullTenant{world: f.newWorld()}
	id := ft.tenant.ID
	u2 := f.newUser(id)
	f.newToken(id, u2.ID)
	ft.bot2 = f.newBot(id)
	f.must(s.SetBotCredentials(ctx, record.BotCredentials{TenantID: id, BotID: ft.bot2.ID, Ciphertext: []byte("gAAAAA-second")}), "SetBotCredentials")
	src2 := f.newSource(id, ft.bot2.ID)
	ft.docs = append(ft.docs, ft.doc)
	for i := range 5 {
		d, _ := f.putDoc(src2, fmt.Sprintf("page-%d", i), "Prometheus page", "prometheus alerting rules", "zebra crossing notes")
		ft.docs = append(ft.docs, d)
	}
	f.newJob(id, src2.ID, at(-10))
	f.newJob(id, ft.source.ID, at(1000))
	ft.conv = f.newConv(id, ft.bot.ID, ft.user.ID, "end-user")
	msgs, err := s.AppendMessages(ctx, id, ft.conv.ID, f.turn("what fires alerts?", "alerting rules"), f.tick())
	f.must(err, "AppendMessages")
	ft.msgs = msgs
	ft.feedback, err = s.PutFeedback(ctx, record.Feedback{ID: f.id("fbk"), TenantID: id, BotID: ft.bot.ID, ConversationID: ft.conv.ID,
		MessageID: msgs[1].ID, Rating: 1, Comment: "good", CreatedAt: f.tick(), UpdatedAt: f.tick()})
	f.must(err, "PutFeedback")
	f.must(s.AddUsage(ctx, record.Usage{TenantID: id, BotID: ft.bot.ID, Model: "gpt-x", Kind: record.UsageChat, Day: at(0),
		Requests: 3, InputTokens: 100, OutputTokens: 10}), "AddUsage")
	ft.window = time.Date(2026, 5, 1, 13, 14, 0, 0, time.UTC)
	ok, err := s.CountRequest(ctx, id, ft.window, 1)
	f.must(err, "CountRequest")
	if !ok {
		f.t.Fatal("CountRequest: the first request of a window was not counted")
	}
	return ft
}

// snapshot is everything the listing calls return for a tenant, by call.
func (f *fixture) snapshot(ft fullTenant) map[string]any {
	f.t.Helper()
	s, ctx := f.s, f.ctx
	id := ft.tenant.ID
	out := map[string]any{}
	put := func(name string, v any, err error) {
		f.t.Helper()
		if err != nil {
			out[name] = "error: " + err.Error()
			return
		}
		out[name] = v
	}
	pageErr := func(name string, v any, next string, err error) {
		f.t.Helper()
		put(name, v, err)
	}
	v1, err := s.ListUsers(ctx, id)
	put("ListUsers", v1, err)
	v1p, n, err := s.ListUsersPage(ctx, id, storage.Page{Limit: 100})
	pageErr("ListUsersPage", v1p, n, err)
	v2, err := s.ListAPITokens(ctx, id)
	put("ListAPITokens", v2, err)
	v2p, n, err := s.ListAPITokensPage(ctx, id, storage.Page{Limit: 100})
	pageErr("ListAPITokensPage", v2p, n, err)
	v3, err := s.ListBots(ctx, id)
	put("ListBots", v3, err)
	v3p, n, err := s.ListBotsPage(ctx, id, storage.Page{Limit: 100})
	pageErr("ListBotsPage", v3p, n, err)
	v4, err := s.ListBotCredentials(ctx, id)
	put("ListBotCredentials", v4, err)
	v5, err := s.ListSources(ctx, id, "")
	put("ListSources", v5, err)
	v5p, n, err := s.ListSourcesPage(ctx, id, "", storage.Page{Limit: 100})
	pageErr("ListSourcesPage", v5p, n, err)
	for _, src := range []string{ft.source.ID, ft.docs[len(ft.docs)-1].SourceID} {
		v, err := s.ListDocuments(ctx, id, src)
		put("ListDocuments("+src+")", v, err)
		vp, n, err := s.ListDocumentsPage(ctx, id, src, storage.Page{Limit: 100})
		pageErr("ListDocumentsPage("+src+")", vp, n, err)
	}
	v6, n, err := s.QueryDocumentsPage(ctx, storage.DocumentQuery{TenantID: id}, storage.Page{Limit: 100})
	pageErr("QueryDocumentsPage", v6, n, err)
	docIDs := docIDs(ft.docs)
	v7, err := s.GetDocuments(ctx, id, docIDs)
	put("GetDocuments", v7, err)
	var chunkIDs []string
	for _, d := range ft.docs {
		v, err := s.ListChunks(ctx, id, d.ID)
		put("ListChunks("+d.ID+")", v, err)
		chunkIDs = append(chunkIDs, ids(v, func(c record.Chunk) string { return c.ID })...)
	}
	chunkIDs = append(chunkIDs, ids(ft.chunks, func(c record.Chunk) string { return c.ID })...)
	v8, err := s.GetChunks(ctx, id, chunkIDs)
	put("GetChunks", v8, err)
	v9, err := s.ScanChunks(ctx, id, "", 1000)
	put("ScanChunks", v9, err)
	for _, text := range []string{"prometheus alerting", "zebra", "recording rules"} {
		// Chunk IDs only: scores depend on the whole corpus.
		v, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: id, Text: text, Limit: 100})
		found := matchIDs(v)
		sort.Strings(found)
		put("SearchLexical("+text+")", found, err)
	}
	v10, err := s.ListJobs(ctx, id, "")
	put("ListJobs", v10, err)
	v10p, n, err := s.ListJobsPage(ctx, id, "", storage.Page{Limit: 100})
	pageErr("ListJobsPage", v10p, n, err)
	v11, err := s.ListConversations(ctx, storage.ConversationQuery{TenantID: id})
	put("ListConversations", v11, err)
	v12, err := s.ListFeedback(ctx, storage.FeedbackQuery{TenantID: id})
	put("ListFeedback", v12, err)
	v13, err := s.ListUsage(ctx, storage.UsageQuery{TenantID: id})
	put("ListUsage", v13, err)
	docs, chunks, err := s.CountContent(ctx, id)
	put("CountContent", [2]int{docs, chunks}, err)
	return out
}

// testDeleteTenant: a tenant with records of every kind is erased: every
// get is ErrNotFound, every list, page, scan, count and search is empty,
// its slug, emails, token hashes and IDs are free again (creating them
// anew works, and finds nothing of the old ones), its request counters
// start over; a second tenant with the same content is untouched; a second
// DeleteTenant is ErrNotFound; an empty ID is rejected.
func testDeleteTenant(f *fixture) {
	s, ctx := f.s, f.ctx
	a, b := f.newFullTenant(), f.newFullTenant()
	beforeB := f.snapshot(b)
	beforeA := f.snapshot(a)
	for name, v := range beforeA {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.Len() == 0 {
			f.t.Errorf("the tenant to delete: %s is empty before DeleteTenant (the check would prove nothing)", name)
		}
	}

	f.must(s.DeleteTenant(ctx, a.tenant.ID), "DeleteTenant")

	afterA := f.snapshot(a)
	for name, v := range afterA {
		switch x := v.(type) {
		case string:
			f.t.Errorf("after DeleteTenant, %s: %s, want nothing", name, x)
		case [2]int:
			if x != [2]int{} {
				f.t.Errorf("after DeleteTenant, CountContent: %d documents, %d chunks, want none", x[0], x[1])
			}
		default:
			if rv := reflect.ValueOf(v); rv.Len() != 0 {
				f.t.Errorf("after DeleteTenant, %s returned %d items, want none: %v", name, rv.Len(), v)
			}
		}
	}
	id := a.tenant.ID
	for what, err := range map[string]error{
		"GetTenant":         errOf(s.GetTenant(ctx, id)),
		"GetTenantBySlug":   errOf(s.GetTenantBySlug(ctx, a.tenant.Slug)),
		"GetUser":           errOf(s.GetUser(ctx, id, a.user.ID)),
		"GetUserByEmail":    errOf(s.GetUserByEmail(ctx, id, a.user.Email)),
		"APITokenByHash":    errOf(s.APITokenByHash(ctx, a.token.Hash)),
		"GetAPIToken":       errOf(s.GetAPIToken(ctx, id, a.token.ID)),
		"GetBot":            errOf(s.GetBot(ctx, id, a.bot.ID)),
		"GetBotCredentials": errOf(s.GetBotCredentials(ctx, id, a.bot.ID)),
		"GetSource":         errOf(s.GetSource(ctx, id, a.source.ID)),
		"GetDocument":       errOf(s.GetDocument(ctx, id, a.doc.ID)),
		"GetDocumentByKey":  errOf(s.GetDocumentByKey(ctx, id, a.source.ID, a.doc.Key)),
		"GetJob":            errOf(s.GetJob(ctx, id, a.job.ID)),
		"GetConversation":   errOf(s.GetConversation(ctx, id, a.conv.ID)),
		"ListMessages":      errOf(s.ListMessages(ctx, id, a.conv.ID, 0)),
		"GetMessage":        errOf(s.GetMessage(ctx, id, a.msgs[0].ID)),
	} {
		f.wantErr(err, record.ErrNotFound, what+" after DeleteTenant")
	}
	tenants, err := s.ListTenants(ctx)
	f.must(err, "ListTenants")
	for _, t := range tenants {
		if t.ID == id {
			f.t.Error("ListTenants lists a deleted tenant")
		}
	}
	f.equal("the other tenant after DeleteTenant", beforeB, f.snapshot(b))
	got, err := s.GetTenant(ctx, b.tenant.ID)
	f.must(err, "GetTenant of the other tenant")
	f.equal("the other tenant's record", b.tenant, got)

	f.wantErr(s.DeleteTenant(ctx, id), record.ErrNotFound, "DeleteTenant of a deleted tenant")
	f.wantErr(s.DeleteTenant(ctx, f.id("tnt")), record.ErrNotFound, "DeleteTenant of an unknown tenant")
	f.wantErr(s.DeleteTenant(ctx, ""), record.ErrEmptyTenant, "DeleteTenant with an empty ID")

	// No job of the deleted tenant is handed to a worker.
	for n := 0; ; n++ {
		j, err := s.ClaimJob(ctx, "worker", at(100000), time.Minute)
		if errors.Is(err, record.ErrNotFound) {
			break
		}
		f.must(err, "ClaimJob")
		if j.TenantID == id {
			f.t.Errorf("ClaimJob handed out job %s of a deleted tenant", j.ID)
		}
		if n > 100 {
			f.t.Fatal("ClaimJob: more than 100 jobs")
		}
	}

	// The same IDs, slug, email and token hash can be created anew, and
	// the new tenant starts with nothing (its request window included).
	f.must(s.CreateTenant(ctx, a.tenant), "CreateTenant reusing the deleted tenant's ID and slug")
	f.must(s.CreateUser(ctx, a.user), "CreateUser reusing the deleted user")
	f.must(s.CreateAPIToken(ctx, a.token), "CreateAPIToken reusing the deleted token's hash")
	f.must(s.CreateBot(ctx, a.bot), "CreateBot reusing the deleted bot's ID")
	f.must(s.CreateSource(ctx, a.source), "CreateSource reusing the deleted source's ID")
	d := a.doc
	d.Metadata = nil
	_, err = s.PutDocument(ctx, d, a.chunks)
	f.must(err, "PutDocument reusing the deleted document's and chunks' IDs")
	ok, err := s.CountRequest(ctx, id, a.window, 1)
	f.must(err, "CountRequest")
	if !ok {
		f.t.Error("CountRequest in the window a deleted tenant had filled: not counted (the counter survived DeleteTenant)")
	}
	usage, err := s.ListUsage(ctx, storage.UsageQuery{TenantID: id})
	f.must(err, "ListUsage")
	if len(usage) != 0 {
		f.t.Errorf("ListUsage of a re-created tenant: %d rows survived DeleteTenant", len(usage))
	}
	conv, err := s.ListConversations(ctx, storage.ConversationQuery{TenantID: id})
	f.must(err, "ListConversations")
	if len(conv) != 0 {
		f.t.Errorf("ListConversations of a re-created tenant: %d survived DeleteTenant", len(conv))
	}
	docs, chunks, err := s.CountContent(ctx, id)
	f.must(err, "CountContent")
	if docs != 1 || chunks != len(a.chunks) {
		f.t.Errorf("CountContent of a re-created tenant with one document: %d documents, %d chunks; want 1, %d", docs, chunks, len(a.chunks))
	}
	m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: id, Text: "zebra", Limit: 100})
	f.must(err, "SearchLexical")
	if len(m) != 0 {
		f.t.Errorf("SearchLexical of a re-created tenant finds %d chunks of deleted documents", len(m))
	}
}
