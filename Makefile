.PHONY: test quickstart bench
test:
	./scripts/test
# -v prints each package as it compiles: the first build takes minutes.
quickstart:
	go run -v ./examples/quickstart
# One pass of bench/ takes about 7 minutes on 2 loaded vCPUs: six need more than go test's 10-minute default timeout.
bench:
	cd bench && go test -run '^$$' -bench . -benchmem -count 6 -timeout 60m
