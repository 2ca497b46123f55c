package minirag

import (
	"context"
	"fmt"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// Page sizes of the List…Page calls.
const (
	// DefaultPageLimit is Page.Limit when 0.
	DefaultPageLimit = 100
	// MaxPageLimit bounds Page.Limit.
	MaxPageLimit = 1000
)

// Page selects one page of a List…Page call (ListUsersPage,
// ListAPITokensPage, ListBotsPage, ListSourcesPage, ListDocumentsPage,
// ListJobsPage).
//
// Paging is by cursor: pass the NextCursor of a page to get the following
// one. Cursors are opaque and belong to the list that made them (another
// list's, or a made-up one, is bad input naming "cursor"). They are stable
// under inserts and deletes: an object present for the whole listing is
// listed exactly once, and each page costs the same however deep it is.
type Page struct {
	// Limit is the page size: 0 means DefaultPageLimit, at most
	// MaxPageLimit.
	Limit int `json:"limit,omitempty"`
	// Cursor continues a listing: the NextCursor of the previous page; ""
	// starts at the beginning.
	Cursor string `json:"cursor,omitempty"`
}

// PageOf is one page of a list.
type PageOf[T any] struct {
	Items []T `json:"items"`
	// NextCursor continues the listing; "" on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// storagePage validates p and applies its default.
func (p Page) storagePage() (storage.Page, error) {
	switch {
	case p.Limit < 0 || p.Limit > MaxPageLimit:
		return storage.Page{}, record.Invalid("limit", fmt.Sprintf("must be between 0 and %d", MaxPageLimit))
	case p.Limit == 0:
		p.Limit = DefaultPageLimit
	}
	return storage.Page{Limit: p.Limit, Cursor: p.Cursor}, nil
}

// listPage is the body of every List…Page method: authorize, validate,
// call the store's paged list.
func listPage[T any](h *TenantHandle, op string, p Page, list func(sp storage.Page) ([]T, string, error)) (PageOf[T], error) {
	if err := h.authorizeAdmin(); err != nil {
		return PageOf[T]{}, err
	}
	sp, err := p.storagePage()
	if err != nil {
		return PageOf[T]{}, fmt.Errorf("minirag: %s: %w", op, err)
	}
	items, next, err := list(sp)
	if err != nil {
		return PageOf[T]{}, fmt.Errorf("minirag: %s: %w", op, err)
	}
	return PageOf[T]{Items: items, NextCursor: next}, nil
}

// ListUsersPage is one page of ListUsers (oldest first). Needs the admin
// scope.
func (h *TenantHandle) ListUsersPage(ctx context.Context, p Page) (PageOf[User], error) {
	return listPage(h, "list users", p, func(sp storage.Page) ([]User, string, error) {
		return h.c.store.ListUsersPage(ctx, h.p.TenantID, sp)
	})
}

// ListAPITokensPage is one page of ListAPITokens (oldest first, revoked
// ones included, never a secret). Needs the admin scope.
func (h *TenantHandle) ListAPITokensPage(ctx context.Context, p Page) (PageOf[APIToken], error) {
	page, err := listPage(h, "list API tokens", p, func(sp storage.Page) ([]APIToken, string, error) {
		return h.c.store.ListAPITokensPage(ctx, h.p.TenantID, sp)
	})
	for i := range page.Items {
		page.Items[i].Hash = nil
	}
	return page, err
}

// ListBotsPage is one page of ListBots (not deleted, oldest first). Needs
// the admin scope.
func (h *TenantHandle) ListBotsPage(ctx context.Context, p Page) (PageOf[Bot], error) {
	return listPage(h, "list bots", p, func(sp storage.Page) ([]Bot, string, error) {
		return h.c.store.ListBotsPage(ctx, h.p.TenantID, sp)
	})
}

// ListSourcesPage is one page of ListSources (oldest first; only botID's
// when it is not empty). Needs the admin scope.
func (h *TenantHandle) ListSourcesPage(ctx context.Context, botID string, p Page) (PageOf[Source], error) {
	return listPage(h, "list sources", p, func(sp storage.Page) ([]Source, string, error) {
		return h.c.store.ListSourcesPage(ctx, h.p.TenantID, botID, sp)
	})
}

// ListDocumentsPage lists a page of a source's documents, ordered by Key
// (compared byte-wise). A source that is not the tenant's is ErrNotFound.
// Needs the admin scope.
func (h *TenantHandle) ListDocumentsPage(ctx context.Context, sourceID string, p Page) (PageOf[Document], error) {
	return listPage(h, "list documents", p, func(sp storage.Page) ([]Document, string, error) {
		if _, err := h.c.store.GetSource(ctx, h.p.TenantID, sourceID); err != nil {
			return nil, "", err
		}
		return h.c.store.ListDocumentsPage(ctx, h.p.TenantID, sourceID, sp)
	})
}

// ListJobsPage is one page of ListJobs (newest first; only sourceID's when
// it is not empty). Needs the admin scope.
func (h *TenantHandle) ListJobsPage(ctx context.Context, sourceID string, p Page) (PageOf[Job], error) {
	return listPage(h, "list jobs", p, func(sp storage.Page) ([]Job, string, error) {
		return h.c.store.ListJobsPage(ctx, h.p.TenantID, sourceID, sp)
	})
}
