package qdrant_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	qc "github.com/qdrant/go-client/qdrant"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/internal/qdrantfake"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/qdrant"
)

var space = vectorstore.Space{Model: "test-model", Dims: 4}

func newStore(t *testing.T, srv *qdrantfake.Server, opts qdrant.Options) *qdrant.Store {
	t.Helper()
	s, err := qdrant.New(srv.Client(t), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func initStore(t *testing.T, srv *qdrantfake.Server, opts qdrant.Options) *qdrant.Store {
	t.Helper()
	s := newStore(t, srv, opts)
	require.NoError(t, s.Init(t.Context(), space))
	return s
}

func rec(id, tenant string, v ...float32) vectorstore.Record {
	return vectorstore.Record{ID: id, TenantID: tenant, Vector: v}
}

func TestPointID(t *testing.T) {
	a := qdrant.PointID("t1", "chunk-1")
	assert.Equal(t, a, qdrant.PointID("t1", "chunk-1"), "deterministic")
	assert.NotEqual(t, a, qdrant.PointID("t2", "chunk-1"), "the tenant is part of the name")
	assert.NotEqual(t, a, qdrant.PointID("t1", "chunk-2"))
	// No ambiguity between where the tenant ends and the chunk ID starts.
	assert.NotEqual(t, qdrant.PointID("ab", "c"), qdrant.PointID("a", "bc"))
	u, err := uuid.Parse(a)
	require.NoError(t, err)
	assert.Equal(t, uuid.Version(5), u.Version())
	assert.Equal(t, uuid.RFC4122, u.Variant())
}

func TestCollectionName(t *testing.T) {
	assert.Equal(t, "minirag_text-embedding-3-small", qdrant.CollectionName("", vectorstore.Space{Model: "text-embedding-3-small", Dims: 1536}))
	assert.Equal(t, "app_Hashing_v1", qdrant.CollectionName("app_", vectorstore.Space{Model: "Hashing_v1", Dims: 8}))
	// The dimensions are configuration, not name.
	assert.Equal(t, qdrant.CollectionName("", vectorstore.Space{Model: "m", Dims: 4}), qdrant.CollectionName("", vectorstore.Space{Model: "m", Dims: 8}))

	a := qdrant.CollectionName("", vectorstore.Space{Model: "nomic-embed-text:v1.5", Dims: 768})
	b := qdrant.CollectionName("", vectorstore.Space{Model: "nomic-embed-text/v1_5", Dims: 768})
	assert.True(t, strings.HasPrefix(a, "minirag_nomic-embed-text_v1_5-"), a)
	assert.NotEqual(t, a, b, "models that sanitize alike keep distinct names")
	for _, n := range []string{a, b} {
		assert.NotContains(t, n, ":")
		assert.NotContains(t, n, "/")
	}
	long := qdrant.CollectionName("", vectorstore.Space{Model: strings.Repeat("x", 1000), Dims: 4})
	assert.LessOrEqual(t, len(long), 255)
}

func TestInitCreatesCollectionAndIndexes(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{})
	name := "minirag_test-model"
	assert.Equal(t, name, s.Collection())

	info, err := srv.Client(t).GetCollectionInfo(t.Context(), name)
	require.NoError(t, err)
	params := info.GetConfig().GetParams().GetVectorsConfig().GetParams()
	assert.Equal(t, uint64(4), params.GetSize())
	assert.Equal(t, qc.Distance_Cosine, params.GetDistance())
	strict := info.GetConfig().GetStrictModeConfig()
	assert.True(t, strict.GetEnabled())
	assert.False(t, strict.GetUnindexedFilteringRetrieve())
	assert.False(t, strict.GetUnindexedFilteringUpdate())

	schema := info.GetPayloadSchema()
	for _, f := range []string{qdrant.FieldTenant, qdrant.FieldBot, qdrant.FieldSource, qdrant.FieldDocument, qdrant.FieldChunk, qdrant.FieldMetaStrings} {
		require.Contains(t, schema, f)
		assert.Equal(t, qc.PayloadSchemaType_Keyword, schema[f].GetDataType(), f)
		assert.Equal(t, f == qdrant.FieldTenant, schema[f].GetParams().GetKeywordIndexParams().GetIsTenant(), "is_tenant of %s", f)
	}
	for _, c := range srv.CallsTo("CreateFieldIndex") {
		assert.True(t, c.Wait, "indexes are created with wait=true")
	}

	// A second Init finds everything in place and creates nothing.
	srv.ResetCalls()
	require.NoError(t, s.Init(t.Context(), space))
	assert.Empty(t, srv.CallsTo("Create"))
	assert.Empty(t, srv.CallsTo("CreateFieldIndex"))
}

func TestInitNoStrictMode(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{NoStrictMode: true, Collection: "explicit"})
	assert.Equal(t, "explicit", s.Collection())
	info, err := srv.Client(t).GetCollectionInfo(t.Context(), "explicit")
	require.NoError(t, err)
	assert.Nil(t, info.GetConfig().StrictModeConfig)
}

func createRaw(t *testing.T, client *qc.Client, name string, size uint64, d qc.Distance) {
	t.Helper()
	require.NoError(t, client.CreateCollection(t.Context(), &qc.CreateCollection{
		CollectionName: name,
		VectorsConfig:  qc.NewVectorsConfig(&qc.VectorParams{Size: size, Distance: d}),
	}))
}

func TestInitChecksExistingCollection(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	client := srv.Client(t)

	createRaw(t, client, "minirag_dot", 4, qc.Distance_Dot)
	err := newStore(t, srv, qdrant.Options{}).Init(t.Context(), vectorstore.Space{Model: "dot", Dims: 4})
	require.ErrorIs(t, err, qdrant.ErrDistanceMismatch)
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "minirag_dot")
	assert.Contains(t, err.Error(), "Dot")

	createRaw(t, client, "minirag_small", 8, qc.Distance_Cosine)
	err = newStore(t, srv, qdrant.Options{}).Init(t.Context(), vectorstore.Space{Model: "small", Dims: 4})
	require.ErrorIs(t, err, vectorstore.ErrDimensionMismatch)
	assert.Contains(t, err.Error(), "8 dimensions")

	// A collection made by someone else, without payload indexes: Init adds
	// them (is_tenant on the tenant field).
	createRaw(t, client, "minirag_bare", 4, qc.Distance_Cosine)
	s := newStore(t, srv, qdrant.Options{})
	require.NoError(t, s.Init(t.Context(), vectorstore.Space{Model: "bare", Dims: 4}))
	info, err := client.GetCollectionInfo(t.Context(), "minirag_bare")
	require.NoError(t, err)
	assert.Len(t, info.GetPayloadSchema(), 6, "the five ID fields and meta_strings")
	assert.True(t, info.GetPayloadSchema()[qdrant.FieldTenant].GetParams().GetKeywordIndexParams().GetIsTenant())

	// A tenant field indexed with the wrong type cannot be used.
	createRaw(t, client, "minirag_intidx", 4, qc.Distance_Cosine)
	_, err = client.CreateFieldIndex(t.Context(), &qc.CreateFieldIndexCollection{
		CollectionName: "minirag_intidx", FieldName: qdrant.FieldTenant, FieldType: qc.FieldType_FieldTypeInteger.Enum(),
	})
	require.NoError(t, err)
	err = newStore(t, srv, qdrant.Options{}).Init(t.Context(), vectorstore.Space{Model: "intidx", Dims: 4})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), qdrant.FieldTenant)
}

func TestUpsertWritesIDsAndPayload(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{})
	r := vectorstore.Record{ID: "chunk-1", TenantID: "t1", BotID: "b1", SourceID: "s1", DocumentID: "d1", Vector: []float32{3, 4, 0, 0}}
	require.NoError(t, s.Upsert(t.Context(), []vectorstore.Record{r, rec("chunk-1", "t2", 0, 0, 1, 0)}))

	pts, ok := srv.Points(s.Collection())
	require.True(t, ok)
	require.Len(t, pts, 2, "the same chunk ID in two tenants is two points")
	byID := map[string]qdrantfake.Point{}
	for _, p := range pts {
		byID[p.ID.GetUuid()] = p
	}
	p, ok := byID[qdrant.PointID("t1", "chunk-1")]
	require.True(t, ok, "point ID is PointID(tenant, chunk)")
	assert.Equal(t, "chunk-1", p.Payload[qdrant.FieldChunk].GetStringValue())
	assert.Equal(t, "t1", p.Payload[qdrant.FieldTenant].GetStringValue())
	assert.Equal(t, "b1", p.Payload[qdrant.FieldBot].GetStringValue())
	assert.Equal(t, "s1", p.Payload[qdrant.FieldSource].GetStringValue())
	assert.Equal(t, "d1", p.Payload[qdrant.FieldDocument].GetStringValue())
	assert.InDeltaSlice(t, []float32{0.6, 0.8, 0, 0}, p.Vector, 1e-6, "Qdrant normalizes cosine vectors")

	p2 := byID[qdrant.PointID("t2", "chunk-1")]
	assert.NotContains(t, p2.Payload, qdrant.FieldBot, "empty IDs are not written")
}

func TestUpsertBatches(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{BatchSize: 3})
	var recs []vectorstore.Record
	for i := range 10 {
		recs = append(recs, rec(fmt.Sprintf("c%d", i), "t1", 1, float32(i), 0, 0))
	}
	// Two duplicates: the last of an ID wins and counts once.
	recs = append(recs, rec("c0", "t1", 0, 0, 0, 1), rec("c1", "t1", 0, 0, 1, 0))
	srv.ResetCalls()
	require.NoError(t, s.Upsert(t.Context(), recs))

	var sizes []int
	for _, c := range srv.CallsTo("Upsert") {
		sizes = append(sizes, c.Points)
		assert.True(t, c.Wait, "every batch waits")
	}
	assert.Equal(t, []int{3, 3, 3, 1}, sizes)
	pts, _ := srv.Points(s.Collection())
	assert.Len(t, pts, 10)
	got, err := s.Search(t.Context(), vectorstore.Query{Vector: []float32{0, 0, 0, 1}, TopK: 1, Filter: vectorstore.Filter{TenantID: "t1"}})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "c0", got[0].ID)
	assert.InDelta(t, 1, got[0].Score, 1e-6)
}

func TestUpsertValidatesBeforeSending(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{BatchSize: 2})
	good := []vectorstore.Record{rec("a", "t1", 1, 0, 0, 0), rec("b", "t1", 1, 0, 0, 0), rec("c", "t1", 1, 0, 0, 0)}
	srv.ResetCalls()

	err := s.Upsert(t.Context(), append(good, rec("d", "", 1, 0, 0, 0)))
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "records[3].tenant_id")

	err = s.Upsert(t.Context(), append(good, rec("", "t1", 1, 0, 0, 0)))
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "records[3].id")

	err = s.Upsert(t.Context(), append(good, rec("e", "t1", 1, 0, 0)))
	require.ErrorIs(t, err, vectorstore.ErrDimensionMismatch)
	assert.Contains(t, err.Error(), "records[3]")

	assert.Empty(t, srv.CallsTo("Upsert"), "nothing is sent when a record is bad")
}

func TestRequestsCarryTheTenant(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{})
	srv.ResetCalls()
	f := vectorstore.Filter{TenantID: "t1", BotID: "b1", SourceIDs: []string{"s1", "s2"}, DocumentIDs: []string{"d1"}}
	_, err := s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 7, Filter: f})
	require.NoError(t, err)
	_, err = s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 2, Filter: f, MinScore: 0.25})
	require.NoError(t, err)
	require.NoError(t, s.Delete(t.Context(), f))

	queries := srv.CallsTo("Query")
	require.Len(t, queries, 2)
	assert.Equal(t, uint64(7), queries[0].Limit)
	assert.Nil(t, queries[0].ScoreThreshold, "no threshold when MinScore is 0")
	require.NotNil(t, queries[1].ScoreThreshold)
	assert.InDelta(t, 0.25, *queries[1].ScoreThreshold, 1e-9)
	assert.Equal(t, []string{qdrant.FieldChunk}, queries[0].WithPayload.GetInclude().GetFields(), "only chunk_id comes back")

	deletes := srv.CallsTo("Delete")
	require.Len(t, deletes, 1)
	assert.True(t, deletes[0].Wait)
	for _, flt := range []*qc.Filter{queries[0].Filter, queries[1].Filter, deletes[0].Filter} {
		require.NotNil(t, flt)
		assert.Empty(t, flt.GetShould())
		assert.Empty(t, flt.GetMustNot())
		must := flt.GetMust()
		require.Len(t, must, 4)
		assert.Equal(t, qdrant.FieldTenant, must[0].GetField().GetKey())
		assert.Equal(t, "t1", must[0].GetField().GetMatch().GetKeyword())
		assert.Equal(t, "b1", must[1].GetField().GetMatch().GetKeyword())
		assert.Equal(t, []string{"s1", "s2"}, must[2].GetField().GetMatch().GetKeywords().GetStrings())
		assert.Equal(t, []string{"d1"}, must[3].GetField().GetMatch().GetKeywords().GetStrings())
	}
}

func TestEmptyTenantSendsNothing(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{})
	srv.ResetCalls()
	_, err := s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 1})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	require.ErrorIs(t, s.Delete(t.Context(), vectorstore.Filter{BotID: "b1"}), record.ErrInvalidInput)
	assert.Empty(t, srv.Calls())
}

// freeAddr returns a loopback port nothing listens on.
func freeAddr(t *testing.T) (string, int) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := lis.Addr().(*net.TCPAddr).Port
	require.NoError(t, lis.Close())
	return "127.0.0.1", port
}

func TestUnreachableServerNamesTheAddress(t *testing.T) {
	host, port := freeAddr(t)
	s, err := qdrant.Dial(t.Context(), qdrant.Config{Host: host, Port: port})
	require.NoError(t, err, "Dial does no I/O")
	defer s.Close()
	err = s.Init(t.Context(), space)
	t.Log(err)
	require.ErrorIs(t, err, qdrant.ErrUnavailable)
	assert.Contains(t, err.Error(), host+":"+strconv.Itoa(port))
	assert.True(t, strings.HasPrefix(err.Error(), "qdrant: "), err.Error())
}

func TestStoppedServer(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{})
	require.NoError(t, s.Upsert(t.Context(), []vectorstore.Record{rec("a", "t1", 1, 0, 0, 0)}))
	srv.Stop()
	_, err := s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 1, Filter: vectorstore.Filter{TenantID: "t1"}})
	t.Log(err)
	require.ErrorIs(t, err, qdrant.ErrUnavailable)
	assert.Contains(t, err.Error(), srv.Addr())
	err = s.Upsert(t.Context(), []vectorstore.Record{rec("a", "t1", 1, 0, 0, 0)})
	require.ErrorIs(t, err, qdrant.ErrUnavailable)
	assert.Contains(t, err.Error(), srv.Addr())
}

func TestServerErrorsAreTranslated(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	client := srv.Client(t)
	s := initStore(t, srv, qdrant.Options{})
	q := vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 1, Filter: vectorstore.Filter{TenantID: "t1"}}

	// The collection dropped behind the store's back: NotFound.
	require.NoError(t, client.DeleteCollection(t.Context(), s.Collection()))
	_, err := s.Search(t.Context(), q)
	require.ErrorIs(t, err, record.ErrNotFound)
	assert.Contains(t, err.Error(), "doesn't exist")

	// Recreated with another size: the server's dimension error becomes
	// ErrDimensionMismatch.
	createRaw(t, client, s.Collection(), 8, qc.Distance_Cosine)
	err = s.Upsert(t.Context(), []vectorstore.Record{rec("a", "t1", 1, 0, 0, 0)})
	require.ErrorIs(t, err, vectorstore.ErrDimensionMismatch)
	require.ErrorIs(t, err, record.ErrInvalidInput)

	// A canceled context is the caller's, not the server's.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = s.Search(ctx, vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 1, Filter: vectorstore.Filter{TenantID: "t1"}})
	require.ErrorIs(t, err, context.Canceled)
}

func TestAPIKey(t *testing.T) {
	const key = "sk-very-secret-key-0123"
	srv := qdrantfake.Start(t, qdrantfake.Options{APIKey: key})
	for _, tc := range []struct{ name, key string }{{"missing", ""}, {"wrong", "sk-wrong-key-4567"}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := qdrant.Dial(t.Context(), qdrant.Config{Host: srv.Host(), Port: srv.Port(), APIKey: tc.key})
			require.NoError(t, err)
			defer s.Close()
			err = s.Init(t.Context(), space)
			t.Log(err)
			require.ErrorIs(t, err, qdrant.ErrAccessDenied)
			assert.NotContains(t, err.Error(), key)
			if tc.key != "" {
				assert.NotContains(t, err.Error(), tc.key)
			}
			assert.Contains(t, err.Error(), srv.Addr())
		})
	}
	s, err := qdrant.Dial(t.Context(), qdrant.Config{Host: srv.Host(), Port: srv.Port(), APIKey: key})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Init(t.Context(), space))
}

func TestConfigHidesAPIKey(t *testing.T) {
	cfg := qdrant.Config{Host: "q.example", Port: 6334, APIKey: "sk-hidden-9876", UseTLS: true}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, cfg)
		assert.NotContains(t, out, "sk-hidden-9876", format)
		assert.Contains(t, out, "q.example:6334", format)
	}
	out := fmt.Sprintf("%v", &cfg)
	assert.NotContains(t, out, "sk-hidden-9876")
}

func TestCloseAndOwnership(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	client := srv.Client(t)

	// New: the caller's client stays open after Close.
	s, err := qdrant.New(client, qdrant.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Init(t.Context(), space))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice")
	_, err = client.ListCollections(t.Context())
	require.NoError(t, err, "the caller's client is not closed")
	err = s.Upsert(t.Context(), []vectorstore.Record{rec("a", "t1", 1, 0, 0, 0)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "closed")

	// Dial: the store owns its client.
	d, err := qdrant.Dial(t.Context(), qdrant.Config{Host: srv.Host(), Port: srv.Port()})
	require.NoError(t, err)
	require.NoError(t, d.Init(t.Context(), space))
	require.NoError(t, d.Close())
	require.Error(t, d.Init(t.Context(), space))
}

func TestNewValidates(t *testing.T) {
	_, err := qdrant.New(nil, qdrant.Options{})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	_, err = qdrant.New(srv.Client(t), qdrant.Options{BatchSize: -1})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	_, err = qdrant.Dial(t.Context(), qdrant.Config{Port: 70000})
	require.ErrorIs(t, err, record.ErrInvalidInput)
	s, err := qdrant.New(srv.Client(t), qdrant.Options{})
	require.NoError(t, err)
	assert.Equal(t, srv.Addr(), s.Addr(), "the address comes from the client's connection")
}
