package local

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"unsafe"
)

// Snapshot format 2 ("MRVSSNP2") is laid out for memory-mapping, so that
// Init maps it instead of decoding it. Format 3 ("MRVSSNP3") is format 2
// with the records' metadata; compaction writes format 3, and formats 2
// and 1 ("MRVSSNP1") are still read (their records have no metadata). All
// integers little-endian; every section starts at a multiple of 64 bytes.
//
//	header     "MRVSSNP3" | dims u32 | model len u16 | model
//	per tenant vectors   rows × dims f32 (normalized)
//	           metas     rows × (bot, source, document) i32: indexes into the strings
//	           id ends   rows × u32: end of each ID in the ID bytes
//	           id bytes  the IDs, concatenated
//	           codes     rows × dims i8  (only when written by an Int8 store)
//	           scales    rows × f32      (idem)
//	           mds       rows × i32: index into the tenant's metadata table (format 3)
//	directory  seq uvarint | flags uvarint | strings: n uvarint, n × string |
//	           tenants: n uvarint, n × (name string, rows, and the offsets of the
//	           sections above as uvarints; codes 0 when absent; format 3 adds
//	           the mds offset and the metadata table: m uvarint, m × canonical
//	           JSON string, entry 0 "" (none), unused entries "")
//	footer     directory offset u64 | directory length u64 |
//	           CRC-32C of everything before the directory u32 | CRC-32C of the directory u32
//
// The strings are the interner's table (index 0 is ""), so the metas map
// as they are. Init checks both checksums (the data one by reading the file
// on another goroutine while it builds the ID index), maps the file
// copy-on-write and points the partitions' blocks into it; the IDs are
// copied to the heap (one string per tenant) for the index.
const (
	snap2Magic  = "MRVSSNP2"
	snap3Magic  = "MRVSSNP3"
	snap2Footer = 24
	flagCodes   = 1
)

// snapTenant is a tenant's entry in the directory.
type snapTenant struct {
	name                                    string
	rows                                    int
	vecOff, metaOff, idEndOff, idOff, idLen int64
	codeOff, scaleOff                       int64
	mdOff                                   int64    // format 3
	mdJSON                                  []string // format 3: the metadata table
}

type snapDir struct {
	seq     uint64
	flags   uint64
	strs    []string
	tenants []snapTenant
}

// countWriter counts and checksums what it writes.
type countWriter struct {
	w   io.Writer
	n   int64
	crc hash.Hash32
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.crc.Write(b[:n])
	return n, err
}

// pad writes zeros up to the next multiple of 64.
func (c *countWriter) pad() error {
	if r := c.n % 64; r != 0 {
		_, err := c.Write(make([]byte, 64-r))
		return err
	}
	return nil
}

// write32s writes b, a run of 4-byte little-endian words in memory order
// (float32s, int32s), swapping bytes on a big-endian machine.
func (c *countWriter) write32s(b []byte) error {
	if !littleEndian {
		sw := make([]byte, len(b))
		for i := 0; i+4 <= len(b); i += 4 {
			sw[i], sw[i+1], sw[i+2], sw[i+3] = b[i+3], b[i+2], b[i+1], b[i]
		}
		b = sw
	}
	_, err := c.Write(b)
	return err
}

func metaBytes(m []meta) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(m))), 12*len(m))
}

func int32Bytes(x []int32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), 4*len(x))
}

func int8Bytes(c []int8) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(c))), len(c))
}

// writeSnapshot2 writes the state in format 2 and returns its directory.
// Caller holds s.wmu.
func (s *Store) writeSnapshot2(w io.Writer) (*snapDir, error) {
	cw := &countWriter{w: w, crc: crc32.New(castagnoli)}
	if _, err := cw.Write(fileHeader(snap3Magic, s.space)); err != nil {
		return nil, err
	}
	dir := &snapDir{seq: s.seq, strs: s.in.strs}
	quant := s.cfg.quant == Int8
	if quant {
		dir.flags |= flagCodes
	}
	dims := s.space.Dims
	var buf []byte
	for name, p := range s.tenants {
		p.md.init()
		t := snapTenant{name: name, rows: p.n, mdJSON: p.md.jsons}
		if err := cw.pad(); err != nil {
			return nil, err
		}
		t.vecOff = cw.n
		for bi, b := range p.blocks {
			if !p.quant {
				if err := cw.write32s(floatBytes(b.vecs)); err != nil {
					return nil, err
				}
				continue
			}
			// The float32s as the files hold them (little-endian), read a
			// run of rows lying one after the other at a time.
			size := int64(4 * dims)
			buf = slices.Grow(buf[:0], len(b.ids)*int(size))
			for r := 0; r < len(b.ids); {
				loc, n := p.loc(bi*p.blockRows+r), 1
				for r+n < len(b.ids) && p.loc(bi*p.blockRows+r+n) == locAfter(loc, int64(n)*size) {
					n++
				}
				at := len(buf)
				buf = buf[:at+n*int(size)]
				if err := s.readRaw(loc, buf[at:]); err != nil {
					return nil, err
				}
				r += n
			}
			if _, err := cw.Write(buf); err != nil {
				return nil, err
			}
		}
		steps := []struct {
			off   *int64
			write func() error
		}{
			{&t.metaOff, func() error {
				for _, b := range p.blocks {
					if err := cw.write32s(metaBytes(b.metas)); err != nil {
						return err
					}
				}
				return nil
			}},
			{&t.idEndOff, func() error {
				var end uint64
				buf = buf[:0]
				for _, b := range p.blocks {
					for _, id := range b.ids {
						end += uint64(len(id))
						if end > 1<<32-1 {
							return errors.New("more than 4 GiB of IDs in one tenant")
						}
						buf = binary.LittleEndian.AppendUint32(buf, uint32(end))
					}
				}
				t.idLen = int64(end)
				_, err := cw.Write(buf)
				return err
			}},
			{&t.idOff, func() error {
				buf = buf[:0]
				for _, b := range p.blocks {
					for _, id := range b.ids {
						buf = append(buf, id...)
						if len(buf) >= 1<<20 {
							if _, err := cw.Write(buf); err != nil {
								return err
							}
							buf = buf[:0]
						}
					}
				}
				_, err := cw.Write(buf)
				return err
			}},
		}
		steps = append(steps, struct {
			off   *int64
			write func() error
		}{&t.mdOff, func() error {
			for _, b := range p.blocks {
				if err := cw.write32s(int32Bytes(b.mds)); err != nil {
					return err
				}
			}
			return nil
		}})
		if quant {
			steps = append(steps, struct {
				off   *int64
				write func() error
			}{&t.codeOff, func() error {
				for _, b := range p.blocks {
					if p.quant {
						if _, err := cw.Write(int8Bytes(b.codes)); err != nil {
							return err
						}
						continue
					}
					codes := make([]int8, dims)
					for r := range b.ids {
						quantize(codes, b.vecs[r*dims:(r+1)*dims])
						if _, err := cw.Write(int8Bytes(codes)); err != nil {
							return err
						}
					}
				}
				return nil
			}}, struct {
				off   *int64
				write func() error
			}{&t.scaleOff, func() error {
				for _, b := range p.blocks {
					if p.quant {
						if err := cw.write32s(floatBytes(b.scales)); err != nil {
							return err
						}
						continue
					}
					codes := make([]int8, dims)
					scales := make([]float32, len(b.ids))
					for r := range b.ids {
						scales[r] = quantize(codes, b.vecs[r*dims:(r+1)*dims])
					}
					if err := cw.write32s(floatBytes(scales)); err != nil {
						return err
					}
				}
				return nil
			}})
		}
		for _, st := range steps {
			if err := cw.pad(); err != nil {
				return nil, err
			}
			*st.off = cw.n
			if err := st.write(); err != nil {
				return nil, err
			}
		}
		dir.tenants = append(dir.tenants, t)
	}
	if err := cw.pad(); err != nil {
		return nil, err
	}
	dirOff, dataCRC := cw.n, cw.crc.Sum32()
	d := appendUvarint(nil, dir.seq)
	d = appendUvarint(d, dir.flags)
	d = appendUvarint(d, uint64(len(dir.strs)))
	for _, str := range dir.strs {
		d = appendString(d, str)
	}
	d = appendUvarint(d, uint64(len(dir.tenants)))
	for _, t := range dir.tenants {
		d = appendString(d, t.name)
		for _, x := range []int64{int64(t.rows), t.vecOff, t.metaOff, t.idEndOff, t.idOff, t.idLen, t.codeOff, t.scaleOff, t.mdOff} {
			d = appendUvarint(d, uint64(x))
		}
		d = appendUvarint(d, uint64(len(t.mdJSON)))
		for _, js := range t.mdJSON {
			d = appendString(d, js)
		}
	}
	d = binary.LittleEndian.AppendUint64(d, uint64(dirOff))
	d = binary.LittleEndian.AppendUint64(d, uint64(len(d)-8))
	d = binary.LittleEndian.AppendUint32(d, dataCRC)
	d = binary.LittleEndian.AppendUint32(d, crc32.Checksum(d[:len(d)-20], castagnoli))
	if _, err := w.Write(d); err != nil {
		return nil, err
	}
	return dir, nil
}

// readDir reads and checks the directory of a format 2 or (v3) 3
// snapshot.
func readDir(f *os.File, size int64, path string, v3 bool) (*snapDir, int64, uint32, error) {
	corrupt := func(what string) error {
		return fmt.Errorf("vectorstore/local: %s: %s: %w", path, what, ErrCorrupt)
	}
	if size < snap2Footer+int64(len(snap2Magic)) {
		return nil, 0, 0, corrupt("truncated")
	}
	var foot [snap2Footer]byte
	if _, err := f.ReadAt(foot[:], size-snap2Footer); err != nil {
		return nil, 0, 0, fmt.Errorf("vectorstore/local: read %s: %w", path, err)
	}
	dirOff := int64(binary.LittleEndian.Uint64(foot[0:]))
	dirLen := int64(binary.LittleEndian.Uint64(foot[8:]))
	dataCRC := binary.LittleEndian.Uint32(foot[16:])
	if dirOff < 0 || dirLen < 0 || dirOff%64 != 0 || dirOff > size || dirLen != size-snap2Footer-dirOff {
		return nil, 0, 0, corrupt("bad footer")
	}
	b := make([]byte, dirLen)
	if _, err := f.ReadAt(b, dirOff); err != nil {
		return nil, 0, 0, fmt.Errorf("vectorstore/local: read %s: %w", path, err)
	}
	if crc32.Checksum(b, castagnoli) != binary.LittleEndian.Uint32(foot[20:]) {
		return nil, 0, 0, corrupt("directory checksum mismatch")
	}
	d := &decoder{b: b}
	dir := &snapDir{seq: d.uvarint(), flags: d.uvarint()}
	dir.strs = d.strings()
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		return nil, 0, 0, corrupt("bad directory")
	}
	for range n {
		t := snapTenant{name: string(d.bytes())}
		var x [8]int64
		for i := range x {
			x[i] = int64(d.uvarint())
		}
		t.rows = int(x[0])
		t.vecOff, t.metaOff, t.idEndOff, t.idOff, t.idLen, t.codeOff, t.scaleOff = x[1], x[2], x[3], x[4], x[5], x[6], x[7]
		if dir.flags&flagCodes == 0 {
			t.codeOff, t.scaleOff = 0, 0
		}
		if v3 {
			t.mdOff = int64(d.uvarint())
			t.mdJSON = d.strings()
			if len(t.mdJSON) == 0 || t.mdJSON[0] != "" {
				return nil, 0, 0, corrupt("bad metadata table")
			}
		}
		dir.tenants = append(dir.tenants, t)
	}
	if d.err != nil || len(d.b) != 0 || len(dir.strs) == 0 || dir.strs[0] != "" {
		return nil, 0, 0, corrupt("bad directory")
	}
	return dir, dirOff, dataCRC, nil
}

// checkSections reports whether t's sections lie inside the data.
func (t *snapTenant) checkSections(dims int, dataEnd int64, codes, v3 bool) bool {
	rows := int64(t.rows)
	in := func(off, n int64) bool { return off >= 0 && n >= 0 && off%4 == 0 && off <= dataEnd && n <= dataEnd-off }
	ok := t.rows >= 0 && rows <= dataEnd/4 &&
		in(t.vecOff, rows*int64(dims)*4) && in(t.metaOff, rows*12) && in(t.idEndOff, rows*4) && in(t.idOff, t.idLen)
	if codes {
		ok = ok && in(t.codeOff, rows*int64(dims)) && in(t.scaleOff, rows*4)
	}
	if v3 {
		ok = ok && in(t.mdOff, rows*4)
	}
	return ok
}

// fileCRC returns the CRC-32C of f's first n bytes, read (not mapped, so
// that they do not count as the process's memory).
func fileCRC(f *os.File, n int64) (uint32, error) {
	buf := make([]byte, 4<<20)
	var crc uint32
	for off := int64(0); off < n; {
		k := min(int64(len(buf)), n-off)
		if _, err := f.ReadAt(buf[:k], off); err != nil {
			return 0, err
		}
		crc = crc32.Update(crc, castagnoli, buf[:k])
		off += k
	}
	return crc, nil
}

// loadSnapshot2 maps the format 2 or (v3) 3 snapshot f into the (empty)
// state and keeps f open as s.snapFile. Caller holds s.mu.
func (s *Store) loadSnapshot2(f *os.File, size int64, path string, v3 bool) (err error) {
	dir, dirOff, dataCRC, err := readDir(f, size, path, v3)
	if err != nil {
		return err
	}
	magic := snap2Magic
	if v3 {
		magic = snap3Magic
	}
	if err := readHeader(io.NewSectionReader(f, 0, dirOff), magic, s.space, path); err != nil {
		return err
	}
	codes := dir.flags&flagCodes != 0
	for i := range dir.tenants {
		if !dir.tenants[i].checkSections(s.space.Dims, dirOff, codes, v3) {
			return fmt.Errorf("vectorstore/local: %s: tenant %d: sections out of bounds: %w", path, i, ErrCorrupt)
		}
	}
	type crcResult struct {
		crc uint32
		err error
	}
	crcDone := make(chan crcResult, 1)
	go func() {
		c, err := fileCRC(f, dirOff)
		crcDone <- crcResult{c, err}
	}()
	m, err := mapFile(f, size)
	if err == nil {
		err = s.buildFromSnapshot(m, dir, path)
	}
	res := <-crcDone
	if err == nil && res.err != nil {
		err = fmt.Errorf("vectorstore/local: read %s: %w", path, res.err)
	}
	if err == nil && res.crc != dataCRC {
		err = fmt.Errorf("vectorstore/local: %s: checksum mismatch: %w", path, ErrCorrupt)
	}
	if err != nil {
		s.tenants, s.in = map[string]*partition{}, newInterner()
		if m != nil {
			unmapFile(m)
		}
		return err
	}
	s.mapping, s.snapFile = m, f
	s.seq = dir.seq
	s.snapSize = size
	// Building the state read the IDs, the metas and the metadata indexes
	// through the mapping; the IDs are on the heap now, and the others are
	// read again only by filtered searches, deletes and writes: let their
	// pages go until then (about 30 MB at 1M rows). Nothing has written
	// to the mapping yet, so the pages are the file's.
	for i := range dir.tenants {
		t := &dir.tenants[i]
		rows := int64(t.rows)
		releasePages(m, t.idEndOff, rows*4)
		releasePages(m, t.idOff, t.idLen)
		releasePages(m, t.metaOff, rows*12)
		if t.mdOff != 0 {
			releasePages(m, t.mdOff, rows*4)
		}
		if s.cfg.quant == Int8 {
			// Rescoring reads the float32s with pread, not the mapping;
			// quantizing a Float32 snapshot read them all.
			releasePages(m, t.vecOff, rows*int64(4*s.space.Dims))
		}
	}
	return nil
}

// buildFromSnapshot builds the partitions, the ID indexes and the
// interner from the mapped snapshot m.
func (s *Store) buildFromSnapshot(m []byte, dir *snapDir, path string) error {
	corrupt := func(what string, a ...any) error {
		return fmt.Errorf("vectorstore/local: %s: %s: %w", path, fmt.Sprintf(what, a...), ErrCorrupt)
	}
	in := &interner{ids: make(map[string]int32, len(dir.strs)), strs: dir.strs, refs: make([]int32, len(dir.strs))}
	for i, str := range dir.strs[1:] {
		if str == "" {
			continue
		}
		if _, dup := in.ids[str]; dup {
			return corrupt("string %q twice", str)
		}
		in.ids[str] = int32(i + 1)
	}
	tenants := make(map[string]*partition, len(dir.tenants))
	for ti := range dir.tenants {
		t := &dir.tenants[ti]
		if _, dup := tenants[t.name]; dup || t.rows == 0 {
			return corrupt("tenant %d", ti)
		}
		p := newPartition(s.space.Dims, s.blockRows, s.cfg.quant == Int8)
		ends := view32[uint32](m[t.idEndOff:], t.rows)
		blob := string(m[t.idOff : t.idOff+t.idLen])
		var start uint32
		for i0 := 0; i0 < t.rows; i0 += s.blockRows {
			i1 := min(t.rows, i0+s.blockRows)
			b := &block{ids: make([]string, i1-i0)}
			for r := i0; r < i1; r++ {
				end := ends[r]
				if end < start || int64(end) > t.idLen || end == start {
					return corrupt("tenant %d: ID %d", ti, r)
				}
				b.ids[r-i0] = blob[start:end]
				start = end
			}
			p.blocks = append(p.blocks, b)
		}
		p.n = t.rows
		p.index = newIDIndex(t.rows)
		for r := range t.rows {
			id := p.id(r)
			if _, dup := p.lookup(id); dup {
				return corrupt("tenant %d: ID %q twice", ti, id)
			}
			p.indexPut(id, int32(r))
		}
		if err := s.attach(p, m, t); err != nil {
			return err
		}
		if err := p.buildMetadata(t.mdJSON); err != nil {
			return corrupt("tenant %d: %v", ti, err)
		}
		for _, b := range p.blocks {
			for _, md := range b.metas {
				for _, x := range [3]int32{md.bot, md.source, md.doc} {
					if x < 0 || int(x) >= len(in.strs) || (x > 0 && in.strs[x] == "") {
						return corrupt("tenant %d: bad string index %d", ti, x)
					}
					if x > 0 {
						in.refs[x]++
					}
				}
			}
		}
		tenants[t.name] = p
	}
	for i := 1; i < len(in.strs); i++ {
		if in.refs[i] == 0 {
			delete(in.ids, in.strs[i])
			in.strs[i] = ""
			in.free = append(in.free, int32(i))
		}
	}
	s.tenants, s.in = tenants, in
	return nil
}

// attach points p's blocks into the mapped snapshot m, whose tenant t
// holds exactly p's rows in p's order: the vectors (float32) or the codes
// and the snapshot offsets of the vectors (Int8), and the metas.
func (s *Store) attach(p *partition, m []byte, t *snapTenant) error {
	dims := p.dims
	metas := view32[meta](m[t.metaOff:], t.rows)
	var mds []int32
	if t.mdOff != 0 {
		mds = view32[int32](m[t.mdOff:], t.rows)
	} else {
		mds = make([]int32, t.rows)
	}
	var vecs, scales []float32
	var codes []int8
	switch {
	case !p.quant:
		vecs = view32[float32](m[t.vecOff:], t.rows*dims)
	case t.codeOff != 0:
		codes = unsafe.Slice((*int8)(unsafe.Pointer(&m[t.codeOff])), t.rows*dims)
		scales = view32[float32](m[t.scaleOff:], t.rows)
	default:
		// A snapshot of a Float32 store opened as Int8: quantize it.
		codes = make([]int8, t.rows*dims)
		scales = make([]float32, t.rows)
		vec := make([]float32, dims)
		for r := range t.rows {
			copy(vec, view32[float32](m[t.vecOff+int64(r*dims*4):], dims))
			scales[r] = quantize(codes[r*dims:(r+1)*dims], vec)
		}
	}
	for bi, b := range p.blocks {
		i0 := bi * s.blockRows
		i1 := i0 + len(b.ids)
		b.ids = b.ids[:len(b.ids):len(b.ids)]
		b.metas = metas[i0:i1:i1]
		b.mds = mds[i0:i1:i1]
		if !p.quant {
			b.vecs = vecs[i0*dims : i1*dims : i1*dims]
			continue
		}
		b.codes = codes[i0*dims : i1*dims : i1*dims]
		b.scales = scales[i0:i1:i1]
		b.locs, b.locBase = nil, t.vecOff+int64(i0)*int64(dims*4)
	}
	return nil
}

// view32 returns the first n 4-byte values of b: a view on a little-endian
// machine, a decoded copy elsewhere. b starts at a multiple of 4 from a
// page boundary.
func view32[T float32 | uint32 | int32 | meta](b []byte, n int) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if n == 0 {
		return nil
	}
	b = b[:n*size]
	if littleEndian {
		return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]T, n)
	ob := unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), n*size)
	for i := 0; i+4 <= len(b); i += 4 {
		ob[i], ob[i+1], ob[i+2], ob[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	return out
}

// remap points every partition into a snapshot just written from the
// state (its directory dir), and releases the previous mapping and the
// rescore file's content. Caller holds s.wmu.
func (s *Store) remap(f *os.File, size int64, dir *snapDir) error {
	m, err := mapFile(f, size)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, oldFile := s.mapping, s.snapFile
	s.snapFile = f // attach of an Int8 store reads nothing, but keep the order
	for i := range dir.tenants {
		t := &dir.tenants[i]
		if err := s.attach(s.tenants[t.name], m, t); err != nil {
			return err
		}
	}
	s.mapping = m
	if old != nil {
		unmapFile(old)
	}
	if oldFile != nil {
		oldFile.Close()
	}
	if s.side != nil {
		return s.side.reset()
	}
	return nil
}
