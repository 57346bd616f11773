package kern

import (
	"math"
	"testing"
)

// gradTol is the largest relative error allowed between an analytic
// gradient and central finite differences.
const gradTol = 1e-2

// to64 converts a float32 slice to float64.
func to64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

// relErr returns ||g - num|| / max(||num||, ||g||) in float64.
func relErr(g []float32, num []float64) float64 {
	var d, ng, nn float64
	for i := range num {
		e := float64(g[i]) - num[i]
		d += e * e
		ng += float64(g[i]) * float64(g[i])
		nn += num[i] * num[i]
	}
	den := math.Sqrt(max(ng, nn))
	if den == 0 {
		return 0
	}
	return math.Sqrt(d) / den
}

// numGrad returns the central finite differences of f at x with step h
// (relative to max(1, |x[i]|)). x is restored before it returns.
func numGrad(x []float64, h float64, f func([]float64) float64) []float64 {
	num := make([]float64, len(x))
	for i := range x {
		old := x[i]
		step := h * max(1, math.Abs(old))
		x[i] = old + step
		fp := f(x)
		x[i] = old - step
		fm := f(x)
		x[i] = old
		num[i] = (fp - fm) / (2 * step)
	}
	return num
}

// gradCheck fails t unless the analytic gradient g agrees with the
// central differences of f at x (step h) within gradTol. To show that the
// check can fail, it also requires that g scaled by 1.05, a gradient 5%
// wrong, and g with its first nonzero element negated, be rejected.
func gradCheck(t *testing.T, g []float32, x []float64, h float64, f func([]float64) float64) {
	t.Helper()
	if len(g) != len(x) {
		t.Fatalf("gradient has %d elements, input %d", len(g), len(x))
	}
	num := numGrad(x, h, f)
	if e := relErr(g, num); e > gradTol {
		t.Errorf("relative error %.3g > %g\nanalytic %v\nnumeric  %v", e, gradTol, g, num)
	}
	scaled := make([]float32, len(g))
	for i, v := range g {
		scaled[i] = float32(1.05 * float64(v))
	}
	if e := relErr(scaled, num); e <= gradTol {
		t.Errorf("a gradient 5%% off passes (relative error %.3g)", e)
	}
	flipped := append([]float32(nil), g...)
	big := 0
	for i, v := range g {
		if math.Abs(float64(v)) > math.Abs(float64(g[big])) {
			big = i
		}
	}
	flipped[big] = -flipped[big]
	if e := relErr(flipped, num); e <= gradTol {
		t.Errorf("a gradient with one sign flipped passes (relative error %.3g)", e)
	}
}

// dot64 returns the float64 sum of r[i]*y[i].
func dot64(r []float32, y []float64) float64 {
	var s float64
	for i, v := range y {
		s += float64(r[i]) * v
	}
	return s
}

// checkClose fails t if got and want (float64) differ by more than
// tol*(1+|want|) anywhere.
func checkClose(t *testing.T, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) < len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); !(d <= tol*(1+math.Abs(w))) {
			t.Fatalf("[%d] = %v, float64 reference %v", i, got[i], w)
		}
	}
}

// checkBits fails t unless got and want are identical bit for bit.
func checkBits(t *testing.T, got, want []float32) {
	t.Helper()
	if i := sameBits(got, want); i >= 0 {
		if len(got) != len(want) {
			t.Fatalf("got %d values, want %d", len(got), len(want))
		}
		t.Fatalf("[%d] = %v (%#x), want %v (%#x)", i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
	}
}
