package loader

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/minirag/minirag/record"
)

// RecordsConfig says how the CSV and JSON Lines files of a file source
// become documents: one document per row (CSV, TSV) or line (JSON Lines),
// each with its own key, so that a re-ingest writes again only the rows
// whose text changed and deletes the rows that are gone.
//
// Names are CSV header cells (the first row) or top-level JSON fields.
// Without a RecordsConfig every column or field is text and rows are keyed
// by their number.
type RecordsConfig struct {
	// Text lists the columns whose values form the document's text, in
	// this order; empty means every column. With more than one column,
	// each value is written on its own line as "name: value".
	Text []string `json:"text,omitempty"`
	// Title is the column holding the document's title; empty means
	// "<file> row N".
	Title string `json:"title,omitempty"`
	// Key is the column whose value identifies a row across loads (an ID
	// or SKU). Empty means the row number (1 for the first row after the
	// header, or the first line), so inserting a row re-keys the rows
	// after it. Rows with an empty or repeated key are skipped.
	Key string `json:"key,omitempty"`
	// Metadata lists columns copied into the document's metadata under
	// their own names (not one of the reserved names content_type,
	// format, format_name, size, mtime, row, embedding_model,
	// embedding_dims). Ingestion compares documents by their text, so a
	// row whose metadata columns (or position, "row") changed but whose
	// text did not keeps its stored metadata until its text changes or
	// the source is ingested with Force.
	Metadata []string `json:"metadata,omitempty"`
	// Delimiter is the CSV field separator, one character; empty means
	// "," for .csv and a tab for .tsv files.
	Delimiter string `json:"delimiter,omitempty"`
}

// DefaultMaxRecords is the default Limits.MaxRecords.
const DefaultMaxRecords = 200000

var reservedMeta = []string{"content_type", "format", "format_name", "size", "mtime", "row", "embedding_model", "embedding_dims"}

// validate adds the config's problems to v, naming fields under prefix.
func (c *RecordsConfig) validate(v *record.ValidationError, prefix string) {
	if c == nil {
		return
	}
	seen := map[string]bool{}
	for i, n := range c.Text {
		switch {
		case strings.TrimSpace(n) == "":
			v.Add(fmt.Sprintf("%s.text[%d]", prefix, i), "must not be empty")
		case seen[n]:
			v.Add(fmt.Sprintf("%s.text[%d]", prefix, i), fmt.Sprintf("repeats %q", n))
		}
		seen[n] = true
	}
	if c.Title != "" && strings.TrimSpace(c.Title) == "" {
		v.Add(prefix+".title", "must not be blank")
	}
	if c.Key != "" && strings.TrimSpace(c.Key) == "" {
		v.Add(prefix+".key", "must not be blank")
	}
	mseen := map[string]bool{}
	for i, n := range c.Metadata {
		switch {
		case strings.TrimSpace(n) == "":
			v.Add(fmt.Sprintf("%s.metadata[%d]", prefix, i), "must not be empty")
		case slices.Contains(reservedMeta, n):
			v.Add(fmt.Sprintf("%s.metadata[%d]", prefix, i), fmt.Sprintf("%q is a reserved metadata name", n))
		case mseen[n]:
			v.Add(fmt.Sprintf("%s.metadata[%d]", prefix, i), fmt.Sprintf("repeats %q", n))
		}
		mseen[n] = true
	}
	if c.Delimiter != "" {
		r, size := utf8.DecodeRuneInString(c.Delimiter)
		if size != len(c.Delimiter) || r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError {
			v.Add(prefix+".delimiter", "must be one character other than a quote or line break")
		}
	}
}

func isRecordsExt(ext string) bool {
	switch strings.ToLower(ext) {
	case ".csv", ".tsv", ".jsonl", ".ndjson":
		return true
	}
	return false
}

// recordRow is one row or line: its 1-based number and its named values.
type recordRow struct {
	n      int
	values map[string]string
}

// recordsFile turns the rows of a CSV or JSON Lines file into documents.
// Row problems (bad JSON, no text, a repeated or empty key) are reported to
// skip and the row passed over. A file-wide problem (a named column
// missing from the header, too many rows, bad CSV quoting) is returned as
// an error: the rows emitted before it stay emitted, and the caller reports
// the file as skipped, which keeps its other stored rows (CoveredBySkip).
func recordsFile(ctx context.Context, cfg *RecordsConfig, data []byte, name, key, uri string, lim Limits,
	meta map[string]string, skip func(key, reason string), emit func(Document) error) error {
	if cfg == nil {
		cfg = &RecordsConfig{}
	}
	ext := strings.ToLower(path.Ext(name))
	var rows func(yield func(recordRow, error) bool)
	var header []string
	ct := "text/csv"
	if ext == ".jsonl" || ext == ".ndjson" {
		ct = "application/jsonl"
		rows = jsonlRows(data)
	} else {
		delim := ','
		if ext == ".tsv" {
			delim, ct = '\t', "text/tab-separated-values"
		}
		if cfg.Delimiter != "" {
			delim, _ = utf8.DecodeRuneInString(cfg.Delimiter)
		}
		var err error
		header, rows, err = csvRows(data, delim)
		if err != nil {
			return err
		}
		var missing []string
		for _, n := range slices.Concat(cfg.Text, []string{cfg.Title, cfg.Key}, cfg.Metadata) {
			if n != "" && !slices.Contains(header, n) && !slices.Contains(missing, strconv.Quote(n)) {
				missing = append(missing, strconv.Quote(n))
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("column %s not in the header (columns: %s)", strings.Join(missing, ", "), strings.Join(header, ", "))
		}
	}
	base := strings.TrimSuffix(path.Base(name), path.Ext(name))
	seen := map[string]bool{}
	count := 0
	for row, err := range rows {
		if err != nil {
			return err
		}
		if count++; count > lim.MaxRecords {
			return fmt.Errorf("more than %d rows: %w", lim.MaxRecords, ErrLimit)
		}
		if count%1024 == 0 {
			if err := checkCtx(ctx); err != nil {
				return err
			}
		}
		if row.values == nil { // a bad JSON line
			skip(fmt.Sprintf("%s#line-%d", key, row.n), fmt.Sprintf("line %d is not a JSON object", row.n))
			continue
		}
		cols := cfg.Text
		if len(cols) == 0 {
			cols = header
			if cols == nil { // JSON Lines: every field, sorted
				for k := range row.values {
					cols = append(cols, k)
				}
				slices.Sort(cols)
			}
		}
		loc := fmt.Sprintf("Row %d", row.n)
		docKey := fmt.Sprintf("%s#row-%d", key, row.n)
		if cfg.Key != "" {
			kv := strings.TrimSpace(row.values[cfg.Key])
			if kv == "" {
				skip(docKey, fmt.Sprintf("row %d has no %s", row.n, cfg.Key))
				continue
			}
			docKey = key + "#" + kv
			loc = "Record " + cfg.Key + " " + kv
			if seen[kv] {
				skip(docKey, fmt.Sprintf("row %d repeats %s %q", row.n, cfg.Key, kv))
				continue
			}
			seen[kv] = true
		}
		var md MarkdownBuilder
		md.Heading(6, loc)
		empty := true
		for _, c := range cols {
			v := strings.TrimSpace(row.values[c])
			if v == "" {
				continue
			}
			empty = false
			if len(cols) > 1 {
				v = c + ": " + v
			}
			md.Paragraph(v)
		}
		if empty {
			skip(docKey, fmt.Sprintf("row %d has no text", row.n))
			continue
		}
		title := ""
		if cfg.Title != "" {
			title = strings.Join(strings.Fields(row.values[cfg.Title]), " ")
		}
		if title == "" {
			title = fmt.Sprintf("%s row %d", base, row.n)
		}
		m := make(map[string]string, len(meta)+len(cfg.Metadata)+2)
		for k, v := range meta {
			m[k] = v
		}
		m["content_type"], m["format"], m["row"] = ct, "markdown", strconv.Itoa(row.n)
		for _, c := range cfg.Metadata {
			if v, ok := row.values[c]; ok {
				m[c] = v
			}
		}
		if err := emit(Document{Key: docKey, Title: title, URI: fmt.Sprintf("%s#row=%d", uri, row.n), Text: md.String(), Metadata: m}); err != nil {
			return err
		}
	}
	return nil
}

// csvRows reads the header and returns an iterator over the data rows.
func csvRows(data []byte, delim rune) ([]string, func(func(recordRow, error) bool), error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM)))
	r.Comma = delim
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, nil, fmt.Errorf("no header row: %w", ErrNoText)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("bad CSV header: %w", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	return header, func(yield func(recordRow, error) bool) {
		for n := 1; ; n++ {
			rec, err := r.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					err = fmt.Errorf("bad CSV at line %d: %w", pe.Line, pe.Err)
				}
				yield(recordRow{}, err)
				return
			}
			vals := make(map[string]string, len(header))
			for i, h := range header {
				if i < len(rec) {
					vals[h] = rec[i]
				}
			}
			if !yield(recordRow{n: n, values: vals}, nil) {
				return
			}
		}
	}, nil
}

// jsonlRows iterates over the non-blank lines of a JSON Lines file; a line
// that is not a JSON object yields a row without values.
func jsonlRows(data []byte) func(func(recordRow, error) bool) {
	return func(yield func(recordRow, error) bool) {
		data := bytes.TrimPrefix(data, utf8BOM)
		for n := 1; len(data) > 0; n++ {
			var line []byte
			line, data, _ = bytes.Cut(data, []byte("\n"))
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(line, &obj); err != nil || obj == nil {
				if !yield(recordRow{n: n}, nil) {
					return
				}
				continue
			}
			vals := make(map[string]string, len(obj))
			for k, raw := range obj {
				var s string
				if json.Unmarshal(raw, &s) == nil {
					vals[k] = s
				} else if string(raw) != "null" {
					vals[k] = string(raw)
				}
			}
			if !yield(recordRow{n: n, values: vals}, nil) {
				return
			}
		}
	}
}
