package qdrant

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	qc "github.com/qdrant/go-client/qdrant"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// FieldMeta is the payload key under which a record's Metadata is stored,
// as an object: a metadata field "lang" is the payload path "meta.lang".
// Keeping it under one key means metadata never collides with the
// adapter's own payload fields.
const FieldMeta = "meta"

// FieldMetaStrings is the payload key listing the metadata fields of a
// record that hold a string other than a time in record.TimeLayout (with
// a keyword index). A range with string bounds uses it: Qdrant compares
// strings only as datetimes, so records with other strings in the field
// are fetched and checked with filter.Match (see translate).
const FieldMetaStrings = "meta_strings"

// MetadataType is the type of a declared metadata field, which decides
// the payload index created for it.
type MetadataType string

// Metadata field types.
const (
	// MetadataKeyword: string values, for Eq and In (a keyword index).
	MetadataKeyword MetadataType = "keyword"
	// MetadataNumber: numbers, for Eq, In and ranges (a float index).
	MetadataNumber MetadataType = "number"
	// MetadataBool: booleans, for Eq and In (a bool index).
	MetadataBool MetadataType = "bool"
	// MetadataTime: times as strings in record.TimeLayout, for ranges (a
	// datetime index).
	MetadataTime MetadataType = "time"
)

// MetadataField declares a metadata field that filters use: Init creates
// a payload index on "meta.<Name>" of a type suited to Type. In a
// collection with strict mode (the default for collections this package
// creates), Qdrant rejects a filter on a field without a suitable index,
// so every field a filter names must be declared, and each condition must
// suit the field's type: Eq and In of strings on a keyword field, Eq, In
// and ranges of numbers on a number field, Eq of booleans on a bool field,
// ranges of times on a time field; Exists on any declared field.
type MetadataField struct {
	Name string
	Type MetadataType
}

// ParseMetadataFields reads declared metadata fields from their text form,
// "name:type" separated by commas ("lang:keyword,year:number,
// published:time"; types keyword, number, bool, time), as a host takes
// them from its configuration. Empty text gives none. A bad entry wraps
// record.ErrInvalidInput naming field (such as "MINIRAG_QDRANT_METADATA_FIELDS").
func ParseMetadataFields(field, text string) ([]MetadataField, error) {
	var out []MetadataField
	for i, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, typ, ok := strings.Cut(part, ":")
		if !ok {
			return nil, record.Invalid(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("%q is not name:type", part))
		}
		out = append(out, MetadataField{Name: strings.TrimSpace(name), Type: MetadataType(strings.TrimSpace(typ))})
	}
	if err := validateMetadataFields(out); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return out, nil
}

func (t MetadataType) fieldType() (qc.FieldType, qc.PayloadSchemaType, bool) {
	switch t {
	case MetadataKeyword:
		return qc.FieldType_FieldTypeKeyword, qc.PayloadSchemaType_Keyword, true
	case MetadataNumber:
		return qc.FieldType_FieldTypeFloat, qc.PayloadSchemaType_Float, true
	case MetadataBool:
		return qc.FieldType_FieldTypeBool, qc.PayloadSchemaType_Bool, true
	case MetadataTime:
		return qc.FieldType_FieldTypeDatetime, qc.PayloadSchemaType_Datetime, true
	}
	return 0, 0, false
}

func validateMetadataFields(fields []MetadataField) error {
	v := &record.ValidationError{}
	seen := map[string]bool{}
	for i, f := range fields {
		if !record.ValidMetadataKey(f.Name) {
			v.Add(fmt.Sprintf("metadata_fields[%d].name", i), fmt.Sprintf("%q is not a metadata key", f.Name))
		} else if seen[f.Name] {
			v.Add(fmt.Sprintf("metadata_fields[%d].name", i), fmt.Sprintf("%q is declared twice", f.Name))
		}
		seen[f.Name] = true
		if _, _, ok := f.Type.fieldType(); !ok {
			v.Add(fmt.Sprintf("metadata_fields[%d].type", i), fmt.Sprintf("%q is not keyword, number, bool or time", string(f.Type)))
		}
	}
	return v.Err()
}

// validKey is record.ValidMetadataKey without a regular expression (it
// runs for every key of every record upserted).
func validKey(k string) bool {
	if len(k) == 0 || len(k) > record.MaxMetadataKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// metaValue converts metadata to the payload value stored under
// FieldMeta, or nil when there is none. Numbers are sent as doubles (so a
// filter compares them with ranges, which Qdrant applies to integers and
// doubles alike). Null elements of a top-level array are dropped: no
// condition matches a null, and Qdrant's is_empty counts [null] as not
// empty where filter.Exists counts it as absent.
func metaValue(field string, m record.Metadata) (*qc.Value, error) {
	if len(m) == 0 {
		return nil, nil
	}
	fields := make(map[string]*qc.Value, len(m))
	for k, v := range m {
		if !validKey(k) {
			return nil, record.Invalid(field, fmt.Sprintf("key %q: keys are 1 to %d ASCII letters, digits, '_' or '-'", k, record.MaxMetadataKeyLen))
		}
		pv, err := payloadValue(v, 2, true)
		if err != nil {
			return nil, record.Invalid(field+"."+k, err.Error())
		}
		fields[k] = pv
	}
	return qc.NewValueStruct(&qc.Struct{Fields: fields}), nil
}

func payloadValue(v any, depth int, top bool) (*qc.Value, error) {
	switch x := v.(type) {
	case nil:
		return qc.NewValueNull(), nil
	case string:
		return qc.NewValueString(x), nil
	case float64:
		return qc.NewValueDouble(x), nil
	case bool:
		return qc.NewValueBool(x), nil
	case []any:
		vals := make([]*qc.Value, 0, len(x))
		for _, e := range x {
			if e == nil && top {
				continue
			}
			pv, err := payloadValue(e, depth+1, false)
			if err != nil {
				return nil, err
			}
			vals = append(vals, pv)
		}
		return qc.NewValueFromList(vals...), nil
	case map[string]any:
		fields := make(map[string]*qc.Value, len(x))
		for k, e := range x {
			pv, err := payloadValue(e, depth+1, false)
			if err != nil {
				return nil, err
			}
			fields[k] = pv
		}
		return qc.NewValueStruct(&qc.Struct{Fields: fields}), nil
	default:
		// Not in JSON form (an int, a time.Time, …): normalize it first.
		nv, err := record.NormalizeValue(v, depth)
		if err != nil {
			return nil, err
		}
		switch nv.(type) {
		case nil, string, float64, bool, []any, map[string]any:
			return payloadValue(nv, depth, top)
		}
		return nil, fmt.Errorf("%T is not a JSON value", v)
	}
}

// metaKey is the payload path of a metadata field.
func metaKey(field string) string { return FieldMeta + "." + field }

// cond is a Qdrant condition, or the constant true or false.
type cond struct {
	c     *qc.Condition
	konst int // 0: c; 1: true; -1: false
}

var (
	condTrue  = cond{konst: 1}
	condFalse = cond{konst: -1}
)

func expr(c *qc.Condition) cond { return cond{c: c} }

func andConds(cs []cond) cond {
	var keep []*qc.Condition
	for _, c := range cs {
		switch c.konst {
		case -1:
			return condFalse
		case 0:
			keep = append(keep, c.c)
		}
	}
	switch len(keep) {
	case 0:
		return condTrue
	case 1:
		return expr(keep[0])
	}
	return expr(qc.NewFilterAsCondition(&qc.Filter{Must: keep}))
}

func orConds(cs []cond) cond {
	var keep []*qc.Condition
	for _, c := range cs {
		switch c.konst {
		case 1:
			return condTrue
		case 0:
			keep = append(keep, c.c)
		}
	}
	switch len(keep) {
	case 0:
		return condFalse
	case 1:
		return expr(keep[0])
	}
	return expr(qc.NewFilterAsCondition(&qc.Filter{Should: keep}))
}

func notCond(c cond) cond {
	if c.konst != 0 {
		return cond{konst: -c.konst}
	}
	return expr(qc.NewFilterAsCondition(&qc.Filter{MustNot: []*qc.Condition{c.c}}))
}

// translation is a metadata filter in Qdrant's terms: upper holds for
// every record the filter matches, lower only for records it matches.
// When exact, both are the filter itself.
type translation struct {
	upper, lower cond
	exact        bool
}

// translate turns a valid metadata filter into Qdrant conditions with
// filter.Match's semantics:
//
//   - And, Or and Not become nested filters with must, should and
//     must_not. Qdrant evaluates each condition to true or false and
//     must_not negates it, so Not(c) matches records without the field,
//     as Match does.
//   - Eq and In of strings are a keyword match (match any for several);
//     of booleans a boolean match; of numbers a range gte = lte = v
//     (Qdrant's match takes integers only, and numbers are stored as
//     doubles). Values of several kinds become a should of those.
//   - A range of numbers is a range.
//   - Exists is must_not is_empty (is_empty holds for a missing field,
//     null and []; null elements are not stored, see metaValue).
//   - A range of strings is not exact: Qdrant orders strings only as
//     datetimes. With times as bounds it is a datetime range on the
//     field, exact for values that are times in record.TimeLayout (whose
//     string order is their time order), or a keyword match of the field
//     in FieldMetaStrings, which names the fields of a record holding
//     other strings (upper); and the datetime range without such strings
//     (lower). With other bounds, upper is true and lower false.
//
// Qdrant applies a condition to each element of an array and to values of
// its own type only, as Match does.
func translate(f filter.Filter) translation {
	switch f.Op {
	case filter.OpAnd, filter.OpOr:
		ups, lows := make([]cond, len(f.Args)), make([]cond, len(f.Args))
		exact := true
		for i, a := range f.Args {
			t := translate(a)
			ups[i], lows[i], exact = t.upper, t.lower, exact && t.exact
		}
		if f.Op == filter.OpAnd {
			return translation{andConds(ups), andConds(lows), exact}
		}
		return translation{orConds(ups), orConds(lows), exact}
	case filter.OpNot:
		t := translate(f.Args[0])
		return translation{notCond(t.lower), notCond(t.upper), t.exact}
	case filter.OpExists:
		c := notCond(expr(qc.NewIsEmpty(metaKey(f.Field))))
		return translation{c, c, true}
	case filter.OpEq, filter.OpIn:
		c := expr(valuesCondition(metaKey(f.Field), f.Values))
		return translation{c, c, true}
	case filter.OpRange:
		return rangeTranslation(f)
	}
	return translation{condFalse, condFalse, true} // not reached: f is valid
}

func valuesCondition(key string, values []any) *qc.Condition {
	var (
		strs  []string
		conds []*qc.Condition
		bools = map[bool]bool{}
		nums  = map[float64]bool{}
	)
	for _, v := range values {
		switch x := v.(type) {
		case string:
			strs = append(strs, x)
		case bool:
			if !bools[x] {
				bools[x] = true
				conds = append(conds, qc.NewMatchBool(key, x))
			}
		case float64:
			if !nums[x] {
				nums[x] = true
				conds = append(conds, qc.NewRange(key, &qc.Range{Gte: qc.PtrOf(x), Lte: qc.PtrOf(x)}))
			}
		}
	}
	switch len(strs) {
	case 0:
	case 1:
		conds = append(conds, qc.NewMatchKeyword(key, strs[0]))
	default:
		conds = append(conds, qc.NewMatchKeywords(key, strs...))
	}
	if len(conds) == 1 {
		return conds[0]
	}
	return qc.NewFilterAsCondition(&qc.Filter{Should: conds})
}

func rangeTranslation(f filter.Filter) translation {
	key := metaKey(f.Field)
	bounds := []any{f.Gt, f.Gte, f.Lt, f.Lte}
	for _, b := range bounds {
		if _, ok := b.(float64); ok {
			num := func(b any) *float64 {
				if x, ok := b.(float64); ok {
					return &x
				}
				return nil
			}
			c := expr(qc.NewRange(key, &qc.Range{Gt: num(f.Gt), Gte: num(f.Gte), Lt: num(f.Lt), Lte: num(f.Lte)}))
			return translation{c, c, true}
		}
	}
	r := &qc.DatetimeRange{}
	dsts := []**timestamppb.Timestamp{&r.Gt, &r.Gte, &r.Lt, &r.Lte}
	for i, b := range bounds {
		s, ok := b.(string)
		if !ok {
			continue
		}
		t, ok := layoutTime(s)
		if !ok {
			return translation{condTrue, condFalse, false}
		}
		*dsts[i] = timestamppb.New(t)
	}
	dt := expr(qc.NewDatetimeRange(key, r))
	odd := expr(qc.NewMatchKeyword(FieldMetaStrings, f.Field))
	return translation{orConds([]cond{dt, odd}), andConds([]cond{dt, notCond(odd)}), false}
}

// layoutTime parses s when it is a time written in record.TimeLayout
// ("2006-01-02T15:04:05.000000Z": fixed width, so the shape is checked
// before parsing, which rejects out-of-range fields).
func layoutTime(s string) (time.Time, bool) {
	if len(s) != len(record.TimeLayout) {
		return time.Time{}, false
	}
	for i := 0; i < len(s); i++ {
		c, l := s[i], record.TimeLayout[i]
		if l >= '0' && l <= '9' {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
		} else if c != l {
			return time.Time{}, false
		}
	}
	t, err := time.Parse(record.TimeLayout, s)
	return t, err == nil
}

// metaFilter is the Qdrant condition of f.Metadata (nil when zero) and the
// filter the returned points must still pass (zero when the condition is
// exact). An invalid filter wraps record.ErrInvalidInput naming "filter".
func metaFilter(f filter.Filter) (*qc.Condition, filter.Filter, error) {
	if f.IsZero() {
		return nil, filter.Filter{}, nil
	}
	if err := f.Validate("filter"); err != nil {
		return nil, filter.Filter{}, err
	}
	t := translate(f)
	var refine filter.Filter
	if !t.exact {
		refine = f
	}
	switch t.upper.konst {
	case 1:
		return nil, refine, nil
	case -1:
		return qc.NewHasID(), refine, nil // matches no point
	}
	return t.upper.c, refine, nil
}

// stringFields lists the top-level fields of a FieldMeta payload value
// holding a string (alone or in an array) that is not a time in
// record.TimeLayout: the payload's FieldMetaStrings.
func stringFields(meta *qc.Value) []string {
	var out []string
	for k, v := range meta.GetStructValue().GetFields() {
		vals := []*qc.Value{v}
		if l := v.GetListValue(); l != nil {
			vals = l.GetValues()
		}
		for _, e := range vals {
			if str, ok := e.GetKind().(*qc.Value_StringValue); ok {
				if _, isTime := layoutTime(str.StringValue); !isTime {
					out = append(out, k)
					break
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// metadataOf decodes the FieldMeta payload of a point.
func metadataOf(v *qc.Value) record.Metadata {
	fields := v.GetStructValue().GetFields()
	if len(fields) == 0 {
		return nil
	}
	m := make(record.Metadata, len(fields))
	for k, e := range fields {
		m[k] = anyOf(e)
	}
	return m
}

func anyOf(v *qc.Value) any {
	switch k := v.GetKind().(type) {
	case *qc.Value_StringValue:
		return k.StringValue
	case *qc.Value_DoubleValue:
		return k.DoubleValue
	case *qc.Value_IntegerValue:
		return float64(k.IntegerValue)
	case *qc.Value_BoolValue:
		return k.BoolValue
	case *qc.Value_ListValue:
		out := make([]any, len(k.ListValue.GetValues()))
		for i, e := range k.ListValue.GetValues() {
			out[i] = anyOf(e)
		}
		return out
	case *qc.Value_StructValue:
		out := make(map[string]any, len(k.StructValue.GetFields()))
		for f, e := range k.StructValue.GetFields() {
			out[f] = anyOf(e)
		}
		return out
	}
	return nil
}

// SetMetadata replaces the metadata of every point matching f (always
// within f.TenantID), leaving vectors and the other payload fields as they
// are: a SetPayload of FieldMeta by filter, or, for nil or empty m, a
// DeletePayload of it; both with wait=true. More than 1,000 f.IDs go in
// several requests (a failure leaves the earlier ones applied; calling
// again is safe).
func (s *Store) SetMetadata(ctx context.Context, f vectorstore.Filter, m record.Metadata) error {
	if err := vectorstore.ValidateFilter(f); err != nil {
		return fmt.Errorf("qdrant: set metadata: %w", err)
	}
	meta, err := metaValue("metadata", m)
	if err != nil {
		return fmt.Errorf("qdrant: set metadata: %w", err)
	}
	coll, _, err := s.state("set metadata")
	if err != nil {
		return err
	}
	return s.update(ctx, "set metadata", coll, f, func(sel *qc.PointsSelector) (*qc.UpdateResult, error) {
		if meta == nil {
			return s.client.DeletePayload(ctx, &qc.DeletePayloadPoints{
				CollectionName: coll,
				Wait:           qc.PtrOf(true),
				Keys:           []string{FieldMeta, FieldMetaStrings},
				PointsSelector: sel,
			})
		}
		return s.client.SetPayload(ctx, &qc.SetPayloadPoints{
			CollectionName: coll,
			Wait:           qc.PtrOf(true),
			Payload:        map[string]*qc.Value{FieldMeta: meta, FieldMetaStrings: keywords(stringFields(meta))},
			PointsSelector: sel,
		})
	})
}

// keywords is a list payload value of strings.
func keywords(ss []string) *qc.Value {
	vals := make([]*qc.Value, len(ss))
	for i, s := range ss {
		vals[i] = qc.NewValueString(s)
	}
	return qc.NewValueFromList(vals...)
}
