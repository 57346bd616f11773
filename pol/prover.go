package pol

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/internal/merkle"
)

// ProverConfig configures a Prover. Task, Proof and Store are required.
type ProverConfig struct {
	// Task is the task the proof is for (the prover needs its data and hyperparameters).
	Task Task
	// Proof is the prover's own proof.
	Proof *Proof
	// Store holds the proof's checkpoints.
	Store Store
	// Backend regenerates states from checkpoints. Default: the reference backend. A
	// tolerance-mode proof must be served with the backend that made it.
	Backend accel.Backend
}

// Prover serves openings of its own proof: for a sampled step it regenerates the state before
// the step from the nearest checkpoint at or before it (at most k−1 steps of training), and
// for a tolerance-mode proof the state after it. A Prover is not safe for concurrent use.
type Prover struct {
	task    Task
	prog    *graph.Program
	proof   *Proof
	store   Store
	backend accel.Backend
	leaves  []Hash
	tree    *merkle.Tree
	ord     *order
	ckpts   []uint64
	run     accel.Run // positioned at index pos, when non-nil
	pos     uint64
}

var _ Opener = (*Prover)(nil)

// NewProver returns a prover for cfg.Proof.
func NewProver(cfg ProverConfig) (*Prover, error) {
	task := cfg.Task.EnsureDefaults()
	if err := task.Validate(); err != nil {
		return nil, err
	}
	if cfg.Proof == nil || cfg.Store == nil {
		return nil, errors.New("pol: prover: a proof and a store are required")
	}
	prog, err := task.Program()
	if err != nil {
		return nil, err
	}
	be, err := defaultBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	leaves := Leaves(cfg.Proof.Binding, cfg.Proof.States)
	return &Prover{
		task: task, prog: prog, proof: cfg.Proof, store: cfg.Store, backend: be, leaves: leaves,
		tree:  merkle.New(toMerkle(leaves)),
		ord:   newOrder(cfg.Proof.Binding.RunSeed(), task.Data.N, task.Batch),
		ckpts: CheckpointIndices(cfg.Proof.Steps(), cfg.Proof.Binding.CheckpointEvery),
	}, nil
}

// Path returns the Merkle path of leaf i of the proof's step chain.
func (p *Prover) Path(i uint64) (Path, error) {
	mp, err := p.tree.Proof(int(min(i, 1<<62)))
	if err != nil {
		return Path{}, fmt.Errorf("pol: prover: %w", err)
	}
	out := Path{Index: mp.Index, Size: mp.Size, Siblings: make([]Hash, len(mp.Siblings))}
	for k, s := range mp.Siblings {
		out.Siblings[k] = Hash(s)
	}
	return out, nil
}

// Open serves the opening of step index (0 ≤ index < T). Requests in ascending order reuse
// the regenerated state.
func (p *Prover) Open(ctx context.Context, index uint64) (*Opening, error) {
	if index >= p.proof.Steps() {
		return nil, fmt.Errorf("pol: prover: step %d out of range [0, %d)", index, p.proof.Steps())
	}
	pre, err := p.stateAt(ctx, index)
	if err != nil {
		return nil, err
	}
	o := &Opening{Index: index, Pre: pre, Prev: p.proof.Binding.Hash()}
	if index > 0 {
		o.Prev = p.leaves[index-1]
	}
	if o.Path, err = p.Path(index); err != nil {
		return nil, err
	}
	if p.proof.Binding.Mode == Tolerance {
		if o.Post, err = p.stateAt(ctx, index+1); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// stateAt regenerates the state after i steps and checks it against the proof.
func (p *Prover) stateAt(ctx context.Context, i uint64) (*accel.State, error) {
	k := sort.Search(len(p.ckpts), func(j int) bool { return p.ckpts[j] > i }) - 1
	c := p.ckpts[k]
	if p.run == nil || p.pos < c || p.pos > i {
		p.Close()
		st, err := LoadCheckpoint(ctx, p.store, p.prog, p.proof.States[c])
		if err != nil {
			return nil, fmt.Errorf("pol: prover: checkpoint at step %d: %w", c, err)
		}
		if p.run, err = p.backend.Open(ctx, accel.RunSpec{Program: p.prog, State: st, Data: p.task.Data}); err != nil {
			return nil, fmt.Errorf("pol: prover: %w", err)
		}
		p.pos = c
	}
	if i > p.pos {
		batches := make([][]int32, 0, i-p.pos)
		for j := p.pos; j < i; j++ {
			batches = append(batches, p.ord.at(j))
		}
		if _, err := p.run.Train(ctx, batches); err != nil {
			p.Close()
			return nil, fmt.Errorf("pol: prover: regenerating step %d: %w", i, err)
		}
		p.pos = i
	}
	st, err := p.run.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("pol: prover: %w", err)
	}
	if h := st.Hash(p.prog); h != p.proof.States[i] {
		return nil, fmt.Errorf("pol: prover: regenerated state %d hashes to %s, the proof commits %s", i, h, p.proof.States[i])
	}
	return st, nil
}

// Close releases the prover's resident run, if any.
func (p *Prover) Close() error {
	if p.run == nil {
		return nil
	}
	err := p.run.Close()
	p.run = nil
	return err
}
