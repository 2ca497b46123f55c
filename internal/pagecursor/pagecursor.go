// Package pagecursor encodes the opaque cursors of the storage adapters'
// paged List calls: the sort key of the last item of a page (a time and a
// string, or a string alone) and the kind of list it belongs to, so that a
// cursor of one list is rejected by another. Keyset paging on these keys is
// stable under inserts: no item present for the whole listing is skipped
// or repeated.
package pagecursor

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/minirag/minirag/record"
)

// Key is the position after which the next page starts.
type Key struct {
	// Micros is a time in Unix microseconds (for lists ordered by time).
	Micros int64 `json:"t,omitempty"`
	// S is the string part of the key (an ID or a document key).
	S string `json:"s"`
	// N is an integer tie-breaker where an adapter orders by one.
	N int64 `json:"n,omitempty"`
	// S2 is a second string part, for lists ordered by two strings (a
	// document's key after its source ID).
	S2 string `json:"s2,omitempty"`
}

// Bound returns the kind of a list that depends on a query: kind and a
// digest of the query's parts, so that a cursor of one query is rejected
// by another (as a cursor of another list is).
func Bound(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return kind + "." + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

type payload struct {
	Kind string `json:"k"`
	Key
}

const prefix = "c1."

// ErrBadCursor is wrapped for a cursor that the list did not make.
var ErrBadCursor error = record.Invalid("cursor", "is not a cursor this list returned")

// Encode returns the cursor of key in the list kind.
func Encode(kind string, key Key) string {
	b, _ := json.Marshal(payload{Kind: kind, Key: key})
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Decode checks limit (it must be positive) and returns the key of cursor
// in the list kind, nil for "" (the first page).
func Decode(kind, cursor string, limit int) (*Key, error) {
	if limit <= 0 {
		return nil, record.Invalid("limit", "must be positive")
	}
	if cursor == "" {
		return nil, nil
	}
	rest, ok := strings.CutPrefix(cursor, prefix)
	if !ok {
		return nil, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, ErrBadCursor
	}
	var p payload
	if err := json.Unmarshal(b, &p); err != nil || p.Kind != kind {
		return nil, ErrBadCursor
	}
	return &p.Key, nil
}

// Cut trims items fetched with limit+1 to limit and returns the cursor of
// the next page: "" when items held limit or fewer (this page is the last).
func Cut[T any](kind string, items []T, limit int, key func(T) Key) ([]T, string) {
	if items == nil {
		items = []T{}
	}
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, Encode(kind, key(items[limit-1]))
}
