package qdrant_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/minirag/minirag/vectorstore/qdrant"
)

// TestAuditConfigJSONHidesAPIKey: a Config marshalled to JSON (a host
// dumping its settings) must not carry the API key.
func TestAuditConfigJSONHidesAPIKey(t *testing.T) {
	cfg := qdrant.Config{Host: "127.0.0.1", Port: 6334, APIKey: "qdrant-audit-secret"}
	for _, v := range []any{cfg, &cfg} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		if strings.Contains(string(b), "qdrant-audit-secret") {
			t.Errorf("json.Marshal(%T) = %s: contains the API key", v, b)
		}
	}
}
