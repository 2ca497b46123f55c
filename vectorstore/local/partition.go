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

// partition holds one tenant's records. Vectors live in blocks of at most
// blockRows rows each (so growth never copies the whole partition, and peak
// memory stays near the vectors' size); ids and metas are parallel to rows.
// Removal moves the last row into the hole, so rows stay dense.
type partition struct {
	dims      int
	blockRows int
	n         int
	blocks    [][]float32
	ids       []string
	metas     []meta
	index     map[string]int32
}

func newPartition(dims, blockRows int) *partition {
	return &partition{dims: dims, blockRows: blockRows, index: map[string]int32{}}
}

// vec returns row r's vector (a view into its block).
func (p *partition) vec(r int) []float32 {
	b := p.blocks[r/p.blockRows]
	off := (r % p.blockRows) * p.dims
	return b[off : off+p.dims : off+p.dims]
}

// row returns the row of id, adding an empty one when id is new.
func (p *partition) row(id string) (r int, added bool) {
	if r, ok := p.index[id]; ok {
		return int(r), false
	}
	blockFloats := p.blockRows * p.dims
	k := len(p.blocks)
	if k == 0 || len(p.blocks[k-1]) == blockFloats {
		p.blocks = append(p.blocks, make([]float32, 0, min(blockFloats, 8*p.dims)))
		k++
	}
	last := p.blocks[k-1]
	if len(last)+p.dims > cap(last) {
		grown := make([]float32, len(last), min(blockFloats, 2*cap(last)))
		copy(grown, last)
		last = grown
	}
	p.blocks[k-1] = last[:len(last)+p.dims]
	r = p.n
	p.n++
	p.ids = append(p.ids, id)
	p.metas = append(p.metas, meta{})
	p.index[id] = int32(r)
	return r, true
}

// remove deletes row r, moving the last row into its place, and returns the
// removed row's meta for the caller to release.
func (p *partition) remove(r int) meta {
	last := p.n - 1
	m := p.metas[r]
	delete(p.index, p.ids[r])
	if r != last {
		copy(p.vec(r), p.vec(last))
		p.ids[r] = p.ids[last]
		p.metas[r] = p.metas[last]
		p.index[p.ids[r]] = int32(r)
	}
	p.ids[last] = ""
	p.ids = p.ids[:last]
	p.metas = p.metas[:last]
	k := len(p.blocks) - 1
	p.blocks[k] = p.blocks[k][:len(p.blocks[k])-p.dims]
	if len(p.blocks[k]) == 0 {
		p.blocks[k] = nil
		p.blocks = p.blocks[:k]
	}
	p.n = last
	return m
}

// normalizeInto writes v scaled to unit length into dst (a zero vector stays
// zero). Both the live path and WAL replay store exactly these floats.
func normalizeInto(dst, v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		clear(dst)
		return
	}
	inv := 1 / math.Sqrt(ss)
	for i, x := range v {
		dst[i] = float32(float64(x) * inv)
	}
}
