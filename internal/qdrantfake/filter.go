package qdrantfake

import (
	"fmt"
	"strings"

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
		return len(values(p.payload, o.IsEmpty.GetKey())) == 0, nil
	case *qdrant.Condition_IsNull:
		for _, v := range rawValues(p.payload, o.IsNull.GetKey()) {
			if _, ok := v.GetKind().(*qdrant.Value_NullValue); ok {
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

func matchField(fc *qdrant.FieldCondition, p *point) (bool, error) {
	if fc.GetMatch() == nil || fc.Range != nil || fc.GeoBoundingBox != nil || fc.GeoRadius != nil ||
		fc.ValuesCount != nil || fc.GeoPolygon != nil || fc.DatetimeRange != nil || fc.IsEmpty != nil || fc.IsNull != nil {
		return false, status.Errorf(codes.Unimplemented, "qdrantfake: only match conditions are implemented (key %q)", fc.GetKey())
	}
	key := fc.GetKey()
	switch m := fc.GetMatch().GetMatchValue().(type) {
	case *qdrant.Match_Keyword:
		return anyValue(p.payload, key, func(v *qdrant.Value) bool { return isString(v, m.Keyword) }), nil
	case *qdrant.Match_Keywords:
		return anyValue(p.payload, key, func(v *qdrant.Value) bool {
			s, ok := v.GetKind().(*qdrant.Value_StringValue)
			return ok && contains(m.Keywords.GetStrings(), s.StringValue)
		}), nil
	case *qdrant.Match_ExceptKeywords:
		// A value not in the list matches. How Qdrant treats a missing
		// field here is not verified (the adapter never sends except).
		return anyValue(p.payload, key, func(v *qdrant.Value) bool {
			s, ok := v.GetKind().(*qdrant.Value_StringValue)
			return ok && !contains(m.ExceptKeywords.GetStrings(), s.StringValue)
		}), nil
	case *qdrant.Match_Integer:
		return anyValue(p.payload, key, func(v *qdrant.Value) bool {
			i, ok := v.GetKind().(*qdrant.Value_IntegerValue)
			return ok && i.IntegerValue == m.Integer
		}), nil
	case *qdrant.Match_Integers:
		return anyValue(p.payload, key, func(v *qdrant.Value) bool {
			i, ok := v.GetKind().(*qdrant.Value_IntegerValue)
			return ok && containsInt(m.Integers.GetIntegers(), i.IntegerValue)
		}), nil
	case *qdrant.Match_Boolean:
		return anyValue(p.payload, key, func(v *qdrant.Value) bool {
			b, ok := v.GetKind().(*qdrant.Value_BoolValue)
			return ok && b.BoolValue == m.Boolean
		}), nil
	default:
		return false, status.Errorf(codes.Unimplemented, "qdrantfake: match %T is not implemented", m)
	}
}

func isString(v *qdrant.Value, want string) bool {
	s, ok := v.GetKind().(*qdrant.Value_StringValue)
	return ok && s.StringValue == want
}

// anyValue reports whether pred holds for a value at key, lists flattened
// (Qdrant matches a list payload when any element matches). A plain key
// is looked up without allocating.
func anyValue(payload map[string]*qdrant.Value, key string, pred func(*qdrant.Value) bool) bool {
	if !strings.Contains(key, ".") {
		v, ok := payload[key]
		if !ok {
			return false
		}
		if l := v.GetListValue(); l != nil {
			for _, e := range l.GetValues() {
				if pred(e) {
					return true
				}
			}
			return false
		}
		return pred(v)
	}
	for _, v := range values(payload, key) {
		if pred(v) {
			return true
		}
	}
	return false
}

// rawValues follows a dotted key ("a.b") through struct values.
func rawValues(payload map[string]*qdrant.Value, key string) []*qdrant.Value {
	parts := strings.Split(key, ".")
	cur := []*qdrant.Value{}
	if v, ok := payload[parts[0]]; ok {
		cur = append(cur, v)
	}
	for _, part := range parts[1:] {
		var next []*qdrant.Value
		for _, v := range flatten(cur) {
			if s := v.GetStructValue(); s != nil {
				if w, ok := s.GetFields()[part]; ok {
					next = append(next, w)
				}
			}
		}
		cur = next
	}
	return cur
}

// values returns the values at key, with lists flattened (Qdrant matches a
// list payload when any element matches) and nulls dropped.
func values(payload map[string]*qdrant.Value, key string) []*qdrant.Value {
	var out []*qdrant.Value
	for _, v := range flatten(rawValues(payload, key)) {
		if _, null := v.GetKind().(*qdrant.Value_NullValue); !null {
			out = append(out, v)
		}
	}
	return out
}

func flatten(vs []*qdrant.Value) []*qdrant.Value {
	var out []*qdrant.Value
	for _, v := range vs {
		if l := v.GetListValue(); l != nil {
			out = append(out, l.GetValues()...)
			continue
		}
		out = append(out, v)
	}
	return out
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

func (c *collection) checkIndexed(f *qdrant.Filter) error {
	conds := append(append(append([]*qdrant.Condition{}, f.GetMust()...), f.GetShould()...), f.GetMustNot()...)
	conds = append(conds, f.GetMinShould().GetConditions()...)
	for _, cond := range conds {
		switch o := cond.GetConditionOneOf().(type) {
		case *qdrant.Condition_Filter:
			if err := c.checkIndexed(o.Filter); err != nil {
				return err
			}
		case *qdrant.Condition_Field:
			var want []qdrant.PayloadSchemaType
			var names string
			switch o.Field.GetMatch().GetMatchValue().(type) {
			case *qdrant.Match_Keyword, *qdrant.Match_Keywords, *qdrant.Match_ExceptKeywords:
				want, names = []qdrant.PayloadSchemaType{qdrant.PayloadSchemaType_Keyword}, "[keyword]"
			case *qdrant.Match_Integer, *qdrant.Match_Integers, *qdrant.Match_ExceptIntegers:
				want, names = []qdrant.PayloadSchemaType{qdrant.PayloadSchemaType_Integer}, "[integer]"
			case *qdrant.Match_Boolean:
				want, names = []qdrant.PayloadSchemaType{qdrant.PayloadSchemaType_Bool}, "[bool]"
			default:
				continue
			}
			key := o.Field.GetKey()
			idx, ok := c.indexes[key]
			if !ok || !hasType(want, idx.GetDataType()) {
				return status.Error(codes.InvalidArgument, fmt.Sprintf(
					"Bad request: Index required but not found for \"%s\" of one of the following types: %s. Help: Create an index for this key or use a different filter.",
					key, names))
			}
		}
	}
	return nil
}

func hasType(list []qdrant.PayloadSchemaType, t qdrant.PayloadSchemaType) bool {
	for _, x := range list {
		if x == t {
			return true
		}
	}
	return false
}
