package f32

import "math"

// Bit patterns of the canonical special results.
const (
	// NaNBits is the bit pattern of the one NaN this package returns: the
	// positive quiet NaN 0x7fc00000, whatever the NaN payload of the input.
	NaNBits    = 0x7fc00000
	posInfBits = 0x7f800000
	negInfBits = 0xff800000
)

// Constants of the float64 kernels. Each is the float64 nearest to the
// value in its comment; the hexadecimal literals are the specification
// (see doc.go).
const (
	ln2Hi   = 0x1.62e42feep-1       // ln 2 rounded to 32 significant bits; k*ln2Hi is exact for |k| < 2^20
	ln2Lo   = 0x1.a39ef35793c76p-33 // ln 2 - ln2Hi
	invLn2  = 0x1.71547652b82fep+0  // 1/ln 2
	sqrt1_2 = 0x1.6a09e667f3bcdp-1  // sqrt(1/2)

	// maxRound32 is the smallest float64 that rounds to +Inf in float32:
	// MaxFloat32 plus half an ulp (a tie, which rounds to even, i.e. up).
	maxRound32 = 0x1.ffffffp+127

	// expC2..expC13 are 1/n! (Taylor coefficients of e^r - 1).
	expC2  = 0x1p-1
	expC3  = 0x1.5555555555555p-3
	expC4  = 0x1.5555555555555p-5
	expC5  = 0x1.1111111111111p-7
	expC6  = 0x1.6c16c16c16c17p-10
	expC7  = 0x1.a01a01a01a01ap-13
	expC8  = 0x1.a01a01a01a01ap-16
	expC9  = 0x1.71de3a556c734p-19
	expC10 = 0x1.27e4fb7789f5cp-22
	expC11 = 0x1.ae64567f544e4p-26
	expC12 = 0x1.1eed8eff8d898p-29
	expC13 = 0x1.6124613a86d09p-33

	// logC1..logC11 are 2/(2j+1) (series of log((1+s)/(1-s)) = 2 atanh s).
	logC1  = 0x1.5555555555555p-1
	logC2  = 0x1.999999999999ap-2
	logC3  = 0x1.2492492492492p-2
	logC4  = 0x1.c71c71c71c71cp-3
	logC5  = 0x1.745d1745d1746p-3
	logC6  = 0x1.3b13b13b13b14p-3
	logC7  = 0x1.1111111111111p-3
	logC8  = 0x1.e1e1e1e1e1e1ep-4
	logC9  = 0x1.af286bca1af28p-4
	logC10 = 0x1.8618618618618p-4
	logC11 = 0x1.642c8590b2164p-4
)

// Thresholds on the float32 argument (exact float32 values).
const (
	// expOverflow: for x >= 89, e^x > MaxFloat32 + ulp/2, so Exp returns +Inf.
	expOverflow = 89
	// expUnderflow: for x <= -104, e^x < 2^-150 (half the smallest
	// subnormal), so Exp returns +0.
	expUnderflow = -104
	// tanhSaturate: for |x| >= 10, 1 - tanh|x| < 2^-27, so Tanh returns ±1.
	tanhSaturate = 10
	// sigmoidClamp: for |x| > 120 the sigmoid is computed at ±120, whose
	// float32 results (1 and +0) are those of the exact function at x.
	sigmoidClamp = 120
)

// NaN returns the canonical NaN (bits NaNBits) that every function of this
// package returns for a NaN result.
func NaN() float32 { return math.Float32frombits(NaNBits) }

func posInf() float32 { return math.Float32frombits(posInfBits) }

func negInf() float32 { return math.Float32frombits(negInfBits) }

// isNaN reports whether x is a NaN without relying on the comparison
// semantics of any particular compiler optimisation.
func isNaN(x float32) bool { return math.Float32bits(x)&0x7fffffff > posInfBits }

// round32 rounds v to the nearest float32 (ties to even) in one rounding,
// including the overflow to ±Inf, which Go leaves implementation-defined
// for conversions and which is therefore made explicit here. v must not be
// NaN.
func round32(v float64) float32 {
	if v >= maxRound32 {
		return posInf()
	}
	if v <= -maxRound32 {
		return negInf()
	}
	return float32(v)
}

// reduce splits y into k*ln2 + r with k = floor(y/ln2 + 1/2) (y/ln2
// rounded in float64 first) and r = (y - k*ln2Hi) - k*ln2Lo, so that
// |r| <= ln2/2 + tiny. Valid for |y| < 2^19.
func reduce(y float64) (k int, r float64) {
	kf := math.Floor(float64(y*invLn2) + 0.5)
	hi := y - float64(kf*ln2Hi)
	r = hi - float64(kf*ln2Lo)
	return int(kf), r
}

// expm1Poly returns e^r - 1 for |r| <= 0.35 as r + r^2*P(r), P the Taylor
// polynomial of degree 11 with coefficients 1/2! .. 1/13!, evaluated by
// Horner's rule with every product rounded before the addition.
func expm1Poly(r float64) float64 {
	p := float64(expC13*r) + expC12
	p = float64(p*r) + expC11
	p = float64(p*r) + expC10
	p = float64(p*r) + expC9
	p = float64(p*r) + expC8
	p = float64(p*r) + expC7
	p = float64(p*r) + expC6
	p = float64(p*r) + expC5
	p = float64(p*r) + expC4
	p = float64(p*r) + expC3
	p = float64(p*r) + expC2
	r2 := float64(r * r)
	return float64(r2*p) + r
}

// exp64 returns e^y in float64 for -150*ln2 - 1 < y < 150*ln2 + 1 (and in
// general for |y| < 700), accurate to a few float64 ulps.
func exp64(y float64) float64 {
	k, r := reduce(y)
	return float64((1 + expm1Poly(r)) * pow2(k))
}

// pow2 returns 2^k for -1022 <= k <= 1023, built from its bits. Multiplying
// by it is exact as long as the product is a normal float64, which holds
// for every caller here; it equals math.Ldexp in that range and is faster.
func pow2(k int) float64 { return math.Float64frombits(uint64(k+1023) << 52) }

// expm1_64 returns e^y - 1 in float64 for 0 <= y <= 40 with a relative
// error of a few float64 ulps, also for tiny y.
func expm1_64(y float64) float64 {
	k, r := reduce(y)
	p := expm1Poly(r)
	// 2^k*(1+p) - 1 = 2^k*p + (2^k - 1); both parts are exact for k <= 53
	// and the sum rounds once. For k == 0 it is p itself.
	s := pow2(k)
	return float64(p*s) + (s - 1)
}

// Exp returns e^x rounded to float32.
//
// Special cases: Exp(NaN) = NaN (canonical), Exp(+Inf) = +Inf,
// Exp(-Inf) = +0, Exp(±0) = 1, Exp(x) = +Inf for x >= 89 and for every x
// whose e^x rounds above MaxFloat32 (x > 88.72284), Exp(x) = +0 for
// x <= -104 and for every x whose e^x rounds to zero (x < -103.97208);
// results in the subnormal range are rounded once to the subnormal grid.
func Exp(x float32) float32 {
	switch {
	case isNaN(x):
		return NaN()
	case x >= expOverflow: // includes +Inf
		return posInf()
	case x <= expUnderflow: // includes -Inf
		return 0
	}
	return round32(exp64(float64(x)))
}

// Log returns the natural logarithm of x rounded to float32.
//
// Special cases: Log(NaN) = NaN (canonical), Log(x) = NaN for x < 0
// (including -Inf), Log(±0) = -Inf, Log(+Inf) = +Inf, Log(1) = +0.
// Subnormal x are exact in float64 and need no special handling.
func Log(x float32) float32 {
	switch {
	case isNaN(x) || x < 0:
		return NaN()
	case x == 0:
		return negInf()
	case x == posInf():
		return posInf()
	}
	m, e := math.Frexp(float64(x)) // x = m * 2^e, 0.5 <= m < 1, exact
	if m < sqrt1_2 {
		m += m // exact
		e--
	}
	// Now sqrt(1/2) <= m < sqrt(2): log x = e*ln2 + log(1+f).
	f := m - 1 // exact (Sterbenz)
	s := f / (2 + f)
	z := float64(s * s)
	// log(1+f) = 2 atanh(s) = 2s + s*z*Q(z), Q(z) = 2/3 + 2/5 z + ... + 2/23 z^10.
	q := float64(logC11*z) + logC10
	q = float64(q*z) + logC9
	q = float64(q*z) + logC8
	q = float64(q*z) + logC7
	q = float64(q*z) + logC6
	q = float64(q*z) + logC5
	q = float64(q*z) + logC4
	q = float64(q*z) + logC3
	q = float64(q*z) + logC2
	q = float64(q*z) + logC1
	sz := float64(s * z)
	l := float64(sz*q) + (s + s)
	ke := float64(e)
	hi := float64(ke * ln2Hi) // exact
	lo := float64(ke*ln2Lo) + l
	return round32(hi + lo)
}

// Tanh returns the hyperbolic tangent of x rounded to float32.
//
// Special cases: Tanh(NaN) = NaN (canonical), Tanh(±Inf) = ±1,
// Tanh(±0) = ±0, Tanh(x) = ±1 for |x| >= 10; Tanh(x) = x for subnormal x.
// Tanh is odd: Tanh(-x) = -Tanh(x) bit for bit.
func Tanh(x float32) float32 {
	if isNaN(x) {
		return NaN()
	}
	if x == 0 {
		return x // keeps the sign of zero
	}
	a := x
	if a < 0 {
		a = -a
	}
	var t float32
	if a >= tanhSaturate { // includes Inf
		t = 1
	} else {
		// tanh a = (e^(2a) - 1) / (e^(2a) + 1) = em / (em + 2).
		em := expm1_64(float64(2 * float64(a)))
		t = round32(em / (em + 2))
	}
	if x < 0 {
		return -t
	}
	return t
}

// Sigmoid returns the logistic function 1/(1+e^-x) rounded to float32.
//
// Special cases: Sigmoid(NaN) = NaN (canonical), Sigmoid(+Inf) = 1,
// Sigmoid(-Inf) = +0, Sigmoid(±0) = 0.5. For large negative x the result
// is e^x/(1+e^x), so it underflows through the subnormals exactly as the
// true function does (it is +0 below about -103.97).
func Sigmoid(x float32) float32 {
	if isNaN(x) {
		return NaN()
	}
	a := float64(x)
	if a < 0 {
		a = -a
	}
	if a > sigmoidClamp {
		a = sigmoidClamp
	}
	e := exp64(-a) // in (0, 1]
	if x >= 0 {
		return round32(1 / (1 + e))
	}
	return round32(e / (1 + e))
}

// Sqrt returns the square root of x correctly rounded to float32.
//
// Special cases: Sqrt(NaN) = NaN (canonical), Sqrt(x) = NaN for x < 0
// (including -Inf), Sqrt(±0) = ±0, Sqrt(+Inf) = +Inf. The float64 square
// root (IEEE-754 correctly rounded on every architecture) of a float32 is
// rounded once more to float32; since float64 carries more than twice the
// float32 precision plus two bits, that double rounding is innocuous and the
// result is the correctly rounded float32 square root.
func Sqrt(x float32) float32 {
	switch {
	case isNaN(x) || x < 0:
		return NaN()
	case x == 0:
		return x
	}
	return round32(math.Sqrt(float64(x)))
}
