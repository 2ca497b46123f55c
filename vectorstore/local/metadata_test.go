package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// copyDir copies the files of src (one level of folders) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotFormat2Opens: a folder written before metadata existed
// (testdata/format2: a format 2 snapshot of 20 records, then a log with an
// upsert of 4 and a delete of r00, made by the store as of commit d91cb54)
// opens with every record, takes metadata, compacts to format 3 and
// reopens with both.
func TestSnapshotFormat2Opens(t *testing.T) {
	ctx := context.Background()
	sp := vectorstore.Space{Model: "fixture-v2", Dims: 4}
	for name, quant := range map[string]Quantization{"float32": Float32, "int8": Int8} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "vs")
			copyDir(t, "testdata/format2", dir)
			open := func() *Store {
				s, err := Open(dir, WithQuantization(quant), WithCompactionThreshold(0))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Init(ctx, sp); err != nil {
					t.Fatal(err)
				}
				return s
			}
			s := open()
			want := map[string][]string{}
			for i := range 24 {
				tenant := []string{"t1", "t2"}[i%2]
				if i != 0 {
					want[tenant] = append(want[tenant], fmt.Sprintf("r%02d", i))
				}
			}
			check := func(s *Store, mf filter.Filter, tenant string, ids []string) {
				t.Helper()
				recs := listFilter(t, s, vectorstore.Filter{TenantID: tenant, Metadata: mf})
				if !slices.Equal(recs, ids) {
					t.Fatalf("%s %v: %q, want %q", tenant, mf, recs, ids)
				}
				// r05 = (1, 5, 0, -1): its own best match.
				if tenant == "t2" && slices.Contains(ids, "r05") {
					ms, err := s.Search(ctx, vectorstore.Query{Vector: []float32{1, 5, 0, -1}, TopK: 1, Filter: vectorstore.Filter{TenantID: tenant, Metadata: mf}})
					if err != nil || len(ms) != 1 || ms[0].ID != "r05" {
						t.Fatalf("search for r05: %v %v", ms, err)
					}
				}
			}
			for tenant, ids := range want {
				check(s, filter.Filter{}, tenant, ids)
				check(s, filter.Not(filter.Exists("lang")), tenant, ids)
			}
			if err := s.SetMetadata(ctx, vectorstore.Filter{TenantID: "t2", DocumentIDs: []string{"d5"}}, record.Metadata{"lang": "en"}); err != nil {
				t.Fatal(err)
			}
			d5 := []string{"r05", "r11", "r17", "r23"}
			check(s, filter.Eq("lang", "en"), "t2", d5)
			if err := s.Compact(ctx); err != nil {
				t.Fatal(err)
			}
			mustClose(t, s)
			if b, err := os.ReadFile(filepath.Join(dir, folderName(sp.Model), snapName)); err != nil || string(b[:8]) != snap3Magic {
				t.Fatalf("snapshot after compaction: %q, %v; want format 3", b[:min(8, len(b))], err)
			}
			s = open()
			defer mustClose(t, s)
			check(s, filter.Eq("lang", "en"), "t2", d5)
			check(s, filter.Eq("lang", "en"), "t1", nil)
			check(s, filter.Filter{}, "t1", want["t1"])
			check(s, filter.Filter{}, "t2", want["t2"])
		})
	}
}

func listFilter(t *testing.T, s *Store, f vectorstore.Filter) []string {
	t.Helper()
	recs, next, err := s.List(context.Background(), f, "", 1000)
	if err != nil || next != "" {
		t.Fatalf("List: %v (next %q)", err, next)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestMetadataInterned: chunks of one document share one table entry, an
// entry goes when its last row does, and upserts by log replay and from a
// snapshot agree.
func TestMetadataInterned(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openInit(t, dir, WithCompactionThreshold(0))
	r := rand.New(rand.NewPCG(3, 3))
	var recs []vectorstore.Record
	for d := range 10 {
		md := record.Metadata{"doc": d, "lang": "en"}
		for c := range 20 {
			recs = append(recs, vectorstore.Record{ID: fmt.Sprintf("d%d-c%d", d, c), TenantID: "t", DocumentID: fmt.Sprintf("d%d", d), Vector: randRecs(r, 1, "x")[0].Vector, Metadata: md})
		}
	}
	if err := s.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	entries := func(s *Store) int {
		p := s.tenants["t"]
		return len(p.md.ids)
	}
	if n := entries(s); n != 10 {
		t.Fatalf("%d metadata entries for 10 documents", n)
	}
	if err := s.Delete(ctx, vectorstore.Filter{TenantID: "t", DocumentIDs: []string{"d3"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMetadata(ctx, vectorstore.Filter{TenantID: "t", DocumentIDs: []string{"d4"}}, record.Metadata{"doc": 5, "lang": "en"}); err != nil {
		t.Fatal(err)
	}
	if n := entries(s); n != 8 {
		t.Fatalf("%d metadata entries after deleting one document and merging two", n)
	}
	mustClose(t, s)
	s = openInit(t, dir, WithCompactionThreshold(0))
	if n := entries(s); n != 8 {
		t.Fatalf("%d metadata entries after replay", n)
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	s = openInit(t, dir)
	defer mustClose(t, s)
	if n := entries(s); n != 8 {
		t.Fatalf("%d metadata entries after a snapshot", n)
	}
	if got := listFilter(t, s, vectorstore.Filter{TenantID: "t", Metadata: filter.Eq("doc", 5)}); len(got) != 40 {
		t.Fatalf("%d records with doc 5, want 40", len(got))
	}
}

// TestMetadataRejected: bad metadata in an Upsert or SetMetadata stores
// nothing and names the field.
func TestMetadataRejected(t *testing.T) {
	ctx := context.Background()
	s := openInit(t, "")
	defer mustClose(t, s)
	v := make([]float32, testDims)
	v[0] = 1
	err := s.Upsert(ctx, []vectorstore.Record{
		{ID: "a", TenantID: "t", Vector: v, Metadata: record.Metadata{"ok": 1}},
		{ID: "b", TenantID: "t", Vector: v, Metadata: record.Metadata{"bad key": 1}},
	})
	if err == nil || !errors.Is(err, record.ErrInvalidInput) || !strings.Contains(err.Error(), "records[1].metadata") {
		t.Fatalf("Upsert with a bad key: %v", err)
	}
	if s.Len("t") != 0 {
		t.Fatal("a batch with bad metadata stored records")
	}
	err = s.SetMetadata(ctx, vectorstore.Filter{TenantID: "t"}, record.Metadata{"x": make(chan int)})
	if err == nil || !errors.Is(err, record.ErrInvalidInput) || !strings.Contains(err.Error(), "metadata") {
		t.Fatalf("SetMetadata with a channel: %v", err)
	}
}

// TestMetadataFilterRows: searches filtered by metadata (alone, and with a
// bot or a source) return what a full check of every row finds, in both
// modes, whichever path serves them (the filter's cached row list for a
// few rows, the bitmap scan for many), also when the same filter is
// repeated after records are added, deleted or given other metadata.
func TestMetadataFilterRows(t *testing.T) {
	ctx := context.Background()
	for _, q := range []Quantization{Float32, Int8} {
		s := openInit(t, "", WithQuantization(q))
		r := rand.New(rand.NewPCG(13, 13))
		recs := randRecs(r, 3000, "m")
		mds := make([]record.Metadata, 300)
		for d := range mds {
			mds[d] = record.Metadata{"cat": float64(d % 20)}
		}
		for i := range recs {
			recs[i].TenantID, recs[i].DocumentID = "t", fmt.Sprint("d", i/10)
			recs[i].Metadata = mds[i/10]
		}
		if err := s.Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
		filters := []vectorstore.Filter{
			{TenantID: "t", Metadata: filter.Eq("cat", 3)},              // 5%: a list
			{TenantID: "t", Metadata: filter.In("cat", 1, 5, 9, 13)},    // 20%
			{TenantID: "t", Metadata: filter.Lt("cat", 12)},             // 60%: the bitmap scan
			{TenantID: "t", Metadata: filter.Not(filter.Eq("cat", 3))},  // 95%
			{TenantID: "t", BotID: "b1", Metadata: filter.Lt("cat", 8)}, // a bot's list narrowed
			{TenantID: "t", SourceIDs: []string{"s1", "s2"}, Metadata: filter.Eq("cat", 3)},
			{TenantID: "t", SourceIDs: []string{"s1", "s2"}, Metadata: filter.Lt("cat", 15)},
		}
		check := func(what string) {
			t.Helper()
			for range 2 { // the second time from the cached lists
				for _, f := range filters {
					qv := randRecs(r, 1, "q")[0].Vector
					got, err := s.Search(ctx, vectorstore.Query{Vector: qv, TopK: 5, Filter: f})
					if err != nil {
						t.Fatal(err)
					}
					want := bruteForceMetadata(s, qv, 5, f)
					ids := make([]string, len(got))
					for i, m := range got {
						ids[i] = m.ID
					}
					if !slices.Equal(ids, want) {
						t.Fatalf("%v %s %s: %v, want %v", q, what, f.Metadata, ids, want)
					}
				}
			}
		}
		check("after upsert")
		more := randRecs(r, 200, "n")
		for i := range more {
			more[i].TenantID, more[i].DocumentID, more[i].Metadata = "t", "dn", record.Metadata{"cat": float64(3)}
		}
		if err := s.Upsert(ctx, more); err != nil {
			t.Fatal(err)
		}
		check("after adding")
		if err := s.Delete(ctx, vectorstore.Filter{TenantID: "t", Metadata: filter.In("cat", 3, 5)}); err != nil {
			t.Fatal(err)
		}
		check("after deleting")
		if err := s.SetMetadata(ctx, vectorstore.Filter{TenantID: "t", Metadata: filter.Eq("cat", 9)}, record.Metadata{"cat": float64(3)}); err != nil {
			t.Fatal(err)
		}
		check("after setting metadata")
		mustClose(t, s)
	}
}

// bruteForceMetadata is bruteForce for a filter with metadata: the exact
// top k by a check and a score of every row.
func bruteForceMetadata(s *Store, qv []float32, k int, f vectorstore.Filter) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.tenants[f.TenantID]
	if p == nil {
		return []string{}
	}
	c, ok := s.compile(p, f)
	if !ok {
		return []string{}
	}
	inv, _ := invNorm(qv)
	q := make([]float32, len(qv))
	normalizeInto(q, qv, inv)
	var all []hit
	vec, buf := make([]float32, p.dims), make([]byte, 4*p.dims)
	for r := 0; r < p.n; r++ {
		if p.matchRow(&c, r) {
			v, _ := s.rowFloats(p, r, vec, buf)
			all = append(all, hit{dot(q, v), int32(r)})
		}
	}
	p.sortHits(all)
	out := []string{}
	for _, h := range all[:min(k, len(all))] {
		out = append(out, p.id(int(h.row)))
	}
	return out
}
