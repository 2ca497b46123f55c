package openai_test

import (
	"context"
	"fmt"

	"github.com/minirag/minirag/embed/openai"
	"github.com/minirag/minirag/internal/openaitest"
)

func Example() {
	// A local stand-in for https://api.openai.com/v1 (or a LiteLLM proxy,
	// Ollama, vLLM…): point BaseURL at the real service in a program.
	srv := openaitest.Start(openaitest.Options{APIKey: "sk-example"})
	defer srv.Close()

	e, err := openai.New(openai.Config{
		BaseURL:    srv.URL,
		APIKey:     "sk-example",
		Model:      "text-embedding-3-small",
		Dimensions: 256, // sent as "dimensions"; every vector must have 256 values
		BatchSize:  2,   // at most 2 texts per request
	})
	if err != nil {
		panic(err)
	}
	vs, err := e.Embed(context.Background(), []string{"first", "second", "third"})
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Model(), len(vs), len(vs[0]), srv.RequestCount(), "requests")
	// Output: openai:text-embedding-3-small:256 3 256 2 requests
}

func ExampleStatusError() {
	srv := openaitest.Start(openaitest.Options{})
	defer srv.Close()
	srv.FailNext(1, openaitest.Failure{Status: 400, Message: "Invalid model"})

	e, err := openai.New(openai.Config{BaseURL: srv.URL, APIKey: "sk-secret", Model: "no-such-model"})
	if err != nil {
		panic(err)
	}
	_, err = e.Embed(context.Background(), []string{"text"})
	fmt.Println(err)
	// Output: embed/openai: texts[0:1]: server answered 400 Bad Request: Invalid model
}
