package main

import (
	"context"
	"fmt"
	"math"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/dispute/accelvm"
	"github.com/deai-go/deai/pol"
)

// forgedTrace is the cheating solver's side of a dispute: a dispute.TraceProvider over its
// forged proof. Its step level is the proof's committed state hashes, so the bisection
// finds the first step whose committed state no computation gives. For that step it
// replays the committed state before it (the forger's opener) and locates where the forged
// state after it first differs from what the step computes: the first program instruction
// that writes a state tensor the forgery changed, and in it the chunk of the first changed
// value (state tensors are written by the optimizer, whose chunks are ranges of
// accelvm.ElemChunk elements). It plays an accelvm trace with a Fault there (honest up to
// that chunk, wrong from it on) whose last leaf is the forged claim. A forged state has no
// computation that yields it, so past that chunk its leaves are the faulty trace's: they
// only have to differ from the truth, and they do from the first faulty chunk on.
//
// A step whose committed state the replay gives is played honestly. forgedTrace is not safe
// for concurrent use.
type forgedTrace struct {
	ctx    context.Context
	vm     *accelvm.VM
	prog   *graph.Program
	data   *dataset.Set
	seed   uint64
	states []accel.Hash
	opener pol.Opener
	be     accel.Backend

	at    *uint64 // the step tr plays, when set
	tr    *accelvm.Trace
	fault *accelvm.Fault
}

var _ dispute.TraceProvider = (*forgedTrace)(nil)

func newForgedTrace(ctx context.Context, vm *accelvm.VM, task pol.Task, proof *pol.Proof, opener pol.Opener) (*forgedTrace, error) {
	prog, err := task.Program()
	if err != nil {
		return nil, err
	}
	be, err := cpu.New(cpu.Config{})
	if err != nil {
		return nil, err
	}
	return &forgedTrace{ctx: ctx, vm: vm, prog: prog, data: task.Data, seed: proof.Binding.RunSeed(),
		states: proof.States, opener: opener, be: be}, nil
}

// Commit implements dispute.TraceProvider.
func (f *forgedTrace) Commit(p dispute.Position) (dispute.Commitment, error) {
	if p.Level == dispute.LevelStep {
		ls := make([]dispute.Hash, len(f.states))
		for i, h := range f.states {
			ls[i] = dispute.Hash(h)
		}
		return dispute.Materialized(ls)
	}
	tr, err := f.step(p.Step)
	if err != nil {
		return nil, err
	}
	c, err := tr.Commit(p)
	if err != nil || f.fault == nil {
		return c, err
	}
	// The instruction level, and the seal's chunks, end in the forged claim.
	last := p.Level == dispute.LevelInstr || p.Instr+1 == f.vm.Instrs()
	if !last {
		return c, nil
	}
	ls := make([]dispute.Hash, c.Len())
	for i := range ls {
		ls[i] = c.Leaf(uint64(i))
	}
	ls[len(ls)-1] = dispute.Hash(f.states[p.Step+1])
	return dispute.Materialized(ls)
}

// Witness implements dispute.TraceProvider: the witness of the faulty trace, which opens
// the agreed leaf (a forger can give no other that the referee accepts).
func (f *forgedTrace) Witness(path dispute.Path) ([]byte, error) {
	tr, err := f.step(path.Step)
	if err != nil {
		return nil, err
	}
	return tr.Witness(path)
}

// step returns the accelvm trace that plays step i, locating the forgery in it.
func (f *forgedTrace) step(i uint64) (*accelvm.Trace, error) {
	if f.at != nil && *f.at == i {
		return f.tr, nil
	}
	if i+1 >= uint64(len(f.states)) {
		return nil, fmt.Errorf("%w: step %d of %d", dispute.ErrBadTrace, i, len(f.states)-1)
	}
	o, err := f.opener.Open(f.ctx, i)
	if err != nil {
		return nil, fmt.Errorf("forged trace: step %d: %w", i, err)
	}
	computed, err := f.replay(o.Pre, i)
	if err != nil {
		return nil, err
	}
	var fault *accelvm.Fault
	if computed.Hash(f.prog) != f.states[i+1] {
		var forged *accel.State
		if i+2 < uint64(len(f.states)) {
			n, err := f.opener.Open(f.ctx, i+1)
			if err != nil {
				return nil, fmt.Errorf("forged trace: step %d: %w", i+1, err)
			}
			forged = n.Pre
		}
		instr, chunk := f.locate(computed, forged)
		fault = &accelvm.Fault{Step: i, Instr: instr, Chunk: chunk}
	}
	tr, err := accelvm.NewTrace(f.ctx, accelvm.TraceConfig{VM: f.vm, States: f.states, Opener: f.opener, Fault: fault})
	if err != nil {
		return nil, err
	}
	f.at, f.tr, f.fault = &i, tr, fault
	return tr, nil
}

// replay returns the state one honest step from pre gives.
func (f *forgedTrace) replay(pre *accel.State, i uint64) (*accel.State, error) {
	r, err := f.be.Open(f.ctx, accel.RunSpec{Program: f.prog, State: pre, Data: f.data})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if _, err := r.Train(f.ctx, [][]int32{dataset.BatchAt(f.seed, f.data.N, f.prog.Batch, i)}); err != nil {
		return nil, err
	}
	return r.State(f.ctx)
}

// locate returns the transition and chunk where the forged state after a step first
// differs from the computed one, in the order the step writes its state tensors. Without
// the forged state (the last step: the forger serves no state after it) it is the first
// write of a state tensor; when only the header differs, the last chunk of the last
// instruction.
func (f *forgedTrace) locate(computed, forged *accel.State) (instr, chunk uint64) {
	p := f.prog
	stateIdx := map[int]int{}
	for k, s := range p.State {
		stateIdx[s] = k
	}
	for i, in := range p.Instrs {
		tr := uint64(i) + 2 // accelvm: open, load, then the program's instructions
		first := -1
		for _, s := range in.Out {
			k, ok := stateIdx[s]
			if !ok {
				continue
			}
			if forged == nil {
				return tr, 0
			}
			a, b := computed.Tensors[k], forged.Tensors[k]
			for x := range a {
				if x >= len(b) || math.Float32bits(a[x]) != math.Float32bits(b[x]) {
					if first < 0 || x < first {
						first = x
					}
					break
				}
			}
		}
		if first >= 0 {
			return tr, min(uint64(first/accelvm.ElemChunk), f.vm.Chunks(tr)-1)
		}
	}
	last := uint64(len(p.Instrs)) + 1
	return last, f.vm.Chunks(last) - 1
}
