package eval_test

import (
	"context"
	"fmt"

	"github.com/minirag/minirag"
	"github.com/minirag/minirag/eval"
)

func ExamplePassageMatch() {
	passage := "Labels with an empty label value are considered equivalent to labels that do not exist."
	// The whole passage, whitespace aside.
	fmt.Println(eval.PassageMatch("* Labels with an empty label value are considered\nequivalent to labels that do not exist.", passage))
	// A chunk that ends inside the passage, past its middle.
	fmt.Println(eval.PassageMatch("* Label values MAY contain any UTF-8 characters.\n* Labels with an empty label value are considered", passage))
	// Another text.
	fmt.Println(eval.PassageMatch("Label names beginning with __ are reserved.", passage))
	// Output:
	// true
	// true
	// false
}

func ExampleRun() {
	qs := []eval.Question{
		{ID: "q1", Question: "What is a mixin?", Document: "docs/introduction/glossary.md"},
		{ID: "q2", Question: "Can I reload the configuration?", Document: "docs/introduction/faq.md"},
	}
	// A stand-in for Env.Search: the glossary first for every query.
	search := func(_ context.Context, _ string, _ minirag.SearchMode, _ int) ([]eval.Hit, error) {
		return []eval.Hit{{Document: "docs/introduction/glossary.md"}, {Document: "docs/introduction/faq.md"}}, nil
	}
	rep, err := eval.Run(context.Background(), search, qs, []minirag.SearchMode{minirag.SearchLexical}, 10)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, _ := rep.Mode(minirag.SearchLexical)
	fmt.Printf("recall@10 %.2f, MRR@10 %.2f\n", m.Document.Recall10, m.Document.MRR10)
	// Output:
	// recall@10 1.00, MRR@10 0.75
}
