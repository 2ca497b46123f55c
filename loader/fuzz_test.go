package loader

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzLimits keep a fuzzed input cheap.
var fuzzLimits = Limits{MaxPages: 50, MaxDecompressedBytes: 4 << 20, MaxRecords: 1000, ParseTimeout: 5 * time.Second}

func seedFile(f *testing.F, name string) {
	b, err := os.ReadFile(filepath.Join(formatsDir, name))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

// fuzzFormat runs a format's parser directly (not through parseFormat, so
// that a panic fails the fuzzer instead of being recovered).
func fuzzFormat(f *testing.F, name string, seeds ...string) {
	for _, s := range seeds {
		seedFile(f, s)
	}
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	var format Format
	formatsMu.RLock()
	for _, g := range formats {
		if g.Name == name {
			format = g
		}
	}
	formatsMu.RUnlock()
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), fuzzLimits.ParseTimeout)
		defer cancel()
		p, err := format.Parse(ctx, data, fuzzLimits.WithDefaults())
		if err == nil && !utf8.ValidString(p.Text) {
			t.Fatalf("%s: invalid UTF-8 in the text", name)
		}
	})
}

func FuzzDOCX(f *testing.F) { fuzzFormat(f, "docx", "overview.docx") }
func FuzzPPTX(f *testing.F) { fuzzFormat(f, "pptx", "data_model.pptx") }
func FuzzODT(f *testing.F)  { fuzzFormat(f, "odt", "naming.odt") }
func FuzzEPUB(f *testing.F) { fuzzFormat(f, "epub", "glossary.epub") }

func FuzzRecords(f *testing.F) {
	for _, s := range []string{"glossary.csv", "glossary.jsonl"} {
		b, err := os.ReadFile(filepath.Join(formatsDir, s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, s == "glossary.jsonl")
	}
	f.Add([]byte("a,b\n\"x\n"), false)
	f.Add([]byte("{\"a\":1}\n{"), true)
	f.Fuzz(func(t *testing.T, data []byte, jsonl bool) {
		name := "f.csv"
		if jsonl {
			name = "f.jsonl"
		}
		cfgs := []*RecordsConfig{nil, {Text: []string{"term"}, Key: "id", Title: "term", Metadata: []string{"area"}}}
		for _, cfg := range cfgs {
			seen := map[string]bool{}
			_ = recordsFile(context.Background(), cfg, data, name, name, "file:///f", fuzzLimits.WithDefaults(), nil,
				func(string, string) {},
				func(d Document) error {
					if seen[d.Key] {
						t.Fatalf("key %q emitted twice", d.Key)
					}
					seen[d.Key] = true
					return nil
				})
		}
	})
}
