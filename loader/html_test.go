package loader

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHTMLToTextGolden(t *testing.T) {
	f, err := os.Open("testdata/html/article.html")
	require.NoError(t, err)
	defer f.Close()
	title, text, err := HTMLToText(f)
	require.NoError(t, err)
	want, err := os.ReadFile("testdata/html/article.txt")
	require.NoError(t, err)
	assert.Equal(t, "Alerting rules | Example Docs", title)
	assert.Equal(t, strings.TrimSpace(string(want)), text)
	for _, gone := range []string{"analytics", "font-family", "Docs\n- Blog", "Share this page", "Enable JavaScript", "icon", "2026 Example"} {
		assert.NotContains(t, text, gone)
	}
}

func TestHTMLToTextCases(t *testing.T) {
	cases := []struct {
		name, in, title, text string
	}{
		{"empty", ``, "", ""},
		{"title from first h1", `<body><h2>Sub</h2><h1>Main  <b>title</b></h1><h1>Second</h1></body>`, "Main title", "## Sub\n\n# Main title\n\n# Second"},
		{"title element wins", `<title>T</title><h1>H</h1>`, "T", "# H"},
		{"whitespace collapsed", "<p>  a \n\t b   <i>c</i>d </p>\n\n\n<p>e</p>", "", "a b cd\n\ne"},
		{"entities", `<p>a &amp; b &lt;c&gt; &eacute;</p>`, "", "a & b <c> é"},
		{"br", `<p>one<br>two<br/>three</p>`, "", "one\ntwo\nthree"},
		{"hidden and skipped", `<p>keep</p><p hidden>no</p><div aria-hidden="true">no</div><form><input value="no"><button>no</button></form><noscript>no</noscript>`, "", "keep"},
		{"empty elements leave no blank lines", `<div><div></div><p> </p><p>x</p><div></div></div>`, "", "x"},
		{"empty heading dropped", `<h2> </h2><p>x</p>`, "", "x"},
		{"pre keeps backticks and indentation", "<pre>a ```\n  b</pre>", "", "````\na ```\n  b\n````"},
		{"pre lang- class", `<pre><code class="lang-sh">ls</code></pre>`, "", "```sh\nls\n```"},
		{"list item with paragraphs", `<ul><li><p>one</p><p>more</p></li><li>two</li></ul>`, "", "- one\n  more\n- two"},
		{"stray li", `<li>a</li><p>b</p>`, "", "- a\n\nb"},
		{"table without header", `<table><caption>Cap</caption><tr><td>a</td><td></td></tr><tr><td></td><td></td></tr><tr><td>b</td><td>c<br>d</td></tr></table>`, "", "Cap\n\n| a |  |\n| b | c d |"},
		{"nested table flattened", `<table><tr><td><table><tr><td>in</td></tr></table></td></tr></table>`, "", "| in |"},
		{"heading in list", `<ul><li><h3>H</h3>text</li></ul>`, "", "- H\n  text"},
		{"links keep text", `<p>see <a href="/x">the docs</a>.</p>`, "", "see the docs."},
		{"svg title ignored", `<svg><title>icon</title></svg><h1>Real</h1>`, "Real", "# Real"},
		{"one main only", `<header>Site</header><main><p>content</p></main><aside>side</aside>`, "", "content"},
		{"role main", `<div>Site</div><div role="main"><p>content</p></div>`, "", "content"},
		{"two mains: whole page", `<main>a</main><main>b</main><p>c</p>`, "", "a\n\nb\n\nc"},
		{"empty main: whole page", `<header>Site</header><main> </main><p>c</p>`, "", "Site\n\nc"},
		{"title from h1 outside main", `<h1>Top</h1><main><p>x</p></main>`, "Top", "x"},
		{"inline blocks spaced", `<div>a</div><div>b</div><span>c</span><span>d</span>`, "", "a\n\nb\n\ncd"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			title, text, err := HTMLToText(strings.NewReader(c.in))
			require.NoError(t, err)
			assert.Equal(t, c.title, title)
			assert.Equal(t, c.text, text)
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestHTMLToTextReadError(t *testing.T) {
	_, _, err := HTMLToText(failingReader{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "loader: parse html")
	assert.Contains(t, err.Error(), "disk on fire")
}

func TestMarkdownTitle(t *testing.T) {
	cases := map[string]string{
		"# Title\ntext":                          "Title",
		"intro\n\n#   Spaced   #\n":              "Spaced",
		"## Sub\n# Main":                         "Main",
		"```\n# code\n```\n# Real":               "Real",
		"~~~~\n# code\n~~~\n~~~~\n# After":       "After",
		"Setext\n======\n":                       "Setext",
		"    # indented code\n":                  "",
		"#NoSpace\n":                             "",
		"no title":                               "",
		"   # three spaces ok":                   "three spaces ok",
		"para\n\n    indented\n====\n# Fallback": "Fallback",
	}
	for in, want := range cases {
		assert.Equal(t, want, markdownTitle([]byte(in)), "input %q", in)
	}
}

func TestFrontMatter(t *testing.T) {
	title, body := frontMatter([]byte("---\ntitle: 'Quoted'\nx: y\n---\nbody\n"))
	assert.Equal(t, "Quoted", title)
	assert.Equal(t, "body\n", string(body))

	title, body = frontMatter([]byte("---\ntitle: open\nno end\n"))
	assert.Empty(t, title)
	assert.Equal(t, "---\ntitle: open\nno end\n", string(body))

	title, body = frontMatter([]byte("---\r\ntitle: crlf\r\n---\r\nx"))
	assert.Equal(t, "crlf", title)
	assert.Equal(t, "x", string(body))

	title, body = frontMatter([]byte("---\ntitle: at end\n---"))
	assert.Equal(t, "at end", title)
	assert.Empty(t, body)
}

func TestGlobs(t *testing.T) {
	cases := []struct {
		pattern, rel string
		want         bool
	}{
		{"*.md", "a/b/c.md", true}, // base name
		{"a/*.md", "a/c.md", true},
		{"a/*.md", "a/b/c.md", false},
		{"a/**", "a/b/c.md", true},
		{"**/deep", "x/y/deep", true},
		{"**/*.md", "c.md", true},
		{"a/**/c.md", "a/c.md", true},
		{"a/**/c.md", "a/x/y/c.md", true},
		{"a/**/c.md", "b/x/c.md", false},
		{"drafts", "x/drafts", true},
	}
	for _, c := range cases {
		base := c.rel[strings.LastIndex(c.rel, "/")+1:]
		assert.Equal(t, c.want, matchAny([]string{c.pattern}, c.rel, base), "%s ~ %s", c.pattern, c.rel)
	}
}

func TestBinaryReason(t *testing.T) {
	assert.Empty(t, binaryReason([]byte("plain text é"), true))
	assert.Contains(t, binaryReason([]byte("a\x00b"), false), "NUL")
	assert.Contains(t, binaryReason([]byte("caf\xe9"), true), "UTF-8")
	assert.Empty(t, binaryReason([]byte("caf\xe9"), false))
	// A rune cut by the 8 KiB boundary is not invalid.
	data := []byte(strings.Repeat("a", sniffBytes-1) + "é and more")
	assert.Empty(t, binaryReason(data, true))
	// NUL after the first 8 KiB is not looked at.
	assert.Empty(t, binaryReason([]byte(strings.Repeat("a", sniffBytes)+"\x00"), true))
}
