// Package filter is MiniRAG's metadata filter language: typed conditions
// on the top-level fields of a document's metadata (record.Metadata),
// combined with And, Or and Not. A Search or Ask request carries one; every
// Storage and VectorStore applies it inside its query, before ranking.
//
//	f := filter.And(
//		filter.Eq("lang", "en"),
//		filter.In("product", "api", "sdk"),
//		filter.Gte("year", 2020),
//		filter.Not(filter.Eq("status", "archived")),
//	)
//
// # Semantics
//
// A condition names one top-level field. When the field holds an array,
// the condition holds when it holds for any element (so Eq("tags", "go")
// matches {"tags": ["go", "sql"]}). Values compare by type: a string
// never equals a number, and a range bound compares only with values of
// its own kind (numbers with numbers, strings with strings). Times are
// strings in record.TimeLayout; a time.Time given to a constructor is
// converted to one, so ranges of times compare correctly.
//
//   - Eq(field, v): the field equals v (a string, number or bool).
//   - In(field, vs...): the field equals one of vs.
//   - Range conditions Gt, Gte, Lt, Lte, and Between: the field is a
//     number (or a string) within the bounds.
//   - Exists(field): the field is present, not null and not an empty array.
//   - And, Or: all, any of the conditions. Not: the condition does not
//     hold (a document without the field matches Not(Eq(field, v))).
//
// The zero Filter matches everything. Match is the reference
// implementation every adapter agrees with (the conformance suites check
// it).
package filter

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/minirag/minirag/record"
)

// Op is a Filter's operator.
type Op string

// Operators.
const (
	OpAnd    Op = "and"
	OpOr     Op = "or"
	OpNot    Op = "not"
	OpEq     Op = "eq"
	OpIn     Op = "in"
	OpRange  Op = "range"
	OpExists Op = "exists"
)

// Limits checked by Validate.
const (
	// MaxDepth bounds the nesting of And, Or and Not.
	MaxDepth = 8
	// MaxConditions bounds the number of conditions in a filter.
	MaxConditions = 64
	// MaxValues bounds the values of one In.
	MaxValues = 1024
)

// Filter is a condition on document metadata. Build one with the
// constructors; the fields are exported so that adapters can translate
// it into their query language, and for JSON (see MarshalJSON).
type Filter struct {
	// Op is the operator; "" is the zero Filter (everything matches).
	Op Op
	// Field is the metadata key of Eq, In, Range and Exists.
	Field string
	// Values holds Eq's value (one) or In's values, each a string,
	// float64 or bool.
	Values []any
	// Gt, Gte, Lt and Lte are a Range's bounds, nil when absent; a
	// float64 or a string, all of one kind.
	Gt, Gte, Lt, Lte any
	// Args are the operands of And and Or, or Not's one operand.
	Args []Filter
}

// IsZero reports whether f is the zero Filter, which matches everything.
func (f Filter) IsZero() bool { return f.Op == "" }

// Eq holds when field equals v.
func Eq(field string, v any) Filter { return Filter{Op: OpEq, Field: field, Values: []any{norm(v)}} }

// In holds when field equals one of vs.
func In(field string, vs ...any) Filter {
	vals := make([]any, len(vs))
	for i, v := range vs {
		vals[i] = norm(v)
	}
	return Filter{Op: OpIn, Field: field, Values: vals}
}

// Gt holds when field is greater than v.
func Gt(field string, v any) Filter { return Filter{Op: OpRange, Field: field, Gt: norm(v)} }

// Gte holds when field is greater than or equal to v.
func Gte(field string, v any) Filter { return Filter{Op: OpRange, Field: field, Gte: norm(v)} }

// Lt holds when field is less than v.
func Lt(field string, v any) Filter { return Filter{Op: OpRange, Field: field, Lt: norm(v)} }

// Lte holds when field is less than or equal to v.
func Lte(field string, v any) Filter { return Filter{Op: OpRange, Field: field, Lte: norm(v)} }

// Between holds when lo <= field < hi (for times: from lo, before hi).
func Between(field string, lo, hi any) Filter {
	return Filter{Op: OpRange, Field: field, Gte: norm(lo), Lt: norm(hi)}
}

// Exists holds when field is present, not null and not an empty array.
func Exists(field string) Filter { return Filter{Op: OpExists, Field: field} }

// And holds when every f holds. Zero Filters among fs are dropped; And of
// none is the zero Filter.
func And(fs ...Filter) Filter { return combine(OpAnd, fs) }

// Or holds when any f holds. Zero Filters among fs are dropped (Or of a
// zero Filter with others is not "everything": build it without it).
func Or(fs ...Filter) Filter { return combine(OpOr, fs) }

// Not holds when f does not hold.
func Not(f Filter) Filter { return Filter{Op: OpNot, Args: []Filter{f}} }

func combine(op Op, fs []Filter) Filter {
	var args []Filter
	for _, f := range fs {
		if !f.IsZero() {
			args = append(args, f)
		}
	}
	switch len(args) {
	case 0:
		return Filter{}
	case 1:
		return args[0]
	}
	return Filter{Op: op, Args: args}
}

// norm converts a constructor's value to its JSON form, leaving values it
// cannot convert as they are for Validate to report.
func norm(v any) any {
	switch v.(type) {
	case time.Time, *time.Time:
	default:
		if _, ok := v.(string); ok {
			return v
		}
	}
	nv, err := record.NormalizeValue(v, 1)
	if err != nil {
		return v
	}
	return nv
}

// Validate reports the first problem of f as an error wrapping
// record.ErrInvalidInput that names field (as a caller spells it, such as
// "filter") and the path to the bad condition ("filter.and[1].field").
// The zero Filter is valid.
func (f Filter) Validate(field string) error {
	n := 0
	return f.validate(field, 1, &n)
}

func (f Filter) validate(path string, depth int, n *int) error {
	if f.IsZero() {
		if depth == 1 {
			return nil
		}
		return record.Invalid(path, "is an empty condition")
	}
	*n++
	if *n > MaxConditions {
		return record.Invalid(path, fmt.Sprintf("has more than %d conditions", MaxConditions))
	}
	if depth > MaxDepth {
		return record.Invalid(path, fmt.Sprintf("is nested deeper than %d levels", MaxDepth))
	}
	switch f.Op {
	case OpAnd, OpOr:
		if len(f.Args) == 0 {
			return record.Invalid(path+"."+string(f.Op), "needs at least one condition")
		}
		for i, a := range f.Args {
			if err := a.validate(fmt.Sprintf("%s.%s[%d]", path, f.Op, i), depth+1, n); err != nil {
				return err
			}
		}
		return f.noFieldValues(path)
	case OpNot:
		if len(f.Args) != 1 {
			return record.Invalid(path+".not", "needs exactly one condition")
		}
		if err := f.Args[0].validate(path+".not", depth+1, n); err != nil {
			return err
		}
		return f.noFieldValues(path)
	case OpEq, OpIn, OpRange, OpExists:
	default:
		return record.Invalid(path, fmt.Sprintf("unknown operator %q", truncate(string(f.Op))))
	}
	if !record.ValidMetadataKey(f.Field) {
		return record.Invalid(path+".field", fmt.Sprintf("%q is not a metadata key (1 to %d ASCII letters, digits, '_' or '-')", truncate(f.Field), record.MaxMetadataKeyLen))
	}
	if len(f.Args) > 0 {
		return record.Invalid(path, string(f.Op)+" takes no conditions")
	}
	switch f.Op {
	case OpEq:
		if len(f.Values) != 1 {
			return record.Invalid(path+".eq", "needs exactly one value")
		}
		if err := scalar(f.Values[0]); err != nil {
			return record.Invalid(path+".eq", err.Error())
		}
	case OpIn:
		if len(f.Values) == 0 {
			return record.Invalid(path+".in", "needs at least one value")
		}
		if len(f.Values) > MaxValues {
			return record.Invalid(path+".in", fmt.Sprintf("has more than %d values", MaxValues))
		}
		for i, v := range f.Values {
			if err := scalar(v); err != nil {
				return record.Invalid(fmt.Sprintf("%s.in[%d]", path, i), err.Error())
			}
		}
	case OpRange:
		if len(f.Values) > 0 {
			return record.Invalid(path, "a range takes bounds, not values")
		}
		kind := ""
		for _, b := range []struct {
			name string
			v    any
		}{{"gt", f.Gt}, {"gte", f.Gte}, {"lt", f.Lt}, {"lte", f.Lte}} {
			if b.v == nil {
				continue
			}
			var k string
			switch x := b.v.(type) {
			case float64:
				if x != x || x > 1.7976931348623157e308 || x < -1.7976931348623157e308 {
					return record.Invalid(path+"."+b.name, "is not a finite number")
				}
				k = "number"
			case string:
				k = "string"
			default:
				return record.Invalid(path+"."+b.name, fmt.Sprintf("a bound is a number, a string or a time, not %T", b.v))
			}
			if kind != "" && k != kind {
				return record.Invalid(path+"."+b.name, "bounds of one range are all numbers or all strings")
			}
			kind = k
		}
		if kind == "" {
			return record.Invalid(path, "a range needs at least one of gt, gte, lt, lte")
		}
		if f.Gt != nil && f.Gte != nil {
			return record.Invalid(path, "give gt or gte, not both")
		}
		if f.Lt != nil && f.Lte != nil {
			return record.Invalid(path, "give lt or lte, not both")
		}
	case OpExists:
		if len(f.Values) > 0 {
			return record.Invalid(path, "exists takes no values")
		}
	}
	if f.Op != OpRange && (f.Gt != nil || f.Gte != nil || f.Lt != nil || f.Lte != nil) {
		return record.Invalid(path, string(f.Op)+" takes no bounds")
	}
	return nil
}

func (f Filter) noFieldValues(path string) error {
	if f.Field != "" || len(f.Values) > 0 || f.Gt != nil || f.Gte != nil || f.Lt != nil || f.Lte != nil {
		return record.Invalid(path, string(f.Op)+" takes only conditions")
	}
	return nil
}

func scalar(v any) error {
	switch x := v.(type) {
	case string, bool:
		return nil
	case float64:
		if x != x || x > 1.7976931348623157e308 || x < -1.7976931348623157e308 {
			return fmt.Errorf("is not a finite number")
		}
		return nil
	default:
		return fmt.Errorf("a value is a string, a number, a bool or a time, not %T", v)
	}
}

func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// Fields returns the metadata keys f names, each once, in the order they
// first appear (adapters create payload indexes for them).
func (f Filter) Fields() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(Filter)
	walk = func(g Filter) {
		if g.Field != "" && !seen[g.Field] {
			seen[g.Field] = true
			out = append(out, g.Field)
		}
		for _, a := range g.Args {
			walk(a)
		}
	}
	walk(f)
	return out
}

// Match reports whether metadata m satisfies f: the reference semantics
// every adapter implements (see the package comment). f must be valid.
func (f Filter) Match(m record.Metadata) bool {
	switch f.Op {
	case "":
		return true
	case OpAnd:
		for _, a := range f.Args {
			if !a.Match(m) {
				return false
			}
		}
		return true
	case OpOr:
		for _, a := range f.Args {
			if a.Match(m) {
				return true
			}
		}
		return false
	case OpNot:
		return len(f.Args) == 1 && !f.Args[0].Match(m)
	case OpExists:
		v, ok := m[f.Field]
		if !ok || v == nil {
			return false
		}
		if arr, isArr := v.([]any); isArr {
			for _, e := range arr {
				if e != nil {
					return true
				}
			}
			return false
		}
		return true
	}
	v, ok := m[f.Field]
	if !ok {
		return false
	}
	if arr, isArr := v.([]any); isArr {
		for _, e := range arr {
			if f.matchScalar(e) {
				return true
			}
		}
		return false
	}
	return f.matchScalar(v)
}

func (f Filter) matchScalar(v any) bool {
	switch f.Op {
	case OpEq, OpIn:
		for _, want := range f.Values {
			if equal(v, want) {
				return true
			}
		}
		return false
	case OpRange:
		return inRange(v, f.Gt, 1, false) && inRange(v, f.Gte, 1, true) &&
			inRange(v, f.Lt, -1, false) && inRange(v, f.Lte, -1, true)
	}
	return false
}

func equal(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

// inRange reports whether v is on the right side of bound: sign 1 for a
// lower bound, -1 for an upper one; orEqual for gte/lte. A nil bound
// holds; a bound of another kind than v does not.
func inRange(v, bound any, sign int, orEqual bool) bool {
	if bound == nil {
		return true
	}
	c, ok := compare(v, bound)
	if !ok {
		return false
	}
	if c == 0 {
		return orEqual
	}
	return c == sign
}

func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// jsonFilter is a Filter's JSON form: one of
//
//	{"and": [f, …]}  {"or": [f, …]}  {"not": f}
//	{"field": "k", "eq": v}  {"field": "k", "in": [v, …]}
//	{"field": "k", "gt"|"gte"|"lt"|"lte": v, …}  {"field": "k", "exists": true}
type jsonFilter struct {
	And    []Filter `json:"and,omitempty"`
	Or     []Filter `json:"or,omitempty"`
	Not    *Filter  `json:"not,omitempty"`
	Field  string   `json:"field,omitempty"`
	Eq     any      `json:"eq,omitempty"`
	In     []any    `json:"in,omitempty"`
	Gt     any      `json:"gt,omitempty"`
	Gte    any      `json:"gte,omitempty"`
	Lt     any      `json:"lt,omitempty"`
	Lte    any      `json:"lte,omitempty"`
	Exists bool     `json:"exists,omitempty"`
}

// MarshalJSON writes f in its JSON form:
//
//	{"and": [f, …]}  {"or": [f, …]}  {"not": f}
//	{"field": "k", "eq": v}  {"field": "k", "in": [v, …]}
//	{"field": "k", "gte": 2020, "lt": 2024}  {"field": "k", "exists": true}
//
// The zero Filter is null.
func (f Filter) MarshalJSON() ([]byte, error) {
	var j jsonFilter
	switch f.Op {
	case "":
		return []byte("null"), nil
	case OpAnd:
		j.And = f.Args
	case OpOr:
		j.Or = f.Args
	case OpNot:
		if len(f.Args) == 1 {
			j.Not = &f.Args[0]
		}
	case OpEq:
		j.Field = f.Field
		if len(f.Values) == 1 {
			j.Eq = f.Values[0]
		}
		if j.Eq == false {
			// omitempty would drop false: write it by hand.
			return json.Marshal(struct {
				Field string `json:"field"`
				Eq    bool   `json:"eq"`
			}{f.Field, false})
		}
	case OpIn:
		j.Field, j.In = f.Field, f.Values
	case OpRange:
		j.Field, j.Gt, j.Gte, j.Lt, j.Lte = f.Field, f.Gt, f.Gte, f.Lt, f.Lte
	case OpExists:
		j.Field, j.Exists = f.Field, true
	default:
		return nil, fmt.Errorf("filter: unknown operator %q", truncate(string(f.Op)))
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads f from its JSON form (see MarshalJSON). Numbers
// become float64. A form that names no operator or more than one is an
// error; Validate checks the rest.
func (f *Filter) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Filter{}
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("filter: a condition is a JSON object: %w", err)
	}
	var j jsonFilter
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("filter: %w", err)
	}
	var ops []Op
	for k := range raw {
		switch k {
		case "and", "or", "not", "eq", "in", "exists":
			ops = append(ops, Op(k))
		case "gt", "gte", "lt", "lte":
			if len(ops) == 0 || ops[len(ops)-1] != OpRange {
				ops = append(ops, OpRange)
			}
		case "field":
		default:
			return fmt.Errorf("filter: unknown key %q (a condition has and, or, not, or field with eq, in, gt, gte, lt, lte or exists)", truncate(k))
		}
	}
	ranges := 0
	for _, op := range ops {
		if op == OpRange {
			ranges++
		}
	}
	if len(ops)-ranges+min(ranges, 1) != 1 {
		return fmt.Errorf("filter: a condition has exactly one operator (and, or, not, eq, in, exists, or range bounds)")
	}
	switch {
	case raw["and"] != nil:
		*f = Filter{Op: OpAnd, Args: j.And}
	case raw["or"] != nil:
		*f = Filter{Op: OpOr, Args: j.Or}
	case raw["not"] != nil:
		if j.Not == nil {
			return fmt.Errorf("filter: not needs a condition")
		}
		*f = Filter{Op: OpNot, Args: []Filter{*j.Not}}
	case raw["eq"] != nil:
		*f = Filter{Op: OpEq, Field: j.Field, Values: []any{j.Eq}}
	case raw["in"] != nil:
		*f = Filter{Op: OpIn, Field: j.Field, Values: j.In}
	case raw["exists"] != nil:
		if !j.Exists {
			*f = Not(Exists(j.Field))
			return nil
		}
		*f = Filter{Op: OpExists, Field: j.Field}
	default:
		*f = Filter{Op: OpRange, Field: j.Field, Gt: j.Gt, Gte: j.Gte, Lt: j.Lt, Lte: j.Lte}
	}
	return nil
}
