package chunk

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only whitespace", " \t\n\r\n  \n", ""},
		{"plain", "hello world", "hello world"},
		{"crlf", "a\r\nb\r\nc", "a\nb\nc"},
		{"lone cr", "a\rb\r\rc", "a\nb\n\nc"},
		{"control chars removed", "a\x00b\x07c\x1bd\x7fe\u0085f\u009fg", "abcdefg"},
		{"bom removed", "\uFEFFtitle", "title"},
		{"tab kept in indentation", "x\n\tcode\n\t\tmore", "x\n\tcode\n\t\tmore"},
		{"spaces and tabs inside a line collapse", "a  \t b\t\tc", "a b c"},
		{"indentation kept, inner runs collapse", "list:\n  - a   b\n    - c", "list:\n  - a b\n    - c"},
		{"trailing spaces trimmed", "a  \nb\t\nc ", "a\nb\nc"},
		{"blank lines collapse", "a\n\n\n\nb\n\nc", "a\n\nb\n\nc"},
		{"whitespace-only lines are blank", "a\n  \n\t\n \nb", "a\n\nb"},
		{"leading and trailing trimmed", "\n\n   a b  \n\n", "a b"},
		{"other unicode spaces trimmed at the ends only", "\u00a0a\u00a0b\u3000", "a\u00a0b"},
		{"nfc", "e\u0301cole", "\u00e9cole"},
		{"nfc after removing a control char", "e\x01\u0301", "\u00e9"},
		{"cjk untouched", "日本語のテキスト。二つ目の文。", "日本語のテキスト。二つ目の文。"},
		{"emoji untouched", "ok 👍🏽 👨‍👩‍👧", "ok 👍🏽 👨‍👩‍👧"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, _ := Normalize(got)
			if again != got {
				t.Fatalf("not idempotent: %q -> %q", got, again)
			}
		})
	}
}

func TestNormalizeInvalidUTF8(t *testing.T) {
	_, err := Normalize("ok\xffbad")
	if !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("err = %v, want ErrInvalidUTF8", err)
	}
	if !strings.Contains(err.Error(), "byte 2") {
		t.Fatalf("error does not give the offset: %v", err)
	}
	_, err = NormalizeDocument("docs/a.md", "x\xc3")
	if !errors.Is(err, ErrInvalidUTF8) || !strings.Contains(err.Error(), `"docs/a.md"`) || !strings.HasPrefix(err.Error(), "chunk: ") {
		t.Fatalf("NormalizeDocument error = %v", err)
	}
	if out, err := NormalizeDocument("docs/a.md", " fine "); err != nil || out != "fine" {
		t.Fatalf("NormalizeDocument valid = %q, %v", out, err)
	}
}

func TestRepair(t *testing.T) {
	if got := Repair("a\xff\xfeb\xc3"); got != "a\uFFFDb\uFFFD" {
		t.Fatalf("Repair = %q", got)
	}
	if got := Repair("valid é"); got != "valid é" {
		t.Fatalf("Repair(valid) = %q", got)
	}
	if got := NormalizeRepair("  a\xff  b\r\n"); got != "a\uFFFD b" {
		t.Fatalf("NormalizeRepair = %q", got)
	}
}

// checkNormalized verifies the properties of a Normalize output.
func checkNormalized(t *testing.T, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("invalid UTF-8 output %q", out)
	}
	if !norm.NFC.IsNormalString(out) {
		t.Fatalf("not NFC: %q", out)
	}
	if strings.TrimSpace(out) != out {
		t.Fatalf("not trimmed: %q", out)
	}
	if strings.Contains(out, "\n\n\n") || strings.Contains(out, "\r") {
		t.Fatalf("newlines not normalized: %q", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimRight(line, " \t") != line {
			t.Fatalf("trailing space on line %q", line)
		}
		body := strings.TrimLeft(line, " \t")
		if strings.Contains(body, "  ") || strings.Contains(body, "\t") {
			t.Fatalf("space run inside line %q", line)
		}
	}
	for _, r := range out {
		if (r < ' ' && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) || r == '\uFEFF' {
			t.Fatalf("control character %U in %q", r, out)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", " ", "a\r\nb", "e\u0301", "a\x00\u0301", "\t\tx  y \n\n\n z",
		"\xff", "日本語。", "👨‍👩‍👧 ok", "\u00a0\n\u2028x", "---\ntitle: x\n---\n\n# Title\n\n```go\n\tfmt.Println()\n```\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize(in)
		if !utf8.ValidString(in) {
			if !errors.Is(err, ErrInvalidUTF8) {
				t.Fatalf("invalid input: err = %v", err)
			}
			out = NormalizeRepair(in)
		} else if err != nil {
			t.Fatal(err)
		}
		checkNormalized(t, out)
		if again, err := Normalize(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q (%v)", out, again, err)
		}
	})
}
