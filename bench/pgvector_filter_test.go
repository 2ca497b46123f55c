package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"

	"github.com/minirag/minirag/filter"
	"github.com/minirag/minirag/record"
	"github.com/minirag/minirag/vectorstore"
	"github.com/minirag/minirag/vectorstore/pgvector"
)

// pgvMeta is the metadata pgvLoad gives record j: a category of 100
// ("c00".."c99") and a year of 25 (2000..2024), spread independently of
// the tenant and of the vector's cluster.
func pgvMeta(j int) record.Metadata {
	h := uint32(j) * 2654435761
	return record.Metadata{
		"cat":  fmt.Sprintf("c%02d", (h>>8)%100),
		"year": float64(2000 + (h>>20)%25),
	}
}

func pgvCats(from, to int) []any {
	var out []any
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("c%02d", i))
	}
	return out
}

// pgvFilters are the metadata filters of BenchmarkPGVectorMetadataFilter,
// named by the share of the big tenant's rows they keep.
var pgvFilters = []struct {
	name string
	f    filter.Filter
}{
	{"eq-1pct", filter.Eq("cat", "c07")},
	{"andnot-6pct", filter.And(filter.Lt("year", 2003), filter.Not(filter.In("cat", pgvCats(0, 50)...)))},
	{"in-10pct", filter.In("cat", pgvCats(0, 10)...)},
	{"range-80pct", filter.Gte("year", 2005)},
}

// BenchmarkPGVectorMetadataFilter measures top-10 search latency with a
// metadata filter in the "big" tenant (89% of the rows), through the
// store's default path choice ("auto": exact when at most ExactThreshold
// rows match, else HNSW with iterative scans; "auto-uncached": each
// search with a filter it has not counted yet, so it pays the count that
// chooses the path) and forced through the HNSW index ("index", with the
// default FilterEfSearch 400; "index-fef200" and "index-fef100" with
// shorter candidate lists). recall@10 compares with exact results
// computed in Go with filter.Match; "matching" is the number of the
// tenant's rows the filter keeps.
func BenchmarkPGVectorMetadataFilter(b *testing.B) {
	for _, n := range pgvSizes() {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			open, vecs, tenants := pgvLoadTable(b, n)
			r := rand.New(rand.NewPCG(9, 10))
			queries := make([][]float32, 16)
			for i := range queries {
				queries[i] = make([]float32, pgvDims)
				pgvVector(r, queries[i])
			}
			paths := []struct {
				name     string
				st       *pgvector.Store
				uncached bool
			}{
				{"auto", open(pgvector.Options{}), false},
				{"auto-uncached", open(pgvector.Options{}), true},
				{"index", open(pgvector.Options{ExactThreshold: -1}), false},
				{"index-fef200", open(pgvector.Options{ExactThreshold: -1, FilterEfSearch: 200}), false},
				{"index-fef100", open(pgvector.Options{ExactThreshold: -1, FilterEfSearch: 100}), false},
			}
			for _, fc := range pgvFilters {
				want := make([]map[string]bool, len(queries))
				matching := 0
				for i := range vecs {
					if tenants[i] == "big" && fc.f.Match(pgvMeta(i)) {
						matching++
					}
				}
				for qi, q := range queries {
					want[qi] = pgvExactTopMeta(q, vecs, tenants, "big", fc.f)
				}
				for _, path := range paths {
					b.Run(fmt.Sprintf("filter=%s/path=%s", fc.name, path.name), func(b *testing.B) {
						ctx := context.Background()
						hits, total, qi := 0, 0, 0
						for b.Loop() {
							q := queries[qi%len(queries)]
							f := fc.f
							if path.uncached {
								// The same rows, but a filter the store has
								// not counted yet.
								f = filter.And(f, filter.Not(filter.Eq("cat", "none-"+strconv.Itoa(qi))))
							}
							ms, err := path.st.Search(ctx, vectorstore.Query{Vector: q, TopK: pgvTopK,
								Filter: vectorstore.Filter{TenantID: "big", Metadata: f}})
							if err != nil {
								b.Fatal(err)
							}
							for _, m := range ms {
								if want[qi%len(queries)][m.ID] {
									hits++
								}
							}
							total += min(pgvTopK, matching)
							qi++
						}
						b.ReportMetric(float64(hits)/float64(total), "recall@10")
						b.ReportMetric(float64(matching), "matching")
					})
				}
			}
		})
	}
}

// pgvExactTopMeta returns the IDs of tenant's pgvTopK nearest records to q
// among those whose metadata match f.
func pgvExactTopMeta(q []float32, vecs [][]float32, tenants []string, tenant string, f filter.Filter) map[string]bool {
	type sc struct {
		i int
		s float32
	}
	var all []sc
	for i, v := range vecs {
		if tenants[i] != tenant || !f.Match(pgvMeta(i)) {
			continue
		}
		var d float32
		for j := range v {
			d += v[j] * q[j]
		}
		all = append(all, sc{i, d})
	}
	sort.Slice(all, func(a, b int) bool { return all[a].s > all[b].s })
	out := map[string]bool{}
	for _, s := range all[:min(pgvTopK, len(all))] {
		out["r"+strconv.Itoa(s.i)] = true
	}
	return out
}
