package kern

import "sync"

// Par says how many goroutines a kernel may use. The zero value runs
// everything inline on the calling goroutine.
//
// A kernel's result never depends on Workers: parallel kernels split their
// outputs into disjoint ranges, and every output is computed by exactly one
// call of the range function, in the same order as a sequential run.
type Par struct {
	// Workers is the maximum number of goroutines, the caller's included.
	// Values ≤ 1 mean run inline.
	Workers int
}

// For calls fn on contiguous, disjoint ranges [lo, hi) that together cover
// [0, n) exactly once, using at most p.Workers goroutines (the calling one
// included) and ranges of at least grain indices (the last one may be
// shorter only when n < grain). It returns when every call has returned;
// it starts no goroutine that outlives it. With p.Workers ≤ 1, or when n
// is smaller than 2*grain, it calls fn(0, n) inline. n ≤ 0 calls nothing;
// grain < 1 counts as 1.
//
// fn must be safe to run concurrently on disjoint ranges and must not
// panic: a panic in a goroutine other than the caller's ends the process.
func (p Par) For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	chunks := n / grain
	if chunks > p.Workers {
		chunks = p.Workers
	}
	if chunks <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for t := 1; t < chunks; t++ {
		lo, hi := split(n, chunks, t), split(n, chunks, t+1)
		wg.Go(func() { fn(lo, hi) })
	}
	fn(0, split(n, chunks, 1))
}

// split returns the start of part t of [0, n) cut into parts equal parts,
// computed in 64 bits so that it cannot overflow on 32-bit platforms.
func split(n, parts, t int) int {
	return int(int64(n) * int64(t) / int64(parts))
}
