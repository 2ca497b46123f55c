// Package bench holds MiniRAG's benchmarks against its peers (langchaingo,
// chromem-go). It is a separate module so that the peers measured here never
// enter the library's dependencies. Run with:
//
//	cd bench && go test -run '^$' -bench . -benchmem -count 6
package bench
