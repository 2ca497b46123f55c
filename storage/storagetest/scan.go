package storagetest

import (
	"slices"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/storage"
)

// scanAll pages through a tenant's chunk refs with limit, checking that
// each page is ascending, within limit, and continues after the last.
func (f *fixture) scanAll(tenantID string, limit int) []storage.ChunkRef {
	f.t.Helper()
	var all []storage.ChunkRef
	after := ""
	for page := 0; ; page++ {
		if page > 10000 {
			f.t.Fatalf("ScanChunks(limit %d): more than 10000 pages", limit)
		}
		refs, err := f.s.ScanChunks(f.ctx, tenantID, after, limit)
		f.must(err, "ScanChunks")
		if refs == nil {
			f.t.Fatalf("ScanChunks returned a nil slice, want an empty one")
		}
		if len(refs) > limit {
			f.t.Fatalf("ScanChunks(limit %d) returned %d refs", limit, len(refs))
		}
		for _, r := range refs {
			if r.ID <= after {
				f.t.Fatalf("ScanChunks(after %q): ref %q does not sort after it (byte-wise)", after, r.ID)
			}
			after = r.ID
		}
		all = append(all, refs...)
		if len(refs) < limit {
			return all
		}
	}
}

// testScanChunks checks ScanChunks: byte-wise ascending pages of exactly
// the tenant's chunks with their document, source and bot; after and
// limit; deletions and moves seen; bad arguments rejected.
func testScanChunks(f *fixture) {
	s, ctx := f.s, f.ctx
	ta, tb := f.newTenant(), f.newTenant()
	botA1, botA2, botB := f.newBot(ta.ID), f.newBot(ta.ID), f.newBot(tb.ID)
	srcs := []record.Source{f.newSource(ta.ID, botA1.ID), f.newSource(ta.ID, botA2.ID), f.newSource(ta.ID, botA1.ID)}
	srcB := f.newSource(tb.ID, botB.ID)

	want := map[string]storage.ChunkRef{}
	var docs []record.Document
	for i := range 9 {
		src := srcs[i%len(srcs)]
		d, chunks := f.newDoc(src, "k"+string(rune('a'+i)), "T", "one", "two", "three")
		// IDs whose byte order differs from a case-insensitive or
		// accent-aware collation's.
		switch i {
		case 0:
			chunks[0].ID, chunks[1].ID, chunks[2].ID = f.tag+"-Zeta", f.tag+"-alpha", f.tag+"-_under"
		case 1:
			chunks[0].ID, chunks[1].ID, chunks[2].ID = f.tag+"-Éclair", f.tag+"-eclair", f.tag+"-Eclair"
		}
		got, err := s.PutDocument(ctx, d, chunks)
		f.must(err, "PutDocument")
		docs = append(docs, got)
		for _, c := range chunks {
			want[c.ID] = storage.ChunkRef{ID: c.ID, DocumentID: got.ID, SourceID: src.ID, BotID: src.BotID}
		}
	}
	// Tenant B: the same shapes, never listed for A.
	dB, chunksB := f.newDoc(srcB, "kb", "T", "b one", "b two")
	_, err := s.PutDocument(ctx, dB, chunksB)
	f.must(err, "PutDocument (tenant B)")

	check := func(what string, want map[string]storage.ChunkRef) {
		f.t.Helper()
		wantIDs := make([]string, 0, len(want))
		for id := range want {
			wantIDs = append(wantIDs, id)
		}
		slices.Sort(wantIDs) // byte-wise
		for _, limit := range []int{1, 4, 27, 1000} {
			got := f.scanAll(ta.ID, limit)
			f.sameIDs(what+": ScanChunks IDs", wantIDs, ids(got, func(r storage.ChunkRef) string { return r.ID }))
			for _, r := range got {
				if w, ok := want[r.ID]; ok && r != w {
					f.t.Errorf("%s: ScanChunks ref %+v, want %+v", what, r, w)
				}
			}
		}
	}
	check("two tenants", want)
	gotB := f.scanAll(tb.ID, 10)
	f.sameIDs("ScanChunks of tenant B", sortedIDs([]string{chunksB[0].ID, chunksB[1].ID}), sortedRefIDs(gotB))
	empty, err := s.ScanChunks(ctx, f.newTenant().ID, "", 10)
	f.must(err, "ScanChunks of a tenant with no chunks")
	if len(empty) != 0 {
		f.t.Errorf("ScanChunks of a tenant with no chunks: %v", empty)
	}

	// after: an existing ID, an ID between two, past the end.
	all := f.scanAll(ta.ID, 1000)
	page, err := s.ScanChunks(ctx, ta.ID, all[9].ID, 5)
	f.must(err, "ScanChunks(after an ID)")
	f.sameIDs("ScanChunks after the 10th ID", sortedRefIDs(all[10:15]), sortedRefIDs(page))
	page, err = s.ScanChunks(ctx, ta.ID, all[9].ID+"\x01", 2)
	f.must(err, "ScanChunks(after a missing ID)")
	f.sameIDs("ScanChunks after an ID between two", sortedRefIDs(all[10:12]), sortedRefIDs(page))
	page, err = s.ScanChunks(ctx, ta.ID, all[len(all)-1].ID, 5)
	f.must(err, "ScanChunks(after the last ID)")
	if len(page) != 0 {
		f.t.Errorf("ScanChunks after the last ID: %v", page)
	}

	// Deleted documents and moved sources are seen.
	f.must(s.DeleteDocument(ctx, ta.ID, docs[0].ID), "DeleteDocument")
	for id, r := range want {
		if r.DocumentID == docs[0].ID {
			delete(want, id)
		}
	}
	moved := srcs[1]
	moved.BotID = botA1.ID
	moved.UpdatedAt = f.tick()
	f.must(s.UpdateSource(ctx, moved), "UpdateSource")
	for id, r := range want {
		if r.SourceID == moved.ID {
			r.BotID = botA1.ID
			want[id] = r
		}
	}
	check("after a delete and a move", want)

	_, err = s.ScanChunks(ctx, "", "", 10)
	f.wantErr(err, record.ErrEmptyTenant, "ScanChunks with an empty tenant")
	for _, limit := range []int{0, -1} {
		_, err = s.ScanChunks(ctx, ta.ID, "", limit)
		f.wantField(err, "limit", "ScanChunks with limit <= 0")
	}
}

func sortedRefIDs(refs []storage.ChunkRef) []string {
	out := ids(refs, func(r storage.ChunkRef) string { return r.ID })
	slices.Sort(out)
	return out
}
