package bench

// Qdrant adapter benchmarks: vectorstore/qdrant against the in-process fake
// Qdrant (internal/qdrantfake) on a loopback gRPC connection, to measure the
// adapter's own overhead (validation, point IDs, payload encoding,
// batching), not Qdrant's. Each benchmark has two variants on the same
// server and data:
//
//   - adapter: through qdrant.Store (Upsert / Search);
//   - raw: the same requests, built before the timer starts, sent with the
//     go-client directly.
//
// adapter minus raw is what the adapter adds. Run with:
//
//	cd bench && go test -run '^$' -bench Qdrant -benchmem -count 5
//
// Figures: docs/perf-qdrant.md.

import (
	"fmt"
	"math/rand/v2"
	"testing"

	qc "github.com/qdrant/go-client/qdrant"

	"github.com/minirag/minirag/internal/qdrantfake"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/qdrant"
)

const (
	qdrantVectors = 10_000
	qdrantDims    = 384
	qdrantBatch   = 256
	qdrantTenants = 10
	qdrantBots    = 4
)

var qdrantSpace = vectorstore.Space{Model: "bench-384", Dims: qdrantDims}

// qdrantRecords returns n random records spread over qdrantTenants tenants
// and qdrantBots bots per tenant.
func qdrantRecords(n int) []vectorstore.Record {
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([]vectorstore.Record, n)
	for i := range recs {
		v := make([]float32, qdrantDims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		t := i % qdrantTenants
		recs[i] = vectorstore.Record{
			ID:         fmt.Sprintf("chunk-%06d", i),
			TenantID:   fmt.Sprintf("tenant-%02d", t),
			BotID:      fmt.Sprintf("bot-%d", (i/qdrantTenants)%qdrantBots),
			SourceID:   fmt.Sprintf("source-%d", i%50),
			DocumentID: fmt.Sprintf("doc-%d", i%500),
			Vector:     v,
		}
	}
	return recs
}

func qdrantStore(b *testing.B) (*qdrantfake.Server, *qc.Client, *qdrant.Store) {
	b.Helper()
	srv := qdrantfake.Start(b, qdrantfake.Options{})
	client := srv.Client(b)
	s, err := qdrant.New(client, qdrant.Options{BatchSize: qdrantBatch})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Init(b.Context(), qdrantSpace); err != nil {
		b.Fatal(err)
	}
	return srv, client, s
}

// rawUpserts builds the requests the adapter sends for recs, as a caller of
// the go-client would.
func rawUpserts(coll string, recs []vectorstore.Record) []*qc.UpsertPoints {
	var reqs []*qc.UpsertPoints
	for start := 0; start < len(recs); start += qdrantBatch {
		end := min(start+qdrantBatch, len(recs))
		req := &qc.UpsertPoints{CollectionName: coll, Wait: qc.PtrOf(true)}
		for _, r := range recs[start:end] {
			req.Points = append(req.Points, &qc.PointStruct{
				Id:      qc.NewIDUUID(qdrant.PointID(r.TenantID, r.ID)),
				Vectors: qc.NewVectorsDense(r.Vector),
				Payload: map[string]*qc.Value{
					qdrant.FieldTenant:   qc.NewValueString(r.TenantID),
					qdrant.FieldChunk:    qc.NewValueString(r.ID),
					qdrant.FieldBot:      qc.NewValueString(r.BotID),
					qdrant.FieldSource:   qc.NewValueString(r.SourceID),
					qdrant.FieldDocument: qc.NewValueString(r.DocumentID),
				},
			})
		}
		reqs = append(reqs, req)
	}
	return reqs
}

// BenchmarkQdrantUpsert writes 10,000 vectors of 384 dimensions per
// iteration in batches of 256 (40 requests, wait=true).
func BenchmarkQdrantUpsert(b *testing.B) {
	recs := qdrantRecords(qdrantVectors)
	b.Run("adapter", func(b *testing.B) {
		_, _, s := qdrantStore(b)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if err := s.Upsert(b.Context(), recs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(qdrantVectors*b.N)/b.Elapsed().Seconds(), "vectors/s")
	})
	b.Run("raw", func(b *testing.B) {
		_, client, s := qdrantStore(b)
		reqs := rawUpserts(s.Collection(), recs)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			for _, req := range reqs {
				if _, err := client.Upsert(b.Context(), req); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(qdrantVectors*b.N)/b.Elapsed().Seconds(), "vectors/s")
	})
}

// BenchmarkQdrantSearch runs a top-10 search filtered by tenant and bot
// (1,000 points per tenant, 250 per bot) over 10,000 vectors of 384
// dimensions, cycling over 64 query vectors.
func BenchmarkQdrantSearch(b *testing.B) {
	recs := qdrantRecords(qdrantVectors)
	queries := qdrantRecords(64)
	filter := func(i int) vectorstore.Filter {
		return vectorstore.Filter{TenantID: fmt.Sprintf("tenant-%02d", i%qdrantTenants), BotID: fmt.Sprintf("bot-%d", i%qdrantBots)}
	}
	b.Run("adapter", func(b *testing.B) {
		_, _, s := qdrantStore(b)
		if err := s.Upsert(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			m, err := s.Search(b.Context(), vectorstore.Query{Vector: queries[i%len(queries)].Vector, TopK: 10, Filter: filter(i)})
			if err != nil || len(m) != 10 {
				b.Fatalf("Search: %d matches, %v", len(m), err)
			}
			i++
		}
	})
	b.Run("raw", func(b *testing.B) {
		_, client, s := qdrantStore(b)
		if err := s.Upsert(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
		reqs := make([]*qc.QueryPoints, len(queries))
		for i, q := range queries {
			f := filter(i)
			reqs[i] = &qc.QueryPoints{
				CollectionName: s.Collection(),
				Query:          qc.NewQueryDense(q.Vector),
				Filter: &qc.Filter{Must: []*qc.Condition{
					qc.NewMatchKeyword(qdrant.FieldTenant, f.TenantID),
					qc.NewMatchKeyword(qdrant.FieldBot, f.BotID),
				}},
				Limit:       qc.PtrOf(uint64(10)),
				WithPayload: qc.NewWithPayloadInclude(qdrant.FieldChunk),
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			res, err := client.Query(b.Context(), reqs[i%len(reqs)])
			if err != nil || len(res) != 10 {
				b.Fatalf("Query: %d results, %v", len(res), err)
			}
			i++
		}
	})
}
