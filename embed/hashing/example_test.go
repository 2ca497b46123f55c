package hashing_test

import (
	"context"
	"fmt"

	"github.com/minirag/minirag/embed/hashing"
)

func Example() {
	e, err := hashing.New(hashing.Config{}) // 384 dimensions
	if err != nil {
		panic(err)
	}
	vs, err := e.Embed(context.Background(), []string{
		"How do I configure alerting rules?",
		"Alerting rules are configured in a rules file.",
		"Bake the bread for forty minutes.",
	})
	if err != nil {
		panic(err)
	}
	dot := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	fmt.Println(e.Model(), len(vs[0]))
	fmt.Println("related closer than unrelated:", dot(vs[0], vs[1]) > dot(vs[0], vs[2]))
	// Output:
	// hashing-v1-d384 384
	// related closer than unrelated: true
}
