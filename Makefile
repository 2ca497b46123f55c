.PHONY: test quickstart bench
test:
	./scripts/test
# -v prints each package as it compiles: the first build takes minutes.
quickstart:
	go run -v ./examples/quickstart
bench:
	cd bench && go test -run '^$$' -bench . -benchmem -count 6
