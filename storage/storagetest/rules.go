package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

var errRollback = errors.New("storagetest: roll back please")

func testInTx(f *fixture) {
	s, ctx := f.s, f.ctx

	// Commit on nil: writes are visible inside and after.
	ten := record.Tenant{ID: f.id("tnt"), Name: "tx", Slug: f.id("tx"), CreatedAt: f.tick(), UpdatedAt: f.tick()}
	bot := record.Bot{ID: f.id("bot"), TenantID: ten.ID, Name: "tx bot", CreatedAt: f.tick(), UpdatedAt: f.tick()}
	err := s.InTx(ctx, func(tx storage.Storage) error {
		if err := tx.CreateTenant(ctx, ten); err != nil {
			return err
		}
		if err := tx.CreateBot(ctx, bot); err != nil {
			return err
		}
		got, err := tx.GetBot(ctx, ten.ID, bot.ID)
		if err != nil {
			return fmt.Errorf("GetBot inside the transaction: %w", err)
		}
		f.equal("GetBot inside the transaction", bot, got)
		return nil
	})
	f.must(err, "InTx")
	got, err := s.GetBot(ctx, ten.ID, bot.ID)
	f.must(err, "GetBot after a committed InTx")
	f.equal("GetBot after a committed InTx", bot, got)

	// Roll back on error: a bootstrap (tenant, owner, first token) leaves
	// nothing behind, and InTx returns fn's error.
	boot := func(fail error) (record.Tenant, record.User, record.APIToken, error) {
		t := record.Tenant{ID: f.id("tnt"), Name: "boot", Slug: f.id("boot"), CreatedAt: f.tick(), UpdatedAt: f.tick()}
		u := record.User{ID: f.id("usr"), TenantID: t.ID, Email: "owner@example.com", Name: "Owner", Role: record.RoleOwner,
			CreatedAt: f.tick(), UpdatedAt: f.tick()}
		k := record.APIToken{ID: f.id("tok"), TenantID: t.ID, UserID: u.ID, Name: "first", Prefix: "mrag_boot",
			Hash: []byte(f.id("hash")), Scopes: []record.Scope{record.ScopeAdmin}, CreatedAt: f.tick()}
		err := s.InTx(ctx, func(tx storage.Storage) error {
			if err := tx.CreateTenant(ctx, t); err != nil {
				return err
			}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := tx.CreateAPIToken(ctx, k); err != nil {
				return err
			}
			return fail
		})
		return t, u, k, err
	}
	t1, _, k1, err := boot(errRollback)
	f.wantErr(err, errRollback, "InTx whose fn fails")
	_, err = s.GetTenant(ctx, t1.ID)
	f.wantErr(err, record.ErrNotFound, "GetTenant after a rolled back bootstrap")
	_, err = s.APITokenByHash(ctx, k1.Hash)
	f.wantErr(err, record.ErrNotFound, "APITokenByHash after a rolled back bootstrap")
	users, err := s.ListUsers(ctx, t1.ID)
	f.must(err, "ListUsers")
	f.equal("ListUsers after a rolled back bootstrap", []record.User{}, users)

	t2, u2, k2, err := boot(nil)
	f.must(err, "InTx bootstrap")
	gotT, err := s.GetTenant(ctx, t2.ID)
	f.must(err, "GetTenant after bootstrap")
	f.equal("GetTenant after bootstrap", t2, gotT)
	gotU, err := s.GetUser(ctx, t2.ID, u2.ID)
	f.must(err, "GetUser after bootstrap")
	f.equal("GetUser after bootstrap", u2, gotU)
	gotK, err := s.APITokenByHash(ctx, k2.Hash)
	f.must(err, "APITokenByHash after bootstrap")
	f.equal("APITokenByHash after bootstrap", k2, gotK)

	// A failing write inside fn (a duplicate slug) rolls back the earlier
	// writes when fn returns its error.
	t3 := record.Tenant{ID: f.id("tnt"), Name: "dup", Slug: f.id("fresh"), CreatedAt: f.tick(), UpdatedAt: f.tick()}
	err = s.InTx(ctx, func(tx storage.Storage) error {
		if err := tx.CreateTenant(ctx, t3); err != nil {
			return err
		}
		return tx.CreateTenant(ctx, record.Tenant{ID: f.id("tnt"), Name: "dup", Slug: t2.Slug, CreatedAt: f.tick(), UpdatedAt: f.tick()})
	})
	f.wantErr(err, record.ErrConflict, "InTx with a duplicate slug inside")
	_, err = s.GetTenant(ctx, t3.ID)
	f.wantErr(err, record.ErrNotFound, "GetTenant written before a failed write in a rolled back InTx")

	// InTx on a tx runs in the same transaction: an outer rollback undoes
	// what the inner call wrote.
	t4 := record.Tenant{ID: f.id("tnt"), Name: "nested", Slug: f.id("nested"), CreatedAt: f.tick(), UpdatedAt: f.tick()}
	err = s.InTx(ctx, func(tx storage.Storage) error {
		if err := tx.InTx(ctx, func(inner storage.Storage) error { return inner.CreateTenant(ctx, t4) }); err != nil {
			return err
		}
		if _, err := tx.GetTenant(ctx, t4.ID); err != nil {
			return fmt.Errorf("GetTenant in the outer transaction after the inner InTx: %w", err)
		}
		return errRollback
	})
	f.wantErr(err, errRollback, "nested InTx")
	_, err = s.GetTenant(ctx, t4.ID)
	f.wantErr(err, record.ErrNotFound, "GetTenant written by a nested InTx whose outer transaction rolled back")
	t5 := record.Tenant{ID: f.id("tnt"), Name: "nested ok", Slug: f.id("nested"), CreatedAt: f.tick(), UpdatedAt: f.tick()}
	err = s.InTx(ctx, func(tx storage.Storage) error {
		return tx.InTx(ctx, func(inner storage.Storage) error { return inner.CreateTenant(ctx, t5) })
	})
	f.must(err, "nested InTx")
	_, err = s.GetTenant(ctx, t5.ID)
	f.must(err, "GetTenant written by a committed nested InTx")
}

// testInTxPanic checks that a panic in an InTx callback rolls the
// transaction back and reaches the caller. An adapter that leaks the
// transaction instead fails here, and may then hang in its own cleanup
// (dropping a schema waits for the leaked transaction's locks); the subtest's
// name then shows in go test's timeout report.
func testInTxPanic(f *fixture) {
	s, ctx := f.s, f.ctx
	t1 := record.Tenant{ID: f.id("tnt"), Name: "panic", Slug: f.id("panic"), CreatedAt: f.tick(), UpdatedAt: f.tick()}
	func() {
		defer func() {
			if r := recover(); r == nil {
				f.t.Error("InTx whose fn panics: the panic did not reach the caller")
			}
		}()
		_ = s.InTx(ctx, func(tx storage.Storage) error {
			if err := tx.CreateTenant(ctx, t1); err != nil {
				return err
			}
			panic("storagetest: panic inside InTx")
		})
	}()
	_, err := s.GetTenant(ctx, t1.ID)
	f.wantErr(err, record.ErrNotFound, "GetTenant of a tenant written by an InTx whose fn panicked")

	// Writing the same row again succeeds at once when the transaction was
	// rolled back; a transaction left open makes it wait.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = s.CreateTenant(wctx, t1)
	if wctx.Err() != nil {
		f.t.Fatalf("InTx whose fn panicked left its transaction open: writing the same tenant again waited %v (%v)", 10*time.Second, err)
	}
	f.must(err, "CreateTenant of the tenant an InTx whose fn panicked had written")
}

func testParallelWriters(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	const writers, each = 8, 4
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("%s-w%d-%d", f.tag, w, i)
				ts := at(w*each + i)
				u := record.User{ID: "usr-" + id, TenantID: ten.ID, Email: id + "@example.com", Role: record.RoleMember, CreatedAt: ts, UpdatedAt: ts}
				if err := s.CreateUser(ctx, u); err != nil {
					f.t.Errorf("parallel CreateUser %s: %v", u.ID, err)
				}
				b := record.Bot{ID: "bot-" + id, TenantID: ten.ID, Name: id, CreatedAt: ts, UpdatedAt: ts}
				if err := s.CreateBot(ctx, b); err != nil {
					f.t.Errorf("parallel CreateBot %s: %v", b.ID, err)
					continue
				}
				src := record.Source{ID: "src-" + id, TenantID: ten.ID, BotID: b.ID, Name: id, Type: record.SourceText,
					Config: json.RawMessage(`{"text":"x"}`), Status: record.StatusPending, CreatedAt: ts, UpdatedAt: ts}
				if err := s.CreateSource(ctx, src); err != nil {
					f.t.Errorf("parallel CreateSource %s: %v", src.ID, err)
				}
				if err := s.SetSourceState(ctx, ten.ID, src.ID, record.SourceState{Status: record.StatusReady, UpdatedAt: ts}); err != nil {
					f.t.Errorf("parallel SetSourceState %s: %v", src.ID, err)
				}
			}
		}()
	}
	wg.Wait()
	users, err := s.ListUsers(ctx, ten.ID)
	f.must(err, "ListUsers")
	bots, err := s.ListBots(ctx, ten.ID)
	f.must(err, "ListBots")
	srcs, err := s.ListSources(ctx, ten.ID, "")
	f.must(err, "ListSources")
	if len(users) != writers*each || len(bots) != writers*each || len(srcs) != writers*each {
		f.t.Errorf("after parallel writes: %d users, %d bots, %d sources; want %d of each", len(users), len(bots), len(srcs), writers*each)
	}
	for _, src := range srcs {
		if src.Status != record.StatusReady {
			f.t.Errorf("source %s: status %s, want ready", src.ID, src.Status)
		}
	}
}

func testTenantIsolation(f *fixture) {
	s, ctx := f.s, f.ctx
	a, b := f.newWorld(), f.newWorld()
	B := b.tenant.ID
	nf := func(err error, what string) {
		f.t.Helper()
		f.wantErr(err, record.ErrNotFound, "tenant B: "+what+" of tenant A's object")
	}

	// Reads.
	_, err := s.GetUser(ctx, B, a.user.ID)
	nf(err, "GetUser")
	_, err = s.GetUserByEmail(ctx, B, a.user.Email)
	nf(err, "GetUserByEmail")
	_, err = s.GetAPIToken(ctx, B, a.token.ID)
	nf(err, "GetAPIToken")
	_, err = s.GetBot(ctx, B, a.bot.ID)
	nf(err, "GetBot")
	_, err = s.GetBotCredentials(ctx, B, a.bot.ID)
	nf(err, "GetBotCredentials")
	_, err = s.GetSource(ctx, B, a.source.ID)
	nf(err, "GetSource")
	_, err = s.GetDocument(ctx, B, a.doc.ID)
	nf(err, "GetDocument")
	_, err = s.GetJob(ctx, B, a.job.ID)
	nf(err, "GetJob")

	// Writes.
	u := a.user
	u.TenantID, u.Name = B, "hijacked"
	nf(s.UpdateUser(ctx, u), "UpdateUser")
	nf(s.RevokeAPIToken(ctx, B, a.token.ID, at(1)), "RevokeAPIToken")
	nf(s.TouchAPIToken(ctx, B, a.token.ID, at(1)), "TouchAPIToken")
	bot := a.bot
	bot.TenantID, bot.Name = B, "hijacked"
	nf(s.UpdateBot(ctx, bot), "UpdateBot")
	nf(s.DeleteBot(ctx, B, a.bot.ID, at(1)), "DeleteBot")
	nf(s.SetBotCredentials(ctx, record.BotCredentials{TenantID: B, BotID: a.bot.ID, Ciphertext: []byte("evil")}), "SetBotCredentials")
	nf(s.SetBotCredentials(ctx, record.BotCredentials{TenantID: B, BotID: a.bot.ID}), "SetBotCredentials(nil)")
	src := a.source
	src.TenantID, src.BotID, src.Name = B, b.bot.ID, "hijacked"
	nf(s.UpdateSource(ctx, src), "UpdateSource")
	nf(s.SetSourceState(ctx, B, a.source.ID, record.SourceState{Status: record.StatusError, Error: "evil", UpdatedAt: at(1)}), "SetSourceState")
	nf(s.DeleteSource(ctx, B, a.source.ID), "DeleteSource")
	nf(s.DeleteDocument(ctx, B, a.doc.ID), "DeleteDocument")

	// References across tenants.
	foreign := record.Source{ID: f.id("src"), TenantID: B, BotID: a.bot.ID, Name: "x", Type: record.SourceText,
		Status: record.StatusPending, CreatedAt: f.tick(), UpdatedAt: f.tick()}
	f.wantField(s.CreateSource(ctx, foreign), "bot_id", "tenant B: CreateSource with tenant A's bot")
	d := a.doc
	d.TenantID, d.Title = B, "hijacked"
	if _, err := s.PutDocument(ctx, d, []record.Chunk{{ID: f.id("chk"), Text: "evil"}}); err == nil {
		f.t.Error("tenant B: PutDocument into tenant A's source: got no error")
	}
	if err := s.EnqueueJob(ctx, record.Job{ID: f.id("job"), TenantID: B, SourceID: a.source.ID, Kind: "ingest",
		Status: record.JobQueued, RunAt: at(0), CreatedAt: f.tick(), UpdatedAt: f.tick()}); err == nil {
		f.t.Error("tenant B: EnqueueJob for tenant A's source: got no error")
	}

	// Lists and batch reads of B never include A's objects.
	onlyB := func(what string, want []string, got []string) {
		f.t.Helper()
		f.sameIDs("tenant B: "+what, want, got)
	}
	users, err := s.ListUsers(ctx, B)
	f.must(err, "ListUsers")
	onlyB("ListUsers", []string{b.user.ID}, ids(users, func(u record.User) string { return u.ID }))
	toks, err := s.ListAPITokens(ctx, B)
	f.must(err, "ListAPITokens")
	onlyB("ListAPITokens", []string{b.token.ID}, ids(toks, func(t record.APIToken) string { return t.ID }))
	bots, err := s.ListBots(ctx, B)
	f.must(err, "ListBots")
	onlyB("ListBots", []string{b.bot.ID}, ids(bots, func(b record.Bot) string { return b.ID }))
	creds, err := s.ListBotCredentials(ctx, B)
	f.must(err, "ListBotCredentials")
	onlyB("ListBotCredentials", []string{b.bot.ID}, ids(creds, func(c record.BotCredentials) string { return c.BotID }))
	srcs, err := s.ListSources(ctx, B, "")
	f.must(err, "ListSources")
	onlyB("ListSources", []string{b.source.ID}, ids(srcs, func(s record.Source) string { return s.ID }))
	srcs, err = s.ListSources(ctx, B, a.bot.ID)
	f.must(err, "ListSources")
	onlyB("ListSources of tenant A's bot", nil, ids(srcs, func(s record.Source) string { return s.ID }))
	docs, err := s.ListDocuments(ctx, B, a.source.ID)
	f.must(err, "ListDocuments")
	onlyB("ListDocuments of tenant A's source", nil, ids(docs, func(d record.Document) string { return d.ID }))
	docs, err = s.GetDocuments(ctx, B, []string{a.doc.ID, b.doc.ID})
	f.must(err, "GetDocuments")
	onlyB("GetDocuments", []string{b.doc.ID}, ids(docs, func(d record.Document) string { return d.ID }))
	chunks, err := s.ListChunks(ctx, B, a.doc.ID)
	f.must(err, "ListChunks")
	onlyB("ListChunks of tenant A's document", nil, ids(chunks, func(c record.Chunk) string { return c.ID }))
	chunks, err = s.GetChunks(ctx, B, []string{a.chunks[0].ID, b.chunks[0].ID, a.chunks[1].ID})
	f.must(err, "GetChunks")
	onlyB("GetChunks", []string{b.chunks[0].ID}, ids(chunks, func(c record.Chunk) string { return c.ID }))
	jobs, err := s.ListJobs(ctx, B, "")
	f.must(err, "ListJobs")
	onlyB("ListJobs", []string{b.job.ID}, ids(jobs, func(j record.Job) string { return j.ID }))
	jobs, err = s.ListJobs(ctx, B, a.source.ID)
	f.must(err, "ListJobs")
	onlyB("ListJobs of tenant A's source", nil, ids(jobs, func(j record.Job) string { return j.ID }))
	m, err := s.SearchLexical(ctx, storage.LexicalQuery{TenantID: B, Text: "alerting rules recording", Limit: 50})
	f.must(err, "SearchLexical")
	for _, id := range matchIDs(m) {
		if id != b.chunks[0].ID && id != b.chunks[1].ID {
			f.t.Errorf("tenant B: SearchLexical found chunk %s, not one of tenant B's", id)
		}
	}

	// Tenant A's objects are untouched.
	gotU, err := s.GetUser(ctx, a.tenant.ID, a.user.ID)
	f.must(err, "GetUser")
	f.equal("tenant A's user after tenant B's attempts", a.user, gotU)
	gotK, err := s.GetAPIToken(ctx, a.tenant.ID, a.token.ID)
	f.must(err, "GetAPIToken")
	f.equal("tenant A's token after tenant B's attempts", a.token, gotK)
	gotB, err := s.GetBot(ctx, a.tenant.ID, a.bot.ID)
	f.must(err, "GetBot")
	f.equal("tenant A's bot after tenant B's attempts", a.bot, gotB)
	gotC, err := s.GetBotCredentials(ctx, a.tenant.ID, a.bot.ID)
	f.must(err, "GetBotCredentials")
	f.equal("tenant A's credentials after tenant B's attempts",
		record.BotCredentials{TenantID: a.tenant.ID, BotID: a.bot.ID, Ciphertext: []byte("gAAAAA-ciphertext")}, gotC)
	gotS, err := s.GetSource(ctx, a.tenant.ID, a.source.ID)
	f.must(err, "GetSource")
	f.equal("tenant A's source after tenant B's attempts", a.source, gotS)
	gotD, err := s.GetDocument(ctx, a.tenant.ID, a.doc.ID)
	f.must(err, "GetDocument")
	f.equal("tenant A's document after tenant B's attempts", a.doc, gotD)
	gotCh, err := s.ListChunks(ctx, a.tenant.ID, a.doc.ID)
	f.must(err, "ListChunks")
	f.equal("tenant A's chunks after tenant B's attempts", a.chunks, gotCh)
	gotJ, err := s.GetJob(ctx, a.tenant.ID, a.job.ID)
	f.must(err, "GetJob")
	f.equal("tenant A's job after tenant B's attempts", a.job, gotJ)
}

// tenantCalls lists a call of every tenant-scoped method with tenant as
// its tenant ID and w's objects as the other arguments.
func tenantCalls(w world, tenant string) []struct {
	name string
	call func(ctx context.Context, s storage.Storage) error
} {
	type c = struct {
		name string
		call func(ctx context.Context, s storage.Storage) error
	}
	e := func(_ any, err error) error { return err }
	u := w.user
	u.TenantID = tenant
	k := w.token
	k.TenantID, k.ID, k.Hash = tenant, k.ID+"-2", append([]byte("2-"), k.Hash...)
	b := w.bot
	b.TenantID = tenant
	src := w.source
	src.TenantID = tenant
	d := w.doc
	d.TenantID = tenant
	j := w.job
	j.TenantID, j.ID = tenant, j.ID+"-2"
	return []c{
		{"GetTenant", func(ctx context.Context, s storage.Storage) error { return e(s.GetTenant(ctx, tenant)) }},
		{"CreateUser", func(ctx context.Context, s storage.Storage) error {
			u := u
			u.ID, u.Email = u.ID+"-2", "2-"+u.Email
			return s.CreateUser(ctx, u)
		}},
		{"GetUser", func(ctx context.Context, s storage.Storage) error { return e(s.GetUser(ctx, tenant, w.user.ID)) }},
		{"GetUserByEmail", func(ctx context.Context, s storage.Storage) error {
			return e(s.GetUserByEmail(ctx, tenant, w.user.Email))
		}},
		{"ListUsers", func(ctx context.Context, s storage.Storage) error { return e(s.ListUsers(ctx, tenant)) }},
		{"UpdateUser", func(ctx context.Context, s storage.Storage) error { return s.UpdateUser(ctx, u) }},
		{"CreateAPIToken", func(ctx context.Context, s storage.Storage) error { return s.CreateAPIToken(ctx, k) }},
		{"GetAPIToken", func(ctx context.Context, s storage.Storage) error { return e(s.GetAPIToken(ctx, tenant, w.token.ID)) }},
		{"ListAPITokens", func(ctx context.Context, s storage.Storage) error { return e(s.ListAPITokens(ctx, tenant)) }},
		{"RevokeAPIToken", func(ctx context.Context, s storage.Storage) error {
			return s.RevokeAPIToken(ctx, tenant, w.token.ID, at(1))
		}},
		{"TouchAPIToken", func(ctx context.Context, s storage.Storage) error {
			return s.TouchAPIToken(ctx, tenant, w.token.ID, at(1))
		}},
		{"CreateBot", func(ctx context.Context, s storage.Storage) error {
			b := b
			b.ID += "-2"
			return s.CreateBot(ctx, b)
		}},
		{"GetBot", func(ctx context.Context, s storage.Storage) error { return e(s.GetBot(ctx, tenant, w.bot.ID)) }},
		{"ListBots", func(ctx context.Context, s storage.Storage) error { return e(s.ListBots(ctx, tenant)) }},
		{"UpdateBot", func(ctx context.Context, s storage.Storage) error { return s.UpdateBot(ctx, b) }},
		{"SetBotCredentials", func(ctx context.Context, s storage.Storage) error {
			return s.SetBotCredentials(ctx, record.BotCredentials{TenantID: tenant, BotID: w.bot.ID, Ciphertext: []byte("x")})
		}},
		{"GetBotCredentials", func(ctx context.Context, s storage.Storage) error {
			return e(s.GetBotCredentials(ctx, tenant, w.bot.ID))
		}},
		{"ListBotCredentials", func(ctx context.Context, s storage.Storage) error { return e(s.ListBotCredentials(ctx, tenant)) }},
		{"CreateSource", func(ctx context.Context, s storage.Storage) error {
			src := src
			src.ID += "-2"
			return s.CreateSource(ctx, src)
		}},
		{"GetSource", func(ctx context.Context, s storage.Storage) error { return e(s.GetSource(ctx, tenant, w.source.ID)) }},
		{"ListSources", func(ctx context.Context, s storage.Storage) error { return e(s.ListSources(ctx, tenant, "")) }},
		{"ListSources by bot", func(ctx context.Context, s storage.Storage) error { return e(s.ListSources(ctx, tenant, w.bot.ID)) }},
		{"UpdateSource", func(ctx context.Context, s storage.Storage) error { return s.UpdateSource(ctx, src) }},
		{"SetSourceState", func(ctx context.Context, s storage.Storage) error {
			return s.SetSourceState(ctx, tenant, w.source.ID, record.SourceState{Status: record.StatusReady, UpdatedAt: at(1)})
		}},
		{"PutDocument", func(ctx context.Context, s storage.Storage) error { return e(s.PutDocument(ctx, d, nil)) }},
		{"GetDocument", func(ctx context.Context, s storage.Storage) error { return e(s.GetDocument(ctx, tenant, w.doc.ID)) }},
		{"ListDocuments", func(ctx context.Context, s storage.Storage) error {
			return e(s.ListDocuments(ctx, tenant, w.source.ID))
		}},
		{"ListChunks", func(ctx context.Context, s storage.Storage) error { return e(s.ListChunks(ctx, tenant, w.doc.ID)) }},
		{"GetChunks", func(ctx context.Context, s storage.Storage) error {
			return e(s.GetChunks(ctx, tenant, []string{w.chunks[0].ID}))
		}},
		{"GetDocuments", func(ctx context.Context, s storage.Storage) error {
			return e(s.GetDocuments(ctx, tenant, []string{w.doc.ID}))
		}},
		{"SearchLexical", func(ctx context.Context, s storage.Storage) error {
			return e(s.SearchLexical(ctx, storage.LexicalQuery{TenantID: tenant, Text: "alerting", Limit: 5}))
		}},
		{"SearchLexical by bot", func(ctx context.Context, s storage.Storage) error {
			return e(s.SearchLexical(ctx, storage.LexicalQuery{TenantID: tenant, BotID: w.bot.ID, SourceIDs: []string{w.source.ID}, Text: "alerting", Limit: 5}))
		}},
		{"EnqueueJob", func(ctx context.Context, s storage.Storage) error { return s.EnqueueJob(ctx, j) }},
		{"GetJob", func(ctx context.Context, s storage.Storage) error { return e(s.GetJob(ctx, tenant, w.job.ID)) }},
		{"ListJobs", func(ctx context.Context, s storage.Storage) error { return e(s.ListJobs(ctx, tenant, "")) }},
		{"ListJobs by source", func(ctx context.Context, s storage.Storage) error { return e(s.ListJobs(ctx, tenant, w.source.ID)) }},
		// Deletes last, so that the calls above find their objects.
		{"DeleteDocument", func(ctx context.Context, s storage.Storage) error { return s.DeleteDocument(ctx, tenant, w.doc.ID) }},
		{"DeleteSource", func(ctx context.Context, s storage.Storage) error { return s.DeleteSource(ctx, tenant, w.source.ID) }},
		{"DeleteBot", func(ctx context.Context, s storage.Storage) error { return s.DeleteBot(ctx, tenant, w.bot.ID, at(1)) }},
	}
}

func testEmptyTenant(f *fixture) {
	w := f.newWorld()
	for _, c := range tenantCalls(w, "") {
		f.wantErr(c.call(f.ctx, f.s), record.ErrInvalidInput, c.name+" with an empty tenant ID")
	}
	// Nothing was written or removed through the empty tenant.
	got, err := f.s.GetBot(f.ctx, w.tenant.ID, w.bot.ID)
	f.must(err, "GetBot after calls with an empty tenant")
	f.equal("bot after calls with an empty tenant", w.bot, got)
	_, err = f.s.GetDocument(f.ctx, w.tenant.ID, w.doc.ID)
	f.must(err, "GetDocument after calls with an empty tenant")
	_, err = f.s.GetSource(f.ctx, w.tenant.ID, w.source.ID)
	f.must(err, "GetSource after calls with an empty tenant")
}

func testCancelledContext(f *fixture) {
	w := f.newWorld()
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	calls := tenantCalls(w, w.tenant.ID)
	type c = struct {
		name string
		call func(ctx context.Context, s storage.Storage) error
	}
	e := func(_ any, err error) error { return err }
	calls = append(calls,
		c{"CreateTenant", func(ctx context.Context, s storage.Storage) error {
			return s.CreateTenant(ctx, record.Tenant{ID: w.tenant.ID + "-2", Slug: w.tenant.Slug + "-2", CreatedAt: at(1), UpdatedAt: at(1)})
		}},
		c{"GetTenantBySlug", func(ctx context.Context, s storage.Storage) error { return e(s.GetTenantBySlug(ctx, w.tenant.Slug)) }},
		c{"ListTenants", func(ctx context.Context, s storage.Storage) error { return e(s.ListTenants(ctx)) }},
		c{"APITokenByHash", func(ctx context.Context, s storage.Storage) error { return e(s.APITokenByHash(ctx, w.token.Hash)) }},
		c{"ClaimJob", func(ctx context.Context, s storage.Storage) error {
			return e(s.ClaimJob(ctx, "w", at(10), time.Minute))
		}},
		c{"ExtendLease", func(ctx context.Context, s storage.Storage) error { return s.ExtendLease(ctx, w.job.ID, "w", at(10)) }},
		c{"CompleteJob", func(ctx context.Context, s storage.Storage) error { return s.CompleteJob(ctx, w.job.ID, "w", at(10)) }},
		c{"FailJob", func(ctx context.Context, s storage.Storage) error {
			return s.FailJob(ctx, w.job.ID, "w", "x", at(10), nil)
		}},
		c{"SearchLexical without words", func(ctx context.Context, s storage.Storage) error {
			return e(s.SearchLexical(ctx, storage.LexicalQuery{TenantID: w.tenant.ID, Text: "?!", Limit: 5}))
		}},
		c{"InTx", func(ctx context.Context, s storage.Storage) error {
			return s.InTx(ctx, func(tx storage.Storage) error {
				return tx.CreateBot(ctx, record.Bot{ID: w.bot.ID + "-tx", TenantID: w.tenant.ID})
			})
		}},
	)
	for _, c := range calls {
		f.wantErr(c.call(ctx, f.s), context.Canceled, c.name+" with a cancelled context")
	}
	// Nothing changed.
	got, err := f.s.GetBot(f.ctx, w.tenant.ID, w.bot.ID)
	f.must(err, "GetBot after calls with a cancelled context")
	f.equal("bot after calls with a cancelled context", w.bot, got)
	j, err := f.s.GetJob(f.ctx, w.tenant.ID, w.job.ID)
	f.must(err, "GetJob after calls with a cancelled context")
	f.equal("job after calls with a cancelled context", w.job, j)
	_, err = f.s.GetBot(f.ctx, w.tenant.ID, w.bot.ID+"-tx")
	f.wantErr(err, record.ErrNotFound, "GetBot of a bot created in an InTx with a cancelled context")
}

func testNoSharedMemory(f *fixture) {
	s, ctx := f.s, f.ctx
	w := f.newWorld()

	// Inputs: changing what was passed in does not change what is stored.
	tok := record.APIToken{ID: f.id("tok"), TenantID: w.tenant.ID, UserID: w.user.ID, Name: "n", Prefix: "p",
		Hash: []byte("input-hash-1234"), Scopes: []record.Scope{record.ScopeQuery}, BotIDs: []string{"x"}, CreatedAt: f.tick()}
	saved := tok
	saved.Hash = []byte("input-hash-1234")
	saved.Scopes = []record.Scope{record.ScopeQuery}
	saved.BotIDs = []string{"x"}
	f.must(s.CreateAPIToken(ctx, tok), "CreateAPIToken")
	tok.Hash[0], tok.Scopes[0], tok.BotIDs[0] = 'X', record.ScopeAdmin, "changed"
	got, err := s.GetAPIToken(ctx, w.tenant.ID, tok.ID)
	f.must(err, "GetAPIToken")
	f.equal("token after changing the input slices", saved, got)

	// Outputs: changing what came out does not change what is stored.
	got.Hash[0], got.Scopes[0], got.BotIDs[0] = 'Y', record.ScopeAdmin, "mutated"
	again, err := s.GetAPIToken(ctx, w.tenant.ID, tok.ID)
	f.must(err, "GetAPIToken")
	f.equal("token after changing a returned token's slices", saved, again)
	list, err := s.ListAPITokens(ctx, w.tenant.ID)
	f.must(err, "ListAPITokens")
	for i := range list {
		list[i].BotIDs = append(list[i].BotIDs[:0:0], "mutated")
		if len(list[i].Scopes) > 0 {
			list[i].Scopes[0] = "mutated"
		}
	}
	again, err = s.APITokenByHash(ctx, saved.Hash)
	f.must(err, "APITokenByHash")
	f.equal("token after changing listed tokens", saved, again)

	src, err := s.GetSource(ctx, w.tenant.ID, w.source.ID)
	f.must(err, "GetSource")
	for i := range src.Config {
		src.Config[i] = ' '
	}
	src2, err := s.GetSource(ctx, w.tenant.ID, w.source.ID)
	f.must(err, "GetSource")
	f.equal("source after changing a returned Config", w.source, src2)

	d, err := s.GetDocument(ctx, w.tenant.ID, w.doc.ID)
	f.must(err, "GetDocument")
	d.Metadata["lang"] = "mutated"
	d.Metadata["new"] = "x"
	d2, err := s.GetDocument(ctx, w.tenant.ID, w.doc.ID)
	f.must(err, "GetDocument")
	f.equal("document after changing a returned Metadata", w.doc, d2)

	// PutDocument's result does not share the caller's or the store's map.
	nd, nc := f.newDoc(w.source, "shared.md", "Shared", "shared text")
	put, err := s.PutDocument(ctx, nd, nc)
	f.must(err, "PutDocument")
	put.Metadata["lang"] = "mutated"
	nd.Metadata["key"] = "mutated too"
	nc[0].HeadingPath[0] = "mutated"
	d3, err := s.GetDocument(ctx, w.tenant.ID, put.ID)
	f.must(err, "GetDocument")
	if d3.Metadata["lang"] != "en" || d3.Metadata["key"] != "shared.md" {
		f.t.Errorf("document metadata changed through PutDocument's input or result: %v", d3.Metadata)
	}

	cs, err := s.GetChunks(ctx, w.tenant.ID, []string{w.chunks[0].ID})
	f.must(err, "GetChunks")
	if len(cs) == 1 && len(cs[0].HeadingPath) > 0 {
		cs[0].HeadingPath[0] = "mutated"
	}
	cs2, err := s.ListChunks(ctx, w.tenant.ID, w.doc.ID)
	f.must(err, "ListChunks")
	f.equal("chunks after changing a returned HeadingPath", w.chunks, cs2)
	nc2, err := s.ListChunks(ctx, w.tenant.ID, put.ID)
	f.must(err, "ListChunks")
	if len(nc2) != 1 || len(nc2[0].HeadingPath) == 0 || nc2[0].HeadingPath[0] != "Shared" {
		f.t.Errorf("chunk heading path changed through PutDocument's input: %v", nc2)
	}

	c, err := s.GetBotCredentials(ctx, w.tenant.ID, w.bot.ID)
	f.must(err, "GetBotCredentials")
	c.Ciphertext[0] = '!'
	c2, err := s.GetBotCredentials(ctx, w.tenant.ID, w.bot.ID)
	f.must(err, "GetBotCredentials")
	f.equal("credentials after changing a returned Ciphertext", []byte("gAAAAA-ciphertext"), c2.Ciphertext)
}
