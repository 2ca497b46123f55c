package minirag

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConcurrentBootstrapSameSlug(t *testing.T) {
	e := newEnv(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.c.CreateTenant(e.ctx, CreateTenantParams{Name: "Race", Slug: "race", OwnerEmail: "o@race.example"})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assert.True(t, errors.Is(err, ErrConflict), "unexpected error %v", err)
		}
	}
	assert.Equal(t, 1, ok)
	ts, err := e.c.Storage().ListTenants(e.ctx)
	require.NoError(t, err)
	assert.Len(t, ts, 1)
}

func TestConcurrentAuthenticate(t *testing.T) {
	e := newEnv(t)
	b := e.bootstrap(t, "acme")
	s, err := e.c.IssueSession(e.ctx, b.Tenant.ID, b.Owner.ID)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			cred := b.Token.Plaintext
			if i%2 == 1 {
				cred = s.Token
			}
			p, err := e.c.Authenticate(e.ctx, cred)
			if assert.NoError(t, err) {
				assert.Equal(t, b.Tenant.ID, p.TenantID)
			}
		})
	}
	wg.Wait()
}

// BenchmarkAuthenticate measures Authenticate on SQLite in memory: an API
// token (hash, lookup, tenant and user checks) and an HS256 session.
func BenchmarkAuthenticate(b *testing.B) {
	e := newEnv(b)
	bs := e.bootstrap(b, "acme")
	s, err := e.c.IssueSession(e.ctx, bs.Tenant.ID, bs.Owner.ID)
	require.NoError(b, err)
	for name, cred := range map[string]string{"api_token": bs.Token.Plaintext, "jwt_hs256": s.Token} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.c.Authenticate(e.ctx, cred); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
