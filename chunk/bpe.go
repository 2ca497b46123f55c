package chunk

import "math"

// bytePairMerge splits piece (one pre-token that is not itself a token)
// into tokens by tiktoken's byte-pair merge and calls emit with the id and
// byte length of each token, in order. It is a port of tiktoken-go's
// bytePairMerge (MIT licence, github.com/pkoukk/tiktoken-go), itself a port
// of OpenAI tiktoken's _byte_pair_merge.
func bytePairMerge(piece string, ranks map[string]int, emit func(id, size int)) {
	if len(piece) == 1 {
		emit(ranks[piece], 1)
		return
	}
	if len(piece) >= largePiece {
		bytePairMergeLarge(piece, ranks, emit)
		return
	}
	bytePairMergeSmall(piece, ranks, emit)
}

// bytePairMergeSmall is the quadratic merge, fast for short pieces.
func bytePairMergeSmall(piece string, ranks map[string]int, emit func(id, size int)) {
	var buf [64][2]int
	var parts [][2]int
	if len(piece)+1 <= len(buf) {
		parts = buf[:len(piece)+1]
	} else {
		parts = make([][2]int, len(piece)+1)
	}
	for i := range parts {
		parts[i] = [2]int{i, math.MaxInt}
	}
	getRank := func(start, skip int) int {
		if start+skip+2 < len(parts) {
			if r, ok := ranks[piece[parts[start][0]:parts[start+skip+2][0]]]; ok {
				return r
			}
		}
		return -1
	}
	for i := 0; i < len(parts)-2; i++ {
		if r := getRank(i, 0); r >= 0 {
			parts[i][1] = r
		}
	}
	for len(parts) > 1 {
		minRank, minIdx := math.MaxInt, -1
		for i := 0; i < len(parts)-1; i++ {
			if parts[i][1] < minRank {
				minRank, minIdx = parts[i][1], i
			}
		}
		if minRank == math.MaxInt {
			break
		}
		i := minIdx
		if r := getRank(i, 1); r >= 0 {
			parts[i][1] = r
		} else {
			parts[i][1] = math.MaxInt
		}
		if i > 0 {
			if r := getRank(i-1, 1); r >= 0 {
				parts[i-1][1] = r
			} else {
				parts[i-1][1] = math.MaxInt
			}
		}
		parts = append(parts[:i+1], parts[i+2:]...)
	}
	for i := 0; i+1 < len(parts); i++ {
		s, e := parts[i][0], parts[i+1][0]
		emit(ranks[piece[s:e]], e-s)
	}
}

// largePiece is the pre-token length from which bytePairMergeLarge is used:
// bytePairMerge is quadratic in the piece length, which matters for long
// runs of letters without spaces (CJK) or of punctuation.
const largePiece = 256

// bytePairMergeLarge is bytePairMerge in O(n log n): the same merges in the
// same order (lowest rank first, leftmost among equal ranks), found with a
// heap over a linked list of parts instead of a scan of all parts.
func bytePairMergeLarge(piece string, ranks map[string]int, emit func(id, size int)) {
	n := len(piece)
	next := make([]int32, n) // start of the part after the part starting at k
	prev := make([]int32, n)
	ver := make([]int32, n) // bumped when part k's pair rank changes or it dies
	for k := range n {
		next[k], prev[k] = int32(k+1), int32(k-1)
	}
	pairRank := func(k int) int {
		nk := int(next[k])
		if nk >= n {
			return -1
		}
		if r, ok := ranks[piece[k:next[nk]]]; ok {
			return r
		}
		return -1
	}
	h := make(mergeHeap, 0, n)
	for k := 0; k+1 < n; k++ {
		if r := pairRank(k); r >= 0 {
			h = append(h, mergeItem{rank: r, pos: int32(k)})
		}
	}
	h.init()
	for len(h) > 0 {
		it := h.pop()
		k := int(it.pos)
		if it.ver != ver[k] {
			continue // stale: part k changed since this entry was pushed
		}
		nk := int(next[k])
		ver[nk]++ // part nk is merged into k
		next[k] = next[nk]
		if int(next[k]) < n {
			prev[next[k]] = int32(k)
		}
		ver[k]++
		if r := pairRank(k); r >= 0 {
			h.push(mergeItem{rank: r, pos: int32(k), ver: ver[k]})
		}
		if p := int(prev[k]); p >= 0 {
			ver[p]++
			if r := pairRank(p); r >= 0 {
				h.push(mergeItem{rank: r, pos: int32(p), ver: ver[p]})
			}
		}
	}
	for k := 0; k < n; {
		e := int(next[k])
		emit(ranks[piece[k:e]], e-k)
		k = e
	}
}

type mergeItem struct {
	rank     int
	pos, ver int32
}

// mergeHeap is a binary min-heap ordered by rank, then position.
type mergeHeap []mergeItem

func (h mergeHeap) less(i, j int) bool {
	return h[i].rank < h[j].rank || (h[i].rank == h[j].rank && h[i].pos < h[j].pos)
}

func (h mergeHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *mergeHeap) push(it mergeItem) {
	*h = append(*h, it)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mergeHeap) pop() mergeItem {
	s := *h
	it := s[0]
	last := len(s) - 1
	s[0] = s[last]
	*h = s[:last]
	if last > 0 {
		(*h).down(0)
	}
	return it
}

func (h mergeHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
