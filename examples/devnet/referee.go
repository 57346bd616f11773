package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/market"
	"github.com/deai-go/deai/pol"
)

// stepVM is the devnet's referee: a dispute.VM whose instruction and chunk levels have one
// transition each, so the bisection narrows the committed steps of a proof to one step and
// the referee replays that whole step on the bit-exact reference backend. It trusts nothing
// from the defender but the witness it checks: the task spec must hash to the spec the
// market recorded, the agreed leaf must lie in the proof root the market recorded at the
// disputed index, and the pre-state must hash into that leaf.
//
// Witness encoding: task id[32] ‖ u32 n ‖ spec (market.EncodeSpec) ‖ prev leaf[32] ‖
// u32 m ‖ m × sibling[32] ‖ checkpoint (pol.EncodeCheckpoint of the state before the step).
type stepVM struct {
	market *market.Machine
	data   map[[32]byte]*dataset.Set // datasets the referee holds, by commitment
	be     accel.Backend
}

var _ dispute.VM = (*stepVM)(nil)

func newStepVM(m *market.Machine, sets ...*dataset.Set) (*stepVM, error) {
	be, err := cpu.New(cpu.Config{})
	if err != nil {
		return nil, err
	}
	vm := &stepVM{market: m, data: map[[32]byte]*dataset.Set{}, be: be}
	for _, s := range sets {
		vm.data[s.Commitment()] = s
	}
	return vm, nil
}

// dataset returns the set with the given root: the devnet's own, or, for a block of an
// earlier run replayed on reopening, the embedded subset or the installed full set.
func (vm *stepVM) dataset(root [32]byte) *dataset.Set {
	if s := vm.data[root]; s != nil {
		return s
	}
	for _, src := range []string{dataset.EmbeddedSource, dataset.DefaultFashionMNISTDir} {
		if train, _, _, err := dataset.FashionMNIST(src); err == nil {
			vm.data[train.Commitment()] = train
		}
	}
	return vm.data[root]
}

func (*stepVM) Instrs() uint64 { return 1 }

func (*stepVM) Chunks(instr uint64) uint64 {
	if instr != 0 {
		return 0
	}
	return 1
}

func encodeWitness(task [32]byte, spec []byte, op *pol.Opening, state []byte) []byte {
	b := append([]byte(nil), task[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(spec)))
	b = append(b, spec...)
	b = append(b, op.Prev[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(op.Path.Siblings)))
	for _, s := range op.Path.Siblings {
		b = append(b, s[:]...)
	}
	return append(b, state...)
}

var errWitness = fmt.Errorf("%w: devnet witness", dispute.ErrBadProof)

// Check implements dispute.VM.
func (vm *stepVM) Check(p dispute.Path, pre dispute.Hash, w []byte) (dispute.Hash, int64, error) {
	take := func(n int) []byte {
		if n < 0 || len(w) < n {
			return nil
		}
		b := w[:n]
		w = w[n:]
		return b
	}
	id := take(32)
	nb := take(4)
	if id == nil || nb == nil {
		return dispute.Hash{}, 0, fmt.Errorf("%w: truncated", errWitness)
	}
	specBytes := take(int(binary.BigEndian.Uint32(nb)))
	prev := take(32)
	mb := take(4)
	if specBytes == nil || prev == nil || mb == nil || binary.BigEndian.Uint32(mb) > 64 {
		return dispute.Hash{}, 0, fmt.Errorf("%w: truncated", errWitness)
	}
	sib := make([]merkle.Hash, binary.BigEndian.Uint32(mb))
	for i := range sib {
		s := take(32)
		if s == nil {
			return dispute.Hash{}, 0, fmt.Errorf("%w: truncated path", errWitness)
		}
		sib[i] = merkle.Hash(s)
	}
	task, ok := vm.market.Task([32]byte(id))
	if !ok || task.Status < market.TaskProven {
		return dispute.Hash{}, 0, fmt.Errorf("%w: no proven task %x", errWitness, id[:4])
	}
	if sha256.Sum256(specBytes) != task.SpecHash {
		return dispute.Hash{}, 0, fmt.Errorf("%w: spec is not the task's", errWitness)
	}
	spec, err := market.DecodeSpec(specBytes)
	if err != nil {
		return dispute.Hash{}, 0, fmt.Errorf("%w: %w", errWitness, err)
	}
	if p.Step >= spec.Steps {
		return dispute.Hash{}, 0, fmt.Errorf("%w: step %d of %d", errWitness, p.Step, spec.Steps)
	}
	data := vm.dataset(spec.Dataset.Root)
	if data == nil {
		return dispute.Hash{}, 0, fmt.Errorf("%w: the referee does not hold dataset %x", errWitness, spec.Dataset.Root[:4])
	}
	prog, err := spec.Compile()
	if err != nil {
		return dispute.Hash{}, 0, fmt.Errorf("%w: %w", errWitness, err)
	}
	st, err := pol.DecodeCheckpoint(w, prog)
	if err != nil {
		return dispute.Hash{}, 0, fmt.Errorf("%w: %w", errWitness, err)
	}
	if dispute.Hash(pol.Leaf(p.Step, st.Hash(prog), pol.Hash(prev))) != pre {
		return dispute.Hash{}, 0, fmt.Errorf("%w: the state does not open the agreed leaf", errWitness)
	}
	mp := merkle.Proof{Index: p.Step, Size: spec.Steps + 1, Siblings: sib}
	if merkle.Verify(merkle.Hash(task.Proof), merkle.Hash(pre), mp) != nil {
		return dispute.Hash{}, 0, fmt.Errorf("%w: the agreed leaf is not step %d of the task's proof", errWitness, p.Step)
	}
	offer, _ := vm.market.Offer(task.Offer)
	seed := pol.Binding{Task: task.ID, Solver: pol.Address(offer.Solver), Seed: spec.Seed}.RunSeed()
	ctx := context.Background() // the chain calls Check synchronously; the step is bounded
	run, err := vm.be.Open(ctx, accel.RunSpec{Program: prog, State: st, Data: data})
	if err != nil {
		if errors.Is(err, accel.ErrInvalidArgument) {
			return dispute.Hash{}, 0, fmt.Errorf("%w: %w", errWitness, err)
		}
		return dispute.Hash{}, 0, err
	}
	defer run.Close()
	res, err := run.Train(ctx, [][]int32{dataset.BatchAt(seed, data.N, spec.Batch, p.Step)})
	if err != nil {
		return dispute.Hash{}, 0, err
	}
	return dispute.Hash(pol.Leaf(p.Step+1, res[0].Hash, pol.Hash(pre))), prog.StepFLOPs(), nil
}
