package local

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// Metadata is kept per partition in a table of the distinct metadata of
// its rows (in practice one entry per document: a document's chunks share
// its metadata), each row holding an int32 index into it (0: none). A
// filter is evaluated once per entry of the table, into a bitmap the scan
// reads per row (compiled.mdOK), so a search pays filter.Match once per
// document and 1 byte read per row, not a map lookup per chunk.
//
// The table holds each entry's canonical JSON (the encoding/json encoding
// of its normalized form, keys sorted: equal metadata have equal JSON), the
// key that interns it, and the decoded value filters read.

// mdTable is a partition's metadata table, reference-counted like the
// interner. Index 0 is "no metadata" and is never freed.
type mdTable struct {
	ids   map[string]int32
	jsons []string
	vals  []record.Metadata
	refs  []int32
	free  []int32
	ver   uint64 // bumped when an entry is added or freed

	// cache holds the bitmaps of recent filters (by their JSON) as of ver,
	// so a filter repeated while no metadata came or went costs no Match.
	mu    sync.Mutex
	cache map[string]*mdBitmap
}

type mdBitmap struct {
	ver uint64
	ok  []bool
	// rows lists the partition's rows whose metadata matches as of the
	// partition's version rowsVer (nil until a search needs it): a filter
	// keeping few rows then costs no pass over every row (posting.go).
	rows    []int32
	rowsVer uint64
	// words holds the same as bits (bit r: row r matches), for a filter
	// keeping too many rows to list, as of the partition's version
	// wordsVer: a scan then reads 1 bit per row, not 5 bytes.
	words    []uint64
	wordsVer uint64
}

// maxBitmaps bounds the bitmaps cached per partition.
const maxBitmaps = 32

// init makes the table usable (index 0 present).
func (t *mdTable) init() {
	if t.jsons == nil {
		t.ids = map[string]int32{}
		t.jsons = []string{""}
		t.vals = []record.Metadata{nil}
		t.refs = []int32{0}
	}
}

// ref returns the index of the metadata whose JSON is js (none for an
// empty js) and takes a reference to it. js must be canonical JSON (as
// encodeMetadata or a log entry holds it); an undecodable one is an error.
func (t *mdTable) ref(js []byte) (int32, error) {
	t.init()
	if len(js) == 0 {
		t.refs[0]++
		return 0, nil
	}
	if n, ok := t.ids[string(js)]; ok {
		t.refs[n]++
		return n, nil
	}
	m, err := record.DecodeMetadata(js)
	if err != nil {
		return 0, err
	}
	var n int32
	if k := len(t.free); k > 0 {
		n = t.free[k-1]
		t.free = t.free[:k-1]
		t.jsons[n], t.vals[n], t.refs[n] = string(js), m, 1
	} else {
		n = int32(len(t.jsons))
		t.jsons = append(t.jsons, string(js))
		t.vals = append(t.vals, m)
		t.refs = append(t.refs, 1)
	}
	t.ids[t.jsons[n]] = n
	t.ver++
	return n, nil
}

// unref drops a reference to n.
func (t *mdTable) unref(n int32) {
	if t.refs == nil {
		return
	}
	t.refs[n]--
	if n != 0 && t.refs[n] == 0 {
		delete(t.ids, t.jsons[n])
		t.jsons[n], t.vals[n] = "", nil
		t.free = append(t.free, n)
		t.ver++
	}
}

// compileMetadata evaluates f once per entry of p's metadata table into
// c.mdOK. It returns false when no row can match.
func (p *partition) compileMetadata(c *compiled, f filter.Filter) bool {
	p.md.init()
	t := &p.md
	key, err := f.MarshalJSON()
	t.mu.Lock()
	bm := t.cache[string(key)]
	t.mu.Unlock()
	if err != nil || bm == nil || bm.ver != t.ver {
		bm = &mdBitmap{ver: t.ver, ok: make([]bool, len(t.vals))}
		for i, m := range t.vals {
			bm.ok[i] = t.refs[i] > 0 && f.Match(m)
		}
		if err == nil {
			t.mu.Lock()
			if t.cache == nil || len(t.cache) >= maxBitmaps {
				t.cache = map[string]*mdBitmap{}
			}
			t.cache[string(key)] = bm
			t.mu.Unlock()
		}
	}
	rows := 0
	for i, ok := range bm.ok {
		if ok {
			rows += int(t.refs[i])
		}
	}
	c.mdOK, c.mdRows, c.mdBitmap, c.mdKey = bm.ok, rows, bm, key
	return rows > 0
}

// mdBits sets c.mdWords for a scan of every row of p when c is a
// metadata filter and nothing else: the matching rows as bits, cached with
// the filter's bitmap until p changes (n/8 bytes). Callers hold the
// store's read lock.
func (p *partition) mdBits(c *compiled) {
	if !c.mdOnly() {
		return
	}
	t, bm := &p.md, c.mdBitmap
	t.mu.Lock()
	if bm.words != nil && bm.wordsVer == p.ver {
		c.mdWords = bm.words
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	words := make([]uint64, (p.n+63)/64)
	r := 0
	for _, b := range p.blocks {
		for _, md := range b.mds {
			if c.mdOK[md] {
				words[r/64] |= 1 << (r % 64)
			}
			r++
		}
	}
	c.mdWords = words
	t.mu.Lock()
	if t.cache[string(c.mdKey)] == bm {
		bm.words, bm.wordsVer = words, p.ver
	}
	t.mu.Unlock()
}

// mdRowsOf returns the rows of p whose metadata matches c's metadata
// filter (not its other fields), ascending, cached with the filter's
// bitmap until p changes. The lists cached in p's table hold at most p.n
// rows in all. Callers hold the store's read lock.
func (p *partition) mdRowsOf(c *compiled) []int32 {
	t, bm := &p.md, c.mdBitmap
	t.mu.Lock()
	if bm.rows != nil && bm.rowsVer == p.ver {
		rows := bm.rows
		t.mu.Unlock()
		return rows
	}
	t.mu.Unlock()
	rows := make([]int32, 0, c.mdRows)
	r := int32(0)
	for _, b := range p.blocks {
		for i, md := range b.mds {
			if c.mdOK[md] {
				rows = append(rows, r+int32(i))
			}
		}
		r += int32(len(b.mds))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cache[string(c.mdKey)] != bm {
		return rows // not cached (an error encoding the key, or evicted)
	}
	listed := len(rows)
	for _, o := range t.cache {
		if o.rowsVer != p.ver {
			o.rows = nil
		}
		listed += len(o.rows)
	}
	if listed > p.n {
		for _, o := range t.cache {
			o.rows = nil
		}
	}
	bm.rows, bm.rowsVer = rows, p.ver
	return rows
}

// compile translates f for partition p (not nil): its IDs through the
// interner, its metadata condition into a bitmap. ok is false when no
// record of p can match.
func (s *Store) compile(p *partition, f vectorstore.Filter) (compiled, bool) {
	c, ok := compileFilter(s.in, f.BotID, f.SourceIDs, f.DocumentIDs)
	if !ok || f.Metadata.IsZero() {
		return c, ok
	}
	return c, p.compileMetadata(&c, f.Metadata)
}

// metadataJSON returns the canonical JSON of the records' metadata (nil
// for none), checked by record.NormalizeMetadata. Records sharing one map
// (a document's chunks) are encoded once.
func metadataJSON(recs []vectorstore.Record) ([][]byte, error) {
	var out [][]byte
	var last uintptr
	var lastJS []byte
	for i := range recs {
		m := recs[i].Metadata
		if len(m) == 0 {
			if out != nil {
				out = append(out, nil)
			}
			continue
		}
		if out == nil {
			out = make([][]byte, i, len(recs))
		}
		ptr := reflect.ValueOf(m).Pointer()
		if ptr == last && lastJS != nil {
			out = append(out, lastJS)
			continue
		}
		js, err := encodeMetadata(fmt.Sprintf("records[%d].metadata", i), m)
		if err != nil {
			return nil, err
		}
		last, lastJS = ptr, js
		out = append(out, js)
	}
	return out, nil
}

// encodeMetadata returns m's canonical JSON, nil for an empty m.
func encodeMetadata(field string, m record.Metadata) ([]byte, error) {
	nm, err := record.NormalizeMetadata(field, m)
	if err != nil {
		return nil, fmt.Errorf("vectorstore/local: %w", err)
	}
	if nm == nil {
		return nil, nil
	}
	js, err := json.Marshal(nm)
	if err != nil {
		return nil, fmt.Errorf("vectorstore/local: %w", record.Invalid(field, err.Error()))
	}
	return js, nil
}

// matchingIDs returns the IDs of p's records matching f (f.IDs included).
// Caller holds s.wmu or s.mu.
func (s *Store) matchingIDs(p *partition, f vectorstore.Filter) []string {
	c, ok := s.compile(p, f)
	if !ok {
		return nil
	}
	var ids []string
	if len(f.IDs) > 0 {
		seen := make(map[string]struct{}, len(f.IDs))
		for _, id := range f.IDs {
			if _, dup := seen[id]; dup {
				continue
			}
			seen[id] = struct{}{}
			if r, ok := p.lookup(id); ok && p.matchRow(&c, int(r)) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	if l, ok := p.filterRows(&c); ok {
		for _, r := range l.rows {
			if l.exact || p.matchRow(&c, int(r)) {
				ids = append(ids, p.id(int(r)))
			}
		}
		return ids
	}
	for _, b := range p.blocks {
		for i := range b.ids {
			if c.match(b, i) {
				ids = append(ids, b.ids[i])
			}
		}
	}
	return ids
}

// opSetMetadata is the log entry of SetMetadata: tenant string | metadata
// JSON string ("" for none) | n uvarint | n × record ID. It holds the IDs
// that matched when it was written, so replay needs only them.
const opSetMetadata = 5

// SetMetadata replaces the metadata of every record of f.TenantID matching
// f with m (nil clears it), leaving vectors and IDs alone. It is logged as
// the IDs it changes (in entries of at most 16 MiB, each atomic).
func (s *Store) SetMetadata(ctx context.Context, f vectorstore.Filter, m record.Metadata) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vectorstore/local: set metadata: %w", err)
	}
	if err := vectorstore.ValidateFilter(f); err != nil {
		return fmt.Errorf("vectorstore/local: set metadata: %w", err)
	}
	js, err := encodeMetadata("metadata", m)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	p := s.tenants[f.TenantID]
	if p == nil {
		return nil
	}
	if js == nil {
		js = []byte{} // "" for none: the field is always written
	}
	return s.logIDEntries(opSetMetadata, f.TenantID, js, s.matchingIDs(p, f))
}

// applySetMetadata applies an opSetMetadata entry's data. Caller holds
// s.mu.
func (s *Store) applySetMetadata(d *decoder) error {
	tenant := string(d.bytes())
	js := d.bytes()
	ids := d.strings()
	if d.err != nil {
		return d.err
	}
	p := s.tenants[tenant]
	if p == nil {
		return nil
	}
	for _, id := range ids {
		r, ok := p.lookup(id)
		if !ok {
			continue
		}
		if err := p.setMetadata(int(r), js); err != nil {
			return err
		}
	}
	return nil
}

// setMetadata sets row r's metadata to the canonical JSON js.
func (p *partition) setMetadata(r int, js []byte) error {
	n, err := p.md.ref(js)
	if err != nil {
		return err
	}
	b, i := p.blocks[r/p.blockRows], r%p.blockRows
	old := b.mds[i]
	b.mds[i] = n
	p.md.unref(old)
	p.ver++
	return nil
}

// buildMetadata builds p's metadata table from a snapshot's (jsons, nil
// for a snapshot without metadata) and the rows' indexes into it.
func (p *partition) buildMetadata(jsons []string) error {
	if jsons == nil {
		jsons = []string{""}
	}
	t := &p.md
	t.ids = make(map[string]int32, len(jsons))
	t.jsons = jsons
	t.vals = make([]record.Metadata, len(jsons))
	t.refs = make([]int32, len(jsons))
	t.free = nil
	t.ver++
	for _, b := range p.blocks {
		for _, n := range b.mds {
			if n < 0 || int(n) >= len(jsons) || (n > 0 && jsons[n] == "") {
				return fmt.Errorf("metadata index %d out of range", n)
			}
			t.refs[n]++
		}
	}
	for i := 1; i < len(jsons); i++ {
		if t.refs[i] == 0 {
			t.jsons[i] = ""
			t.free = append(t.free, int32(i))
			continue
		}
		if _, dup := t.ids[jsons[i]]; dup {
			return fmt.Errorf("metadata entry %d twice", i)
		}
		m, err := record.DecodeMetadata([]byte(jsons[i]))
		if err != nil {
			return err
		}
		t.vals[i] = m
		t.ids[jsons[i]] = int32(i)
	}
	return nil
}
