# Convenience targets; the test command itself is ./scripts/test.sh (no make needed).
.PHONY: test quick bench bench-compare

test:
	./scripts/test.sh

quick:
	go test ./...

bench:
	go test -run '^$$' -bench . -benchtime 2s ./accel/...

bench-compare:
	./scripts/bench_compare.sh
