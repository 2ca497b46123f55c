package qdrant

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// BenchmarkBuildPoints measures the adapter's client-side work per Upsert
// without any network: validation, point IDs, payloads, for 10,000
// records of 384 dimensions, without metadata ("plain") and with six
// fields of metadata each ("metadata": a string, a number, a bool, a time,
// a list of two tags, a non-time string). (bench/qdrant_test.go measures
// the whole round trip against the in-process server.)
func BenchmarkBuildPoints(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchBuildPoints(b, false) })
	b.Run("metadata", func(b *testing.B) { benchBuildPoints(b, true) })
}

func benchBuildPoints(b *testing.B, withMeta bool) {
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
		if withMeta {
			recs[i].Metadata = record.Metadata{
				"lang": "en", "year": float64(2015 + i%10), "draft": i%3 == 0,
				"published": record.FormatTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)),
				"tags":      []any{"go", "sql"}, "title": fmt.Sprintf("Document %d", i%500),
			}
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

func TestValidKeyAndLayoutTime(t *testing.T) {
	for _, k := range []string{"a", "A-b_9", "", "a.b", "a b", "é", string(make([]byte, 65))} {
		if validKey(k) != record.ValidMetadataKey(k) {
			t.Errorf("validKey(%q) = %t, record.ValidMetadataKey says %t", k, validKey(k), record.ValidMetadataKey(k))
		}
	}
	now := time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.UTC)
	for s, ok := range map[string]bool{
		record.FormatTime(now):        true,
		"2024-02-30T00:00:00.000000Z": false,
		"2024-01-01T24:00:00.000000Z": false,
		"2024-01-01T00:00:00.000000+": false,
		"2024-01-01T00:00:00Z":        false,
		"2024-01-01":                  false,
		"x024-01-01T00:00:00.000000Z": false,
	} {
		got, isTime := layoutTime(s)
		if isTime != ok || ok && record.FormatTime(got) != s {
			t.Errorf("layoutTime(%q) = %v, %t; want ok %t", s, got, isTime, ok)
		}
	}
}
