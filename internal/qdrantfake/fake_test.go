package qdrantfake_test

import (
	"math"
	"sort"
	"testing"

	"github.com/qdrant/go-client/qdrant"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/minirag/minirag/internal/qdrantfake"
)

func code(err error) codes.Code {
	return status.Code(grpcErr(err))
}

// grpcErr unwraps the go-client's *qdrant.QdrantError.
func grpcErr(err error) error {
	for err != nil {
		if _, ok := status.FromError(err); ok {
			return err
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
	return nil
}

func setup(t *testing.T, strict bool, d qdrant.Distance) (*qdrantfake.Server, *qdrant.Client) {
	t.Helper()
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	c := srv.Client(t)
	req := &qdrant.CreateCollection{
		CollectionName: "c",
		VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 3, Distance: d}),
	}
	if strict {
		req.StrictModeConfig = &qdrant.StrictModeConfig{
			Enabled:                    qdrant.PtrOf(true),
			UnindexedFilteringRetrieve: qdrant.PtrOf(false),
			UnindexedFilteringUpdate:   qdrant.PtrOf(false),
		}
	}
	require.NoError(t, c.CreateCollection(t.Context(), req))
	return srv, c
}

func pt(id *qdrant.PointId, payload map[string]any, v ...float32) *qdrant.PointStruct {
	return &qdrant.PointStruct{Id: id, Vectors: qdrant.NewVectors(v...), Payload: qdrant.NewValueMap(payload)}
}

func upsert(t *testing.T, c *qdrant.Client, pts ...*qdrant.PointStruct) {
	t.Helper()
	res, err := c.Upsert(t.Context(), &qdrant.UpsertPoints{CollectionName: "c", Wait: qdrant.PtrOf(true), Points: pts})
	require.NoError(t, err)
	require.Equal(t, qdrant.UpdateStatus_Completed, res.GetStatus())
}

func query(t *testing.T, c *qdrant.Client, q *qdrant.QueryPoints) []*qdrant.ScoredPoint {
	t.Helper()
	q.CollectionName = "c"
	res, err := c.Query(t.Context(), q)
	require.NoError(t, err)
	return res
}

func uuids(pts []*qdrant.ScoredPoint) []string {
	out := []string{}
	for _, p := range pts {
		out = append(out, p.GetId().GetUuid())
	}
	return out
}

const (
	u1 = "11111111-1111-1111-1111-111111111111"
	u2 = "22222222-2222-2222-2222-222222222222"
	u3 = "33333333-3333-3333-3333-333333333333"
	u4 = "44444444-4444-4444-4444-444444444444"
)

func TestHealthCheck(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	r, err := srv.Client(t).HealthCheck(t.Context())
	require.NoError(t, err)
	assert.Equal(t, qdrantfake.Version, r.GetVersion())
}

func TestPointIDs(t *testing.T) {
	srv, c := setup(t, false, qdrant.Distance_Cosine)
	_, err := c.Upsert(t.Context(), &qdrant.UpsertPoints{CollectionName: "c", Points: []*qdrant.PointStruct{
		pt(qdrant.NewIDUUID(u1), nil, 1, 0, 0),
		pt(qdrant.NewID("chunk-1"), nil, 1, 0, 0),
	}})
	require.Equal(t, codes.InvalidArgument, code(err))
	assert.Contains(t, err.Error(), "Unable to parse UUID: chunk-1")
	pts, _ := srv.Points("c")
	assert.Empty(t, pts, "a rejected batch stores nothing")

	// Qdrant parses the simple, braced and URN forms too, and stores the
	// hyphenated form; numbers are IDs of their own.
	upsert(t, c,
		pt(qdrant.NewIDUUID("{"+u2+"}"), nil, 1, 0, 0),
		pt(qdrant.NewIDUUID("11111111111111111111111111111111"), nil, 1, 0, 0),
		pt(qdrant.NewIDNum(7), nil, 1, 0, 0),
	)
	upsert(t, c, pt(qdrant.NewIDUUID(u1), nil, 0, 1, 0)) // same point as the simple form
	pts, _ = srv.Points("c")
	require.Len(t, pts, 3)
	var ids []string
	for _, p := range pts {
		if p.ID.GetUuid() != "" {
			ids = append(ids, p.ID.GetUuid())
		} else {
			assert.Equal(t, uint64(7), p.ID.GetNum())
		}
	}
	sort.Strings(ids)
	assert.Equal(t, []string{u1, u2}, ids)
}

func TestVectorSize(t *testing.T) {
	_, c := setup(t, false, qdrant.Distance_Cosine)
	_, err := c.Upsert(t.Context(), &qdrant.UpsertPoints{CollectionName: "c", Points: []*qdrant.PointStruct{pt(qdrant.NewIDNum(1), nil, 1, 0)}})
	require.Equal(t, codes.InvalidArgument, code(err))
	assert.Contains(t, err.Error(), "Vector dimension error: expected dim: 3, got 2")
	_, err = c.Query(t.Context(), &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQuery(1, 0, 0, 0)})
	require.Equal(t, codes.InvalidArgument, code(err))
	assert.Contains(t, err.Error(), "expected dim: 3, got 4")
}

func TestUnknownCollectionAndDuplicates(t *testing.T) {
	_, c := setup(t, false, qdrant.Distance_Cosine)
	ctx := t.Context()
	_, err := c.GetCollectionInfo(ctx, "nope")
	assert.Equal(t, codes.NotFound, code(err))
	assert.Contains(t, err.Error(), "Collection `nope` doesn't exist!")
	_, err = c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "nope", Points: []*qdrant.PointStruct{pt(qdrant.NewIDNum(1), nil, 1, 0, 0)}})
	assert.Equal(t, codes.NotFound, code(err))
	_, err = c.Query(ctx, &qdrant.QueryPoints{CollectionName: "nope", Query: qdrant.NewQuery(1, 0, 0)})
	assert.Equal(t, codes.NotFound, code(err))
	_, err = c.Delete(ctx, &qdrant.DeletePoints{CollectionName: "nope", Points: qdrant.NewPointsSelector(qdrant.NewIDNum(1))})
	assert.Equal(t, codes.NotFound, code(err))
	_, err = c.Count(ctx, &qdrant.CountPoints{CollectionName: "nope"})
	assert.Equal(t, codes.NotFound, code(err))
	_, err = c.CreateFieldIndex(ctx, &qdrant.CreateFieldIndexCollection{CollectionName: "nope", FieldName: "f", FieldType: qdrant.FieldType_FieldTypeKeyword.Enum()})
	assert.Equal(t, codes.NotFound, code(err))

	err = c.CreateCollection(ctx, &qdrant.CreateCollection{CollectionName: "c", VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 3, Distance: qdrant.Distance_Cosine})})
	assert.Equal(t, codes.AlreadyExists, code(err))
	err = c.CreateCollection(ctx, &qdrant.CreateCollection{CollectionName: "a/b", VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 3, Distance: qdrant.Distance_Cosine})})
	assert.Equal(t, codes.InvalidArgument, code(err))

	exists, err := c.CollectionExists(ctx, "c")
	require.NoError(t, err)
	assert.True(t, exists)
	require.NoError(t, c.DeleteCollection(ctx, "c"))
	exists, err = c.CollectionExists(ctx, "c")
	require.NoError(t, err)
	assert.False(t, exists)
}

func TestStrictModeRequiresIndexes(t *testing.T) {
	kw := &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("tenant", "a")}}
	t.Run("strict", func(t *testing.T) {
		_, c := setup(t, true, qdrant.Distance_Cosine)
		upsert(t, c, pt(qdrant.NewIDUUID(u1), map[string]any{"tenant": "a"}, 1, 0, 0))
		_, err := c.Query(t.Context(), &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQuery(1, 0, 0), Filter: kw})
		require.Equal(t, codes.InvalidArgument, code(err))
		assert.Contains(t, err.Error(), `Index required but not found for "tenant" of one of the following types: [keyword]`)
		_, err = c.Delete(t.Context(), &qdrant.DeletePoints{CollectionName: "c", Points: qdrant.NewPointsSelectorFilter(kw)})
		require.Equal(t, codes.InvalidArgument, code(err), "delete by filter is checked too")
		// Nested filters and should conditions are checked as well.
		nested := &qdrant.Filter{Should: []*qdrant.Condition{qdrant.NewFilterAsCondition(kw)}}
		_, err = c.Count(t.Context(), &qdrant.CountPoints{CollectionName: "c", Filter: nested})
		require.Equal(t, codes.InvalidArgument, code(err))
		// An index of another type does not help.
		_, err = c.CreateFieldIndex(t.Context(), &qdrant.CreateFieldIndexCollection{CollectionName: "c", FieldName: "tenant", FieldType: qdrant.FieldType_FieldTypeInteger.Enum()})
		require.NoError(t, err)
		_, err = c.Query(t.Context(), &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQuery(1, 0, 0), Filter: kw})
		require.Equal(t, codes.InvalidArgument, code(err))

		_, err = c.CreateFieldIndex(t.Context(), &qdrant.CreateFieldIndexCollection{CollectionName: "c", FieldName: "tenant", FieldType: qdrant.FieldType_FieldTypeKeyword.Enum()})
		require.NoError(t, err)
		res := query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(1, 0, 0), Filter: kw})
		assert.Equal(t, []string{u1}, uuids(res))
		// Without a filter, nothing needs an index.
		res = query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(1, 0, 0)})
		assert.Len(t, res, 1)
	})
	t.Run("not strict", func(t *testing.T) {
		_, c := setup(t, false, qdrant.Distance_Cosine)
		upsert(t, c, pt(qdrant.NewIDUUID(u1), map[string]any{"tenant": "a"}, 1, 0, 0))
		res := query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(1, 0, 0), Filter: kw})
		assert.Equal(t, []string{u1}, uuids(res))
	})
}

func TestFilters(t *testing.T) {
	_, c := setup(t, false, qdrant.Distance_Cosine)
	upsert(t, c,
		pt(qdrant.NewIDUUID(u1), map[string]any{"tenant": "a", "bot": "x", "tags": []any{"red", "blue"}}, 1, 0, 0),
		pt(qdrant.NewIDUUID(u2), map[string]any{"tenant": "a", "bot": "y"}, 1, 0, 0),
		pt(qdrant.NewIDUUID(u3), map[string]any{"tenant": "b", "bot": "x", "tags": []any{"green"}}, 1, 0, 0),
		pt(qdrant.NewIDUUID(u4), map[string]any{"tenant": "b", "meta": map[string]any{"lang": "en"}}, 1, 0, 0),
	)
	for _, tc := range []struct {
		name string
		f    *qdrant.Filter
		want []string
	}{
		{"must", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("tenant", "a")}}, []string{u1, u2}},
		{"must and", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("tenant", "a"), qdrant.NewMatchKeyword("bot", "x")}}, []string{u1}},
		{"match any", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeywords("bot", "y", "x")}}, []string{u1, u2, u3}},
		{"list payload", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("tags", "blue")}}, []string{u1}},
		{"should", &qdrant.Filter{Should: []*qdrant.Condition{qdrant.NewMatchKeyword("bot", "y"), qdrant.NewMatchKeyword("tags", "green")}}, []string{u2, u3}},
		{"must and should", &qdrant.Filter{
			Must:   []*qdrant.Condition{qdrant.NewMatchKeyword("tenant", "a")},
			Should: []*qdrant.Condition{qdrant.NewMatchKeyword("bot", "y"), qdrant.NewMatchKeyword("tags", "green")},
		}, []string{u2}},
		{"must_not", &qdrant.Filter{MustNot: []*qdrant.Condition{qdrant.NewMatchKeyword("bot", "x")}}, []string{u2, u4}},
		{"missing field", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("nope", "a")}}, []string{}},
		{"nested key", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("meta.lang", "en")}}, []string{u4}},
		{"nested filter", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewFilterAsCondition(&qdrant.Filter{
			Should: []*qdrant.Condition{qdrant.NewMatchKeyword("bot", "y"), qdrant.NewMatchKeyword("tenant", "b")},
		})}}, []string{u2, u3, u4}},
		{"has_id", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewHasID(qdrant.NewIDUUID(u3), qdrant.NewIDUUID(u1))}}, []string{u1, u3}},
		{"is_empty", &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewIsEmpty("tags")}}, []string{u2, u4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(1, 0, 0), Filter: tc.f})
			got := uuids(res)
			sort.Strings(got)
			assert.Equal(t, tc.want, got)
			n, err := c.Count(t.Context(), &qdrant.CountPoints{CollectionName: "c", Filter: tc.f})
			require.NoError(t, err)
			assert.Equal(t, uint64(len(tc.want)), n)
		})
	}

	_, err := c.Delete(t.Context(), &qdrant.DeletePoints{CollectionName: "c", Wait: qdrant.PtrOf(true),
		Points: qdrant.NewPointsSelectorFilter(&qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("tenant", "b")}})})
	require.NoError(t, err)
	n, err := c.Count(t.Context(), &qdrant.CountPoints{CollectionName: "c"})
	require.NoError(t, err)
	assert.Equal(t, uint64(2), n)
}

func TestCosineScores(t *testing.T) {
	srv, c := setup(t, false, qdrant.Distance_Cosine)
	upsert(t, c,
		pt(qdrant.NewIDUUID(u1), nil, 2, 0, 0),  // same direction as the query
		pt(qdrant.NewIDUUID(u2), nil, 1, 1, 0),  // 45°
		pt(qdrant.NewIDUUID(u3), nil, 0, 0, 5),  // orthogonal
		pt(qdrant.NewIDUUID(u4), nil, -3, 0, 0), // opposite
	)
	pts, _ := srv.Points("c")
	for _, p := range pts {
		var n float64
		for _, x := range p.Vector {
			n += float64(x) * float64(x)
		}
		assert.InDelta(t, 1, n, 1e-6, "stored vectors are normalized")
	}
	res := query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(0.5, 0, 0)})
	require.Equal(t, []string{u1, u2, u3, u4}, uuids(res), "higher is closer, best first")
	want := []float64{1, math.Sqrt2 / 2, 0, -1}
	for i, p := range res {
		assert.InDelta(t, want[i], p.GetScore(), 1e-6)
		assert.Empty(t, p.GetPayload(), "Query returns no payload unless asked")
	}

	res = query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(1, 0, 0), ScoreThreshold: qdrant.PtrOf(float32(0.5))})
	assert.Equal(t, []string{u1, u2}, uuids(res), "score_threshold keeps scores >= threshold")
	res = query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(1, 0, 0), Limit: qdrant.PtrOf(uint64(2)), Offset: qdrant.PtrOf(uint64(1))})
	assert.Equal(t, []string{u2, u3}, uuids(res))

	// A zero query vector scores 0 everywhere (Qdrant leaves it unnormalized).
	res = query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(0, 0, 0)})
	for _, p := range res {
		assert.Zero(t, p.GetScore())
	}
}

func TestQueryDefaultsAndPayloadSelection(t *testing.T) {
	_, c := setup(t, false, qdrant.Distance_Cosine)
	var pts []*qdrant.PointStruct
	for i := range 15 {
		pts = append(pts, pt(qdrant.NewIDNum(uint64(i+1)), map[string]any{"a": "1", "b": "2"}, 1, float32(i), 0))
	}
	upsert(t, c, pts...)
	res := query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(1, 0, 0)})
	assert.Len(t, res, 10, "limit defaults to 10")
	res = query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(1, 0, 0), Limit: qdrant.PtrOf(uint64(1)), WithPayload: qdrant.NewWithPayloadInclude("a")})
	require.Len(t, res, 1)
	assert.Equal(t, uint64(1), res[0].GetId().GetNum())
	assert.Equal(t, map[string]string{"a": "1"}, strings(res[0].GetPayload()))
	res = query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(1, 0, 0), Limit: qdrant.PtrOf(uint64(1)), WithPayload: qdrant.NewWithPayloadExclude("a")})
	assert.Equal(t, map[string]string{"b": "2"}, strings(res[0].GetPayload()))
	res = query(t, c, &qdrant.QueryPoints{Query: qdrant.NewQuery(1, 0, 0), Limit: qdrant.PtrOf(uint64(1)), WithPayload: qdrant.NewWithPayload(true)})
	assert.Equal(t, map[string]string{"a": "1", "b": "2"}, strings(res[0].GetPayload()))
}

func strings(p map[string]*qdrant.Value) map[string]string {
	out := map[string]string{}
	for k, v := range p {
		out[k] = v.GetStringValue()
	}
	return out
}

func TestWaitAndCalls(t *testing.T) {
	srv, c := setup(t, false, qdrant.Distance_Cosine)
	res, err := c.Upsert(t.Context(), &qdrant.UpsertPoints{CollectionName: "c", Points: []*qdrant.PointStruct{pt(qdrant.NewIDNum(1), nil, 1, 0, 0)}})
	require.NoError(t, err)
	assert.Equal(t, qdrant.UpdateStatus_Acknowledged, res.GetStatus(), "wait=false is acknowledged")
	upsert(t, c, pt(qdrant.NewIDNum(2), nil, 1, 0, 0), pt(qdrant.NewIDNum(3), nil, 1, 0, 0))
	calls := srv.CallsTo("Upsert")
	require.Len(t, calls, 2)
	assert.Equal(t, qdrantfake.Call{Method: "Upsert", Collection: "c", Points: 1, Wait: false, Err: codes.OK}, calls[0])
	assert.Equal(t, 2, calls[1].Points)
	assert.True(t, calls[1].Wait)
}

func TestAPIKey(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{APIKey: "k1"})
	_, err := srv.Client(t).ListCollections(t.Context())
	require.NoError(t, err, "Client sends the server's key")
	noKey, err := qdrant.NewClient(&qdrant.Config{Host: srv.Host(), Port: srv.Port(), SkipCompatibilityCheck: true, PoolSize: 1})
	require.NoError(t, err)
	defer noKey.Close()
	_, err = noKey.ListCollections(t.Context())
	assert.Equal(t, codes.Unauthenticated, code(err))
}

func TestUnimplementedIsExplicit(t *testing.T) {
	_, c := setup(t, false, qdrant.Distance_Cosine)
	_, err := c.Scroll(t.Context(), &qdrant.ScrollPoints{CollectionName: "c", OrderBy: &qdrant.OrderBy{Key: "n"}})
	assert.Equal(t, codes.Unimplemented, code(err))
	_, err = c.Query(t.Context(), &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQueryFusion(qdrant.Fusion_RRF)})
	assert.Equal(t, codes.Unimplemented, code(err))
}

func TestScrollPages(t *testing.T) {
	_, c := setup(t, false, qdrant.Distance_Cosine)
	ids := []string{
		"00000000-0000-4000-8000-000000000003",
		"00000000-0000-4000-8000-000000000001",
		"ffffffff-0000-4000-8000-000000000000",
		"00000000-0000-4000-8000-000000000002",
		"0a000000-0000-4000-8000-000000000000",
	}
	for i, id := range ids {
		upsert(t, c, pt(qdrant.NewIDUUID(id), map[string]any{"even": i%2 == 0, "i": int64(i)}, 1, 0, 0))
	}
	upsert(t, c, pt(qdrant.NewIDNum(7), map[string]any{"even": false}, 1, 0, 0))
	// Point-ID order (numbers first, then UUIDs by their bytes), limit,
	// next_page_offset the first point not returned, offset inclusive.
	var got []string
	var offset *qdrant.PointId
	for {
		pts, next, err := c.ScrollAndOffset(t.Context(), &qdrant.ScrollPoints{CollectionName: "c", Limit: qdrant.PtrOf(uint32(2)), Offset: offset})
		require.NoError(t, err)
		require.LessOrEqual(t, len(pts), 2)
		for _, p := range pts {
			got = append(got, p.GetId().String())
			assert.NotNil(t, p.GetPayload()["even"], "payload returned by default")
			assert.Nil(t, p.GetVectors(), "no vectors by default")
		}
		if next == nil {
			break
		}
		offset = next
	}
	want := []string{qdrant.NewIDNum(7).String()}
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	for _, id := range sorted {
		want = append(want, qdrant.NewIDUUID(id).String())
	}
	assert.Equal(t, want, got)

	// A filter applies before the limit; the offset need not match it.
	pts, next, err := c.ScrollAndOffset(t.Context(), &qdrant.ScrollPoints{
		CollectionName: "c",
		Filter:         &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchBool("even", true)}},
		Limit:          qdrant.PtrOf(uint32(1)),
		Offset:         qdrant.NewIDNum(7),
		WithPayload:    qdrant.NewWithPayloadInclude("i"),
	})
	require.NoError(t, err)
	require.Len(t, pts, 1)
	assert.Equal(t, ids[0], pts[0].GetId().GetUuid())
	assert.Nil(t, pts[0].GetPayload()["even"], "with_payload include")
	assert.Equal(t, ids[4], next.GetUuid())

	_, err = c.Scroll(t.Context(), &qdrant.ScrollPoints{CollectionName: "c", Limit: qdrant.PtrOf(uint32(0))})
	assert.Equal(t, codes.InvalidArgument, code(err))
}
