package qdrant

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"

	"github.com/minirag/minirag/vectorstore"
)

// BenchmarkBuildPoints measures the adapter's client-side work per Upsert
// without any network: validation, point IDs, payloads, for 10,000
// records of 384 dimensions. (bench/qdrant_test.go measures the whole
// round trip against the in-process server.)
func BenchmarkBuildPoints(b *testing.B) {
	const n, dims = 10_000, 384
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([]vectorstore.Record, n)
	for i := range recs {
		v := make([]float32, dims)
		for j := range v {
			v[j] = r.Float32()
		}
		recs[i] = vectorstore.Record{
			ID: fmt.Sprintf("chunk-%06d", i), TenantID: fmt.Sprintf("tenant-%02d", i%10),
			BotID: "bot-1", SourceID: "source-1", DocumentID: fmt.Sprintf("doc-%d", i%500), Vector: v,
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		pts, err := buildPoints(recs, dims)
		if err != nil || len(pts) != n {
			b.Fatalf("buildPoints: %d points, %v", len(pts), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/vector")
}

func TestPointIDFastPathMatchesUUIDv5(t *testing.T) {
	var buf []byte
	for _, c := range [][2]string{{"t1", "chunk-1"}, {"", ""}, {"tenant", "ü/ß\x00"}, {"a", "bc"}} {
		var got string
		got, buf = pointID(buf, c[0], c[1])
		want := uuid.NewSHA1(pointNamespace, []byte(c[0]+"\x00"+c[1])).String()
		if got != want || PointID(c[0], c[1]) != want {
			t.Fatalf("pointID(%q, %q) = %s, PointID = %s, want %s", c[0], c[1], got, PointID(c[0], c[1]), want)
		}
	}
}

func TestBuildPointsLastWins(t *testing.T) {
	recs := []vectorstore.Record{
		{ID: "a", TenantID: "t", Vector: []float32{1, 0}},
		{ID: "b", TenantID: "t", Vector: []float32{0, 1}},
		{ID: "a", TenantID: "t", Vector: []float32{0, 2}},
		{ID: "a", TenantID: "u", Vector: []float32{3, 0}},
	}
	pts, err := buildPoints(recs, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 {
		t.Fatalf("got %d points, want 3", len(pts))
	}
	if got := pts[0].GetVectors().GetVector().GetDense().GetData(); got[1] != 2 {
		t.Fatalf("first point has vector %v, want the last record of ID a in tenant t", got)
	}
	if pts[0].GetId().GetUuid() != PointID("t", "a") || pts[2].GetId().GetUuid() != PointID("u", "a") {
		t.Fatalf("point IDs are not PointID(tenant, chunk)")
	}
}
