package local

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/vectorstoretest"
)

func TestConformanceInt8Memory(t *testing.T) {
	vectorstoretest.Run(t, func(t *testing.T) vectorstore.VectorStore {
		s, err := Open("", WithQuantization(Int8))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, 16)
}

func TestConformanceInt8Disk(t *testing.T) {
	var mu sync.Mutex
	dirs := map[vectorstore.VectorStore]string{}
	open := func(t *testing.T, dir string) vectorstore.VectorStore {
		s, err := Open(dir, WithQuantization(Int8), WithCompactionThreshold(4<<10))
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		dirs[s] = dir
		mu.Unlock()
		return s
	}
	vectorstoretest.RunOptions(t, func(t *testing.T) vectorstore.VectorStore {
		return open(t, filepath.Join(t.TempDir(), "vs"))
	}, 16, vectorstoretest.Options{
		Reopen: func(t *testing.T, old vectorstore.VectorStore) vectorstore.VectorStore {
			mu.Lock()
			dir := dirs[old]
			mu.Unlock()
			return open(t, dir)
		},
	})
}

// TestDotI8: the int8 kernel (assembly on amd64) equals the portable one
// for every length, tails included.
func TestDotI8(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for d := 1; d <= 80; d++ {
		q := make([]int16, d)
		for i := range q {
			q[i] = int16(r.IntN(65535) - 32767)
		}
		codes := make([]int8, 3*d)
		for i := range codes {
			codes[i] = int8(r.IntN(255) - 127)
		}
		got, want := make([]int32, 3), make([]int32, 3)
		dotI8Block(q, codes, got)
		dotI8BlockGeneric(q, codes, want)
		if got != nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("dims %d: %v, want %v", d, got, want)
		}
		var exact int64
		for i := range d {
			exact += int64(q[i]) * int64(codes[i])
		}
		if int64(want[0]) != exact {
			t.Fatalf("dims %d: generic %d, want %d", d, want[0], exact)
		}
	}
}

// TestInt8Recall: on random unit vectors, an Int8 search returns the exact
// top 10 (recall@10 >= 0.99 over many queries) with the exact scores, with
// and without a filter.
func TestInt8Recall(t *testing.T) {
	const n, dims, queries = 20000, 64, 50
	ctx := context.Background()
	space := vectorstore.Space{Model: "m", Dims: dims}
	exact, _ := Open("")
	quant, _ := Open("", WithQuantization(Int8))
	for _, s := range []*Store{exact, quant} {
		if err := s.Init(ctx, space); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(9, 9))
	recs := make([]vectorstore.Record, n)
	for i := range recs {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		recs[i] = vectorstore.Record{ID: fmt.Sprint("r", i), TenantID: "t", BotID: fmt.Sprint("b", i%4), Vector: v}
	}
	for _, s := range []*Store{exact, quant} {
		if err := s.Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	for _, bot := range []string{"", "b1"} {
		found, total := 0, 0
		for range queries {
			q := make([]float32, dims)
			for j := range q {
				q[j] = float32(r.NormFloat64())
			}
			query := vectorstore.Query{Vector: q, TopK: 10, Filter: vectorstore.Filter{TenantID: "t", BotID: bot}}
			want, err := exact.Search(ctx, query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := quant.Search(ctx, query)
			if err != nil {
				t.Fatal(err)
			}
			scores := map[string]float32{}
			for _, m := range want {
				scores[m.ID] = m.Score
			}
			for _, m := range got {
				if sc, ok := scores[m.ID]; ok {
					found++
					if sc != m.Score {
						t.Fatalf("%s: score %v, exact %v", m.ID, m.Score, sc)
					}
				}
			}
			total += len(want)
		}
		if recall := float64(found) / float64(total); recall < 0.99 {
			t.Errorf("bot %q: recall@10 = %.3f, want >= 0.99", bot, recall)
		}
	}
}

// TestInt8Persistence: an Int8 store on disk holds the same records as a
// Float32 one after writes, deletes, compactions and reopening, including
// reopening a folder in the other mode.
func TestInt8Persistence(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	ref := openInit(t, "")
	s := openInit(t, root, WithQuantization(Int8), WithCompactionThreshold(0))
	r := rand.New(rand.NewPCG(10, 10))
	both := func(f func(s *Store) error) {
		t.Helper()
		for _, st := range []*Store{ref, s} {
			if err := f(st); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(what string) {
		t.Helper()
		if got, want := dump(s), dump(ref); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: state differs", what)
		}
	}
	recs := randRecs(r, 60, "a")
	both(func(s *Store) error { return s.Upsert(ctx, recs) })
	check("after upsert")
	both(func(s *Store) error { return s.Compact(ctx) })
	check("after compaction")
	recs = randRecs(r, 20, "a")
	both(func(s *Store) error { return s.Upsert(ctx, recs) })
	both(func(s *Store) error {
		return s.Delete(ctx, vectorstore.Filter{TenantID: "t1", SourceIDs: []string{"s2"}})
	})
	check("after writes over the snapshot")
	mustClose(t, s)
	for i, q := range []Quantization{Int8, Float32, Int8} {
		s = openInit(t, root, WithQuantization(q), WithCompactionThreshold(0))
		check(fmt.Sprintf("reopen %d", i))
		recs = randRecs(r, 7, fmt.Sprint("n", i))
		both(func(s *Store) error { return s.Upsert(ctx, recs) })
		both(func(s *Store) error { return s.Compact(ctx) })
		check(fmt.Sprintf("compaction %d", i))
		mustClose(t, s)
	}
	// Searches agree with the exact store.
	s = openInit(t, root, WithQuantization(Int8))
	defer mustClose(t, s)
	for i := range 20 {
		q := vectorstore.Query{Vector: randRecs(r, 1, "q")[0].Vector, TopK: 5, Filter: vectorstore.Filter{TenantID: fmt.Sprint("t", i%3)}}
		got, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ref.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("search %d: %v, want %v", i, got, want)
		}
	}
}

// TestSnapshotFormat1: a folder whose snapshot was written in format 1 (by
// an earlier version) opens, in both modes, and the next compaction
// rewrites it in format 2.
func TestSnapshotFormat1(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(11, 11))
	for _, q := range []Quantization{Float32, Int8} {
		root := t.TempDir()
		s := openInit(t, root, WithCompactionThreshold(0))
		if err := s.Upsert(ctx, randRecs(r, 40, "a")); err != nil {
			t.Fatal(err)
		}
		want := dump(s)
		snap := filepath.Join(s.dir, snapName)
		writeSnapshotV1(t, s, snap)
		mustClose(t, s)
		os.Remove(walPath(root))
		s = openInit(t, root, WithQuantization(q))
		if got := dump(s); !reflect.DeepEqual(got, want) {
			t.Fatalf("%d: format 1 snapshot: state differs", q)
		}
		if err := s.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		mustClose(t, s)
		b, _ := os.ReadFile(snap)
		if string(b[:8]) != snap3Magic {
			t.Fatalf("compaction wrote %q", b[:8])
		}
		s = openInit(t, root, WithQuantization(q))
		if got := dump(s); !reflect.DeepEqual(got, want) {
			t.Fatalf("%d: rewritten snapshot: state differs", q)
		}
		mustClose(t, s)
	}
}

// writeSnapshotV1 writes s's state as the format 1 snapshot of earlier
// versions.
func writeSnapshotV1(t *testing.T, s *Store, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	crc := crc32.New(castagnoli)
	w := bufio.NewWriter(io.MultiWriter(f, crc))
	b := fileHeader(snapMagic, s.space)
	b = binary.LittleEndian.AppendUint64(b, s.seq)
	b = appendUvarint(b, uint64(len(s.tenants)))
	for tenant, p := range s.tenants {
		b = appendString(b, tenant)
		b = appendUvarint(b, uint64(p.n))
		for r := 0; r < p.n; r++ {
			m := p.meta(r)
			b = appendString(b, p.id(r))
			b = appendString(b, s.in.strs[m.bot])
			b = appendString(b, s.in.strs[m.source])
			b = appendString(b, s.in.strs[m.doc])
			b = appendFloats(b, p.vec(r))
		}
	}
	w.Write(b)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
}
