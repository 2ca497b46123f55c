package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

const testDims = 8

var testSpace = vectorstore.Space{Model: "test/model:v1", Dims: testDims}

func openInit(t *testing.T, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Init(context.Background(), testSpace); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return s
}

func randRecs(r *rand.Rand, n int, prefix string) []vectorstore.Record {
	recs := make([]vectorstore.Record, n)
	for i := range recs {
		v := make([]float32, testDims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		recs[i] = vectorstore.Record{
			ID: fmt.Sprintf("%s%d", prefix, i), TenantID: fmt.Sprintf("t%d", i%3),
			BotID: fmt.Sprintf("b%d", i%2), SourceID: fmt.Sprintf("s%d", i%5), DocumentID: fmt.Sprintf("d%d", i%7),
			Vector: v,
		}
	}
	return recs
}

// row is a record as the store holds it.
type row struct {
	Bot, Source, Doc string
	Vec              []float32
}

// dump returns the whole state of s, for comparisons.
func dump(s *Store) map[string]map[string]row {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]map[string]row{}
	for tenant, p := range s.tenants {
		m := map[string]row{}
		vec, buf := make([]float32, p.dims), make([]byte, 4*p.dims)
		for r := 0; r < p.n; r++ {
			md := p.meta(r)
			v, err := s.rowFloats(p, r, vec, buf)
			if err != nil {
				panic(err)
			}
			m[p.id(r)] = row{s.in.strs[md.bot], s.in.strs[md.source], s.in.strs[md.doc], append([]float32(nil), v...)}
		}
		out[tenant] = m
	}
	return out
}

func mustClose(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func walPath(root string) string { return filepath.Join(root, folderName(testSpace.Model), walName) }

// TestCrashTornTail cuts the log at every byte of its last entry: reopening
// never fails and holds exactly the entries before it.
func TestCrashTornTail(t *testing.T) {
	root := t.TempDir()
	s := openInit(t, root)
	r := rand.New(rand.NewPCG(1, 1))
	ctx := context.Background()
	if err := s.Upsert(ctx, randRecs(r, 20, "a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, vectorstore.Filter{TenantID: "t1", BotID: "b0"}); err != nil {
		t.Fatal(err)
	}
	before := dump(s)
	st, _ := os.Stat(walPath(root))
	lastStart := st.Size()
	if err := s.Upsert(ctx, randRecs(r, 5, "z")); err != nil {
		t.Fatal(err)
	}
	after := dump(s)
	mustClose(t, s)
	full, err := os.ReadFile(walPath(root))
	if err != nil {
		t.Fatal(err)
	}
	for cut := lastStart; cut <= int64(len(full)); cut++ {
		if err := os.WriteFile(walPath(root), full[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		s := openInit(t, root)
		want := before
		if cut == int64(len(full)) {
			want = after
		}
		if got := dump(s); !reflect.DeepEqual(got, want) {
			t.Fatalf("cut at %d of %d: state differs from the last complete entry", cut, len(full))
		}
		// The torn tail is cut off, so a new write lands after good data.
		if cut == lastStart+7 {
			if err := s.Upsert(ctx, randRecs(r, 1, "new")); err != nil {
				t.Fatal(err)
			}
			want = dump(s)
			mustClose(t, s)
			s = openInit(t, root)
			if got := dump(s); !reflect.DeepEqual(got, want) {
				t.Fatalf("write after a torn tail was lost")
			}
		}
		mustClose(t, s)
	}
	// A tail of zeros (file extended, data never written) is torn too.
	zeros := append(append([]byte(nil), full...), make([]byte, 100)...)
	if err := os.WriteFile(walPath(root), zeros, 0o644); err != nil {
		t.Fatal(err)
	}
	s = openInit(t, root)
	if got := dump(s); !reflect.DeepEqual(got, after) {
		t.Fatalf("zero tail: state differs")
	}
	mustClose(t, s)
}

// TestCorruptEntry: damage in an entry followed by others is an error
// (ErrCorrupt), never silent loss; damage in the last entry counts as torn.
func TestCorruptEntry(t *testing.T) {
	root := t.TempDir()
	s := openInit(t, root)
	r := rand.New(rand.NewPCG(2, 2))
	ctx := context.Background()
	var offsets []int64
	var states []map[string]map[string]row
	for i := range 3 {
		st, _ := os.Stat(walPath(root))
		offsets = append(offsets, st.Size())
		if err := s.Upsert(ctx, randRecs(r, 4, fmt.Sprintf("e%d-", i))); err != nil {
			t.Fatal(err)
		}
		states = append(states, dump(s))
	}
	mustClose(t, s)
	full, _ := os.ReadFile(walPath(root))
	for _, c := range []struct {
		name    string
		at      int64
		corrupt bool
	}{
		{"middle entry payload", offsets[1] + entryHead + 10, true},
		{"middle entry length", offsets[1] + 1, true},
		{"middle entry payload checksum", offsets[1] + 9, true},
		{"first entry payload", offsets[0] + entryHead + 3, true},
		{"file header", 2, true},
		{"last entry payload", offsets[2] + entryHead + 10, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := append([]byte(nil), full...)
			bad[c.at] ^= 0x40
			if err := os.WriteFile(walPath(root), bad, 0o644); err != nil {
				t.Fatal(err)
			}
			s, _ := Open(root)
			err := s.Init(ctx, testSpace)
			if c.corrupt {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Init = %v, want ErrCorrupt", err)
				}
				if err := s.Upsert(ctx, randRecs(r, 1, "x")); !errors.Is(err, vectorstore.ErrNotInitialized) {
					t.Fatalf("Upsert after a failed Init = %v, want ErrNotInitialized", err)
				}
			} else {
				if err != nil {
					t.Fatalf("Init: %v", err)
				}
				if got := dump(s); !reflect.DeepEqual(got, states[1]) {
					t.Fatalf("damaged last entry: state is not the one before it")
				}
			}
			mustClose(t, s)
		})
	}
}

// TestSnapshotAndReplay: a snapshot plus the log after it restores the
// state, including when a crash left the old log beside a new snapshot.
func TestSnapshotAndReplay(t *testing.T) {
	root := t.TempDir()
	s := openInit(t, root, WithCompactionThreshold(0))
	r := rand.New(rand.NewPCG(3, 3))
	ctx := context.Background()
	if err := s.Upsert(ctx, randRecs(r, 50, "a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, vectorstore.Filter{TenantID: "t2", SourceIDs: []string{"s1", "s3"}}); err != nil {
		t.Fatal(err)
	}
	oldWAL, _ := os.ReadFile(walPath(root))
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	atSnapshot := dump(s)
	if st, _ := os.Stat(walPath(root)); st.Size() >= int64(len(oldWAL)) {
		t.Fatalf("Compact did not start a new log (%d bytes)", st.Size())
	}
	// Entries after the snapshot: replace, delete, add.
	recs := randRecs(r, 10, "a")
	if err := s.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, vectorstore.Filter{TenantID: "t0", DocumentIDs: []string{"d0"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, vectorstore.Filter{TenantID: "t1"}); err != nil {
		t.Fatal(err)
	}
	want := dump(s)
	mustClose(t, s)

	s = openInit(t, root)
	if got := dump(s); !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot + log: state differs")
	}
	mustClose(t, s)

	// A crash after the snapshot's rename but before the new log: the old
	// log's entries are in the snapshot and must not apply twice.
	if err := os.WriteFile(walPath(root), oldWAL, 0o644); err != nil {
		t.Fatal(err)
	}
	s = openInit(t, root)
	if got := dump(s); !reflect.DeepEqual(got, atSnapshot) {
		t.Fatalf("snapshot + old log: state differs from the snapshot")
	}
	mustClose(t, s)

	// A damaged snapshot is ErrCorrupt.
	snap := filepath.Join(root, folderName(testSpace.Model), snapName)
	b, _ := os.ReadFile(snap)
	b[len(b)/2] ^= 1
	os.WriteFile(snap, b, 0o644)
	s, _ = Open(root)
	if err := s.Init(ctx, testSpace); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged snapshot: Init = %v, want ErrCorrupt", err)
	}
	mustClose(t, s)
}

// TestAutomaticCompaction: with a small threshold the log stays small and
// the state survives reopening.
func TestAutomaticCompaction(t *testing.T) {
	root := t.TempDir()
	s := openInit(t, root, WithCompactionThreshold(2<<10), WithSync(false))
	r := rand.New(rand.NewPCG(4, 4))
	ctx := context.Background()
	for i := range 40 {
		if err := s.Upsert(ctx, randRecs(r, 10, fmt.Sprintf("c%d-", i%15))); err != nil {
			t.Fatal(err)
		}
	}
	want := dump(s)
	if _, err := os.Stat(filepath.Join(root, folderName(testSpace.Model), snapName)); err != nil {
		t.Fatalf("no snapshot written: %v", err)
	}
	st, _ := os.Stat(walPath(root))
	snapSt, _ := os.Stat(filepath.Join(root, folderName(testSpace.Model), snapName))
	if st.Size() > max(2<<10, snapSt.Size())+4<<10 {
		t.Fatalf("log is %d bytes after compactions", st.Size())
	}
	mustClose(t, s)
	s = openInit(t, root)
	if got := dump(s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after compactions and reopen: state differs")
	}
	mustClose(t, s)
}

// TestOtherDimsRejected: files of a space created with other dimensions
// are refused, from the log and from a snapshot.
func TestOtherDimsRejected(t *testing.T) {
	ctx := context.Background()
	for _, compact := range []bool{false, true} {
		root := t.TempDir()
		s := openInit(t, root)
		if err := s.Upsert(ctx, randRecs(rand.New(rand.NewPCG(5, 5)), 3, "a")); err != nil {
			t.Fatal(err)
		}
		if compact {
			if err := s.Compact(ctx); err != nil {
				t.Fatal(err)
			}
		}
		mustClose(t, s)
		s, _ = Open(root)
		err := s.Init(ctx, vectorstore.Space{Model: testSpace.Model, Dims: 2 * testDims})
		if !errors.Is(err, vectorstore.ErrDimensionMismatch) || !errors.Is(err, record.ErrInvalidInput) {
			t.Fatalf("compact=%v: Init with other dims = %v, want ErrDimensionMismatch", compact, err)
		}
		mustClose(t, s)
		// Another model is another folder.
		s, _ = Open(root)
		if err := s.Init(ctx, vectorstore.Space{Model: "other", Dims: 2 * testDims}); err != nil {
			t.Fatalf("Init of another model: %v", err)
		}
		if n := s.Len("t0"); n != 0 {
			t.Fatalf("another model sees %d records", n)
		}
		mustClose(t, s)
	}
}

func TestInvalidInputAndClose(t *testing.T) {
	ctx := context.Background()
	s := openInit(t, "")
	v := make([]float32, testDims)
	v[0] = float32(math.NaN())
	err := s.Upsert(ctx, []vectorstore.Record{{ID: "a", TenantID: "t", Vector: v}})
	if !errors.Is(err, record.ErrInvalidInput) {
		t.Fatalf("NaN vector: %v", err)
	}
	var ve *record.ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Field != "records[0].vector" {
		t.Fatalf("NaN vector error does not name the field: %v", err)
	}
	v[0] = float32(math.Inf(1))
	if _, err := s.Search(ctx, vectorstore.Query{Vector: v, TopK: 1, Filter: vectorstore.Filter{TenantID: "t"}}); !errors.Is(err, record.ErrInvalidInput) {
		t.Fatalf("Inf query: %v", err)
	}
	if err := s.Init(ctx, vectorstore.Space{Model: "another", Dims: testDims}); !errors.Is(err, record.ErrInvalidInput) {
		t.Fatalf("Init of a second model on one store: %v", err)
	}
	mustClose(t, s)
	mustClose(t, s) // twice is fine
	if err := s.Upsert(ctx, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Upsert after Close: %v", err)
	}
	if _, err := s.Search(ctx, vectorstore.Query{Vector: make([]float32, testDims), TopK: 1, Filter: vectorstore.Filter{TenantID: "t"}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Search after Close: %v", err)
	}
	if err := s.Init(ctx, testSpace); !errors.Is(err, ErrClosed) {
		t.Fatalf("Init after Close: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	s = openInit(t, "")
	if err := s.Upsert(cctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Upsert with a canceled context: %v", err)
	}
	mustClose(t, s)
}

// TestInternerReleases: IDs no record uses are forgotten.
func TestInternerReleases(t *testing.T) {
	ctx := context.Background()
	s := openInit(t, "")
	recs := randRecs(rand.New(rand.NewPCG(6, 6)), 30, "a")
	if err := s.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		recs[i].BotID = "same"
	}
	if err := s.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.in.lookup("b0"); ok {
		t.Fatalf("bot b0 still interned after every record moved to another bot")
	}
	for _, tenant := range []string{"t0", "t1", "t2"} {
		if err := s.Delete(ctx, vectorstore.Filter{TenantID: tenant}); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.in.ids) != 0 || len(s.tenants) != 0 {
		t.Fatalf("after deleting everything: %d interned IDs, %d tenants", len(s.in.ids), len(s.tenants))
	}
	mustClose(t, s)
}

// TestLargePartition checks the parallel scan (and block boundaries)
// against brute force.
func TestLargePartition(t *testing.T) {
	ctx := context.Background()
	s := openInit(t, "", WithParallelism(3))
	r := rand.New(rand.NewPCG(7, 7))
	n := parallelMin*2 + 123
	recs := randRecs(r, n, "p")
	for i := range recs {
		recs[i].TenantID = "big"
	}
	if err := s.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	// Swap-removes across blocks.
	if err := s.Delete(ctx, vectorstore.Filter{TenantID: "big", DocumentIDs: []string{"d3"}}); err != nil {
		t.Fatal(err)
	}
	for q := range 5 {
		qv := randRecs(r, 1, "q")[0].Vector
		f := vectorstore.Filter{TenantID: "big"}
		if q%2 == 1 {
			f.SourceIDs = []string{"s1", "s2"}
		}
		type sc struct {
			id    string
			score float64
		}
		var want []sc
		for _, rec := range recs {
			if rec.DocumentID == "d3" || (f.SourceIDs != nil && rec.SourceID != "s1" && rec.SourceID != "s2") {
				continue
			}
			want = append(want, sc{rec.ID, cosine64(qv, rec.Vector)})
		}
		sort.Slice(want, func(i, j int) bool { return want[i].score > want[j].score })
		got, err := s.Search(ctx, vectorstore.Query{Vector: qv, TopK: 25, Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 25 {
			t.Fatalf("%d matches", len(got))
		}
		for i, m := range got {
			if math.Abs(float64(m.Score)-want[i].score) > 1e-4 {
				t.Fatalf("query %d match %d: %v, want %v", q, i, m, want[i])
			}
		}
	}
	deleted := 0
	for _, rec := range recs {
		if rec.DocumentID == "d3" {
			deleted++
		}
	}
	if got := s.Len("big"); got != n-deleted {
		t.Fatalf("Len = %d, want %d", got, n-deleted)
	}
	mustClose(t, s)
}

func cosine64(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}

func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 384, 1536} {
		a, b := make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		var want float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
		}
		if got := dot(a, b); math.Abs(float64(got)-want) > 1e-3*math.Sqrt(float64(n)) {
			t.Fatalf("dot(n=%d) = %v, want %v", n, got, want)
		}
		rows := 5
		m := make([]float32, rows*n)
		for i := range m {
			m[i] = float32(r.NormFloat64())
		}
		out := make([]float32, rows)
		dotBlock(a, m, out)
		for j := range rows {
			if w := dotGeneric(a, m[j*n:(j+1)*n]); math.Abs(float64(out[j]-w)) > 1e-3*math.Sqrt(float64(n)) {
				t.Fatalf("dotBlock(n=%d) row %d = %v, want %v", n, j, out[j], w)
			}
		}
	}
}

// TestExtremeVectors: vectors whose squared norm overflows or underflows
// float32 are still normalized correctly.
func TestExtremeVectors(t *testing.T) {
	ctx := context.Background()
	s := openInit(t, "")
	big := make([]float32, testDims)
	big[0], big[1] = 1e30, 1e30
	tiny := make([]float32, testDims)
	tiny[0] = 1e-40 // subnormal
	if err := s.Upsert(ctx, []vectorstore.Record{{ID: "big", TenantID: "t", Vector: big}, {ID: "tiny", TenantID: "t", Vector: tiny}}); err != nil {
		t.Fatal(err)
	}
	q := make([]float32, testDims)
	q[0] = 1
	ms, err := s.Search(ctx, vectorstore.Query{Vector: q, TopK: 2, Filter: vectorstore.Filter{TenantID: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].ID != "tiny" || math.Abs(float64(ms[0].Score)-1) > 1e-4 ||
		ms[1].ID != "big" || math.Abs(float64(ms[1].Score)-math.Sqrt2/2) > 1e-4 {
		t.Fatalf("extreme vectors: %v, want tiny 1, big 0.7071", ms)
	}
	mustClose(t, s)
}

// TestFolderLocked: a second Store on a folder in use is refused until the
// first is closed.
func TestFolderLocked(t *testing.T) {
	root := t.TempDir()
	s := openInit(t, root)
	s2, _ := Open(root)
	if err := s2.Init(context.Background(), testSpace); !errors.Is(err, record.ErrConflict) {
		t.Fatalf("second Store on a folder in use: Init = %v, want ErrConflict", err)
	}
	mustClose(t, s)
	if err := s2.Init(context.Background(), testSpace); err != nil {
		t.Fatalf("Init after the first Store closed: %v", err)
	}
	mustClose(t, s2)
}

// TestWriteFailure: when the log cannot be written, the write fails, the
// memory is unchanged, and later writes keep failing rather than leave a
// hole in the log.
func TestWriteFailure(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := openInit(t, root)
	r := rand.New(rand.NewPCG(9, 9))
	if err := s.Upsert(ctx, randRecs(r, 5, "a")); err != nil {
		t.Fatal(err)
	}
	before := dump(s)
	s.wal.f.Close() // the disk goes away
	if err := s.Upsert(ctx, randRecs(r, 5, "b")); err == nil {
		t.Fatal("Upsert with an unwritable log succeeded")
	}
	if err := s.Delete(ctx, vectorstore.Filter{TenantID: "t0"}); err == nil {
		t.Fatal("Delete after a failed write succeeded")
	}
	if got := dump(s); !reflect.DeepEqual(got, before) {
		t.Fatal("a failed write changed the memory")
	}
	s.Close() // reports the closed file; the state on disk is what matters
	s = openInit(t, root)
	if got := dump(s); !reflect.DeepEqual(got, before) {
		t.Fatal("after reopening: state differs from the last successful write")
	}
	mustClose(t, s)
}

// FuzzReplay: whatever the bytes of the log, replaying it returns (an
// error or not) without panicking, and a store that replayed it can be
// searched.
func FuzzReplay(f *testing.F) {
	root := f.TempDir()
	s, _ := Open(root)
	if err := s.Init(context.Background(), testSpace); err != nil {
		f.Fatal(err)
	}
	r := rand.New(rand.NewPCG(10, 10))
	s.Upsert(context.Background(), randRecs(r, 3, "a"))
	s.Delete(context.Background(), vectorstore.Filter{TenantID: "t1", SourceIDs: []string{"s1"}, DocumentIDs: []string{"d1"}})
	s.Upsert(context.Background(), randRecs(r, 2, "b"))
	s.Delete(context.Background(), vectorstore.Filter{TenantID: "t0", IDs: []string{"a0", "b0", "zz"}})
	s.Close()
	valid, err := os.ReadFile(walPath(root))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(valid[:40])
	f.Fuzz(func(t *testing.T, data []byte) {
		s := openInit(t, "") // replay into a memory store: no disk in the loop
		s.mu.Lock()
		_, err := s.replay(bytes.NewReader(data), int64(len(data)), "fuzz")
		s.mu.Unlock()
		if err == nil {
			q := make([]float32, testDims)
			q[0] = 1
			for _, tenant := range []string{"t0", "t1", "t2"} {
				if _, err := s.Search(context.Background(), vectorstore.Query{Vector: q, TopK: 3, Filter: vectorstore.Filter{TenantID: tenant}}); err != nil {
					t.Fatalf("Search after a successful replay: %v", err)
				}
			}
		}
		mustClose(t, s)
	})
}

// FuzzApply feeds arbitrary entry payloads (past the checksums) to the
// decoder: it must reject or apply them without panicking.
func FuzzApply(f *testing.F) {
	s, _ := Open("")
	if err := s.Init(context.Background(), testSpace); err != nil {
		f.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 11))
	s.buf = s.entryStart(nil, opUpsert)
	s.buf = appendUvarint(s.buf, 2)
	for _, rec := range randRecs(r, 2, "a") {
		s.buf = appendRecordHead(s.buf, &rec, -1)
		s.buf = appendFloats(s.buf, rec.Vector)
	}
	f.Add(append([]byte(nil), s.buf[entryHead:]...))
	s.buf = s.entryStart(nil, opDelete)
	s.buf = appendFilter(s.buf, vectorstore.Filter{TenantID: "t0", BotID: "b0", SourceIDs: []string{"s0"}, DocumentIDs: []string{"d0", "d1"}})
	f.Add(append([]byte(nil), s.buf[entryHead:]...))
	s.buf = s.entryStart(nil, opDeleteIDs)
	s.buf = appendString(s.buf, "t0")
	s.buf = appendUvarint(s.buf, 2)
	s.buf = appendString(s.buf, "a0")
	s.buf = appendString(s.buf, "a1")
	f.Add(append([]byte(nil), s.buf[entryHead:]...))
	mustCloseF(f, s)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := openInit(t, "")
		s.mu.Lock()
		_ = s.apply(data)
		s.mu.Unlock()
		q := make([]float32, testDims)
		q[0] = 1
		for _, tenant := range []string{"t0", "t1", "t2"} {
			if _, err := s.Search(context.Background(), vectorstore.Query{Vector: q, TopK: 3, Filter: vectorstore.Filter{TenantID: tenant}}); err != nil {
				t.Fatalf("Search after apply: %v", err)
			}
		}
		mustClose(t, s)
	})
}

func mustCloseF(f *testing.F, s *Store) {
	if err := s.Close(); err != nil {
		f.Fatal(err)
	}
}
