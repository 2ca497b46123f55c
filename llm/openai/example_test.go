package openai_test

import (
	"context"
	"fmt"

	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/llm"
	"github.com/minirag/minirag/llm/openai"
)

// reply stands in for a model: it answers every question the same way.
func reply(openaitest.ChatRequest) string {
	return "Prometheus scrapes targets every 15 seconds by default [1]."
}

func ExampleClient_Chat() {
	srv := openaitest.Start(openaitest.Options{Reply: reply})
	defer srv.Close()

	m, err := openai.New(openai.Config{BaseURL: srv.URL, APIKey: "sk-example", Model: "gpt-4o-mini"})
	if err != nil {
		panic(err)
	}
	resp, err := m.Chat(context.Background(), llm.Request{
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "Answer from the numbered passages; cite them as [n]."},
			{Role: llm.RoleUser, Content: "How often does Prometheus scrape?"},
		},
		Temperature: llm.Temperature(0),
		MaxTokens:   200,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Content)
	fmt.Println(resp.FinishReason)
	// Output:
	// Prometheus scrapes targets every 15 seconds by default [1].
	// stop
}

func ExampleClient_Stream() {
	srv := openaitest.Start(openaitest.Options{Reply: reply})
	defer srv.Close()

	m, err := openai.New(openai.Config{BaseURL: srv.URL, Model: "llama3.2"})
	if err != nil {
		panic(err)
	}
	req := llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "How often?"}}}
	for d, err := range m.Stream(context.Background(), req) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		if d.Done {
			fmt.Printf("\n[%s, %d tokens]\n", d.FinishReason, d.Usage.TotalTokens)
			break
		}
		fmt.Print(d.Content, "|") // each piece as it arrives
	}
	// Output:
	// Prometheus |scrapes |targets |every |15 |seconds |by |default |[1].|
	// [stop, 21 tokens]
}
