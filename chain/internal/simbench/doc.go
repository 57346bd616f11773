// Package simbench holds only benchmarks: the embedded chain side by side with
// go-ethereum's simulated backend (ethclient/simulated) in one `go test -bench` run. It is
// the one package that imports the simulated backend, whose cold build takes minutes, so that
// no other package pays for it.
//
//	go test -run '^$' -bench . -benchtime 20000x ./chain/internal/simbench
package simbench
