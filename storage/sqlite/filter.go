package sqlite

import (
	"encoding/json"
	"strings"

	"github.com/minirag/minirag/filter"
)

// Metadata filters compiled to SQL over the JSON text of documents.metadata
// with SQLite's JSON1 functions, keeping filter.Match's semantics:
//
//   - A condition on a field holding an array holds when it holds for an
//     element (json_each over the array); on any other value, for the value
//     itself (json_type and json_extract).
//   - Types never mix: every comparison checks json_type first ('text' for
//     strings, 'integer' or 'real' for numbers, 'true' or 'false' for
//     bools), since json_extract reads true as 1 and SQLite orders numbers
//     before strings instead of refusing to compare them. Strings compare
//     byte-wise (BINARY), as Go compares them.
//   - A missing field or a document without metadata gives NULLs, which
//     every condition turns into false (coalesce), so that Not holds there.
//
// Values and JSON paths are bound as parameters, never spliced into the
// SQL text; In's values go as one JSON array per type (json_each), so that
// a filter never needs more parameters than its conditions.

// compileFilter returns an SQL expression over col (a column of JSON text)
// that is true exactly where f.Match is, and its arguments in order. f
// must be valid and not zero.
func compileFilter(col string, f filter.Filter) (string, []any) {
	c := filterCompiler{col: col}
	c.node(f)
	return c.b.String(), c.args
}

type filterCompiler struct {
	col  string
	b    strings.Builder
	args []any
}

// path is the JSON path of a top-level field. Fields are validated
// metadata keys ([A-Za-z0-9_-]), and quoted all the same.
func path(field string) string { return `$."` + field + `"` }

func (c *filterCompiler) node(f filter.Filter) {
	switch f.Op {
	case filter.OpAnd, filter.OpOr:
		sep := " AND "
		if f.Op == filter.OpOr {
			sep = " OR "
		}
		c.b.WriteString("(")
		for i, a := range f.Args {
			if i > 0 {
				c.b.WriteString(sep)
			}
			c.node(a)
		}
		c.b.WriteString(")")
	case filter.OpNot:
		c.b.WriteString("NOT ")
		c.node(f.Args[0])
	case filter.OpExists:
		// Present, not null, and an array only with a non-null element.
		p := path(f.Field)
		c.b.WriteString("(CASE json_type(" + c.col + ", ?) WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(" + c.col +
			", ?) AS je WHERE je.type <> 'null') WHEN 'null' THEN 0 ELSE json_type(" + c.col + ", ?) IS NOT NULL END)")
		c.args = append(c.args, p, p, p)
	default:
		// Eq, In, Range: the predicate on (type, value), for each element
		// of an array, or for the value itself.
		p := path(f.Field)
		pred, args := predicate(f)
		c.b.WriteString("(CASE json_type(" + c.col + ", ?) WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(" + c.col +
			", ?) AS je WHERE " + strings.NewReplacer("$t", "je.type", "$v", "je.value").Replace(pred) + ") ELSE coalesce(" +
			strings.NewReplacer("$t", "json_type("+c.col+", ?)", "$v", "json_extract("+c.col+", ?)").Replace(pred) + ", 0) END)")
		c.args = append(c.args, p, p)
		c.args = append(c.args, args...)
		// The scalar branch names the type and the value once per
		// occurrence in pred, each with its path.
		c.args = append(c.args, scalarArgs(pred, p, args)...)
	}
}

// predicate is a condition on $t (a json_type) and $v (the value) for Eq,
// In and Range, with its arguments in order. $t and $v stand for
// expressions without parameters in the array branch; in the scalar branch
// each takes a path argument (see scalarArgs).
func predicate(f filter.Filter) (string, []any) {
	switch f.Op {
	case filter.OpEq, filter.OpIn:
		var strs, nums []any
		var parts []string
		var args []any
		hasTrue, hasFalse := false, false
		for _, v := range f.Values {
			switch x := v.(type) {
			case string:
				strs = append(strs, x)
			case float64:
				nums = append(nums, x)
			case bool:
				if x {
					hasTrue = true
				} else {
					hasFalse = true
				}
			}
		}
		in := func(vs []any) (string, any) {
			if len(vs) == 1 {
				return "$v = ?", vs[0]
			}
			b, _ := json.Marshal(vs)
			return "$v IN (SELECT jv.value FROM json_each(?) AS jv)", string(b)
		}
		if len(strs) > 0 {
			cond, arg := in(strs)
			parts = append(parts, "($t = 'text' AND "+cond+")")
			args = append(args, arg)
		}
		if len(nums) > 0 {
			cond, arg := in(nums)
			parts = append(parts, "($t IN ('integer', 'real') AND "+cond+")")
			args = append(args, arg)
		}
		if hasTrue {
			parts = append(parts, "$t = 'true'")
		}
		if hasFalse {
			parts = append(parts, "$t = 'false'")
		}
		return "(" + strings.Join(parts, " OR ") + ")", args
	case filter.OpRange:
		typ := "$t = 'text'"
		for _, b := range []any{f.Gt, f.Gte, f.Lt, f.Lte} {
			if _, ok := b.(float64); ok {
				typ = "$t IN ('integer', 'real')"
			}
		}
		parts := []string{typ}
		var args []any
		for _, b := range []struct {
			op string
			v  any
		}{{">", f.Gt}, {">=", f.Gte}, {"<", f.Lt}, {"<=", f.Lte}} {
			if b.v != nil {
				parts = append(parts, "$v "+b.op+" ?")
				args = append(args, b.v)
			}
		}
		return "(" + strings.Join(parts, " AND ") + ")", args
	}
	return "0", nil
}

// scalarArgs returns the arguments of pred's scalar branch, where each $t
// and $v became a function of the path p taking one argument, in the order
// they and pred's own arguments (args, one per '?') appear in pred.
func scalarArgs(pred, p string, args []any) []any {
	var out []any
	n := 0
	for i := 0; i < len(pred); i++ {
		switch {
		case strings.HasPrefix(pred[i:], "$t"), strings.HasPrefix(pred[i:], "$v"):
			out = append(out, p)
			i++
		case pred[i] == '?':
			out = append(out, args[n])
			n++
		}
	}
	return out
}
