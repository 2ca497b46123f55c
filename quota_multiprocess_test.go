package minirag_test

// Quotas and the usage ledger shared by several processes:
// TestMultiProcessQuota starts three processes (this test binary again,
// running TestHelperQuota) on one PostgreSQL schema; each searches as a
// query token from many goroutines at once, all in one minute, and adds to
// the usage ledger. Exactly RequestsPerMinute searches pass in all, and
// every addition is counted.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/embed/hashing"
	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
)

const (
	envHelperQuota = "MINIRAG_HELPER_QUOTA" // "schema tenant bot unix-seconds"
	mqProcs        = 3
	mqGoroutines   = 8
	mqEach         = 5 // searches per goroutine
	mqLimit        = 50
	mqUsageAdds    = 20 // AddUsage calls per process
)

// quotaClient opens a Client on the PostgreSQL schema with a fixed clock
// and the test's quota.
func quotaClient(t *testing.T, ctx context.Context, schema string, now time.Time) *minirag.Client {
	t.Helper()
	st, err := postgres.New(ctx, testsvc.Pool(t, testsvc.PoolConfig(t, testsvc.PostgresURL(t), 4)), postgres.WithSchema(schema))
	require.NoError(t, err)
	emb, err := hashing.New(hashing.Config{Dimensions: 64})
	require.NoError(t, err)
	c, err := minirag.New(minirag.Config{Storage: st, Embedder: emb, Now: func() time.Time { return now },
		Quotas: func(context.Context, string) (minirag.Quota, error) {
			return minirag.Quota{RequestsPerMinute: mqLimit}, nil
		}})
	require.NoError(t, err)
	return c
}

func TestHelperQuota(t *testing.T) {
	args := strings.Fields(os.Getenv(envHelperQuota))
	if len(args) != 4 {
		t.Skip("helper process of TestMultiProcessQuota; runs only when started by it")
	}
	schema, tenantID, botID := args[0], args[1], args[2]
	sec, err := strconv.ParseInt(args[3], 10, 64)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	c := quotaClient(t, ctx, schema, time.Unix(sec, 0))
	defer c.Close()
	h := c.Scoped(minirag.Principal{TenantID: tenantID, Method: minirag.MethodAPIToken, Scopes: []minirag.Scope{minirag.ScopeQuery}})
	var passed, refused atomic.Int32
	var wg sync.WaitGroup
	for range mqGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range mqEach {
				_, err := h.Search(ctx, minirag.SearchRequest{BotID: botID, Query: "alerts", Mode: minirag.SearchLexical})
				switch {
				case err == nil:
					passed.Add(1)
				case minirag.HTTPStatus(err) == 429:
					refused.Add(1)
				default:
					t.Errorf("search: %v", err)
				}
			}
		}()
	}
	for range mqUsageAdds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, c.Storage().AddUsage(ctx, record.Usage{TenantID: tenantID, BotID: botID, Model: "m", Kind: record.UsageChat,
				Day: time.Unix(sec, 0), Requests: 1, InputTokens: 10, OutputTokens: 1}))
		}()
	}
	wg.Wait()
	fmt.Printf("RESULT passed=%d refused=%d\n", passed.Load(), refused.Load())
}

func TestMultiProcessQuota(t *testing.T) {
	pgURL := testsvc.PostgresURL(t)
	if testing.Short() {
		t.Skip("starts three processes; not in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	schema := testsvc.Schema(t, pgURL)
	now := time.Now().Truncate(time.Minute).Add(10 * time.Second)
	c := quotaClient(t, ctx, schema, now)
	defer c.Close()
	b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "acme", Slug: "acme", OwnerEmail: "owner@acme.example"})
	require.NoError(t, err)
	bot, err := c.Tenant(b.Tenant.ID).CreateBot(ctx, minirag.BotParams{Name: "bot"})
	require.NoError(t, err)

	outs := make([]strings.Builder, mqProcs)
	cmds := make([]*exec.Cmd, mqProcs)
	for i := range cmds {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperQuota$", "-test.count=1", "-test.v", "-test.timeout=45s")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %s %d", envHelperQuota, schema, b.Tenant.ID, bot.ID, now.Unix()))
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		require.NoError(t, cmd.Start())
		cmds[i] = cmd
	}
	passed, refused := 0, 0
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), outs[i].String())
		var p, r int
		for line := range strings.SplitSeq(outs[i].String(), "\n") {
			if strings.HasPrefix(line, "RESULT ") {
				_, err := fmt.Sscanf(line, "RESULT passed=%d refused=%d", &p, &r)
				require.NoError(t, err)
			}
		}
		require.Equal(t, mqGoroutines*mqEach, p+r, "process %d: %s", i, outs[i].String())
		passed += p
		refused += r
	}
	require.Equal(t, mqLimit, passed, "exactly RequestsPerMinute searches pass across the processes")
	require.Equal(t, mqProcs*mqGoroutines*mqEach-mqLimit, refused)

	rows, err := c.Storage().ListUsage(ctx, storage.UsageQuery{TenantID: b.Tenant.ID})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.EqualValues(t, mqProcs*mqUsageAdds, rows[0].Requests, "every process's usage additions are counted")
	require.EqualValues(t, mqProcs*mqUsageAdds*10, rows[0].InputTokens)
}
