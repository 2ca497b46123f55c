package local

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// Quantization selects how a Store keeps its vectors in memory for search.
type Quantization uint8

const (
	// Float32 keeps every vector as float32s in memory (or mapped from the
	// snapshot) and searches them exactly. It is the default.
	Float32 Quantization = iota
	// Int8 keeps one signed byte per dimension in memory (a per-vector
	// scalar quantization: code = round(x·127/max|x|)) and the float32s on
	// disk only: in the snapshot, and for the records written since, in a
	// scratch file beside it (rescore.f32) that Init rebuilds. Search scans
	// the codes for the best max(4·TopK, TopK+32) candidates, then reads
	// their float32s and returns them ranked by exact cosine, so scores
	// are exact and only recall can differ from Float32 (≥ 0.99 at
	// recall@10 on the benchmarks, see docs/PERFORMANCE.md). Memory is
	// about a quarter of Float32's; a memory-only Store (Open("")) keeps the
	// float32s in memory too, so only its search gets faster.
	Int8
)

// WithQuantization sets how vectors are held in memory for search
// (Float32 by default). It can change between openings of a folder: the
// snapshot always holds the float32s.
func WithQuantization(q Quantization) Option { return func(c *config) { c.quant = q } }

// rescoreFile is the scratch file of a quantized store: the float32s of the
// records written since the snapshot.
const rescoreFile = "rescore.f32"

// rescoreCount is how many candidates a quantized search rescores.
func rescoreCount(k int) int { return max(4*k, k+32) }

// quantize writes v's codes to dst and returns the value of code 1.
func quantize(dst []int8, v []float32) float32 {
	var m float32
	for _, x := range v {
		m = max(m, float32(math.Abs(float64(x))))
	}
	if m == 0 {
		clear(dst)
		return 0
	}
	scale := m / 127
	inv := 1 / scale
	for i, x := range v {
		dst[i] = int8(max(-127, min(127, math.Round(float64(x*inv)))))
	}
	return scale
}

// quantizeQuery turns a query into int16s such that no dot product with
// int8 codes overflows an int32, and returns the value of 1.
func quantizeQuery(q []float32) ([]int16, float32) {
	limit := float32(min(32767, (math.MaxInt32/127)/max(1, len(q))))
	out := make([]int16, len(q))
	var m float32
	for _, x := range q {
		m = max(m, float32(math.Abs(float64(x))))
	}
	if m == 0 {
		return out, 0
	}
	scale := m / limit
	inv := 1 / scale
	for i, x := range q {
		out[i] = int16(max(-limit, min(limit, float32(math.Round(float64(x*inv))))))
	}
	return out, scale
}

// dotI8BlockGeneric scores the len(out) rows of codes against q.
func dotI8BlockGeneric(q []int16, codes []int8, out []int32) {
	d := len(q)
	for j := range out {
		row := codes[j*d : (j+1)*d : (j+1)*d]
		var s0, s1, s2, s3 int32
		i := 0
		for ; i+4 <= d; i += 4 {
			s0 += int32(q[i]) * int32(row[i])
			s1 += int32(q[i+1]) * int32(row[i+1])
			s2 += int32(q[i+2]) * int32(row[i+2])
			s3 += int32(q[i+3]) * int32(row[i+3])
		}
		for ; i < d; i++ {
			s0 += int32(q[i]) * int32(row[i])
		}
		out[j] = s0 + s1 + s2 + s3
	}
}

// scanQuant is scan over the codes of a quantized partition: approximate
// scores into t.
func (p *partition) scanQuant(q []int16, qs float32, from, to int, c *compiled, t *topK) {
	dims := p.dims
	filtered := !c.any()
	var scores [scanChunk]int32
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
			dotI8Block(q, blk.codes[(off+j)*dims:(off+k)*dims], scores[j:k])
			th, full := t.threshold()
			for i := j; i < k; i++ {
				s := float32(scores[i]) * qs * blk.scales[off+i]
				if full && s <= th {
					continue
				}
				t.push(s, int32(r+i))
				th, full = t.threshold()
			}
		}
		r += n
	}
}

// searchQuant is partition.search for a quantized partition: the best
// rescoreCount(k) rows by their codes, rescored exactly.
func (s *Store) searchQuant(p *partition, q []float32, k int, c *compiled, useMin bool, minScore float32, workers int) ([]hit, error) {
	k = min(k, p.n)
	if k == 0 {
		return nil, nil
	}
	qi, qs := quantizeQuery(q)
	var cands []hit
	if l, ok := p.filterRows(c); ok {
		cands = p.topRowsN(len(l.rows), rescoreCount(k), workers, listMin, func(from, to int, t *topK) {
			p.scanQuantRows(qi, qs, l.rows[from:to], l.exact, c, t)
		})
	} else {
		p.mdBits(c)
		cands = p.topRows(rescoreCount(k), workers, func(from, to int, t *topK) {
			p.scanQuant(qi, qs, from, to, c, t)
		})
	}
	// Read in file order: neighbours share pages.
	slices.SortFunc(cands, func(a, b hit) int {
		la, lb := p.loc(int(a.row)), p.loc(int(b.row))
		switch {
		case la < lb:
			return -1
		case la > lb:
			return 1
		}
		return 0
	})
	vec := make([]float32, p.dims)
	buf := make([]byte, 4*p.dims)
	out := cands[:0]
	for _, h := range cands {
		if err := s.readFloats(p.loc(int(h.row)), vec, buf); err != nil {
			return nil, err
		}
		sc := dot(q, vec)
		if useMin && sc < minScore {
			continue
		}
		out = append(out, hit{sc, h.row})
	}
	p.sortHits(out)
	return out[:min(k, len(out))], nil
}

// loc returns where row r's float32s are (see readFloats).
func (p *partition) loc(r int) int64 {
	b, i := p.blocks[r/p.blockRows], r%p.blockRows
	if b.locs == nil {
		return b.locBase + int64(i)*int64(4*p.dims)
	}
	return b.locs[i]
}

// ownLocs gives b, in a quantized partition, its own array of locations
// (as long as its rows), before one changes.
func (p *partition) ownLocs(b *block) {
	if !p.quant || b.locs != nil {
		return
	}
	b.locs = make([]int64, len(b.ids))
	for i := range b.locs {
		b.locs[i] = b.locBase + int64(i)*int64(4*p.dims)
	}
}

// readFloats reads the float32s at loc (a snapshot offset when >= 0, else
// -loc-1 in the rescore file) into dst through buf.
func (s *Store) readFloats(loc int64, dst []float32, buf []byte) error {
	if err := s.readRaw(loc, buf[:4*len(dst)]); err != nil {
		return err
	}
	decodeFloats(dst, buf)
	return nil
}

// readRaw reads the little-endian float32s at loc (as readFloats) into
// buf: one row's or, for buf longer, those of the rows stored after it.
func (s *Store) readRaw(loc int64, buf []byte) error {
	var err error
	if loc >= 0 {
		if s.snapFile == nil {
			return errors.New("vectorstore/local: no snapshot to read vectors from") // a bug
		}
		_, err = s.snapFile.ReadAt(buf, loc)
	} else {
		_, err = s.side.ReadAt(buf, -loc-1)
	}
	if err != nil {
		return fmt.Errorf("vectorstore/local: read vector: %w", err)
	}
	return nil
}

// locAfter returns the location n bytes after loc in the same file.
func locAfter(loc, n int64) int64 {
	if loc >= 0 {
		return loc + n
	}
	return loc - n
}

// setVector stores the normalized little-endian float32s raw as row's
// vector.
func (s *Store) setVector(p *partition, row int, raw []byte) error {
	if !p.quant {
		decodeFloats(p.vec(row), raw)
		return nil
	}
	if len(s.qscratch) != p.dims {
		s.qscratch = make([]float32, p.dims)
	}
	decodeFloats(s.qscratch, raw)
	b, i := p.blocks[row/p.blockRows], row%p.blockRows
	b.scales[i] = quantize(p.code(row), s.qscratch)
	off, err := s.side.append(raw)
	if err != nil {
		return fmt.Errorf("vectorstore/local: write %s: %w", rescoreFile, err)
	}
	p.ownLocs(b)
	b.locs[i] = -off - 1
	return nil
}

// rowFloats returns row r's vector: a view in a float32 partition, else
// read into dst through buf.
func (s *Store) rowFloats(p *partition, r int, dst []float32, buf []byte) ([]float32, error) {
	if !p.quant {
		return p.vec(r), nil
	}
	if err := s.readFloats(p.loc(r), dst, buf); err != nil {
		return nil, err
	}
	return dst, nil
}

// sideStore holds the float32s of a quantized store's records written
// since the snapshot.
type sideStore interface {
	io.ReaderAt
	append(b []byte) (int64, error)
	reset() error
	close() error
}

// memSide is the sideStore of a memory-only Store.
type memSide struct{ b []byte }

func (m *memSide) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m.b)) {
		return 0, io.ErrUnexpectedEOF
	}
	return copy(p, m.b[off:]), nil
}

func (m *memSide) append(b []byte) (int64, error) {
	off := int64(len(m.b))
	m.b = append(m.b, b...)
	return off, nil
}

func (m *memSide) reset() error { m.b = nil; return nil }
func (m *memSide) close() error { m.b = nil; return nil }

// fileSide is the sideStore of a Store on disk: a file it never syncs (the
// log holds the same vectors) and truncates at Init and after compaction.
type fileSide struct {
	f    *os.File
	size int64
}

func openFileSide(path string) (*fileSide, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	return &fileSide{f: f}, nil
}

func (f *fileSide) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }

func (f *fileSide) append(b []byte) (int64, error) {
	off := f.size
	if _, err := f.f.WriteAt(b, off); err != nil {
		return 0, err
	}
	f.size += int64(len(b))
	return off, nil
}

func (f *fileSide) reset() error {
	f.size = 0
	return f.f.Truncate(0)
}

func (f *fileSide) close() error { return f.f.Close() }
