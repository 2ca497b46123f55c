package local

import (
	"sync"
	"unsafe"
)

// Posting lists make a search filtered to a bot, a source or a document
// cost in proportion to the rows it keeps: the rows of each filter ID,
// built by one pass over the metas on the first search that needs them
// and kept until the partition changes (version). A filter matching at
// most half the partition scans its list instead of every row.

// postingKey names a filter ID: kind 0 bot, 1 source, 2 document.
type postingKey struct {
	kind uint8
	id   int32
}

type postingList struct {
	ver  uint64
	rows []int32
}

// postings is a partition's cache of posting lists.
type postings struct {
	mu    sync.Mutex
	lists map[postingKey]*postingList
}

// maxPostings bounds the lists cached per partition.
const maxPostings = 64

// rowsOf returns the rows of p whose kind field is id, ascending. Callers
// hold the store's read lock (the partition does not change meanwhile).
func (p *partition) rowsOf(kind uint8, id int32) []int32 {
	p.post.mu.Lock()
	defer p.post.mu.Unlock()
	k := postingKey{kind, id}
	if l := p.post.lists[k]; l != nil && l.ver == p.ver {
		return l.rows
	}
	var rows []int32
	r := int32(0)
	for _, b := range p.blocks {
		for _, m := range b.metas {
			x := m.bot
			switch kind {
			case 1:
				x = m.source
			case 2:
				x = m.doc
			}
			if x == id {
				rows = append(rows, r)
			}
			r++
		}
	}
	if p.post.lists == nil || len(p.post.lists) >= maxPostings {
		p.post.lists = map[postingKey]*postingList{}
	}
	p.post.lists[k] = &postingList{ver: p.ver, rows: rows}
	return rows
}

// rowList is the rows a filtered search needs to look at, ascending: the
// matches, or a superset of them the scan checks row by row (exact false).
type rowList struct {
	rows  []int32
	exact bool
}

// filterRows returns the rows a filtered search needs to look at (the
// smallest posting list among the filter's single-valued fields, or the
// metadata filter's list), or ok false when scanning every row is
// cheaper.
func (p *partition) filterRows(c *compiled) (l rowList, ok bool) {
	if c.any() {
		return l, false
	}
	conds := 0
	for _, on := range []bool{c.bot >= 0, c.sources != nil, c.docs != nil, c.mdOK != nil} {
		if on {
			conds++
		}
	}
	var rows []int32
	best := -1
	try := func(kind uint8, id int32) {
		// The interner counts an ID's rows in every tenant: more than half
		// this partition's rows there, and the list is not worth building.
		if int(id) < len(c.refs) && int(c.refs[id]) > p.n/2 {
			return
		}
		l := p.rowsOf(kind, id)
		if best < 0 || len(l) < best {
			rows, best = l, len(l)
		}
	}
	if c.bot >= 0 {
		try(0, c.bot)
	}
	if len(c.sources) == 1 {
		try(1, c.sources[0])
	}
	if len(c.docs) == 1 {
		try(2, c.docs[0])
	}
	if c.mdOK != nil && c.mdRows <= p.n/2 && (best < 0 || c.mdRows < best) {
		// The rows whose metadata matches: the posting list's narrowed
		// for this search (one byte read per row of it), or the filter's
		// own list, cached with its bitmap (the scan checks the other
		// fields).
		if best >= 0 {
			out := make([]int32, 0, c.mdRows)
			for _, r := range rows {
				if p.matchRow(c, int(r)) {
					out = append(out, r)
				}
			}
			rows, conds = out, 1
		} else {
			rows = p.mdRowsOf(c)
		}
		best = len(rows)
	}
	// A list is exact when it stands for the filter's only condition.
	return rowList{rows: rows, exact: conds == 1}, best >= 0 && best <= p.n/2
}

// scanRows is scan over the listed rows of a float32 partition. Runs of
// consecutive matching rows (a document's chunks) are scored together.
func (p *partition) scanRows(q []float32, rows []int32, exact bool, c *compiled, useMin bool, minScore float32, t *topK) {
	dims := p.dims
	var scores [scanChunk]float32
	ahead, pf := p.prefetchRows(), 0
	for i := 0; i < len(rows); {
		for pf < len(rows) && pf < i+ahead {
			pf += p.prefetch(rows[pf:])
		}
		r, k := p.run(rows[i:], exact, c)
		if k == 0 {
			i++
			continue
		}
		b, off := p.blocks[r/p.blockRows], r%p.blockRows
		dotBlock(q, b.vecs[off*dims:(off+k)*dims], scores[:k])
		th, full := t.threshold()
		for j, s := range scores[:k] {
			if full && s <= th {
				continue
			}
			if useMin && s < minScore {
				continue
			}
			t.push(s, int32(r+j))
			th, full = t.threshold()
		}
		i += k
	}
}

// run returns the first listed row r and how many of the listed rows from
// it are consecutive rows of one block matching c (0 when r does not
// match), at most scanChunk. The rows of an exact list all match.
func (p *partition) run(rows []int32, exact bool, c *compiled) (r, k int) {
	r = int(rows[0])
	off := r % p.blockRows
	n := min(len(rows), scanChunk, p.blockRows-off)
	if exact {
		// Listed rows ascend: the run ends where the row numbers jump.
		k = 1
		for k < n && int(rows[k]) == r+k {
			k++
		}
		return r, k
	}
	b := p.blocks[r/p.blockRows]
	if !c.match(b, off) {
		return r, 0
	}
	k = 1
	for k < n && int(rows[k]) == r+k && c.match(b, off+k) {
		k++
	}
	return r, k
}

// scanQuantRows is scanQuant over the listed rows.
func (p *partition) scanQuantRows(q []int16, qs float32, rows []int32, exact bool, c *compiled, t *topK) {
	dims := p.dims
	var scores [scanChunk]int32
	ahead, pf := p.prefetchRows(), 0
	for i := 0; i < len(rows); {
		for pf < len(rows) && pf < i+ahead {
			pf += p.prefetch(rows[pf:])
		}
		r, k := p.run(rows[i:], exact, c)
		if k == 0 {
			i++
			continue
		}
		b, off := p.blocks[r/p.blockRows], r%p.blockRows
		dotI8Block(q, b.codes[off*dims:(off+k)*dims], scores[:k])
		th, full := t.threshold()
		for j, sc := range scores[:k] {
			s := float32(sc) * qs * b.scales[off+j]
			if full && s <= th {
				continue
			}
			t.push(s, int32(r+j))
			th, full = t.threshold()
		}
		i += k
	}
}

// prefetchAhead is how many bytes of listed rows a list scan asks the CPU
// to fetch ahead of the row it scores: the listed rows are scattered, so
// the hardware prefetcher, which follows sequential streams, does not.
// (16 KiB: 0.26 against 0.36 of the unfiltered search without it for a
// bot holding every tenth row, 0.38 against 0.72 for Int8; 64 KiB did no
// better.)
const prefetchAhead = 16 << 10

// prefetchRows is how many rows ahead a list scan prefetches.
func (p *partition) prefetchRows() int {
	rb := 4 * p.dims
	if p.quant {
		rb = p.dims
	}
	return max(1, prefetchAhead/max(1, rb))
}

// prefetch asks the CPU to fetch the vectors (or codes) of the first run
// of consecutive rows of rows in one block (at most prefetchAhead bytes of
// it: the hardware follows a longer run) and returns the run's length.
func (p *partition) prefetch(rows []int32) int {
	r := int(rows[0])
	b, off := p.blocks[r/p.blockRows], r%p.blockRows
	n := min(len(rows), p.blockRows-off)
	k := 1
	for k < n && int(rows[k]) == r+k {
		k++
	}
	if p.quant {
		prefetchRange(unsafe.Pointer(&b.codes[off*p.dims]), min(k*p.dims, prefetchAhead))
	} else {
		prefetchRange(unsafe.Pointer(&b.vecs[off*p.dims]), min(4*k*p.dims, prefetchAhead))
	}
	return k
}
