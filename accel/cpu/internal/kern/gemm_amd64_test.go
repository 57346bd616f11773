//go:build amd64 && !purego

package kern

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// withAVX2 runs fn with the AVX2 kernel switched on or off and restores
// the CPU's setting.
func withAVX2(on bool, fn func()) {
	saved := useAVX2
	useAVX2 = on
	defer func() { useAVX2 = saved }()
	fn()
}

// gemmValues fills s according to mode: 0 uniform in [-1, 1); 1 the
// specials of elem_test.go (signed zeros, subnormals, infinities, NaN)
// mixed with uniform values; 2 tiny values whose products are subnormal or
// underflow to ±0; 3 huge values whose products and sums overflow; 4
// small integers, whose products and sums are often exact and tie.
func gemmValues(r *rand.Rand, s []float32, mode int) {
	for i := range s {
		switch mode {
		case 1:
			if r.IntN(3) == 0 {
				s[i] = specials[r.IntN(len(specials))]
				continue
			}
			s[i] = 2*r.Float32() - 1
		case 2:
			s[i] = (2*r.Float32() - 1) * 1e-21
		case 3:
			s[i] = (2*r.Float32() - 1) * 3e19
		case 4:
			s[i] = float32(r.IntN(9) - 4)
		default:
			s[i] = 2*r.Float32() - 1
		}
	}
}

// checkAVX2Twin runs Gemm with the AVX2 kernel and with the pure-Go twin
// on the same operands and fails on the first element whose bits differ
// (any NaN equals any NaN: payloads are not part of the protocol).
func checkAVX2Twin(t *testing.T, r *rand.Rand, transA, transB bool, m, n, k, workers, mode int, accumulate bool) {
	t.Helper()
	a, lda, b, ldb, c, ldc := gemmOperands(r, transA, transB, m, n, k)
	gemmValues(r, a, mode)
	gemmValues(r, b, mode)
	gemmValues(r, c, mode%2)
	want := append([]float32(nil), c...)
	got := append([]float32(nil), c...)
	p := Par{Workers: workers}
	withAVX2(false, func() { Gemm(p, transA, transB, m, n, k, a, lda, b, ldb, want, ldc, accumulate) })
	withAVX2(true, func() { Gemm(p, transA, transB, m, n, k, a, lda, b, ldb, got, ldc, accumulate) })
	if i := sameBits(got, want); i >= 0 {
		t.Fatalf("tA=%v tB=%v m=%d n=%d k=%d acc=%v mode %d: c[%d] = %v (%#x) with AVX2, %v (%#x) pure Go",
			transA, transB, m, n, k, accumulate, mode, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
	}
}

func TestGemmAVX2MatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Skip("the CPU has no AVX2: only the pure-Go kernel runs here")
	}
	shapes := [][3]int{
		{1, 1, 1}, {4, 16, 1}, {4, 16, 0}, {3, 5, 0}, {1, 17, 3}, {5, 15, 7}, {7, 33, 13},
		{8, 16, 256}, {9, 31, 257}, {4, 48, 513}, {13, 10, 784}, {64, 10, 128}, {17, 1, 40},
		{2, 100, 3}, {33, 47, 65},
		// Split by rows among workers with a transposed B: packed once for all (prepack),
		// ragged panels and reduction blocks included.
		{32, 9, 8000}, {20, 20, 3001}, {13, 33, 2600},
	}
	r := newRand()
	for _, sh := range shapes {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for mode := range 5 {
				name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_mode%d", sh[0], sh[1], sh[2], tr[0], tr[1], mode)
				t.Run(name, func(t *testing.T) {
					for _, acc := range []bool{false, true} {
						for _, w := range []int{1, 3} {
							checkAVX2Twin(t, r, tr[0], tr[1], sh[0], sh[1], sh[2], w, mode, acc)
						}
					}
				})
			}
		}
	}
}

func TestGemmAVX2Random(t *testing.T) {
	if !useAVX2 {
		t.Skip("the CPU has no AVX2: only the pure-Go kernel runs here")
	}
	r := rand.New(rand.NewPCG(9, 9))
	iters := 300
	if testing.Short() {
		iters = 50
	}
	for range iters {
		m, n, k := 1+r.IntN(40), 1+r.IntN(70), r.IntN(600)
		checkAVX2Twin(t, r, r.IntN(2) == 0, r.IntN(2) == 0, m, n, k, 1+r.IntN(4), r.IntN(5), r.IntN(2) == 0)
	}
}

func TestGemmKernelSpecials(t *testing.T) {
	if !useAVX2 {
		t.Skip("the CPU has no AVX2: only the pure-Go kernel runs here")
	}
	// Every pair of specials as the single product of a 1×1×1 Gemm, in
	// every lane and row of a 4×16 tile, with and without a start value.
	for _, x := range specials {
		for _, y := range specials {
			for _, start := range specials {
				a := []float32{x, x, x, x}
				b := make([]float32, 16)
				for j := range b {
					b[j] = y
				}
				for _, acc := range []bool{false, true} {
					want := make([]float32, 64)
					for i := range want {
						want[i] = start
					}
					got := append([]float32(nil), want...)
					withAVX2(false, func() { Gemm(Par{}, false, false, 4, 16, 1, a, 1, b, 16, want, 16, acc) })
					withAVX2(true, func() { Gemm(Par{}, false, false, 4, 16, 1, a, 1, b, 16, got, 16, acc) })
					if i := sameBits(got, want); i >= 0 {
						t.Fatalf("%v*%v from %v (acc %v): %#x with AVX2, %#x pure Go", x, y, start, acc, math.Float32bits(got[i]), math.Float32bits(want[i]))
					}
				}
			}
		}
	}
}

func TestHasAVX2(t *testing.T) {
	// The detection must agree with what the CPU executes: if it says
	// yes, the kernel ran in the tests above; on amd64 with GOAMD64=v3 the
	// compiler itself requires AVX2, so the answer must be yes.
	if amd64v3 && !hasAVX2() {
		t.Fatal("GOAMD64=v3 binary running, but hasAVX2 reports no AVX2")
	}
	if hasAVX2() != useAVX2 {
		t.Fatalf("hasAVX2() = %v, useAVX2 = %v at start", hasAVX2(), useAVX2)
	}
}

// FuzzGemmAVX2 compares the AVX2 kernel with the pure-Go twin on fuzzed
// shapes, transpositions, worker counts, value classes and inputs.
func FuzzGemmAVX2(f *testing.F) {
	f.Add(uint8(5), uint8(17), uint16(9), uint8(0), uint8(2), uint8(0), uint64(1))
	f.Add(uint8(4), uint8(16), uint16(0), uint8(7), uint8(3), uint8(1), uint64(2))
	f.Add(uint8(9), uint8(3), uint16(300), uint8(2), uint8(1), uint8(2), uint64(3))
	f.Add(uint8(1), uint8(33), uint16(257), uint8(5), uint8(8), uint8(3), uint64(4))
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, flags, workers, mode uint8, seed uint64) {
		if !useAVX2 {
			t.Skip("the CPU has no AVX2")
		}
		r := rand.New(rand.NewPCG(seed, 3))
		checkAVX2Twin(t, r, flags&1 != 0, flags&2 != 0, int(m%48), int(n%80), int(k%700),
			1+int(workers%4), int(mode%5), flags&4 != 0)
	})
}

// TestConvGradWeightAVX2MatchesGeneric: the weight gradient written straight into the packed
// layout (AVX2) and gathered as a plain im2col (pure Go) give the same bits.
func TestConvGradWeightAVX2MatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Skip("the CPU has no AVX2: only the pure-Go kernel runs here")
	}
	r := newRand()
	for _, s := range append(convShapes[:len(convShapes):len(convShapes)], convShapesLarge...) {
		x, dy := randSlice(r, s.XLen()), randSlice(r, s.YLen())
		col := make([]float32, s.ColLen())
		for _, w := range []int{1, 2, 3} {
			want, got := make([]float32, s.WLen()), make([]float32, s.WLen())
			withAVX2(false, func() { Conv2DGradWeight(Par{Workers: w}, want, dy, x, col, s) })
			withAVX2(true, func() { Conv2DGradWeight(Par{Workers: w}, got, dy, x, col, s) })
			if i := sameBits(got, want); i >= 0 {
				t.Fatalf("%+v workers %d: dw[%d] = %v with AVX2, %v pure Go", s, w, i, got[i], want[i])
			}
		}
	}
}
