package qdrantfake

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// matchFilter reports whether p satisfies f, with Qdrant's semantics: every
// must condition holds, no must_not condition holds, and when there are
// should conditions, at least one (or min_should.min_count) holds. A nil
// filter matches everything.
func matchFilter(f *qdrant.Filter, p *point) (bool, error) {
	if f == nil {
		return true, nil
	}
	for _, c := range f.GetMust() {
		ok, err := matchCondition(c, p)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, c := range f.GetMustNot() {
		ok, err := matchCondition(c, p)
		if err != nil || ok {
			return false, err
		}
	}
	if len(f.GetShould()) > 0 {
		n := 0
		for _, c := range f.GetShould() {
			ok, err := matchCondition(c, p)
			if err != nil {
				return false, err
			}
			if ok {
				n++
			}
		}
		if n == 0 {
			return false, nil
		}
	}
	if ms := f.GetMinShould(); ms != nil {
		n := 0
		for _, c := range ms.GetConditions() {
			ok, err := matchCondition(c, p)
			if err != nil {
				return false, err
			}
			if ok {
				n++
			}
		}
		if uint64(n) < ms.GetMinCount() {
			return false, nil
		}
	}
	return true, nil
}

func matchCondition(c *qdrant.Condition, p *point) (bool, error) {
	switch o := c.GetConditionOneOf().(type) {
	case *qdrant.Condition_Filter:
		return matchFilter(o.Filter, p)
	case *qdrant.Condition_HasId:
		for _, id := range o.HasId.GetHasId() {
			if u, ok := id.GetPointIdOptions().(*qdrant.PointId_Uuid); ok && len(p.key) > 2 && u.Uuid == p.key[2:] {
				return true, nil // the canonical form: no need to parse
			}
			key, _, err := pointKey(id)
			if err != nil {
				return false, err
			}
			if key == p.key {
				return true, nil
			}
		}
		return false, nil
	case *qdrant.Condition_IsEmpty:
		return isEmpty(rawValues(p.payload, o.IsEmpty.GetKey())), nil
	case *qdrant.Condition_IsNull:
		for _, v := range rawValues(p.payload, o.IsNull.GetKey()) {
			if isNull(v) {
				return true, nil
			}
		}
		return false, nil
	case *qdrant.Condition_Field:
		return matchField(o.Field, p)
	default:
		return false, status.Errorf(codes.Unimplemented, "qdrantfake: condition %T is not implemented", o)
	}
}

// matchField evaluates a field condition as Qdrant's ValueChecker does:
// the values at the key (see rawValues) are checked one by one, a list
// value holding when any of its elements does (one level: a list inside a
// list never matches). Each kind of condition looks only at values of its
// own JSON type: a keyword match at strings, an integer match at numbers
// that are integers (a number sent as a double, even 3.0, is not one), a
// boolean match at booleans, a range at numbers (integers and doubles
// alike), a datetime range at strings that parse as datetimes.
func matchField(fc *qdrant.FieldCondition, p *point) (bool, error) {
	if fc.GeoBoundingBox != nil || fc.GeoRadius != nil || fc.ValuesCount != nil || fc.GeoPolygon != nil || fc.IsEmpty != nil || fc.IsNull != nil {
		return false, status.Errorf(codes.Unimplemented, "qdrantfake: only match, range and datetime_range conditions are implemented (key %q)", fc.GetKey())
	}
	var checks []func(*qdrant.Value) bool
	if m := fc.GetMatch(); m != nil {
		check, err := matchCheck(m)
		if err != nil {
			return false, err
		}
		checks = append(checks, check)
	}
	if r := fc.GetRange(); r != nil {
		checks = append(checks, func(v *qdrant.Value) bool {
			x, ok := number(v)
			return ok && inRange(x, r)
		})
	}
	if r := fc.GetDatetimeRange(); r != nil {
		checks = append(checks, func(v *qdrant.Value) bool {
			s, ok := v.GetKind().(*qdrant.Value_StringValue)
			if !ok {
				return false
			}
			t, ok := parseDatetime(s.StringValue)
			return ok && inDatetimeRange(t, r)
		})
	}
	if len(checks) == 0 {
		return false, status.Errorf(codes.InvalidArgument, "Wrong input: field condition on %q has no condition", fc.GetKey())
	}
	// Qdrant ORs the parts of one field condition (match || range || …).
	return anyValue(p.payload, fc.GetKey(), func(v *qdrant.Value) bool {
		for _, c := range checks {
			if c(v) {
				return true
			}
		}
		return false
	}), nil
}

func matchCheck(m *qdrant.Match) (func(*qdrant.Value) bool, error) {
	switch m := m.GetMatchValue().(type) {
	case *qdrant.Match_Keyword:
		return func(v *qdrant.Value) bool { return isString(v, m.Keyword) }, nil
	case *qdrant.Match_Keywords:
		return func(v *qdrant.Value) bool {
			s, ok := v.GetKind().(*qdrant.Value_StringValue)
			return ok && contains(m.Keywords.GetStrings(), s.StringValue)
		}, nil
	case *qdrant.Match_ExceptKeywords:
		// A value not in the list matches. How Qdrant treats a missing
		// field here is not verified (the adapter never sends except).
		return func(v *qdrant.Value) bool {
			s, ok := v.GetKind().(*qdrant.Value_StringValue)
			return ok && !contains(m.ExceptKeywords.GetStrings(), s.StringValue)
		}, nil
	case *qdrant.Match_Integer:
		return func(v *qdrant.Value) bool {
			i, ok := v.GetKind().(*qdrant.Value_IntegerValue)
			return ok && i.IntegerValue == m.Integer
		}, nil
	case *qdrant.Match_Integers:
		return func(v *qdrant.Value) bool {
			i, ok := v.GetKind().(*qdrant.Value_IntegerValue)
			return ok && containsInt(m.Integers.GetIntegers(), i.IntegerValue)
		}, nil
	case *qdrant.Match_Boolean:
		return func(v *qdrant.Value) bool {
			b, ok := v.GetKind().(*qdrant.Value_BoolValue)
			return ok && b.BoolValue == m.Boolean
		}, nil
	default:
		return nil, status.Errorf(codes.Unimplemented, "qdrantfake: match %T is not implemented", m)
	}
}

// number returns a number payload value (integer or double) as a float64,
// as Qdrant's range check does (serde_json's as_f64).
func number(v *qdrant.Value) (float64, bool) {
	switch k := v.GetKind().(type) {
	case *qdrant.Value_DoubleValue:
		return k.DoubleValue, true
	case *qdrant.Value_IntegerValue:
		return float64(k.IntegerValue), true
	}
	return 0, false
}

func inRange(x float64, r *qdrant.Range) bool {
	return (r.Lt == nil || x < r.GetLt()) && (r.Gt == nil || x > r.GetGt()) &&
		(r.Lte == nil || x <= r.GetLte()) && (r.Gte == nil || x >= r.GetGte())
}

// datetimeLayouts are the forms Qdrant's payload documentation lists for
// datetime values: RFC 3339 (with or without fractional seconds), and
// without a zone (then UTC), with 'T' or a space, and a date alone.
var datetimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseDatetime parses a payload string as Qdrant parses datetimes, to
// microseconds (the precision of Qdrant's datetime index).
func parseDatetime(s string) (time.Time, bool) {
	for _, l := range datetimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Truncate(time.Microsecond), true
		}
	}
	return time.Time{}, false
}

func inDatetimeRange(t time.Time, r *qdrant.DatetimeRange) bool {
	bound := func(ts interface{ AsTime() time.Time }) time.Time {
		return ts.AsTime().UTC().Truncate(time.Microsecond)
	}
	return (r.Lt == nil || t.Before(bound(r.GetLt()))) && (r.Gt == nil || t.After(bound(r.GetGt()))) &&
		(r.Lte == nil || !t.After(bound(r.GetLte()))) && (r.Gte == nil || !t.Before(bound(r.GetGte())))
}

func isString(v *qdrant.Value, want string) bool {
	s, ok := v.GetKind().(*qdrant.Value_StringValue)
	return ok && s.StringValue == want
}

func isNull(v *qdrant.Value) bool {
	_, ok := v.GetKind().(*qdrant.Value_NullValue)
	return ok || v.GetKind() == nil
}

// isEmpty is Qdrant's check_is_empty over the values at a key: true when
// there are none (the key is missing) or every one is null or an empty
// list. A list holding only nulls is not empty.
func isEmpty(vs []*qdrant.Value) bool {
	for _, v := range vs {
		if isNull(v) {
			continue
		}
		if l := v.GetListValue(); l != nil && len(l.GetValues()) == 0 {
			continue
		}
		return false
	}
	return true
}

// anyValue reports whether pred holds for a value at key, a list value
// holding when pred holds for one of its elements (Qdrant matches a list
// payload when any element matches; lists inside lists are not opened).
func anyValue(payload map[string]*qdrant.Value, key string, pred func(*qdrant.Value) bool) bool {
	for _, v := range rawValues(payload, key) {
		if l := v.GetListValue(); l != nil {
			for _, e := range l.GetValues() {
				if e.GetListValue() == nil && pred(e) {
					return true
				}
			}
			continue
		}
		if pred(v) {
			return true
		}
	}
	return false
}

// rawValues returns the values at a dotted key ("a.b") as Qdrant's JSON
// path lookup does: each part selects a key of an object; a list met on
// the way is not entered (Qdrant needs "a[].b" for that, which the fake
// does not implement), and the value at the end is returned as it is (a
// list stays a list).
func rawValues(payload map[string]*qdrant.Value, key string) []*qdrant.Value {
	parts := strings.Split(key, ".")
	v, ok := payload[parts[0]]
	if !ok {
		return nil
	}
	for _, part := range parts[1:] {
		s := v.GetStructValue()
		if s == nil {
			return nil
		}
		if v, ok = s.GetFields()[part]; !ok {
			return nil
		}
	}
	return []*qdrant.Value{v}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsInt(list []int64, i int64) bool {
	for _, x := range list {
		if x == i {
			return true
		}
	}
	return false
}

// checkStrict rejects, in a strict-mode collection that forbids unindexed
// filtering (for retrieval when read, for updates otherwise), a filter on a
// payload field without an index of a type the condition can use.
func (c *collection) checkStrict(f *qdrant.Filter, read bool) error {
	if f == nil || c.strict == nil || !c.strict.GetEnabled() {
		return nil
	}
	forbid := c.strict.UnindexedFilteringUpdate
	if read {
		forbid = c.strict.UnindexedFilteringRetrieve
	}
	if forbid == nil || *forbid {
		return nil
	}
	return c.checkIndexed(f)
}

// checkIndexed reports the first condition of f on a key without a payload
// index that can serve it, as Qdrant's strict mode does (its
// infer_index_from_field_condition): a keyword match needs a keyword index
// (or a uuid index when every value is a UUID), an integer match an integer
// index, a boolean match a bool index, a range a float or integer index, a
// datetime range a datetime index, and is_empty and is_null an index of
// any type.
func (c *collection) checkIndexed(f *qdrant.Filter) error {
	conds := append(append(append([]*qdrant.Condition{}, f.GetMust()...), f.GetShould()...), f.GetMustNot()...)
	conds = append(conds, f.GetMinShould().GetConditions()...)
	for _, cond := range conds {
		var key string
		var want []qdrant.PayloadSchemaType
		switch o := cond.GetConditionOneOf().(type) {
		case *qdrant.Condition_Filter:
			if err := c.checkIndexed(o.Filter); err != nil {
				return err
			}
			continue
		case *qdrant.Condition_IsEmpty:
			key, want = o.IsEmpty.GetKey(), nil
		case *qdrant.Condition_IsNull:
			key, want = o.IsNull.GetKey(), nil
		case *qdrant.Condition_Field:
			key = o.Field.GetKey()
			switch m := o.Field.GetMatch().GetMatchValue().(type) {
			case *qdrant.Match_Keyword:
				want = keywordTypes(m.Keyword)
			case *qdrant.Match_Keywords:
				want = keywordTypes(m.Keywords.GetStrings()...)
			case *qdrant.Match_ExceptKeywords:
				want = keywordTypes(m.ExceptKeywords.GetStrings()...)
			case *qdrant.Match_Integer, *qdrant.Match_Integers, *qdrant.Match_ExceptIntegers:
				want = []qdrant.PayloadSchemaType{qdrant.PayloadSchemaType_Integer}
			case *qdrant.Match_Boolean:
				want = []qdrant.PayloadSchemaType{qdrant.PayloadSchemaType_Bool}
			}
			if o.Field.GetRange() != nil {
				want = append(want, qdrant.PayloadSchemaType_Float, qdrant.PayloadSchemaType_Integer)
			}
			if o.Field.GetDatetimeRange() != nil {
				want = append(want, qdrant.PayloadSchemaType_Datetime)
			}
			if want == nil {
				continue
			}
		default:
			continue
		}
		idx, ok := c.indexes[key]
		if ok && (want == nil || hasType(want, idx.GetDataType())) {
			continue
		}
		names := "[keyword, integer, float, geo, text, bool, datetime, uuid]"
		if want != nil {
			parts := make([]string, len(want))
			for i, t := range want {
				parts[i] = strings.ToLower(t.String())
			}
			names = "[" + strings.Join(parts, ", ") + "]"
		}
		return status.Error(codes.InvalidArgument, fmt.Sprintf(
			"Bad request: Index required but not found for \"%s\" of one of the following types: %s. Help: Create an index for this key or use a different filter.",
			key, names))
	}
	return nil
}

// keywordTypes are the index types that serve a keyword match on values:
// uuid (when every value is a UUID) or keyword.
func keywordTypes(values ...string) []qdrant.PayloadSchemaType {
	for _, v := range values {
		if _, err := uuid.Parse(v); err != nil {
			return []qdrant.PayloadSchemaType{qdrant.PayloadSchemaType_Keyword}
		}
	}
	return []qdrant.PayloadSchemaType{qdrant.PayloadSchemaType_Uuid, qdrant.PayloadSchemaType_Keyword}
}

func hasType(list []qdrant.PayloadSchemaType, t qdrant.PayloadSchemaType) bool {
	for _, x := range list {
		if x == t {
			return true
		}
	}
	return false
}
