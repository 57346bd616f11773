//go:build amd64 && !purego

package kern

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// checkElemTwins runs ReLU and ReLUGrad with the AVX2 kernels and with the
// pure-Go twins on n elements of the given value class and fails on the
// first element whose bits differ. NaNs must match exactly here: ReLU and
// ReLUGrad only select and zero values, they never produce a NaN.
func checkElemTwins(t *testing.T, r *rand.Rand, n, mode int) {
	t.Helper()
	x, dy := make([]float32, n), make([]float32, n)
	gemmValues(r, x, mode)
	gemmValues(r, dy, mode)
	same := func(what string, got, want []float32) {
		t.Helper()
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s n=%d mode %d: [%d] = %#x with AVX2, %#x pure Go (x %v)", what, n, mode, i, math.Float32bits(got[i]), math.Float32bits(want[i]), x[i])
			}
		}
	}
	ya, yb := make([]float32, n), make([]float32, n)
	withAVX2(false, func() { ReLU(ya, x) })
	withAVX2(true, func() { ReLU(yb, x) })
	same("ReLU", yb, ya)
	// In place, as the interpreter may run it.
	yc := append([]float32(nil), x...)
	withAVX2(true, func() { ReLU(yc, yc) })
	same("ReLU in place", yc, ya)
	for _, y := range [][]float32{x, ya} {
		da, db := make([]float32, n), make([]float32, n)
		withAVX2(false, func() { ReLUGrad(da, dy, y) })
		withAVX2(true, func() { ReLUGrad(db, dy, y) })
		same("ReLUGrad", db, da)
	}
}

func TestElemAVX2MatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Skip("the CPU has no AVX2: only the pure-Go kernels run here")
	}
	r := rand.New(rand.NewPCG(6, 7))
	for _, n := range []int{0, 1, 7, 8, 9, 16, 23, 64, 1001} {
		for mode := range 5 {
			t.Run(fmt.Sprintf("n%d_mode%d", n, mode), func(t *testing.T) {
				for range 4 {
					checkElemTwins(t, r, n, mode)
				}
			})
		}
	}
	// Every special in every lane.
	x := make([]float32, 8*len(specials))
	for i := range x {
		x[i] = specials[(i/8+i)%len(specials)]
	}
	ya, yb := make([]float32, len(x)), make([]float32, len(x))
	withAVX2(false, func() { ReLU(ya, x) })
	withAVX2(true, func() { ReLU(yb, x) })
	for i := range x {
		if math.Float32bits(ya[i]) != math.Float32bits(yb[i]) {
			t.Fatalf("ReLU(%v) = %#x with AVX2, %#x pure Go", x[i], math.Float32bits(yb[i]), math.Float32bits(ya[i]))
		}
	}
}

// FuzzElemAVX2 compares the AVX2 element-wise kernels with their pure-Go
// twins on fuzzed lengths, value classes and inputs.
func FuzzElemAVX2(f *testing.F) {
	f.Add(uint16(17), uint8(1), uint64(1))
	f.Add(uint16(8), uint8(0), uint64(2))
	f.Fuzz(func(t *testing.T, n uint16, mode uint8, seed uint64) {
		if !useAVX2 {
			t.Skip("the CPU has no AVX2")
		}
		checkElemTwins(t, rand.New(rand.NewPCG(seed, 8)), int(n%2048), int(mode%5))
	})
}
