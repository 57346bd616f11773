// Package cpu is the bit-exact reference backend: it executes graph.Program training steps on
// the CPU with canonical arithmetic, so that a solver, a verifier and a referee on different
// machines get the same bits, and so the same state hashes.
//
// Canonical arithmetic, as the kernels (package accel/cpu/internal/kern documents each one
// exactly) implement it:
//   - float32 IEEE-754 throughout, round to nearest even, no flush-to-zero;
//   - every product is rounded to float32 before it is added (float32(a*b) + c): Go would
//     otherwise fuse a*b+c into one FMA on arm64 and on amd64 with GOAMD64=v3;
//   - every sum is a sequential fold in a documented index order, starting from +0 (or from
//     given running sums, which is what makes a chunk of a matmul recomputable on its own);
//   - exp, log, tanh and square root come from internal/f32, never from package math
//     (math.Exp differs between amd64 and arm64 on about 16% of inputs);
//   - parallelism splits outputs across goroutines, never a sum, so results do not depend on
//     GOMAXPROCS or Config.Workers;
//   - randomness comes only from internal/rng streams keyed by the run's seed.
//
// On amd64 CPUs with AVX2 the GEMM micro-kernel (and so the convolutions), ReLU, ReLUGrad, SGD
// and AdamW run as assembly that performs the same IEEE-754 operations in the same order (a
// rounded multiply, then an add; never an FMA); 386, arm64, other CPUs and the purego build tag
// use the pure-Go twins, and the kern tests compare the two bit for bit. Parallel work goes to a
// persistent worker pool, so a training step starts no goroutine and allocates nothing in this
// package. Convolutions run their samples in parallel when there are samples for every worker
// (the weight gradient as one product over the concatenated batch index, whose im2col is
// written straight into the kernel's packed layout). Run.TrainAppend (accel.TrainAppend) trains
// a segment into the caller's slice without allocating; the state hash's 4096-value blocks are
// hashed in parallel. Idle pool workers poll briefly before parking, since the parallel loops
// of a step follow each other faster than a parked goroutine wakes.
//
// Backend.Exec computes one primitive, or one chunk of one (accel.Chunk), from given inputs:
// the referee's check in dispute/accelvm. Chunks exist for every primitive but AdamStep:
// matmul and convolution tiles over K-segments carried as running sums, boxes of pooling and
// input-gradient planes, channel and row segments of the bias and softmax reductions, and
// element ranges; computed one after another they give the bits of the whole call.
//
// A lint test (internal/lint) fails if kernel code gains an unguarded multiply-add or a call to
// math.Exp, math.Log, math.Tanh, math.Pow and their kin. Golden state hashes of reference
// training runs in testdata are checked on amd64 (GOAMD64 v1 and v3), 386 and arm64 (under
// qemu-aarch64-static), with GOMAXPROCS 1, 2, 4 and 8 and under the race detector.
package cpu
