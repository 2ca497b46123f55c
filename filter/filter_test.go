package filter_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
)

func TestMatch(t *testing.T) {
	day := time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))
	m, err := record.NormalizeMetadata("metadata", record.Metadata{
		"lang": "en", "year": 2021, "tags": []string{"go", "sql"}, "draft": false,
		"published": day, "empty": []any{}, "nothing": nil,
	})
	require.NoError(t, err)
	cases := []struct {
		f    filter.Filter
		want bool
	}{
		{filter.Filter{}, true},
		{filter.Eq("lang", "en"), true},
		{filter.Eq("lang", "fr"), false},
		{filter.Eq("year", 2021), true},
		{filter.Eq("year", "2021"), false}, // types never mix
		{filter.Eq("draft", false), true},
		{filter.Eq("missing", "x"), false},
		{filter.Eq("tags", "sql"), true}, // any element
		{filter.In("tags", "rust", "go"), true},
		{filter.In("lang", "fr", "de"), false},
		{filter.Gte("year", 2021), true},
		{filter.Gt("year", 2021), false},
		{filter.Between("year", 2020, 2022), true},
		{filter.Lt("year", 2021), false},
		{filter.Lte("year", 2021), true},
		{filter.Gte("lang", 3), false}, // a number bound never matches a string
		{filter.Gte("published", day.Add(-time.Hour)), true},
		{filter.Lt("published", day), false},
		{filter.Between("published", day, day.Add(time.Microsecond)), true},
		{filter.Exists("lang"), true},
		{filter.Exists("empty"), false},
		{filter.Exists("nothing"), false},
		{filter.Exists("missing"), false},
		{filter.Not(filter.Eq("missing", "x")), true},
		{filter.Not(filter.Eq("lang", "en")), false},
		{filter.And(filter.Eq("lang", "en"), filter.Gte("year", 2022)), false},
		{filter.Or(filter.Eq("lang", "fr"), filter.Gte("year", 2020)), true},
		{filter.And(), true},
	}
	for _, c := range cases {
		require.NoError(t, c.f.Validate("filter"), "%+v", c.f)
		assert.Equal(t, c.want, c.f.Match(m), "%+v", c.f)
		// The JSON form round-trips to a filter with the same answers.
		b, err := json.Marshal(c.f)
		require.NoError(t, err)
		var back filter.Filter
		require.NoError(t, json.Unmarshal(b, &back), string(b))
		assert.Equal(t, c.want, back.Match(m), "after JSON %s", b)
	}
}

func TestValidate(t *testing.T) {
	bad := []struct {
		f     filter.Filter
		field string
	}{
		{filter.Eq("bad key", "x"), "filter.field"},
		{filter.Eq("", "x"), "filter.field"},
		{filter.Eq("k", []int{1}), "filter.eq"},
		{filter.In("k"), "filter.in"},
		{filter.Filter{Op: filter.OpRange, Field: "k"}, "filter"},
		{filter.Filter{Op: filter.OpRange, Field: "k", Gt: 1.0, Lt: "x"}, "filter.lt"},
		{filter.Filter{Op: "like", Field: "k"}, "filter"},
		{filter.And(filter.Eq("a", 1), filter.Eq("b b", 1)), "filter.and[1].field"},
		{filter.Not(filter.Filter{}), "filter.not"},
	}
	for _, c := range bad {
		err := c.f.Validate("filter")
		require.Error(t, err, "%+v", c.f)
		assert.ErrorIs(t, err, record.ErrInvalidInput)
		var v *record.ValidationError
		require.True(t, errors.As(err, &v))
		assert.Equal(t, c.field, v.Fields[0].Field, err.Error())
	}
	deep := filter.Eq("k", 1)
	for range filter.MaxDepth + 1 {
		deep = filter.Not(deep)
	}
	assert.ErrorIs(t, deep.Validate("filter"), record.ErrInvalidInput)
}

func TestUnmarshalErrors(t *testing.T) {
	for _, s := range []string{`[]`, `{"field":"k"}`, `{"field":"k","eq":1,"in":[1]}`, `{"foo":1}`, `{"not":null}`} {
		var f filter.Filter
		err := json.Unmarshal([]byte(s), &f)
		if err == nil {
			err = f.Validate("filter")
		}
		assert.Error(t, err, s)
	}
	var f filter.Filter
	require.NoError(t, json.Unmarshal([]byte(`{"and":[{"field":"year","gte":2020,"lt":2024},{"field":"tag","exists":false}]}`), &f))
	assert.True(t, f.Match(record.Metadata{"year": 2021.0}))
	assert.False(t, f.Match(record.Metadata{"year": 2021.0, "tag": "x"}))
	assert.Equal(t, []string{"year", "tag"}, f.Fields())
}

func ExampleAnd() {
	f := filter.And(filter.Eq("lang", "en"), filter.Gte("year", 2020))
	b, _ := json.Marshal(f)
	fmt.Println(string(b))
	fmt.Println(f.Match(record.Metadata{"lang": "en", "year": 2024.0}))
	// Output:
	// {"and":[{"field":"lang","eq":"en"},{"field":"year","gte":2020}]}
	// true
}
