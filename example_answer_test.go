package minirag_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/internal/openaitest"
	"github.com/minirag/minirag/loader"
)

// askSetup opens the embedded stack in a temporary folder, creates a
// tenant and a bot with p, and ingests two short texts for it.
func askSetup(ctx context.Context, p minirag.BotParams) (*minirag.TenantHandle, minirag.Bot, func()) {
	dir, err := os.MkdirTemp("", "minirag-example-")
	if err != nil {
		log.Fatal(err)
	}
	c, err := minirag.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	cleanup := func() { c.Close(); os.RemoveAll(dir) }
	b, err := c.CreateTenant(ctx, minirag.CreateTenantParams{Name: "Acme", Slug: "acme", OwnerEmail: "owner@acme.example"})
	if err != nil {
		log.Fatal(err)
	}
	h := c.Tenant(b.Tenant.ID)
	bot, err := h.CreateBot(ctx, p)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range []loader.TextConfig{
		{Title: "Storage", Content: "Prometheus stores samples in a local time series database. Retention defaults to 15 days."},
		{Title: "Alerting", Content: "Firing alerts are sent to the Alertmanager. It routes notifications to receivers such as email."},
	} {
		src, err := h.CreateSource(ctx, minirag.SourceParams{BotID: bot.ID, Name: d.Title, Type: minirag.SourceText, Config: d})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := h.Ingest(ctx, src.ID, minirag.IngestOptions{}); err != nil {
			log.Fatal(err)
		}
	}
	return h, bot, cleanup
}

// A bot without a model, configured for extractive answers, answers
// offline with the sentences of the best passages, cited.
func ExampleTenantHandle_Ask_extractive() {
	ctx := context.Background()
	h, bot, cleanup := askSetup(ctx, minirag.BotParams{Name: "Docs", ExtractiveFallback: true})
	defer cleanup()

	ans, err := h.Ask(ctx, minirag.AskRequest{BotID: bot.ID, Question: "How many days is the retention?"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ans.Text)
	for _, c := range ans.Citations {
		fmt.Printf("[%d] %s\n", c.Marker, c.DocumentTitle)
	}
	fmt.Println("extractive:", ans.Extractive)
	// Output:
	// Retention defaults to 15 days. [1]
	// [1] Storage
	// extractive: true
}

// A bot with a model answers through its OpenAI-compatible endpoint (here
// a local fake that always gives the same reply); the citations are the
// passages the answer's [n] markers name.
func ExampleTenantHandle_Ask() {
	ctx := context.Background()
	llm := openaitest.Start(openaitest.Options{Reply: func(openaitest.ChatRequest) string {
		return "Samples are kept for 15 days [1]."
	}})
	defer llm.Close()
	h, bot, cleanup := askSetup(ctx, minirag.BotParams{
		Name: "Docs", Model: "gpt-4o-mini", BaseURL: llm.URL,
		Credentials: &minirag.Credentials{APIKey: "sk-example"},
	})
	defer cleanup()

	ans, err := h.Ask(ctx, minirag.AskRequest{BotID: bot.ID, Question: "How long are samples kept?"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ans.Text)
	for _, c := range ans.Citations {
		fmt.Printf("[%d] %s: %s\n", c.Marker, c.DocumentTitle, c.Snippet)
	}
	// Output:
	// Samples are kept for 15 days [1].
	// [1] Storage: Prometheus stores samples in a local time series database. Retention defaults to 15 days.
}

// AskStream yields the answer as it is written, then the whole Answer
// with its citations.
func ExampleTenantHandle_AskStream() {
	ctx := context.Background()
	llm := openaitest.Start(openaitest.Options{Reply: func(openaitest.ChatRequest) string {
		return "Alerts go to the Alertmanager [1]."
	}})
	defer llm.Close()
	h, bot, cleanup := askSetup(ctx, minirag.BotParams{
		Name: "Docs", Model: "gpt-4o-mini", BaseURL: llm.URL,
		Credentials: &minirag.Credentials{APIKey: "sk-example"},
	})
	defer cleanup()

	for d, err := range h.AskStream(ctx, minirag.AskRequest{BotID: bot.ID, Question: "Where do firing alerts go?"}) {
		if err != nil {
			log.Fatal(err)
		}
		if d.Done {
			fmt.Println()
			for _, c := range d.Answer.Citations {
				fmt.Printf("[%d] %s\n", c.Marker, c.DocumentTitle)
			}
			break
		}
		fmt.Print(d.Content)
	}
	// Output:
	// Alerts go to the Alertmanager [1].
	// [1] Alerting
}
