package local

import "sync"

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

// filterRows returns the rows a filtered search needs to look at (a
// superset of the matches: the smallest posting list among the filter's
// single-valued fields), or ok false when scanning every row is cheaper.
func (p *partition) filterRows(c *compiled) (rows []int32, ok bool) {
	if c.any() {
		return nil, false
	}
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
		// The rows whose metadata matches, listed for this search from
		// the bitmap (one byte read per row, or per row of the posting
		// list), narrowed by the other fields too.
		out := make([]int32, 0, c.mdRows)
		if best >= 0 {
			for _, r := range rows {
				if p.matchRow(c, int(r)) {
					out = append(out, r)
				}
			}
		} else {
			r := int32(0)
			for _, b := range p.blocks {
				for i, md := range b.mds {
					if c.mdOK[md] && c.matchMeta(b.metas[i]) {
						out = append(out, r+int32(i))
					}
				}
				r += int32(len(b.mds))
			}
		}
		rows, best = out, len(out)
	}
	return rows, best >= 0 && best <= p.n/2
}

// scanRows is scan over the listed rows of a float32 partition.
func (p *partition) scanRows(q []float32, rows []int32, c *compiled, useMin bool, minScore float32, t *topK) {
	for _, r := range rows {
		if !p.matchRow(c, int(r)) {
			continue
		}
		s := dot(q, p.vec(int(r)))
		if th, full := t.threshold(); full && s <= th {
			continue
		}
		if useMin && s < minScore {
			continue
		}
		t.push(s, r)
	}
}

// scanQuantRows is scanQuant over the listed rows.
func (p *partition) scanQuantRows(q []int16, qs float32, rows []int32, c *compiled, t *topK) {
	var one [1]int32
	for _, r := range rows {
		if !p.matchRow(c, int(r)) {
			continue
		}
		dotI8Block(q, p.code(int(r)), one[:])
		b := p.blocks[int(r)/p.blockRows]
		s := float32(one[0]) * qs * b.scales[int(r)%p.blockRows]
		if th, full := t.threshold(); full && s <= th {
			continue
		}
		t.push(s, r)
	}
}
