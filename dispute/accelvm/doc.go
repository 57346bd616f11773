// Package accelvm is the real referee of the dispute game: a dispute.VM over one training
// step of an accel/graph Program, recomputed chunk by chunk on the reference backend
// accel/cpu from inputs proven by Merkle paths, and the matching dispute.TraceProvider that
// an honest party (or a deliberately faulty one, in tests) plays from.
//
// # Usage
//
//	vm, err := accelvm.New(ctx, accelvm.Config{Program: prog, Data: train, RunSeed: proof.Binding.RunSeed()})
//	// the referee: dispute.New(dispute.Config{VM: vm, ...}, ledger)
//	tr, err := accelvm.NewTrace(ctx, accelvm.TraceConfig{VM: vm, States: proof.States, Opener: prover})
//	// a party: &dispute.Honest{Side: dispute.Defender, Trace: tr}
//
// where prover is a *pol.Prover (any pol.Opener) serving the state before a step, regenerated
// from the nearest checkpoint. The step-level commitment is the proof's own state hashes, so a
// party regenerates only the disputed step.
//
// # Leaves
//
// Level 1 (steps): the per-step state hashes h_0 … h_T exactly as package pol commits them
// (accel.StateHash). Level 2 (instructions of step t): G = len(Program.Instrs) + 3
// transitions: "open" (h_t into a tiled environment), "load" (the batch), the program's
// instructions, "seal" (back to h_{t+1}). Its leaf 0 is h_t, leaf G is h_{t+1}, and leaf i in
// between is EnvLeaf(env root after transition i−1). Level 3 (chunks of one transition): leaf 0
// and leaf E are the instruction-level leaves around it, leaf e in between commits the
// environment root at the transition's start and the partial roots of its outputs (MidLeaf).
//
// The environment is the Merkle tree (internal/merkle) over a header leaf (step counter and
// generator state) and one root per program slot; a slot not yet written in a step has root
// EmptySlot. A tensor's root is the Merkle tree over its segments of SegLen consecutive values
// (row-major flat order), each leaf SHA-256(0x00 ‖ "deai/accelvm/seg/v1\x00" ‖ float32 bits,
// little-endian, NaNs canonical); labels are stored as their int32 bits.
//
// # Chunks and referee work
//
// A MatMul chunk is a TileM×TileN output tile over a K-segment of TileK reduction steps
// (2·16·16·128 = 2^16 FLOPs), computed by Backend.Exec from the A and B blocks and the tile's
// running sums, all opened by Merkle paths; ReLU, Tanh, Copy, their gradients and Add are
// chunked by ranges of ElemChunk elements through Exec's element-wise chunks; SGD and AdamW are
// element-wise too and are recomputed by a whole Exec call on the chunk's range. Every other
// primitive (bias, softmax, convolution, pooling, AdamStep) is recomputed whole: one chunk that
// opens all its inputs. "load" has one chunk per sample (checked against the dataset
// commitment); "open" and "seal" have one chunk per state tensor, which hashes that tensor
// whole (no FLOPs, but bytes in proportion to the tensor), plus one for the state hash.
// Check returns the FLOPs of the chunk as graph.Program.FLOPs counts them.
//
// # Witnesses
//
// A Prove move carries a Witness encoded with encoding/gob (Witness.Encode, DecodeWitness, at
// most MaxWitness bytes). The encoding is not canonical and need not be: the referee only
// decodes it, and every value in it is checked against the agreed leaf by hashes and paths.
//
// # Concurrency
//
// A VM is safe for concurrent use; a Trace is not. Check, which the dispute.VM interface
// gives no context, runs the backend with context.Background().
package accelvm
