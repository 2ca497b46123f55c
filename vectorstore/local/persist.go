package local

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// File formats (all integers little-endian):
//
//	wal.log      header: "MRVSWAL1" | dims u32 | model len u16 | model | CRC-32C of the above
//	             entries: payload len u32 | CRC-32C(len) u32 | CRC-32C(payload) u32 | payload
//	             payload: op u8 | seq uvarint | op data
//	               upsert: n uvarint | n × (id, tenant, bot, source, document strings | dims × f32)
//	               upsert with metadata (op 4): m uvarint | m × metadata JSON string |
//	                 n uvarint | n × (id, tenant, bot, source, document strings |
//	                 metadata uvarint (0 none, else 1 + its index among the m) | dims × f32)
//	               delete: tenant, bot strings | n uvarint | n × source | m uvarint | m × document
//	               delete IDs (op 3): tenant string | n uvarint | n × record ID
//	               set metadata (op 5): tenant string | metadata JSON string ("" none) |
//	                 n uvarint | n × record ID
//	             (ops 4 and 5 are read since this format's metadata; an older
//	             binary fails on them with ErrCorrupt rather than drop metadata)
//	snapshot.bin "MRVSSNP1" | dims u32 | model len u16 | model | seq u64 | tenants uvarint |
//	             per tenant: tenant string | rows uvarint | rows × (id, bot, source, document | dims × f32) |
//	             CRC-32C of everything before it u32
//
// Strings are a uvarint length and the bytes. Vectors are stored normalized.

const (
	walMagic   = "MRVSWAL1"
	snapMagic  = "MRVSSNP1"
	walName    = "wal.log"
	lockName   = "LOCK"
	snapName   = "snapshot.bin"
	opUpsert   = 1
	opDelete   = 2
	opUpsertMD = 4
	entryHead  = 12
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// folderName is a space's folder: the model name made safe for any file
// system, and a hash of the exact name so that two models never share one.
func folderName(model string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(model) {
		if b.Len() >= 48 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(model))
	return fmt.Sprintf("%s-%x", strings.TrimLeft(b.String(), "."), sum[:4])
}

func appendUvarint(b []byte, x uint64) []byte { return binary.AppendUvarint(b, x) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// littleEndian reports whether float32s can be copied to and from the
// files' little-endian bytes as they lie in memory.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// floatBytes views f as bytes (no copy).
func floatBytes(f []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), 4*len(f))
}

// appendFloats appends f as little-endian float32s.
func appendFloats(b []byte, f []float32) []byte {
	if littleEndian && len(f) > 0 {
		return append(b, floatBytes(f)...)
	}
	for _, x := range f {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func recordSize(r *vectorstore.Record) int {
	return 4*len(r.Vector) + len(r.ID) + len(r.TenantID) + len(r.BotID) + len(r.SourceID) + len(r.DocumentID) + 5*binary.MaxVarintLen64
}

// appendRecordHead appends r's strings and its metadata's number in the
// entry when md >= 0 (opUpsertMD): all of the record but its normalized
// vector, which follows (encodeVectors).
func appendRecordHead(b []byte, r *vectorstore.Record, md int) []byte {
	b = appendString(b, r.ID)
	b = appendString(b, r.TenantID)
	b = appendString(b, r.BotID)
	b = appendString(b, r.SourceID)
	b = appendString(b, r.DocumentID)
	if md >= 0 {
		b = appendUvarint(b, uint64(md))
	}
	return b
}

func appendFilter(b []byte, f vectorstore.Filter) []byte {
	b = appendString(b, f.TenantID)
	b = appendString(b, f.BotID)
	b = appendUvarint(b, uint64(len(f.SourceIDs)))
	for _, id := range f.SourceIDs {
		b = appendString(b, id)
	}
	b = appendUvarint(b, uint64(len(f.DocumentIDs)))
	for _, id := range f.DocumentIDs {
		b = appendString(b, id)
	}
	return b
}

// entryStart resets b to an entry header placeholder, the op and the next
// sequence number.
func (s *Store) entryStart(b []byte, op byte) []byte {
	b = append(b[:0], make([]byte, entryHead)...)
	b = append(b, op)
	return appendUvarint(b, s.seq+1)
}

// commit logs the entry in s.buf (when persistent) and applies it.
func (s *Store) commit() error {
	if s.broken != nil {
		return fmt.Errorf("vectorstore/local: an earlier write failed, reopen the store: %w", s.broken)
	}
	payload := s.buf[entryHead:]
	if s.wal != nil {
		binary.LittleEndian.PutUint32(s.buf[0:4], uint32(len(payload)))
		binary.LittleEndian.PutUint32(s.buf[4:8], crc32.Checksum(s.buf[0:4], castagnoli))
		binary.LittleEndian.PutUint32(s.buf[8:12], crc32.Checksum(payload, castagnoli))
		if err := s.wal.append(s.buf, s.cfg.sync); err != nil {
			if terr := s.wal.undo(); terr != nil {
				s.broken = err
			}
			return fmt.Errorf("vectorstore/local: write %s: %w", filepath.Join(s.dir, walName), err)
		}
	}
	s.mu.Lock()
	err := s.apply(payload)
	s.mu.Unlock()
	if err != nil {
		// The entry is logged but not (wholly) applied: only a reopen,
		// which replays the log, makes the memory right again.
		s.broken = err
		return fmt.Errorf("vectorstore/local: apply: %w", err)
	}
	return nil
}

// decoder reads a payload.
type decoder struct {
	b   []byte
	err error
}

var (
	errShort = errors.New("entry too short")
	errInUse = errors.New("locked")
)

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

// strings reads a count and that many strings.
func (d *decoder) strings() []string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) { // each string takes a byte at least
		if d.err == nil {
			d.err = errShort
		}
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = string(d.bytes())
	}
	return out
}

func (d *decoder) floats(dst []float32) {
	if d.err != nil {
		return
	}
	if len(d.b) < 4*len(dst) {
		d.err = errShort
		return
	}
	decodeFloats(dst, d.b)
	d.b = d.b[4*len(dst):]
}

func decodeFloats(dst []float32, b []byte) {
	b = b[:4*len(dst)]
	if littleEndian && len(dst) > 0 {
		copy(floatBytes(dst), b)
		return
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

// apply applies one log payload to the in-memory state.
func (s *Store) apply(payload []byte) error {
	if len(payload) == 0 {
		return errShort
	}
	d := &decoder{b: payload[1:]}
	seq := d.uvarint()
	if d.err != nil {
		return d.err
	}
	switch payload[0] {
	case opUpsert, opUpsertMD:
		var table [][]byte
		if payload[0] == opUpsertMD {
			m := d.uvarint()
			if m > uint64(len(d.b)) {
				return errShort
			}
			table = make([][]byte, m+1)
			for i := range m {
				table[i+1] = d.bytes()
			}
		}
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			return errShort
		}
		// The rows first, in order; then their vectors, in parallel
		// (batch.go).
		sets, updates := s.sets[:0], false
		defer func() {
			if cap(sets) > 64<<10 {
				sets = nil // a large entry's list is not kept
			}
			s.sets = sets[:0]
		}()
		// flush sets the vectors of the rows put so far (on an error too,
		// as when each row's vector was set with it).
		flush := func() error {
			if updates {
				dedupSets(sets)
			}
			return s.setVectors(sets, payload)
		}
		for range n {
			id, tenant := d.bytes(), d.bytes()
			bot, src, doc := d.bytes(), d.bytes(), d.bytes()
			var md []byte
			if table != nil {
				i := d.uvarint()
				if d.err == nil && i >= uint64(len(table)) {
					return errors.Join(errors.New("metadata number out of range"), flush())
				}
				md = table[i]
			}
			if d.err != nil {
				return errors.Join(d.err, flush())
			}
			if len(d.b) < 4*s.space.Dims {
				return errors.Join(errShort, flush())
			}
			p, row, added, err := s.put(tenant, id, bot, src, doc, md)
			if err != nil {
				return errors.Join(err, flush())
			}
			updates = updates || !added
			sets = append(sets, vecSet{p: p, row: row, off: len(payload) - len(d.b)})
			d.b = d.b[4*s.space.Dims:]
		}
		if err := flush(); err != nil {
			return err
		}
	case opDelete:
		tenant, bot := string(d.bytes()), string(d.bytes())
		srcs := d.strings()
		docs := d.strings()
		if d.err != nil {
			return d.err
		}
		s.deleteMatching(tenant, bot, srcs, docs)
	case opDeleteIDs:
		if err := s.applyDeleteIDs(d); err != nil {
			return err
		}
	case opSetMetadata:
		if err := s.applySetMetadata(d); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown op %d", payload[0])
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return errors.New("trailing bytes in entry")
	}
	s.seq = seq
	return nil
}

// put inserts or replaces one record (but for its vector: see setVector),
// with md its metadata's canonical JSON (nil for none), and returns its
// partition and row, and whether the row is new.
func (s *Store) put(tenant, id, bot, src, doc, md []byte) (*partition, int, bool, error) {
	p := s.tenants[string(tenant)]
	if p == nil {
		p = newPartition(s.space.Dims, s.blockRows, s.cfg.quant == Int8)
		s.tenants[string(tenant)] = p
	}
	r, ok := p.lookup(unsafe.String(unsafe.SliceData(id), len(id))) // not kept
	row := int(r)
	if !ok {
		row = p.add(string(id))
	}
	m := p.meta(row)
	old := *m
	// Take the new references before releasing the old: IDs often stay.
	*m = meta{bot: s.in.refBytes(bot), source: s.in.refBytes(src), doc: s.in.refBytes(doc)}
	p.ver++
	s.in.unref(old.bot)
	s.in.unref(old.source)
	s.in.unref(old.doc)
	if err := p.setMetadata(row, md); err != nil {
		return nil, 0, false, err
	}
	return p, row, !ok, nil
}

func (s *Store) deleteMatching(tenant, bot string, srcs, docs []string) {
	p := s.tenants[tenant]
	if p == nil {
		return
	}
	c, ok := compileFilter(s.in, bot, srcs, docs)
	if !ok {
		return
	}
	all := c.any()
	for r := p.n - 1; r >= 0; r-- {
		if all || p.matchRow(&c, r) {
			m := p.remove(r)
			s.in.unref(m.bot)
			s.in.unref(m.source)
			s.in.unref(m.doc)
		}
	}
	if p.n == 0 {
		delete(s.tenants, tenant)
	}
}

// walFile is the open write-ahead log.
type walFile struct {
	f    *os.File
	size int64 // bytes of complete entries
}

func (w *walFile) append(b []byte, sync bool) error {
	if _, err := w.f.Write(b); err != nil {
		return err
	}
	if sync {
		if err := w.f.Sync(); err != nil {
			return err
		}
	}
	w.size += int64(len(b))
	return nil
}

// undo cuts a failed append off the log.
func (w *walFile) undo() error { return w.f.Truncate(w.size) }

func fileHeader(magic string, sp vectorstore.Space) []byte {
	b := []byte(magic)
	b = binary.LittleEndian.AppendUint32(b, uint32(sp.Dims))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(sp.Model)))
	return append(b, sp.Model...)
}

// readHeader checks a file header against the space.
func readHeader(r io.Reader, magic string, sp vectorstore.Space, name string) error {
	fixed := make([]byte, len(magic)+6)
	if _, err := io.ReadFull(r, fixed); err != nil {
		return fmt.Errorf("vectorstore/local: %s: header: %w: %w", name, ErrCorrupt, err)
	}
	if string(fixed[:len(magic)]) != magic {
		return fmt.Errorf("vectorstore/local: %s: not a %s file: %w", name, magic, ErrCorrupt)
	}
	dims := int(binary.LittleEndian.Uint32(fixed[len(magic):]))
	model := make([]byte, binary.LittleEndian.Uint16(fixed[len(magic)+4:]))
	if _, err := io.ReadFull(r, model); err != nil {
		return fmt.Errorf("vectorstore/local: %s: header: %w: %w", name, ErrCorrupt, err)
	}
	if string(model) != sp.Model {
		return fmt.Errorf("vectorstore/local: %s holds model %q, not %q: %w", name, model, sp.Model, ErrCorrupt)
	}
	if dims != sp.Dims {
		return fmt.Errorf("vectorstore/local: %s holds %d-dimensional vectors, the space has %d: %w",
			name, dims, sp.Dims, vectorstore.ErrDimensionMismatch)
	}
	return nil
}

// writeAtomic writes a file through a temporary one, fsyncs it, renames
// it into place and fsyncs the folder.
func writeAtomic(dir, name string, write func(w io.Writer) error) (int64, error) {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	var size int64
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil {
			size = st.Size()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return size, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// newWAL replaces the log with an empty one and opens it for appending.
func (s *Store) newWAL() error {
	hdr := fileHeader(walMagic, s.space)
	hdr = binary.LittleEndian.AppendUint32(hdr, crc32.Checksum(hdr, castagnoli))
	size, err := writeAtomic(s.dir, walName, func(w io.Writer) error {
		_, err := w.Write(hdr)
		return err
	})
	if err != nil {
		return fmt.Errorf("vectorstore/local: create %s: %w", filepath.Join(s.dir, walName), err)
	}
	f, err := os.OpenFile(filepath.Join(s.dir, walName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("vectorstore/local: open %s: %w", filepath.Join(s.dir, walName), err)
	}
	if s.wal != nil {
		s.wal.f.Close()
	}
	s.wal = &walFile{f: f, size: size}
	return nil
}

// load reads the snapshot and replays the log of s.dir. Caller holds s.mu.
func (s *Store) load() error {
	if err := mkdirDurable(s.dir); err != nil {
		return fmt.Errorf("vectorstore/local: create %s: %w", s.dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(s.dir, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("vectorstore/local: open %s: %w", filepath.Join(s.dir, lockName), err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		if errors.Is(err, errInUse) {
			return fmt.Errorf("vectorstore/local: %s is in use by another Store: %w", s.dir, record.ErrConflict)
		}
		return fmt.Errorf("vectorstore/local: lock %s: %w", filepath.Join(s.dir, lockName), err)
	}
	s.lock = lock
	os.Remove(filepath.Join(s.dir, snapName+".tmp"))
	os.Remove(filepath.Join(s.dir, walName+".tmp"))
	if err := s.loadSnapshot(); err != nil {
		return err
	}
	if s.cfg.quant == Int8 && s.side == nil {
		if err := s.openSide(); err != nil {
			return err
		}
	}
	path := filepath.Join(s.dir, walName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if errors.Is(err, os.ErrNotExist) {
		return s.newWAL()
	}
	if err != nil {
		return fmt.Errorf("vectorstore/local: open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("vectorstore/local: %s: %w", path, err)
	}
	good, err := s.replay(f, st.Size(), path)
	if err != nil {
		f.Close()
		return err
	}
	if st.Size() != good { // cut off a torn tail before appending
		if err = f.Truncate(good); err == nil {
			err = f.Sync()
		}
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("vectorstore/local: %s: %w", path, err)
	}
	s.wal = &walFile{f: f, size: good}
	return nil
}

// replay applies the entries of the log (size bytes read from f) newer
// than the snapshot, and returns the offset after the last complete entry.
func (s *Store) replay(f io.Reader, size int64, path string) (int64, error) {
	crc := crc32.New(castagnoli)
	br := bufio.NewReaderSize(f, 1<<20)
	if err := readHeader(io.TeeReader(br, crc), walMagic, s.space, path); err != nil {
		return 0, err
	}
	var sum [4]byte
	if _, err := io.ReadFull(br, sum[:]); err != nil || binary.LittleEndian.Uint32(sum[:]) != crc.Sum32() {
		return 0, fmt.Errorf("vectorstore/local: %s: header checksum: %w", path, ErrCorrupt)
	}
	off := int64(len(walMagic) + 6 + len(s.space.Model) + 4)
	snapSeq := s.seq
	var head [entryHead]byte
	var payload []byte
	for off < size {
		rest := size - off
		if rest < entryHead {
			return off, nil // torn header
		}
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return 0, fmt.Errorf("vectorstore/local: read %s: %w", path, err)
		}
		n := int64(binary.LittleEndian.Uint32(head[0:4]))
		if crc32.Checksum(head[0:4], castagnoli) != binary.LittleEndian.Uint32(head[4:8]) {
			if zeros, err := allZero(head[:], br); err == nil && zeros {
				return off, nil // a tail the file system extended but never wrote
			}
			return 0, fmt.Errorf("vectorstore/local: %s: entry header at offset %d: %w", path, off, ErrCorrupt)
		}
		if n > rest-entryHead {
			return off, nil // torn payload
		}
		if n > 1<<30 {
			return 0, fmt.Errorf("vectorstore/local: %s: entry of %d bytes at offset %d: %w", path, n, off, ErrCorrupt)
		}
		if int64(cap(payload)) < n {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(br, payload); err != nil {
			return 0, fmt.Errorf("vectorstore/local: read %s: %w", path, err)
		}
		if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(head[8:12]) {
			if off+entryHead+n == size {
				return off, nil // the last entry, partly written
			}
			return 0, fmt.Errorf("vectorstore/local: %s: entry at offset %d: checksum mismatch: %w", path, off, ErrCorrupt)
		}
		d := decoder{b: payload[min(1, len(payload)):]}
		if seq := d.uvarint(); d.err == nil && seq > snapSeq {
			if err := s.apply(payload); err != nil {
				return 0, fmt.Errorf("vectorstore/local: %s: entry at offset %d: %v: %w", path, off, err, ErrCorrupt)
			}
		}
		off += entryHead + n
	}
	return off, nil
}

func allZero(head []byte, r io.Reader) (bool, error) {
	for _, c := range head {
		if c != 0 {
			return false, nil
		}
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c != 0 {
				return false, nil
			}
		}
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// loadSnapshot reads snapshot.bin, if any, into the (empty) state.
func (s *Store) loadSnapshot() error {
	path := filepath.Join(s.dir, snapName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vectorstore/local: open %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("vectorstore/local: %s: %w", path, err)
	}
	var magic [len(snap2Magic)]byte
	if n, _ := f.ReadAt(magic[:], 0); n == len(magic) && (string(magic[:]) == snap2Magic || string(magic[:]) == snap3Magic) {
		if err := s.loadSnapshot2(f, st.Size(), path, string(magic[:]) == snap3Magic); err != nil {
			f.Close()
			return err
		}
		return nil
	}
	defer f.Close()
	if s.cfg.quant == Int8 {
		// Format 1 keeps no offsets to read vectors back from: hold them in
		// the rescore file until the next compaction writes format 2.
		if err := s.openSide(); err != nil {
			return err
		}
	}
	if st.Size() < 4 {
		return fmt.Errorf("vectorstore/local: %s: truncated: %w", path, ErrCorrupt)
	}
	crc := crc32.New(castagnoli)
	r := &snapReader{r: bufio.NewReaderSize(io.TeeReader(io.LimitReader(f, st.Size()-4), crc), 1<<20)}
	if err := readHeader(r.r, snapMagic, s.space, path); err != nil {
		return err
	}
	seq := r.u64()
	tenants := r.uvarint()
	vecBytes := make([]byte, 4*s.space.Dims)
	var tenant, id, bot, src, doc []byte // reused: put copies what it keeps
	for t := uint64(0); t < tenants && r.err == nil; t++ {
		tenant = r.bytes(tenant)
		rows := r.uvarint()
		for i := uint64(0); i < rows && r.err == nil; i++ {
			id, bot, src, doc = r.bytes(id), r.bytes(bot), r.bytes(src), r.bytes(doc)
			r.read(vecBytes)
			if r.err != nil {
				break
			}
			p, row, _, err := s.put(tenant, id, bot, src, doc, nil)
			if err != nil {
				r.err = err
				break
			}
			if r.err = s.setVector(p, row, vecBytes); r.err != nil {
				break
			}
		}
	}
	if r.err == nil {
		var extra [1]byte
		if n, _ := r.r.Read(extra[:]); n != 0 {
			r.err = errors.New("trailing bytes")
		}
	}
	var sum [4]byte
	if r.err == nil {
		_, r.err = io.ReadFull(f, sum[:])
	}
	if r.err != nil || binary.LittleEndian.Uint32(sum[:]) != crc.Sum32() {
		s.tenants, s.in = map[string]*partition{}, newInterner()
		return fmt.Errorf("vectorstore/local: %s: checksum or format error (%v): %w", path, r.err, ErrCorrupt)
	}
	s.seq = seq
	s.snapSize = st.Size()
	return nil
}

type snapReader struct {
	r   *bufio.Reader
	err error
}

func (r *snapReader) read(b []byte) {
	if r.err == nil {
		_, r.err = io.ReadFull(r.r, b)
	}
}

func (r *snapReader) u64() uint64 {
	var b [8]byte
	r.read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

func (r *snapReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var x uint64
	x, r.err = binary.ReadUvarint(r.r)
	return x
}

// bytes reads a string into buf (grown if needed).
func (r *snapReader) bytes(buf []byte) []byte {
	n := r.uvarint()
	if r.err != nil || n > 1<<30 {
		if r.err == nil {
			r.err = errShort
		}
		return buf[:0]
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n, max(n, 64))
	}
	buf = buf[:n]
	r.read(buf)
	return buf
}

// needCompaction reports whether the log has outgrown the threshold and
// the last snapshot. Caller holds s.wmu.
func (s *Store) needCompaction() bool {
	if s.wal == nil || s.cfg.compaction <= 0 {
		return false
	}
	return s.wal.size >= s.cfg.compaction && s.wal.size >= s.snapSize
}

// compactLocked writes a snapshot and starts an empty log. Caller holds
// s.wmu: writers wait, searches go on (the state does not change), but
// for the moment the partitions move into the new snapshot's mapping.
func (s *Store) compactLocked() error {
	path := filepath.Join(s.dir, snapName)
	var dir *snapDir
	size, err := writeAtomic(s.dir, snapName, func(w io.Writer) error {
		var err error
		dir, err = s.writeSnapshot2(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("vectorstore/local: write %s: %w", path, err)
	}
	s.snapSize = size
	if err := s.newWAL(); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err == nil {
		err = s.remap(f, size, dir)
	}
	if err != nil {
		// The files are right; the memory still holds the old mapping,
		// which stays valid. A reopen maps the new snapshot.
		if f != nil {
			f.Close()
		}
		return fmt.Errorf("vectorstore/local: map %s: %w", path, err)
	}
	return nil
}

// openSide creates the empty rescore file of an Int8 store.
func (s *Store) openSide() error {
	path := filepath.Join(s.dir, rescoreFile)
	side, err := openFileSide(path)
	if err != nil {
		return fmt.Errorf("vectorstore/local: create %s: %w", path, err)
	}
	s.side = side
	return nil
}
