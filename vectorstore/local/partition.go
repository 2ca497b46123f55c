package local

import "math"

// interner maps the bot, source and document IDs of records to small
// integers, so the search loop compares int32s, not strings. IDs are
// reference-counted and forgotten when no record uses them. 0 is "".
type interner struct {
	ids  map[string]int32
	strs []string
	refs []int32
	free []int32
}

func newInterner() *interner {
	return &interner{ids: map[string]int32{}, strs: []string{""}, refs: []int32{0}}
}

// ref returns the number of s and takes a reference to it.
func (in *interner) ref(s string) int32 {
	if s == "" {
		return 0
	}
	if n, ok := in.ids[s]; ok {
		in.refs[n]++
		return n
	}
	var n int32
	if k := len(in.free); k > 0 {
		n = in.free[k-1]
		in.free = in.free[:k-1]
		in.strs[n] = s
		in.refs[n] = 1
	} else {
		n = int32(len(in.strs))
		in.strs = append(in.strs, s)
		in.refs = append(in.refs, 1)
	}
	in.ids[s] = n
	return n
}

// refBytes is ref for a string held in b, allocating only for a new ID.
func (in *interner) refBytes(b []byte) int32 {
	if len(b) == 0 {
		return 0
	}
	if n, ok := in.ids[string(b)]; ok {
		in.refs[n]++
		return n
	}
	return in.ref(string(b))
}

// unref drops a reference to n.
func (in *interner) unref(n int32) {
	if n == 0 {
		return
	}
	in.refs[n]--
	if in.refs[n] == 0 {
		delete(in.ids, in.strs[n])
		in.strs[n] = ""
		in.free = append(in.free, n)
	}
}

// lookup returns the number of s, if some record uses it.
func (in *interner) lookup(s string) (int32, bool) {
	n, ok := in.ids[s]
	return n, ok
}

// meta holds the interned filter IDs of a row.
type meta struct {
	bot, source, doc int32
}

// block holds up to blockRows rows: their vectors, contiguous, and their
// IDs and filter IDs. A float32 partition keeps vecs; a quantized one keeps
// codes, scales and locs instead (quant.go). The arrays may be views of a
// memory-mapped snapshot (snapshot2.go) with their capacity clipped to
// their length, so that growing a block always copies it to the heap.
// Invariant: cap(ids) is at most the row capacity of every other array, so
// len(ids) == cap(ids) is the one "block full" test.
type block struct {
	vecs   []float32
	codes  []int8    // quantized: dims codes per row
	scales []float32 // quantized: per row, the value of code 1
	locs   []int64   // quantized: per row, where its float32s are (readFloats); nil: see locBase
	// locBase is, for a quantized block attached from a snapshot whose
	// rows have not moved or changed since (locs nil), the offset of its
	// first row's float32s in the snapshot: 8 bytes per row less memory.
	locBase int64
	ids     []string
	metas   []meta
	mds     []int32 // per row, its metadata in the partition's table (0: none)
}

// partition holds one tenant's records in blocks of at most blockRows rows
// (about 1 MiB of vectors), so growth never copies the partition and peak
// memory stays near the vectors' size. Removal moves the last row into the
// hole, so rows stay dense.
type partition struct {
	dims      int
	blockRows int
	quant     bool
	n         int
	blocks    []*block
	index     idIndex // ID → row (idindex.go)
	adds      uint64  // rows ever added (List's sorted-ID cache checks it)
	ver       uint64  // bumped by every change of rows or metas (posting.go)
	post      postings
	md        mdTable // the distinct metadata of the rows (metadata.go)
}

func newPartition(dims, blockRows int, quant bool) *partition {
	return &partition{dims: dims, blockRows: blockRows, quant: quant, index: newIDIndex(0)}
}

// vec returns row r's vector (a view into its block) in a float32
// partition.
func (p *partition) vec(r int) []float32 {
	b := p.blocks[r/p.blockRows]
	off := (r % p.blockRows) * p.dims
	return b.vecs[off : off+p.dims : off+p.dims]
}

// code returns row r's codes in a quantized partition.
func (p *partition) code(r int) []int8 {
	b := p.blocks[r/p.blockRows]
	off := (r % p.blockRows) * p.dims
	return b.codes[off : off+p.dims : off+p.dims]
}

func (p *partition) id(r int) string { return p.blocks[r/p.blockRows].ids[r%p.blockRows] }

func (p *partition) meta(r int) *meta { return &p.blocks[r/p.blockRows].metas[r%p.blockRows] }

// mdOf returns row r's index in the partition's metadata table.
func (p *partition) mdOf(r int) int32 { return p.blocks[r/p.blockRows].mds[r%p.blockRows] }

// newBlock returns an empty block with room for rows rows.
func (p *partition) newBlock(rows int) *block {
	b := &block{ids: make([]string, 0, rows), metas: make([]meta, 0, rows), mds: make([]int32, 0, rows)}
	if p.quant {
		b.codes = make([]int8, 0, rows*p.dims)
		b.scales = make([]float32, 0, rows)
		b.locs = make([]int64, 0, rows)
	} else {
		b.vecs = make([]float32, 0, rows*p.dims)
	}
	return b
}

// grow copies b's rows into a block with room for rows rows.
func (p *partition) grow(b *block, rows int) {
	p.ownLocs(b)
	nb := p.newBlock(rows)
	b.vecs = append(nb.vecs, b.vecs...)
	b.codes = append(nb.codes, b.codes...)
	b.scales = append(nb.scales, b.scales...)
	b.locs = append(nb.locs, b.locs...)
	b.ids = append(nb.ids, b.ids...)
	b.metas = append(nb.metas, b.metas...)
	b.mds = append(nb.mds, b.mds...)
}

// add appends an empty row for id (which is not in the partition).
func (p *partition) add(id string) int {
	k := len(p.blocks)
	if k == 0 || len(p.blocks[k-1].ids) == p.blockRows {
		// The first block grows by doubling, so a small tenant stays small;
		// later ones are allocated whole, so growth leaves no garbage.
		rows := p.blockRows
		if k == 0 {
			rows = min(p.blockRows, 8)
		}
		p.blocks = append(p.blocks, p.newBlock(rows))
		k++
	}
	b := p.blocks[k-1]
	if len(b.ids) == cap(b.ids) {
		p.grow(b, min(p.blockRows, max(8, 2*cap(b.ids))))
	}
	if p.quant {
		b.codes = b.codes[:len(b.codes)+p.dims]
		b.scales = append(b.scales, 0)
		b.locs = append(b.locs, 0)
	} else {
		b.vecs = b.vecs[:len(b.vecs)+p.dims]
	}
	b.ids = append(b.ids, id)
	b.metas = append(b.metas, meta{})
	b.mds = append(b.mds, 0)
	p.md.init()
	p.md.refs[0]++
	r := p.n
	p.n++
	p.adds++
	p.ver++
	p.indexPut(id, int32(r))
	return r
}

// remove deletes row r, moving the last row into its place, and returns the
// removed row's meta for the caller to release (its metadata it releases
// itself).
func (p *partition) remove(r int) meta {
	p.ver++
	last := p.n - 1
	m := *p.meta(r)
	p.md.unref(p.mdOf(r))
	p.indexDel(p.id(r), int32(r))
	lb := p.blocks[len(p.blocks)-1]
	j := len(lb.ids) - 1
	if r != last {
		b := p.blocks[r/p.blockRows]
		i := r % p.blockRows
		if p.quant {
			copy(p.code(r), p.code(last))
			b.scales[i] = lb.scales[j]
			p.ownLocs(b)
			b.locs[i] = p.loc(last)
		} else {
			copy(p.vec(r), p.vec(last))
		}
		b.ids[i] = lb.ids[j]
		b.metas[i] = lb.metas[j]
		b.mds[i] = lb.mds[j]
		p.indexMove(lb.ids[j], int32(last), int32(r))
	}
	lb.ids[j] = ""
	lb.ids = lb.ids[:j]
	lb.metas = lb.metas[:j]
	lb.mds = lb.mds[:j]
	if p.quant {
		p.ownLocs(lb)
		lb.codes = lb.codes[:j*p.dims]
		lb.scales = lb.scales[:j]
		lb.locs = lb.locs[:j]
	} else {
		lb.vecs = lb.vecs[:j*p.dims]
	}
	if j == 0 {
		p.blocks[len(p.blocks)-1] = nil
		p.blocks = p.blocks[:len(p.blocks)-1]
	}
	p.n = last
	return m
}

// invNorm returns 1/|v| (0 for a zero vector); ok is false when v holds a
// NaN or an infinity.
func invNorm(v []float32) (inv float64, ok bool) {
	if ss := dot(v, v); ss > 0 && ss <= math.MaxFloat32 {
		return 1 / math.Sqrt(float64(ss)), true
	}
	// Zero, NaN, infinity, or an overflow or underflow in float32: redo it
	// in float64.
	var ss float64
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return 0, false
		}
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return 0, true
	}
	return 1 / math.Sqrt(ss), true
}

// normalizeInto writes v scaled by inv (from invNorm) into dst: v at unit
// length, or zero for a zero vector.
func normalizeInto(dst, v []float32, inv float64) {
	dst = dst[:len(v)]
	if inv == 0 {
		clear(dst)
		return
	}
	if inv >= 1e-30 && inv <= 1e30 {
		f := float32(inv)
		for i, x := range v {
			dst[i] = x * f
		}
		return
	}
	for i, x := range v {
		dst[i] = float32(float64(x) * inv)
	}
}
