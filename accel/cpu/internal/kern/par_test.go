package kern

import (
	"fmt"
	"sync"
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
					if c := int(calls.Load()); c > max(w*overSplit, 1) {
						t.Fatalf("%d calls for %d workers", c, w)
					}
				})
			}
		}
	}
}

// coverRanger records which indices its ranges covered.
type coverRanger struct {
	hits  []int32
	calls atomic.Int32
	inner Par // when Workers > 0, every range runs a nested Run over 10 indices
}

func (c *coverRanger) Range(lo, hi int) {
	c.calls.Add(1)
	for i := lo; i < hi; i++ {
		atomic.AddInt32(&c.hits[i], 1)
	}
	if c.inner.Workers > 0 {
		in := &coverRanger{hits: make([]int32, 10)}
		c.inner.Run(10, 1, in)
		for i, h := range in.hits {
			if h != 1 {
				panic(fmt.Sprintf("nested index %d covered %d times", i, h))
			}
		}
	}
}

func TestParRun(t *testing.T) {
	tests := []struct {
		name       string
		n, grain   int
		workers    int
		goroutines int // concurrent callers
		nested     bool
	}{
		{"inline", 100, 1, 1, 1, false},
		{"two workers", 1000, 1, 2, 1, false},
		{"many workers", 1000, 3, 16, 1, false},
		{"concurrent callers", 500, 1, 4, 8, false},
		{"nested", 64, 1, 4, 2, true},
		{"grain larger than n", 5, 10, 8, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := make(chan string, tt.goroutines)
			for range tt.goroutines {
				go func() {
					for range 50 {
						c := &coverRanger{hits: make([]int32, tt.n)}
						if tt.nested {
							c.inner = Par{Workers: tt.workers}
						}
						Par{Workers: tt.workers}.Run(tt.n, tt.grain, c)
						for i, h := range c.hits {
							if h != 1 {
								errs <- fmt.Sprintf("index %d covered %d times", i, h)
								return
							}
						}
						if c := int(c.calls.Load()); c > tt.workers*overSplit {
							errs <- fmt.Sprintf("%d ranges for %d workers", c, tt.workers)
							return
						}
					}
					errs <- ""
				}()
			}
			for range tt.goroutines {
				if e := <-errs; e != "" {
					t.Fatal(e)
				}
			}
		})
	}
}

// rangeLog records the ranges it was called with.
type rangeLog struct {
	mu     sync.Mutex
	ranges map[[2]int]bool
}

func (l *rangeLog) Range(lo, hi int) {
	l.mu.Lock()
	l.ranges[[2]int{lo, hi}] = true
	l.mu.Unlock()
}

func TestParRunRangesFixed(t *testing.T) {
	// The ranges depend on n, grain and Workers only, never on which
	// goroutine takes them: 17 indices in ranges of at least 4 are always
	// cut alike.
	want := map[[2]int]bool{{0, 4}: true, {4, 8}: true, {8, 12}: true, {12, 17}: true}
	for range 100 {
		l := &rangeLog{ranges: map[[2]int]bool{}}
		Par{Workers: 4}.Run(17, 4, l)
		if len(l.ranges) != len(want) {
			t.Fatalf("ranges %v, want %v", l.ranges, want)
		}
		for r := range want {
			if !l.ranges[r] {
				t.Fatalf("ranges %v, want %v", l.ranges, want)
			}
		}
	}
}

func TestKernelsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop values at random")
	}
	r := newRand()
	a, lda, b, ldb, c, ldc := gemmOperands(r, false, false, 64, 128, 300)
	s := ConvShape{N: 4, C: 3, H: 12, W: 12, O: 8, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1}
	x, w, y, col := randSlice(r, s.XLen()), randSlice(r, s.WLen()), make([]float32, s.YLen()), make([]float32, s.ColLen())
	dx, dw := make([]float32, s.XLen()), make([]float32, s.WLen())
	for _, workers := range []int{1, 2, 4} {
		p := Par{Workers: workers}
		for name, fn := range map[string]func(){
			"Gemm":             func() { Gemm(p, false, false, 64, 128, 300, a, lda, b, ldb, c, ldc, false) },
			"Gemm transB":      func() { Gemm(p, false, true, 64, 100, 128, a, lda, b, ldb, c, ldc, false) },
			"Conv2D":           func() { Conv2D(p, y, x, w, col, s) },
			"Conv2DGradInput":  func() { Conv2DGradInput(p, dx, y, w, col, s) },
			"Conv2DGradWeight": func() { Conv2DGradWeight(p, dw, y, x, col, s) },
		} {
			fn() // warm the pools
			if n := testing.AllocsPerRun(20, fn); n != 0 {
				t.Errorf("%s with %d workers: %v allocations per call", name, workers, n)
			}
		}
	}
}
