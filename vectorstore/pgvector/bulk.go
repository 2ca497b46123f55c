package pgvector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	pgv "github.com/pgvector/pgvector-go"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	"github.com/minirag/minirag/vectorstore"
)

// copyMin is the number of records (after removing duplicate keys) from
// which Upsert goes through COPY.
const copyMin = 256

// sqlNames are the extension's objects, qualified with its schema so that
// the store works whatever the role's search_path (for example the
// search_path = minirag that docs/postgres.md recommends, when the
// extension lives in public).
type sqlNames struct {
	vector    string // the type: "public".vector
	cosine    string // the operator: OPERATOR("public".<=>)
	cosineOps string // the operator class: "public".vector_cosine_ops
}

func names(schema string) sqlNames {
	q := pgx.Identifier{schema}.Sanitize()
	return sqlNames{vector: q + ".vector", cosine: "OPERATOR(" + q + ".<=>)", cosineOps: q + ".vector_cosine_ops"}
}

// indexDDL is the statement creating the HNSW index of table name
// (concurrently is "" or "CONCURRENTLY").
func (s *Store) indexDDL(name, table string, ext sqlNames, concurrently string) string {
	return fmt.Sprintf("CREATE INDEX %s IF NOT EXISTS %s ON %s USING hnsw (embedding %s) WITH (m = %d, ef_construction = %d)",
		concurrently, pgx.Identifier{name + "_hnsw"}.Sanitize(), table, ext.cosineOps, s.opts.M, s.opts.EfConstruction)
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// indexState reports whether the index (quoted, qualified) exists, and
// whether it is valid (a failed CREATE INDEX CONCURRENTLY leaves an invalid
// one).
func indexState(ctx context.Context, q querier, index string) (exists, valid bool, err error) {
	var v *bool
	err = q.QueryRow(ctx, "SELECT (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1))", index).Scan(&v)
	if err != nil || v == nil {
		return false, false, err
	}
	return true, *v, nil
}

func indexValid(ctx context.Context, q querier, index string) (bool, error) {
	_, valid, err := indexState(ctx, q, index)
	return valid, err
}

// BuildIndex creates the table's HNSW index if it has none (after a load
// with Options.DeferIndex), with CREATE INDEX CONCURRENTLY: writes and
// searches go on meanwhile. An invalid index left by a failed build is
// dropped and built again. Searches use the index once BuildIndex returns
// (other Stores on the table: after their next Init). With more than
// MaxIndexedDims dimensions there is no index to build and it does nothing.
// It needs the CREATE privilege of the table's owner and cannot run inside
// a transaction.
func (s *Store) BuildIndex(ctx context.Context) error {
	space, table, err := s.state()
	if err != nil {
		return err
	}
	if space.Dims > MaxIndexedDims {
		return nil
	}
	s.mu.RLock()
	name, ext := s.name, s.ext
	s.mu.RUnlock()
	index := s.ident(name + "_hnsw")
	exists, valid, err := indexState(ctx, s.pool, index)
	if err == nil && !valid {
		err = s.maintenance(ctx, table, func(conn *pgx.Conn) error {
			if exists {
				if _, err := conn.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+index, pgx.QueryExecModeSimpleProtocol); err != nil {
					return err
				}
			}
			_, err := conn.Exec(ctx, s.indexDDL(name, table, ext, "CONCURRENTLY"), pgx.QueryExecModeSimpleProtocol)
			return err
		})
	}
	if err != nil {
		return s.wrap(ctx, "build index", err)
	}
	s.mu.Lock()
	s.hnsw = true
	s.mu.Unlock()
	return nil
}

// Reindex rebuilds the table's HNSW index with REINDEX INDEX CONCURRENTLY
// (PostgreSQL 12+), for example after many updates and deletes; writes and
// searches go on meanwhile. It does nothing when there is no index.
func (s *Store) Reindex(ctx context.Context) error {
	_, table, err := s.state()
	if err != nil {
		return err
	}
	s.mu.RLock()
	name, hnsw := s.name, s.hnsw
	s.mu.RUnlock()
	if !hnsw {
		return nil
	}
	err = s.maintenance(ctx, table, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "REINDEX INDEX CONCURRENTLY "+s.ident(name+"_hnsw"), pgx.QueryExecModeSimpleProtocol)
		return err
	})
	return s.wrap(ctx, "reindex", err)
}

// autoMemCap is the most maintenance_work_mem BuildIndex and Reindex ask
// for on their own (Options.MaintenanceWorkMem unset).
const autoMemCap = 1 << 20 // kB: 1GB

// graphKB estimates, in kB, the memory pgvector's HNSW build needs to hold
// the graph of rows vectors of dims dimensions in memory: the vector, 2*m
// neighbour slots of 16 bytes on layer 0 (upper layers add about 1/m of
// that) and about 200 bytes of element header, plus 10%. At 384
// dimensions and m = 16 that is 2.3 kB a row (64MB holds about 28,000
// rows; pgvector's own figure is about 30,000).
func graphKB(rows int64, dims, m int) int64 {
	per := int64(4*dims + 32*m + 200)
	return rows*per*11/10/1024 + 1
}

// maintenance runs f on one connection of the pool, with the session's
// maintenance_work_mem and max_parallel_maintenance_workers set for the
// index build of table (and reset after). maintenance_work_mem is
// Options.MaintenanceWorkMem when set; otherwise the server's setting, or
// the estimated size of the table's graph (graphKB) when that is larger,
// up to autoMemCap. CONCURRENTLY cannot run in a transaction, so SET LOCAL
// cannot scope them.
func (s *Store) maintenance(ctx context.Context, table string, f func(conn *pgx.Conn) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	mem := s.opts.MaintenanceWorkMem
	if mem == "" {
		var rows, cur int64
		err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM "+table+
			"), (SELECT setting::int8 FROM pg_settings WHERE name = 'maintenance_work_mem')").Scan(&rows, &cur)
		if err != nil {
			return err
		}
		s.mu.RLock()
		dims := s.space.Dims
		s.mu.RUnlock()
		need := graphKB(rows, dims, s.opts.M)
		if need > cur {
			mem = strconv.FormatInt(min(need, autoMemCap), 10) + "kB"
		}
		if need > max(cur, autoMemCap) {
			s.log.Warn("pgvector: the HNSW graph will not fit in maintenance_work_mem, the build will be slow; set Options.MaintenanceWorkMem",
				"rows", rows, "need_kB", need, "maintenance_work_mem_kB", max(cur, autoMemCap))
		}
	}
	var set []string
	if mem != "" {
		set = append(set, "maintenance_work_mem")
		if _, err := conn.Exec(ctx, "SELECT set_config('maintenance_work_mem', $1, false)", mem); err != nil {
			return err
		}
	}
	if w := s.opts.IndexWorkers; w != 0 {
		set = append(set, "max_parallel_maintenance_workers")
		if _, err := conn.Exec(ctx, "SELECT set_config('max_parallel_maintenance_workers', $1, false)", strconv.Itoa(max(w, 0))); err != nil {
			return err
		}
	}
	if len(set) > 0 {
		defer func() {
			for _, name := range set {
				if _, err := conn.Exec(context.WithoutCancel(ctx), "RESET "+name, pgx.QueryExecModeSimpleProtocol); err != nil {
					conn.Conn().Close(context.WithoutCancel(ctx)) // do not hand the setting back to the pool
					return
				}
			}
		}()
	}
	s.log.Debug("pgvector: index build", "table", table, "maintenance_work_mem", mem, "workers", s.opts.IndexWorkers)
	return f(conn.Conn())
}

func (s *Store) useCopy() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return !s.noCopy
}

// noCopyNow turns COPY off for this Store after err showed the server or
// the role cannot use it.
func (s *Store) noCopyNow(err error) {
	s.mu.Lock()
	s.noCopy = true
	s.mu.Unlock()
	s.log.Debug("pgvector: COPY unavailable, upserts use INSERT", "err", err)
}

// copyUnsupported reports whether err says that COPY or the temporary
// staging table cannot be used here (not a problem with the data).
func copyUnsupported(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "0A000" || pe.Code == "42501" || pe.Code == "25006" // feature not supported, no TEMP privilege, read-only
	}
	return false
}

var copyColumns = []string{"tenant_id", "id", "bot_id", "source_id", "document_id", "embedding", "metadata"}

// copyUpsert writes recs (unique keys) through binary COPY into a
// temporary staging table, then merges it into table with INSERT … ON
// CONFLICT, in one transaction. It registers pgvector-go's codec for the
// vector type on the connection it uses (the type's OID read at Init).
func (s *Store) copyUpsert(ctx context.Context, table string, recs []vectorstore.Record, metas []string) error {
	s.mu.RLock()
	oid := s.vecOID
	s.mu.RUnlock()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	tm := conn.Conn().TypeMap()
	if t, ok := tm.TypeForOID(oid); !ok || t.Name != "vector" {
		tm.RegisterType(&pgtype.Type{Name: "vector", OID: oid, Codec: &pgxvec.VectorCodec{}})
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE minirag_stage (LIKE "+table+") ON COMMIT DROP"); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"pg_temp", "minirag_stage"}, copyColumns,
			pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
				r := &recs[i]
				return []any{r.TenantID, r.ID, r.BotID, r.SourceID, r.DocumentID, pgv.NewVector(r.Vector), json.RawMessage(metas[i])}, nil
			}))
		if err != nil {
			return err
		}
		cols := strings.Join(copyColumns, ", ")
		_, err = tx.Exec(ctx, "INSERT INTO "+table+" ("+cols+") SELECT "+cols+` FROM pg_temp.minirag_stage
			ON CONFLICT (tenant_id, id) DO UPDATE SET bot_id = EXCLUDED.bot_id, source_id = EXCLUDED.source_id,
				document_id = EXCLUDED.document_id, embedding = EXCLUDED.embedding, metadata = EXCLUDED.metadata`)
		return err
	})
}

// sizeTTL is how long a counted filter size is trusted. Writes through
// this Store forget what they may have changed; writes by other processes
// show after at most this long.
const sizeTTL = 30 * time.Second

// sizeCache remembers how many rows a search filter matched (counted up to
// ExactThreshold+1), so that a search does not count them every time.
type sizeCache struct {
	mu sync.Mutex
	m  map[sizeKey]sizeEntry
}

type sizeKey struct{ tenant, filter string }

type sizeEntry struct {
	n  int
	at time.Time
}

const maxSizes = 4096

func (c *sizeCache) get(k sizeKey) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || time.Since(e.at) > sizeTTL {
		return 0, false
	}
	return e.n, true
}

func (c *sizeCache) put(k sizeKey, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxSizes {
		c.m = map[sizeKey]sizeEntry{}
	}
	c.m[k] = sizeEntry{n, time.Now()}
}

func (c *sizeCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// forget drops what upserting recs may have made wrong: the small counts
// of their tenants (a large count stays large when rows are added).
func (c *sizeCache) forget(recs []vectorstore.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) == 0 {
		return
	}
	tenants := map[string]bool{}
	for i := range recs {
		tenants[recs[i].TenantID] = true
	}
	for k := range c.m {
		if tenants[k.tenant] {
			delete(c.m, k) // moves between bots or sources can shrink a count too
		}
	}
}

// forgetTenant drops every count of tenant (after a delete).
func (c *sizeCache) forgetTenant(tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.tenant == tenant {
			delete(c.m, k)
		}
	}
}

func filterKey(f vectorstore.Filter) string {
	var b strings.Builder
	if !f.Metadata.IsZero() {
		m, _ := json.Marshal(f.Metadata) // valid: Search checked it
		b.Write(m)
	}
	b.WriteByte(0)
	b.WriteString(f.BotID)
	for _, l := range [][]string{f.SourceIDs, f.DocumentIDs, f.IDs} {
		b.WriteByte(0)
		for _, id := range l {
			b.WriteString(id)
			b.WriteByte(1)
		}
	}
	return b.String()
}

// smallFilter reports whether at most ExactThreshold rows match f, from
// the cache when it can: a tenant counted small makes every filter of it
// small. Otherwise it counts through the btree indexes (up to the
// threshold + 1) and remembers the count.
func (s *Store) smallFilter(ctx context.Context, tx pgx.Tx, table string, f vectorstore.Filter, w string, fargs []any) (bool, error) {
	th := s.opts.ExactThreshold
	tenantKey := sizeKey{f.TenantID, filterKey(vectorstore.Filter{})}
	if n, ok := s.sizes.get(tenantKey); ok && n <= th {
		return true, nil
	}
	key := sizeKey{f.TenantID, filterKey(f)}
	if n, ok := s.sizes.get(key); ok {
		return n <= th, nil
	}
	var n int
	cq := "SELECT count(*) FROM (SELECT 1 FROM " + table + " WHERE " + w + " LIMIT $1) AS f"
	if err := tx.QueryRow(ctx, cq, append([]any{th + 1}, fargs...)...).Scan(&n); err != nil {
		return false, err
	}
	s.sizes.put(key, n)
	return n <= th, nil
}
