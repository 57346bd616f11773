// Package kern holds the inner loops of the reference CPU backend: GEMM,
// convolution, pooling, element-wise operations, the softmax cross-entropy
// loss and the optimizers, each a small function over flat float32 slices.
//
// It is the one place where the arithmetic of the reference runtime is
// done, and that arithmetic is part of the protocol: a verifier, a referee
// and a bitwise-reproducible accelerator plugin must all get the same bits
// as this code, on every architecture and with any number of workers. The
// section "Canonical arithmetic" below is therefore a specification; the
// code implements it, and the tests check the code against naive loops
// written from it.
//
// # Layout
//
// All tensors are dense and row-major. Batches come first; images are NCHW
// (sample, channel, row, column). A matrix with leading dimension ld has
// element (i, j) at i*ld+j. Convolution filters are O×C×KH×KW, which is
// also the O×(C*KH*KW) matrix that Conv2D multiplies.
//
// # Preconditions
//
// The kernels are called by the interpreter with shapes it has validated
// (ConvShape.Validate, PoolShape.Validate, CheckGemm, CheckLabels); each
// kernel documents the slice lengths it needs. With invalid arguments a
// kernel panics with an index out of range; it never reads or writes
// outside the slices it is given (the assembly kernels are only called
// after Go code has indexed the last element they touch). Scratch buffers
// are supplied by the caller and parallel work goes to a persistent worker
// pool through reusable task values, so the kernels do not allocate in
// steady state. Output slices must not overlap inputs unless a kernel says
// they may.
//
// # Parallelism
//
// A kernel that takes a Par splits its outputs (rows of C, channels of an
// image) into disjoint ranges; each output is computed by exactly one
// goroutine, in the same order as a sequential run. Sums are never split,
// so results do not depend on Par.Workers or GOMAXPROCS.
//
// # Assembly kernels
//
// On amd64 (without the purego build tag) the GEMM micro-kernel, the
// element-wise ReLU and ReLUGrad and the SGD and AdamW updates have AVX2
// versions, chosen at run time when CPUID reports AVX2 and the operating
// system saves the YMM registers (hasAVX2 in gemm_amd64.go; there is no
// golang.org/x/sys/cpu in this module). Each has a pure-Go twin, which is
// what 386, arm64, CPUs without AVX2 and purego builds run, and the tests
// and fuzz targets compare the two bit for bit. The assembly computes the
// canonical arithmetic below lane by lane: a product is VMULPS (rounded),
// a sum VADDPS, never an FMA instruction, and each lane of a GEMM
// accumulator is one element of C folded over l ascending. The GEMM packs
// 16-column panels of B (of at most 256 reduction steps, the fold resuming
// from the stored float32 accumulators) and computes 4×16 tiles of C.
//
// # Canonical arithmetic
//
// Values are IEEE-754 binary32, every operation rounds to nearest even.
// Rules common to all kernels:
//
//   - A product is rounded to float32 before it is added: acc + a*b is
//     computed as acc + float32(a*b), never as a fused multiply-add. (Go
//     fuses an unguarded a*b + c on arm64 and on amd64 with GOAMD64=v3;
//     the explicit conversion forbids it.)
//   - A sum is a sequential left fold in the index order stated below,
//     starting from +0 unless an initial accumulator is stated:
//     acc = ((0 + t0) + t1) + ... . Starting from +0 matters only for
//     signed zeros: a sum of -0 terms is +0.
//   - Division and square root are correctly rounded. exp, log and tanh are
//     those of package internal/f32, never the math package's.
//   - NaNs propagate as IEEE-754 says, except where a kernel states a
//     comparison rule (ReLU, max pooling, the softmax maximum). Which NaN
//     bit pattern comes out is not part of the protocol and is not
//     reproducible: 0*Inf gives 0xffc00000 on amd64 and 0x7fc00000 on
//     arm64, and when both operands of an addition are NaNs the hardware
//     returns one of them according to the operand order the compiler
//     chose. Whoever hashes or compares tensors must treat every NaN as
//     one value (for example by canonicalizing NaNs before hashing).
//
// Gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate). With
// A(i,l) = a[i*lda+l] (a[l*lda+i] if transA), B(l,j) = b[l*ldb+j]
// (b[j*ldb+l] if transB), for every i < m, j < n:
//
//	acc = accumulate ? c[i*ldc+j] : +0
//	for l = 0 .. k-1:  acc = acc + float32(A(i,l)*B(l,j))
//	c[i*ldc+j] = acc
//
// A dispute over one chunk [k0, k1) of the reduction index is therefore
// settled by Gemm with accumulate on the committed partial sums, with a
// and b advanced to index k0 and k = k1-k0.
//
// Add: z = x + y. Scale: y = float32(x*s). ReLU: y = x if x > 0, else +0
// (so -0 and NaN give +0). ReLUGrad: dx = dy if y > 0, else +0, where y is
// the ReLU output. Tanh: y = f32.Tanh(x). TanhGrad:
// dx = dy * (1 - float32(y*y)), where y is the Tanh output.
//
// BiasAdd(x, b, n, c, s): x[(i*c+j)*s+t] = x[(i*c+j)*s+t] + b[j].
// BiasGrad(db, dy, n, c, s): db[j] = fold from +0 over i = 0..n-1, then
// t = 0..s-1, of dy[(i*c+j)*s+t].
//
// Im2col (one sample), with OH = (H+2PH-KH)/SH+1, OW = (W+2PW-KW)/SW+1,
// rows r = (ci*KH+ky)*KW+kx and columns q = oy*OW+ox:
//
//	col[r*OH*OW+q] = x[(ci*H+iy)*W+ix], iy = oy*SH+ky-PH, ix = ox*SW+kx-PW
//
// or +0 where (iy, ix) is outside the H×W image.
//
// Conv2D: for each sample, y[n] (O × OH*OW) = Gemm(w (O × C*KH*KW),
// Im2col(x[n])), no accumulate. Each output is the fold from +0 over r
// ascending of float32(w[o][r]*col[r][q]), padded positions included as
// products with +0.
//
// Conv2DGradInput: for each sample, dcol = Gemm(transA: w^T, dy[n]), each
// element the fold over o ascending of float32(w[o][r]*dy[n][o][q]); then
// col2im: dx[n] is set to +0, and for r ascending, then q ascending,
// dx[n][ci][iy][ix] = dx[n][ci][iy][ix] + dcol[r][q] for every (iy, ix)
// inside the image (padded positions are skipped, not added).
//
// Conv2DGradWeight: dw[o][r] = fold from +0 over n = 0..N-1, then
// q = 0..OH*OW-1, of float32(dy[n][o][q]*col_n[r][q]), col_n =
// Im2col(x[n]): one sequential sum over the index n*OH*OW+q, computed as
// Gemm(transB: dy[n], col_n^T) with accumulate for n ascending.
//
// Pooling windows have no padding; OH = (H-KH)/SH+1, OW = (W-KW)/SW+1; a
// window is scanned over ky, then kx, ascending.
//
// MaxPool2D: best starts at the window's first element and is replaced by
// v only when v > best: the first maximum wins, a NaN wins only as the
// first element. MaxPool2DGrad: dx is set to +0, then for every output in
// order (n, c, oy, ox) ascending, dx[argmax] = dx[argmax] + dy[output],
// argmax chosen by the rule of MaxPool2D on x.
//
// AvgPool2D: y = (fold from +0 of the window in scan order) / float32(KH*KW).
// AvgPool2DGrad: dx is set to +0, then for every output in order
// (n, c, oy, ox) ascending, g = dy[output] / float32(KH*KW), and for every
// window element in scan order dx[e] = dx[e] + g.
//
// SoftmaxXent, for each row i of the n×k logits x:
//
//	m    = x[0]; for j = 1..k-1: if x[j] > m { m = x[j] }
//	e[j] = f32.Exp(x[j] - m)
//	s    = fold from +0 of e[j], j ascending
//	p[j] = e[j] / s
//	L_i  = f32.Log(s) - (x[label_i] - m)
//
// loss = (fold from +0 of L_i, i ascending) / float32(n); +0 when n = 0.
// SoftmaxXentGrad: dx[i][j] = (p[i][j] - t) / float32(n), t = 1 if
// j = label_i, else 0.
//
// SGD, per element: gg = g + float32(wd*w); v = float32(momentum*v) + gg;
// w = w - float32(lr*v).
//
// AdamW, per element, with ob1 = 1-b1, ob2 = 1-b2 and the bias corrections
// c1 = 1/(1-b1^t), c2 = 1/(1-b2^t) given (see AdamCorrections):
//
//	m  = float32(b1*m) + float32(ob1*g)
//	v  = float32(b2*v) + float32(float32(ob2*g)*g)
//	mh = float32(m*c1)
//	vh = float32(v*c2)
//	u  = mh / (f32.Sqrt(vh) + eps)
//	w  = w - float32(lr*(u + float32(wd*w)))
//
// with the old w on the right-hand side.
package kern
