package cpu

import (
	"context"
	"fmt"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu/internal/kern"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/internal/f32"
)

// run is a program resident in the reference backend: one buffer per program slot.
type run struct {
	par    kern.Par
	prog   *graph.Program
	data   *dataset.Set
	bufs   [][]float32
	labels []int32
	step   uint64
	rng    [32]byte
	sc     scratch
	hashes []accel.Hash // per state slot, reused
	ops    []boundInstr // per instruction of prog, its operands bound to bufs
	closed bool
}

// boundInstr is an instruction with its operand slices resolved once at Open, so that running
// a step allocates nothing.
type boundInstr struct {
	ins, outs [][]float32 // the labels input, if any, is nil in ins
	labels    []int32     // the run's labels buffer if the instruction reads the labels
}

var (
	_ accel.Run       = (*run)(nil)
	_ accel.Evaluator = (*run)(nil)
)

// Open loads the program, its state and its dataset. The dataset is validated (shapes, label
// range, finite values); the state, when given, must fit the program.
func (b *Backend) Open(ctx context.Context, spec accel.RunSpec) (accel.Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.isClosed() {
		return nil, accel.ErrClosed
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("cpu: open: %w", err)
	}
	if err := spec.Data.Validate(); err != nil {
		return nil, fmt.Errorf("cpu: open: %w: %w", accel.ErrInvalidArgument, err)
	}
	st := spec.State
	if st == nil {
		st = accel.InitialState(spec.Program, spec.Seed)
	}
	p := spec.Program
	r := &run{par: b.par, prog: p, data: spec.Data, bufs: make([][]float32, len(p.Slots)),
		labels: make([]int32, p.Batch), step: st.Step, rng: st.RNG, hashes: make([]accel.Hash, len(p.State))}
	for i, s := range p.Slots {
		if s.Kind != graph.KindLabels {
			r.bufs[i] = make([]float32, s.Shape.Size())
		}
	}
	for i, slot := range p.State {
		copy(r.bufs[slot], st.Tensors[i])
	}
	for _, in := range p.Instrs {
		for _, s := range in.Out {
			if s == p.LabelSlot {
				return nil, fmt.Errorf("cpu: open: instruction %s writes the labels", in.Prim)
			}
		}
		if _, err := operandsOf(in.Prim, in.Dims, p.Slots[in.In[0]].Shape.Size()); err != nil {
			return nil, fmt.Errorf("cpu: open: %w", err)
		}
	}
	r.ops = make([]boundInstr, len(p.Instrs))
	for i, in := range p.Instrs {
		b := boundInstr{ins: make([][]float32, len(in.In)), outs: make([][]float32, len(in.Out))}
		for k, s := range in.In {
			if s == p.LabelSlot {
				b.labels = r.labels
				continue
			}
			b.ins[k] = r.bufs[s]
		}
		for k, s := range in.Out {
			b.outs[k] = r.bufs[s]
		}
		r.ops[i] = b
	}
	return r, nil
}

func (r *run) check(ctx context.Context) error {
	if r.closed {
		return accel.ErrClosed
	}
	return ctx.Err()
}

// load copies the batch's samples and labels into the input slots.
func (r *run) load(batch []int32) error { return r.loadFrom(r.data, batch) }

func (r *run) loadFrom(data *dataset.Set, batch []int32) error {
	p := r.prog
	if len(batch) != p.Batch {
		return fmt.Errorf("cpu: %w: batch of %d indices, the program's batch size is %d", accel.ErrInvalidArgument, len(batch), p.Batch)
	}
	in := r.bufs[p.InputSlot]
	per := len(in) / p.Batch
	for j, idx := range batch {
		if idx < 0 || int(idx) >= data.N {
			return fmt.Errorf("cpu: %w: sample index %d at batch position %d outside the dataset of %d", accel.ErrInvalidArgument, idx, j, data.N)
		}
		img, label := data.Sample(int(idx))
		copy(in[j*per:(j+1)*per], img)
		r.labels[j] = label
	}
	return nil
}

// exec runs instruction i of the program over the run's buffers.
func (r *run) exec(i int) {
	in, b := &r.prog.Instrs[i], &r.ops[i]
	execute(r.par, &r.sc, in.Prim, in.Dims, b.ins, b.labels, b.outs)
}

// stateHasher hashes the state tensors of a run in parallel, one tensor per index.
type stateHasher run

// Range hashes state tensors [lo, hi).
func (h *stateHasher) Range(lo, hi int) {
	p := h.prog
	for i := lo; i < hi; i++ {
		s := p.State[i]
		h.hashes[i] = accel.TensorHash(p.Slots[s].Shape, h.bufs[s])
	}
}

func (r *run) stateHash() accel.Hash {
	r.par.Run(len(r.prog.State), 1, (*stateHasher)(r))
	return accel.StateHash(r.step, r.rng, r.hashes)
}

// Train runs one step per batch. On error the run holds the state after the last completed
// step, which the results returned so far describe.
func (r *run) Train(ctx context.Context, batches [][]int32) ([]accel.StepResult, error) {
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	res := make([]accel.StepResult, 0, len(batches))
	for i, batch := range batches {
		if err := r.check(ctx); err != nil {
			return res, err
		}
		if err := r.load(batch); err != nil {
			return res, fmt.Errorf("cpu: train: step %d of the segment: %w", i, err)
		}
		for i := range r.prog.Instrs {
			r.exec(i)
		}
		r.step++
		res = append(res, accel.StepResult{Step: r.step, Hash: r.stateHash(), Loss: r.bufs[r.prog.LossSlot][0]})
	}
	return res, nil
}

// Trace computes one step instruction by instruction, hashing every output, and then restores
// the state it started from.
func (r *run) Trace(ctx context.Context, batch []int32) (*accel.Trace, error) {
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	if err := r.load(batch); err != nil {
		return nil, fmt.Errorf("cpu: trace: %w", err)
	}
	p := r.prog
	saved := make([][]float32, len(p.State))
	for i, s := range p.State {
		saved[i] = append([]float32(nil), r.bufs[s]...)
	}
	t := &accel.Trace{Step: r.step, Pre: r.stateHash(), Outputs: make([][]accel.Hash, len(p.Instrs))}
	for i, in := range p.Instrs {
		if err := ctx.Err(); err != nil {
			r.restore(saved)
			return nil, err
		}
		r.exec(i)
		hs := make([]accel.Hash, len(in.Out))
		for k, s := range in.Out {
			hs[k] = accel.TensorHash(p.Slots[s].Shape, r.bufs[s])
		}
		t.Outputs[i] = hs
	}
	t.Loss = r.bufs[p.LossSlot][0]
	r.step++
	t.Post = r.stateHash()
	r.step--
	r.restore(saved)
	return t, nil
}

func (r *run) restore(saved [][]float32) {
	for i, s := range r.prog.State {
		copy(r.bufs[s], saved[i])
	}
}

// State returns a copy of the current state.
func (r *run) State(ctx context.Context) (*accel.State, error) {
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	st := &accel.State{Step: r.step, RNG: r.rng, Tensors: make([][]float32, len(r.prog.State))}
	for i, s := range r.prog.State {
		st.Tensors[i] = append([]float32(nil), r.bufs[s]...)
	}
	return st, nil
}

// Close releases the run's buffers.
func (r *run) Close() error {
	if r.closed {
		return accel.ErrClosed
	}
	r.closed = true
	r.bufs, r.ops = nil, nil
	return nil
}

// Evaluate runs the forward pass over every sample of data in batches of the program's size
// (the last batch padded with sample 0, whose extra predictions are ignored) and counts the
// correct predictions. The training state is not touched.
func (r *run) Evaluate(ctx context.Context, data *dataset.Set) (accel.Eval, error) {
	if err := r.check(ctx); err != nil {
		return accel.Eval{}, err
	}
	p := r.prog
	if data == nil || data.Rows*data.Cols != p.Graph.InputShape().Size() || data.Classes != p.Graph.Classes() {
		return accel.Eval{}, fmt.Errorf("cpu: evaluate: %w: dataset does not fit the model", accel.ErrInvalidArgument)
	}
	if err := data.Validate(); err != nil {
		return accel.Eval{}, fmt.Errorf("cpu: evaluate: %w: %w", accel.ErrInvalidArgument, err)
	}
	var probs int
	for _, in := range p.Instrs {
		if in.Prim == graph.PrimSoftmaxXent {
			probs = in.Out[1]
		}
	}
	k := p.Graph.Classes()
	var ev accel.Eval
	batch := make([]int32, p.Batch)
	for start := 0; start < data.N; start += p.Batch {
		if err := ctx.Err(); err != nil {
			return accel.Eval{}, err
		}
		n := min(p.Batch, data.N-start)
		for j := range batch {
			batch[j] = 0
			if j < n {
				batch[j] = int32(start + j)
			}
		}
		if err := r.loadFrom(data, batch); err != nil {
			return accel.Eval{}, fmt.Errorf("cpu: evaluate: %w", err)
		}
		for i, in := range p.Instrs {
			if in.Phase == graph.PhaseForward {
				r.exec(i)
			}
		}
		pr := r.bufs[probs]
		for j := 0; j < n; j++ {
			row := pr[j*k : (j+1)*k]
			best := 0
			for c := 1; c < k; c++ {
				if row[c] > row[best] {
					best = c
				}
			}
			if int32(best) == r.labels[j] {
				ev.Correct++
			}
			if q := row[r.labels[j]]; q > 0 {
				ev.Loss -= float64(f32.Log(q))
			} else {
				ev.Loss += 104 // −log of the smallest float32 subnormal stands in for −log 0
			}
		}
		ev.Samples += n
	}
	ev.Loss /= float64(max(ev.Samples, 1))
	return ev, nil
}
