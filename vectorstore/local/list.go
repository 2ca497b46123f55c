package local

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/minirag/minirag/vectorstore"
)

// opDeleteIDs is the log entry of a Delete by record IDs: tenant string |
// n uvarint | n × id string. It holds the IDs that matched the whole filter
// when the entry was written, so replay needs only them.
const opDeleteIDs = 3

// listCacheMin is the partition size from which List keeps the sorted IDs
// of a partition between calls (rebuilt only after a record was added).
const listCacheMin = 1024

// listCache is the sorted record IDs of a partition as of p.adds.
type listCache struct {
	p    *partition
	adds uint64
	ids  []string
}

// cursorPrefix starts every cursor List makes: the ID after which the next
// page starts follows, base64url-encoded.
const cursorPrefix = "l1."

func encodeCursor(id string) string {
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(id))
}

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(c, cursorPrefix)
	if !ok {
		return "", vectorstore.ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) == 0 {
		return "", vectorstore.ErrBadCursor
	}
	return string(b), nil
}

// List returns at most limit records of f.TenantID matching f, in
// ascending byte-wise order of their IDs, from after the cursor's ID. A
// page costs O(limit) lookups once the partition's IDs are sorted; they are
// sorted again (O(n log n)) only after records were added to the tenant,
// so deleting between pages, as reconciliation does, keeps pages cheap.
func (s *Store) List(ctx context.Context, f vectorstore.Filter, cursor string, limit int) ([]vectorstore.Record, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("vectorstore/local: list: %w", err)
	}
	if err := vectorstore.ValidateList(f, limit); err != nil {
		return nil, "", fmt.Errorf("vectorstore/local: list: %w", err)
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("vectorstore/local: list: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.ready(); err != nil {
		return nil, "", err
	}
	out := []vectorstore.Record{}
	p := s.tenants[f.TenantID]
	if p == nil {
		return out, "", nil
	}
	c, ok := s.compile(p, f)
	if !ok {
		return out, "", nil
	}
	var ids []string
	if len(f.IDs) > 0 {
		ids = slices.Clone(f.IDs)
		slices.Sort(ids)
		ids = slices.Compact(ids)
	} else {
		ids = s.sortedIDs(f.TenantID, p)
	}
	i, found := slices.BinarySearch(ids, after)
	if found {
		i++
	}
	for _, id := range ids[i:] {
		r, ok := p.lookup(id)
		if !ok {
			continue
		}
		if !p.matchRow(&c, int(r)) {
			continue
		}
		m := p.meta(int(r))
		if len(out) == limit {
			return out, encodeCursor(out[len(out)-1].ID), nil
		}
		out = append(out, vectorstore.Record{
			ID:         id,
			TenantID:   f.TenantID,
			BotID:      s.in.strs[m.bot],
			SourceID:   s.in.strs[m.source],
			DocumentID: s.in.strs[m.doc],
		})
	}
	return out, "", nil
}

// sortedIDs returns p's record IDs sorted, from the cache when no record
// was added since it was built. The result may list IDs deleted since:
// callers look each up in the index. Caller holds s.mu (read).
func (s *Store) sortedIDs(tenant string, p *partition) []string {
	if p.n < listCacheMin {
		return p.sortedIDs()
	}
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if c := s.lists[tenant]; c != nil && c.p == p && c.adds == p.adds {
		return c.ids
	}
	if s.lists == nil {
		s.lists = map[string]*listCache{}
	}
	for t, c := range s.lists { // drop the caches of deleted partitions
		if s.tenants[t] != c.p {
			delete(s.lists, t)
		}
	}
	c := &listCache{p: p, adds: p.adds, ids: p.sortedIDs()}
	s.lists[tenant] = c
	return c.ids
}

// sortedIDs returns p's record IDs in a new sorted slice.
func (p *partition) sortedIDs() []string {
	ids := make([]string, 0, p.n)
	for _, b := range p.blocks {
		ids = append(ids, b.ids...)
	}
	slices.Sort(ids)
	return ids
}

// deleteIDsLocked is Delete for a filter with IDs or a metadata
// condition: it logs the IDs of the tenant's records that match f (in
// entries of at most maxEntry bytes, each applied when written) and removes
// them. Caller holds s.wmu.
func (s *Store) deleteIDsLocked(f vectorstore.Filter) error {
	p := s.tenants[f.TenantID]
	if p == nil {
		return nil
	}
	return s.logIDEntries(opDeleteIDs, f.TenantID, nil, s.matchingIDs(p, f))
}

// logIDEntries logs op entries for the records ids of tenant, each entry
// "tenant | [extra as a string] | n uvarint | n × record ID" of at most
// maxEntry bytes, committing (and so applying) each as it is written.
// extra nil leaves its field out (opDeleteIDs); opSetMetadata writes its
// JSON there. Caller holds s.wmu.
func (s *Store) logIDEntries(op byte, tenant string, extra []byte, ids []string) error {
	head := entryHead + 1 + 2*len(tenant) + 3*10
	if extra != nil {
		head += len(extra) + 10
	}
	for len(ids) > 0 {
		n, size := 0, head
		for n < len(ids) && (n == 0 || size+len(ids[n])+10 <= maxEntry) {
			size += len(ids[n]) + 10
			n++
		}
		s.buf = s.entryStart(s.buf, op)
		s.buf = appendString(s.buf, tenant)
		if extra != nil {
			s.buf = appendString(s.buf, string(extra))
		}
		s.buf = appendUvarint(s.buf, uint64(n))
		for _, id := range ids[:n] {
			s.buf = appendString(s.buf, id)
		}
		if err := s.commit(); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// applyDeleteIDs applies an opDeleteIDs entry's data. Caller holds s.mu.
func (s *Store) applyDeleteIDs(d *decoder) error {
	tenant := string(d.bytes())
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
		m := p.remove(int(r))
		s.in.unref(m.bot)
		s.in.unref(m.source)
		s.in.unref(m.doc)
	}
	if p.n == 0 {
		delete(s.tenants, tenant)
	}
	return nil
}

// searchIDs is Search narrowed to the records named by ids: it scores only
// those rows. Caller holds s.mu (read).
func (s *Store) searchIDs(p *partition, q []float32, k int, ids []string, c *compiled, useMin bool, minScore float32) ([]hit, error) {
	rows := make([]int32, 0, min(len(ids), p.n))
	seen := make(map[int32]struct{}, len(ids))
	for _, id := range ids {
		r, ok := p.lookup(id)
		if !ok || !p.matchRow(c, int(r)) {
			continue
		}
		if _, dup := seen[r]; dup {
			continue
		}
		seen[r] = struct{}{}
		rows = append(rows, r)
	}
	k = min(k, len(rows))
	if k == 0 {
		return nil, nil
	}
	t := topK{k: k, h: make([]hit, 0, k)}
	vec, buf := make([]float32, p.dims), make([]byte, 4*p.dims)
	for _, r := range rows {
		v, err := s.rowFloats(p, int(r), vec, buf)
		if err != nil {
			return nil, err
		}
		score := dot(q, v)
		if useMin && score < minScore {
			continue
		}
		t.push(score, r)
	}
	slices.SortFunc(t.h, func(a, b hit) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return compareStrings(p.id(int(a.row)), p.id(int(b.row)))
	})
	return t.h, nil
}
