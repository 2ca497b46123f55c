package local

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// Large Upsert batches use several cores for what is per vector: checking
// and normalizing the vectors, encoding them into the log entry, and
// copying (or quantizing) them into their rows, the last of which is where
// a fresh process spends most of an add (the first write to a new block
// page-faults it in). What is not per vector (the ID index, the interned
// filter IDs, the metadata table, the log append and fsync) stays on the
// writing goroutine in the batch's order, so a batch stores the same bytes,
// in the same rows, with the same log entry as when done one row at a time.

// batchMin is the number of vectors per goroutine below which per-vector
// work is not split: about 64 KiB of float32s at 384 dimensions.
const batchMin = 64

// writeWorkers returns how many goroutines split per-vector work over n
// vectors.
func (s *Store) writeWorkers(n int) int {
	w := s.cfg.workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return max(1, min(w, n/batchMin))
}

// parallel calls f over [0, n) split into workers contiguous ranges, each
// on its own goroutine (the first on the caller's).
func parallel(n, workers int, f func(w, from, to int)) {
	if workers <= 1 || n < 2 {
		f(0, 0, n)
		return
	}
	per := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		from, to := min(w*per, n), min((w+1)*per, n)
		if from >= to {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(w, from, to)
		}()
	}
	f(0, 0, min(per, n))
	wg.Wait()
}

// checkNorms sets s.invs to 1/|v| of every record's vector (in parallel
// for a large batch) and returns the index of the first vector with the
// wrong size or a NaN or infinity, or -1.
func (s *Store) checkNorms(vecs func(i int) []float32, n int) int {
	if cap(s.invs) < n {
		s.invs = make([]float64, n)
	}
	s.invs = s.invs[:n]
	invs := s.invs
	bad := make([]int, s.writeWorkers(n))
	parallel(n, len(bad), func(w, from, to int) {
		bad[w] = -1
		for i := from; i < to; i++ {
			v := vecs(i)
			if len(v) != s.space.Dims {
				bad[w] = i
				return
			}
			inv, ok := invNorm(v)
			if !ok {
				bad[w] = i
				return
			}
			invs[i] = inv
		}
	})
	for _, i := range bad {
		if i >= 0 {
			return i
		}
	}
	return -1
}

// encodeVectors writes the normalized vectors vecs(i) (with invs[i]) as
// little-endian float32s at buf[offs[i]:], in parallel for a large batch.
func (s *Store) encodeVectors(buf []byte, offs []int, vecs func(i int) []float32, invs []float64) {
	dims := s.space.Dims
	parallel(len(offs), s.writeWorkers(len(offs)), func(_, from, to int) {
		scratch := make([]float32, dims)
		for i := from; i < to; i++ {
			normalizeInto(scratch, vecs(i), invs[i])
			dst := buf[offs[i] : offs[i]+4*dims]
			if littleEndian {
				copy(dst, floatBytes(scratch))
				continue
			}
			for j, x := range scratch {
				binary.LittleEndian.PutUint32(dst[4*j:], math.Float32bits(x))
			}
		}
	})
}

// vecSet is a row whose vector an entry being applied sets: the
// normalized little-endian float32s at off in the entry's payload (off < 0:
// a later record of the entry replaces it).
type vecSet struct {
	p   *partition
	row int
	off int
}

// setVectors stores the vectors of sets (from payload) in their rows, in
// parallel for many: copied into a float32 partition; quantized into a
// quantized one, whose float32s are appended to the rescore file in the
// order of sets, as setVector would one by one.
func (s *Store) setVectors(sets []vecSet, payload []byte) error {
	if len(sets) == 0 {
		return nil
	}
	dims := s.space.Dims
	size := 4 * dims
	quant := sets[0].p.quant // every partition of a store has the same mode
	var side []byte
	var sideAt []int // per set, its offset in side (-1: none)
	if quant {
		sideAt = make([]int, len(sets))
		n := 0
		for i, v := range sets {
			sideAt[i] = -1
			if v.off >= 0 {
				sideAt[i] = n * size
				n++
			}
		}
		if cap(s.sideBuf) < n*size {
			s.sideBuf = make([]byte, n*size)
		}
		side = s.sideBuf[:n*size]
	}
	parallel(len(sets), s.writeWorkers(len(sets)), func(_, from, to int) {
		var scratch []float32
		if quant {
			scratch = make([]float32, dims)
		}
		for i := from; i < to; i++ {
			v := sets[i]
			if v.off < 0 {
				continue
			}
			if i == from || !nextRow(sets[i-1], v) {
				populateRun(sets[i:to])
			}
			raw := payload[v.off : v.off+size]
			if !quant {
				decodeFloats(v.p.vec(v.row), raw)
				continue
			}
			decodeFloats(scratch, raw)
			b := v.p.blocks[v.row/v.p.blockRows]
			b.scales[v.row%v.p.blockRows] = quantize(v.p.code(v.row), scratch)
			copy(side[sideAt[i]:], raw)
		}
	})
	if !quant {
		return nil
	}
	base, err := s.side.append(side)
	if cap(s.sideBuf) > 4<<20 {
		s.sideBuf = nil // a large entry's buffer is not kept
	}
	if err != nil {
		return fmt.Errorf("vectorstore/local: write %s: %w", rescoreFile, err)
	}
	for i, v := range sets {
		if sideAt[i] >= 0 {
			b := v.p.blocks[v.row/v.p.blockRows]
			v.p.ownLocs(b)
			b.locs[v.row%v.p.blockRows] = -(base + int64(sideAt[i])) - 1
		}
	}
	return nil
}

// dedupSets marks every set but the last of each row as replaced: for an
// entry in which some record updated an existing row, which an earlier
// record of the entry may have set.
func dedupSets(sets []vecSet) {
	type key struct {
		p   *partition
		row int
	}
	last := make(map[key]int, len(sets))
	for i, v := range sets {
		k := key{v.p, v.row}
		if j, ok := last[k]; ok {
			sets[j].off = -1
		}
		last[k] = i
	}
}

// nextRow reports whether b's row follows a's in the same block.
func nextRow(a, b vecSet) bool {
	return a.p == b.p && b.row == a.row+1 && b.row%b.p.blockRows != 0
}

// populateRun populates (populate) the vectors or codes of the run of
// consecutive rows in one block that sets starts with, when it is long
// enough to be worth a system call: in practice the rows a batch appends.
func populateRun(sets []vecSet) {
	n := 1
	for n < len(sets) && nextRow(sets[n-1], sets[n]) {
		n++
	}
	if n < 16 {
		return
	}
	p, first := sets[0].p, sets[0].row
	b, off := p.blocks[first/p.blockRows], first%p.blockRows
	if p.quant {
		codes := b.codes[off*p.dims : (off+n)*p.dims]
		populate(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(codes))), len(codes)))
	} else {
		populate(floatBytes(b.vecs[off*p.dims : (off+n)*p.dims]))
	}
}
