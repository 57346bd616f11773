package f32

import (
	"math"
	"math/big"
)

// This file holds the high-precision reference used to adjudicate the rare
// inputs where the float64 reference of the accuracy test (math.Exp etc.
// rounded to float32) and the function under test disagree: one of the two
// is then misrounded, and only an exact computation can tell which.

const exactPrec = 320 // bits; far beyond any cancellation below

func newExact(v float64) *big.Float { return new(big.Float).SetPrec(exactPrec).SetFloat64(v) }

// exactExpm1Series returns e^x - 1 by its Taylor series; |x| < 1.
func exactExpm1Series(x *big.Float) *big.Float {
	sum := new(big.Float).SetPrec(exactPrec)
	term := new(big.Float).SetPrec(exactPrec).SetInt64(1)
	eps := new(big.Float).SetPrec(exactPrec).SetMantExp(big.NewFloat(1), -exactPrec-10)
	for n := int64(1); n < 400; n++ {
		term.Mul(term, x)
		term.Quo(term, new(big.Float).SetInt64(n))
		sum.Add(sum, term)
		a := new(big.Float).Abs(term)
		if a.Cmp(new(big.Float).Mul(eps, new(big.Float).Abs(sum))) < 0 {
			break
		}
	}
	return sum
}

// exactExp returns e^x.
func exactExp(x float64) *big.Float {
	// e^x = (e^(x/2^n))^(2^n) with |x/2^n| < 2^-8.
	n := 0
	if x != 0 {
		_, e := math.Frexp(x)
		n = max(e+8, 0)
	}
	y := newExact(x)
	y.SetMantExp(y, -n)
	r := exactExpm1Series(y)
	r.Add(r, newExact(1))
	for range n {
		r.Mul(r, r)
	}
	return r
}

// exactExpm1 returns e^x - 1 without cancellation for small |x|.
func exactExpm1(x float64) *big.Float {
	if math.Abs(x) < 0.5 {
		return exactExpm1Series(newExact(x))
	}
	r := exactExp(x)
	return r.Sub(r, newExact(1))
}

// exactLog returns log x for finite x > 0 by Halley iteration on e^y = x.
func exactLog(x float64) *big.Float {
	y := newExact(math.Log(x))
	bx := newExact(x)
	for range 4 {
		ey := new(big.Float).SetPrec(exactPrec)
		// e^y for a big y: reduce through float64 of y plus a series on the rest.
		yf, _ := y.Float64()
		ey.Set(exactExp(yf))
		rest := new(big.Float).SetPrec(exactPrec).Sub(y, newExact(yf))
		em := exactExpm1Series(rest)
		em.Add(em, newExact(1))
		ey.Mul(ey, em)
		num := new(big.Float).SetPrec(exactPrec).Sub(bx, ey)
		den := new(big.Float).SetPrec(exactPrec).Add(bx, ey)
		num.Quo(num, den)
		num.Mul(num, newExact(2))
		y.Add(y, num)
	}
	return y
}

// exactTanh returns tanh x = em/(em+2), em = e^(2x) - 1.
func exactTanh(x float64) *big.Float {
	em := exactExpm1(2 * x)
	den := new(big.Float).SetPrec(exactPrec).Add(em, newExact(2))
	return em.Quo(em, den)
}

// exactSigmoid returns 1/(1+e^-x).
func exactSigmoid(x float64) *big.Float {
	e := exactExp(-x)
	e.Add(e, newExact(1))
	return new(big.Float).SetPrec(exactPrec).Quo(newExact(1), e)
}

// exactSqrt returns sqrt x.
func exactSqrt(x float64) *big.Float { return new(big.Float).SetPrec(exactPrec).Sqrt(newExact(x)) }

// roundExact rounds v to the nearest float32, ties to even, with the
// subnormal range and overflow to ±Inf handled as IEEE-754 does.
func roundExact(v *big.Float) float32 {
	f, _ := new(big.Float).SetPrec(exactPrec).Set(v).Float32()
	return f
}

// ulpErrorExact returns |got - v| in units of the float32 ulp at v.
func ulpErrorExact(got float32, v *big.Float) float64 {
	if math.IsInf(float64(got), 0) {
		if roundExact(v) == got {
			return 0
		}
		return math.Inf(1)
	}
	d := new(big.Float).SetPrec(exactPrec).Sub(newExact(float64(got)), v)
	d.Abs(d)
	vf, _ := v.Float64()
	u := ulp32(vf)
	d.Quo(d, newExact(u))
	r, _ := d.Float64()
	return r
}

// ulp32 returns the float32 ulp at the real value v: 2^(e-23) where
// 2^e <= |v| < 2^(e+1), but never below the subnormal spacing 2^-149.
func ulp32(v float64) float64 {
	v = math.Abs(v)
	if v == 0 {
		return 0x1p-149
	}
	_, e := math.Frexp(v) // v = m*2^e, 0.5 <= m < 1
	e--                   // now 2^e <= v < 2^(e+1)
	if e < -126 {
		e = -126
	}
	return math.Ldexp(1, e-23)
}
