package local

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/minirag/minirag/vectorstore"
)

// TestPostingLists: searches filtered to a bot, a source or a document
// (served from posting lists when the filter keeps at most half the rows)
// return exactly what a full scan finds, also after records move between
// bots and are deleted, in both modes.
func TestPostingLists(t *testing.T) {
	ctx := context.Background()
	for _, q := range []Quantization{Float32, Int8} {
		s := openInit(t, "", WithQuantization(q))
		r := rand.New(rand.NewPCG(12, 12))
		recs := randRecs(r, 3000, "p")
		for i := range recs {
			recs[i].TenantID = "t"
			recs[i].BotID = fmt.Sprint("b", i%10) // 10% each
		}
		if err := s.Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
		check := func(what string) {
			t.Helper()
			for _, f := range []vectorstore.Filter{
				{TenantID: "t", BotID: "b3"},
				{TenantID: "t", SourceIDs: []string{"s2"}},
				{TenantID: "t", DocumentIDs: []string{"d4"}},
				{TenantID: "t", BotID: "b1", SourceIDs: []string{"s1"}},
			} {
				qv := randRecs(r, 1, "q")[0].Vector
				got, err := s.Search(ctx, vectorstore.Query{Vector: qv, TopK: 5, Filter: f})
				if err != nil {
					t.Fatal(err)
				}
				want := bruteForce(s, qv, 5, f)
				ids := make([]string, len(got))
				for i, m := range got {
					ids[i] = m.ID
				}
				if !slices.Equal(ids, want) {
					t.Fatalf("%v %s %+v: %v, want %v", q, what, f, ids, want)
				}
			}
		}
		check("after upsert")
		moved := recs[:300]
		for i := range moved {
			moved[i].BotID = "b3"
		}
		if err := s.Upsert(ctx, moved); err != nil {
			t.Fatal(err)
		}
		check("after moves")
		if err := s.Delete(ctx, vectorstore.Filter{TenantID: "t", SourceIDs: []string{"s2"}, BotID: "b3"}); err != nil {
			t.Fatal(err)
		}
		check("after delete")
		mustClose(t, s)
	}
}

// bruteForce is the exact top k of f by a scan of every row.
func bruteForce(s *Store, qv []float32, k int, f vectorstore.Filter) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.tenants[f.TenantID]
	c, ok := compileFilter(s.in, f.BotID, f.SourceIDs, f.DocumentIDs)
	if p == nil || !ok {
		return nil
	}
	inv, _ := invNorm(qv)
	q := make([]float32, len(qv))
	normalizeInto(q, qv, inv)
	type sc struct {
		id string
		s  float32
	}
	var all []sc
	vec, buf := make([]float32, p.dims), make([]byte, 4*p.dims)
	for r := 0; r < p.n; r++ {
		if !p.matchRow(&c, r) {
			continue
		}
		v, _ := s.rowFloats(p, r, vec, buf)
		all = append(all, sc{p.id(r), dot(q, v)})
	}
	slices.SortFunc(all, func(a, b sc) int {
		if a.s != b.s {
			if a.s > b.s {
				return -1
			}
			return 1
		}
		return compareStrings(a.id, b.id)
	})
	out := []string{}
	for _, a := range all[:min(k, len(all))] {
		out = append(out, a.id)
	}
	return out
}
