package good

import "math"

// Weight is a named float type.
type Weight float32

const c = 2.0

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += float32(a[i] * b[i])
	}
	return s
}

func axpy(a, x, y float64) float64 { return float64(a*x) + y }

func msub(a, x, y float32) float32 { return y - float32(a*x) }

func named(a, x, y Weight) Weight { return Weight(a*x) + y }

func widened(a, x float32, y float64) float64 { return float64(a*x) + y }

func viaVar(a, x, y float64) float64 {
	t := float64(a * x)
	return t + y
}

func storeOnly(a, x []float32) {
	for i := range a {
		a[i] = a[i] * x[i]
	}
}

func productNotAdded(a, x float32) float32 {
	t := a * x
	return float32(t)
}

func scale(a, x float32) float32 { return float32(a * x) }

func ints(i, j, k int) int { return i*j + k }

func constants(x float64) float64 { return 2*3.5 + x + c*4 }

func divide(a, x, y float32) float32 { return a/x + y }

func stdCall(a, x, y float64) float64 { return math.Sqrt(a*x) + math.Abs(y) }

func explicitFMA(a, x, y float64) float64 { return math.FMA(a, x, y) }

func concat(a, b string) string { return a + b }
