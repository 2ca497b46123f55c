package openai_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/minirag/minirag/llm/openai"
)

// TestAuditConfigJSONHidesSecrets: a Config marshalled to JSON (a host
// dumping its settings) must not carry the API key or header values.
func TestAuditConfigJSONHidesSecrets(t *testing.T) {
	cfg := openai.Config{BaseURL: "http://127.0.0.1:1/v1", APIKey: "sk-audit-secret", Model: "m",
		ExtraHeaders: map[string]string{"X-Api-Key": "header-secret"}}
	for _, v := range []any{cfg, &cfg} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		for _, secret := range []string{"sk-audit-secret", "header-secret"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("json.Marshal(%T) = %s: contains %q", v, b, secret)
			}
		}
	}
}
