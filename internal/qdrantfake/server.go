// Package qdrantfake is an in-process Qdrant gRPC server for tests and
// benchmarks. It implements, on the go-client's generated service interfaces
// (qdrant.QdrantServer, qdrant.CollectionsServer, qdrant.PointsServer), the
// subset of Qdrant that vectorstore/qdrant uses, and behaves as Qdrant does
// where that adapter depends on it:
//
//   - string point IDs must be UUIDs (any form Qdrant parses), numbers are
//     accepted too; anything else is InvalidArgument;
//   - vectors of another size than the collection's are InvalidArgument
//     ("Wrong input: Vector dimension error: expected dim: N, got M");
//   - unknown collections are NotFound, a second create is AlreadyExists;
//   - a collection created with strict mode enabled and
//     unindexed_filtering_retrieve (or _update) false rejects filters on
//     payload fields without a matching payload index;
//   - filters apply must, should (with min_should), must_not, nested filters,
//     has_id, is_empty, is_null, and field conditions: match (keyword,
//     keywords, integer, integers, boolean; except keywords unverified),
//     range and datetime_range. These follow Qdrant's documentation and its
//     condition checker, not MiniRAG's filter package: a condition looks
//     only at payload values of its own type (a keyword match at strings,
//     an integer match at integers — a double such as 3.0 is not one —, a
//     range at integers and doubles, a datetime range at strings that parse
//     as RFC 3339 or the few other forms Qdrant documents, compared to the
//     microsecond); a list value matches when one of its elements does
//     (lists inside lists are not opened); a dotted key walks objects only
//     (a list on the way ends it, as Qdrant needs "a[].b" for that);
//     is_empty holds for a missing key, null and [] (not for [null]),
//     is_null for null (not for [null]); must_not negates;
//   - strict mode requires, per condition, the index types Qdrant requires:
//     keyword (or uuid) for keyword matches, integer for integer matches,
//     bool for boolean matches, float or integer for ranges, datetime for
//     datetime ranges, any index for is_empty and is_null;
//   - SetPayload replaces the top-level keys it names (objects are not
//     merged), OverwritePayload the whole payload, DeletePayload removes
//     top-level keys; by point IDs or by filter (checked in strict mode);
//   - cosine collections normalize vectors on insert and score by dot
//     product with the normalized query, as Qdrant does (higher is closer);
//   - Query applies filter, score_threshold, offset and limit (default 10).
//
// Search is exact (brute force), so it is a reference, not a performance
// model of Qdrant. Everything is kept in memory. Methods the adapter does
// not use answer codes.Unimplemented.
//
// The server listens on 127.0.0.1 only.
package qdrantfake

import (
	"context"
	"fmt"
	"math"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Version is the Qdrant version the fake reports in its health check.
const Version = "1.17.0"

// Options configure a Server.
type Options struct {
	// APIKey, when set, is required in the "api-key" metadata of every call
	// (as Qdrant does when started with QDRANT__SERVICE__API_KEY).
	APIKey string
}

// Server is a running fake Qdrant. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	addr string
	port int
	srv  *grpc.Server
	once sync.Once

	mu          sync.Mutex
	collections map[string]*collection
	calls       []Call
	opID        uint64
}

// Call records one request the server answered (or rejected), for tests
// that check what a client sent.
type Call struct {
	// Method is the RPC name, such as "Upsert", "Delete", "Query".
	Method     string
	Collection string
	// Points is the number of points in an Upsert.
	Points int
	// Wait is the request's wait flag (Upsert, Delete, CreateFieldIndex).
	Wait bool
	// Filter is the request's filter (Query, Delete by filter, Count),
	// cloned, or nil.
	Filter *qdrant.Filter
	// Limit is a Query's limit (0 when unset).
	Limit uint64
	// ScoreThreshold is a Query's score_threshold, or nil.
	ScoreThreshold *float32
	// WithPayload is a Query's payload selector, cloned, or nil.
	WithPayload *qdrant.WithPayloadSelector
	// Err is the gRPC code returned (codes.OK on success).
	Err codes.Code
}

type collection struct {
	name     string
	size     int
	distance qdrant.Distance
	strict   *qdrant.StrictModeConfig
	indexes  map[string]*qdrant.PayloadSchemaInfo
	points   map[string]*point
}

type point struct {
	key     string
	id      *qdrant.PointId
	vector  []float32
	payload map[string]*qdrant.Value
}

// Start starts a fake Qdrant on a loopback port and stops it when the test
// (or benchmark) ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := Listen(opts)
	if err != nil {
		tb.Fatalf("qdrantfake: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Listen starts a fake Qdrant on a loopback port. The caller must Stop it.
func Listen(opts Options) (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{
		opts:        opts,
		addr:        lis.Addr().String(),
		port:        lis.Addr().(*net.TCPAddr).Port,
		collections: map[string]*collection{},
	}
	s.srv = grpc.NewServer(grpc.UnaryInterceptor(s.intercept))
	qdrant.RegisterQdrantServer(s.srv, healthService{})
	qdrant.RegisterCollectionsServer(s.srv, collectionsService{s: s})
	qdrant.RegisterPointsServer(s.srv, pointsService{s: s})
	go func() { _ = s.srv.Serve(lis) }()
	return s, nil
}

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Host is "127.0.0.1".
func (s *Server) Host() string { return "127.0.0.1" }

// Port is the server's port.
func (s *Server) Port() int { return s.port }

// Stop stops the server at once, closing open connections. It may be
// called more than once.
func (s *Server) Stop() { s.once.Do(s.srv.Stop) }

// Client returns a go-client connected to the server (no compatibility
// check, a single connection, the server's API key if any). It is closed
// when the test ends.
func (s *Server) Client(tb testing.TB) *qdrant.Client {
	tb.Helper()
	c, err := qdrant.NewClient(&qdrant.Config{
		Host: s.Host(), Port: s.Port(), APIKey: s.opts.APIKey,
		SkipCompatibilityCheck: true, PoolSize: 1, KeepAliveTime: -1,
	})
	if err != nil {
		tb.Fatalf("qdrantfake: client: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Calls returns the requests answered so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the requests of one method answered so far, in order.
func (s *Server) CallsTo(method string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets the recorded calls.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

// CollectionNames lists the collections, sorted.
func (s *Server) CollectionNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.collections))
	for n := range s.collections {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Point is a stored point as the fake holds it (the vector is normalized in
// a cosine collection).
type Point struct {
	ID      *qdrant.PointId
	Vector  []float32
	Payload map[string]*qdrant.Value
}

// Points returns copies of the points of a collection, sorted by ID, and
// whether the collection exists.
func (s *Server) Points(collectionName string) ([]Point, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.collections[collectionName]
	if !ok {
		return nil, false
	}
	out := make([]Point, 0, len(c.points))
	for _, p := range c.sortedPoints() {
		out = append(out, Point{
			ID:      proto.Clone(p.id).(*qdrant.PointId),
			Vector:  append([]float32(nil), p.vector...),
			Payload: clonePayload(p.payload),
		})
	}
	return out, true
}

func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if s.opts.APIKey != "" {
		md, _ := metadata.FromIncomingContext(ctx)
		keys := md.Get("api-key")
		if len(keys) == 0 {
			return nil, status.Error(codes.Unauthenticated, "Must provide an API key or an Authorization bearer token")
		}
		if keys[0] != s.opts.APIKey {
			return nil, status.Error(codes.PermissionDenied, "Invalid API key or JWT")
		}
	}
	return handler(ctx, req)
}

func (s *Server) record(c Call, err error) {
	c.Err = status.Code(err)
	s.calls = append(s.calls, c)
}

func notFound(name string) error {
	return status.Errorf(codes.NotFound, "Not found: Collection `%s` doesn't exist!", name)
}

func (s *Server) get(name string) (*collection, error) {
	c, ok := s.collections[name]
	if !ok {
		return nil, notFound(name)
	}
	return c, nil
}

// HealthCheck implements qdrant.QdrantServer.
func (healthService) HealthCheck(context.Context, *qdrant.HealthCheckRequest) (*qdrant.HealthCheckReply, error) {
	return &qdrant.HealthCheckReply{Title: "qdrant - vector search engine (qdrantfake)", Version: Version}, nil
}

func (s *Server) createCollection(_ context.Context, req *qdrant.CreateCollection) (_ *qdrant.CollectionOperationResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.record(Call{Method: "Create", Collection: req.GetCollectionName()}, err) }()
	name := req.GetCollectionName()
	if err := validName(name); err != nil {
		return nil, err
	}
	if _, ok := s.collections[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Wrong input: Collection `%s` already exists!", name)
	}
	params := req.GetVectorsConfig().GetParams()
	if params == nil {
		if req.GetVectorsConfig().GetParamsMap() != nil {
			return nil, status.Error(codes.Unimplemented, "qdrantfake: named vectors are not implemented")
		}
		return nil, status.Error(codes.InvalidArgument, "Wrong input: vectors config is required")
	}
	if params.GetSize() < 1 || params.GetSize() > 65536 {
		return nil, status.Errorf(codes.InvalidArgument, "Validation error in body: [vectors_config.size: value %d invalid, must be from 1 to 65536]", params.GetSize())
	}
	switch params.GetDistance() {
	case qdrant.Distance_Cosine, qdrant.Distance_Dot, qdrant.Distance_Euclid, qdrant.Distance_Manhattan:
	default:
		return nil, status.Error(codes.InvalidArgument, "Wrong input: unknown distance")
	}
	c := &collection{
		name:     name,
		size:     int(params.GetSize()),
		distance: params.GetDistance(),
		indexes:  map[string]*qdrant.PayloadSchemaInfo{},
		points:   map[string]*point{},
	}
	if req.StrictModeConfig != nil {
		c.strict = proto.Clone(req.StrictModeConfig).(*qdrant.StrictModeConfig)
	}
	s.collections[name] = c
	return &qdrant.CollectionOperationResponse{Result: true}, nil
}

func validName(name string) error {
	if name == "" || len(name) > 255 {
		return status.Errorf(codes.InvalidArgument, "Validation error in path parameters: [name: length must be between 1 and 255]")
	}
	if strings.ContainsAny(name, "<>:\"/\\|?*\x00") {
		return status.Errorf(codes.InvalidArgument, "Validation error in path parameters: [name: collection name cannot contain \"<>:\\\"/\\\\|?*\\0\" char]")
	}
	return nil
}

func (s *Server) getCollection(_ context.Context, req *qdrant.GetCollectionInfoRequest) (_ *qdrant.GetCollectionInfoResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.record(Call{Method: "Get", Collection: req.GetCollectionName()}, err) }()
	c, err := s.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	schema := map[string]*qdrant.PayloadSchemaInfo{}
	for k, v := range c.indexes {
		schema[k] = proto.Clone(v).(*qdrant.PayloadSchemaInfo)
	}
	n := uint64(len(c.points))
	info := &qdrant.CollectionInfo{
		Status:        qdrant.CollectionStatus_Green,
		SegmentsCount: 1,
		PointsCount:   &n,
		PayloadSchema: schema,
		Config: &qdrant.CollectionConfig{
			Params: &qdrant.CollectionParams{
				ShardNumber: 1,
				VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{
					Size: uint64(c.size), Distance: c.distance,
				}),
			},
		},
	}
	if c.strict != nil {
		info.Config.StrictModeConfig = proto.Clone(c.strict).(*qdrant.StrictModeConfig)
	}
	return &qdrant.GetCollectionInfoResponse{Result: info}, nil
}

func (s *Server) listCollections(context.Context, *qdrant.ListCollectionsRequest) (*qdrant.ListCollectionsResponse, error) {
	var out []*qdrant.CollectionDescription
	for _, n := range s.CollectionNames() {
		out = append(out, &qdrant.CollectionDescription{Name: n})
	}
	return &qdrant.ListCollectionsResponse{Collections: out}, nil
}

func (s *Server) collectionExists(_ context.Context, req *qdrant.CollectionExistsRequest) (*qdrant.CollectionExistsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.collections[req.GetCollectionName()]
	s.record(Call{Method: "CollectionExists", Collection: req.GetCollectionName()}, nil)
	return &qdrant.CollectionExistsResponse{Result: &qdrant.CollectionExists{Exists: ok}}, nil
}

// deleteCollection drops a collection. Like Qdrant, dropping a missing
// collection answers false, not an error.
func (s *Server) deleteCollection(_ context.Context, req *qdrant.DeleteCollection) (*qdrant.CollectionOperationResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.collections[req.GetCollectionName()]
	delete(s.collections, req.GetCollectionName())
	s.record(Call{Method: "DeleteCollection", Collection: req.GetCollectionName()}, nil)
	return &qdrant.CollectionOperationResponse{Result: ok}, nil
}

func (s *Server) createFieldIndex(_ context.Context, req *qdrant.CreateFieldIndexCollection) (_ *qdrant.PointsOperationResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		s.record(Call{Method: "CreateFieldIndex", Collection: req.GetCollectionName(), Wait: req.GetWait()}, err)
	}()
	c, err := s.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.GetFieldName() == "" {
		return nil, status.Error(codes.InvalidArgument, "Validation error in body: [field_name: must not be empty]")
	}
	if req.FieldType == nil {
		return nil, status.Error(codes.InvalidArgument, "Wrong input: field_type is required")
	}
	var dt qdrant.PayloadSchemaType
	switch req.GetFieldType() {
	case qdrant.FieldType_FieldTypeKeyword:
		dt = qdrant.PayloadSchemaType_Keyword
	case qdrant.FieldType_FieldTypeInteger:
		dt = qdrant.PayloadSchemaType_Integer
	case qdrant.FieldType_FieldTypeFloat:
		dt = qdrant.PayloadSchemaType_Float
	case qdrant.FieldType_FieldTypeBool:
		dt = qdrant.PayloadSchemaType_Bool
	case qdrant.FieldType_FieldTypeUuid:
		dt = qdrant.PayloadSchemaType_Uuid
	case qdrant.FieldType_FieldTypeDatetime:
		dt = qdrant.PayloadSchemaType_Datetime
	default:
		return nil, status.Errorf(codes.Unimplemented, "qdrantfake: index type %v is not implemented", req.GetFieldType())
	}
	info := &qdrant.PayloadSchemaInfo{DataType: dt}
	if p := req.GetFieldIndexParams(); p != nil {
		if kp := p.GetKeywordIndexParams(); kp != nil && dt != qdrant.PayloadSchemaType_Keyword {
			return nil, status.Error(codes.InvalidArgument, "Wrong input: keyword index params given for a non-keyword field type")
		}
		info.Params = proto.Clone(p).(*qdrant.PayloadIndexParams)
	}
	c.indexes[req.GetFieldName()] = info
	return s.updated(req.GetWait()), nil
}

func (s *Server) updated(wait bool) *qdrant.PointsOperationResponse {
	s.opID++
	st := qdrant.UpdateStatus_Acknowledged
	if wait {
		st = qdrant.UpdateStatus_Completed
	}
	id := s.opID
	return &qdrant.PointsOperationResponse{Result: &qdrant.UpdateResult{OperationId: &id, Status: st}}
}

// pointKey parses a point ID as Qdrant does and returns a canonical key.
func pointKey(id *qdrant.PointId) (string, *qdrant.PointId, error) {
	switch v := id.GetPointIdOptions().(type) {
	case *qdrant.PointId_Num:
		return fmt.Sprintf("n:%020d", v.Num), qdrant.NewIDNum(v.Num), nil
	case *qdrant.PointId_Uuid:
		u, err := uuid.Parse(v.Uuid)
		if err != nil {
			return "", nil, status.Errorf(codes.InvalidArgument, "Unable to parse UUID: %s", v.Uuid)
		}
		return "u:" + u.String(), qdrant.NewIDUUID(u.String()), nil
	default:
		return "", nil, status.Error(codes.InvalidArgument, "Malformed PointId type")
	}
}

func denseOf(v *qdrant.Vectors) ([]float32, error) {
	switch o := v.GetVectorsOptions().(type) {
	case *qdrant.Vectors_Vector:
		return denseVector(o.Vector)
	case *qdrant.Vectors_Vectors:
		named := o.Vectors.GetVectors()
		for name := range named {
			if name != "" {
				return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Not existing vector name error: %s", name)
			}
		}
		if vv, ok := named[""]; ok {
			return denseVector(vv)
		}
	}
	return nil, status.Error(codes.InvalidArgument, "Wrong input: point has no vector")
}

func denseVector(v *qdrant.Vector) ([]float32, error) {
	if d := v.GetDense(); d != nil {
		return d.GetData(), nil
	}
	if v.GetSparse() != nil || v.GetMultiDense() != nil || v.Indices != nil {
		return nil, status.Error(codes.InvalidArgument, "Wrong input: Conversion between sparse and regular vectors failed")
	}
	//nolint:staticcheck // the deprecated Data field is what older clients send
	if data := v.GetData(); len(data) > 0 {
		return data, nil
	}
	return nil, status.Error(codes.InvalidArgument, "Wrong input: point has no vector")
}

func (c *collection) checkDim(v []float32) error {
	if len(v) != c.size {
		return status.Errorf(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: %d, got %d", c.size, len(v))
	}
	return nil
}

// preprocess normalizes a vector for a cosine collection, as Qdrant does on
// insert and on query; a zero vector is left as it is.
func (c *collection) preprocess(v []float32) []float32 {
	out := append([]float32(nil), v...)
	if c.distance != qdrant.Distance_Cosine {
		return out
	}
	var sum float64
	for _, x := range out {
		sum += float64(x) * float64(x)
	}
	n := math.Sqrt(sum)
	if n < 1e-30 {
		return out
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / n)
	}
	return out
}

// score returns Qdrant's score of stored vector p for preprocessed query q:
// dot product for Cosine and Dot, the distance for Euclid and Manhattan
// (where lower is closer).
func (c *collection) score(p, q []float32) float32 {
	var s float64
	switch c.distance {
	case qdrant.Distance_Euclid:
		for i := range p {
			d := float64(p[i]) - float64(q[i])
			s += d * d
		}
		return float32(math.Sqrt(s))
	case qdrant.Distance_Manhattan:
		for i := range p {
			s += math.Abs(float64(p[i]) - float64(q[i]))
		}
		return float32(s)
	default:
		for i := range p {
			s += float64(p[i]) * float64(q[i])
		}
		return float32(s)
	}
}

func (c *collection) higherIsBetter() bool {
	return c.distance == qdrant.Distance_Cosine || c.distance == qdrant.Distance_Dot
}

func (c *collection) sortedPoints() []*point {
	out := make([]*point, 0, len(c.points))
	for _, p := range c.points {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// upsert stores points. The whole request is validated before any point is
// stored.
func (s *Server) upsert(_ context.Context, req *qdrant.UpsertPoints) (_ *qdrant.PointsOperationResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		s.record(Call{Method: "Upsert", Collection: req.GetCollectionName(), Points: len(req.GetPoints()), Wait: req.GetWait()}, err)
	}()
	c, err := s.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.UpdateFilter != nil || req.UpdateMode != nil {
		return nil, status.Error(codes.Unimplemented, "qdrantfake: conditional upserts are not implemented")
	}
	staged := make([]*point, 0, len(req.GetPoints()))
	for _, ps := range req.GetPoints() {
		key, id, err := pointKey(ps.GetId())
		if err != nil {
			return nil, err
		}
		vec, err := denseOf(ps.GetVectors())
		if err != nil {
			return nil, err
		}
		if err := c.checkDim(vec); err != nil {
			return nil, err
		}
		staged = append(staged, &point{key: key, id: id, vector: c.preprocess(vec), payload: clonePayload(ps.GetPayload())})
	}
	for _, p := range staged {
		c.points[p.key] = p
	}
	return s.updated(req.GetWait()), nil
}

func (s *Server) deletePoints(_ context.Context, req *qdrant.DeletePoints) (_ *qdrant.PointsOperationResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: "Delete", Collection: req.GetCollectionName(), Wait: req.GetWait()}
	if f := req.GetPoints().GetFilter(); f != nil {
		call.Filter = proto.Clone(f).(*qdrant.Filter)
	}
	defer func() { s.record(call, err) }()
	c, err := s.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	switch sel := req.GetPoints().GetPointsSelectorOneOf().(type) {
	case *qdrant.PointsSelector_Points:
		for _, id := range sel.Points.GetIds() {
			key, _, err := pointKey(id)
			if err != nil {
				return nil, err
			}
			delete(c.points, key)
		}
	case *qdrant.PointsSelector_Filter:
		if err := c.checkStrict(sel.Filter, false); err != nil {
			return nil, err
		}
		var doomed []string
		for key, p := range c.points {
			ok, err := matchFilter(sel.Filter, p)
			if err != nil {
				return nil, err
			}
			if ok {
				doomed = append(doomed, key)
			}
		}
		for _, k := range doomed {
			delete(c.points, k)
		}
	default:
		return nil, status.Error(codes.InvalidArgument, "Wrong input: points selector is required")
	}
	return s.updated(req.GetWait()), nil
}

func (s *Server) getPoints(_ context.Context, req *qdrant.GetPoints) (_ *qdrant.GetResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.record(Call{Method: "GetPoints", Collection: req.GetCollectionName()}, err) }()
	c, err := s.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	var out []*qdrant.RetrievedPoint
	for _, id := range req.GetIds() {
		key, _, err := pointKey(id)
		if err != nil {
			return nil, err
		}
		p, ok := c.points[key]
		if !ok {
			continue
		}
		rp := &qdrant.RetrievedPoint{Id: proto.Clone(p.id).(*qdrant.PointId), Payload: selectPayload(req.GetWithPayload(), p.payload, true)}
		if req.GetWithVectors().GetEnable() {
			rp.Vectors = &qdrant.VectorsOutput{VectorsOptions: &qdrant.VectorsOutput_Vector{Vector: &qdrant.VectorOutput{Vector: &qdrant.VectorOutput_Dense{Dense: &qdrant.DenseVector{Data: append([]float32(nil), p.vector...)}}}}}
		}
		out = append(out, rp)
	}
	return &qdrant.GetResponse{Result: out}, nil
}

func (s *Server) count(_ context.Context, req *qdrant.CountPoints) (_ *qdrant.CountResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: "Count", Collection: req.GetCollectionName()}
	if req.Filter != nil {
		call.Filter = proto.Clone(req.Filter).(*qdrant.Filter)
	}
	defer func() { s.record(call, err) }()
	c, err := s.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if err := c.checkStrict(req.GetFilter(), true); err != nil {
		return nil, err
	}
	var n uint64
	for _, p := range c.points {
		ok, err := matchFilter(req.GetFilter(), p)
		if err != nil {
			return nil, err
		}
		if ok {
			n++
		}
	}
	return &qdrant.CountResponse{Result: &qdrant.CountResult{Count: n}}, nil
}

// query answers a nearest-neighbour query on the default dense vector, with
// filter, score_threshold, offset and limit.
func (s *Server) query(_ context.Context, req *qdrant.QueryPoints) (_ *qdrant.QueryResponse, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: "Query", Collection: req.GetCollectionName(), Limit: req.GetLimit(), ScoreThreshold: req.ScoreThreshold}
	if req.Filter != nil {
		call.Filter = proto.Clone(req.Filter).(*qdrant.Filter)
	}
	if req.WithPayload != nil {
		call.WithPayload = proto.Clone(req.WithPayload).(*qdrant.WithPayloadSelector)
	}
	defer func() { s.record(call, err) }()
	c, err := s.get(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if len(req.GetPrefetch()) > 0 || req.LookupFrom != nil || req.ShardKeySelector != nil {
		return nil, status.Error(codes.Unimplemented, "qdrantfake: prefetch, lookup_from and shard keys are not implemented")
	}
	if req.GetUsing() != "" {
		return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Not existing vector name error: %s", req.GetUsing())
	}
	nearest := req.GetQuery().GetNearest()
	if nearest == nil {
		return nil, status.Error(codes.Unimplemented, "qdrantfake: only nearest queries are implemented")
	}
	var q []float32
	switch {
	case nearest.GetDense() != nil:
		q = nearest.GetDense().GetData()
	case nearest.GetId() != nil:
		key, _, err := pointKey(nearest.GetId())
		if err != nil {
			return nil, err
		}
		p, ok := c.points[key]
		if !ok {
			return nil, status.Errorf(codes.NotFound, "Not found: No point with id %s found", key[2:])
		}
		q = p.vector
	default:
		return nil, status.Error(codes.Unimplemented, "qdrantfake: only dense and point-ID nearest queries are implemented")
	}
	if err := c.checkDim(q); err != nil {
		return nil, err
	}
	if err := c.checkStrict(req.GetFilter(), true); err != nil {
		return nil, err
	}
	q = c.preprocess(q)
	type hit struct {
		p     *point
		score float32
	}
	var hits []hit
	for _, p := range c.points {
		ok, err := matchFilter(req.GetFilter(), p)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		sc := c.score(p.vector, q)
		if req.ScoreThreshold != nil {
			th := req.GetScoreThreshold()
			if c.higherIsBetter() && sc < th || !c.higherIsBetter() && sc > th {
				continue
			}
		}
		hits = append(hits, hit{p, sc})
	}
	better := c.higherIsBetter()
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			if better {
				return hits[i].score > hits[j].score
			}
			return hits[i].score < hits[j].score
		}
		return hits[i].p.key < hits[j].p.key
	})
	limit := uint64(10)
	if req.Limit != nil {
		limit = req.GetLimit()
	}
	off := req.GetOffset()
	if off > uint64(len(hits)) {
		off = uint64(len(hits))
	}
	hits = hits[off:]
	if uint64(len(hits)) > limit {
		hits = hits[:limit]
	}
	out := make([]*qdrant.ScoredPoint, 0, len(hits))
	for _, h := range hits {
		sp := &qdrant.ScoredPoint{
			Id:      proto.Clone(h.p.id).(*qdrant.PointId),
			Score:   h.score,
			Payload: selectPayload(req.GetWithPayload(), h.p.payload, false),
		}
		if req.GetWithVectors().GetEnable() {
			sp.Vectors = &qdrant.VectorsOutput{VectorsOptions: &qdrant.VectorsOutput_Vector{Vector: &qdrant.VectorOutput{Vector: &qdrant.VectorOutput_Dense{Dense: &qdrant.DenseVector{Data: append([]float32(nil), h.p.vector...)}}}}}
		}
		out = append(out, sp)
	}
	return &qdrant.QueryResponse{Result: out}, nil
}

// selectPayload applies a with_payload selector. When sel is nil, the
// payload is returned if byDefault.
func selectPayload(sel *qdrant.WithPayloadSelector, payload map[string]*qdrant.Value, byDefault bool) map[string]*qdrant.Value {
	if sel == nil {
		if byDefault {
			return clonePayload(payload)
		}
		return nil
	}
	switch o := sel.GetSelectorOptions().(type) {
	case *qdrant.WithPayloadSelector_Enable:
		if o.Enable {
			return clonePayload(payload)
		}
		return nil
	case *qdrant.WithPayloadSelector_Include:
		out := map[string]*qdrant.Value{}
		for _, f := range o.Include.GetFields() {
			if v, ok := payload[f]; ok {
				out[f] = proto.Clone(v).(*qdrant.Value)
			}
		}
		return out
	case *qdrant.WithPayloadSelector_Exclude:
		out := clonePayload(payload)
		for _, f := range o.Exclude.GetFields() {
			delete(out, f)
		}
		return out
	}
	return nil
}

func clonePayload(p map[string]*qdrant.Value) map[string]*qdrant.Value {
	out := make(map[string]*qdrant.Value, len(p))
	for k, v := range p {
		out[k] = proto.Clone(v).(*qdrant.Value)
	}
	return out
}
