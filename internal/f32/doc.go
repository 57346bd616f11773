// Package f32 holds the SDK's canonical float32 elementary functions: Exp,
// Log, Tanh, Sigmoid and Sqrt. The reference training runtime (softmax,
// cross-entropy, tanh layers, AdamW) calls nothing else for them, so every
// machine that replays a training step gets the same bits.
//
// The algorithms below are part of the protocol. A backend that claims
// bitwise reproducibility (a GPU vendor's plugin, a referee written in
// another language) must implement them exactly as written here, operation
// for operation, in IEEE-754 binary64 with round-to-nearest-even, no fused
// multiply-add and no extended precision. The golden hashes in
// testdata/golden.txt (SHA-256 of the output bits over a fixed set of 2^20
// inputs, see f32_test.go) are the conformance check.
//
// # Why not the math package
//
// math.Exp, math.Log and friends use assembly on some architectures and Go
// code with fusable multiply-adds on others: math.Exp differs between amd64
// and arm64 on about 16% of inputs. This package uses only operations that
// IEEE-754 specifies exactly: +, -, *, / and square root of float64, the
// conversions between float32 and float64 (rounding to nearest even, also
// into the subnormal range), math.Floor, math.Frexp and exact scaling by a
// power of two. Every product that feeds an addition is written
// float64(a*b) + c, which forbids the compiler to fuse it (on arm64 and
// amd64 GOAMD64=v3 it would); internal/lint enforces this.
//
// # Accuracy
//
// Each function computes in float64 with a relative error of a few float64
// ulps and rounds once to float32 at the end. The results are within 1 ulp
// of the exact value, and in practice correctly rounded: the accuracy test
// (TestAccuracy) found no result that is not correctly rounded on more than
// 2^24 inputs per function, adjudicated against a 320-bit reference.
//
// # Special values
//
// Every NaN result is the canonical quiet NaN with bits 0x7fc00000 (NaNBits),
// whatever the sign and payload of a NaN input, because hardware differs in
// the NaN it produces. Each function's comment lists its special cases;
// TestSpecialValues pins them bit for bit. Subnormal inputs are exact in
// float64 and need no special path; subnormal results come from the final
// float64-to-float32 rounding, which rounds to the subnormal grid once.
// Overflow to ±Inf is decided explicitly (a float64 v rounds to +Inf iff
// v >= 0x1.ffffffp+127), not left to the conversion, whose overflow
// behaviour Go leaves to the implementation.
//
// # Constants
//
// All constants are float64 values given as exact hexadecimal literals in
// f32.go: ln2Hi = 0x1.62e42feep-1 (ln 2 rounded to 32 significant bits, so
// k*ln2Hi is exact for |k| < 2^20), ln2Lo = 0x1.a39ef35793c76p-33
// (ln 2 - ln2Hi), invLn2 = 0x1.71547652b82fep+0, sqrt1_2 =
// 0x1.6a09e667f3bcdp-1, expC2..expC13 = the float64 nearest to 1/n!, and
// logC1..logC11 = the float64 nearest to 2/(2j+1).
//
// # Kernel: reduce(y)
//
//	kf = floor(float64(y*invLn2) + 0.5)
//	r  = (y - float64(kf*ln2Hi)) - float64(kf*ln2Lo)
//	k  = int(kf)
//
// so that y = k*ln2 + r with |r| <= ln2/2 plus a rounding error.
//
// # Kernel: expm1Poly(r), e^r - 1 for |r| <= 0.35
//
// Horner's rule on the Taylor polynomial, every product rounded:
//
//	p = float64(expC13*r) + expC12
//	p = float64(p*r) + expC11   ... down to ... p = float64(p*r) + expC2
//	expm1Poly = float64(float64(r*r)*p) + r
//
// # Kernel: exp64(y) and expm1_64(y)
//
//	exp64(y)    = float64((1 + expm1Poly(r)) * 2^k)  // exact scaling
//	expm1_64(y) = float64(expm1Poly(r)*2^k) + (2^k - 1)
//
// with (k, r) = reduce(y). 2^k is the float64 with bits (k+1023)<<52, and
// every product by it is exact here (the result is a normal float64).
//
// # Exp(x)
//
// NaN gives NaN; x >= 89 (and +Inf) gives +Inf; x <= -104 (and -Inf) gives
// +0; otherwise round32(exp64(float64(x))), where round32(v) is +Inf for
// v >= 0x1.ffffffp+127, -Inf for v <= -0x1.ffffffp+127 and float32(v)
// otherwise.
//
// # Log(x)
//
// NaN or x < 0 gives NaN; ±0 gives -Inf; +Inf gives +Inf. Otherwise:
//
//	m, e = frexp(float64(x))              // x = m*2^e, 0.5 <= m < 1
//	if m < sqrt1_2 { m = m + m; e = e - 1 }
//	f = m - 1                             // exact
//	s = f / (2 + f)
//	z = float64(s*s)
//	q = float64(logC11*z) + logC10
//	q = float64(q*z) + logC9   ... down to ... q = float64(q*z) + logC1
//	l = float64(float64(s*z)*q) + (s + s) // log(1+f) = 2 atanh s
//	hi = float64(float64(e)*ln2Hi)        // exact
//	lo = float64(float64(e)*ln2Lo) + l
//	Log(x) = round32(hi + lo)
//
// # Tanh(x)
//
// NaN gives NaN; ±0 gives ±0 (x itself). With a = |x|: a >= 10 (and Inf)
// gives t = 1; otherwise em = expm1_64(float64(2*float64(a))) and
// t = round32(em / (em + 2)). The result is t for x > 0 and -t for x < 0.
//
// # Sigmoid(x)
//
// NaN gives NaN. With a = min(|float64(x)|, 120) and e = exp64(-a): the
// result is round32(1 / (1 + e)) for x >= 0 (including +0, -0 and +Inf)
// and round32(e / (1 + e)) for x < 0 (including -Inf).
//
// # Sqrt(x)
//
// NaN or x < 0 gives NaN; ±0 gives ±0; otherwise
// round32(sqrt(float64(x))), which is the correctly rounded float32 square
// root.
//
// # Concurrency
//
// All functions are pure and safe for concurrent use.
package f32
