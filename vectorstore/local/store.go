// Package local is MiniRAG's embedded vector store: exact (brute-force)
// cosine search in process memory, persisted to a folder so that a restart
// keeps the index, with writes that survive a crash at any point.
//
//	Open(dir) ──► Store ──Init(Space)──► dir/<model>-<hash>/
//	                                       snapshot.bin  all records up to a sequence number
//	                                       wal.log       every Upsert/Delete batch since
//	                                       rescore.f32   (Int8 only) float32s written since the snapshot
//
// # Data layout
//
// Records are kept per tenant (a partition). A partition keeps its vectors,
// normalized to unit length, in blocks of contiguous float32s (about 1 MiB
// each), each with parallel arrays of record IDs and of the bot, source and
// document IDs interned as int32. Memory is therefore close to the raw
// vector bytes: per record, dims*4 bytes plus its ID string, an ID index
// slot, 12 bytes of filter IDs and 4 bytes naming its metadata. Deleting
// swaps the last row into the hole. A large Upsert batch spreads the
// per-vector work over several goroutines (batch.go).
//
// Metadata (vectorstore.Record.Metadata) is interned per partition: a
// table of the distinct metadata of its rows (a document's chunks share
// one entry), held as canonical JSON and decoded once (metadata.go).
//
// The snapshot (format 3, snapshot2.go) is laid out as those arrays, so
// Init memory-maps it copy-on-write and points the blocks into it instead
// of decoding it: a reopen costs reading the file once for its checksum
// and building the ID index, and the pages come in as searches touch them
// (the first search after a reopen pays that); the pages of the IDs and
// metas that building read are let go again. With WithQuantization(Int8)
// the blocks hold one int8 code per dimension and a scale per row instead
// of the float32s, which stay on disk and are read back only to rescore a
// search's best candidates (quant.go): about a quarter of the memory.
//
// # Search
//
// Search scans only the query's tenant partition: a dot product per row
// (vectors are unit length, so it is the cosine similarity), a bounded
// min-heap for the top k, and filters compared as integers. A metadata
// filter (Filter.Metadata) is evaluated once per entry of the partition's
// metadata table into a bitmap, then read per row inside the scan; when it
// keeps at most half the rows, only the rows it keeps are scored (as for
// the bot, source and document posting lists), so a filter keeping a
// fraction f of a tenant costs about f of an unfiltered search. Partitions
// above 16,384 rows are scanned by several goroutines (GOMAXPROCS by
// default, see WithParallelism). On amd64 with AVX2 and FMA the dot product
// is vectorized assembly; elsewhere (or with the purego build tag) it is
// portable Go. A zero vector, stored or queried, scores 0 against every
// vector.
//
// # Durability
//
// Every Upsert or Delete batch is appended to the write-ahead log as one
// entry (length, CRC-32C of the length, CRC-32C of the payload) before the
// call returns, and applied to memory only once written. What a write that
// returned nil (an acknowledged write) survives:
//
//   - A process crash (kill -9, panic, out of memory): always, with or
//     without fsync, since the entry is in the operating system's cache.
//     TestKillAcknowledgedWritesSurvive kills a writing process at random
//     instants, snapshots included, and finds every acknowledged write and
//     the one in flight either whole or absent.
//   - A power cut or kernel crash: with the default WithSync(true), yes: the
//     log is fsynced before the call returns, as are new folders (their
//     parents) and snapshots (temporary file, fsync, rename, fsync of the
//     folder). This holds as far as the disk honours fsync (a drive whose
//     volatile write cache ignores flushes can still lose it). With
//     WithSync(false) the last writes, those the OS had not yet written
//     back (on Linux up to about 30 seconds), may be lost, and if the OS
//     wrote later log pages but not earlier ones, Init fails with
//     ErrCorrupt rather than serve a log with a hole.
//
// A batch larger than 16 MiB of log is split into several entries and is
// atomic per entry only; a Delete by IDs likewise. When the log outgrows
// both the compaction threshold (WithCompactionThreshold, 64 MiB by
// default) and the last snapshot, the store writes a new snapshot to a
// temporary file, fsyncs it, renames it over snapshot.bin, fsyncs the
// folder, then starts an empty log the same way; a crash at any step
// leaves either the old snapshot and log or the new snapshot and a log
// whose older entries Init skips by sequence number.
//
// Init loads the snapshot and replays the log entries newer than it. An
// incomplete last entry, or a tail of zeros (a write torn by a crash), is
// ignored and cut off, so the store holds exactly the complete entries
// before it and new writes follow them. A damaged entry anywhere else, or
// a damaged snapshot, makes Init fail with ErrCorrupt rather than silently
// drop data: remove the space's folder and rebuild the index from Storage,
// which holds the text. Both paths are fuzzed (FuzzReplay, FuzzApply).
//
// A space's folder is used by one Store at a time: Init takes an exclusive
// lock on its LOCK file (flock, on Linux, macOS and the BSDs), and a second
// Store, in this process or another, fails with an error wrapping
// record.ErrConflict until the first is closed.
package local

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// ErrClosed is returned by a method called after Close.
var ErrClosed = errors.New("vectorstore/local: store is closed")

// ErrCorrupt reports a damaged snapshot or write-ahead log entry found by
// Init. The message names the file and offset.
var ErrCorrupt = errors.New("vectorstore/local: corrupt data file")

const (
	defaultCompaction = 64 << 20
	maxEntry          = 16 << 20
	blockBytes        = 1 << 20
)

type config struct {
	sync       bool
	compaction int64
	workers    int
	quant      Quantization
}

// Option configures a Store.
type Option func(*config)

// WithSync sets whether each Upsert and Delete fsyncs the write-ahead log
// before returning. The default, true, makes every returned write survive a
// power cut; false survives a process crash only, and writes much faster on
// slow disks.
func WithSync(sync bool) Option { return func(c *config) { c.sync = sync } }

// WithCompactionThreshold sets the write-ahead log size from which the store
// writes a snapshot and starts a new log (only once the log is also larger
// than the last snapshot, so compaction costs stay linear). The default is
// 64 MiB; n <= 0 disables automatic compaction (Compact still works).
func WithCompactionThreshold(n int64) Option { return func(c *config) { c.compaction = n } }

// WithParallelism sets how many goroutines at most scan a large partition
// in one Search, and share the per-vector work of a large Upsert batch
// (checking, normalizing, encoding and storing or quantizing the vectors;
// the log entry and the rows are the same whatever the number). The
// default, 0, means runtime.GOMAXPROCS(0).
func WithParallelism(n int) Option { return func(c *config) { c.workers = n } }

// Store is the embedded vector store. It implements vectorstore.VectorStore
// and is safe for concurrent use: searches run in parallel, writes one at a
// time, and a write holds searches back only while it changes the memory,
// not while it appends to the log, fsyncs or compacts.
type Store struct {
	root string
	cfg  config

	// wmu serializes the calls that change anything (Init, Upsert, Delete,
	// Compact, Close) and guards the log; mu guards the in-memory state,
	// which changes only under both, so a write's log append and fsync
	// never block searches.
	wmu       sync.Mutex
	mu        sync.RWMutex
	inited    bool
	closed    bool
	space     vectorstore.Space
	blockRows int
	tenants   map[string]*partition
	in        *interner
	seq       uint64 // last sequence number applied

	// lmu guards lists, List's sorted IDs of large partitions (list.go).
	lmu   sync.Mutex
	lists map[string]*listCache

	// Persistence (dir == "" in memory).
	dir      string
	wal      *walFile
	lock     *os.File // held open (and flocked) while the space is in use
	snapSize int64
	broken   error     // a failed log write that could not be undone
	buf      []byte    // the entry being written
	invs     []float64 // 1/|v| of the records being upserted
	offs     []int     // where their vectors go in buf
	sets     []vecSet  // the vectors of the entry being applied
	sideBuf  []byte    // their float32s for the rescore file (Int8)

	// The snapshot, mapped (snapshot2.go), and for an Int8 store the
	// float32s written since it (quant.go).
	mapping  []byte
	snapFile *os.File
	side     sideStore
	qscratch []float32
}

var _ vectorstore.VectorStore = (*Store)(nil)

// Open returns a Store keeping its spaces under dir (created if missing),
// or only in memory when dir is "". Nothing is read until Init.
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := config{sync: true, compaction: defaultCompaction}
	for _, o := range opts {
		o(&cfg)
	}
	if dir != "" {
		if err := mkdirDurable(dir); err != nil {
			return nil, fmt.Errorf("vectorstore/local: create %s: %w", dir, err)
		}
	}
	return &Store{root: dir, cfg: cfg}, nil
}

// Init loads or creates the space's folder (dir/<sanitized model>-<hash>).
// Its files record the dimensions: a space created with other Dims fails
// with an error wrapping vectorstore.ErrDimensionMismatch. Init again with
// the same Space does nothing; a Store serves one Space.
func (s *Store) Init(ctx context.Context, space vectorstore.Space) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vectorstore/local: init: %w", err)
	}
	v := &record.ValidationError{}
	if space.Model == "" {
		v.Add("model", "is required")
	} else if len(space.Model) > 1024 {
		v.Add("model", "is longer than 1024 bytes")
	}
	if space.Dims <= 0 {
		v.Add("dims", "must be positive")
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("vectorstore/local: init: %w", err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.inited {
		switch {
		case space == s.space:
			return nil
		case space.Model == s.space.Model:
			return fmt.Errorf("vectorstore/local: init: space %q has %d dimensions, not %d: %w",
				space.Model, s.space.Dims, space.Dims, vectorstore.ErrDimensionMismatch)
		default:
			return fmt.Errorf("vectorstore/local: init: %w", record.Invalid("model",
				fmt.Sprintf("this store already serves model %q; open another Store for %q", s.space.Model, space.Model)))
		}
	}
	s.space = space
	s.blockRows = max(16, blockBytes/(4*space.Dims))
	s.tenants = map[string]*partition{}
	s.in = newInterner()
	s.seq = 0
	if s.root == "" && s.cfg.quant == Int8 {
		s.side = &memSide{}
	}
	if s.root != "" {
		s.dir = filepath.Join(s.root, folderName(space.Model))
		if err := s.load(); err != nil {
			s.tenants, s.in, s.dir = nil, nil, ""
			s.closeFiles()
			return err
		}
	}
	s.inited = true
	return nil
}

// ready reports why the store cannot serve a call. Caller holds s.wmu or
// s.mu.
func (s *Store) ready() error {
	if s.closed {
		return ErrClosed
	}
	if !s.inited {
		return vectorstore.ErrNotInitialized
	}
	return nil
}

// checkVector checks the size and values of a vector and returns 1/|vec|.
// field names it in errors; index, when >= 0, is substituted in field.
func (s *Store) checkVector(field string, index int, vec []float32) (float64, error) {
	if index >= 0 {
		field = fmt.Sprintf(field, index)
	}
	if len(vec) != s.space.Dims {
		return 0, fmt.Errorf("vectorstore/local: %s has %d dimensions, the space has %d: %w",
			field, len(vec), s.space.Dims, vectorstore.ErrDimensionMismatch)
	}
	inv, ok := invNorm(vec)
	if !ok {
		return 0, fmt.Errorf("vectorstore/local: %w", record.Invalid(field, "contains NaN or infinity"))
	}
	return inv, nil
}

// Upsert inserts or replaces records by (TenantID, ID); within recs, the
// last record with an ID wins. A batch with an invalid record stores
// nothing.
func (s *Store) Upsert(ctx context.Context, recs []vectorstore.Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vectorstore/local: upsert: %w", err)
	}
	mds, err := metadataJSON(recs)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	for i := range recs {
		r := &recs[i]
		if r.TenantID == "" {
			return fmt.Errorf("vectorstore/local: records[%d]: %w", i, record.ErrEmptyTenant)
		}
		if r.ID == "" {
			return fmt.Errorf("vectorstore/local: %w", record.Invalid(fmt.Sprintf("records[%d].id", i), "is required"))
		}
	}
	if i := s.checkNorms(func(i int) []float32 { return recs[i].Vector }, len(recs)); i >= 0 {
		_, err := s.checkVector("records[%d].vector", i, recs[i].Vector)
		return err
	}
	err = s.upsertLocked(recs, mds)
	if cap(s.buf) > 4<<20 {
		s.buf = nil // a large batch's buffers are not kept
	}
	if cap(s.invs) > 64<<10 {
		s.invs, s.offs = nil, nil
	}
	if err == nil && s.needCompaction() {
		return s.compactLocked()
	}
	return err
}

// upsertLocked logs and applies recs in entries of at most maxEntry bytes:
// opUpsert when no record has metadata, else opUpsertMD with the entry's
// distinct metadata once (mds[i] is record i's canonical JSON; mds is nil
// when none has any).
func (s *Store) upsertLocked(recs []vectorstore.Record, mds [][]byte) error {
	invs := s.invs
	var table map[string]int
	var order [][]byte
	for len(recs) > 0 {
		n, size := 0, entryHead+1+3*binary.MaxVarintLen64
		if mds != nil {
			clear(table)
			if table == nil {
				table = map[string]int{}
			}
			order = order[:0]
		}
		for n < len(recs) {
			rs := recordSize(&recs[n])
			if mds != nil {
				rs += binary.MaxVarintLen64
				if js := mds[n]; js != nil {
					if _, seen := table[string(js)]; !seen {
						rs += len(js) + binary.MaxVarintLen64
					}
				}
			}
			if n > 0 && size+rs > maxEntry {
				break
			}
			size += rs
			if mds != nil && mds[n] != nil {
				if _, seen := table[string(mds[n])]; !seen {
					table[string(mds[n])] = len(order) + 1
					order = append(order, mds[n])
				}
			}
			n++
		}
		if cap(s.buf) < size {
			s.buf = make([]byte, 0, size)
		}
		if mds == nil {
			s.buf = s.entryStart(s.buf, opUpsert)
		} else {
			s.buf = s.entryStart(s.buf, opUpsertMD)
			s.buf = appendUvarint(s.buf, uint64(len(order)))
			for _, js := range order {
				s.buf = appendString(s.buf, string(js))
			}
		}
		s.buf = appendUvarint(s.buf, uint64(n))
		// The strings here, the vectors after, in parallel (batch.go).
		offs := s.offs[:0]
		for i := range recs[:n] {
			md := -1
			if mds != nil {
				md = 0
				if mds[i] != nil {
					md = table[string(mds[i])]
				}
			}
			s.buf = appendRecordHead(s.buf, &recs[i], md)
			offs = append(offs, len(s.buf))
			s.buf = s.buf[:len(s.buf)+4*s.space.Dims]
		}
		s.encodeVectors(s.buf, offs, func(i int) []float32 { return recs[i].Vector }, invs[:n])
		s.offs = offs[:0]
		if err := s.commit(); err != nil {
			return err
		}
		recs, invs = recs[n:], invs[n:]
		if mds != nil {
			mds = mds[n:]
		}
	}
	return nil
}

// Delete removes every record of f.TenantID matching f.
func (s *Store) Delete(ctx context.Context, f vectorstore.Filter) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vectorstore/local: delete: %w", err)
	}
	if err := vectorstore.ValidateFilter(f); err != nil {
		return fmt.Errorf("vectorstore/local: delete: %w", err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	if len(f.IDs) > 0 || !f.Metadata.IsZero() {
		return s.deleteIDsLocked(f)
	}
	p := s.tenants[f.TenantID]
	if p == nil {
		return nil
	}
	c, ok := compileFilter(s.in, f.BotID, f.SourceIDs, f.DocumentIDs)
	if !ok {
		return nil
	}
	if !c.any() && !p.anyMatch(&c) {
		return nil // nothing to delete: no log entry
	}
	s.buf = s.entryStart(s.buf, opDelete)
	s.buf = appendFilter(s.buf, f)
	return s.commit()
}

// anyMatch reports whether some row of p matches c.
func (p *partition) anyMatch(c *compiled) bool {
	for _, b := range p.blocks {
		for i := range b.metas {
			if c.match(b, i) {
				return true
			}
		}
	}
	return false
}

// Search returns the q.TopK records of q.Filter.TenantID closest to
// q.Vector, best first (ties by ID).
func (s *Store) Search(ctx context.Context, q vectorstore.Query) ([]vectorstore.Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vectorstore/local: search: %w", err)
	}
	if err := vectorstore.ValidateFilter(q.Filter); err != nil {
		return nil, fmt.Errorf("vectorstore/local: search: %w", err)
	}
	if q.TopK <= 0 {
		return nil, fmt.Errorf("vectorstore/local: search: %w", record.Invalid("top_k", "must be positive"))
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.ready(); err != nil {
		return nil, err
	}
	inv, err := s.checkVector("query.vector", -1, q.Vector)
	if err != nil {
		return nil, err
	}
	p := s.tenants[q.Filter.TenantID]
	if p == nil {
		return []vectorstore.Match{}, nil
	}
	c, ok := s.compile(p, q.Filter)
	if !ok {
		return []vectorstore.Match{}, nil
	}
	qv := make([]float32, len(q.Vector))
	normalizeInto(qv, q.Vector, inv)
	workers := s.cfg.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var hits []hit
	switch {
	case len(q.Filter.IDs) > 0:
		hits, err = s.searchIDs(p, qv, q.TopK, q.Filter.IDs, &c, q.MinScore != 0, q.MinScore)
	case p.quant:
		hits, err = s.searchQuant(p, qv, q.TopK, &c, q.MinScore != 0, q.MinScore, workers)
	default:
		hits = p.search(qv, q.TopK, &c, q.MinScore != 0, q.MinScore, workers)
	}
	if err != nil {
		return nil, fmt.Errorf("vectorstore/local: search: %w", err)
	}
	out := make([]vectorstore.Match, len(hits))
	for i, h := range hits {
		out[i] = vectorstore.Match{ID: p.id(int(h.row)), Score: h.score}
	}
	return out, nil
}

// Len returns how many records tenantID has (0 before Init or after Close).
func (s *Store) Len(tenantID string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p := s.tenants[tenantID]; p != nil {
		return p.n
	}
	return 0
}

// Compact writes a snapshot of the space and starts an empty write-ahead
// log now, whatever their sizes. It does nothing for a memory-only store.
func (s *Store) Compact(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vectorstore/local: compact: %w", err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	if s.wal == nil {
		return nil
	}
	return s.compactLocked()
}

// Close flushes and closes the write-ahead log and releases the memory.
// Closing twice is not an error; every other method then fails with
// ErrClosed.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.tenants, s.in, s.buf = nil, nil, nil
	s.lmu.Lock()
	s.lists = nil
	s.lmu.Unlock()
	if err := s.closeFiles(); err != nil {
		return fmt.Errorf("vectorstore/local: close %s: %w", s.dir, err)
	}
	return nil
}

// closeFiles syncs and closes the log, releases the snapshot's mapping
// and the rescore file, then the folder's lock. Caller holds s.mu (the
// partitions must not be used after).
func (s *Store) closeFiles() error {
	var err error
	if s.mapping != nil {
		unmapFile(s.mapping)
		s.mapping = nil
	}
	if s.snapFile != nil {
		s.snapFile.Close()
		s.snapFile = nil
	}
	if s.side != nil {
		s.side.close()
		s.side = nil
	}
	if s.wal != nil {
		err = s.wal.f.Sync()
		if cerr := s.wal.f.Close(); err == nil {
			err = cerr
		}
		s.wal = nil
	}
	if s.lock != nil {
		if cerr := s.lock.Close(); err == nil {
			err = cerr
		}
		s.lock = nil
	}
	return err
}
