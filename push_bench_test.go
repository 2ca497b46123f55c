package minirag

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/filter"
)

// benchPushStack opens the embedded stack (SQLite file, local vector
// store, hashing embedder) in a temporary folder with a documents source.
func benchPushStack(b *testing.B) (*TenantHandle, Bot, Source) {
	ctx := b.Context()
	c, err := Open(ctx, b.TempDir())
	require.NoError(b, err)
	b.Cleanup(func() { _ = c.Close() })
	bs, err := c.CreateTenant(ctx, CreateTenantParams{Name: "Bench", Slug: "bench", OwnerEmail: "o@bench.example"})
	require.NoError(b, err)
	h := c.Tenant(bs.Tenant.ID)
	bot, err := h.CreateBot(ctx, BotParams{Name: "bot"})
	require.NoError(b, err)
	return h, bot, documentsSource(b, ctx, h, bot.ID)
}

// BenchmarkUpsertDocuments pushes new records (one chunk each) in calls
// of 500 into the embedded stack: documents/s of the whole push path
// (validation, chunking, embedding with the hashing embedder, vectors,
// Storage), and of a push of the same records again (all unchanged).
//
//	go test -run '^$' -bench BenchmarkUpsertDocuments -benchtime 4x .
func BenchmarkUpsertDocuments(b *testing.B) {
	const n, batch = 5000, 500
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			h, _, src := benchPushStack(b)
			b.StartTimer()
			pushBatches(b, b.Context(), h, src.ID, 0, n, batch, "first")
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "docs/s")
	})
	b.Run("unchanged", func(b *testing.B) {
		h, _, src := benchPushStack(b)
		pushBatches(b, b.Context(), h, src.ID, 0, n, batch, "first")
		b.ResetTimer()
		for b.Loop() {
			pushBatches(b, b.Context(), h, src.ID, 0, n, batch, "first")
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "docs/s")
	})
}

// BenchmarkSearchFilter searches a bot of 10,000 pushed records (four
// categories, five priorities) without a filter, with a broad one (a
// category: 25%), a selective one (one category and priority and an
// opening-time range: about 1%) and an array one, in each mode.
//
//	go test -run '^$' -bench BenchmarkSearchFilter -benchtime 200x .
func BenchmarkSearchFilter(b *testing.B) {
	h, bot, src := benchPushStack(b)
	pushBatches(b, b.Context(), h, src.ID, 0, 10000, 1000, "first")
	filters := []struct {
		name string
		f    filter.Filter
	}{
		{"none", filter.Filter{}},
		{"broad", filter.Eq("category", "billing")},
		{"selective", filter.And(filter.Eq("category", "billing"), filter.Eq("priority", 3),
			filter.Lt("opened", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)))},
		{"array", filter.In("tags", "t1")},
	}
	for _, mode := range []SearchMode{SearchDense, SearchLexical, SearchHybrid} {
		for _, f := range filters {
			b.Run(fmt.Sprintf("%s/%s", mode, f.name), func(b *testing.B) {
				req := SearchRequest{BotID: bot.ID, Query: "customer reports issue about billing", Mode: mode, TopK: 10, Filter: f.f}
				for b.Loop() {
					rs, err := h.Search(b.Context(), req)
					if err != nil || len(rs) == 0 {
						b.Fatalf("%d results, %v", len(rs), err)
					}
				}
			})
		}
	}
}
