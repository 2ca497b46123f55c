.PHONY: test quickstart bench
test:
	./scripts/test
quickstart:
	go run ./examples/quickstart
bench:
	cd bench && go test -run '^$$' -bench . -benchmem -count 6
