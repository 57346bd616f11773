package kern

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// newRand returns the tests' fixed-seed generator.
func newRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// randSlice returns n values uniform in [-1, 1).
func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// gemmOperands returns random a, b, c with padded leading dimensions for
// the given shape and transposition.
func gemmOperands(r *rand.Rand, transA, transB bool, m, n, k int) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	lda, ldb, ldc = ac+r.IntN(3), bc+r.IntN(3), n+r.IntN(3)
	a = randSlice(r, max(0, ar*lda))
	b = randSlice(r, max(0, br*ldb))
	c = randSlice(r, max(0, m*ldc))
	return
}

// gemmAt returns A(i,l) and B(l,j) as Gemm defines them.
func gemmAt(transA, transB bool, i, j, l int, a []float32, lda int, b []float32, ldb int) (x, y float32) {
	if transA {
		x = a[l*lda+i]
	} else {
		x = a[i*lda+l]
	}
	if transB {
		y = b[j*ldb+l]
	} else {
		y = b[l*ldb+j]
	}
	return x, y
}

// gemmNaive is Gemm written as the documented triple loop.
func gemmNaive(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	for i := range m {
		for j := range n {
			var acc float32
			if accumulate {
				acc = c[i*ldc+j]
			}
			for l := range k {
				x, y := gemmAt(transA, transB, i, j, l, a, lda, b, ldb)
				acc = acc + float32(x*y)
			}
			c[i*ldc+j] = acc
		}
	}
}

// gemm64 is the float64 reference of Gemm.
func gemm64(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) []float64 {
	out := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var acc float64
			if accumulate {
				acc = float64(c[i*ldc+j])
			}
			for l := range k {
				x, y := gemmAt(transA, transB, i, j, l, a, lda, b, ldb)
				acc += float64(x) * float64(y)
			}
			out[i*n+j] = acc
		}
	}
	return out
}

// sameBits reports the first index where a and b differ in bits, or -1.
// Any two NaNs count as equal: which NaN an operation on NaNs returns
// depends on the hardware and on operand order within the machine
// instruction, and is not part of the canonical arithmetic (see doc.go).
func sameBits(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			return i
		}
	}
	return -1
}

var gemmShapes = [][3]int{
	{1, 1, 1}, {1, 1, 0}, {3, 5, 0}, {1, 7, 3}, {7, 1, 3}, {2, 2, 2}, {3, 3, 3},
	{4, 4, 4}, {5, 9, 7}, {9, 5, 13}, {8, 8, 17}, {13, 11, 4}, {17, 19, 23},
	{32, 33, 31}, {0, 4, 4}, {4, 0, 4}, {64, 10, 128},
}

func TestGemmMatchesNaive(t *testing.T) {
	r := newRand()
	for _, sh := range gemmShapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, acc := range []bool{false, true} {
				name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_acc%v", m, n, k, tr[0], tr[1], acc)
				t.Run(name, func(t *testing.T) {
					a, lda, b, ldb, c, ldc := gemmOperands(r, tr[0], tr[1], m, n, k)
					if err := CheckGemm(tr[0], tr[1], m, n, k, a, lda, b, ldb, c, ldc); err != nil {
						t.Fatal(err)
					}
					want := append([]float32(nil), c...)
					gemmNaive(tr[0], tr[1], m, n, k, a, lda, b, ldb, want, ldc, acc)
					ref := gemm64(tr[0], tr[1], m, n, k, a, lda, b, ldb, c, ldc, acc)
					for _, w := range []int{1, 2, 3, 8} {
						got := append([]float32(nil), c...)
						Gemm(Par{Workers: w}, tr[0], tr[1], m, n, k, a, lda, b, ldb, got, ldc, acc)
						if i := sameBits(got, want); i >= 0 {
							t.Fatalf("workers %d: c[%d] = %v, naive %v", w, i, got[i], want[i])
						}
					}
					for i := range m {
						for j := range n {
							if d := math.Abs(float64(want[i*ldc+j]) - ref[i*n+j]); d > 1e-5*float64(k+1) {
								t.Fatalf("c[%d,%d] = %v, float64 %v", i, j, want[i*ldc+j], ref[i*n+j])
							}
						}
					}
				})
			}
		}
	}
}

func TestGemmZeroStart(t *testing.T) {
	// A product of -0 must fold to +0 from the +0 start, as the naive loop does.
	a := []float32{-1}
	b := []float32{0}
	for _, tB := range []bool{false, true} {
		c := []float32{float32(math.NaN())}
		Gemm(Par{}, false, tB, 1, 1, 1, a, 1, b, 1, c, 1, false)
		if math.Float32bits(c[0]) != 0 {
			t.Errorf("transB %v: got bits %#x, want +0", tB, math.Float32bits(c[0]))
		}
	}
}

func TestGemmChunks(t *testing.T) {
	r := newRand()
	for _, sh := range [][4]int{{5, 7, 9, 4}, {8, 8, 16, 1}, {3, 17, 31, 30}, {6, 5, 12, 0}, {6, 5, 12, 12}} {
		m, n, k, k1 := sh[0], sh[1], sh[2], sh[3]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			t.Run(fmt.Sprintf("m%d_n%d_k%d_k1%d_tA%v_tB%v", m, n, k, k1, tr[0], tr[1]), func(t *testing.T) {
				a, lda, b, ldb, c, ldc := gemmOperands(r, tr[0], tr[1], m, n, k)
				whole := append([]float32(nil), c...)
				Gemm(Par{Workers: 2}, tr[0], tr[1], m, n, k, a, lda, b, ldb, whole, ldc, false)
				// The second chunk starts at column (row if transposed) k1 of A
				// and row (column if transposed) k1 of B.
				var a2, b2 []float32
				if k1 < k {
					a2, b2 = chunkOperands(tr[0], tr[1], k1, a, lda, b, ldb)
				}
				parts := append([]float32(nil), c...)
				Gemm(Par{Workers: 3}, tr[0], tr[1], m, n, k1, a, lda, b, ldb, parts, ldc, false)
				Gemm(Par{Workers: 1}, tr[0], tr[1], m, n, k-k1, a2, lda, b2, ldb, parts, ldc, true)
				if i := sameBits(parts, whole); i >= 0 {
					t.Fatalf("c[%d] = %v in chunks, %v whole", i, parts[i], whole[i])
				}
			})
		}
	}
}

// chunkOperands returns the sub-slices of a and b at which the reduction
// index k1 starts.
func chunkOperands(transA, transB bool, k1 int, a []float32, lda int, b []float32, ldb int) (a2, b2 []float32) {
	if transA {
		a2 = a[k1*lda:]
	} else {
		a2 = a[k1:]
	}
	if transB {
		b2 = b[k1:]
	} else {
		b2 = b[k1*ldb:]
	}
	return a2, b2
}

func TestCheckGemm(t *testing.T) {
	tests := []struct {
		name          string
		m, n, k       int
		la, lb, lc    int
		lda, ldb, ldc int
		ok            bool
	}{
		{"exact", 2, 3, 4, 8, 12, 6, 4, 3, 3, true},
		{"short a", 2, 3, 4, 7, 12, 6, 4, 3, 3, false},
		{"short b", 2, 3, 4, 8, 11, 6, 4, 3, 3, false},
		{"short c", 2, 3, 4, 8, 12, 5, 4, 3, 3, false},
		{"small lda", 2, 3, 4, 8, 12, 6, 3, 3, 3, false},
		{"negative", -1, 3, 4, 8, 12, 6, 4, 3, 3, false},
		{"empty k", 2, 3, 0, 0, 0, 6, 0, 3, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckGemm(false, false, tt.m, tt.n, tt.k, make([]float32, tt.la), tt.lda,
				make([]float32, tt.lb), tt.ldb, make([]float32, tt.lc), tt.ldc)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckGemm = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrShape) {
				t.Fatalf("CheckGemm = %v, not ErrShape", err)
			}
		})
	}
}

func benchGemm(b *testing.B, transA, transB bool, m, n, k, workers int) {
	r := newRand()
	a, lda, bb, ldb, c, ldc := gemmOperands(r, transA, transB, m, n, k)
	p := Par{Workers: workers}
	b.ResetTimer()
	for b.Loop() {
		Gemm(p, transA, transB, m, n, k, a, lda, bb, ldb, c, ldc, false)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGemm(b *testing.B) {
	for _, sh := range [][3]int{{64, 128, 784}, {256, 256, 256}, {512, 512, 512}} {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
			for _, w := range []int{1, 2} {
				b.Run(fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/w=%d", sh[0], sh[2], sh[1], tr[0], tr[1], w), func(b *testing.B) {
					benchGemm(b, tr[0], tr[1], sh[0], sh[1], sh[2], w)
				})
			}
		}
	}
}

// BenchmarkGemmSquare measures square n×n·n×n products, the sizes of the
// issue's comparison with other matrix libraries (BENCHMARKS.md compares it
// with PyTorch's torch.mm at one thread).
func BenchmarkGemmSquare(b *testing.B) {
	for _, n := range []int{256, 512, 1024} {
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("n=%d/w=%d", n, w), func(b *testing.B) {
				benchGemm(b, false, false, n, n, n, w)
			})
		}
	}
}

// FuzzGemm checks Gemm against the naive loop on fuzzed shapes, flags,
// worker counts and inputs.
func FuzzGemm(f *testing.F) {
	f.Add(uint8(5), uint8(7), uint8(9), uint8(0), uint8(2), uint64(1))
	f.Add(uint8(1), uint8(1), uint8(0), uint8(7), uint8(3), uint64(2))
	f.Add(uint8(16), uint8(3), uint8(31), uint8(2), uint8(8), uint64(3))
	f.Fuzz(func(t *testing.T, m, n, k, flags, workers uint8, seed uint64) {
		mi, ni, ki := int(m%40), int(n%40), int(k%70)
		transA, transB, acc := flags&1 != 0, flags&2 != 0, flags&4 != 0
		r := rand.New(rand.NewPCG(seed, 2))
		a, lda, b, ldb, c, ldc := gemmOperands(r, transA, transB, mi, ni, ki)
		if seed%5 == 0 { // exercise signed zeros, infinities and NaNs too
			for i := range a {
				a[i] = specials[r.IntN(len(specials))]
			}
		}
		want := append([]float32(nil), c...)
		gemmNaive(transA, transB, mi, ni, ki, a, lda, b, ldb, want, ldc, acc)
		got := append([]float32(nil), c...)
		Gemm(Par{Workers: int(workers % 9)}, transA, transB, mi, ni, ki, a, lda, b, ldb, got, ldc, acc)
		if i := sameBits(got, want); i >= 0 {
			t.Fatalf("c[%d] = %v (%#x), naive %v (%#x)", i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	})
}

// TestGemmPackedB: a product from B in the packed panel layout (what Conv2DGradWeight's
// im2colPacked writes) equals Gemm's from the same B stored transposed, bit for bit, with the
// build's kernel (AVX2 on amd64, the pure-Go twin elsewhere) and any worker count.
func TestGemmPackedB(t *testing.T) {
	r := newRand()
	for _, sh := range [][3]int{{1, 1, 1}, {5, 9, 300}, {16, 9, 4000}, {32, 37, 700}, {3, 16, 0}} {
		m, n, k := sh[0], sh[1], sh[2]
		a, lda, b, ldb, c, ldc := gemmOperands(r, false, true, m, n, k)
		want := append([]float32(nil), c...)
		Gemm(Par{}, false, true, m, n, k, a, lda, b, ldb, want, ldc, false)
		panels := (n + 15) / 16
		packed := make([]float32, panels*k*16)
		for j := range n {
			for l := range k {
				packed[((j>>4)*k+l)*16+j&15] = b[j*ldb+l]
			}
		}
		for _, w := range []int{1, 2, 3} {
			got := append([]float32(nil), c...)
			gemmPackedB(Par{Workers: w}, m, n, k, a, lda, packed, got, ldc)
			if i := sameBits(got, want); i >= 0 {
				t.Fatalf("%v workers %d: c[%d] = %v, Gemm %v", sh, w, i, got[i], want[i])
			}
		}
	}
}
