package kern

import (
	"fmt"
	"sync/atomic"
	"testing"
)

func TestParFor(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 64, 1000} {
		for _, grain := range []int{0, 1, 3, 100} {
			for _, w := range []int{-1, 0, 1, 2, 3, 8} {
				t.Run(fmt.Sprintf("n%d_grain%d_w%d", n, grain, w), func(t *testing.T) {
					hits := make([]int32, n)
					var calls atomic.Int32
					Par{Workers: w}.For(n, grain, func(lo, hi int) {
						calls.Add(1)
						if lo >= hi {
							t.Errorf("empty range [%d,%d)", lo, hi)
						}
						if hi-lo < max(grain, 1) && hi-lo != n {
							t.Errorf("range [%d,%d) shorter than grain %d", lo, hi, grain)
						}
						for i := lo; i < hi; i++ {
							atomic.AddInt32(&hits[i], 1)
						}
					})
					for i, h := range hits {
						if h != 1 {
							t.Fatalf("index %d covered %d times", i, h)
						}
					}
					if c := int(calls.Load()); c > max(w, 1) {
						t.Fatalf("%d calls for %d workers", c, w)
					}
				})
			}
		}
	}
}
