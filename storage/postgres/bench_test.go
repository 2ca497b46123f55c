package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/minirag/minirag/internal/testsvc"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
	"github.com/minirag/minirag/storage/postgres"
)

// benchPGStore returns a store on a fresh schema of the PostgreSQL test
// server (skipped when MINIRAG_TEST_POSTGRES_URL is unset) with a tenant, a
// bot and a source.
func benchPGStore(b *testing.B) *postgres.Store {
	url := testsvc.PostgresURL(b)
	p := testsvc.Pool(b, testsvc.PoolConfig(b, url, 4))
	s, err := postgres.New(b.Context(), p, postgres.WithSchema(testsvc.Schema(b, url)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	now := time.Now()
	for _, err := range []error{
		s.CreateTenant(ctx, record.Tenant{ID: "t", Slug: "t", CreatedAt: now, UpdatedAt: now}),
		s.CreateBot(ctx, record.Bot{ID: "b", TenantID: "t", CreatedAt: now, UpdatedAt: now}),
		s.CreateSource(ctx, record.Source{ID: "s", TenantID: "t", BotID: "b", Type: record.SourceText, Status: record.StatusPending, CreatedAt: now, UpdatedAt: now}),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// benchItem is a document of one chunk shaped like the ingestion
// benchmark's.
func benchItem(i int) storage.DocumentWithChunks {
	d := record.Document{ID: fmt.Sprintf("d%d", i), TenantID: "t", SourceID: "s", Key: fmt.Sprintf("k%d", i), Title: fmt.Sprintf("Service %d", i),
		Metadata: record.Metadata{"format": "markdown"}}
	return storage.DocumentWithChunks{Document: d, Chunks: []record.Chunk{{ID: fmt.Sprintf("c%d", i),
		Text: fmt.Sprintf("Service %d handles request class %d with a timeout of %d seconds and retries %d times.", i, i%6, i%90, i%5), HeadingPath: []string{d.Title}}}}
}

// BenchmarkPutDocumentGroup stores one-chunk documents in groups of 64,
// one PutDocument each inside one InTx.
func BenchmarkPutDocumentGroup(b *testing.B) {
	s := benchPGStore(b)
	i := 0
	for b.Loop() {
		err := s.InTx(b.Context(), func(tx storage.Storage) error {
			for range 64 {
				it := benchItem(i)
				i++
				if _, err := tx.PutDocument(b.Context(), it.Document, it.Chunks); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkPutDocuments stores the same documents in groups of 64, one
// PutDocuments call (one pgx.Batch) per group.
func BenchmarkPutDocuments(b *testing.B) {
	s := benchPGStore(b)
	i := 0
	items := make([]storage.DocumentWithChunks, 64)
	for b.Loop() {
		for j := range items {
			items[j] = benchItem(i)
			i++
		}
		if _, err := s.PutDocuments(b.Context(), items); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "docs/s")
}
