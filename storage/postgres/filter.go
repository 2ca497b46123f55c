package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/minirag/minirag/filter"
)

// Metadata filters (package filter) compiled to SQL over the jsonb column
// documents.metadata. Every value, field name and jsonpath is a bound
// parameter; the SQL text holds only fixed fragments, and the jsonpaths
// only fixed conditions whose bounds are $variables. Each condition is true or false, never NULL (a
// document without metadata or without the field gives false), so that
// NOT is plain negation and Not(Eq(f, v)) matches documents missing f, as
// filter.Match does.
//
//   - Eq and In: containment, col @> ANY($n::jsonb[]), the array holding
//     {"f": v} and {"f": [v]} for each value v: the field equals v or is
//     an array with an element equal to v (jsonb compares with types, so
//     "1" never equals 1). The GIN index documents_metadata (jsonb_path_ops)
//     answers it, in a bitmap scan of one entry per array element.
//   - Range: jsonb_path_exists over the field's value with the bounds as
//     jsonpath variables, strict mode: each element of an array, or the
//     value itself, must be of the bounds' kind (@.type()) and within them.
//     Strings compare by code point, as Go compares them.
//   - Exists: the value, or an element of it when it is an array, is not
//     null.

// whereArgs collects the parameters of a query under construction.
type whereArgs struct{ args []any }

// add appends v and returns its placeholder.
func (a *whereArgs) add(v any) string {
	a.args = append(a.args, v)
	return "$" + strconv.Itoa(len(a.args))
}

// metadataWhere returns f as a boolean SQL expression over the jsonb column
// col, its values added to a. f must be valid and not zero.
func metadataWhere(f filter.Filter, col string, a *whereArgs) (string, error) {
	switch f.Op {
	case filter.OpAnd, filter.OpOr:
		parts := make([]string, len(f.Args))
		for i, g := range f.Args {
			p, err := metadataWhere(g, col, a)
			if err != nil {
				return "", err
			}
			parts[i] = p
		}
		return "(" + strings.Join(parts, " "+strings.ToUpper(string(f.Op))+" ") + ")", nil
	case filter.OpNot:
		if len(f.Args) != 1 {
			return "", fmt.Errorf("not needs one condition")
		}
		p, err := metadataWhere(f.Args[0], col, a)
		if err != nil {
			return "", err
		}
		return "(NOT " + p + ")", nil
	case filter.OpEq, filter.OpIn:
		docs := make([]string, 0, 2*len(f.Values))
		for _, v := range f.Values {
			for _, shape := range []any{v, []any{v}} {
				b, err := json.Marshal(map[string]any{f.Field: shape})
				if err != nil {
					return "", err
				}
				docs = append(docs, string(b))
			}
		}
		return "(" + col + " IS NOT NULL AND " + col + " @> ANY(" + a.add(docs) + "::jsonb[]))", nil
	case filter.OpRange:
		vars := map[string]any{}
		kind := "number"
		var cond []string
		for _, b := range []struct {
			name, op string
			v        any
		}{{"gt", ">", f.Gt}, {"gte", ">=", f.Gte}, {"lt", "<", f.Lt}, {"lte", "<=", f.Lte}} {
			if b.v == nil {
				continue
			}
			if _, ok := b.v.(string); ok {
				kind = "string"
			}
			vars[b.name] = b.v
			cond = append(cond, "@ "+b.op+" $"+b.name)
		}
		jv, err := json.Marshal(vars)
		if err != nil {
			return "", err
		}
		c := `@.type() == "` + kind + `" && ` + strings.Join(cond, " && ")
		return pathExists(a, col, f.Field, c, string(jv)), nil
	case filter.OpExists:
		return pathExists(a, col, f.Field, `@.type() != "null"`, ""), nil
	}
	return "", fmt.Errorf("unknown operator %q", f.Op)
}

// pathExists is whether field of col, or an element of it when it is an
// array, satisfies the jsonpath filter cond with the variables vars (a
// JSON object, "" for none); false when the field is missing. The paths
// are parameters too (the SQL text of a Store is rewritten where it holds
// "@.", which a jsonpath does).
func pathExists(a *whereArgs, col, field, cond, vars string) string {
	v := "(" + col + " -> " + a.add(field) + "::text)"
	args := v + `, CASE jsonb_typeof(` + v + `) WHEN 'array' THEN ` + a.add("strict $[*] ? ("+cond+")") + `::jsonpath ELSE ` +
		a.add("strict $ ? ("+cond+")") + `::jsonpath END`
	if vars != "" {
		args += ", " + a.add(vars) + "::jsonb"
	}
	return "coalesce(jsonb_path_exists(" + args + "), false)"
}
