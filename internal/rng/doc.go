// Package rng is deai's specified random number generator: Philox4x32-10, the
// counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel random
// numbers: as easy as 1, 2, 3" (SC 2011), as published in the Random123
// library. Every random choice of the protocol (data order, weight
// initialisation, dropout masks, verifier sampling) is drawn from it, so a
// solver, a verifier and a vendor's accelerator plugin must produce the same
// bits. This comment is the specification; an implementation that follows it
// reproduces the known-answer vectors in rng_test.go and the golden hash in
// testdata/golden.txt.
//
// # Block function
//
// All arithmetic is on unsigned 32-bit words, modulo 2^32. The constants are
//
//	M0 = 0xD2511F53   M1 = 0xCD9E8D57   (multipliers)
//	W0 = 0x9E3779B9   W1 = 0xBB67AE85   (Weyl key increments)
//
// One round maps a counter (c0, c1, c2, c3) under a key (k0, k1) to
//
//	hi0:lo0 = M0 * c0   (full 64-bit product, hi0 the upper and lo0 the lower word)
//	hi1:lo1 = M1 * c2
//	(c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
//
// Philox4x32-10 applies ten rounds. Before each round but the first the key
// is bumped: k0 += W0, k1 += W1. The output of the block function [Philox] is
// the counter after the tenth round. With counter and key all zero the output
// is 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
//
// # Streams
//
// [New](seed, stream) builds a [Stream] with key
//
//	k0 = low 32 bits of seed,   k1 = high 32 bits of seed
//
// and a counter whose words 2 and 3 hold the stream number (c2 = low 32 bits,
// c3 = high 32 bits) and whose words 0 and 1 hold a 64-bit block number b
// (c0 = low 32 bits, c1 = high 32 bits) that starts at 0. Block b yields four
// output words, Philox((b, stream), key)[0], [1], [2] and [3], in that order;
// after the fourth, b increases by one (modulo 2^64: a stream repeats only
// after 2^66 words). Different (seed, stream) pairs therefore never share a
// block.
//
// # Derived values
//
// Each derived value consumes whole 32-bit words w1, w2, ... of the stream in
// order:
//
//   - Uint32: w1.
//   - Uint64: uint64(w1) | uint64(w2)<<32 (the first word is the low half).
//   - Uint32n(n), n > 0: Lemire's multiply-shift with rejection. Let
//     m = uint64(w) * uint64(n) for the next word w. If uint32(m) < n, let
//     t = (2^32 - n) mod n (in Go: -n % n on uint32); while uint32(m) < t,
//     draw the next word w and recompute m. The result is m >> 32, uniform in
//     [0, n). Uint32n(0) returns 0 and consumes no word.
//   - Float32: float32(w1 >> 8) * 2^-24, uniform on the 2^24 multiples of
//     2^-24 in [0, 1). The conversion and the product are exact.
//   - Uniform(lo, hi): u = Float32(), then lo + float32((hi-lo)*u) in float32
//     arithmetic, each operation rounded to nearest even (the explicit
//     conversion forbids fusing the multiply-add). The result lies in
//     [lo, hi]; it can equal hi only through rounding.
//
// # Permutation
//
// [Permutation](s, n) starts from the identity p = (0, 1, ..., n-1) and, for
// i from n-1 down to 1, draws j = s.Uint32n(i+1) and swaps p[i] and p[j]
// (Fisher-Yates, Durstenfeld's form). It consumes at least n-1 calls of
// Uint32n, in that order.
//
// # State
//
// A [State] is the key, the counter of the block the next word comes from and
// the position (0..3) of that word within the block. Its binary encoding is
// 32 bytes, all words little-endian:
//
//	bytes  0..7   k0, k1
//	bytes  8..23  c0, c1, c2, c3
//	bytes 24..27  position, 0..3
//	bytes 28..31  zero
//
// The encoding is canonical (one State, one encoding), so a training state
// hash can include it.
//
// # Concurrency
//
// A Stream is not safe for concurrent use. Streams are cheap: give each
// goroutine its own (seed, stream) pair rather than sharing one. Copying a
// Stream value forks it: both copies produce the same sequence.
package rng
