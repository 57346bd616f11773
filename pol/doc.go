// Package pol is deai's proof of learning: stages 2 (profiling), 4 (proof) and 5 (verification)
// of the protocol. A solver trains a Task with Train on an accel.Backend and gets a Proof: the
// state hash after every step, chained and committed under one Merkle root, with a full
// checkpoint every k steps in a Store. A verifier checks the proof's structure (VerifyStructure:
// bindings, start, chain, root, checkpoint headers), then draws steps with randomness fixed only
// after the root is committed (Sample), asks the prover (an Opener, usually a Prover) for the
// state before each, and replays that one step on the bit-exact reference backend (Verify).
// Because replay is bit-exact, one sampled forged step is decisive: a run with a fraction f of
// forged steps survives s draws with probability (1 − f)^s, and SamplesFor(0.05, 0.99) = 90
// replayed steps (0.09% of a 100,000-step run) catch f ≥ 5% with probability 0.99.
//
// # Hashes and integers
//
// Every hash is SHA-256 with a domain tag, a NUL-terminated ASCII string that starts the hashed
// bytes. Integers are little-endian; float32 values are their IEEE-754 bits. "‖" is
// concatenation. State hashes are accel's:
//
//	StateHash = SHA-256("deai/state/v1\x00" ‖ u64 step ‖ rng[32] ‖ u32 n ‖ TensorHash…)
//
// over the step counter, the training generator's state and the parameters and optimizer state.
//
// # Binding
//
// A proof is bound to its task, its solver, the hyperparameters, the dataset and the start:
//
//	binding  = task id[32] ‖ solver[20] ‖ graph hash[32] ‖ u32 batch
//	           ‖ u8 optimizer kind ‖ f32 lr, momentum, weight decay, beta1, beta2, eps
//	           ‖ u64 seed ‖ u64 steps T ‖ dataset root[32] ‖ u64 dataset size
//	           ‖ u32 checkpoint interval k ‖ parent proof id[32] (zeros: none) ‖ u8 mode
//	B        = SHA-256("deai/pol/binding/v1\x00" ‖ binding)
//
// The graph hash is graph.Graph.Hash, the dataset root dataset.Set.Commitment, the optimizer
// graph.Optimizer after EnsureDefaults, the mode 0 (exact) or 1 (tolerance).
//
// # Run seed and data order
//
// The run seed is the first 8 bytes (little-endian u64) of
//
//	SHA-256("deai/pol/seed/v1\x00" ‖ task id ‖ solver ‖ u64 seed)
//
// A fresh run starts from accel.InitialState(program, run seed); step i (0-based within the proof)
// trains on dataset.BatchAt(run seed, N, batch, i). A fine-tuning run (Task.Base) starts from the
// state after the base proof's last step, and its parent is the base proof's ID. Binding the
// seed to the solver gives every solver its own trajectory: a proof cannot be re-bound to a
// thief, because its starting state and checkpoints carry the victim's seed.
//
// # Step chain and root
//
// With h_i the state hash after i steps (h_0 the starting state) and L_{−1} = B,
//
//	L_i  = SHA-256("deai/pol/step/v1\x00" ‖ u64 i ‖ h_i ‖ L_{i−1})      for i = 0 … T
//	root = merkle.Root(L_0, …, L_T)
//
// (package internal/merkle: node = SHA-256(0x01 ‖ left ‖ right), odd nodes promoted; the leaves
// are used as leaf hashes, their preimages start with 'd', never 0x01). Each leaf chains the one
// before it, so reordering, dropping or splicing states changes every later leaf, and the
// first leaf hangs from the binding, so no bound field changes without changing the root.
//
//	ID = SHA-256("deai/pol/proof/v1\x00" ‖ B ‖ root)
//
// names the proof; a fine-tuning task names its base by ID.
//
// # Checkpoints
//
// Checkpoints are taken at the indices 0, k, 2k, … and T (CheckpointIndices). The proof carries a
// header for each (index, step counter, generator state, tensor hashes: the parts of its state
// hash) and the Store holds the full state under its state hash, encoded as a deai.pol.v1
// Checkpoint message (each tensor its float32 values little-endian). Structural verification
// checks that header 0 is the initial state's (step 0 and its generator), that header j has step
// counter step_0 + index and the run's generator key, and that its parts hash to h_index.
//
// # Wire format
//
// A proof is the protobuf message deai.pol.v1.Proof (pol/internal/pb/pol.proto): version 1, the
// binding (every 32-byte field absent when zero, float32 fields as fixed32 bits), the root, the
// state hashes h_0 … h_T concatenated in one bytes field (32 B per step) and the checkpoint headers
// in index order. The encoding is canonical: protobuf's deterministic marshalling, and
// DecodeProof accepts only input that re-encodes to the same bytes. Decoding is bounded: at
// most MaxProofBytes, MaxSteps steps and MaxTensors tensors per header; the number of headers
// is checked against the binding in a pre-pass before any message is allocated. A proof is
// 32 B per step plus (T/k + 2)·(≈ 50 + 32·tensors) B of headers; the checkpoints in the
// store add (T/k + 2)·|state|.
//
// # Challenge
//
// The verifier draws s steps uniformly with replacement from [0, T) with internal/rng
// (Philox4x32-10, Stream.Uint32n), keyed by
//
//	d = SHA-256("deai/pol/challenge/v1\x00" ‖ ID ‖ beacon),  rng.New(u64 d[0:8], u64 d[8:16])
//
// and replays the distinct draws in ascending order (Sample). The beacon must be fixed after the
// root is committed, e.g. the hash of a block after the one that recorded the root. An empty
// beacon is Fiat–Shamir over the proof's ID: convenient, but a prover can grind it, re-sealing
// a forged proof until the draw misses the forged steps, which costs it about 1/(1 − f)^s
// re-seals (cheap hashing); use Fiat–Shamir only where (1 − f)^s is negligible, or with a beacon.
//
// # Verification
//
// VerifyStructure checks, in this order, the binding against the task and solver (task,
// solver, hyperparameters, dataset, parent, mode), the number of state hashes and headers, the
// starting state, the root, and the headers. Verify then, for each drawn step i, takes the
// prover's Opening: the full state before step i, leaf L_{i−1} and the Merkle path of L_i. The
// state must fit the program and hash to h_i, and L_i = Leaf(i, h_i, L_{i−1}) must lie on the
// path to the root. The verifier replays step i from that state on its own backend (accel/cpu
// by default) with the batch of the run seed, drawn from its copy of the dataset whose root the
// binding names, and compares the result with h_{i+1}. The first failure is the Verdict, with a
// typed Reason and the step. A rejecting verdict is not an error: Verify's error reports the
// verifier's own failures (a cancelled context, a failing backend), and Verdict.Err wraps
// ErrInvalidProof for callers that want one.
//
// # Tolerance mode
//
// A backend whose Device().BitExact is false makes tolerance-mode proofs. Their openings carry
// the state after the step too (it must hash to h_{i+1}); the verifier replays on the reference
// and accepts when the step counter and generator state match exactly and the Distances (l1, l2,
// l∞ and cosine distance over all state tensors) lie within Thresholds that Profile computed by
// re-running sampled steps on the profiled backend and on the reference. A verifier without
// thresholds rejects tolerance-mode proofs (ReasonMode).
//
// What tolerance mode cannot detect: any forgery whose every step moves the state by less than
// the thresholds. Fang et al.'s interpolation (A1: states walked in small steps toward a model
// obtained elsewhere), small adversarial substitutions of data (A3) and top-Q-style small
// forged updates (A2) pass as long as each step's deviation stays under the profiled noise; and
// since the deviations of successive steps are not compared with each other, drift accumulates
// freely over many steps. Bindings, the start state, replays of other solvers' proofs (A4, A5,
// A6) and gross forgeries are still caught. That is why bit-exact mode is the default, and why
// the reference backend is bit-exact: a forged step there is caught whenever it is sampled.
//
// # Concurrency and errors
//
// Verifier is safe for concurrent use when its backend is; Prover is not. Errors carry the
// "pol:" prefix; decoding errors wrap ErrInvalidProof and ErrMalformed, a missing checkpoint
// ErrNotFound. The package reads no clock, environment or global randomness (internal/lint):
// TrainConfig.Clock injects time for measurements only.
package pol
