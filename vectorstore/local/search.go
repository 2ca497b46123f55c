package local

import (
	"math/bits"
	"slices"
	"sync"
	"unsafe"
)

// hit is a candidate match: a row and its score.
type hit struct {
	score float32
	row   int32
}

// topK is a bounded min-heap of the best k hits seen so far.
type topK struct {
	k int
	h []hit
}

func (t *topK) push(score float32, row int32) {
	if len(t.h) < t.k {
		t.h = append(t.h, hit{score, row})
		// sift up
		i := len(t.h) - 1
		for i > 0 {
			p := (i - 1) / 2
			if t.h[p].score <= t.h[i].score {
				break
			}
			t.h[p], t.h[i] = t.h[i], t.h[p]
			i = p
		}
		return
	}
	if score <= t.h[0].score {
		return
	}
	t.h[0] = hit{score, row}
	// sift down
	i, n := 0, len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && t.h[r].score < t.h[l].score {
			m = r
		}
		if t.h[i].score <= t.h[m].score {
			break
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

// full reports whether the heap holds k hits, and the worst of them.
func (t *topK) threshold() (float32, bool) {
	if len(t.h) < t.k {
		return 0, false
	}
	return t.h[0].score, true
}

// compiled is a Filter translated to interned numbers.
type compiled struct {
	bot     int32 // -1: any
	sources []int32
	docs    []int32
	srcSet  map[int32]struct{}
	docSet  map[int32]struct{}
	refs    []int32 // the interner's reference counts (posting.go)
	// mdOK is the metadata filter evaluated once per distinct metadata of
	// the partition (metadata.go): mdOK[i] for table index i. nil when the
	// filter has no metadata condition. mdRows is how many rows match it.
	mdOK     []bool
	mdRows   int
	mdBitmap *mdBitmap // where mdOK comes from (metadata.go)
	mdKey    []byte    // the metadata filter's JSON: its key in the cache
	mdWords  []uint64  // bit r: row r matches mdOK (set by mdBits for a scan)
}

// mdOnly reports whether c is a metadata filter and nothing else.
func (c *compiled) mdOnly() bool {
	return c.mdOK != nil && c.bot < 0 && c.sources == nil && c.docs == nil
}

func (c *compiled) any() bool {
	return c.bot < 0 && c.sources == nil && c.docs == nil && c.mdOK == nil
}

// match reports whether row i of b matches.
func (c *compiled) match(b *block, i int) bool {
	if c.mdOK != nil && !c.mdOK[b.mds[i]] {
		return false
	}
	return c.matchMeta(b.metas[i])
}

// matchRow reports whether row r of p matches c.
func (p *partition) matchRow(c *compiled, r int) bool {
	return c.match(p.blocks[r/p.blockRows], r%p.blockRows)
}

// matchMeta reports whether a row's IDs match (not its metadata).
func (c *compiled) matchMeta(m meta) bool {
	if c.bot >= 0 && m.bot != c.bot {
		return false
	}
	if c.sources != nil && !inSet(m.source, c.sources, c.srcSet) {
		return false
	}
	if c.docs != nil && !inSet(m.doc, c.docs, c.docSet) {
		return false
	}
	return true
}

func inSet(x int32, list []int32, set map[int32]struct{}) bool {
	if set != nil {
		_, ok := set[x]
		return ok
	}
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// compileFilter translates the narrowing fields of a filter. ok is false
// when no record can match (an ID no record uses).
func compileFilter(in *interner, botID string, sourceIDs, docIDs []string) (c compiled, ok bool) {
	c.bot = -1
	c.refs = in.refs
	if botID != "" {
		n, found := in.lookup(botID)
		if !found {
			return c, false
		}
		c.bot = n
	}
	var set map[int32]struct{}
	if c.sources, set, ok = compileList(in, sourceIDs); !ok {
		return c, false
	}
	c.srcSet = set
	if c.docs, set, ok = compileList(in, docIDs); !ok {
		return c, false
	}
	c.docSet = set
	return c, true
}

func compileList(in *interner, ids []string) ([]int32, map[int32]struct{}, bool) {
	if len(ids) == 0 {
		return nil, nil, true
	}
	list := make([]int32, 0, len(ids))
	for _, id := range ids {
		if n, found := in.lookup(id); found && id != "" {
			list = append(list, n)
		}
	}
	if len(list) == 0 {
		return nil, nil, false
	}
	var set map[int32]struct{}
	if len(list) > 16 {
		set = make(map[int32]struct{}, len(list))
		for _, n := range list {
			set[n] = struct{}{}
		}
	}
	return list, set, true
}

// scanChunk is how many rows a scan scores at once.
const scanChunk = 64

// scan scores rows [from, to) of p against q (unit length) and keeps the
// best k in t. Rows are scored in runs of consecutive matching rows, so a
// filter that matches most rows costs little more than none.
func (p *partition) scan(q []float32, from, to int, c *compiled, useMin bool, minScore float32, t *topK) {
	dims := p.dims
	filtered := !c.any()
	var scores [scanChunk]float32
	for r := from; r < to; {
		blk := p.blocks[r/p.blockRows]
		off := r % p.blockRows
		end := min(to-r+off, p.blockRows, off+scanChunk)
		n := end - off
		m := allRows(n)
		if filtered {
			m = c.mask(blk, r, off, n)
		}
		for m != 0 {
			j, k := nextRun(m)
			m &^= allRows(k)
			dotBlock(q, blk.vecs[(off+j)*dims:(off+k)*dims], scores[j:k])
			th, full := t.threshold()
			for i := j; i < k; i++ {
				s := scores[i]
				if full && s <= th {
					continue
				}
				if useMin && s < minScore {
					continue
				}
				t.push(s, int32(r+i))
				th, full = t.threshold()
			}
		}
		r += n
	}
}

// allRows is the mask of rows [0, n) of a chunk (n <= scanChunk).
func allRows(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

// nextRun returns the first run [j, k) of set bits of m (not 0).
func nextRun(m uint64) (j, k int) {
	j = bits.TrailingZeros64(m)
	return j, j + bits.TrailingZeros64(^(m >> j))
}

// mask returns the rows [off, off+n) of b, rows [r, r+n) of the
// partition, matching c (n <= scanChunk), as bits: bit i for row off+i.
// A metadata-only filter reads them from its cached bits (mdBits), or one
// table index and one byte per row, without branches.
func (c *compiled) mask(b *block, r, off, n int) uint64 {
	if w := c.mdWords; w != nil {
		i, sh := r/64, uint(r%64)
		m := w[i] >> sh
		if sh != 0 && i+1 < len(w) {
			m |= w[i+1] << (64 - sh)
		}
		return m & allRows(n)
	}
	var m uint64
	if c.mdOnly() {
		ok := unsafe.Slice((*uint8)(unsafe.Pointer(unsafe.SliceData(c.mdOK))), len(c.mdOK))
		for i, md := range b.mds[off : off+n] {
			m |= uint64(ok[md]) << i
		}
		return m
	}
	for i := range n {
		if c.match(b, off+i) {
			m |= 1 << i
		}
	}
	return m
}

// parallelMin is the partition size from which a search uses several
// goroutines.
const parallelMin = 16384

// search returns the best k rows of a float32 partition, best first.
func (p *partition) search(q []float32, k int, c *compiled, useMin bool, minScore float32, workers int) []hit {
	if l, ok := p.filterRows(c); ok {
		return p.topRowsN(len(l.rows), k, workers, listMin, func(from, to int, t *topK) {
			p.scanRows(q, l.rows[from:to], l.exact, c, useMin, minScore, t)
		})
	}
	p.mdBits(c)
	return p.topRows(k, workers, func(from, to int, t *topK) {
		p.scan(q, from, to, c, useMin, minScore, t)
	})
}

// topRows runs scan over the partition's rows (on several goroutines for
// a large partition) and returns the best k hits, best first.
func (p *partition) topRows(k, workers int, scan func(from, to int, t *topK)) []hit {
	return p.topRowsN(p.n, k, workers, parallelMin/2, scan)
}

// listMin is the number of listed rows (posting.go) per goroutine.
const listMin = 2048

// topRowsN is topRows over n items (rows, or entries of a row list), at
// least per of them per goroutine.
func (p *partition) topRowsN(n, k, workers, per int, scan func(from, to int, t *topK)) []hit {
	k = min(k, n)
	if k == 0 {
		return nil
	}
	if workers > n/per {
		workers = n / per
	}
	var all []hit
	if workers <= 1 {
		t := topK{k: k, h: make([]hit, 0, k)}
		scan(0, n, &t)
		all = t.h
	} else {
		heaps := make([]topK, workers)
		var wg sync.WaitGroup
		per := (n + workers - 1) / workers
		for w := range heaps {
			heaps[w] = topK{k: k, h: make([]hit, 0, k)}
			from, to := w*per, min((w+1)*per, n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				scan(from, to, &heaps[w])
			}()
		}
		wg.Wait()
		all = make([]hit, 0, workers*k)
		for _, t := range heaps {
			all = append(all, t.h...)
		}
	}
	p.sortHits(all)
	if len(all) > k {
		all = all[:k]
	}
	return all
}

// sortHits sorts hits best first, ties by ID.
func (p *partition) sortHits(all []hit) {
	slices.SortFunc(all, func(a, b hit) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return compareStrings(p.id(int(a.row)), p.id(int(b.row)))
	})
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dotGeneric is the portable dot product: eight independent accumulators.
func dotGeneric(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// dotBlockGeneric scores the len(out) vectors of rows against q.
func dotBlockGeneric(q, rows []float32, out []float32) {
	d := len(q)
	for j := range out {
		out[j] = dotGeneric(q, rows[j*d:(j+1)*d])
	}
}
