package minirag

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/minirag/minirag/internal/id"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/vectorstore"
)

// CreateTenantParams are the inputs of Client.CreateTenant.
type CreateTenantParams struct {
	// Name is the tenant's display name (required, at most 200 characters).
	Name string `json:"name"`
	// Slug is the tenant's unique handle: 3 to 63 lowercase letters,
	// digits and hyphens, starting and ending with a letter or digit.
	Slug string `json:"slug"`
	// OwnerEmail is the first user's email (required; stored lowercase).
	OwnerEmail string `json:"owner_email"`
	// OwnerName is the first user's name (optional).
	OwnerName string `json:"owner_name"`
}

// TenantBootstrap is what Client.CreateTenant created.
type TenantBootstrap struct {
	Tenant Tenant `json:"tenant"`
	// Owner is the first user, with role owner.
	Owner User `json:"owner"`
	// Token is an admin API token of the owner. Its plaintext is shown
	// this once, in Token.Plaintext (redacted in JSON and logs).
	Token NewAPIToken `json:"token"`
}

const maxNameLen = 200

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$`)

// CreateTenant creates, in one transaction, a tenant, its owner user and an
// admin API token for that user (what POST /v1/tenants does in
// examples/httpserver, as in the Python platform this module is the Go
// form of). A slug already taken is ErrConflict.
func (c *Client) CreateTenant(ctx context.Context, p CreateTenantParams) (TenantBootstrap, error) {
	var v record.ValidationError
	name := strings.TrimSpace(p.Name)
	checkName(&v, "name", name, true)
	if !slugRE.MatchString(p.Slug) {
		v.Add("slug", "must be 3 to 63 lowercase letters, digits or hyphens, starting and ending with a letter or digit")
	}
	email, ok := normalizeEmail(p.OwnerEmail)
	if !ok {
		v.Add("owner_email", "must be a valid email address")
	}
	ownerName := strings.TrimSpace(p.OwnerName)
	checkName(&v, "owner_name", ownerName, false)
	if err := v.Err(); err != nil {
		return TenantBootstrap{}, err
	}

	now := c.now()
	t := Tenant{ID: id.New(), Name: name, Slug: p.Slug, CreatedAt: now, UpdatedAt: now}
	owner := User{ID: id.New(), TenantID: t.ID, Email: email, Name: ownerName, Role: RoleOwner, CreatedAt: now, UpdatedAt: now}
	tok, plain, err := newAPITokenRecord(t.ID, owner.ID, "bootstrap", []Scope{ScopeAdmin}, nil, nil, now)
	if err != nil {
		return TenantBootstrap{}, err
	}
	err = c.store.InTx(ctx, func(tx storage.Storage) error {
		if err := tx.CreateTenant(ctx, t); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, owner); err != nil {
			return err
		}
		return tx.CreateAPIToken(ctx, tok)
	})
	if err != nil {
		return TenantBootstrap{}, fmt.Errorf("minirag: create tenant: %w", err)
	}
	c.log.LogAttrs(ctx, slogInfo, "tenant created", attrTenant(t.ID), attrUser(owner.ID), attrToken(tok.ID))
	tok.Hash = nil
	return TenantBootstrap{Tenant: t, Owner: owner, Token: NewAPIToken{Token: tok, Plaintext: plain}}, nil
}

// GetTenant returns a tenant by ID (trusted code; an authenticated caller
// uses TenantHandle.GetTenant).
func (c *Client) GetTenant(ctx context.Context, tenantID string) (Tenant, error) {
	if tenantID == "" {
		return Tenant{}, record.ErrEmptyTenant
	}
	t, err := c.store.GetTenant(ctx, tenantID)
	if err != nil {
		return Tenant{}, fmt.Errorf("minirag: get tenant: %w", err)
	}
	return t, nil
}

// GetTenantBySlug returns a tenant by slug (trusted code).
func (c *Client) GetTenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	if slug == "" {
		return Tenant{}, record.Invalid("slug", "is required")
	}
	t, err := c.store.GetTenantBySlug(ctx, slug)
	if err != nil {
		return Tenant{}, fmt.Errorf("minirag: get tenant by slug: %w", err)
	}
	return t, nil
}

// TenantHandle is the tenant-scoped face of a Client: every call through it
// is confined to one tenant and checked against its Principal's scopes. Get
// one with Client.Tenant (trusted code, every scope) or Client.Scoped (an
// authenticated caller). A TenantHandle is cheap and safe for concurrent
// use.
type TenantHandle struct {
	c *Client
	p Principal
	// endUser confines conversations to one end user (ForEndUser).
	endUser string
}

// Tenant returns a handle on tenant tenantID with every scope, for trusted
// code (a worker, a CLI, the host's own admin paths). It does not check that
// the tenant exists; calls through it report ErrNotFound when it does not,
// and an empty tenantID makes every call fail with ErrInvalidInput.
func (c *Client) Tenant(tenantID string) *TenantHandle {
	return &TenantHandle{c: c, p: Principal{TenantID: tenantID, Method: MethodTrusted, Scopes: []Scope{ScopeAdmin}}}
}

// Scoped returns a handle limited to what p may do: p's tenant, p's
// scopes, and for a query scope limited to bots, those bots. p normally
// comes from Authenticate; a Principal without a tenant makes every call
// fail with ErrUnauthenticated.
func (c *Client) Scoped(p Principal) *TenantHandle {
	p.Scopes = slices.Clone(p.Scopes)
	p.BotIDs = slices.Clone(p.BotIDs)
	return &TenantHandle{c: c, p: p}
}

// TenantID returns the handle's tenant.
func (h *TenantHandle) TenantID() string { return h.p.TenantID }

// Principal returns the caller the handle acts for.
func (h *TenantHandle) Principal() Principal {
	p := h.p
	p.Scopes = slices.Clone(p.Scopes)
	p.BotIDs = slices.Clone(p.BotIDs)
	return p
}

// GetTenant returns the handle's tenant (GET /v1/tenants/me). Any scope may
// read it.
func (h *TenantHandle) GetTenant(ctx context.Context) (Tenant, error) {
	if err := h.authorizeAny(); err != nil {
		return Tenant{}, err
	}
	t, err := h.c.store.GetTenant(ctx, h.p.TenantID)
	if err != nil {
		return Tenant{}, fmt.Errorf("minirag: get tenant: %w", err)
	}
	return t, nil
}

// authorizeAny checks that the handle names a tenant.
func (h *TenantHandle) authorizeAny() error {
	if h.p.TenantID == "" {
		if h.p.Method == MethodTrusted {
			return record.ErrEmptyTenant
		}
		return fmt.Errorf("%w: principal has no tenant", ErrUnauthenticated)
	}
	return nil
}

// authorizeAdmin checks that the handle may change anything in its tenant
// and read its administrative data (users, tokens, bots, sources).
func (h *TenantHandle) authorizeAdmin() error {
	if err := h.authorizeAny(); err != nil {
		return err
	}
	if !h.p.HasScope(ScopeAdmin) {
		return fmt.Errorf("%w: the admin scope is required", ErrForbidden)
	}
	return nil
}

// authorizeBot checks that the handle may search and ask bot botID: the
// admin scope, or the query scope with botID among its bots (or no bot
// limit). Search and ask code calls it before anything else; it does not
// check that the bot exists.
func (h *TenantHandle) authorizeBot(botID string) error {
	if err := h.authorizeAny(); err != nil {
		return err
	}
	if h.p.HasScope(ScopeAdmin) {
		return nil
	}
	if !h.p.HasScope(ScopeQuery) {
		return fmt.Errorf("%w: the query scope is required", ErrForbidden)
	}
	if len(h.p.BotIDs) > 0 && !slices.Contains(h.p.BotIDs, botID) {
		return fmt.Errorf("%w: the token does not allow this bot", ErrForbidden)
	}
	return nil
}

func checkName(v *record.ValidationError, field, s string, required bool) {
	switch {
	case required && s == "":
		v.Add(field, "is required")
	case utf8.RuneCountInString(s) > maxNameLen:
		v.Add(field, fmt.Sprintf("must be at most %d characters", maxNameLen))
	}
}

// normalizeEmail returns the lowercase address when s is a bare email
// address (no display name, no surrounding spaces).
func normalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || !strings.Contains(a.Address[strings.LastIndexByte(a.Address, '@')+1:], ".") {
		return "", false
	}
	return strings.ToLower(a.Address), true
}

// TenantUpdate is a partial update of a tenant: nil fields stay as they
// are.
type TenantUpdate struct {
	// Name, when set, is the new display name (required, at most 200
	// characters).
	Name *string `json:"name,omitempty"`
	// Slug, when set, is the new handle (as CreateTenantParams.Slug); one
	// another tenant has is ErrConflict.
	Slug *string `json:"slug,omitempty"`
}

// UpdateTenant changes the fields of u that are set and returns the
// tenant (trusted code; an unknown tenant is ErrNotFound).
func (c *Client) UpdateTenant(ctx context.Context, tenantID string, u TenantUpdate) (Tenant, error) {
	if tenantID == "" {
		return Tenant{}, record.ErrEmptyTenant
	}
	var v record.ValidationError
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		checkName(&v, "name", name, true)
		u.Name = &name
	}
	if u.Slug != nil && !slugRE.MatchString(*u.Slug) {
		v.Add("slug", "must be 3 to 63 lowercase letters, digits or hyphens, starting and ending with a letter or digit")
	}
	if err := v.Err(); err != nil {
		return Tenant{}, err
	}
	var out Tenant
	err := c.store.InTx(ctx, func(tx storage.Storage) error {
		t, err := tx.GetTenant(ctx, tenantID)
		if err != nil {
			return err
		}
		if u.Name != nil {
			t.Name = *u.Name
		}
		if u.Slug != nil {
			t.Slug = *u.Slug
		}
		t.UpdatedAt = c.now()
		if err := tx.UpdateTenant(ctx, t); err != nil {
			return err
		}
		out = t
		return nil
	})
	if err != nil {
		return Tenant{}, fmt.Errorf("minirag: update tenant: %w", err)
	}
	c.log.LogAttrs(ctx, slogInfo, "tenant updated", attrTenant(tenantID))
	return out, nil
}

// DeleteTenant erases a tenant and everything of it (trusted code; what
// `minirag tenant delete` runs): Storage first (Storage.DeleteTenant:
// users and API tokens first, so the tenant can no longer be used, then
// bots, sources, documents, chunks, jobs, conversations, usage, and the
// tenant last), then every vector of the tenant in the VectorStore's
// space (the Client's embedding model; a store that keeps the spaces of
// other models keeps those vectors, of chunks that no longer exist:
// open a Client with that model to erase them too). Storage decides, the vectors follow,
// as for every delete (see the package documentation, "Crash safety").
//
// It is resumable: interrupted anywhere (a kill, a failed call), calling
// it again finishes the erase. A tenant Storage no longer has (one whose
// Storage erase finished before the interruption, or one that never
// existed) still has its vectors deleted, and then DeleteTenant returns an
// error wrapping ErrNotFound: errors.Is(err, ErrNotFound) means nothing
// of the tenant remains. A VectorStore failure is returned (Storage's
// erase stands; call again to delete the vectors). Work already running
// for the tenant (an ingestion, a Worker's job) when it is called may
// write after it; stop it first.
func (c *Client) DeleteTenant(ctx context.Context, tenantID string) error {
	if tenantID == "" {
		return record.ErrEmptyTenant
	}
	serr := c.store.DeleteTenant(ctx, tenantID)
	if serr != nil && !errors.Is(serr, ErrNotFound) {
		return fmt.Errorf("minirag: delete tenant: %w", serr)
	}
	if c.hasIndex() {
		err := c.ensureIndex(ctx)
		if err == nil {
			err = c.vec.Delete(ctx, vectorstore.Filter{TenantID: tenantID})
		}
		if err != nil {
			return fmt.Errorf("minirag: delete tenant: Storage erased it, deleting its vectors failed (call DeleteTenant again): %w", err)
		}
	}
	if serr != nil {
		return fmt.Errorf("minirag: delete tenant: %w", serr)
	}
	c.log.LogAttrs(ctx, slogInfo, "tenant deleted", attrTenant(tenantID))
	return nil
}
