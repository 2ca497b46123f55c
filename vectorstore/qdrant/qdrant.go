package qdrant

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"
	qc "github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// Payload fields written on every point, each with a keyword index.
const (
	FieldTenant   = "tenant_id"
	FieldBot      = "bot_id"
	FieldSource   = "source_id"
	FieldDocument = "document_id"
	FieldChunk    = "chunk_id"
)

// DefaultBatchSize is how many points one Upsert request carries unless
// Options.BatchSize says otherwise.
const DefaultBatchSize = 256

// DefaultCollectionPrefix starts every collection name unless
// Options.CollectionPrefix says otherwise.
const DefaultCollectionPrefix = "minirag_"

// pointNamespace is the UUIDv5 namespace of point IDs. Changing it would
// orphan every point already written.
var pointNamespace = uuid.MustParse("013159a5-2f65-4207-86ad-0c2a9104cd2b")

// PointID returns the Qdrant point ID of a chunk of a tenant: a name-based
// (SHA-1, version 5) UUID over the tenant ID and the chunk ID. It is
// deterministic, so re-ingesting a chunk replaces its point.
func PointID(tenantID, chunkID string) string {
	return uuid.NewSHA1(pointNamespace, []byte(tenantID+"\x00"+chunkID)).String()
}

// CollectionName returns the collection of an embedding space: prefix,
// then the model with every character other than ASCII letters, digits,
// '-' and '_' replaced by '_' (plus a short hash of the model when anything
// was replaced, so two models never share a name). An empty prefix means
// DefaultCollectionPrefix.
//
// The dimensions are not part of the name but of the collection's
// configuration: Init of a model with other dimensions than its existing
// collection fails with vectorstore.ErrDimensionMismatch instead of
// silently starting an empty collection. A model used at two sizes (a
// Matryoshka model) needs a prefix per size.
func CollectionName(prefix string, space vectorstore.Space) string {
	if prefix == "" {
		prefix = DefaultCollectionPrefix
	}
	var b strings.Builder
	changed := space.Model == ""
	for _, r := range space.Model {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
			changed = true
		}
	}
	model := b.String()
	const maxModel = 180 // Qdrant allows 255 characters in a name
	if len(model) > maxModel {
		model = model[:maxModel]
		changed = true
	}
	if changed {
		sum := sha256.Sum256([]byte(space.Model))
		model += "-" + hex.EncodeToString(sum[:4])
	}
	return prefix + model
}

// Options tune a Store.
type Options struct {
	// CollectionPrefix starts collection names (default "minirag_"). Use
	// one per application or test sharing a Qdrant.
	CollectionPrefix string
	// Collection, when set, is the collection used for every space instead
	// of a name derived from the space.
	Collection string
	// BatchSize is how many points one Upsert request carries (default
	// 256).
	BatchSize int
	// NoStrictMode creates new collections without strict mode. By
	// default they forbid filtering on fields without a payload index.
	NoStrictMode bool
	// Addr names the server in errors. The default is the target of the
	// client's connection.
	Addr string
	// Logger receives debug records (collection created, indexes added).
	// Nil means silent.
	Logger *slog.Logger
	// MetadataFields are the metadata fields filters use; Init creates a
	// payload index for each (see MetadataField).
	MetadataFields []MetadataField
}

// Config is what Dial needs to build a client. The API key never appears
// in String, %v, or logs.
type Config struct {
	// Host of the Qdrant server (default "localhost").
	Host string
	// Port of Qdrant's gRPC API (default 6334; 6333 is the REST API).
	Port int
	// APIKey is sent in the "api-key" header when set. Use it with UseTLS:
	// without TLS the key crosses the network in clear (Dial then logs a
	// warning on Logger).
	APIKey string
	// UseTLS turns on TLS; TLSConfig, when set, replaces the default (TLS
	// 1.3, system roots).
	UseTLS    bool
	TLSConfig *tls.Config
	// PoolSize is the number of gRPC connections (default 3, as the
	// go-client's).
	PoolSize uint
	// GrpcOptions are extra dial options, applied last.
	GrpcOptions []grpc.DialOption

	// CollectionPrefix, Collection, BatchSize, NoStrictMode, Logger and
	// MetadataFields are the Store's Options.
	CollectionPrefix string
	Collection       string
	BatchSize        int
	NoStrictMode     bool
	Logger           *slog.Logger
	MetadataFields   []MetadataField
}

// String describes c without its API key.
func (c Config) String() string {
	key := ""
	if c.APIKey != "" {
		key = " api_key=[redacted]"
	}
	return fmt.Sprintf("qdrant.Config{addr=%s tls=%t%s prefix=%q}", c.addr(), c.UseTLS, key, c.CollectionPrefix)
}

// GoString is String, so %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// MarshalJSON is String as a JSON string, so JSON does not carry the key
// either.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// LogValue is String, so slog does not print the key either.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

func (c Config) addr() string {
	host, port := c.Host, c.Port
	if host == "" {
		host = "localhost"
	}
	if port == 0 {
		port = 6334
	}
	return host + ":" + strconv.Itoa(port)
}

// Store is a vectorstore.VectorStore on a Qdrant collection. Its methods are
// safe for concurrent use.
type Store struct {
	client *qc.Client
	own    bool
	addr   string
	opts   Options
	log    *slog.Logger

	mu     sync.RWMutex
	space  vectorstore.Space
	coll   string
	ready  bool
	closed bool
}

var _ vectorstore.VectorStore = (*Store)(nil)

// New returns a Store on a client the caller built and keeps: Close does
// not close it. Nothing is sent before Init.
func New(client *qc.Client, opts Options) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("qdrant: new: %w", record.Invalid("client", "is required"))
	}
	if opts.BatchSize < 0 {
		return nil, fmt.Errorf("qdrant: new: %w", record.Invalid("batch_size", "must not be negative"))
	}
	if err := validateMetadataFields(opts.MetadataFields); err != nil {
		return nil, fmt.Errorf("qdrant: new: %w", err)
	}
	opts.MetadataFields = append([]MetadataField(nil), opts.MetadataFields...)
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.CollectionPrefix == "" {
		opts.CollectionPrefix = DefaultCollectionPrefix
	}
	addr := opts.Addr
	if addr == "" {
		if conn := client.GetConnection(); conn != nil {
			addr = conn.Target()
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{client: client, addr: addr, opts: opts, log: log}, nil
}

// Dial builds a client from cfg and returns a Store that owns it (Close
// closes it). Dial does no network I/O: the connection is made by the
// first call, and an unreachable server is an error wrapping
// ErrUnavailable that names the address. ctx is not used yet; it is there
// so that callers need not change if Dial starts checking the server.
func Dial(ctx context.Context, cfg Config) (*Store, error) {
	_ = ctx
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("qdrant: dial: %w", record.Invalid("port", "must be between 1 and 65535"))
	}
	opts := cfg.GrpcOptions
	if cfg.APIKey != "" {
		// The key is sent by our interceptor rather than the go-client's,
		// which would warn on slog.Default about plaintext; the warning
		// goes to cfg.Logger instead (silent when nil).
		opts = append([]grpc.DialOption{grpc.WithChainUnaryInterceptor(apiKeyInterceptor(cfg.APIKey))}, opts...)
		if !cfg.UseTLS && cfg.Logger != nil {
			cfg.Logger.Warn("qdrant: API key sent without TLS", "addr", cfg.addr())
		}
	}
	client, err := qc.NewClient(&qc.Config{
		Host:                   cfg.Host,
		Port:                   cfg.Port,
		UseTLS:                 cfg.UseTLS,
		TLSConfig:              cfg.TLSConfig,
		PoolSize:               cfg.PoolSize,
		GrpcOptions:            opts,
		SkipCompatibilityCheck: true, // it would call the server and log on slog.Default
	})
	if err != nil {
		return nil, fmt.Errorf("qdrant: dial %s: %w", cfg.addr(), scrub(err, cfg.APIKey))
	}
	s, err := New(client, Options{
		CollectionPrefix: cfg.CollectionPrefix,
		Collection:       cfg.Collection,
		BatchSize:        cfg.BatchSize,
		NoStrictMode:     cfg.NoStrictMode,
		Addr:             cfg.addr(),
		Logger:           cfg.Logger,
		MetadataFields:   cfg.MetadataFields,
	})
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

func apiKeyInterceptor(key string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(metadata.AppendToOutgoingContext(ctx, "api-key", key), method, req, reply, cc, opts...)
	}
}

// scrub removes a secret from an error's text (for errors built by
// libraries that might quote their configuration).
func scrub(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}

// Collection returns the collection chosen by the last successful Init, or
// "" before Init.
func (s *Store) Collection() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.coll
}

// Addr returns the server address used in error messages.
func (s *Store) Addr() string { return s.addr }

type indexSpec struct {
	field     string
	isTenant  bool
	fieldType qc.FieldType
	dataType  qc.PayloadSchemaType
}

var indexes = []indexSpec{
	{FieldTenant, true, qc.FieldType_FieldTypeKeyword, qc.PayloadSchemaType_Keyword},
	{FieldBot, false, qc.FieldType_FieldTypeKeyword, qc.PayloadSchemaType_Keyword},
	{FieldSource, false, qc.FieldType_FieldTypeKeyword, qc.PayloadSchemaType_Keyword},
	{FieldDocument, false, qc.FieldType_FieldTypeKeyword, qc.PayloadSchemaType_Keyword},
	{FieldChunk, false, qc.FieldType_FieldTypeKeyword, qc.PayloadSchemaType_Keyword},
	{FieldMetaStrings, false, qc.FieldType_FieldTypeKeyword, qc.PayloadSchemaType_Keyword},
}

// indexSpecs are the adapter's indexes followed by those of the declared
// metadata fields.
func (s *Store) indexSpecs() []indexSpec {
	out := append([]indexSpec(nil), indexes...)
	for _, f := range s.opts.MetadataFields {
		ft, dt, _ := f.Type.fieldType()
		out = append(out, indexSpec{field: metaKey(f.Name), fieldType: ft, dataType: dt})
	}
	return out
}

// Init selects the collection of space, creating it (cosine distance, the
// payload indexes) when missing. An existing collection with another
// vector size fails with an error wrapping vectorstore.ErrDimensionMismatch,
// one with another distance with ErrDistanceMismatch; missing payload
// indexes are added.
func (s *Store) Init(ctx context.Context, space vectorstore.Space) error {
	v := &record.ValidationError{}
	if space.Dims <= 0 {
		v.Add("dims", "must be positive")
	}
	if space.Model == "" && s.opts.Collection == "" {
		v.Add("model", "is required")
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("qdrant: init: %w", err)
	}
	if err := s.checkOpen("init"); err != nil {
		return err
	}
	name := s.opts.Collection
	if name == "" {
		name = CollectionName(s.opts.CollectionPrefix, space)
	}
	info, err := s.client.GetCollectionInfo(ctx, name)
	if err != nil && isCode(err, codeNotFound) {
		if err := s.create(ctx, name, space.Dims); err != nil {
			return err
		}
		info, err = s.client.GetCollectionInfo(ctx, name)
	}
	if err != nil {
		return s.translate(ctx, "init: collection "+name, err)
	}
	if err := checkParams(name, info, space.Dims); err != nil {
		return err
	}
	if err := s.ensureIndexes(ctx, name, info); err != nil {
		return err
	}
	s.mu.Lock()
	s.space, s.coll, s.ready = space, name, true
	s.mu.Unlock()
	return nil
}

func (s *Store) create(ctx context.Context, name string, dims int) error {
	req := &qc.CreateCollection{
		CollectionName: name,
		VectorsConfig: qc.NewVectorsConfig(&qc.VectorParams{
			Size:     uint64(dims),
			Distance: qc.Distance_Cosine,
		}),
	}
	if !s.opts.NoStrictMode {
		req.StrictModeConfig = &qc.StrictModeConfig{
			Enabled:                    qc.PtrOf(true),
			UnindexedFilteringRetrieve: qc.PtrOf(false),
			UnindexedFilteringUpdate:   qc.PtrOf(false),
		}
	}
	err := s.client.CreateCollection(ctx, req)
	if err != nil && isCode(err, codeAlreadyExists) {
		return nil // created concurrently by another process; checked next
	}
	if err != nil {
		return s.translate(ctx, "init: create collection "+name, err)
	}
	s.log.DebugContext(ctx, "qdrant: collection created", "collection", name, "dims", dims)
	return nil
}

// checkParams verifies that an existing collection holds one unnamed dense
// vector of the space's size under cosine distance.
func checkParams(name string, info *qc.CollectionInfo, dims int) error {
	vc := info.GetConfig().GetParams().GetVectorsConfig()
	params := vc.GetParams()
	if params == nil {
		if m := vc.GetParamsMap().GetMap(); m != nil {
			params = m[""]
		}
	}
	if params == nil {
		return fmt.Errorf("qdrant: init: collection %s has no unnamed dense vector (named vectors are not supported): %w",
			name, record.ErrInvalidInput)
	}
	if int(params.GetSize()) != dims {
		return fmt.Errorf("qdrant: init: collection %s holds vectors of %d dimensions, the space has %d: %w",
			name, params.GetSize(), dims, vectorstore.ErrDimensionMismatch)
	}
	if params.GetDistance() != qc.Distance_Cosine {
		return fmt.Errorf("qdrant: init: collection %s uses %s distance, this store needs Cosine: %w",
			name, params.GetDistance(), ErrDistanceMismatch)
	}
	return nil
}

func (s *Store) ensureIndexes(ctx context.Context, name string, info *qc.CollectionInfo) error {
	schema := info.GetPayloadSchema()
	for _, ix := range s.indexSpecs() {
		if have, ok := schema[ix.field]; ok {
			if have.GetDataType() != ix.dataType {
				return fmt.Errorf("qdrant: init: collection %s indexes %s as %s, a %s index is needed (drop that index to change the type): %w",
					name, ix.field, have.GetDataType(), ix.dataType, record.ErrInvalidInput)
			}
			if ix.isTenant && !have.GetParams().GetKeywordIndexParams().GetIsTenant() {
				s.log.WarnContext(ctx, "qdrant: tenant index exists without is_tenant", "collection", name, "field", ix.field)
			}
			continue
		}
		req := &qc.CreateFieldIndexCollection{
			CollectionName: name,
			Wait:           qc.PtrOf(true),
			FieldName:      ix.field,
			FieldType:      ix.fieldType.Enum(),
		}
		if ix.isTenant {
			req.FieldIndexParams = qc.NewPayloadIndexParamsKeyword(&qc.KeywordIndexParams{IsTenant: qc.PtrOf(true)})
		}
		if _, err := s.client.CreateFieldIndex(ctx, req); err != nil {
			return s.translate(ctx, "init: index "+ix.field+" of "+name, err)
		}
		s.log.DebugContext(ctx, "qdrant: payload index created", "collection", name, "field", ix.field, "is_tenant", ix.isTenant)
	}
	return nil
}

func (s *Store) checkOpen(op string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("qdrant: %s: store is closed", op)
	}
	return nil
}

// state returns the collection and space, or an error wrapping
// vectorstore.ErrNotInitialized.
func (s *Store) state(op string) (string, vectorstore.Space, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return "", vectorstore.Space{}, fmt.Errorf("qdrant: %s: store is closed", op)
	}
	if !s.ready {
		return "", vectorstore.Space{}, fmt.Errorf("qdrant: %s: %w", op, vectorstore.ErrNotInitialized)
	}
	return s.coll, s.space, nil
}

// Upsert writes recs in batches of Options.BatchSize, each with wait=true.
// Every record is validated before anything is sent; a failure in a later
// batch leaves the earlier batches written (re-running Upsert is safe: IDs
// are deterministic).
func (s *Store) Upsert(ctx context.Context, recs []vectorstore.Record) error {
	coll, space, err := s.state("upsert")
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	points, err := buildPoints(recs, space.Dims)
	if err != nil {
		return err
	}
	bs := s.opts.BatchSize
	for start := 0; start < len(points); start += bs {
		end := min(start+bs, len(points))
		res, err := s.client.Upsert(ctx, &qc.UpsertPoints{
			CollectionName: coll,
			Wait:           qc.PtrOf(true),
			Points:         points[start:end],
		})
		if err != nil {
			return s.translate(ctx, fmt.Sprintf("upsert: points %d-%d of %d", start, end-1, len(points)), err)
		}
		if err := checkUpdate(res); err != nil {
			return fmt.Errorf("qdrant: upsert on %s: points %d-%d of %d: %w", s.addr, start, end-1, len(points), err)
		}
	}
	return nil
}

// buildPoints validates recs and turns them into points, the last record
// of a point ID replacing earlier ones in place. The protobuf messages of
// all points are allocated in a few slabs rather than one by one: this is
// most of the adapter's own cost per vector (see BenchmarkBuildPoints).
func buildPoints(recs []vectorstore.Record, dims int) ([]*qc.PointStruct, error) {
	for i, r := range recs {
		if err := validateRecord(i, r, dims); err != nil {
			return nil, err
		}
	}
	n := len(recs)
	var (
		structs = make([]qc.PointStruct, n)
		ids     = make([]qc.PointId, n)
		uuids   = make([]qc.PointId_Uuid, n)
		vectors = make([]qc.Vectors, n)
		single  = make([]qc.Vectors_Vector, n)
		vector  = make([]qc.Vector, n)
		dense   = make([]qc.Vector_Dense, n)
		data    = make([]qc.DenseVector, n)
		vals    = newValueSlab(n * 5)
		buf     []byte
	)
	points := make([]*qc.PointStruct, 0, n)
	pos := make(map[string]int, n)
	for i, r := range recs {
		var id string
		id, buf = pointID(buf, r.TenantID, r.ID)
		uuids[i].Uuid = id
		ids[i].PointIdOptions = &uuids[i]
		data[i].Data = r.Vector
		dense[i].Dense = &data[i]
		vector[i].Vector = &dense[i]
		single[i].Vector = &vector[i]
		vectors[i].VectorsOptions = &single[i]
		p := &structs[i]
		p.Id = &ids[i]
		p.Vectors = &vectors[i]
		p.Payload = payload(r, vals)
		if meta, err := metaValue(fmt.Sprintf("records[%d].metadata", i), r.Metadata); err != nil {
			return nil, fmt.Errorf("qdrant: upsert: %w", err)
		} else if meta != nil {
			p.Payload[FieldMeta] = meta
			if strs := stringFields(meta); len(strs) > 0 {
				p.Payload[FieldMetaStrings] = keywords(strs)
			}
		}
		if j, dup := pos[id]; dup {
			points[j] = p // the last record of an ID wins
			continue
		}
		pos[id] = len(points)
		points = append(points, p)
	}
	return points, nil
}

// valueSlab hands out string payload values from preallocated arrays.
type valueSlab struct {
	vals []qc.Value
	strs []qc.Value_StringValue
}

func newValueSlab(n int) *valueSlab {
	return &valueSlab{vals: make([]qc.Value, n), strs: make([]qc.Value_StringValue, n)}
}

func (s *valueSlab) str(v string) *qc.Value {
	if len(s.vals) == 0 {
		return qc.NewValueString(v)
	}
	val, str := &s.vals[0], &s.strs[0]
	s.vals, s.strs = s.vals[1:], s.strs[1:]
	str.StringValue = v
	val.Kind = str
	return val
}

// pointID is PointID reusing buf for the hashed name (the same UUIDv5,
// without uuid.NewSHA1's allocations).
func pointID(buf []byte, tenantID, chunkID string) (string, []byte) {
	buf = append(buf[:0], pointNamespace[:]...)
	buf = append(buf, tenantID...)
	buf = append(buf, 0)
	buf = append(buf, chunkID...)
	sum := sha1.Sum(buf)
	var u uuid.UUID
	copy(u[:], sum[:16])
	u[6] = (u[6] & 0x0f) | 0x50 // version 5
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return u.String(), buf
}

func validateRecord(i int, r vectorstore.Record, dims int) error {
	v := &record.ValidationError{}
	if r.ID == "" {
		v.Add(fmt.Sprintf("records[%d].id", i), "is required")
	}
	if r.TenantID == "" {
		v.Add(fmt.Sprintf("records[%d].tenant_id", i), "is required")
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("qdrant: upsert: %w", err)
	}
	if len(r.Vector) != dims {
		return fmt.Errorf("qdrant: upsert: records[%d] (%s) has %d dimensions, the space has %d: %w",
			i, r.ID, len(r.Vector), dims, vectorstore.ErrDimensionMismatch)
	}
	return nil
}

func payload(r vectorstore.Record, vals *valueSlab) map[string]*qc.Value {
	p := make(map[string]*qc.Value, 7)
	p[FieldTenant] = vals.str(r.TenantID)
	p[FieldChunk] = vals.str(r.ID)
	if r.BotID != "" {
		p[FieldBot] = vals.str(r.BotID)
	}
	if r.SourceID != "" {
		p[FieldSource] = vals.str(r.SourceID)
	}
	if r.DocumentID != "" {
		p[FieldDocument] = vals.str(r.DocumentID)
	}
	return p
}

// checkUpdate rejects an update the server did not complete.
func checkUpdate(res *qc.UpdateResult) error {
	switch res.GetStatus() {
	case qc.UpdateStatus_Completed, qc.UpdateStatus_Acknowledged:
		return nil
	default:
		return fmt.Errorf("update not applied (status %s): %w", res.GetStatus(), ErrUnavailable)
	}
}

// pointFilter turns f into a Qdrant filter whose first must condition is
// always the tenant; f.Metadata, when set, is the last must condition (see
// translate), and refine is the filter the points found must still pass
// (zero when the Qdrant filter is exact). An invalid f.Metadata wraps
// record.ErrInvalidInput naming "filter".
func pointFilter(f vectorstore.Filter) (_ *qc.Filter, refine filter.Filter, _ error) {
	must := []*qc.Condition{qc.NewMatchKeyword(FieldTenant, f.TenantID)}
	if f.BotID != "" {
		must = append(must, qc.NewMatchKeyword(FieldBot, f.BotID))
	}
	if len(f.SourceIDs) > 0 {
		must = append(must, qc.NewMatchKeywords(FieldSource, f.SourceIDs...))
	}
	if len(f.DocumentIDs) > 0 {
		must = append(must, qc.NewMatchKeywords(FieldDocument, f.DocumentIDs...))
	}
	if len(f.IDs) > 0 {
		must = append(must, hasIDs(f.TenantID, f.IDs))
	}
	c, refine, err := metaFilter(f.Metadata)
	if err != nil {
		return nil, refine, err
	}
	if c != nil {
		must = append(must, c)
	}
	return &qc.Filter{Must: must}, refine, nil
}

// Delete removes every point matching f (always within f.TenantID), with
// wait=true.
func (s *Store) Delete(ctx context.Context, f vectorstore.Filter) error {
	if err := vectorstore.ValidateFilter(f); err != nil {
		return fmt.Errorf("qdrant: delete: %w", err)
	}
	coll, _, err := s.state("delete")
	if err != nil {
		return err
	}
	err = s.update(ctx, "delete", coll, f, func(sel *qc.PointsSelector) (*qc.UpdateResult, error) {
		return s.client.Delete(ctx, &qc.DeletePoints{CollectionName: coll, Wait: qc.PtrOf(true), Points: sel})
	})
	return err
}

// Search returns the q.TopK points closest to q.Vector (cosine, higher is
// closer) among those matching q.Filter, best first, dropping scores below
// q.MinScore when it is non-zero.
func (s *Store) Search(ctx context.Context, q vectorstore.Query) ([]vectorstore.Match, error) {
	if err := vectorstore.ValidateFilter(q.Filter); err != nil {
		return nil, fmt.Errorf("qdrant: search: %w", err)
	}
	if q.TopK <= 0 {
		return nil, fmt.Errorf("qdrant: search: %w", record.Invalid("top_k", "must be positive"))
	}
	coll, space, err := s.state("search")
	if err != nil {
		return nil, err
	}
	if len(q.Vector) != space.Dims {
		return nil, fmt.Errorf("qdrant: search: query vector has %d dimensions, the space has %d: %w",
			len(q.Vector), space.Dims, vectorstore.ErrDimensionMismatch)
	}
	qf, refine, err := pointFilter(q.Filter)
	if err != nil {
		return nil, fmt.Errorf("qdrant: search: %w", err)
	}
	req := &qc.QueryPoints{
		CollectionName: coll,
		Query:          qc.NewQueryDense(q.Vector),
		Filter:         qf,
		Limit:          qc.PtrOf(uint64(q.TopK)),
		WithPayload:    qc.NewWithPayloadInclude(FieldChunk),
	}
	if q.MinScore != 0 {
		req.ScoreThreshold = qc.PtrOf(q.MinScore)
	}
	if !refine.IsZero() {
		return s.searchRefined(ctx, req, q.TopK, refine)
	}
	res, err := s.client.Query(ctx, req)
	if err != nil {
		return nil, s.translate(ctx, "search", err)
	}
	out := make([]vectorstore.Match, 0, len(res))
	for _, p := range res {
		id := p.GetPayload()[FieldChunk].GetStringValue()
		if id == "" {
			return nil, fmt.Errorf("qdrant: search: point %s of collection %s has no %s payload (not written by this package?)",
				p.GetId().GetUuid(), coll, FieldChunk)
		}
		out = append(out, vectorstore.Match{ID: id, Score: p.GetScore()})
	}
	return out, nil
}

// Close marks the store closed and, when Dial built the client, closes it.
// It may be called more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.own {
		if err := s.client.Close(); err != nil {
			return fmt.Errorf("qdrant: close: %w", err)
		}
	}
	return nil
}
