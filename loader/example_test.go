package loader_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/minirag/minirag/loader"
	"github.com/minirag/minirag/record"
)

// A text source yields one document holding its inline content.
func ExampleNew_text() {
	l, err := loader.New(record.SourceText,
		json.RawMessage(`{"content": "MiniRAG keeps tenants apart.", "title": "Notes"}`),
		loader.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = l.Load(context.Background(), func(d loader.Document) error {
		fmt.Printf("%s | %s | %s\n", d.Key, d.Title, d.Text)
		return nil
	})
	fmt.Println(err)
	// Output:
	// text | Notes | MiniRAG keeps tenants apart.
	// <nil>
}

// Bad configs name the field.
func ExampleNew_invalid() {
	_, err := loader.New(record.SourceURL, json.RawMessage(`{"url": "ftp://example.com", "max_pages": -1}`), loader.Options{})
	fmt.Println(err)
	// Output:
	// minirag: invalid input: config.url: must be an absolute http or https URL; config.max_pages: must be between 0 and 10000
}

// A file source walks a directory in lexical order and reports what it
// passes over.
func ExampleFileLoader() {
	l, err := loader.NewFile(loader.FileConfig{
		Path:    "testdata/tree",
		Exclude: []string{"drafts"},
	}, loader.Options{
		OnSkip: func(s loader.Skipped) { fmt.Printf("skipped %s: %s\n", s.Key, s.Reason) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = l.Load(context.Background(), func(d loader.Document) error {
		fmt.Printf("%s (%s) %q\n", d.Key, d.Metadata["content_type"], d.Title)
		return nil
	})
	fmt.Println(err)
	// Output:
	// README.md (text/markdown) "Tree Readme"
	// skipped binary.txt: binary (NUL bytes in the first 8 KiB)
	// skipped data.dat: unsupported file type (.dat)
	// guide/deep/nested.md (text/markdown) "nested"
	// guide/deep/noheading.htm (text/html) "Only an H1"
	// guide/intro.markdown (text/markdown) "Introduction to the Guide"
	// guide/legacy.html (text/html) "Legacy Café"
	// skipped image.png: unsupported file type (.png)
	// skipped latin1.txt: binary or not UTF-8 (invalid UTF-8 in the first 8 KiB)
	// notes.txt (text/plain) "notes"
	// page.html (text/html) "An HTML Page"
	// <nil>
}

// A host serving several tenants confines file sources to some directories.
func ExampleNewFile_roots() {
	_, err := loader.NewFile(loader.FileConfig{Path: "/etc/passwd"},
		loader.Options{FileRoots: []string{"testdata"}})
	fmt.Println(err)
	// Output:
	// minirag: invalid input: config.path: is outside the directories this host allows
}

func ExampleHTMLToText() {
	page := `<html><head><title>Release notes</title><script>track()</script></head>
<body><nav>Home | Docs</nav>
<h1>Version 2</h1>
<p>What   changed:</p>
<ul><li>Faster <b>search</b></li><li>Fewer bugs</li></ul>
<table><tr><th>Flag</th><th>Default</th></tr><tr><td>--fast</td><td>on</td></tr></table>
<footer>© Example</footer></body></html>`
	title, text, err := loader.HTMLToText(strings.NewReader(page))
	fmt.Println(title, err)
	fmt.Println(text)
	// Output:
	// Release notes <nil>
	// # Version 2
	//
	// What changed:
	//
	// - Faster search
	// - Fewer bugs
	//
	// | Flag | Default |
	// | --- | --- |
	// | --fast | on |
}

// A url source crawls one host breadth-first within its bounds. (The test
// server is on 127.0.0.1, so this example allows private networks; a
// multi-tenant host leaves that off.)
func ExampleURLLoader() {
	mux := http.NewServeMux()
	page := func(title, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<title>%s</title><main>%s</main>", title, body)
		}
	}
	mux.HandleFunc("/{$}", page("Home", `<h1>Home</h1><a href="/guide">Guide</a> <a href="/logo.png">logo</a>`))
	mux.HandleFunc("/guide", page("Guide", `<h2>Install</h2><pre>go get example.com/x</pre><a href="/faq">FAQ</a>`))
	mux.HandleFunc("/faq", page("FAQ", `deeper than max_depth`))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	l, err := loader.New(record.SourceURL,
		json.RawMessage(`{"url": "`+srv.URL+`", "max_pages": 10, "max_depth": 1}`),
		loader.Options{AllowPrivateNetworks: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = l.Load(context.Background(), func(d loader.Document) error {
		fmt.Printf("== %s %q\n%s\n", strings.TrimPrefix(d.Key, srv.URL), d.Title, d.Text)
		return nil
	})
	fmt.Println(err)
	// Output:
	// == / "Home"
	// # Home
	//
	// Guide logo
	// == /guide "Guide"
	// ## Install
	//
	// ```
	// go get example.com/x
	// ```
	//
	// FAQ
	// <nil>
}
