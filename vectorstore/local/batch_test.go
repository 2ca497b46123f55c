package local

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// TestParallelBatchSameAsSerial upserts the same large batches (new rows,
// rows repeated within a batch, updates of earlier rows, metadata, several
// tenants) into a store splitting per-vector work over 4 goroutines and
// into one doing it on one: the logs must be byte for byte the same, and
// so must the rows (vectors, int8 codes and scales, filter IDs, metadata),
// before and after a reopen, in memory and on disk, Float32 and Int8.
func TestParallelBatchSameAsSerial(t *testing.T) {
	for _, dims := range []int{testDims, 384} {
		for _, quant := range []Quantization{Float32, Int8} {
			for _, disk := range []bool{false, true} {
				t.Run(fmt.Sprintf("dims=%d/quant=%d/disk=%v", dims, quant, disk), func(t *testing.T) {
					space := vectorstore.Space{Model: "test/batch", Dims: dims}
					var stores [2]*Store
					var dirs [2]string
					for i, workers := range []int{1, 4} {
						if disk {
							dirs[i] = filepath.Join(t.TempDir(), "vs")
						}
						s, err := Open(dirs[i], WithParallelism(workers), WithQuantization(quant), WithCompactionThreshold(0), WithSync(false))
						if err == nil {
							err = s.Init(context.Background(), space)
						}
						if err != nil {
							t.Fatal(err)
						}
						stores[i] = s
					}
					r := rand.New(rand.NewPCG(uint64(dims), uint64(quant)))
					want := map[string]map[string]row{} // the last record of each ID
					for batch := range 3 {
						recs := batchRecs(r, dims, 2000, batch)
						for _, s := range stores {
							if err := s.Upsert(context.Background(), recs); err != nil {
								t.Fatal(err)
							}
						}
						for _, rec := range recs {
							inv, _ := invNorm(rec.Vector)
							v := make([]float32, dims)
							normalizeInto(v, rec.Vector, inv)
							if want[rec.TenantID] == nil {
								want[rec.TenantID] = map[string]row{}
							}
							want[rec.TenantID][rec.ID] = row{rec.BotID, rec.SourceID, rec.DocumentID, v}
						}
					}
					if !reflect.DeepEqual(dump(stores[1]), want) {
						t.Fatal("the parallel store does not hold the last record of each ID")
					}
					compareStores(t, stores[0], stores[1])
					if !disk {
						return
					}
					logs := [2][]byte{}
					for i, s := range stores {
						mustClose(t, s)
						b, err := os.ReadFile(filepath.Join(dirs[i], folderName(space.Model), walName))
						if err != nil {
							t.Fatal(err)
						}
						logs[i] = b
					}
					if !bytes.Equal(logs[0], logs[1]) {
						t.Fatalf("logs differ (%d and %d bytes)", len(logs[0]), len(logs[1]))
					}
					// Replaying the log splits the work the same way.
					for i, workers := range []int{1, 4} {
						s, err := Open(dirs[i], WithParallelism(workers), WithQuantization(quant))
						if err == nil {
							err = s.Init(context.Background(), space)
						}
						if err != nil {
							t.Fatal(err)
						}
						stores[i] = s
					}
					compareStores(t, stores[0], stores[1])
					for _, s := range stores {
						mustClose(t, s)
					}
				})
			}
		}
	}
}

// batchRecs returns n records in tenants t0..t2, a third of them replacing
// rows of earlier batches, and every 10th repeating an ID of the batch with
// another vector (the last one must win); every 7th has no metadata.
func batchRecs(r *rand.Rand, dims, n, batch int) []vectorstore.Record {
	recs := make([]vectorstore.Record, n)
	for i := range recs {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		id := fmt.Sprintf("b%d-%d", batch, i)
		switch {
		case batch > 0 && i%3 == 0:
			id = fmt.Sprintf("b%d-%d", r.IntN(batch), r.IntN(n))
		case i%10 == 9:
			id = recs[r.IntN(i)].ID
		}
		recs[i] = vectorstore.Record{ID: id, TenantID: fmt.Sprintf("t%d", i%3), BotID: fmt.Sprintf("bot%d", i%2),
			SourceID: fmt.Sprintf("s%d", i%5), DocumentID: fmt.Sprintf("d%d", i/20), Vector: v}
		if i%7 != 0 {
			recs[i].Metadata = record.Metadata{"doc": float64(i / 20), "batch": float64(batch)}
		}
	}
	return recs
}

// compareStores fails unless a and b hold the same rows in the same order.
func compareStores(t *testing.T, a, b *Store) {
	t.Helper()
	if !reflect.DeepEqual(dump(a), dump(b)) {
		t.Fatal("the stores hold different records")
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(a.tenants) != len(b.tenants) {
		t.Fatalf("%d and %d tenants", len(a.tenants), len(b.tenants))
	}
	for tenant, pa := range a.tenants {
		pb := b.tenants[tenant]
		if pb == nil || pa.n != pb.n {
			t.Fatalf("tenant %s: partitions differ", tenant)
		}
		for row := range pa.n {
			if pa.id(row) != pb.id(row) || *pa.meta(row) != *pb.meta(row) ||
				pa.md.jsons[pa.mdOf(row)] != pb.md.jsons[pb.mdOf(row)] {
				t.Fatalf("tenant %s row %d: %s and %s differ", tenant, row, pa.id(row), pb.id(row))
			}
			if pa.quant {
				ba, bb := pa.blocks[row/pa.blockRows], pb.blocks[row/pb.blockRows]
				if !reflect.DeepEqual(pa.code(row), pb.code(row)) || ba.scales[row%pa.blockRows] != bb.scales[row%pb.blockRows] {
					t.Fatalf("tenant %s row %d: codes differ", tenant, row)
				}
			} else if !reflect.DeepEqual(pa.vec(row), pb.vec(row)) {
				t.Fatalf("tenant %s row %d: vectors differ", tenant, row)
			}
		}
	}
}

// TestInt8SnapshotLocations: the rows of a reopened Int8 store find their
// float32s in the snapshot without a per-row location until a row moves
// or changes; deleting (the last row moves into the hole), replacing and
// adding rows after a reopen keeps every row's float32s right, as a
// Float32 store in memory holds them.
func TestInt8SnapshotLocations(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "vs")
	s := openInit(t, dir, WithQuantization(Int8))
	ref := openInit(t, "")
	r := rand.New(rand.NewPCG(5, 5))
	both := func(f func(s *Store) error) {
		t.Helper()
		for _, st := range []*Store{s, ref} {
			if err := f(st); err != nil {
				t.Fatal(err)
			}
		}
	}
	recs := randRecs(r, 3000, "a")
	both(func(st *Store) error { return st.Upsert(ctx, recs) })
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	s = openInit(t, dir, WithQuantization(Int8))
	s.mu.RLock()
	for _, p := range s.tenants {
		for _, b := range p.blocks {
			if b.locs != nil {
				t.Fatal("a block attached from the snapshot holds locations")
			}
		}
	}
	s.mu.RUnlock()
	if !reflect.DeepEqual(dump(s), dump(ref)) {
		t.Fatal("after reopen: rows differ")
	}
	both(func(st *Store) error {
		return st.Delete(ctx, vectorstore.Filter{TenantID: "t0", IDs: []string{"a3", "a300", "a2001"}})
	})
	both(func(st *Store) error { return st.Upsert(ctx, randRecs(rand.New(rand.NewPCG(6, 6)), 40, "a")) })
	both(func(st *Store) error { return st.Upsert(ctx, randRecs(rand.New(rand.NewPCG(7, 7)), 500, "n")) })
	both(func(st *Store) error { return st.Delete(ctx, vectorstore.Filter{TenantID: "t1", BotID: "b1"}) })
	if !reflect.DeepEqual(dump(s), dump(ref)) {
		t.Fatal("after changes: rows differ")
	}
	mustClose(t, s)
	s = openInit(t, dir, WithQuantization(Int8))
	if !reflect.DeepEqual(dump(s), dump(ref)) {
		t.Fatal("after changes and a reopen: rows differ")
	}
	mustClose(t, s)
	mustClose(t, ref)
}
