package qdrantfake_test

import (
	"sort"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func count(t *testing.T, c *qdrant.Client, f *qdrant.Filter) []string {
	t.Helper()
	pts, err := c.Scroll(t.Context(), &qdrant.ScrollPoints{CollectionName: "c", Filter: f, Limit: qdrant.PtrOf(uint32(100))})
	require.NoError(t, err)
	out := []string{}
	for _, p := range pts {
		out = append(out, p.GetId().GetUuid())
	}
	sort.Strings(out)
	return out
}

func must(c ...*qdrant.Condition) *qdrant.Filter { return &qdrant.Filter{Must: c} }

// TestPayloadConditions checks the conditions vectorstore/qdrant sends
// against Qdrant's documented behaviour (payload and filtering docs, and
// its condition checker): a condition looks at values of its own type
// only, a list matches when an element does, is_empty holds for a missing
// key, null and [], is_null for null only.
func TestPayloadConditions(t *testing.T) {
	_, c := setup(t, false, qdrant.Distance_Cosine)
	dbl := func(f float64) *qdrant.Value { return qdrant.NewValueDouble(f) }
	upsert(t, c,
		&qdrant.PointStruct{Id: qdrant.NewIDUUID(u1), Vectors: qdrant.NewVectors(1, 0, 0), Payload: map[string]*qdrant.Value{
			"m": qdrant.NewValueFromFields(map[string]*qdrant.Value{
				"n": dbl(3), "s": qdrant.NewValueString("3"), "at": qdrant.NewValueString("2024-01-15T08:30:00.000000Z"),
				"tags": qdrant.NewValueFromList(qdrant.NewValueString("go"), qdrant.NewValueFromList(qdrant.NewValueString("sql"))),
				"e":    qdrant.NewValueFromList(), "b": qdrant.NewValueBool(true),
			}),
		}},
		&qdrant.PointStruct{Id: qdrant.NewIDUUID(u2), Vectors: qdrant.NewVectors(1, 0, 0), Payload: map[string]*qdrant.Value{
			"m": qdrant.NewValueFromFields(map[string]*qdrant.Value{
				"n": qdrant.NewValueInt(3), "s": qdrant.NewValueNull(), "at": qdrant.NewValueString("2023-06-01"),
				"tags": qdrant.NewValueFromList(qdrant.NewValueNull()), "b": qdrant.NewValueString("true"),
			}),
		}},
		&qdrant.PointStruct{Id: qdrant.NewIDUUID(u3), Vectors: qdrant.NewVectors(1, 0, 0), Payload: map[string]*qdrant.Value{
			"m": qdrant.NewValueFromFields(map[string]*qdrant.Value{
				"n": qdrant.NewValueFromList(dbl(1), dbl(10)), "at": qdrant.NewValueString("not a time"),
				"tags": qdrant.NewValueString("sql"),
			}),
			"arr": qdrant.NewValueFromList(qdrant.NewValueFromFields(map[string]*qdrant.Value{"a": qdrant.NewValueString("x")})),
		}},
	)
	ts := func(tm time.Time) *timestamppb.Timestamp { return timestamppb.New(tm) }
	for _, tc := range []struct {
		name string
		f    *qdrant.Filter
		want []string
	}{
		{"range on integers and doubles", must(qdrant.NewRange("m.n", &qdrant.Range{Gte: qdrant.PtrOf(3.0), Lte: qdrant.PtrOf(3.0)})), []string{u1, u2}},
		{"range any element", must(qdrant.NewRange("m.n", &qdrant.Range{Gt: qdrant.PtrOf(5.0)})), []string{u3}},
		{"range ignores strings", must(qdrant.NewRange("m.s", &qdrant.Range{Gte: qdrant.PtrOf(0.0)})), []string{}},
		{"integer match ignores doubles", must(qdrant.NewMatchInt("m.n", 3)), []string{u2}},
		{"keyword ignores numbers", must(qdrant.NewMatchKeyword("m.n", "3")), []string{}},
		{"keyword in list, not in a nested list", must(qdrant.NewMatchKeyword("m.tags", "sql")), []string{u3}},
		{"bool ignores strings", must(qdrant.NewMatchBool("m.b", true)), []string{u1}},
		{"datetime range", must(qdrant.NewDatetimeRange("m.at", &qdrant.DatetimeRange{Gte: ts(time.Date(2024, 1, 15, 8, 30, 0, 0, time.UTC))})), []string{u1}},
		{"datetime range parses a date", must(qdrant.NewDatetimeRange("m.at", &qdrant.DatetimeRange{Lt: ts(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))})), []string{u2}},
		{"is_empty: missing, null, []", must(qdrant.NewIsEmpty("m.s")), []string{u2, u3}},
		{"is_empty: [] and missing", must(qdrant.NewIsEmpty("m.e")), []string{u1, u2, u3}},
		{"is_empty of a list with a null", must(qdrant.NewIsEmpty("m.tags")), []string{}},
		{"is_null: null only", must(qdrant.NewIsNull("m.s")), []string{u2}},
		{"is_null: not [null]", must(qdrant.NewIsNull("m.tags")), []string{}},
		{"lists on the path are not entered", must(qdrant.NewMatchKeyword("arr.a", "x")), []string{}},
		{"must_not holds for a missing key", &qdrant.Filter{MustNot: []*qdrant.Condition{qdrant.NewMatchBool("m.b", true)}}, []string{u2, u3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, count(t, c, tc.f))
		})
	}
}

func TestStrictModeIndexTypes(t *testing.T) {
	_, c := setup(t, true, qdrant.Distance_Cosine)
	idx := func(field string, ft qdrant.FieldType) {
		_, err := c.CreateFieldIndex(t.Context(), &qdrant.CreateFieldIndexCollection{CollectionName: "c", FieldName: field, FieldType: ft.Enum(), Wait: qdrant.PtrOf(true)})
		require.NoError(t, err)
	}
	scroll := func(f *qdrant.Filter) error {
		_, err := c.Scroll(t.Context(), &qdrant.ScrollPoints{CollectionName: "c", Filter: f})
		return err
	}
	rng := must(qdrant.NewRange("n", &qdrant.Range{Gte: qdrant.PtrOf(1.0)}))
	dt := must(qdrant.NewDatetimeRange("d", &qdrant.DatetimeRange{Gte: timestamppb.Now()}))
	empty := must(qdrant.NewIsEmpty("k"))
	for _, f := range []*qdrant.Filter{rng, dt, empty} {
		assert.Equal(t, codes.InvalidArgument, code(scroll(f)))
	}
	idx("n", qdrant.FieldType_FieldTypeKeyword)
	assert.Equal(t, codes.InvalidArgument, code(scroll(rng)), "a keyword index does not serve a range")
	idx("n", qdrant.FieldType_FieldTypeFloat)
	idx("d", qdrant.FieldType_FieldTypeDatetime)
	idx("k", qdrant.FieldType_FieldTypeBool)
	for _, f := range []*qdrant.Filter{rng, dt, empty} {
		assert.NoError(t, scroll(f))
	}
}

func TestSetAndDeletePayload(t *testing.T) {
	srv, c := setup(t, false, qdrant.Distance_Cosine)
	upsert(t, c,
		pt(qdrant.NewIDUUID(u1), map[string]any{"t": "a", "m": map[string]any{"x": 1, "y": 2}}, 1, 0, 0),
		pt(qdrant.NewIDUUID(u2), map[string]any{"t": "a", "m": map[string]any{"x": 1}}, 0, 1, 0),
		pt(qdrant.NewIDUUID(u3), map[string]any{"t": "b", "m": map[string]any{"x": 1}}, 0, 0, 1),
	)
	_, err := c.SetPayload(t.Context(), &qdrant.SetPayloadPoints{CollectionName: "c", Wait: qdrant.PtrOf(true),
		Payload:        qdrant.NewValueMap(map[string]any{"m": map[string]any{"z": 3}}),
		PointsSelector: qdrant.NewPointsSelectorFilter(must(qdrant.NewMatchKeyword("t", "a")))})
	require.NoError(t, err)
	pts, _ := srv.Points("c")
	require.Len(t, pts, 3)
	assert.Equal(t, []string{"z"}, keys(pts[0].Payload["m"]), "set replaces a top-level key as a whole")
	assert.Equal(t, "a", pts[0].Payload["t"].GetStringValue(), "other keys stay")
	assert.Equal(t, []string{"x"}, keys(pts[2].Payload["m"]), "points outside the filter are untouched")
	assert.Equal(t, []float32{1, 0, 0}, pts[0].Vector, "the vector stays")

	_, err = c.DeletePayload(t.Context(), &qdrant.DeletePayloadPoints{CollectionName: "c", Wait: qdrant.PtrOf(true),
		Keys: []string{"m"}, PointsSelector: qdrant.NewPointsSelectorIDs([]*qdrant.PointId{qdrant.NewIDUUID(u2)})})
	require.NoError(t, err)
	pts, _ = srv.Points("c")
	_, has := pts[1].Payload["m"]
	assert.False(t, has)
	assert.Equal(t, "a", pts[1].Payload["t"].GetStringValue())

	_, err = c.OverwritePayload(t.Context(), &qdrant.SetPayloadPoints{CollectionName: "c", Wait: qdrant.PtrOf(true),
		Payload:        qdrant.NewValueMap(map[string]any{"only": true}),
		PointsSelector: qdrant.NewPointsSelectorIDs([]*qdrant.PointId{qdrant.NewIDUUID(u3)})})
	require.NoError(t, err)
	pts, _ = srv.Points("c")
	assert.Len(t, pts[2].Payload, 1, "overwrite replaces the whole payload")
}

func keys(v *qdrant.Value) []string {
	var out []string
	for k := range v.GetStructValue().GetFields() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
