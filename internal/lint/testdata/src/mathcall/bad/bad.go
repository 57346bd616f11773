package bad

import (
	"math"
	m "math"
	"math/cmplx"
)

func f(x float64) float64 {
	return math.Exp(x) + math.Log(x) // want "math.Exp" "math.Log"
}

func g(x float64) float64 { return m.Tanh(x) } // want "math.Tanh"

var h = math.Pow // want "math.Pow"

func trig(x float64) float64 {
	return math.Sin(x) * math.Cos(x) // want "math.Sin" "math.Cos"
}

func special(x float64) float64 {
	lg, _ := math.Lgamma(x) // want "math.Lgamma"
	return math.Erf(x) * lg // want "math.Erf"
}

func complexExp(z complex128) complex128 { return cmplx.Exp(z) } // want "math/cmplx.Exp"
