//go:build amd64 && !purego

package kern

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// checkOptimTwins runs SGD and AdamW with the AVX2 kernels and with the
// pure-Go twins on the same n-element state and fails on the first element
// of w, m or v whose bits differ (any NaN equals any NaN).
func checkOptimTwins(t *testing.T, r *rand.Rand, n, mode int) {
	t.Helper()
	w, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	gemmValues(r, w, mode)
	gemmValues(r, g, mode)
	gemmValues(r, m, mode)
	gemmValues(r, v, mode)
	if mode != 1 {
		for i := range v { // second moments are non-negative in a real run
			v[i] = float32(math.Abs(float64(v[i])))
		}
	}
	scal := func() float32 {
		if mode == 1 && r.IntN(4) == 0 {
			return specials[r.IntN(len(specials))]
		}
		return r.Float32()
	}
	c1, c2 := AdamCorrections(0.9, 0.999, 1+r.IntN(50))
	adam := [][7]float32{
		{1e-3, 0.9, 0.999, 1e-8, 1e-2, c1, c2},
		{scal(), scal(), scal(), scal(), scal(), 1 + scal(), 1 + scal()},
	}
	for _, ap := range adam {
		wa, ma, va := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
		wb, mb, vb := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
		withAVX2(false, func() { AdamW(wa, g, ma, va, ap[0], ap[1], ap[2], ap[3], ap[4], ap[5], ap[6]) })
		withAVX2(true, func() { AdamW(wb, g, mb, vb, ap[0], ap[1], ap[2], ap[3], ap[4], ap[5], ap[6]) })
		for k, pair := range [][2][]float32{{wb, wa}, {mb, ma}, {vb, va}} {
			if i := sameBits(pair[0], pair[1]); i >= 0 {
				t.Fatalf("AdamW n=%d mode %d params %v: tensor %d [%d] = %#x with AVX2, %#x pure Go (w %v g %v m %v v %v)",
					n, mode, ap, k, i, math.Float32bits(pair[0][i]), math.Float32bits(pair[1][i]), w[i], g[i], m[i], v[i])
			}
		}
	}
	for _, sp := range [][3]float32{{0.01, 0.9, 1e-4}, {0.1, 0, 0}, {scal(), scal(), scal()}} {
		wa, va := append([]float32(nil), w...), append([]float32(nil), v...)
		wb, vb := append([]float32(nil), w...), append([]float32(nil), v...)
		withAVX2(false, func() { SGD(wa, g, va, sp[0], sp[1], sp[2]) })
		withAVX2(true, func() { SGD(wb, g, vb, sp[0], sp[1], sp[2]) })
		for k, pair := range [][2][]float32{{wb, wa}, {vb, va}} {
			if i := sameBits(pair[0], pair[1]); i >= 0 {
				t.Fatalf("SGD n=%d mode %d params %v: tensor %d [%d] = %#x with AVX2, %#x pure Go",
					n, mode, sp, k, i, math.Float32bits(pair[0][i]), math.Float32bits(pair[1][i]))
			}
		}
	}
}

func TestOptimAVX2MatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Skip("the CPU has no AVX2: only the pure-Go kernels run here")
	}
	r := rand.New(rand.NewPCG(4, 5))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 64, 100, 1000, 4099} {
		for mode := range 5 {
			t.Run(fmt.Sprintf("n%d_mode%d", n, mode), func(t *testing.T) {
				for range 4 {
					checkOptimTwins(t, r, n, mode)
				}
			})
		}
	}
}

// FuzzOptimAVX2 compares the AVX2 optimizer kernels with their pure-Go
// twins on fuzzed lengths, value classes and inputs.
func FuzzOptimAVX2(f *testing.F) {
	f.Add(uint16(17), uint8(0), uint64(1))
	f.Add(uint16(8), uint8(1), uint64(2))
	f.Add(uint16(300), uint8(2), uint64(3))
	f.Add(uint16(33), uint8(3), uint64(4))
	f.Fuzz(func(t *testing.T, n uint16, mode uint8, seed uint64) {
		if !useAVX2 {
			t.Skip("the CPU has no AVX2")
		}
		checkOptimTwins(t, rand.New(rand.NewPCG(seed, 7)), int(n%2048), int(mode%5))
	})
}
