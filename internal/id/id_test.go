package id

import (
	"testing"

	"github.com/google/uuid"
)

func TestNewIsUniqueSortedUUIDv7(t *testing.T) {
	const n = 1000
	seen := make(map[string]bool, n)
	prev := ""
	for range n {
		s := New()
		u, err := uuid.Parse(s)
		if err != nil {
			t.Fatalf("New() = %q: not a UUID: %v", s, err)
		}
		if u.Version() != 7 {
			t.Fatalf("New() = %q: version %d, want 7", s, u.Version())
		}
		if len(s) != 36 || u.String() != s {
			t.Fatalf("New() = %q: not canonical", s)
		}
		if seen[s] {
			t.Fatalf("New() repeated %q", s)
		}
		seen[s] = true
		if s < prev {
			t.Fatalf("New() = %q sorts before the previous %q", s, prev)
		}
		prev = s
	}
}
