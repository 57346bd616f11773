package kern

import (
	"math"
	"testing"

	"github.com/deai-go/deai/internal/f32"
)

func TestSGD(t *testing.T) {
	r := newRand()
	const n = 100
	w, g, v := randSlice(r, n), randSlice(r, n), randSlice(r, n)
	const lr, mom, wd = 0.05, 0.9, 1e-4
	gotW, gotV := append([]float32(nil), w...), append([]float32(nil), v...)
	SGD(gotW, g, gotV, lr, mom, wd)
	wantW, wantV := make([]float32, n), make([]float32, n)
	refW, refV := make([]float64, n), make([]float64, n)
	for i := range n {
		gg := g[i] + float32(wd*w[i])
		wantV[i] = float32(mom*v[i]) + gg
		wantW[i] = w[i] - float32(lr*wantV[i])
		rv := float64(float32(mom))*float64(v[i]) + float64(g[i]) + float64(float32(wd))*float64(w[i])
		refV[i], refW[i] = rv, float64(w[i])-float64(float32(lr))*rv
	}
	checkBits(t, gotW, wantW)
	checkBits(t, gotV, wantV)
	checkClose(t, gotV, refV, 1e-6)
	checkClose(t, gotW, refW, 1e-6)
}

func TestAdamW(t *testing.T) {
	r := newRand()
	const n = 100
	w, g, m := randSlice(r, n), randSlice(r, n), randSlice(r, n)
	v := randSlice(r, n)
	for i := range v {
		v[i] = float32(math.Abs(float64(v[i])))
	}
	const lr, b1, b2, eps, wd = 1e-3, 0.9, 0.999, 1e-8, 0.01
	c1, c2 := AdamCorrections(b1, b2, 3)
	if w1, w2 := 1/(1-math.Pow(b1, 3)), 1/(1-math.Pow(b2, 3)); math.Abs(float64(c1)-w1) > 1e-5*w1 || math.Abs(float64(c2)-w2) > 1e-3*w2 {
		t.Fatalf("AdamCorrections = %v, %v, want %v, %v", c1, c2, w1, w2)
	}
	gotW, gotM, gotV := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
	AdamW(gotW, g, gotM, gotV, lr, b1, b2, eps, wd, c1, c2)
	wantW, wantM, wantV := make([]float32, n), make([]float32, n), make([]float32, n)
	refW := make([]float64, n)
	ob1, ob2 := float32(1-float32(b1)), float32(1-float32(b2))
	for i := range n {
		wantM[i] = float32(b1*m[i]) + float32(ob1*g[i])
		wantV[i] = float32(b2*v[i]) + float32(float32(ob2*g[i])*g[i])
		mh, vh := float32(wantM[i]*c1), float32(wantV[i]*c2)
		u := mh / (f32.Sqrt(vh) + eps)
		wantW[i] = w[i] - float32(lr*(u+float32(wd*w[i])))

		m64 := 0.9*float64(m[i]) + 0.1*float64(g[i])
		v64 := 0.999*float64(v[i]) + 0.001*float64(g[i])*float64(g[i])
		u64 := m64 * float64(c1) / (math.Sqrt(v64*float64(c2)) + 1e-8)
		refW[i] = float64(w[i]) - 1e-3*(u64+0.01*float64(w[i]))
	}
	checkBits(t, gotW, wantW)
	checkBits(t, gotM, wantM)
	checkBits(t, gotV, wantV)
	checkClose(t, gotW, refW, 1e-6)
}

func TestAdamCorrections(t *testing.T) {
	p1, p2 := float32(1), float32(1)
	for step := 1; step <= 50; step++ {
		p1, p2 = float32(p1*0.9), float32(p2*0.999)
		c1, c2 := AdamCorrections(0.9, 0.999, step)
		checkBits(t, []float32{c1, c2}, []float32{1 / (1 - p1), 1 / (1 - p2)})
	}
	c1, c2 := AdamCorrections(0.9, 0.999, 0)
	checkBits(t, []float32{c1, c2}, []float32{1 / (1 - float32(0.9)), 1 / (1 - float32(0.999))})
}
