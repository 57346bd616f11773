package kern

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/deai-go/deai/internal/f32"
)

// softmaxNaive is SoftmaxXent in the documented order.
func softmaxNaive(logits []float32, labels []int32, n, k int) ([]float32, float32) {
	probs := make([]float32, n*k)
	var total float32
	for i := range n {
		x := logits[i*k : i*k+k]
		m := x[0]
		for j := 1; j < k; j++ {
			if x[j] > m {
				m = x[j]
			}
		}
		var s float32
		for j := range k {
			s = s + f32.Exp(x[j]-m)
		}
		for j := range k {
			probs[i*k+j] = f32.Exp(x[j]-m) / s
		}
		total = total + (f32.Log(s) - (x[labels[i]] - m))
	}
	if n == 0 {
		return probs, 0
	}
	return probs, total / float32(n)
}

// softmax64 returns the float64 probabilities and mean cross-entropy.
func softmax64(x []float64, labels []int32, n, k int) ([]float64, float64) {
	probs := make([]float64, n*k)
	var total float64
	for i := range n {
		row := x[i*k : i*k+k]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - m)
		}
		for j, v := range row {
			probs[i*k+j] = math.Exp(v-m) / s
		}
		total += math.Log(s) - (row[labels[i]] - m)
	}
	return probs, total / float64(n)
}

func randLabels(n, k int) []int32 {
	r := newRand()
	l := make([]int32, n)
	for i := range l {
		l[i] = int32(r.IntN(k))
	}
	return l
}

func TestSoftmaxXent(t *testing.T) {
	r := newRand()
	for _, sh := range [][2]int{{1, 1}, {1, 2}, {4, 10}, {7, 3}, {64, 10}} {
		n, k := sh[0], sh[1]
		t.Run(fmt.Sprintf("n%d_k%d", n, k), func(t *testing.T) {
			x := randSlice(r, n*k)
			for i := range x {
				x[i] *= 8
			}
			labels := randLabels(n, k)
			if err := CheckLabels(labels, n, k); err != nil {
				t.Fatal(err)
			}
			wantP, wantL := softmaxNaive(x, labels, n, k)
			p := randSlice(r, n*k)
			loss := SoftmaxXent(p, x, labels, n, k)
			checkBits(t, p, wantP)
			checkBits(t, []float32{loss}, []float32{wantL})
			refP, refL := softmax64(to64(x), labels, n, k)
			checkClose(t, p, refP, 1e-6)
			checkClose(t, []float32{loss}, []float64{refL}, 1e-5)

			// In place: probs aliasing logits.
			inPlace := append([]float32(nil), x...)
			loss2 := SoftmaxXent(inPlace, inPlace, labels, n, k)
			checkBits(t, inPlace, wantP)
			checkBits(t, []float32{loss2}, []float32{wantL})

			d := randSlice(r, n*k)
			SoftmaxXentGrad(d, p, labels, n, k)
			wantD := make([]float32, n*k)
			for i := range n {
				for j := range k {
					v := p[i*k+j]
					if j == int(labels[i]) {
						v = v - 1
					}
					wantD[i*k+j] = v / float32(n)
				}
			}
			checkBits(t, d, wantD)
		})
	}
}

func TestSoftmaxXentSpecials(t *testing.T) {
	if l := SoftmaxXent(nil, nil, nil, 0, 3); math.Float32bits(l) != 0 {
		t.Errorf("empty batch loss %v, want +0", l)
	}
	// Large logits must not overflow: the maximum is subtracted first.
	p := make([]float32, 2)
	l := SoftmaxXent(p, []float32{1000, 1000}, []int32{0}, 1, 2)
	if p[0] != 0.5 || p[1] != 0.5 || math.Abs(float64(l)-math.Ln2) > 1e-6 {
		t.Errorf("probs %v loss %v, want 0.5 0.5 ln 2", p, l)
	}
	nan := float32(math.NaN())
	for _, x := range [][]float32{{nan, 1}, {1, nan}} {
		l := SoftmaxXent(p, x, []int32{0}, 1, 2)
		if !math.IsNaN(float64(l)) || !math.IsNaN(float64(p[0])) || !math.IsNaN(float64(p[1])) {
			t.Errorf("logits %v: probs %v loss %v, want NaN", x, p, l)
		}
	}
}

func TestCheckLabels(t *testing.T) {
	tests := []struct {
		name   string
		labels []int32
		n, k   int
		ok     bool
	}{
		{"valid", []int32{0, 2, 1}, 3, 3, true},
		{"prefix", []int32{0, 9}, 1, 3, true},
		{"too large", []int32{0, 3}, 2, 3, false},
		{"negative", []int32{-1}, 1, 3, false},
		{"short", []int32{0}, 2, 3, false},
		{"no classes", nil, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckLabels(tt.labels, tt.n, tt.k)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrShape)) {
				t.Fatalf("CheckLabels = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestGradSoftmaxXent(t *testing.T) {
	r := newRand()
	const n, k = 3, 5
	x := randSlice(r, n*k)
	for i := range x {
		x[i] *= 3
	}
	labels := randLabels(n, k)
	p := make([]float32, n*k)
	SoftmaxXent(p, x, labels, n, k)
	d := make([]float32, n*k)
	SoftmaxXentGrad(d, p, labels, n, k)
	gradCheck(t, d, to64(x), 1e-4, func(x []float64) float64 {
		_, l := softmax64(x, labels, n, k)
		return l
	})
}
