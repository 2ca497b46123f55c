package local

import "hash/maphash"

// idIndex maps a partition's record IDs to their rows: open addressing
// with linear probing over row numbers, the keys compared through the
// partition's ID arrays (which hold the strings anyway). A slot is 4 bytes
// and the table at most 3/4 full, so the index costs 5.3–10.7 bytes per
// record where a map[string]int32 costs about 40 (a 16-byte string header
// and the value per slot, control bytes, 7/8 load): at 1M records that is
// most of the gap between Int8's resident memory and 0.3× of float32's.
type idIndex struct {
	seed  maphash.Seed
	slots []int32 // row+1; 0 is empty
	n     int
}

func newIDIndex(rows int) idIndex {
	x := idIndex{seed: maphash.MakeSeed()}
	if rows > 0 {
		x.slots = make([]int32, slotsFor(rows))
	}
	return x
}

// slotsFor returns the table size for n entries: a power of two at least
// 4n/3 (and 8).
func slotsFor(n int) int {
	size := 8
	for size*3 < n*4+4 {
		size *= 2
	}
	return size
}

func (p *partition) hashID(id string) uint64 { return maphash.String(p.index.seed, id) }

// lookup returns the row of id.
func (p *partition) lookup(id string) (int32, bool) {
	x := &p.index
	if x.n == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for i := p.hashID(id) & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if p.id(int(s-1)) == id {
			return s - 1, true
		}
	}
}

// indexPut records that id, not in the index, is at row r (whose ID
// array already holds id).
func (p *partition) indexPut(id string, r int32) {
	x := &p.index
	if (x.n+1)*4 > len(x.slots)*3 {
		p.indexGrow(slotsFor(x.n + 1))
	}
	mask := uint64(len(x.slots) - 1)
	i := p.hashID(id) & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = r + 1
	x.n++
}

// indexGrow rehashes the index into size slots.
func (p *partition) indexGrow(size int) {
	x := &p.index
	old := x.slots
	x.slots = make([]int32, size)
	mask := uint64(size - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := p.hashID(p.id(int(s-1))) & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}

// slotOf returns the slot holding row r, whose ID is id.
func (p *partition) slotOf(id string, r int32) int {
	x := &p.index
	mask := uint64(len(x.slots) - 1)
	for i := p.hashID(id) & mask; ; i = (i + 1) & mask {
		if x.slots[i] == r+1 {
			return int(i)
		}
		if x.slots[i] == 0 {
			panic("vectorstore/local: ID index lost a row") // a bug
		}
	}
}

// indexMove records that id, at row from, is now at row to.
func (p *partition) indexMove(id string, from, to int32) {
	p.index.slots[p.slotOf(id, from)] = to + 1
}

// indexDel removes id, at row r, from the index (backward-shift deletion,
// so no tombstones). Every indexed row's ID array must hold its ID.
func (p *partition) indexDel(id string, r int32) {
	x := &p.index
	mask := len(x.slots) - 1
	i := p.slotOf(id, r)
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		k := int(p.hashID(p.id(int(x.slots[j]-1)))) & mask
		// Move slot j into the hole at i when its home k is not in (i, j].
		if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
			x.slots[i] = x.slots[j]
			x.slots[j] = 0
			i = j
		}
	}
	x.slots[i] = 0
	x.n--
}
