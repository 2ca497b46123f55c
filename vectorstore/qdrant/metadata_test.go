package qdrant_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	qc "github.com/qdrant/go-client/qdrant"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/internal/qdrantfake"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/qdrant"
)

var (
	t2023 = time.Date(2023, 6, 1, 12, 0, 0, 0, time.UTC)
	t2024 = time.Date(2024, 1, 15, 8, 30, 0, 123456000, time.UTC)
	t2025 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
)

// metaDocs are metadata of every shape filter.Match distinguishes: scalars
// of each type, arrays (mixed, with nulls, empty, only nulls, nested),
// null, objects, times, missing fields, and the same field holding
// different types in different records.
func metaDocs(t *testing.T) []record.Metadata {
	t.Helper()
	raw := []record.Metadata{
		{"lang": "en", "year": 2020, "draft": false, "tags": []string{"go", "sql"}, "at": t2023},
		{"lang": "de", "year": 2024, "draft": true, "tags": []any{"go", nil}, "at": t2024},
		{"lang": "en", "year": 2024.5, "tags": []any{}, "at": t2025, "n": "2024"},
		{"lang": []any{"en", "fr"}, "year": "2024", "tags": []any{nil, nil}, "at": "not a time"},
		{"lang": nil, "year": []any{2019, 2030}, "tags": []any{[]any{"go"}}, "draft": "false"},
		{"obj": map[string]any{"lang": "en"}, "year": nil, "tags": "go"},
		{"lang": "EN", "year": -1, "draft": []any{true, false}, "at": []any{t2023, t2025}},
		{},
		nil,
		{"lang": "", "year": 0, "tags": []any{1, "1", true}, "n": 2024},
	}
	out := make([]record.Metadata, len(raw))
	for i, m := range raw {
		nm, err := record.NormalizeMetadata("m", m)
		require.NoError(t, err)
		out[i] = nm
	}
	return out
}

// metaFilters are filters over metaDocs; strict reports whether the filter
// runs in strict mode with metaFields declared (each condition suits its
// field's declared type).
var metaFilters = []struct {
	name   string
	f      filter.Filter
	strict bool
}{
	{"eq string", filter.Eq("lang", "en"), true},
	{"eq empty string", filter.Eq("lang", ""), true},
	{"in strings", filter.In("lang", "de", "fr"), true},
	{"eq number", filter.Eq("year", 2024), true},
	{"eq number never a string", filter.Eq("year", 2024.5), true},
	{"in numbers", filter.In("year", 2019, 0, -1), true},
	{"eq bool", filter.Eq("draft", false), true},
	{"eq bool true", filter.Eq("draft", true), true},
	{"in mixed kinds", filter.In("year", "2024", 2020, true), false},
	{"eq string on number field", filter.Eq("year", "2024"), false},
	{"eq array element", filter.Eq("tags", "go"), false},
	{"gte number", filter.Gte("year", 2024), true},
	{"gt number", filter.Gt("year", 2024), true},
	{"between numbers", filter.Between("year", 0, 2024), true},
	{"lte number", filter.Lte("year", 0), true},
	{"range any element", filter.And(filter.Gt("year", 2025), filter.Lt("year", 2025)), true},
	{"time range", filter.Gte("at", t2024), true},
	{"time between", filter.Between("at", t2023, t2025), true},
	{"time lt", filter.Lt("at", t2024), true},
	{"time lte exact", filter.Lte("at", t2024), true},
	{"exists string field", filter.Exists("lang"), true},
	{"exists tags", filter.Exists("tags"), false},
	{"exists year", filter.Exists("year"), true},
	{"exists nested object", filter.Exists("obj"), false},
	{"exists missing", filter.Exists("nope"), false},
	{"not eq", filter.Not(filter.Eq("lang", "en")), true},
	{"not exists", filter.Not(filter.Exists("draft")), true},
	{"not range", filter.Not(filter.Gte("year", 2024)), true},
	{"and", filter.And(filter.Eq("lang", "en"), filter.Gte("year", 2024)), true},
	{"or", filter.Or(filter.Eq("lang", "de"), filter.Lt("year", 0), filter.Eq("draft", false)), true},
	{"nested", filter.And(
		filter.Or(filter.Eq("lang", "en"), filter.Not(filter.Exists("lang"))),
		filter.Not(filter.And(filter.Eq("draft", true), filter.Gte("at", t2024))),
	), true},
	{"not or", filter.Not(filter.Or(filter.Eq("lang", "en"), filter.Exists("at"))), true},
	{"string number never equal", filter.Eq("n", 2024), false},
	{"string range", filter.Gte("lang", "de"), true},
	{"string between", filter.Between("lang", "EN", "en"), true},
	{"string range on numbers", filter.Lt("year", "3"), true},
	{"not string range", filter.Not(filter.Lt("lang", "e")), true},
	{"time range on strings", filter.Gte("lang", t2023), false},
	{"not time range", filter.Not(filter.Gte("at", t2024)), true},
	{"or time range", filter.Or(filter.Lt("at", t2024), filter.Eq("lang", "de")), true},
	{"number string never equal", filter.Eq("n", "2024"), false},
}

var metaFields = []qdrant.MetadataField{
	{Name: "lang", Type: qdrant.MetadataKeyword},
	{Name: "year", Type: qdrant.MetadataNumber},
	{Name: "draft", Type: qdrant.MetadataBool},
	{Name: "at", Type: qdrant.MetadataTime},
}

func ids(ms []vectorstore.Match) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	sort.Strings(out)
	return out
}

func want(docs []record.Metadata, f filter.Filter) []string {
	out := []string{}
	for i, m := range docs {
		if f.Match(m) {
			out = append(out, fmt.Sprintf("c%02d", i))
		}
	}
	return out
}

func metaRecords(docs []record.Metadata, tenant string) []vectorstore.Record {
	recs := make([]vectorstore.Record, len(docs))
	for i, m := range docs {
		recs[i] = vectorstore.Record{ID: fmt.Sprintf("c%02d", i), TenantID: tenant, BotID: "b", DocumentID: fmt.Sprintf("d%02d", i),
			Vector: []float32{1, float32(i), 0, 0}, Metadata: m}
	}
	return recs
}

// TestMetadataFiltersMatchReference checks every filter against
// filter.Match through Search, List and Delete, with strict mode off (any
// filter) and on with declared fields (the filters that suit them).
func TestMetadataFiltersMatchReference(t *testing.T) {
	docs := metaDocs(t)
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("strict=%t", strict), func(t *testing.T) {
			srv := qdrantfake.Start(t, qdrantfake.Options{})
			s := initStore(t, srv, qdrant.Options{NoStrictMode: !strict, MetadataFields: metaFields})
			require.NoError(t, s.Upsert(t.Context(), metaRecords(docs, "t1")))
			// Tenant t2 holds the same records: a filter never reaches them.
			require.NoError(t, s.Upsert(t.Context(), metaRecords(docs, "t2")))
			for _, tc := range metaFilters {
				if strict && !tc.strict {
					continue
				}
				t.Run(tc.name, func(t *testing.T) {
					w := want(docs, tc.f)
					f := vectorstore.Filter{TenantID: "t1", Metadata: tc.f}
					got, err := s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 100, Filter: f})
					require.NoError(t, err)
					assert.Equal(t, w, ids(got), "search")
					got, err = s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 1, Filter: f})
					require.NoError(t, err)
					assert.Len(t, got, min(1, len(w)), "search top 1: the filter applies before the limit")
					recs, _, err := s.List(t.Context(), f, "", 100)
					require.NoError(t, err)
					var listed []string
					for _, r := range recs {
						listed = append(listed, r.ID)
					}
					sort.Strings(listed)
					assert.Equal(t, w, append([]string{}, listed...), "list")
				})
			}
			// Delete by metadata removes exactly the matching records of
			// the tenant.
			del := filter.Or(filter.Eq("lang", "en"), filter.Lt("year", 0))
			require.NoError(t, s.Delete(t.Context(), vectorstore.Filter{TenantID: "t1", Metadata: del}))
			left := []string{}
			for i, m := range docs {
				if !del.Match(m) {
					left = append(left, fmt.Sprintf("c%02d", i))
				}
			}
			got, err := s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 100, Filter: vectorstore.Filter{TenantID: "t1"}})
			require.NoError(t, err)
			assert.Equal(t, left, ids(got))
			got, err = s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 100, Filter: vectorstore.Filter{TenantID: "t2"}})
			require.NoError(t, err)
			assert.Len(t, got, len(docs), "the other tenant keeps everything")
		})
	}
}

func TestMetadataPayloadLayout(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{MetadataFields: metaFields})
	m, err := record.NormalizeMetadata("m", record.Metadata{"lang": "en", "year": 2024, "tags": []any{"a", nil}, "obj": map[string]any{"k": 1}})
	require.NoError(t, err)
	r := rec("c1", "t1", 1, 0, 0, 0)
	r.Metadata = m
	require.NoError(t, s.Upsert(t.Context(), []vectorstore.Record{r, rec("c2", "t1", 0, 1, 0, 0)}))
	pts, ok := srv.Points(s.Collection())
	require.True(t, ok)
	byChunk := map[string]map[string]*qc.Value{}
	for _, p := range pts {
		byChunk[p.Payload[qdrant.FieldChunk].GetStringValue()] = p.Payload
	}
	meta := byChunk["c1"][qdrant.FieldMeta].GetStructValue().GetFields()
	assert.Equal(t, "en", meta["lang"].GetStringValue())
	assert.Equal(t, 2024.0, meta["year"].GetDoubleValue(), "numbers are doubles")
	assert.Len(t, meta["tags"].GetListValue().GetValues(), 1, "null elements of a top-level array are not stored")
	assert.Equal(t, 1.0, meta["obj"].GetStructValue().GetFields()["k"].GetDoubleValue())
	assert.Equal(t, "t1", byChunk["c1"][qdrant.FieldTenant].GetStringValue(), "the adapter's own fields stay top-level")
	_, has := byChunk["c2"][qdrant.FieldMeta]
	assert.False(t, has, "no metadata, no meta key")

	info, err := srv.Client(t).GetCollectionInfo(t.Context(), s.Collection())
	require.NoError(t, err)
	schema := info.GetPayloadSchema()
	assert.Equal(t, qc.PayloadSchemaType_Keyword, schema["meta.lang"].GetDataType())
	assert.Equal(t, qc.PayloadSchemaType_Float, schema["meta.year"].GetDataType())
	assert.Equal(t, qc.PayloadSchemaType_Bool, schema["meta.draft"].GetDataType())
	assert.Equal(t, qc.PayloadSchemaType_Datetime, schema["meta.at"].GetDataType())
}

func TestSetMetadata(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{MetadataFields: metaFields})
	a1, a2, b1 := rec("a1", "t1", 1, 0, 0, 0), rec("a2", "t1", 0, 1, 0, 0), rec("b1", "t1", 0, 0, 1, 0)
	a1.DocumentID, a2.DocumentID, b1.DocumentID = "A", "A", "B"
	a1.Metadata, a2.Metadata, b1.Metadata = record.Metadata{"lang": "de"}, record.Metadata{"lang": "de"}, record.Metadata{"lang": "de"}
	other := a1
	other.TenantID = "t2"
	require.NoError(t, s.Upsert(t.Context(), []vectorstore.Record{a1, a2, b1, other}))
	search := func(tenant string, f filter.Filter) []string {
		got, err := s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 1, 1, 0}, TopK: 10,
			Filter: vectorstore.Filter{TenantID: tenant, Metadata: f}})
		require.NoError(t, err)
		return ids(got)
	}
	require.NoError(t, s.SetMetadata(t.Context(), vectorstore.Filter{TenantID: "t1", DocumentIDs: []string{"A"}},
		record.Metadata{"lang": "en", "year": 2024.0}))
	assert.Equal(t, []string{"a1", "a2"}, search("t1", filter.Eq("lang", "en")))
	assert.Equal(t, []string{"a1", "a2"}, search("t1", filter.Eq("year", 2024)))
	assert.Equal(t, []string{"b1"}, search("t1", filter.Eq("lang", "de")))
	assert.Equal(t, []string{"a1"}, search("t2", filter.Eq("lang", "de")), "the other tenant is untouched")
	// The vector and the IDs stay.
	got, err := s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 1,
		Filter: vectorstore.Filter{TenantID: "t1", DocumentIDs: []string{"A"}}})
	require.NoError(t, err)
	assert.Equal(t, "a1", got[0].ID)
	assert.InDelta(t, 1, got[0].Score, 1e-6)

	// Replacing drops keys the new metadata lacks; nil clears it.
	require.NoError(t, s.SetMetadata(t.Context(), vectorstore.Filter{TenantID: "t1", IDs: []string{"a1"}}, record.Metadata{"draft": true}))
	assert.Equal(t, []string{"a2", "b1"}, search("t1", filter.Exists("lang")))
	assert.Equal(t, []string{"a1"}, search("t1", filter.Eq("draft", true)))
	require.NoError(t, s.SetMetadata(t.Context(), vectorstore.Filter{TenantID: "t1", DocumentIDs: []string{"A"}}, nil))
	assert.Equal(t, []string{"b1"}, search("t1", filter.Exists("lang")))
	assert.Equal(t, []string{"a1", "a2"}, search("t1", filter.Not(filter.Exists("lang"))))
	assert.Empty(t, search("t1", filter.Eq("draft", true)))

	// Invalid input is rejected before anything is sent.
	srv.ResetCalls()
	err = s.SetMetadata(t.Context(), vectorstore.Filter{}, record.Metadata{"a": "b"})
	assert.ErrorIs(t, err, record.ErrInvalidInput)
	err = s.SetMetadata(t.Context(), vectorstore.Filter{TenantID: "t1"}, record.Metadata{"a.b": "c"})
	assert.ErrorIs(t, err, record.ErrInvalidInput)
	err = s.SetMetadata(t.Context(), vectorstore.Filter{TenantID: "t1", Metadata: filter.Filter{Op: "bogus"}}, nil)
	assert.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Empty(t, srv.Calls())
}

func TestMetadataFilterErrors(t *testing.T) {
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{MetadataFields: metaFields})
	q := func(f filter.Filter) error {
		_, err := s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 1,
			Filter: vectorstore.Filter{TenantID: "t1", Metadata: f}})
		return err
	}
	// An invalid filter names the bad condition.
	err := q(filter.And(filter.Eq("lang", "en"), filter.Eq("bad key", "x")))
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "filter.and[1].field")
	// Strict mode: an undeclared field, or a condition its index cannot
	// serve, is rejected by Qdrant and names the payload key.
	err = q(filter.Eq("undeclared", "x"))
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "meta.undeclared")
	err = q(filter.Eq("year", "2024"))
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "meta.year")
	// Declared fields need valid names and types.
	_, err = qdrant.New(srv.Client(t), qdrant.Options{MetadataFields: []qdrant.MetadataField{{Name: "a.b", Type: qdrant.MetadataKeyword}}})
	assert.ErrorIs(t, err, record.ErrInvalidInput)
	_, err = qdrant.New(srv.Client(t), qdrant.Options{MetadataFields: []qdrant.MetadataField{{Name: "a", Type: "text"}}})
	assert.ErrorIs(t, err, record.ErrInvalidInput)
	// A declared field already indexed with another type fails Init.
	s2 := newStore(t, srv, qdrant.Options{MetadataFields: []qdrant.MetadataField{{Name: "lang", Type: qdrant.MetadataNumber}}})
	err = s2.Init(t.Context(), space)
	require.ErrorIs(t, err, record.ErrInvalidInput)
	assert.Contains(t, err.Error(), "meta.lang")
}

// TestStringRangesRefined covers the paths where Qdrant's filter is a
// superset (ranges with string bounds): Delete, SetMetadata and List pages
// check points with filter.Match, and a time range over times in
// record.TimeLayout needs no second request.
func TestStringRangesRefined(t *testing.T) {
	docs := metaDocs(t)
	srv := qdrantfake.Start(t, qdrantfake.Options{})
	s := initStore(t, srv, qdrant.Options{NoStrictMode: true, MetadataFields: metaFields})
	require.NoError(t, s.Upsert(t.Context(), metaRecords(docs, "t1")))
	require.NoError(t, s.Upsert(t.Context(), metaRecords(docs, "t2")))

	// List in pages of one: each cursor names the next matching record,
	// "" after the last.
	f := vectorstore.Filter{TenantID: "t1", Metadata: filter.Lt("lang", "e")}
	var got []string
	cursor := ""
	for range len(docs) + 1 {
		recs, next, err := s.List(t.Context(), f, cursor, 1)
		require.NoError(t, err)
		for _, r := range recs {
			got = append(got, r.ID)
		}
		if next == "" {
			break
		}
		require.Len(t, recs, 1, "a page before the end is full")
		cursor = next
	}
	sort.Strings(got)
	assert.Equal(t, want(docs, f.Metadata), got)

	// SetMetadata and Delete by a string range.
	set := filter.Gte("lang", "en")
	require.NoError(t, s.SetMetadata(t.Context(), vectorstore.Filter{TenantID: "t1", Metadata: set}, record.Metadata{"lang": "set"}))
	for i := range docs {
		if set.Match(docs[i]) {
			docs[i] = record.Metadata{"lang": "set"}
		}
	}
	del := filter.Or(filter.Lt("lang", "e"), filter.Gte("at", t2024))
	require.NoError(t, s.Delete(t.Context(), vectorstore.Filter{TenantID: "t1", Metadata: del}))
	var left []string
	for i, m := range docs {
		if !del.Match(m) {
			left = append(left, fmt.Sprintf("c%02d", i))
		}
	}
	res, err := s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 100, Filter: vectorstore.Filter{TenantID: "t1"}})
	require.NoError(t, err)
	assert.Equal(t, left, ids(res))
	res, err = s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 100,
		Filter: vectorstore.Filter{TenantID: "t1", Metadata: filter.Eq("lang", "set")}})
	require.NoError(t, err)
	assert.Equal(t, want(docs, filter.Eq("lang", "set")), ids(res))
	res, err = s.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 100, Filter: vectorstore.Filter{TenantID: "t2"}})
	require.NoError(t, err)
	assert.Len(t, res, len(docs), "the other tenant is untouched")

	// Times in record.TimeLayout only: the datetime range is exact, one
	// request returns the top k.
	srv2 := qdrantfake.Start(t, qdrantfake.Options{})
	s2 := initStore(t, srv2, qdrant.Options{MetadataFields: metaFields})
	var recs []vectorstore.Record
	for i := range 50 {
		recs = append(recs, vectorstore.Record{ID: fmt.Sprintf("r%02d", i), TenantID: "t", Vector: []float32{1, float32(i), 0, 0},
			Metadata: record.Metadata{"at": record.FormatTime(t2023.Add(time.Duration(i) * time.Hour))}})
	}
	require.NoError(t, s2.Upsert(t.Context(), recs))
	srv2.ResetCalls()
	res, err = s2.Search(t.Context(), vectorstore.Query{Vector: []float32{1, 0, 0, 0}, TopK: 5,
		Filter: vectorstore.Filter{TenantID: "t", Metadata: filter.Gte("at", t2023.Add(40*time.Hour))}})
	require.NoError(t, err)
	assert.Equal(t, []string{"r40", "r41", "r42", "r43", "r44"}, ids(res))
	assert.Len(t, srv2.CallsTo("Query"), 1)
}

func TestParseMetadataFields(t *testing.T) {
	got, err := qdrant.ParseMetadataFields("F", " lang:keyword, year:number,draft:bool,published:time,")
	require.NoError(t, err)
	assert.Equal(t, []qdrant.MetadataField{{Name: "lang", Type: qdrant.MetadataKeyword}, {Name: "year", Type: qdrant.MetadataNumber},
		{Name: "draft", Type: qdrant.MetadataBool}, {Name: "published", Type: qdrant.MetadataTime}}, got)
	got, err = qdrant.ParseMetadataFields("F", "")
	require.NoError(t, err)
	assert.Empty(t, got)
	for _, bad := range []string{"lang", "lang:text", "a.b:keyword", "x:bool,x:bool"} {
		_, err := qdrant.ParseMetadataFields("F", bad)
		require.ErrorIs(t, err, record.ErrInvalidInput, bad)
		assert.Contains(t, err.Error(), "F", bad)
	}
}
