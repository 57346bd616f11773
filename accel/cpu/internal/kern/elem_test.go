package kern

import (
	"math"
	"testing"

	"github.com/deai-go/deai/internal/f32"
)

// specials are inputs every element-wise kernel is tried on.
var specials = []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -2.5, 1e-40, -1e-40, 3e38,
	float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 20, -20}

// elemInput returns random values followed by the specials.
func elemInput(n int) []float32 {
	return append(randSlice(newRand(), n), specials...)
}

func TestElementwise(t *testing.T) {
	x := elemInput(200)
	y := randSlice(newRand(), len(x))
	y[0] = float32(math.Copysign(0, -1))
	n := len(x)
	tests := []struct {
		name  string
		run   func(out []float32)
		naive func(i int) float32
		ref   func(i int) float64 // NaN means skip
		tol   float64
	}{
		{"Add", func(o []float32) { Add(o, x, y) }, func(i int) float32 { return x[i] + y[i] },
			func(i int) float64 { return float64(x[i]) + float64(y[i]) }, 1e-7},
		{"Scale", func(o []float32) { Scale(o, x, 0.3) }, func(i int) float32 { return float32(x[i] * 0.3) },
			func(i int) float64 { return float64(x[i]) * float64(float32(0.3)) }, 1e-7},
		{"ReLU", func(o []float32) { ReLU(o, x) }, func(i int) float32 {
			if x[i] > 0 {
				return x[i]
			}
			return 0
		}, func(i int) float64 { return math.Max(float64(x[i]), 0) }, 0},
		{"ReLUGrad", func(o []float32) { ReLUGrad(o, y, x) }, func(i int) float32 {
			if x[i] > 0 {
				return y[i]
			}
			return 0
		}, func(i int) float64 {
			if x[i] > 0 {
				return float64(y[i])
			}
			return 0
		}, 0},
		{"Tanh", func(o []float32) { Tanh(o, x) }, func(i int) float32 { return f32.Tanh(x[i]) },
			func(i int) float64 { return math.Tanh(float64(x[i])) }, 1e-6},
		{"TanhGrad", func(o []float32) { TanhGrad(o, y, x) }, func(i int) float32 { return float32(y[i] * (1 - float32(x[i]*x[i]))) },
			func(i int) float64 { return float64(y[i]) * (1 - float64(x[i])*float64(x[i])) }, 1e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]float32, n)
			tt.run(got)
			want := make([]float32, n)
			for i := range want {
				want[i] = tt.naive(i)
			}
			checkBits(t, got, want)
			for i := range 200 { // the random part: finite, compared with float64
				if r := tt.ref(i); math.Abs(float64(got[i])-r) > tt.tol*(1+math.Abs(r)) {
					t.Fatalf("[%d] = %v, float64 reference %v", i, got[i], r)
				}
			}
		})
	}
}

func TestReLUSpecials(t *testing.T) {
	x := []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), -3, float32(math.Inf(1))}
	y := make([]float32, len(x))
	ReLU(y, x)
	want := []uint32{0, 0, 0, 0x7f800000}
	for i, v := range y {
		if math.Float32bits(v) != want[i] {
			t.Errorf("ReLU(%v) bits %#x, want %#x", x[i], math.Float32bits(v), want[i])
		}
	}
	dx := make([]float32, len(x))
	ReLUGrad(dx, []float32{5, 5, 5, 5}, x)
	checkBits(t, dx, []float32{0, 0, 0, 5})
}

func TestElementwiseAlias(t *testing.T) {
	x := elemInput(50)
	want := make([]float32, len(x))
	Scale(want, x, -1.5)
	got := append([]float32(nil), x...)
	Scale(got, got, -1.5)
	checkBits(t, got, want)
}

func TestBias(t *testing.T) {
	r := newRand()
	for _, sh := range [][3]int{{1, 1, 1}, {3, 4, 1}, {2, 3, 5}, {4, 2, 9}, {0, 3, 2}} {
		n, c, s := sh[0], sh[1], sh[2]
		x, b := randSlice(r, n*c*s), randSlice(r, c)
		got := append([]float32(nil), x...)
		BiasAdd(got, b, n, c, s)
		want := append([]float32(nil), x...)
		for i := range want {
			want[i] = want[i] + b[i/s%c]
		}
		checkBits(t, got, want)

		db := randSlice(r, c) // garbage that must be overwritten
		BiasGrad(db, x, n, c, s)
		wantDB := make([]float32, c)
		ref := make([]float64, c)
		for j := range c {
			var acc float32
			for i := range n {
				for q := range s {
					acc = acc + x[(i*c+j)*s+q]
					ref[j] += float64(x[(i*c+j)*s+q])
				}
			}
			wantDB[j] = acc
		}
		checkBits(t, db, wantDB)
		checkClose(t, db, ref, 1e-5)
	}
}

func TestGradElementwise(t *testing.T) {
	r := newRand()
	const n = 40
	x := randSlice(r, n)
	for i := range x { // keep away from the ReLU kink
		if math.Abs(float64(x[i])) < 0.1 {
			x[i] += 0.2
		}
	}
	dy := randSlice(r, n)
	t.Run("ReLUGrad", func(t *testing.T) {
		y := make([]float32, n)
		ReLU(y, x)
		g := make([]float32, n)
		ReLUGrad(g, dy, y)
		gradCheck(t, g, to64(x), 1e-3, func(x []float64) float64 {
			var s float64
			for i, v := range x {
				s += float64(dy[i]) * math.Max(v, 0)
			}
			return s
		})
	})
	t.Run("TanhGrad", func(t *testing.T) {
		y := make([]float32, n)
		Tanh(y, x)
		g := make([]float32, n)
		TanhGrad(g, dy, y)
		gradCheck(t, g, to64(x), 1e-4, func(x []float64) float64 {
			var s float64
			for i, v := range x {
				s += float64(dy[i]) * math.Tanh(v)
			}
			return s
		})
	})
	t.Run("BiasGrad", func(t *testing.T) {
		const n, c, s = 3, 4, 5
		x, b, w := randSlice(r, n*c*s), randSlice(r, c), randSlice(r, n*c*s)
		g := make([]float32, c)
		BiasGrad(g, w, n, c, s)
		gradCheck(t, g, to64(b), 1e-3, func(b []float64) float64 {
			var sum float64
			for i := range x {
				sum += float64(w[i]) * (float64(x[i]) + b[i/s%c])
			}
			return sum
		})
	})
}

// TestGradDense checks Gemm in the backward pass of a dense layer C = A·B:
// dA = dC·B^T (transB) and dB = A^T·dC (transA).
func TestGradDense(t *testing.T) {
	r := newRand()
	const m, k, n = 3, 5, 4
	a, b, dc := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
	loss := func(a, b []float64) float64 {
		var s float64
		for i := range m {
			for j := range n {
				var c float64
				for l := range k {
					c += a[i*k+l] * b[l*n+j]
				}
				s += float64(dc[i*n+j]) * c
			}
		}
		return s
	}
	t.Run("dA", func(t *testing.T) {
		da := make([]float32, m*k)
		Gemm(Par{Workers: 2}, false, true, m, k, n, dc, n, b, n, da, k, false)
		b64 := to64(b)
		gradCheck(t, da, to64(a), 1e-3, func(a []float64) float64 { return loss(a, b64) })
	})
	t.Run("dB", func(t *testing.T) {
		db := make([]float32, k*n)
		Gemm(Par{Workers: 2}, true, false, k, n, m, a, k, dc, n, db, n, false)
		a64 := to64(a)
		gradCheck(t, db, to64(b), 1e-3, func(b []float64) float64 { return loss(a64, b) })
	})
}

// TestBiasRanges: BiasAddRows over ranges cut anywhere (not at sample boundaries) and
// BiasGradChannels over channel ranges give BiasAdd's and BiasGrad's bits, as the parallel
// bias primitives of package cpu use them.
func TestBiasRanges(t *testing.T) {
	r := newRand()
	for _, sh := range [][3]int{{5, 7, 1}, {3, 4, 9}, {64, 10, 1}, {2, 3, 50}} {
		n, c, s := sh[0], sh[1], sh[2]
		x, b, dy := randSlice(r, n*c*s), randSlice(r, c), randSlice(r, n*c*s)
		want := append([]float32(nil), x...)
		BiasAdd(want, b, n, c, s)
		wantDB := make([]float32, c)
		BiasGrad(wantDB, dy, n, c, s)
		for _, cut := range []int{1, 2, 3, c + 1, n*c - 1} {
			got := append([]float32(nil), x...)
			for lo := 0; lo < n*c; lo += cut {
				BiasAddRows(got, b, c, s, lo, min(n*c, lo+cut))
			}
			if i := sameBits(got, want); i >= 0 {
				t.Fatalf("%v, ranges of %d rows: x[%d] = %v, BiasAdd %v", sh, cut, i, got[i], want[i])
			}
			db := randSlice(r, c) // garbage: every channel is overwritten
			for lo := 0; lo < c; lo += cut {
				BiasGradChannels(db, dy, n, c, s, lo, min(c, lo+cut))
			}
			if i := sameBits(db, wantDB); i >= 0 {
				t.Fatalf("%v, ranges of %d channels: db[%d] = %v, BiasGrad %v", sh, cut, i, db[i], wantDB[i])
			}
		}
	}
}
