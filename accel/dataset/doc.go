// Package dataset provides the datasets of deai's training runtime: an IDX
// reader (the MNIST file format), labelled image sets, Fashion-MNIST (the
// full dataset when installed, a 7,000-sample subset compiled in otherwise),
// the seeded batch order every solver and verifier must follow, and the
// Merkle commitment that binds a training task to its data.
//
// # IDX files
//
// An IDX file is the four bytes 0x00 0x00 type ndims, ndims big-endian
// uint32 dimensions, then the elements in row-major order. [ReadIDX] accepts
// type 0x08 (unsigned bytes, what MNIST and Fashion-MNIST use) only, 1 to 4
// dimensions, each at least 1, at most 2^31-1 data bytes, nothing after the
// data, and reads the file gzip-compressed or raw. Every rejection wraps a
// sentinel and names what was wrong, for example
//
//	dataset: idx: truncated: want 47040000 data bytes, got 1000
//
// # Sets
//
// A [Set] holds N images of Rows×Cols float32 pixels and N labels. Pixel byte
// b becomes float32(b)/255, a single correctly rounded division, so every
// platform gets the same bits.
//
// # Fashion-MNIST
//
// [FashionMNIST] loads the 60,000 training and 10,000 test samples from a
// directory, by default [DefaultFashionMNISTDir] where Debian's
// dataset-fashion-mnist package installs them, and falls back to
// [EmbeddedFashionMNIST]: the first 6,000 training and first 1,000 test
// samples, embedded from the fashionmnist directory (MIT licence, Copyright
// (c) 2017 Zalando SE; fashionmnist/README.txt says how the subset was made).
// Pass [EmbeddedSource] to use the subset on every machine alike.
//
// # Batch order
//
// The samples of epoch e (counted from 0) are visited in the order
//
//	p = rng.Permutation(rng.New(seed, e+1), n)
//
// (Philox4x32-10 stream e+1 of the seed, Fisher-Yates; package internal/rng
// specifies both; e+1 is taken modulo 2^64). Stream 0 of a seed is left to
// other uses: only epoch 2^64-1 would reach it. Step k of the epoch takes the
// batch p[k*b : (k+1)*b]; an epoch has StepsPerEpoch(n, b) = n / b steps,
// and the last n % b entries of p are dropped. Global step s (counted from 0
// across epochs) is step s % steps of epoch s / steps. [Batches] returns an
// epoch's batches, [BatchAt] one step's batch.
//
// # Sample commitment
//
// Sample i (0-based) of a set is encoded as the bytes, integers
// little-endian,
//
//	"deai/sample/v1"        the 14 ASCII bytes, no length prefix or terminator
//	uint32 i                the sample index
//	int32  label            two's complement
//	uint32 rows
//	uint32 cols
//	rows×cols × uint32      the IEEE-754 bits of each float32 pixel, row-major
//
// (3,166 bytes for a 28x28 image), and its leaf is merkle.LeafHash of that
// encoding, SHA-256(0x00 || encoding). [Set.Commitment] is the Merkle root
// over leaves 0..N-1 as package internal/merkle specifies (domain-separated
// nodes, odd nodes promoted, SHA-256("deai/merkle/empty") for N = 0).
// [Set.SampleProof] proves one sample against it and [VerifySample] checks
// such a proof with the root alone. The root does not name the class count;
// a task that needs it commits to it beside the root, and verifiers compare a
// proof's Size with the committed N.
//
// # Concurrency
//
// Functions of the package are safe for concurrent use. A Set is safe for
// concurrent reads; it caches its Merkle tree on first use (guarded by a
// sync.Once) and must not be modified or copied after that.
package dataset
