package storagetest

import (
	"github.com/minirag/minirag/record"
)

func testTenants(f *fixture) {
	s, ctx := f.s, f.ctx
	// Created newest first: ListTenants orders by CreatedAt, not insertion.
	later := record.Tenant{ID: f.id("tnt"), Name: "Later", Slug: f.id("later"), CreatedAt: at(10), UpdatedAt: at(11)}
	earlier := record.Tenant{ID: f.id("tnt"), Name: "Earlier", Slug: f.id("earlier"), CreatedAt: at(1), UpdatedAt: at(2)}
	f.must(s.CreateTenant(ctx, later), "CreateTenant")
	f.must(s.CreateTenant(ctx, earlier), "CreateTenant")

	got, err := s.GetTenant(ctx, later.ID)
	f.must(err, "GetTenant")
	f.equal("GetTenant", later, got)
	got, err = s.GetTenantBySlug(ctx, earlier.Slug)
	f.must(err, "GetTenantBySlug")
	f.equal("GetTenantBySlug", earlier, got)

	list, err := s.ListTenants(ctx)
	f.must(err, "ListTenants")
	f.equal("ListTenants", []record.Tenant{earlier, later}, list)

	_, err = s.GetTenant(ctx, f.id("missing"))
	f.wantErr(err, record.ErrNotFound, "GetTenant of an unknown ID")
	_, err = s.GetTenantBySlug(ctx, f.id("missing"))
	f.wantErr(err, record.ErrNotFound, "GetTenantBySlug of an unknown slug")

	dupSlug := record.Tenant{ID: f.id("tnt"), Name: "Dup", Slug: later.Slug, CreatedAt: at(3), UpdatedAt: at(3)}
	f.wantErr(s.CreateTenant(ctx, dupSlug), record.ErrConflict, "CreateTenant with a duplicate slug")
	dupID := record.Tenant{ID: later.ID, Name: "Dup", Slug: f.id("other"), CreatedAt: at(3), UpdatedAt: at(3)}
	f.wantErr(s.CreateTenant(ctx, dupID), record.ErrConflict, "CreateTenant with a duplicate ID")

	list, err = s.ListTenants(ctx)
	f.must(err, "ListTenants")
	f.equal("ListTenants after rejected duplicates", []record.Tenant{earlier, later}, list)

	f.wantErr(s.CreateTenant(ctx, record.Tenant{Slug: f.id("noid"), CreatedAt: at(1), UpdatedAt: at(1)}), record.ErrInvalidInput,
		"CreateTenant with an empty ID")
}

func testUsers(f *fixture) {
	s, ctx := f.s, f.ctx
	a, b := f.newTenant(), f.newTenant()

	u2 := record.User{ID: f.id("usr"), TenantID: a.ID, Email: "Second@Example.com", Name: "Second", Role: record.RoleAdmin,
		Disabled: true, CreatedAt: at(20), UpdatedAt: at(21)}
	u1 := record.User{ID: f.id("usr"), TenantID: a.ID, Email: "First@Example.com", Name: "First", Role: record.RoleOwner,
		CreatedAt: at(10), UpdatedAt: at(11)}
	f.must(s.CreateUser(ctx, u2), "CreateUser")
	f.must(s.CreateUser(ctx, u1), "CreateUser")

	got, err := s.GetUser(ctx, a.ID, u2.ID)
	f.must(err, "GetUser")
	f.equal("GetUser", u2, got)

	got, err = s.GetUserByEmail(ctx, a.ID, "FIRST@example.COM")
	f.must(err, "GetUserByEmail with other letter case")
	f.equal("GetUserByEmail", u1, got)
	_, err = s.GetUserByEmail(ctx, a.ID, "nobody@example.com")
	f.wantErr(err, record.ErrNotFound, "GetUserByEmail of an unknown email")
	_, err = s.GetUser(ctx, a.ID, f.id("missing"))
	f.wantErr(err, record.ErrNotFound, "GetUser of an unknown ID")

	list, err := s.ListUsers(ctx, a.ID)
	f.must(err, "ListUsers")
	f.equal("ListUsers (oldest first)", []record.User{u1, u2}, list)

	dup := record.User{ID: f.id("usr"), TenantID: a.ID, Email: "first@EXAMPLE.com", Name: "Dup", Role: record.RoleMember,
		CreatedAt: at(30), UpdatedAt: at(30)}
	f.wantErr(s.CreateUser(ctx, dup), record.ErrConflict, "CreateUser with an email used in the tenant (other case)")
	dupID := record.User{ID: u1.ID, TenantID: a.ID, Email: "unique@example.com", Role: record.RoleMember, CreatedAt: at(30), UpdatedAt: at(30)}
	f.wantErr(s.CreateUser(ctx, dupID), record.ErrConflict, "CreateUser with a duplicate ID")

	other := record.User{ID: f.id("usr"), TenantID: b.ID, Email: u1.Email, Name: "Same email, other tenant",
		Role: record.RoleOwner, CreatedAt: at(31), UpdatedAt: at(31)}
	f.must(s.CreateUser(ctx, other), "CreateUser with an email used only in another tenant")
	got, err = s.GetUserByEmail(ctx, b.ID, u1.Email)
	f.must(err, "GetUserByEmail in the other tenant")
	f.equal("GetUserByEmail in the other tenant", other, got)

	unknown := record.User{ID: f.id("usr"), TenantID: f.id("no-tenant"), Email: "x@example.com", Role: record.RoleMember,
		CreatedAt: at(1), UpdatedAt: at(1)}
	f.wantErr(s.CreateUser(ctx, unknown), record.ErrNotFound, "CreateUser in an unknown tenant")

	// UpdateUser writes Name, Role, Disabled and UpdatedAt only.
	upd := u1
	upd.Name, upd.Role, upd.Disabled, upd.UpdatedAt = "Renamed", record.RoleMember, true, at(40)
	upd.Email, upd.CreatedAt = "changed@example.com", at(99)
	f.must(s.UpdateUser(ctx, upd), "UpdateUser")
	want := u1
	want.Name, want.Role, want.Disabled, want.UpdatedAt = "Renamed", record.RoleMember, true, at(40)
	got, err = s.GetUser(ctx, a.ID, u1.ID)
	f.must(err, "GetUser after UpdateUser")
	f.equal("GetUser after UpdateUser (email and CreatedAt must not change)", want, got)

	upd.ID = f.id("missing")
	f.wantErr(s.UpdateUser(ctx, upd), record.ErrNotFound, "UpdateUser of an unknown user")
}

func testAPITokens(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	u := f.newUser(ten.ID)

	full := record.APIToken{ID: f.id("tok"), TenantID: ten.ID, UserID: u.ID, Name: "full", Prefix: "mrag_abc",
		Hash: []byte{0x00, 0x01, 0xfe, 0xff, 0x10, 0x20}, Scopes: []record.Scope{record.ScopeAdmin, record.ScopeQuery},
		BotIDs: []string{"b1", "b2"}, ExpiresAt: ptr(at(100)), LastUsedAt: ptr(at(50)), RevokedAt: ptr(at(60)), CreatedAt: at(20)}
	bare := record.APIToken{ID: f.id("tok"), TenantID: ten.ID, UserID: u.ID, Name: "bare", Prefix: "mrag_def",
		Hash: []byte("another-hash-value"), Scopes: []record.Scope{record.ScopeQuery}, CreatedAt: at(10)}
	f.must(s.CreateAPIToken(ctx, full), "CreateAPIToken with every field set")
	f.must(s.CreateAPIToken(ctx, bare), "CreateAPIToken with optional fields unset")

	got, err := s.GetAPIToken(ctx, ten.ID, full.ID)
	f.must(err, "GetAPIToken")
	f.equal("GetAPIToken (every field set)", full, got)
	got, err = s.GetAPIToken(ctx, ten.ID, bare.ID)
	f.must(err, "GetAPIToken")
	f.equal("GetAPIToken (optional fields unset)", bare, got)

	got, err = s.APITokenByHash(ctx, []byte{0x00, 0x01, 0xfe, 0xff, 0x10, 0x20})
	f.must(err, "APITokenByHash")
	f.equal("APITokenByHash", full, got)
	_, err = s.APITokenByHash(ctx, []byte("unknown-hash"))
	f.wantErr(err, record.ErrNotFound, "APITokenByHash of an unknown hash")
	_, err = s.GetAPIToken(ctx, ten.ID, f.id("missing"))
	f.wantErr(err, record.ErrNotFound, "GetAPIToken of an unknown ID")

	list, err := s.ListAPITokens(ctx, ten.ID)
	f.must(err, "ListAPITokens")
	f.equal("ListAPITokens (oldest first, revoked included)", []record.APIToken{bare, full}, list)

	dupHash := bare
	dupHash.ID = f.id("tok")
	f.wantErr(s.CreateAPIToken(ctx, dupHash), record.ErrConflict, "CreateAPIToken with a duplicate hash")
	other := f.newTenant()
	dupHash.TenantID, dupHash.UserID = other.ID, f.newUser(other.ID).ID
	dupHash.ID = f.id("tok")
	f.wantErr(s.CreateAPIToken(ctx, dupHash), record.ErrConflict, "CreateAPIToken with a hash used in another tenant")
	dupID := bare
	dupID.Hash = []byte("fresh-hash")
	f.wantErr(s.CreateAPIToken(ctx, dupID), record.ErrConflict, "CreateAPIToken with a duplicate ID")

	// Revoke once: a second revocation keeps the first time.
	f.must(s.RevokeAPIToken(ctx, ten.ID, bare.ID, at(70)), "RevokeAPIToken")
	f.must(s.RevokeAPIToken(ctx, ten.ID, bare.ID, at(80)), "RevokeAPIToken again")
	f.must(s.TouchAPIToken(ctx, ten.ID, bare.ID, at(75)), "TouchAPIToken")
	want := bare
	want.RevokedAt, want.LastUsedAt = ptr(at(70)), ptr(at(75))
	got, err = s.GetAPIToken(ctx, ten.ID, bare.ID)
	f.must(err, "GetAPIToken after revoke and touch")
	f.equal("GetAPIToken after revoke, revoke again and touch", want, got)
	got, err = s.APITokenByHash(ctx, bare.Hash)
	f.must(err, "APITokenByHash of a revoked token")
	f.equal("APITokenByHash of a revoked token", want, got)

	f.wantErr(s.RevokeAPIToken(ctx, ten.ID, f.id("missing"), at(1)), record.ErrNotFound, "RevokeAPIToken of an unknown token")
	f.wantErr(s.TouchAPIToken(ctx, ten.ID, f.id("missing"), at(1)), record.ErrNotFound, "TouchAPIToken of an unknown token")
}

func testBots(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	second := record.Bot{ID: f.id("bot"), TenantID: ten.ID, Name: "Second", Description: "d2", SystemPrompt: "p2",
		Model: "m2", Temperature: 1.5, MaxTokens: 2048, BaseURL: "http://127.0.0.1:1/v1", Active: true,
		ExtractiveFallback: true, Language: "french", CreatedAt: at(20), UpdatedAt: at(21)}
	first := record.Bot{ID: f.id("bot"), TenantID: ten.ID, Name: "First", CreatedAt: at(10), UpdatedAt: at(11)}
	f.must(s.CreateBot(ctx, second), "CreateBot with every field set")
	withCreds := first
	withCreds.HasCredentials = true // ignored on writes
	f.must(s.CreateBot(ctx, withCreds), "CreateBot with zero fields")

	got, err := s.GetBot(ctx, ten.ID, second.ID)
	f.must(err, "GetBot")
	f.equal("GetBot (every field set)", second, got)
	got, err = s.GetBot(ctx, ten.ID, first.ID)
	f.must(err, "GetBot")
	f.equal("GetBot (HasCredentials is not written by CreateBot)", first, got)
	_, err = s.GetBot(ctx, ten.ID, f.id("missing"))
	f.wantErr(err, record.ErrNotFound, "GetBot of an unknown ID")

	list, err := s.ListBots(ctx, ten.ID)
	f.must(err, "ListBots")
	f.equal("ListBots (oldest first)", []record.Bot{first, second}, list)

	dup := first
	dup.Name = "dup"
	f.wantErr(s.CreateBot(ctx, dup), record.ErrConflict, "CreateBot with a duplicate ID")

	// UpdateBot writes everything but ID, TenantID, CreatedAt, DeletedAt
	// and credentials.
	upd := record.Bot{ID: first.ID, TenantID: ten.ID, Name: "Renamed", Description: "new", SystemPrompt: "new prompt",
		Model: "new-model", Temperature: 0.7, MaxTokens: 99, BaseURL: "http://127.0.0.1:2/v1", Active: true,
		ExtractiveFallback: true, Language: "german", HasCredentials: true, DeletedAt: ptr(at(1)),
		CreatedAt: at(90), UpdatedAt: at(30)}
	f.must(s.UpdateBot(ctx, upd), "UpdateBot")
	want := upd
	want.CreatedAt, want.DeletedAt, want.HasCredentials = first.CreatedAt, nil, false
	got, err = s.GetBot(ctx, ten.ID, first.ID)
	f.must(err, "GetBot after UpdateBot")
	f.equal("GetBot after UpdateBot (CreatedAt, DeletedAt and credentials must not change)", want, got)
	upd.ID = f.id("missing")
	f.wantErr(s.UpdateBot(ctx, upd), record.ErrNotFound, "UpdateBot of an unknown bot")

	// Soft delete: gone from every method, still in storage.
	f.must(s.DeleteBot(ctx, ten.ID, second.ID, at(40)), "DeleteBot")
	_, err = s.GetBot(ctx, ten.ID, second.ID)
	f.wantErr(err, record.ErrNotFound, "GetBot of a deleted bot")
	list, err = s.ListBots(ctx, ten.ID)
	f.must(err, "ListBots")
	f.sameIDs("ListBots after DeleteBot", []string{first.ID}, ids(list, func(b record.Bot) string { return b.ID }))
	f.wantErr(s.UpdateBot(ctx, second), record.ErrNotFound, "UpdateBot of a deleted bot")
	f.wantErr(s.DeleteBot(ctx, ten.ID, second.ID, at(41)), record.ErrNotFound, "DeleteBot of a deleted bot")
	f.wantErr(s.DeleteBot(ctx, ten.ID, f.id("missing"), at(41)), record.ErrNotFound, "DeleteBot of an unknown bot")
	_, err = s.GetBotCredentials(ctx, ten.ID, second.ID)
	f.wantErr(err, record.ErrNotFound, "GetBotCredentials of a deleted bot")
}

func testBotCredentials(f *fixture) {
	s, ctx := f.s, f.ctx
	ten := f.newTenant()
	b1, b2, b3 := f.newBot(ten.ID), f.newBot(ten.ID), f.newBot(ten.ID)

	_, err := s.GetBotCredentials(ctx, ten.ID, b1.ID)
	f.wantErr(err, record.ErrNotFound, "GetBotCredentials of a bot without credentials")
	list, err := s.ListBotCredentials(ctx, ten.ID)
	f.must(err, "ListBotCredentials")
	f.equal("ListBotCredentials with none", []record.BotCredentials{}, list)

	c1 := record.BotCredentials{TenantID: ten.ID, BotID: b1.ID, Ciphertext: []byte("gAAAAA-first")}
	c2 := record.BotCredentials{TenantID: ten.ID, BotID: b2.ID, Ciphertext: []byte("gAAAAA-second")}
	f.must(s.SetBotCredentials(ctx, c1), "SetBotCredentials")
	f.must(s.SetBotCredentials(ctx, c2), "SetBotCredentials")
	got, err := s.GetBotCredentials(ctx, ten.ID, b1.ID)
	f.must(err, "GetBotCredentials")
	f.equal("GetBotCredentials", c1, got)
	bot, err := s.GetBot(ctx, ten.ID, b1.ID)
	f.must(err, "GetBot")
	if !bot.HasCredentials {
		f.t.Error("GetBot: HasCredentials is false for a bot with credentials")
	}
	bots, err := s.ListBots(ctx, ten.ID)
	f.must(err, "ListBots")
	for _, b := range bots {
		if wantHas := b.ID != b3.ID; b.HasCredentials != wantHas {
			f.t.Errorf("ListBots: bot %s HasCredentials = %v, want %v", b.ID, b.HasCredentials, wantHas)
		}
	}

	// Replace.
	c1.Ciphertext = []byte("gAAAAA-rotated")
	f.must(s.SetBotCredentials(ctx, c1), "SetBotCredentials (replace)")
	got, err = s.GetBotCredentials(ctx, ten.ID, b1.ID)
	f.must(err, "GetBotCredentials after replace")
	f.equal("GetBotCredentials after replace", c1, got)

	// A deleted bot's credentials are still listed (for key rotation).
	f.must(s.DeleteBot(ctx, ten.ID, b2.ID, f.tick()), "DeleteBot")
	list, err = s.ListBotCredentials(ctx, ten.ID)
	f.must(err, "ListBotCredentials")
	f.equal("ListBotCredentials (soft-deleted bots included, oldest bot first)", []record.BotCredentials{c1, c2}, list)

	// Remove with nil and with empty ciphertext.
	f.must(s.SetBotCredentials(ctx, record.BotCredentials{TenantID: ten.ID, BotID: b1.ID}), "SetBotCredentials(nil)")
	_, err = s.GetBotCredentials(ctx, ten.ID, b1.ID)
	f.wantErr(err, record.ErrNotFound, "GetBotCredentials after removal with nil Ciphertext")
	bot, err = s.GetBot(ctx, ten.ID, b1.ID)
	f.must(err, "GetBot")
	if bot.HasCredentials {
		f.t.Error("GetBot: HasCredentials is true after the credentials were removed")
	}
	f.must(s.SetBotCredentials(ctx, record.BotCredentials{TenantID: ten.ID, BotID: b3.ID, Ciphertext: []byte("x")}), "SetBotCredentials")
	f.must(s.SetBotCredentials(ctx, record.BotCredentials{TenantID: ten.ID, BotID: b3.ID, Ciphertext: []byte{}}), "SetBotCredentials(empty)")
	_, err = s.GetBotCredentials(ctx, ten.ID, b3.ID)
	f.wantErr(err, record.ErrNotFound, "GetBotCredentials after removal with empty Ciphertext")

	f.wantErr(s.SetBotCredentials(ctx, record.BotCredentials{TenantID: ten.ID, BotID: f.id("missing"), Ciphertext: []byte("x")}),
		record.ErrNotFound, "SetBotCredentials of an unknown bot")
}
