package pgvector

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
)

// Metadata is kept in the table's metadata column (jsonb NOT NULL, '{}'
// for none), with a GIN index (jsonb_ops) named <table>_gin. A metadata
// filter is compiled to SQL over that column (see params.meta) and added
// to the WHERE clause of the search, delete, list or update it narrows:
// in a search it sits in the same statement as the ORDER BY distance, so
// an HNSW iterative scan goes on until TopK rows pass it.

// metaJSON returns the JSON text stored for m (already normalized): "{}"
// for none.
func metaJSON(m record.Metadata) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// prepareMetadata normalizes m (record.NormalizeMetadata, errors naming
// field) and returns the JSON text to store. PostgreSQL's jsonb cannot hold
// the character U+0000: a string holding it is an error naming the key.
func prepareMetadata(field string, m record.Metadata) (string, error) {
	nm, err := record.NormalizeMetadata(field, m)
	if err != nil {
		return "", err
	}
	for k, v := range nm {
		if hasNUL(v) {
			return "", record.Invalid(field+"."+k, "contains the character U+0000, which PostgreSQL's jsonb cannot store")
		}
	}
	return metaJSON(nm)
}

// hasNUL reports whether a JSON-form value holds U+0000 in a string or a
// key.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// validateFilter checks f: a tenant and a valid metadata filter
// (vectorstore.ValidateFilter, errors name "filter") whose range bounds
// PostgreSQL can compare.
func validateFilter(f vectorstore.Filter) error {
	if err := vectorstore.ValidateFilter(f); err != nil {
		return err
	}
	return checkFilterNUL(f.Metadata)
}

// checkFilterNUL rejects a range bound holding U+0000, which PostgreSQL
// text cannot hold (no stored string holds one either; an Eq or In value
// holding one simply matches nothing).
func checkFilterNUL(f filter.Filter) error {
	for _, b := range []any{f.Gt, f.Gte, f.Lt, f.Lte} {
		if s, ok := b.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return record.Invalid("filter", fmt.Sprintf("the range bound of %q contains the character U+0000, which PostgreSQL cannot compare", f.Field))
		}
	}
	for _, a := range f.Args {
		if err := checkFilterNUL(a); err != nil {
			return err
		}
	}
	return nil
}

// params collects the parameters of a statement, numbered from first.
type params struct {
	first int
	args  []any
}

// add appends v and returns its placeholder followed by cast.
func (p *params) add(v any, cast string) string {
	p.args = append(p.args, v)
	return "$" + strconv.Itoa(p.first+len(p.args)-1) + cast
}

// meta compiles a valid metadata filter to a SQL condition over the
// metadata column that is never NULL (so that NOT of it is the filter's
// Not, true for a row without the field), with every value a parameter.
// It is filter.Match's semantics:
//
//   - Eq and In: containment, metadata @> ANY of {"k": v} and {"k": [v]}
//     for every value v (jsonb equality keeps types apart: "1" is not 1;
//     the array form matches any element, not an element of a nested
//     array). The GIN index serves it.
//   - Range: the field's value, or any element when it is an array, is a
//     number (compared as numeric with the bound's shortest decimal form,
//     the order of float64) or a string (compared byte-wise, COLLATE "C",
//     as Go compares) of the bounds' kind, within every bound.
//   - Exists: the key is present, not null, and not an array of only
//     nulls (or empty).
func (p *params) meta(f filter.Filter) string {
	switch f.Op {
	case filter.OpAnd, filter.OpOr:
		parts := make([]string, len(f.Args))
		for i, a := range f.Args {
			parts[i] = p.meta(a)
		}
		return "(" + strings.Join(parts, " "+strings.ToUpper(string(f.Op))+" ") + ")"
	case filter.OpNot:
		return "(NOT " + p.meta(f.Args[0]) + ")"
	case filter.OpEq, filter.OpIn:
		docs := make([]string, 0, 2*len(f.Values))
		for _, v := range f.Values {
			if s, ok := v.(string); ok && strings.IndexByte(s, 0) >= 0 {
				continue // jsonb holds no U+0000: nothing equals it
			}
			one, err1 := json.Marshal(map[string]any{f.Field: v})
			arr, err2 := json.Marshal(map[string]any{f.Field: []any{v}})
			if err1 != nil || err2 != nil {
				continue // not a JSON scalar: Validate rejects it first
			}
			docs = append(docs, string(one), string(arr))
		}
		if len(docs) == 0 {
			return "false"
		}
		return "(metadata @> ANY(" + p.add(docs, "::text[]::jsonb[]") + "))"
	case filter.OpExists:
		k := p.add(f.Field, "::text")
		return "(metadata ? " + k + " AND coalesce(CASE jsonb_typeof(metadata -> " + k + ") WHEN 'null' THEN false" +
			" WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(metadata -> " + k + ") AS e(v) WHERE e.v <> 'null'::jsonb)" +
			" ELSE true END, false))"
	case filter.OpRange:
		k := p.add(f.Field, "::text")
		typ, cast, valueOf := "number", "::text::numeric", func(x string) string { return "(" + x + ")::numeric" }
		if isString(f.Gt, f.Gte, f.Lt, f.Lte) {
			typ, cast, valueOf = "string", "::text", func(x string) string { return "(" + x + " #>> '{}') COLLATE \"C\"" }
		}
		var bounds []string
		for _, b := range []struct {
			v  any
			op string
		}{{f.Gt, ">"}, {f.Gte, ">="}, {f.Lt, "<"}, {f.Lte, "<="}} {
			if b.v == nil {
				continue
			}
			var val string
			switch x := b.v.(type) {
			case float64:
				val = strconv.FormatFloat(x, 'g', -1, 64)
			case string:
				val = x
			}
			bounds = append(bounds, b.op+" "+p.add(val, cast))
		}
		cond := func(x string) string {
			v := valueOf(x)
			parts := make([]string, len(bounds))
			for i, b := range bounds {
				parts[i] = v + " " + b
			}
			return "CASE WHEN jsonb_typeof(" + x + ") = '" + typ + "' THEN " + strings.Join(parts, " AND ") + " ELSE false END"
		}
		field := "metadata -> " + k
		return "coalesce(CASE jsonb_typeof(" + field + ") WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(" + field +
			") AS e(v) WHERE " + cond("e.v") + ") ELSE " + cond(field) + " END, false)"
	}
	return "true" // the zero Filter
}

// isString reports whether the first non-nil bound is a string (Validate
// makes them all of one kind).
func isString(bounds ...any) bool {
	for _, b := range bounds {
		if b != nil {
			_, ok := b.(string)
			return ok
		}
	}
	return false
}

// SetMetadata replaces the metadata of every record matching f (its
// Metadata condition included) with m, leaving vectors and IDs as they
// are: one UPDATE, in batches of IDs in one transaction when f.IDs is
// long. m is normalized (record.NormalizeMetadata); nil or empty clears
// it.
func (s *Store) SetMetadata(ctx context.Context, f vectorstore.Filter, m record.Metadata) error {
	_, table, err := s.state()
	if err != nil {
		return err
	}
	if err := validateFilter(f); err != nil {
		return fmt.Errorf("pgvector: set metadata: %w", err)
	}
	js, err := prepareMetadata("metadata", m)
	if err != nil {
		return fmt.Errorf("pgvector: set metadata: %w", err)
	}
	defer s.sizes.forgetTenant(f.TenantID)
	err = s.batchIDs(ctx, f, func(tx pgx.Tx, f vectorstore.Filter) error {
		w, args := where(f, 2)
		_, err := tx.Exec(ctx, "UPDATE "+table+" SET metadata = $1::text::jsonb WHERE "+w, append([]any{js}, args...)...)
		return err
	})
	return s.wrap(ctx, "set metadata", err)
}

// upgrade brings an existing table to the current layout, in Init's
// transaction: the metadata column (added with its default, no rewrite
// of the table) and its GIN index (quick: every existing row then holds
// '{}'). Only what is missing is created, so once upgraded Init sends no
// DDL again; the upgrade itself needs the table's owner (createHint says
// so).
func (s *Store) upgrade(ctx context.Context, tx pgx.Tx, name, table string) error {
	var hasColumn, hasIndex bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_attribute
			WHERE attrelid = to_regclass($1) AND attname = 'metadata' AND NOT attisdropped),
		to_regclass($2) IS NOT NULL`, table, s.ident(name+"_gin")).Scan(&hasColumn, &hasIndex)
	if err != nil {
		return err
	}
	if !hasColumn {
		if _, err := tx.Exec(ctx, "ALTER TABLE "+table+" ADD COLUMN IF NOT EXISTS metadata jsonb NOT NULL DEFAULT '{}'::jsonb"); err != nil {
			return createHint(err, "the metadata column of table "+name, "ownership of the table")
		}
		s.log.Info("pgvector: added the metadata column", "table", name)
	}
	if !hasIndex {
		if _, err := tx.Exec(ctx, ginDDL(name, table)); err != nil {
			return createHint(err, "the metadata index of table "+name, "ownership of the table")
		}
	}
	return nil
}

// ginDDL creates the GIN index of the metadata column (jsonb_ops: it
// serves @> and ?), with fastupdate off: with it on, rows inserted since
// the last VACUUM sit in a pending list that every index search reads
// through (an In of 10 values over 10,000 freshly loaded rows took 360 ms
// on PGlite instead of 10 ms), and a row's few metadata keys cost little
// to insert next to its HNSW entry.
func ginDDL(name, table string) string {
	return fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s USING gin (metadata) WITH (fastupdate = off)", pgx.Identifier{name + "_gin"}.Sanitize(), table)
}
