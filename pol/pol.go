package pol

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/internal/merkle"
)

// Hash is a SHA-256 digest.
type Hash = accel.Hash

// Address identifies a solver: 20 bytes, the shape of an Ethereum address.
type Address [20]byte

// String returns the address as 0x-prefixed hex.
func (a Address) String() string { return "0x" + hex.EncodeToString(a[:]) }

// ParseAddress parses 40 hex digits, with or without a 0x prefix.
func ParseAddress(s string) (Address, error) {
	var a Address
	if len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(a) {
		return a, fmt.Errorf("pol: address %q: want 40 hex digits", s)
	}
	copy(a[:], b)
	return a, nil
}

// Mode says how the steps of a proof are verified.
type Mode uint8

// Modes. The numbers are part of the binding encoding and never change.
const (
	// Exact proofs are verified by bit-exact replay: the replayed state hash must equal the
	// committed one. Proofs made with a backend whose Device().BitExact is true are exact.
	Exact Mode = 0
	// Tolerance proofs are verified by replay and distances against profiled thresholds.
	Tolerance Mode = 1
)

// String names the mode.
func (m Mode) String() string {
	switch m {
	case Exact:
		return "exact"
	case Tolerance:
		return "tolerance"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Defaults and limits.
const (
	// DefaultCheckpointEvery is the checkpoint interval k when a Task leaves it 0.
	DefaultCheckpointEvery = 100
	// MaxSteps bounds the steps of one proof (its state hashes take 32 bytes each).
	MaxSteps = 1 << 20
	// MaxTensors bounds the state tensors a checkpoint header opens.
	MaxTensors = 1 << 12
)

// Task is what a submitter fixes and a proof must be bound to. The zero values of
// Optimizer fields and of CheckpointEvery take their documented defaults (EnsureDefaults).
type Task struct {
	// ID names the task (for example the hash of its on-chain record).
	ID Hash
	// Graph is the model.
	Graph *graph.Graph
	// Batch is the batch size.
	Batch int
	// Optimizer configures the update (graph.Optimizer.EnsureDefaults fills it).
	Optimizer graph.Optimizer
	// Seed is the task's seed; with the task ID and the solver it gives the run seed
	// (RunSeed), which fixes the initial weights and the data order.
	Seed uint64
	// Steps is the number of training steps T.
	Steps uint64
	// Data is the training set; its Commitment is the dataset root the proof binds.
	Data *dataset.Set
	// CheckpointEvery is k: a full state is stored every k steps (and after the last step).
	// Default DefaultCheckpointEvery.
	CheckpointEvery int
	// Base, when non-nil, is the proof of the model this task fine-tunes: the run starts from
	// the state after Base's last step instead of from seeded weights.
	Base *Proof
}

// EnsureDefaults returns t with its defaults filled in.
func (t Task) EnsureDefaults() Task {
	t.Optimizer = t.Optimizer.EnsureDefaults()
	if t.CheckpointEvery == 0 {
		t.CheckpointEvery = DefaultCheckpointEvery
	}
	return t
}

// Validate reports every problem with t at once. It does not compile the graph.
func (t Task) Validate() error {
	var errs []error
	if t.Graph == nil {
		errs = append(errs, errors.New("pol: task: no graph"))
	}
	if t.Data == nil {
		errs = append(errs, errors.New("pol: task: no dataset"))
	}
	if t.Batch < 1 || t.Batch > graph.MaxBatch {
		errs = append(errs, fmt.Errorf("pol: task: batch %d out of range [1, %d]", t.Batch, graph.MaxBatch))
	}
	if t.Steps < 1 || t.Steps > MaxSteps {
		errs = append(errs, fmt.Errorf("pol: task: steps %d out of range [1, %d]", t.Steps, MaxSteps))
	}
	if t.CheckpointEvery < 1 || t.CheckpointEvery > MaxSteps {
		errs = append(errs, fmt.Errorf("pol: task: checkpoint interval %d out of range [1, %d]", t.CheckpointEvery, MaxSteps))
	}
	if err := t.Optimizer.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("pol: task: %w", err))
	}
	if t.Data != nil && t.Batch >= 1 && dataset.StepsPerEpoch(t.Data.N, t.Batch) == 0 {
		errs = append(errs, fmt.Errorf("pol: task: dataset of %d samples holds no batch of %d", t.Data.N, t.Batch))
	}
	return errors.Join(errs...)
}

// Program compiles the task's training step.
func (t Task) Program() (*graph.Program, error) {
	p, err := graph.Compile(t.Graph, t.Batch, t.Optimizer)
	if err != nil {
		return nil, fmt.Errorf("pol: task: %w", err)
	}
	return p, nil
}

// Binding returns the binding of a proof of t by solver in mode m. t must have its defaults.
func (t Task) Binding(solver Address, m Mode) Binding {
	b := Binding{
		Task: t.ID, Solver: solver, Batch: uint32(t.Batch), Optimizer: t.Optimizer, Seed: t.Seed,
		Steps: t.Steps, CheckpointEvery: uint32(t.CheckpointEvery), Mode: m,
	}
	if t.Graph != nil {
		b.Graph = t.Graph.Hash()
	}
	if t.Data != nil {
		b.DataRoot = Hash(t.Data.Commitment())
		b.DataSize = uint64(t.Data.N)
	}
	if t.Base != nil {
		b.Parent = t.Base.ID()
	}
	return b
}

// Binding is everything a proof is bound to; the first leaf of its step chain hangs from
// Binding.Hash, so no field can change without changing the root.
type Binding struct {
	Task            Hash
	Solver          Address
	Graph           Hash
	Batch           uint32
	Optimizer       graph.Optimizer
	Seed            uint64
	Steps           uint64
	DataRoot        Hash
	DataSize        uint64
	CheckpointEvery uint32
	// Parent is the ID of the proof whose final state this run starts from, or zero.
	Parent Hash
	Mode   Mode
}

// Domain tags (see the package documentation).
const (
	bindingDomain   = "deai/pol/binding/v1\x00"
	stepDomain      = "deai/pol/step/v1\x00"
	proofDomain     = "deai/pol/proof/v1\x00"
	seedDomain      = "deai/pol/seed/v1\x00"
	challengeDomain = "deai/pol/challenge/v1\x00"
)

// AppendEncoding appends the canonical encoding of b (the package documentation specifies it).
func (b Binding) AppendEncoding(dst []byte) []byte {
	le := binary.LittleEndian
	dst = append(dst, b.Task[:]...)
	dst = append(dst, b.Solver[:]...)
	dst = append(dst, b.Graph[:]...)
	dst = le.AppendUint32(dst, b.Batch)
	o := b.Optimizer
	dst = append(dst, byte(o.Kind))
	for _, v := range []float32{o.LR, o.Momentum, o.WeightDecay, o.Beta1, o.Beta2, o.Eps} {
		dst = le.AppendUint32(dst, math.Float32bits(v))
	}
	dst = le.AppendUint64(dst, b.Seed)
	dst = le.AppendUint64(dst, b.Steps)
	dst = append(dst, b.DataRoot[:]...)
	dst = le.AppendUint64(dst, b.DataSize)
	dst = le.AppendUint32(dst, b.CheckpointEvery)
	dst = append(dst, b.Parent[:]...)
	return append(dst, byte(b.Mode))
}

// Hash returns SHA-256("deai/pol/binding/v1\x00" ‖ encoding).
func (b Binding) Hash() Hash {
	return sha256.Sum256(b.AppendEncoding([]byte(bindingDomain)))
}

// RunSeed returns the seed of the run: the initial weights (for a task without a base) and the
// data order both derive from it. It is the first 8 bytes, little-endian, of
// SHA-256("deai/pol/seed/v1\x00" ‖ task ID ‖ solver ‖ u64 task seed): every solver of a task
// walks its own trajectory, so a proof cannot be re-bound to another solver.
func (b Binding) RunSeed() uint64 {
	buf := append([]byte(seedDomain), b.Task[:]...)
	buf = append(buf, b.Solver[:]...)
	buf = binary.LittleEndian.AppendUint64(buf, b.Seed)
	h := sha256.Sum256(buf)
	return binary.LittleEndian.Uint64(h[:8])
}

// Leaf returns leaf i of a proof's step chain: SHA-256("deai/pol/step/v1\x00" ‖ u64 i ‖
// state ‖ prev), where state is the state hash after i steps and prev is leaf i−1 (for i = 0,
// the binding hash).
func Leaf(i uint64, state, prev Hash) Hash {
	var buf [len(stepDomain) + 8 + 64]byte
	n := copy(buf[:], stepDomain)
	binary.LittleEndian.PutUint64(buf[n:], i)
	copy(buf[n+8:], state[:])
	copy(buf[n+40:], prev[:])
	return sha256.Sum256(buf[:])
}

// CheckpointIndices returns the step indices (0-based, counted within the proof) at which
// a run of steps steps with interval every stores a checkpoint: 0, k, 2k, … and steps.
func CheckpointIndices(steps uint64, every uint32) []uint64 {
	if every == 0 {
		return nil
	}
	out := make([]uint64, 0, steps/uint64(every)+2)
	for i := uint64(0); i <= steps; i += uint64(every) {
		out = append(out, i)
	}
	if out[len(out)-1] != steps {
		out = append(out, steps)
	}
	return out
}

// CheckpointHeader opens the committed state hash of a checkpointed step into its parts: the
// step counter, the generator state and the per-tensor hashes (accel.StateHash of them is the
// committed state hash). The tensors themselves are in the checkpoint store under that hash.
type CheckpointHeader struct {
	// Index is the step index within the proof (0 ≤ Index ≤ T).
	Index uint64
	// Step is the state's step counter (the base's steps plus Index, for a fine-tuning run).
	Step uint64
	// RNG is the training generator's state.
	RNG [32]byte
	// Tensors are the tensor hashes in graph.Program.State order.
	Tensors []Hash
}

// StateHash returns accel.StateHash of the header's parts.
func (c CheckpointHeader) StateHash() Hash { return accel.StateHash(c.Step, c.RNG, c.Tensors) }

// HeaderOf returns the checkpoint header of state s, at index i, under program p.
func HeaderOf(p *graph.Program, i uint64, s *accel.State) CheckpointHeader {
	h := CheckpointHeader{Index: i, Step: s.Step, RNG: s.RNG, Tensors: make([]Hash, len(s.Tensors))}
	for k, t := range s.Tensors {
		h.Tensors[k] = accel.TensorHash(p.Slots[p.State[k]].Shape, t)
	}
	return h
}

// Proof is a committed training run: its binding, the state hash after every step (States[0]
// is the starting state, States[i] the state after i steps), the Merkle root over the step
// chain, and the headers of its checkpoints. A Proof is a plain value; the verifier treats
// every field as hostile.
type Proof struct {
	Binding     Binding
	Root        Hash
	States      []Hash
	Checkpoints []CheckpointHeader
}

// Steps returns the number of steps the proof commits (len(States) − 1).
func (p *Proof) Steps() uint64 {
	if len(p.States) == 0 {
		return 0
	}
	return uint64(len(p.States) - 1)
}

// ID returns SHA-256("deai/pol/proof/v1\x00" ‖ Binding.Hash ‖ Root): the name a fine-tuning
// task gives its base.
func (p *Proof) ID() Hash {
	bh := p.Binding.Hash()
	buf := append([]byte(proofDomain), bh[:]...)
	return sha256.Sum256(append(buf, p.Root[:]...))
}

// Final returns the last committed state hash (the zero Hash for an empty proof).
func (p *Proof) Final() Hash {
	if len(p.States) == 0 {
		return Hash{}
	}
	return p.States[len(p.States)-1]
}

// Leaves computes the step chain of b over states: leaf i = Leaf(i, states[i], leaf i−1).
func Leaves(b Binding, states []Hash) []Hash {
	out := make([]Hash, len(states))
	prev := b.Hash()
	for i, s := range states {
		prev = Leaf(uint64(i), s, prev)
		out[i] = prev
	}
	return out
}

// Seal returns the proof of binding b over the given state hashes and checkpoint headers,
// computing its root. It copies its arguments.
func Seal(b Binding, states []Hash, headers []CheckpointHeader) *Proof {
	p := &Proof{Binding: b, States: append([]Hash(nil), states...), Checkpoints: make([]CheckpointHeader, len(headers))}
	for i, h := range headers {
		h.Tensors = append([]Hash(nil), h.Tensors...)
		p.Checkpoints[i] = h
	}
	p.Root = Hash(merkle.Root(toMerkle(Leaves(b, states))))
	return p
}

func toMerkle(hs []Hash) []merkle.Hash {
	out := make([]merkle.Hash, len(hs))
	for i, h := range hs {
		out[i] = merkle.Hash(h)
	}
	return out
}

// Path is a Merkle inclusion path of one leaf of a proof's step chain: the siblings from the
// bottom level up, as package internal/merkle specifies the tree.
type Path struct {
	Index    uint64
	Size     uint64
	Siblings []Hash
}

// Opening is what a prover serves for one sampled step: the state before the step, the chain
// link and the Merkle path that tie it to the root, and, for tolerance-mode proofs, the state
// after the step.
type Opening struct {
	// Index is the step index i: the step that takes state i to state i+1.
	Index uint64
	// Pre is the full state after Index steps.
	Pre *accel.State
	// Prev is leaf Index−1 of the step chain (the binding hash for Index 0).
	Prev Hash
	// Path proves leaf Index against the proof's root.
	Path Path
	// Post is the full state after Index+1 steps; required for tolerance-mode proofs only.
	Post *accel.State
}

// Opener serves openings of a committed proof. A Prover is one; tests and attack harnesses
// supply others. Open must not retain the states it returns.
type Opener interface {
	Open(ctx context.Context, index uint64) (*Opening, error)
}
