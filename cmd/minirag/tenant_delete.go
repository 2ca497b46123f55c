package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minirag/minirag"
)

// tenantDelete erases a tenant and everything of it (Client.DeleteTenant):
// Storage first, then its vectors. It refuses without --yes. Resumable:
// run it again after an interruption; given the tenant's ID, a tenant
// Storage no longer has still has its vectors deleted, and the command
// then exits 4 (nothing of it remains).
func (a *app) tenantDelete(ctx context.Context, args []string) error {
	fs := a.flags("tenant delete")
	a.tenantFlag(fs)
	yes := fs.Bool("yes", false, "confirm: erase the tenant and all its data, for good")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("tenant delete: unexpected argument %q (the tenant is given by --tenant)", fs.Arg(0))
	}
	if a.tenant == "" {
		return usagef("tenant delete: --tenant is required (a slug or ID; env MINIRAG_TENANT)")
	}
	if !*yes {
		return usagef("tenant delete: erasing tenant %q and all its data cannot be undone; add --yes to confirm", a.tenant)
	}
	c, _, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	tenantID, slug := a.tenant, ""
	h, err := a.handle(ctx, c)
	switch {
	case err == nil:
		t, err := c.GetTenant(ctx, h.TenantID())
		if err != nil {
			return err
		}
		tenantID, slug = t.ID, t.Slug
	case !errors.Is(err, minirag.ErrNotFound):
		return err
	}
	// A tenant Storage no longer has: its ID still gets its vectors
	// deleted (the end of an interrupted delete), then ErrNotFound.
	if err := c.DeleteTenant(ctx, tenantID); err != nil {
		if errors.Is(err, minirag.ErrNotFound) {
			return fmt.Errorf("tenant %q: nothing of it remains: %w", a.tenant, minirag.ErrNotFound)
		}
		return err
	}
	return a.emit(map[string]any{"deleted": tenantID, "slug": slug}, func(w io.Writer) {
		fmt.Fprintf(w, "tenant %s (%s) deleted\n", tenantID, slug)
	})
}
