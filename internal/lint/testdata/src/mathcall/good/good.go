package good

import "math"

// T has a method named like a math function.
type T struct{}

// Exp is a method, not math.Exp.
func (T) Exp(x float64) float64 { return x }

// Log is a local function, not math.Log.
func Log(x float64) float64 { return x }

func exact(x float64) float64 {
	f, e := math.Frexp(x)
	y := math.Ldexp(f, e) + math.Sqrt(x) + math.Floor(x) + math.Abs(x) + math.FMA(x, x, x)
	if math.IsNaN(y) || math.IsInf(y, 0) {
		return math.NaN()
	}
	return float64(math.Float32frombits(math.Float32bits(float32(y)))) + T{}.Exp(x) + Log(x)
}
