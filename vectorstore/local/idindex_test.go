package local

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestIDIndex: adds and swap-removes in random order keep the index equal
// to a map of every ID to its row (growth and backward-shift deletion with
// wrap-around included: the table is small at first).
func TestIDIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	p := newPartition(4, 16, false)
	want := map[string]bool{}
	check := func() {
		t.Helper()
		if p.index.n != p.n || len(want) != p.n {
			t.Fatalf("index holds %d, partition %d, want %d", p.index.n, p.n, len(want))
		}
		for row := range p.n {
			got, ok := p.lookup(p.id(row))
			if !ok || int(got) != row {
				t.Fatalf("lookup(%q) = %d, %v; want row %d", p.id(row), got, ok, row)
			}
		}
		for range 20 {
			id := fmt.Sprint("absent", r.IntN(1000))
			if _, ok := p.lookup(id); ok {
				t.Fatalf("lookup(%q) found an absent ID", id)
			}
		}
	}
	next := 0
	for step := range 4000 {
		if p.n == 0 || r.IntN(3) != 0 {
			id := fmt.Sprintf("id-%d", next)
			next++
			p.add(id)
			want[id] = true
		} else {
			row := r.IntN(p.n)
			delete(want, p.id(row))
			p.remove(row)
		}
		if step%97 == 0 {
			check()
		}
	}
	check()
	for p.n > 0 {
		delete(want, p.id(0))
		p.remove(0)
	}
	check()
}

// BenchmarkIDIndexMemory reports the heap bytes per record of the ID index
// at 1M records against the map[string]int32 it replaced.
func BenchmarkIDIndexMemory(b *testing.B) {
	const n = 1_000_000
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for b.Loop() {
		p := newPartition(4, 1<<16, false)
		for i := range n {
			p.add(fmt.Sprintf("chunk-%d", i))
		}
		h0 := heap()
		m := make(map[string]int32)
		for r := range p.n {
			m[p.id(r)] = int32(r)
		}
		h1 := heap()
		runtime.KeepAlive(m)
		b.ReportMetric(float64(h1-h0)/n, "map-B/record")
		b.ReportMetric(float64(4*len(p.index.slots))/n, "index-B/record")
		runtime.KeepAlive(p)
	}
}
