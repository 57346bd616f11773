package kern

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"
)

// Golden hashes of the outputs of goldenRun. They must be the same on
// every architecture (amd64 with GOAMD64=v1 and v3, 386, arm64) and for
// every number of workers: a mismatch means an operation was fused,
// reordered or computed differently. The second hash covers the kernels
// that use package internal/f32, and changes only if that package does.
const (
	goldenPlain = "873902b0ea124a4ea214db824df2c13bc36322e1b957e627d52382c6ab9b56a3"
	goldenF32   = "e287aacfc1b50af89f4ba8f16fc58555d47a6b307a9c0e8c134d84855f62a021"
)

// hasher accumulates the bits of float32 slices, every NaN as 0x7fc00000
// (see the NaN rule in doc.go).
type hasher struct{ buf []byte }

func (h *hasher) add(s ...[]float32) {
	for _, v := range s {
		for _, f := range v {
			bits := math.Float32bits(f)
			if f != f {
				bits = 0x7fc00000
			}
			h.buf = binary.LittleEndian.AppendUint32(h.buf, bits)
		}
	}
}

func (h *hasher) sum() string {
	s := sha256.Sum256(h.buf)
	return hex.EncodeToString(s[:])
}

// goldenRun runs every kernel on fixed pseudo-random inputs and returns
// the hashes of the plain and the f32-dependent outputs.
func goldenRun(p Par) (plain, withF32 string) {
	r := newRand()
	var h, hf hasher
	for _, sh := range [][3]int{{7, 9, 13}, {16, 33, 70}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			a, lda, b, ldb, c, ldc := gemmOperands(r, tr[0], tr[1], m, n, k)
			Gemm(p, tr[0], tr[1], m, n, k, a, lda, b, ldb, c, ldc, false)
			h.add(c)
			Gemm(p, tr[0], tr[1], m, n, k, a, lda, b, ldb, c, ldc, true)
			h.add(c)
		}
	}
	for _, s := range convShapes {
		x, w, dy := randSlice(r, s.XLen()), randSlice(r, s.WLen()), randSlice(r, s.YLen())
		y, dx, dw, col := make([]float32, s.YLen()), make([]float32, s.XLen()), make([]float32, s.WLen()), make([]float32, s.ColLen())
		Conv2D(p, y, x, w, col, s)
		Conv2DGradInput(p, dx, dy, w, col, s)
		Conv2DGradWeight(p, dw, dy, x, col, s)
		h.add(y, dx, dw)
	}
	for _, s := range poolShapes {
		x, dy := randSlice(r, s.XLen()), randSlice(r, s.YLen())
		y, dx := make([]float32, s.YLen()), make([]float32, s.XLen())
		MaxPool2D(y, x, s)
		MaxPool2DGrad(dx, dy, x, s)
		h.add(y, dx)
		AvgPool2D(y, x, s)
		AvgPool2DGrad(dx, dy, s)
		h.add(y, dx)
	}
	x, y := elemInput(300), randSlice(r, 314)
	out := make([]float32, len(x))
	for _, f := range []func(){
		func() { Add(out, x, y) },
		func() { Scale(out, x, 0.7) },
		func() { ReLU(out, x) },
		func() { ReLUGrad(out, y, x) },
		func() { TanhGrad(out, y, x) },
		func() { BiasAdd(out, y, 2, 3, 52) },
		func() { BiasGrad(out, x, 3, 5, 20) },
	} {
		copy(out, x)
		f()
		h.add(out)
	}
	w, g, v := randSlice(r, 300), randSlice(r, 300), randSlice(r, 300)
	SGD(w, g, v, 0.05, 0.9, 1e-4)
	h.add(w, v)

	Tanh(out, x)
	hf.add(out)
	const n, k = 20, 10
	logits, labels := randSlice(r, n*k), randLabels(n, k)
	for i := range logits {
		logits[i] *= 10
	}
	probs, d := make([]float32, n*k), make([]float32, n*k)
	loss := SoftmaxXent(probs, logits, labels, n, k)
	SoftmaxXentGrad(d, probs, labels, n, k)
	hf.add(probs, d, []float32{loss})
	m := randSlice(r, 300)
	clear(v)
	for step := 1; step <= 3; step++ {
		c1, c2 := AdamCorrections(0.9, 0.999, step)
		AdamW(w, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.01, c1, c2)
		hf.add(w, m, v)
	}
	return h.sum(), hf.sum()
}

func TestGolden(t *testing.T) {
	for _, workers := range []int{1, 3} {
		plain, withF32 := goldenRun(Par{Workers: workers})
		if plain != goldenPlain {
			t.Errorf("workers %d: plain kernels hash %s, want %s", workers, plain, goldenPlain)
		}
		if withF32 != goldenF32 {
			t.Errorf("workers %d: f32 kernels hash %s, want %s", workers, withF32, goldenF32)
		}
	}
}
