// Package lint holds the SDK's lint rules, run as ordinary tests (as in
// cockroachdb/pebble's internal/lint): `go test ./internal/lint` fails when
// the code breaks one of the determinism rules that the protocol rests on.
// The package has no non-test code.
//
// # Canonical arithmetic in kernel code
//
// Kernel code is every non-test Go file under accel/cpu (recursively) and
// internal/f32. Go fuses x*y + z into one fused multiply-add on arm64 and
// on amd64 with GOAMD64=v3, even across statements and across inlined
// calls, and the fused result differs in the last bit, so a verifier on
// another machine would not reproduce it. An explicit conversion rounds and
// forbids the fusion. TestKernelArithmetic reports, for float (not integer,
// not constant) operands:
//
//   - a product that is an operand of a binary + or -, or the right side of
//     += or -= (parentheses and unary minus are seen through):
//     write float32(a*b) + c, float64(a*b) + c, or T(a*b) + c for a named
//     float type T;
//   - a product assigned (=, :=, var, *=) to a local variable that is also
//     an operand of a float + or - in the same package: Go fuses across
//     statements; write t := float32(a*b);
//   - a returned product, and a product passed as an argument to a function
//     that is not from the standard library: after inlining, the caller's
//     addition may be fused with it; write float32(a*b).
//
// It also reports every use of the math functions whose results differ
// between architectures (Exp, Exp2, Expm1, Log, Log2, Log10, Log1p, Logb,
// Ilogb, Pow, Tanh, Sinh, Cosh, Asinh, Acosh, Atanh, Sin, Cos, Tan, Sincos,
// Asin, Acos, Atan, Atan2, Erf, Erfc, Erfinv, Erfcinv, Gamma, Lgamma, J0,
// J1, Jn, Y0, Y1, Yn, Cbrt, Hypot) and of the math/cmplx functions built on
// them: use internal/f32 (Exp, Log, Tanh, Sigmoid, Sqrt), or add a canonical
// function there. math.Sqrt, Floor, Ceil, Trunc, Abs, Ldexp, Frexp, FMA,
// Float32bits and the other exact functions are fine.
//
// Files excluded by build constraints on the host are checked when the
// tests run on a platform that builds them (CI runs amd64, 386 and arm64).
// Not caught: products stored in struct fields or arrays that the compiler
// keeps in registers, and products reaching an addition through a function
// value; the cross-architecture golden hashes are the backstop there.
//
// # Deterministic domain packages
//
// In pol, dispute, stake, market, labeling and chain/sm (recursively, non-test files; the rule passes
// while these directories do not exist), TestDomainDeterminism reports
// time.Now, time.Since and time.Until (take the time from an injected
// clock), the top-level functions of math/rand and math/rand/v2 other than
// the New... constructors (they use the global source; use a generator
// seeded from the task), and os.Getenv, os.LookupEnv, os.Environ and
// os.ExpandEnv (pass configuration through a Config).
//
// # Self-test
//
// TestRulesCatch runs every rule over testdata/src/<rule>/bad, whose lines
// carry `// want "substring"` comments naming the expected reports, and
// over testdata/src/<rule>/good, which must give no report, so a rule that
// stops catching what it claims fails the tests.
//
// Packages are parsed with go/parser and type-checked with go/types;
// packages of this module are loaded from their directories, the standard
// library from source. A package that does not type-check is a failure:
// a lint that cannot see the types cannot vouch for the code.
package lint
