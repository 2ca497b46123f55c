package chunk

import "hash/maphash"

// pieceCache remembers the token lengths of recently seen pre-tokens, so
// that counting or locating the tokens of a frequent word costs one probe
// of a small table instead of a lookup in the 100k-entry rank map (and,
// for a word that is not one token, the byte-pair merge's repeated
// lookups). It is direct-mapped: a new pre-token takes the slot of the
// one before it. An entry holds the pre-token's bytes, so a hit is exact
// (never a hash match alone): the results are those of the rank map.
//
// A pieceCache is used by one goroutine at a time; encoders keep a few in
// a free list (getCache, putCache).
type pieceCache struct {
	seed maphash.Seed
	e    [1 << pieceCacheBits]pieceEntry
}

// pieceCacheBits sizes the table: 8192 entries of 32 bytes (256 KB).
const pieceCacheBits = 13

// maxCachedPiece and maxCachedTokens bound what an entry holds: longer
// pre-tokens, or those of more tokens, are never cached.
const (
	maxCachedPiece  = 22
	maxCachedTokens = 8
)

// pieceEntry is one cached pre-token: its bytes (key[:klen], klen == 0 for
// an empty slot, pre-tokens are never empty) and the byte length of each
// of its n tokens.
type pieceEntry struct {
	klen  uint8
	n     uint8
	sizes [maxCachedTokens]uint8
	key   [maxCachedPiece]byte
}

// slot returns the entry where piece belongs.
func (c *pieceCache) slot(piece string) *pieceEntry {
	return &c.e[maphash.String(c.seed, piece)&(1<<pieceCacheBits-1)]
}

// holds reports whether ent is piece's entry.
func (ent *pieceEntry) holds(piece string) bool {
	return int(ent.klen) == len(piece) && string(ent.key[:ent.klen]) == piece
}

// pieceFreeList is how many caches an encoder keeps for reuse.
const pieceFreeList = 4

// getCache returns a free cache of e, or a new one.
func (e *encoder) getCache() *pieceCache {
	select {
	case c := <-e.free:
		return c
	default:
		return &pieceCache{seed: maphash.MakeSeed()}
	}
}

// putCache keeps c for a later call, unless enough are kept already.
func (e *encoder) putCache(c *pieceCache) {
	select {
	case e.free <- c:
	default:
	}
}

// pieceTokens appends to off the start offset of each token of piece (a
// pre-token starting at byte pos of the text) and returns off and the
// number of tokens; with off nil it only counts. It consults and fills c.
func (e *encoder) pieceTokens(c *pieceCache, piece string, pos int, off []int, wantOff bool) ([]int, int) {
	var ent *pieceEntry
	if len(piece) <= maxCachedPiece {
		ent = c.slot(piece)
		if ent.holds(piece) {
			if wantOff {
				for _, sz := range ent.sizes[:ent.n] {
					off = append(off, pos)
					pos += int(sz)
				}
			}
			return off, int(ent.n)
		}
	}
	var sizes [maxCachedTokens]uint8
	n := 0
	if _, ok := e.ranks[piece]; ok {
		if wantOff {
			off = append(off, pos)
		}
		sizes[0] = uint8(len(piece))
		n = 1
	} else {
		bytePairMerge(piece, e.ranks, func(_, size int) {
			if wantOff {
				off = append(off, pos)
			}
			pos += size
			if n < maxCachedTokens {
				sizes[n] = uint8(size)
			}
			n++
		})
	}
	if ent != nil && n <= maxCachedTokens {
		ent.klen, ent.n, ent.sizes = uint8(len(piece)), uint8(n), sizes
		copy(ent.key[:], piece)
	}
	return off, n
}
