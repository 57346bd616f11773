// Package accel defines what an accelerator backend must do, and the values that cross the
// boundary: devices, tensors, training states and their hashes, traces.
//
// A Backend is deliberately small, like io/fs.FS: Device describes the hardware, Open makes a
// model resident (a graph.Program, a training State or a seed, and a dataset) and returns a
// Run, and Exec executes one primitive, or one chunk of one primitive, from given inputs (the
// referee's check in a dispute). A Run trains segments of steps over batches named by sample
// indices and returns the state hash after every step, traces one step instruction by
// instruction, and exports its state. Nothing crosses the boundary per step but indices and
// hashes, so a backend can live in another process (package plugins serves one over
// go-plugin). Extra abilities are optional interfaces found by type assertion; a missing
// ability is reported as ErrUnsupported.
//
// The reference implementation is accel/cpu: bit-exact on every architecture Go supports.
// Device.BitExact tells whether a backend reproduces it bit for bit; proofs made with a backend
// that does not are verified in tolerance mode (package pol).
//
// # State hash
//
// A training state is hashed as
//
//	TensorHash(t) = SHA-256("deai/tensor/v2\x00" ‖ u32 rank ‖ u32 dim… ‖ u64 n ‖ root)
//	root          = Merkle root over blocks of TensorBlock (4096) values, leaf SHA-256(0x00 ‖ f32 value…)
//	StateHash     = SHA-256("deai/state/v1\x00" ‖ u64 step ‖ rng[32] ‖ u32 n ‖ TensorHash…)
//
// integers and float32 bits little-endian, every NaN hashed as CanonicalNaN (processors differ
// in the NaN payloads they produce), the tree internal/merkle's (inner nodes SHA-256(0x01 ‖ left
// ‖ right), an odd node promoted), tensors in graph.Program.State order (parameters in graph
// order, then optimizer state), rng the 32-byte state of the run's training generator
// (internal/rng's encoding; stream TrainingStream of the run's seed). Per-tensor hashes let a
// prover open a single tensor of a committed state, and the block tree any 4096 values of it
// by a Merkle path: a dispute referee checks a state block against the state hash alone
// (dispute/accelvm), and the blocks of a state hash in parallel. (Version 1 hashed the values
// as one SHA-256 stream, which cannot be opened in part: a referee could not tell which values
// a committed state held without hashing all of it.)
//
// # Contracts
//
// Implementations must be safe for concurrent use (a Run is used by one goroutine at a time),
// must not retain or modify slices passed in, must honour ctx, and must report bad input
// (shapes, indices, non-finite data) as errors wrapping ErrInvalidArgument, never by panicking.
package accel
