package minirag_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
)

// pushSetup opens the embedded stack in a temporary folder and creates a
// tenant, a bot and a documents source.
func pushSetup(ctx context.Context) (*minirag.TenantHandle, minirag.Bot, minirag.Source, func()) {
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
	bot, err := h.CreateBot(ctx, minirag.BotParams{Name: "Support"})
	if err != nil {
		log.Fatal(err)
	}
	src, err := h.CreateSource(ctx, minirag.SourceParams{BotID: bot.ID, Name: "tickets", Type: minirag.SourceDocuments})
	if err != nil {
		log.Fatal(err)
	}
	return h, bot, src, cleanup
}

// A host mirrors its own records (here, support tickets) into a
// documents source, one call per batch, each record under its own key
// with its metadata. Pushing a key again updates it: a change of
// metadata alone embeds nothing.
func ExampleTenantHandle_UpsertDocuments() {
	ctx := context.Background()
	h, _, src, cleanup := pushSetup(ctx)
	defer cleanup()

	res, err := h.UpsertDocuments(ctx, src.ID, []minirag.DocumentInput{
		{Key: "ticket-1", Title: "Refund delayed", Text: "The refund for order 1 has not arrived after ten days.",
			Metadata: record.Metadata{"status": "open", "priority": 2}},
		{Key: "ticket-2", Title: "Parcel lost", Text: "The parcel of order 2 was lost by the carrier.",
			Metadata: record.Metadata{"status": "open", "priority": 1}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("added:", res.Added, "embedded chunks:", res.Embedded)

	// ticket-1 is closed: same text, new metadata.
	res, err = h.UpsertDocuments(ctx, src.ID, []minirag.DocumentInput{
		{Key: "ticket-1", Title: "Refund delayed", Text: "The refund for order 1 has not arrived after ten days.",
			Metadata: record.Metadata{"status": "closed", "priority": 2}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Documents[0].Key, res.Documents[0].Status, "embedded chunks:", res.Embedded)

	del, err := h.DeleteDocuments(ctx, src.ID, []string{"ticket-2"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted:", del.Deleted)
	d, err := h.GetDocumentByKey(ctx, src.ID, "ticket-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Key, d.Metadata["status"])
	// Output:
	// added: 2 embedded chunks: 2
	// ticket-1 metadata_updated embedded chunks: 0
	// deleted: 1
	// ticket-1 closed
}

// A filter on metadata keeps only the chunks of matching documents,
// applied inside the search, before ranking; each result carries its
// document's key and metadata.
func ExampleTenantHandle_Search_filter() {
	ctx := context.Background()
	h, bot, src, cleanup := pushSetup(ctx)
	defer cleanup()

	var docs []minirag.DocumentInput
	for i, status := range []string{"open", "closed", "open", "closed"} {
		docs = append(docs, minirag.DocumentInput{
			Key:      fmt.Sprintf("ticket-%d", i+1),
			Text:     fmt.Sprintf("Order %d: the refund has not arrived.", i+1),
			Metadata: record.Metadata{"status": status, "priority": i + 1},
		})
	}
	if _, err := h.UpsertDocuments(ctx, src.ID, docs); err != nil {
		log.Fatal(err)
	}
	rs, err := h.Search(ctx, minirag.SearchRequest{
		BotID:  bot.ID,
		Query:  "refund not arrived",
		TopK:   10,
		Filter: filter.And(filter.Eq("status", "open"), filter.Gte("priority", 2)),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rs {
		fmt.Println(r.DocumentKey, r.Metadata["status"], r.Metadata["priority"])
	}
	// Output:
	// ticket-3 open 3
}
