package record

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"time"
)

// Metadata is a document's metadata: a JSON object. Values are JSON
// values as encoding/json decodes them into any: string, float64, bool,
// nil, []any and map[string]any. NormalizeMetadata converts the Go values
// a caller may set (ints, time.Time, []string, …) to those.
//
// Keys name fields a filter can select (package filter): 1 to
// MaxMetadataKeyLen characters of ASCII letters, digits, '_' and '-'.
// Keys of nested objects are not restricted, but filters select only the
// top-level keys.
//
// Times are stored as strings in the layout TimeLayout (UTC, microseconds),
// so that comparing two of them as strings compares the times.
type Metadata map[string]any

// Metadata limits, checked by NormalizeMetadata.
const (
	// MaxMetadataBytes bounds the JSON encoding of one document's metadata.
	MaxMetadataBytes = 16 << 10
	// MaxMetadataDepth bounds the nesting of objects and arrays (the
	// top-level object is depth 1).
	MaxMetadataDepth = 8
	// MaxMetadataKeyLen bounds the length of a top-level key.
	MaxMetadataKeyLen = 64
)

// TimeLayout is how a time is written in Metadata and in filters: UTC,
// fixed width, so string order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// FormatTime writes t in TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

var metadataKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidMetadataKey reports whether k may be a top-level key of Metadata
// (and so a field of a filter).
func ValidMetadataKey(k string) bool { return metadataKey.MatchString(k) }

// NormalizeMetadata returns a deep copy of m with every value converted to
// its JSON form (see Metadata), or an error wrapping ErrInvalidInput that
// names field (such as "documents[3].metadata") and the bad key: a key that
// is not valid, a value JSON cannot hold (NaN, a channel, …), nesting
// deeper than MaxMetadataDepth or an encoding longer than
// MaxMetadataBytes. A nil or empty m gives nil.
func NormalizeMetadata(field string, m Metadata) (Metadata, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(Metadata, len(m))
	for k, v := range m {
		if !ValidMetadataKey(k) {
			return nil, Invalid(field, fmt.Sprintf("key %q: keys are 1 to %d ASCII letters, digits, '_' or '-'", truncate(k, 80), MaxMetadataKeyLen))
		}
		nv, err := NormalizeValue(v, 2)
		if err != nil {
			return nil, Invalid(field+"."+k, err.Error())
		}
		out[k] = nv
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, Invalid(field, err.Error())
	}
	if len(b) > MaxMetadataBytes {
		return nil, Invalid(field, fmt.Sprintf("is %d bytes as JSON, more than the limit of %d", len(b), MaxMetadataBytes))
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// NormalizeValue converts one metadata value to its JSON form: integers
// and floats to float64 (NaN and infinities are errors), time.Time to a
// string in TimeLayout, json.Number to float64, slices and maps
// recursively. depth is the depth v sits at (1 for the top-level object).
func NormalizeValue(v any, depth int) (any, error) {
	if depth > MaxMetadataDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", MaxMetadataDepth)
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return x, nil
	case bool:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v is not a JSON number", x)
		}
		return x, nil
	case float32:
		return NormalizeValue(float64(x), depth)
	case int:
		return float64(x), nil
	case int8:
		return float64(x), nil
	case int16:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint:
		return float64(x), nil
	case uint8:
		return float64(x), nil
	case uint16:
		return float64(x), nil
	case uint32:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", string(x))
		}
		return NormalizeValue(f, depth)
	case time.Time:
		return FormatTime(x), nil
	case *time.Time:
		if x == nil {
			return nil, nil
		}
		return FormatTime(*x), nil
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, nil
	case []float64:
		out := make([]any, len(x))
		for i, f := range x {
			nf, err := NormalizeValue(f, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = nf
		}
		return out, nil
	case []int:
		out := make([]any, len(x))
		for i, n := range x {
			out[i] = float64(n)
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			ne, err := NormalizeValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = ne
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ne, err := NormalizeValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = ne
		}
		return out, nil
	case Metadata:
		return NormalizeValue(map[string]any(x), depth)
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out, nil
	default:
		// Anything else goes through its JSON encoding (a type with
		// MarshalJSON, a struct).
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%T cannot be encoded as JSON", v)
		}
		var back any
		if err := json.Unmarshal(b, &back); err != nil {
			return nil, fmt.Errorf("%T cannot be encoded as JSON", v)
		}
		return NormalizeValue(back, depth)
	}
}

// Clone returns a deep copy of m (nil for nil). Values are expected in
// their JSON form; other values are copied as they are.
func (m Metadata) Clone() Metadata {
	if m == nil {
		return nil
	}
	out := make(Metadata, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneValue(e)
		}
		return out
	default:
		return v
	}
}

// String returns the value of a string field, "" when it is missing or not
// a string.
func (m Metadata) String(key string) string {
	s, _ := m[key].(string)
	return s
}

// DecodeMetadata decodes a JSON object stored by a Storage (nil or empty
// input gives nil).
func DecodeMetadata(b []byte) (Metadata, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	return m, nil
}
