package dataset

import (
	"math"

	"github.com/deai-go/deai/internal/rng"
)

// StepsPerEpoch returns the number of full batches of size batch in n
// samples, n / batch, or 0 when batch < 1, n < batch or n exceeds
// math.MaxInt32.
func StepsPerEpoch(n, batch int) int {
	if batch < 1 || n < batch || n > math.MaxInt32 {
		return 0
	}
	return n / batch
}

// epochOrder returns the sample order of epoch e (see the package
// documentation).
func epochOrder(seed, epoch uint64, n int) []int32 {
	return rng.Permutation(rng.New(seed, epoch+1), n)
}

// Batches returns the batches of epoch epoch: the permutation
// rng.Permutation(rng.New(seed, epoch+1), n) cut into StepsPerEpoch(n, batch)
// consecutive slices of batch indices; the last n % batch indices of the
// permutation are dropped. The batches share one backing array. Batches
// returns nil when StepsPerEpoch is 0.
func Batches(seed, epoch uint64, n, batch int) [][]int32 {
	steps := StepsPerEpoch(n, batch)
	if steps == 0 {
		return nil
	}
	perm := epochOrder(seed, epoch, n)
	out := make([][]int32, steps)
	for k := range out {
		out[k] = perm[k*batch : (k+1)*batch : (k+1)*batch]
	}
	return out
}

// BatchAt returns a fresh copy of the sample indices of global step step:
// batch step % StepsPerEpoch(n, batch) of epoch step / StepsPerEpoch(n,
// batch), equal to Batches(seed, epoch, n, batch)[step % steps]. It computes
// the permutation of that one epoch only (O(n) time and memory), and returns
// nil when StepsPerEpoch is 0.
func BatchAt(seed uint64, n, batch int, step uint64) []int32 {
	steps := StepsPerEpoch(n, batch)
	if steps == 0 {
		return nil
	}
	epoch, k := step/uint64(steps), int(step%uint64(steps))
	perm := epochOrder(seed, epoch, n)
	return append([]int32(nil), perm[k*batch:(k+1)*batch]...)
}
