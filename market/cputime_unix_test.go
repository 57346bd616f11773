//go:build unix

package market

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used (user and system, every thread), or 0
// where it is not known. Benchmarks report it beside wall time: on a shared machine the
// wall time of an iteration includes the time other processes hold the core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
