package chunk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/minirag/minirag/chunk"
)

func ExampleNormalize() {
	text, err := chunk.Normalize("  Caf\u0065\u0301 \t menu\r\n\r\n\r\n\r\n  - soup   \n")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", text)
	// Output: "Café menu\n\n  - soup"
}

func ExampleNormalizeDocument() {
	_, err := chunk.NormalizeDocument("notes/latin1.txt", "caf\xe9")
	fmt.Println(err)
	fmt.Println(errors.Is(err, chunk.ErrInvalidUTF8))
	fmt.Printf("%+q\n", chunk.NormalizeRepair("caf\xe9"))
	// Output:
	// chunk: document "notes/latin1.txt": chunk: invalid UTF-8 at byte 3
	// true
	// "caf\ufffd"
}

func ExampleTokenizer() {
	tk, err := chunk.NewTokenizer(chunk.Cl100kBase)
	if err != nil {
		panic(err)
	}
	ids := tk.Encode("hello world")
	fmt.Println(ids, tk.Count("hello world"), tk.Decode(ids))
	// Output: [15339 1917] 2 hello world
}

func ExampleTokenChunker() {
	c, err := chunk.NewTokenChunker(chunk.Options{MaxTokens: 12, Overlap: 3})
	if err != nil {
		panic(err)
	}
	text := "Prometheus scrapes metrics from instrumented jobs. " +
		"It stores all scraped samples locally and runs rules over this data.\n\n" +
		"Grafana can be used to visualize the collected data."
	pieces, err := c.Chunk(text)
	if err != nil {
		panic(err)
	}
	for _, p := range pieces {
		fmt.Printf("[%d:%d] %d tokens: %q\n", p.Start, p.End, p.Tokens, p.Text)
	}
	// Output:
	// [0:50] 10 tokens: "Prometheus scrapes metrics from instrumented jobs."
	// [45:108] 12 tokens: "jobs. It stores all scraped samples locally and runs rules over"
	// [93:119] 6 tokens: "runs rules over this data."
	// [121:173] 12 tokens: "Grafana can be used to visualize the collected data."
}

func ExampleMarkdownChunker() {
	c, err := chunk.NewMarkdownChunker(chunk.Options{MaxTokens: 30})
	if err != nil {
		panic(err)
	}
	doc := "# Install\n\nDownload a release.\n\n" +
		"## From source\n\n```sh\ngit clone https://github.com/prometheus/prometheus\nmake build\n```\n\n" +
		"# Configure\n\nEdit prometheus.yml."
	pieces, err := c.Chunk(doc)
	if err != nil {
		panic(err)
	}
	for _, p := range pieces {
		fmt.Printf("%s | %q\n", strings.Join(p.HeadingPath, " > "), p.Text)
	}
	// Output:
	// Install | "# Install\n\nDownload a release."
	// Install > From source | "## From source\n\n```sh\ngit clone https://github.com/prometheus/prometheus\nmake build\n```"
	// Configure | "# Configure\n\nEdit prometheus.yml."
}

func ExampleChunkAll() {
	c, err := chunk.NewTokenChunker(chunk.Options{MaxTokens: chunk.DefaultMaxTokens, Overlap: chunk.DefaultOverlap})
	if err != nil {
		panic(err)
	}
	docs := []string{"first document", "second document", ""}
	out, err := chunk.ChunkAll(context.Background(), c, docs, 0)
	if err != nil {
		panic(err)
	}
	for i, pieces := range out {
		fmt.Println(i, len(pieces))
	}
	// Output:
	// 0 1
	// 1 1
	// 2 0
}
