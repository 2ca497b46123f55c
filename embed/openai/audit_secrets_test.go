package openai_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/minirag/minirag/embed/openai"
)

// TestAuditConfigJSONHidesSecrets: a Config marshalled to JSON must
// succeed (a host dumping its settings) and not carry the API key or
// header values.
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
		if !strings.Contains(string(b), "m") {
			t.Errorf("json.Marshal(%T) = %s: the model is missing", v, b)
		}
	}
}

// TestAuditErrorsHideHeaderValues: ExtraHeaders may carry credentials; a
// provider echoing one in its error message must not put it in the error,
// as the API key is not.
func TestAuditErrorsHideHeaderValues(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error":{"message":"invalid key `+r.Header.Get("X-Api-Key")+` for `+r.Header.Get("Authorization")+`","type":"invalid_request_error"}}`)
	}))
	defer srv.Close()
	e, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", APIKey: "sk-audit-secret", Model: "m", Dimensions: 4,
		ExtraHeaders: map[string]string{"X-Api-Key": "header-secret-value"}, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Embed(t.Context(), []string{"hi"})
	if err == nil {
		t.Fatal("Embed: no error from a 403")
	}
	for _, secret := range []string{"sk-audit-secret", "header-secret-value"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Embed error %q contains %q", err, secret)
		}
	}
	if !strings.Contains(err.Error(), "invalid key") {
		t.Errorf("Embed error %q lost the server's message", err)
	}
}
