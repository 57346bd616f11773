package pol

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/internal/rng"
)

// Reason is why a verdict rejects a proof. The numbers are append-only: they cross the wire.
type Reason uint8

// Reasons. Those up to ReasonCheckpoint are found by structural verification alone.
const (
	// ReasonNone: the proof is accepted.
	ReasonNone Reason = iota
	// ReasonMalformed: the proof's shape is wrong (counts, sizes, header indices).
	ReasonMalformed
	// ReasonTask: the proof is bound to another task.
	ReasonTask
	// ReasonSolver: the proof is bound to another solver.
	ReasonSolver
	// ReasonHyperparameters: graph, batch, optimizer, seed, steps or checkpoint interval differ
	// from the task's.
	ReasonHyperparameters
	// ReasonDataset: the dataset root or size differs from the task's.
	ReasonDataset
	// ReasonParent: the proof's parent is not the task's base.
	ReasonParent
	// ReasonMode: the mode is unknown, or a tolerance-mode proof met a verifier without thresholds.
	ReasonMode
	// ReasonStart: the starting state is not the one the task fixes (seeded weights for the
	// run seed, or the base's final state).
	ReasonStart
	// ReasonRoot: the step chain over the committed state hashes does not give the root.
	ReasonRoot
	// ReasonCheckpoint: a checkpoint header does not open its committed state hash, or names a
	// wrong step counter or generator key.
	ReasonCheckpoint
	// ReasonUnserved: the prover did not serve an opening for a sampled step.
	ReasonUnserved
	// ReasonOpening: an opening's state does not fit the program or does not hash to the
	// committed state hash.
	ReasonOpening
	// ReasonPath: an opening's Merkle path does not lead to the root.
	ReasonPath
	// ReasonReplay: replaying the sampled step does not give the committed state hash.
	ReasonReplay
	// ReasonTolerance: the replayed state is farther from the committed one than the
	// thresholds allow.
	ReasonTolerance
)

var reasonNames = [...]string{"accepted", "malformed", "task", "solver", "hyperparameters", "dataset", "parent", "mode",
	"start", "root", "checkpoint", "unserved", "opening", "path", "replay", "tolerance"}

// String names the reason.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Structural reports whether r is found by structural verification, without replay.
func (r Reason) Structural() bool { return r >= ReasonMalformed && r <= ReasonCheckpoint }

// Verdict is the outcome of a verification.
type Verdict struct {
	// Accepted is true when every check passed; Reason is then ReasonNone.
	Accepted bool
	Reason   Reason
	// Step is the step index the reason concerns (a sampled step, a checkpoint index), when
	// it concerns one.
	Step uint64
	// Detail says what was wrong, for people.
	Detail string
	// Sampled lists the distinct step indices drawn for replay (empty after a structural
	// rejection); Replayed counts those replayed before the verdict.
	Sampled  []uint64
	Replayed int
	// ReplayFLOPs is the training FLOPs the verifier spent replaying.
	ReplayFLOPs int64
	// Distances is the largest distance met in tolerance mode, per metric.
	Distances Distances
}

// Err returns nil for an accepted verdict, else a *RejectedError (which wraps ErrInvalidProof).
func (v Verdict) Err() error {
	if v.Accepted {
		return nil
	}
	return &RejectedError{Verdict: v}
}

// RejectedError is a rejecting verdict as an error.
type RejectedError struct{ Verdict Verdict }

// Error describes the rejection.
func (e *RejectedError) Error() string {
	return fmt.Sprintf("pol: proof rejected (%s at step %d): %s", e.Verdict.Reason, e.Verdict.Step, e.Verdict.Detail)
}

// Unwrap returns ErrInvalidProof.
func (e *RejectedError) Unwrap() error { return ErrInvalidProof }

func reject(r Reason, step uint64, format string, args ...any) Verdict {
	return Verdict{Reason: r, Step: step, Detail: fmt.Sprintf(format, args...)}
}

// DefaultSamples is Config.Samples when left 0: with 90 uniformly drawn steps a run with 5% of
// its steps forged is caught with probability 1 − 0.95^90 > 0.99.
const DefaultSamples = 90

// Config configures a Verifier. The zero value is usable.
type Config struct {
	// Backend replays steps. Default: the reference backend accel/cpu.
	Backend accel.Backend
	// Samples is the number of uniform draws of steps to replay. Default DefaultSamples.
	Samples int
	// Thresholds, when set, lets the verifier accept tolerance-mode proofs whose replayed
	// states lie within them (see Profile). Without it tolerance-mode proofs are rejected.
	Thresholds *Thresholds
}

// EnsureDefaults returns c with its defaults filled in (the backend excepted, which NewVerifier
// creates).
func (c Config) EnsureDefaults() Config {
	if c.Samples == 0 {
		c.Samples = DefaultSamples
	}
	return c
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Samples < 1 || c.Samples > MaxSteps {
		errs = append(errs, fmt.Errorf("pol: config: samples %d out of range [1, %d]", c.Samples, MaxSteps))
	}
	if t := c.Thresholds; t != nil {
		for _, v := range []float64{t.L1, t.L2, t.LInf, t.Cosine} {
			if v < 0 || math.IsNaN(v) {
				errs = append(errs, fmt.Errorf("pol: config: thresholds %+v: negative or NaN", *t))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// Verifier checks proofs. It is safe for concurrent use if its backend is.
type Verifier struct {
	cfg Config
}

// NewVerifier returns a verifier.
func NewVerifier(cfg Config) (*Verifier, error) {
	cfg = cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	be, err := defaultBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	cfg.Backend = be
	return &Verifier{cfg: cfg}, nil
}

func sameOptimizer(a, b graph.Optimizer) bool {
	f := math.Float32bits
	return a.Kind == b.Kind && f(a.LR) == f(b.LR) && f(a.Momentum) == f(b.Momentum) && f(a.WeightDecay) == f(b.WeightDecay) &&
		f(a.Beta1) == f(b.Beta1) && f(a.Beta2) == f(b.Beta2) && f(a.Eps) == f(b.Eps)
}

// VerifyStructure checks everything about p that needs no replay: the binding against the task
// and the solver, the starting state, the step chain and root, and the checkpoint headers. It
// returns an error only when the task itself is unusable.
func (v *Verifier) VerifyStructure(task Task, solver Address, p *Proof) (Verdict, error) {
	task = task.EnsureDefaults()
	if err := task.Validate(); err != nil {
		return Verdict{}, err
	}
	prog, err := task.Program()
	if err != nil {
		return Verdict{}, err
	}
	return v.structure(task, prog, solver, p), nil
}

func (v *Verifier) structure(task Task, prog *graph.Program, solver Address, p *Proof) Verdict {
	if p == nil {
		return reject(ReasonMalformed, 0, "no proof")
	}
	got, want := p.Binding, task.Binding(solver, p.Binding.Mode)
	switch {
	case got.Task != want.Task:
		return reject(ReasonTask, 0, "bound to task %s, want %s", got.Task, want.Task)
	case got.Solver != want.Solver:
		return reject(ReasonSolver, 0, "bound to solver %s, want %s", got.Solver, want.Solver)
	case got.Graph != want.Graph:
		return reject(ReasonHyperparameters, 0, "graph %s, the task's is %s", got.Graph, want.Graph)
	case got.Batch != want.Batch || got.Seed != want.Seed || got.Steps != want.Steps || got.CheckpointEvery != want.CheckpointEvery:
		return reject(ReasonHyperparameters, 0, "batch %d, seed %d, steps %d, checkpoint interval %d; the task's are %d, %d, %d, %d",
			got.Batch, got.Seed, got.Steps, got.CheckpointEvery, want.Batch, want.Seed, want.Steps, want.CheckpointEvery)
	case !sameOptimizer(got.Optimizer, want.Optimizer):
		return reject(ReasonHyperparameters, 0, "optimizer %+v, the task's is %+v", got.Optimizer, want.Optimizer)
	case got.DataRoot != want.DataRoot || got.DataSize != want.DataSize:
		return reject(ReasonDataset, 0, "dataset %s of %d samples, the task's is %s of %d", got.DataRoot, got.DataSize, want.DataRoot, want.DataSize)
	case got.Parent != want.Parent:
		return reject(ReasonParent, 0, "parent %s, the task's base is %s", got.Parent, want.Parent)
	case got.Mode != Exact && got.Mode != Tolerance:
		return reject(ReasonMode, 0, "unknown mode %d", got.Mode)
	case got.Mode == Tolerance && v.cfg.Thresholds == nil:
		return reject(ReasonMode, 0, "a tolerance-mode proof, and this verifier has no profiled thresholds")
	}
	if uint64(len(p.States)) != got.Steps+1 {
		return reject(ReasonMalformed, 0, "%d state hashes for %d steps", len(p.States), got.Steps)
	}
	idx := CheckpointIndices(got.Steps, got.CheckpointEvery)
	if len(p.Checkpoints) != len(idx) {
		return reject(ReasonMalformed, 0, "%d checkpoint headers, want %d", len(p.Checkpoints), len(idx))
	}
	var start *accel.State
	if task.Base == nil {
		start = accel.InitialState(prog, got.RunSeed())
		if h := start.Hash(prog); p.States[0] != h {
			return reject(ReasonStart, 0, "starting state %s, the run seed's initial state is %s", p.States[0], h)
		}
	} else if p.States[0] != task.Base.Final() {
		return reject(ReasonStart, 0, "starting state %s, the base proof ends at %s", p.States[0], task.Base.Final())
	}
	if root := Hash(merkle.Root(toMerkle(Leaves(got, p.States)))); root != p.Root {
		return reject(ReasonRoot, 0, "the step chain gives root %s, the proof commits %s", root, p.Root)
	}
	first := p.Checkpoints[0]
	if start != nil && (first.Step != 0 || first.RNG != start.RNG) {
		return reject(ReasonCheckpoint, 0, "checkpoint 0 has step %d and generator %x, the initial state 0 and %x", first.Step, first.RNG[:8], start.RNG[:8])
	}
	for k, c := range p.Checkpoints {
		switch {
		case c.Index != idx[k]:
			return reject(ReasonMalformed, c.Index, "checkpoint header %d is for step %d, want %d", k, c.Index, idx[k])
		case len(c.Tensors) != len(prog.State):
			return reject(ReasonCheckpoint, c.Index, "checkpoint opens %d tensors, the program has %d", len(c.Tensors), len(prog.State))
		case c.Step != first.Step+c.Index:
			return reject(ReasonCheckpoint, c.Index, "checkpoint has step counter %d, want %d", c.Step, first.Step+c.Index)
		case [8]byte(c.RNG[:8]) != [8]byte(first.RNG[:8]):
			return reject(ReasonCheckpoint, c.Index, "checkpoint's generator key %x differs from the run's %x", c.RNG[:8], first.RNG[:8])
		case c.StateHash() != p.States[c.Index]:
			return reject(ReasonCheckpoint, c.Index, "checkpoint header hashes to %s, the proof commits %s", c.StateHash(), p.States[c.Index])
		}
	}
	return Verdict{Accepted: true}
}

// Sample returns the distinct step indices, ascending, that s uniform draws from [0, T) pick
// for proof p and beacon: the draws come from Philox4x32-10 keyed by the first 16 bytes of
// SHA-256("deai/pol/challenge/v1\x00" ‖ p.ID() ‖ beacon) (see the package documentation). The
// beacon must be fixed only after p's root is committed; an empty beacon is Fiat–Shamir over
// the proof's ID.
func Sample(p *Proof, beacon []byte, s int) []uint64 {
	t := p.Steps()
	if t == 0 || s < 1 {
		return nil
	}
	id := p.ID()
	d := sha256.Sum256(append(append([]byte(challengeDomain), id[:]...), beacon...))
	r := rng.New(binary.LittleEndian.Uint64(d[0:8]), binary.LittleEndian.Uint64(d[8:16]))
	out := make([]uint64, 0, s)
	for range s {
		out = append(out, uint64(r.Uint32n(uint32(t))))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SamplesFor returns the smallest number of uniform draws that catches a run with a fraction f
// of forged steps with probability at least p: the least s with 1 − (1 − f)^s ≥ p.
func SamplesFor(f, p float64) int {
	if f <= 0 || p <= 0 {
		return 0
	}
	if f >= 1 {
		return 1
	}
	s := 1
	for miss := 1 - f; 1-miss < p && s < MaxSteps; s++ {
		miss = float64(miss * (1 - f))
	}
	return s
}

// Verify verifies p for task and solver: structure first, then sampled replay. The steps to
// replay are Sample(p, beacon, Samples); o serves their openings. For each step i the opening's
// state must fit the program, hash to the committed state hash i, and its chain leaf must lie on
// the Merkle path to the root; the step is then replayed on the verifier's backend from that
// state with the batch the run seed fixes (samples of the task's dataset, whose root the
// binding names), and must give the committed state hash i+1 bit for bit (exact mode) or a state
// within the thresholds of the opened state i+1 (tolerance mode). Replay stops at the first
// failure. A rejected proof is a verdict, not an error; the error reports the verifier's own
// failures (a cancelled ctx, a failing backend, an unusable task).
func (v *Verifier) Verify(ctx context.Context, task Task, solver Address, p *Proof, beacon []byte, o Opener) (Verdict, error) {
	task = task.EnsureDefaults()
	if err := task.Validate(); err != nil {
		return Verdict{}, err
	}
	prog, err := task.Program()
	if err != nil {
		return Verdict{}, err
	}
	vd := v.structure(task, prog, solver, p)
	if !vd.Accepted {
		return vd, nil
	}
	steps := Sample(p, beacon, v.cfg.Samples)
	ord := newOrder(p.Binding.RunSeed(), task.Data.N, task.Batch)
	var dist Distances
	for n, i := range steps {
		r, d, err := v.replay(ctx, task, prog, p, o, ord, i)
		if err != nil {
			return Verdict{}, err
		}
		dist = dist.Max(d)
		if !r.Accepted {
			r.Sampled, r.Replayed, r.ReplayFLOPs, r.Distances = steps, n+1, int64(n+1)*prog.StepFLOPs(), dist
			return r, nil
		}
	}
	return Verdict{Accepted: true, Sampled: steps, Replayed: len(steps), ReplayFLOPs: int64(len(steps)) * prog.StepFLOPs(), Distances: dist}, nil
}

// replay checks one sampled step.
func (v *Verifier) replay(ctx context.Context, task Task, prog *graph.Program, p *Proof, o Opener, ord *order, i uint64) (Verdict, Distances, error) {
	var none Distances
	op, err := o.Open(ctx, i)
	if err != nil {
		if ctx.Err() != nil {
			return Verdict{}, none, ctx.Err()
		}
		return reject(ReasonUnserved, i, "the prover did not open step %d: %v", i, err), none, nil
	}
	if op == nil || op.Index != i || op.Pre == nil {
		return reject(ReasonOpening, i, "the opening is not for step %d or has no state", i), none, nil
	}
	if err := op.Pre.Check(prog); err != nil {
		return reject(ReasonOpening, i, "the opened state does not fit the program: %v", err), none, nil
	}
	if h := op.Pre.Hash(prog); h != p.States[i] {
		return reject(ReasonOpening, i, "the opened state hashes to %s, the proof commits %s", h, p.States[i]), none, nil
	}
	mp := merkle.Proof{Index: op.Path.Index, Size: op.Path.Size, Siblings: toMerkle(op.Path.Siblings)}
	if mp.Index != i || mp.Size != uint64(len(p.States)) {
		return reject(ReasonPath, i, "the path is for leaf %d of %d, want %d of %d", mp.Index, mp.Size, i, len(p.States)), none, nil
	}
	if err := merkle.Verify(merkle.Hash(p.Root), merkle.Hash(Leaf(i, p.States[i], op.Prev)), mp); err != nil {
		return reject(ReasonPath, i, "%v", err), none, nil
	}
	run, err := v.cfg.Backend.Open(ctx, accel.RunSpec{Program: prog, State: op.Pre, Data: task.Data})
	if err != nil {
		if errors.Is(err, accel.ErrInvalidArgument) {
			return reject(ReasonOpening, i, "the opened state cannot be loaded: %v", err), none, nil
		}
		return Verdict{}, none, fmt.Errorf("pol: verify: replaying step %d: %w", i, err)
	}
	defer run.Close()
	res, err := run.Train(ctx, [][]int32{ord.at(i)})
	if err != nil {
		return Verdict{}, none, fmt.Errorf("pol: verify: replaying step %d: %w", i, err)
	}
	if p.Binding.Mode == Exact {
		if res[0].Hash != p.States[i+1] {
			return reject(ReasonReplay, i, "replaying step %d gives state %s, the proof commits %s", i, res[0].Hash, p.States[i+1]), none, nil
		}
		return Verdict{Accepted: true}, none, nil
	}
	if op.Post == nil {
		return reject(ReasonOpening, i, "a tolerance-mode opening without the state after step %d", i), none, nil
	}
	if err := op.Post.Check(prog); err != nil {
		return reject(ReasonOpening, i, "the opened state after step %d does not fit the program: %v", i, err), none, nil
	}
	if h := op.Post.Hash(prog); h != p.States[i+1] {
		return reject(ReasonOpening, i, "the opened state after step %d hashes to %s, the proof commits %s", i, h, p.States[i+1]), none, nil
	}
	got, err := run.State(ctx)
	if err != nil {
		return Verdict{}, none, fmt.Errorf("pol: verify: %w", err)
	}
	if got.Step != op.Post.Step || got.RNG != op.Post.RNG {
		return reject(ReasonTolerance, i, "step counter or generator state after step %d differ", i), none, nil
	}
	d := Distance(got, op.Post)
	if !d.Within(*v.cfg.Thresholds) {
		return reject(ReasonTolerance, i, "distances %+v exceed the thresholds %+v", d, *v.cfg.Thresholds), d, nil
	}
	return Verdict{Accepted: true}, d, nil
}
