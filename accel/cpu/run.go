package cpu

import (
	"context"
	"fmt"
	"sort"
	"sync"

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
	hashes []accel.Hash   // per state slot, reused
	leaves [][]accel.Hash // per state slot, the Merkle leaves of its blocks
	first  []int          // per state slot, the index of its first block among all blocks
	blocks int            // the blocks of all state slots
	state  accel.Hasher
	free   hasherList
	ops    []boundInstr // per instruction of prog, its operands bound to bufs
	closed bool
}

// hasherList keeps the Hashers of a run's parallel block hashing for reuse.
type hasherList struct {
	sync.Mutex
	list []*accel.Hasher
}

func (l *hasherList) get() *accel.Hasher {
	l.Lock()
	defer l.Unlock()
	if n := len(l.list); n > 0 {
		h := l.list[n-1]
		l.list = l.list[:n-1]
		return h
	}
	return new(accel.Hasher)
}

func (l *hasherList) put(h *accel.Hasher) {
	l.Lock()
	l.list = append(l.list, h)
	l.Unlock()
}

// boundInstr is an instruction with its operand slices resolved once at Open, so that running
// a step allocates nothing.
type boundInstr struct {
	ins, outs [][]float32 // the labels input, if any, is nil in ins
	labels    []int32     // the run's labels buffer if the instruction reads the labels
}

var (
	_ accel.Run           = (*run)(nil)
	_ accel.Evaluator     = (*run)(nil)
	_ accel.AppendTrainer = (*run)(nil)
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
		labels: make([]int32, p.Batch), step: st.Step, rng: st.RNG, hashes: make([]accel.Hash, len(p.State)),
		leaves: make([][]accel.Hash, len(p.State)), first: make([]int, len(p.State))}
	for i, slot := range p.State {
		r.first[i] = r.blocks
		n := accel.TensorBlocks(p.Slots[slot].Shape.Size())
		r.leaves[i] = make([]accel.Hash, n)
		r.blocks += n
	}
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

// stateHasher hashes the blocks of the run's state tensors in parallel: index u is block
// u − first[i] of state tensor i.
type stateHasher run

// Range hashes blocks [lo, hi) of all state tensors.
func (h *stateHasher) Range(lo, hi int) {
	x := h.free.get()
	p := h.prog
	i := sort.Search(len(h.first), func(i int) bool { return h.first[i] > lo }) - 1
	for u := lo; u < hi; u++ {
		for u >= h.first[i]+len(h.leaves[i]) {
			i++
		}
		data, b := h.bufs[p.State[i]], u-h.first[i]
		h.leaves[i][b] = x.Leaf(data[min(len(data), b*accel.TensorBlock):min(len(data), (b+1)*accel.TensorBlock)])
	}
	h.free.put(x)
}

// stateHash returns the state hash, hashing the blocks of every state tensor in parallel.
func (r *run) stateHash() accel.Hash {
	r.par.Run(r.blocks, 1, (*stateHasher)(r))
	p := r.prog
	for i, slot := range p.State {
		r.hashes[i] = r.state.Root(p.Slots[slot].Shape, len(r.bufs[slot]), r.leaves[i])
	}
	return r.state.State(r.step, r.rng, r.hashes)
}

// Train runs one step per batch. On error the run holds the state after the last completed
// step, which the results returned so far describe.
func (r *run) Train(ctx context.Context, batches [][]int32) ([]accel.StepResult, error) {
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	return r.TrainAppend(ctx, make([]accel.StepResult, 0, len(batches)), batches)
}

// TrainAppend is Train appending to dst (accel.AppendTrainer): with room in dst, a training
// call allocates nothing.
func (r *run) TrainAppend(ctx context.Context, dst []accel.StepResult, batches [][]int32) ([]accel.StepResult, error) {
	if err := r.check(ctx); err != nil {
		return dst, err
	}
	for i, batch := range batches {
		if err := r.check(ctx); err != nil {
			return dst, err
		}
		if err := r.load(batch); err != nil {
			return dst, fmt.Errorf("cpu: train: step %d of the segment: %w", i, err)
		}
		for k := range r.prog.Instrs {
			r.exec(k)
		}
		r.step++
		dst = append(dst, accel.StepResult{Step: r.step, Hash: r.stateHash(), Loss: r.bufs[r.prog.LossSlot][0]})
	}
	return dst, nil
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
			hs[k] = r.state.Tensor(p.Slots[s].Shape, r.bufs[s])
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
