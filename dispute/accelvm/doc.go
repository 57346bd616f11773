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
// environment root at the transition's start and the partial roots of its outputs (MidLeaf;
// for "open", h_t in the environment's place, the slot roots finished so far and the hash of
// the Carry of the tensor being built; for "seal", the tensor hashes finished so far and the
// Carry's hash).
//
// The environment is the Merkle tree (internal/merkle) over a header leaf (step counter and
// generator state) and one root per program slot; a slot not yet written in a step has root
// EmptySlot. A tensor's root is the Merkle tree over its segments of SegLen consecutive values
// (row-major flat order), each leaf SHA-256(0x00 ‖ "deai/accelvm/seg/v1\x00" ‖ float32 bits,
// little-endian, NaNs canonical); labels are stored as their int32 bits.
//
// # Chunks and referee work
//
// Every primitive is cut into chunks of at most MaxChunkFLOPs = 2^16 floating-point operations
// (as graph.Program.FLOPs counts them), each recomputed by one Backend.Exec call (accel.Chunk
// documents the calls) from values opened by Merkle paths, with the same bits as the whole
// kernel: where a chunk continues a reduction, its running values are the partial values of
// its output, committed by the chunk-level leaf, and chunks run in the kernel's summation
// order.
//
//   - MatMul: a TileM×TileN output tile over a K-segment of TileK reduction steps
//     (2·16·16·128 = 2^16 FLOPs), K-segments innermost, running sums in the output.
//   - Conv2D: tiles of each sample's product W · im2col(x) (filters × output pixels over
//     R = C·KH·KW): up to 2·TileK taps the whole reduction in one chunk, TileM filters ×
//     TileN·⌊TileK/R⌋ pixels (R ≤ TileK) or ⌊TileN·TileK/R⌋ pixels; above, MatMul's tiles
//     and K-segments. Conv2DGradWeight: the same tiles of dW = Σ dy_n ·
//     im2col(x_n)ᵀ, the reduction over the concatenated index n·OH·OW+q cut into K-segments.
//   - Conv2DGradInput: boxes of one input-gradient plane, each element complete (the fold over
//     the kernel taps of the fold over the filters): ⌊2^16 / (KH·KW·(2·O+1))⌋ elements per
//     chunk, as full rows or, when a row is longer, a piece of one row.
//   - Pooling and its gradients: boxes of output planes of at most PoolOutputs outputs and
//     2^16 FLOPs (whole planes, full rows, or a piece of one row), in ascending output order,
//     so that the gradients add into their running input gradient in the kernel's order.
//   - BiasAdd and the element-wise primitives (ReLU, Tanh, Copy, their gradients, Add): ranges
//     of ElemChunk elements. BiasGrad: ⌈SegLen/S⌉ channels (at least one) × a segment of the
//     sum over batch and positions, BiasGradValues terms per chunk, running sums in the
//     output.
//   - SoftmaxXent and SoftmaxXentGrad: ranges of rows, at most SoftmaxValues logits and 2^16
//     FLOPs; SoftmaxXent carries the running total of the row losses in its loss output, and
//     the chunk ending at the last row divides it by the batch.
//   - SGD and AdamW: ranges of ElemChunk elements by a whole Exec call on the range; AdamStep
//     (2 FLOPs) whole.
//
// Limits: a chunk holds at least one row of softmax (5·C+4 FLOPs), one input-gradient element
// of a convolution (KH·KW·(2·O+1) FLOPs) and one pooling output (KH·KW+1 FLOPs). The graph
// limits (graph.MaxClasses = 8192, graph.MaxUnitWork = 2^16) keep each of these within 2^16
// FLOPs, so every chunk of every graph the SDK accepts is. TestRefereeFLOPs and
// TestChunksBitExact check the bound and the bits per primitive.
//
// "load" has one chunk per sample (checked against the dataset commitment). "open" and
// "seal" read the state tensors in blocks of StateBlock = accel.TensorBlock values, one
// block per chunk, and prove every block's values against the agreed leaf:
//
//   - open, chunk e (block b of state tensor j): the witness opens h_t (the step, the
//     generator state and the tensor hashes, rehashed by accel.StateHash) and tensor j's
//     hash (its shape and size are the program's, the root of its tree over TensorBlock
//     leaves is BlockRoot), and proves the block's leaf under BlockRoot by a Merkle path.
//     The chunk then adds the block's root in the slot's tree (the root of its SegLen
//     segments) to a Carry, the Merkle frontier of the block roots of the tensor so far; the
//     tensor's last block finishes its slot root, and the last chunk returns the
//     environment (header, state slots' roots, EmptySlot elsewhere).
//   - seal, chunk e (block b of state tensor j): the witness proves the slot's root in the
//     environment and the block's root under it (StateBlock/SegLen is a power of two, so the
//     block's segments are one node of the slot's tree, and a path from that node is a
//     merkle.Proof over a tree of ⌈n/StateBlock⌉ block roots); the chunk adds the block's
//     TensorBlock leaf to the Carry, and the tensor's last block finishes its tensor hash
//     from the shape, the size and the frontier's root. One more chunk last opens the header
//     and returns the state hash.
//
// Why it is sound: in every chunk the values are fixed by the agreed pre-leaf. An open
// chunk's pre-leaf is h_t or commits it, and from h_t a chain of preimages (the state hash's,
// the tensor hash's) and one Merkle path lead to the block's leaf; a seal chunk's pre-leaf
// commits the environment, and from it one path leads to the slot's root and one to the
// block's root. The carry is committed by its hash. So a witness the referee accepts gives
// the post-leaf the honest computation gives, unless SHA-256 collides, and a party who
// changes the values of any block (not only a tensor's last) is refuted at the first chunk
// where its leaves differ. (The chunks used to continue a SHA-256 midstate of a flat tensor
// hash, which let a block's values be checked only at its tensor's last block.) Check
// returns the FLOPs of the chunk (0 for open and seal).
//
// # Witnesses
//
// A Prove move carries a Witness encoded with encoding/gob (Witness.Encode, DecodeWitness, at
// most MaxWitness = 1 MiB). A chunk reads and writes a bounded number of values, so its
// witness is bounded whatever the model: every segment it opens costs at most about 2.3 KiB
// (128 values and a proof), and TestWitnessBound checks every chunk of a step of the MLP (batch
// 64 and 512) and the CNN against MaxWitness (at most 272 segments, a MatMul tile with a
// transposed operand). An "open" or "seal" chunk holds one state block of 4096 values, a
// few Merkle paths and, being tied to h_t and h_{t+1} whose preimages list every tensor
// hash, two hashes per state tensor (the tensor hashes and the partial results, at most
// about 100 bytes in gob): about 25 KiB on the MLP and the CNN (TestWitnessBound encodes
// every one), within MaxWitness up to about 9,000 state tensors. The encoding is not canonical and need not be: the referee only
// decodes it, and every value in it is checked against the agreed leaf by hashes and paths.
//
// # Concurrency
//
// A VM is safe for concurrent use; a Trace is not. Check, which the dispute.VM interface
// gives no context, runs the backend with context.Background().
package accelvm
