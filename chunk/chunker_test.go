package chunk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/minirag/minirag/record"
)

func mustToken(t testing.TB, o Options) *TokenChunker {
	t.Helper()
	c, err := NewTokenChunker(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustMarkdown(t testing.TB, o Options) *MarkdownChunker {
	t.Helper()
	c, err := NewMarkdownChunker(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func texts(ps []Piece) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Text
	}
	return out
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		opts  Options
		field string
	}{
		{Options{MaxTokens: 0}, "max_tokens"},
		{Options{MaxTokens: -5}, "max_tokens"},
		{Options{MaxTokens: 3}, "max_tokens"},
		{Options{MaxTokens: 10, Overlap: -1}, "overlap"},
		{Options{MaxTokens: 10, Overlap: 10}, "overlap"},
		{Options{MaxTokens: 10, Overlap: 11}, "overlap"},
		{Options{MaxTokens: 10, Encoding: "gpt2"}, "encoding"},
	}
	for _, tt := range tests {
		for name, build := range map[string]func(Options) error{
			"token":    func(o Options) error { _, err := NewTokenChunker(o); return err },
			"markdown": func(o Options) error { _, err := NewMarkdownChunker(o); return err },
		} {
			err := build(tt.opts)
			if !errors.Is(err, record.ErrInvalidInput) {
				t.Fatalf("%s %+v: err = %v, want ErrInvalidInput", name, tt.opts, err)
			}
			var v *record.ValidationError
			if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != tt.field {
				t.Fatalf("%s %+v: err = %v, want field %s", name, tt.opts, err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), "chunk: ") {
				t.Fatalf("error not prefixed: %v", err)
			}
		}
	}
	c := mustToken(t, Options{MaxTokens: MinMaxTokens, Overlap: MinMaxTokens - 1})
	if c.Options().Encoding != Cl100kBase {
		t.Fatalf("default encoding = %q", c.Options().Encoding)
	}
	if c := mustMarkdown(t, Options{MaxTokens: 100, Encoding: O200kBase}); c.Tokenizer().Encoding() != O200kBase {
		t.Fatalf("encoding = %q", c.Tokenizer().Encoding())
	}
}

// repeatWords returns n distinct-ish words separated by spaces.
func repeatWords(prefix string, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("%s%d", prefix, i%10)
	}
	return strings.Join(w, " ")
}

func TestTokenChunkerBoundaries(t *testing.T) {
	tk, _ := NewTokenizer(Cl100kBase)
	para1 := "The first paragraph talks about metrics. It has two sentences."
	para2 := "The second paragraph is about alerting rules and their labels."
	line1 := "scrape_interval is how often targets are scraped by the server"
	line2 := "evaluation_interval is how often rules are evaluated by it now"
	sent1 := "Prometheus stores all data as time series."
	sent2 := "Every time series is identified by its metric name and labels!"
	sent3 := "Is that all?"
	fits := func(parts ...string) int {
		m := 0
		for _, p := range parts {
			m = max(m, tk.Count(p))
		}
		return m
	}
	tests := []struct {
		name string
		text string
		max  int
		want []string
	}{
		{"one piece", "  short text  ", 50, []string{"short text"}},
		{"paragraphs", para1 + "\n\n" + para2, fits(para1, para2), []string{para1, para2}},
		{"paragraph break with spaces", para1 + "\n \t\n" + para2, fits(para1, para2), []string{para1, para2}},
		{"lines", line1 + "\n" + line2, fits(line1, line2), []string{line1, line2}},
		{"sentences", sent1 + " " + sent2 + " " + sent3, fits(sent1+" "+sent2, sent3) - 1, []string{sent1, sent2 + " " + sent3}},
		{"paragraph before line", para1 + "\n\n" + line1 + "\n" + line2, fits(para1, line1+"\n"+line2), []string{para1, line1 + "\n" + line2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustToken(t, Options{MaxTokens: tt.max})
			ps, err := c.Chunk(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if msg := checkPieces(tk, tt.text, ps, tt.max); msg != "" {
				t.Fatal(msg)
			}
			if got := texts(ps); !slices.Equal(got, tt.want) {
				t.Fatalf("max %d: got %q, want %q", tt.max, got, tt.want)
			}
		})
	}
}

func TestChunkersEdgeCases(t *testing.T) {
	giant := strings.Repeat("antidisestablishmentarianism", 40)
	cjk := strings.Repeat("日本語のテキストには空白がありません。", 30)
	cjkNoStop := strings.Repeat("漢字仮名交じり文", 60)
	emoji := strings.Repeat("👨‍👩‍👧👍🏽🇫🇷", 30)
	tests := []struct {
		name      string
		text      string
		max       int
		overlap   int
		minPieces int
	}{
		{"empty", "", 8, 0, 0},
		{"only whitespace", " \n\t\n\u00a0 \u3000", 8, 0, 0},
		{"single giant word", giant, 16, 0, 2},
		{"giant word with overlap", giant, 16, 5, 2},
		{"giant word among words", "start " + giant + " end", 16, 4, 2},
		{"cjk without spaces", cjk, 20, 0, 2},
		{"cjk without stops", cjkNoStop, 10, 3, 2},
		{"emoji", emoji, 6, 0, 2},
		{"emoji minimum limit", emoji, MinMaxTokens, 1, 2},
		{"mixed", "Grüße 👋 from Zürich! " + cjk + " done.\n\n" + giant, 12, 4, 2},
		{"special token text", strings.Repeat("<|endoftext|> ", 40), 8, 2, 2},
		{"words", repeatWords("metric", 300), 32, 8, 2},
	}
	for _, tt := range tests {
		for _, enc := range []string{Cl100kBase, O200kBase} {
			t.Run(tt.name+"/"+enc, func(t *testing.T) {
				o := Options{MaxTokens: tt.max, Overlap: tt.overlap, Encoding: enc}
				tk, err := NewTokenizer(enc)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range []Chunker{mustToken(t, o), mustMarkdown(t, o)} {
					ps, err := c.Chunk(tt.text)
					if err != nil {
						t.Fatal(err)
					}
					if msg := checkPieces(tk, tt.text, ps, tt.max); msg != "" {
						t.Fatalf("%T: %s", c, msg)
					}
					if len(ps) < tt.minPieces || (tt.minPieces == 0 && ps != nil) {
						t.Fatalf("%T: %d pieces, want >= %d", c, len(ps), tt.minPieces)
					}
				}
			})
		}
	}
}

func samePieces(a, b []Piece) bool {
	return slices.EqualFunc(a, b, func(x, y Piece) bool {
		return x.Text == y.Text && x.Start == y.Start && x.End == y.End && x.Tokens == y.Tokens && slices.Equal(x.HeadingPath, y.HeadingPath)
	})
}

func TestTokenChunkerWordsNotCut(t *testing.T) {
	text := repeatWords("label", 500) + ". " + repeatWords("value", 400)
	c := mustToken(t, Options{MaxTokens: 40, Overlap: 10})
	ps, err := c.Chunk(text)
	if err != nil {
		t.Fatal(err)
	}
	tk := c.Tokenizer()
	if msg := checkPieces(tk, text, ps, 40); msg != "" {
		t.Fatal(msg)
	}
	for i, p := range ps {
		if p.Start > 0 && text[p.Start-1] != ' ' {
			t.Fatalf("piece %d starts inside a word: %q", i, p.Text)
		}
		if p.End < len(text) && text[p.End] != ' ' {
			t.Fatalf("piece %d ends inside a word: %q", i, p.Text)
		}
	}
	// Overlap: consecutive pieces share text, about Overlap tokens.
	for i := 1; i < len(ps); i++ {
		if ps[i].Start >= ps[i-1].End {
			t.Fatalf("pieces %d and %d do not overlap", i-1, i)
		}
		shared := tk.Count(text[ps[i].Start:ps[i-1].End])
		if shared > 10+1 || shared < 10-4 {
			t.Fatalf("pieces %d and %d share %d tokens, want about 10", i-1, i, shared)
		}
	}
}

func TestTokenChunkerGiantWordCuts(t *testing.T) {
	// A word of 3-byte characters that BPE splits mid-character.
	word := strings.Repeat("中文字符串", 50) + strings.Repeat("🙂", 30)
	c := mustToken(t, Options{MaxTokens: 7})
	ps, err := c.Chunk(word)
	if err != nil {
		t.Fatal(err)
	}
	if msg := checkPieces(c.Tokenizer(), word, ps, 7); msg != "" {
		t.Fatal(msg)
	}
	for i, p := range ps {
		if i > 0 && p.Start != ps[i-1].End {
			t.Fatalf("giant word pieces not contiguous at %d", i)
		}
		if !utf8.ValidString(p.Text) {
			t.Fatalf("piece %d cuts a character", i)
		}
	}
}

func TestChunkInvalidUTF8(t *testing.T) {
	for _, c := range []Chunker{mustToken(t, Options{MaxTokens: 10}), mustMarkdown(t, Options{MaxTokens: 10})} {
		_, err := c.Chunk("abc \xff def")
		if !errors.Is(err, ErrInvalidUTF8) {
			t.Fatalf("%T: err = %v", c, err)
		}
	}
}

func TestMarkdownChunker(t *testing.T) {
	tk, _ := NewTokenizer(Cl100kBase)
	code := "```yaml\nglobal:\n  scrape_interval: 15s\n\n  evaluation_interval: 15s\n```"
	table := "| Name | Meaning |\n|------|---------|\n| up | target is up |\n| scrape_duration_seconds | how long a scrape took |"
	doc := "Intro text before any heading.\n\n" +
		"# Configuration\n\n" +
		"Prometheus is configured with a YAML file.\n\n" +
		code + "\n\n" +
		"## Rules\n\n" +
		"### Recording rules\n\n" +
		"Recording rules precompute expressions.\n\n" +
		table + "\n\n" +
		"# Alerting\n\n" +
		"Alerts go to the Alertmanager."
	max := tk.Count(code) + 2
	c := mustMarkdown(t, Options{MaxTokens: max})
	ps, err := c.Chunk(doc)
	if err != nil {
		t.Fatal(err)
	}
	if msg := checkPieces(tk, doc, ps, max); msg != "" {
		t.Fatal(msg)
	}
	// No piece boundary falls strictly inside the code block or a row.
	spans := [][2]int{{strings.Index(doc, code), strings.Index(doc, code) + len(code)}}
	for _, row := range strings.Split(table, "\n") {
		i := strings.Index(doc, row)
		spans = append(spans, [2]int{i, i + len(row)})
	}
	for _, p := range ps {
		for _, sp := range spans {
			if (p.Start > sp[0] && p.Start < sp[1]) || (p.End > sp[0] && p.End < sp[1]) {
				t.Fatalf("piece %q cuts %q", p.Text, doc[sp[0]:sp[1]])
			}
		}
		if strings.Contains(p.Text, code) && !slices.Equal(p.HeadingPath, []string{"Configuration"}) {
			t.Fatalf("code piece path %q", p.HeadingPath)
		}
		if strings.HasSuffix(p.Text, "# Alerting") || strings.HasSuffix(p.Text, "# Configuration") {
			t.Fatalf("heading left at the end of a piece: %q", p.Text)
		}
		if strings.Contains(p.Text, "Alerts go to") && !slices.Equal(p.HeadingPath, []string{"Alerting"}) {
			t.Fatalf("alerting path %q", p.HeadingPath)
		}
		if strings.Contains(p.Text, "Recording rules precompute") {
			if !slices.Equal(p.HeadingPath, []string{"Configuration", "Rules", "Recording rules"}) {
				t.Fatalf("recording path %q", p.HeadingPath)
			}
			if !strings.HasPrefix(p.Text, "## Rules\n\n### Recording rules") {
				t.Fatalf("empty section heading not kept with the next section: %q", p.Text)
			}
		}
		if strings.Contains(p.Text, "Intro text") && p.HeadingPath != nil {
			t.Fatalf("intro path %q", p.HeadingPath)
		}
	}
	if ps[1].Text[:len("# Configuration")] != "# Configuration" {
		t.Fatalf("section does not start with its heading: %q", ps[1].Text)
	}
}

func TestMarkdownChunkerOversizedBlocks(t *testing.T) {
	var code strings.Builder
	code.WriteString("```go\n")
	for i := range 60 {
		fmt.Fprintf(&code, "\tfmt.Println(\"line %d of a long code block\")\n", i)
	}
	code.WriteString("```")
	longRow := "| " + repeatWords("cell", 200) + " |"
	doc := "# Code\n\n" + code.String() + "\n\n# Table\n\n| a | b |\n|---|---|\n" + longRow + "\n| x | y |\n\n" +
		"```\nunclosed fence " + repeatWords("tok", 100)
	for _, enc := range []string{Cl100kBase, O200kBase} {
		c := mustMarkdown(t, Options{MaxTokens: 40, Overlap: 8, Encoding: enc})
		ps, err := c.Chunk(doc)
		if err != nil {
			t.Fatal(err)
		}
		if msg := checkPieces(c.Tokenizer(), doc, ps, 40); msg != "" {
			t.Fatal(msg)
		}
		// An oversized code block is split at line boundaries.
		for _, p := range ps {
			if slices.Equal(p.HeadingPath, []string{"Code"}) && !strings.HasPrefix(p.Text, "# Code") {
				if p.End < len(doc) && doc[p.End] != '\n' {
					t.Fatalf("code piece does not end at a line end: %q", p.Text)
				}
			}
		}
	}
}

func TestMarkdownHeadings(t *testing.T) {
	tests := []struct {
		line  string
		level int
		title string
	}{
		{"# Title", 1, "Title"},
		{"### Sub title ###", 3, "Sub title"},
		{"###### six", 6, "six"},
		{"####### seven", 0, ""},
		{"#hashtag", 0, ""},
		{"#", 1, ""},
		{"## C# language", 2, "C# language"},
	}
	for _, tt := range tests {
		lv := headingLevel(tt.line)
		if lv != tt.level {
			t.Fatalf("%q: level %d, want %d", tt.line, lv, tt.level)
		}
		if lv > 0 {
			if got := headingTitle(tt.line, lv); got != tt.title {
				t.Fatalf("%q: title %q, want %q", tt.line, got, tt.title)
			}
		}
	}
	// A '#' line inside a fence is not a heading.
	doc := "# Real\n\n```sh\n# not a heading\necho hi\n```\n\ntext"
	ps, err := mustMarkdown(t, Options{MaxTokens: 100}).Chunk(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if !slices.Equal(p.HeadingPath, []string{"Real"}) {
			t.Fatalf("path %q for %q", p.HeadingPath, p.Text)
		}
	}
}

func TestChunkersConcurrent(t *testing.T) {
	docs := []string{repeatWords("alpha", 2000), "# A\n\n" + repeatWords("beta", 1500), strings.Repeat("中文。", 500)}
	for _, c := range []Chunker{mustToken(t, Options{MaxTokens: 64, Overlap: 8}), mustMarkdown(t, Options{MaxTokens: 64, Overlap: 8})} {
		want := make([][]Piece, len(docs))
		for i, d := range docs {
			want[i], _ = c.Chunk(d)
		}
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Go(func() {
				for k := range 5 {
					i := (g + k) % len(docs)
					got, err := c.Chunk(docs[i])
					if err != nil || !samePieces(got, want[i]) {
						t.Errorf("concurrent result differs for doc %d: %v", i, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}

func TestChunkAll(t *testing.T) {
	c := mustToken(t, Options{MaxTokens: 32, Overlap: 4})
	docs := []string{repeatWords("a", 300), "", "short", repeatWords("b", 100)}
	out, err := ChunkAll(context.Background(), c, docs, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		want, _ := c.Chunk(d)
		if !samePieces(out[i], want) {
			t.Fatalf("doc %d: %d pieces, want %d", i, len(out[i]), len(want))
		}
	}
	_, err = ChunkAll(context.Background(), c, []string{"ok", "bad \xff"}, 2)
	if !errors.Is(err, ErrInvalidUTF8) || !strings.Contains(err.Error(), "text 1") {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ChunkAll(ctx, c, docs, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: err = %v", err)
	}
	if out, err := ChunkAll(context.Background(), c, nil, 0); err != nil || len(out) != 0 {
		t.Fatalf("no texts: %v %v", out, err)
	}
}

// TestRefineInsideOneToken covers the last resort of refine: a unit inside
// a single token of the whole text is halved at a character boundary.
func TestRefineInsideOneToken(t *testing.T) {
	enc, err := loadEncoder(Cl100kBase)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"hello", "é!", "🙂a"} {
		z := enc.tokenize(text)
		if z.ntok() != 1 && text == "hello" {
			t.Fatalf("%q: %d tokens", text, z.ntok())
		}
		p := packer{z: z, max: 0}
		units, ok := p.refine([]unit{{s: 0, e: len(text), level: levelToken}}, 0)
		if !ok || len(units) != 2 || units[0].s != 0 || units[0].e != units[1].s || units[1].e != len(text) {
			t.Fatalf("%q: refine = %+v, %v", text, units, ok)
		}
		if !utf8.ValidString(text[:units[0].e]) {
			t.Fatalf("%q: cut inside a character", text)
		}
	}
	z := enc.tokenize("🙂")
	if _, ok := (&packer{z: z, max: 0}).refine([]unit{{s: 0, e: len("🙂"), level: levelToken}}, 0); ok {
		t.Fatal("a single character cannot be refined")
	}
}
