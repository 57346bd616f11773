package cpu

import (
	"context"
	"fmt"
	"runtime"

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
	tensor []accel.Hasher // per state slot, so that slots hash in parallel
	state  accel.Hasher
	ops    []boundInstr // per instruction of prog, its operands bound to bufs
	bg     *bgHasher    // background hashing of segments; nil until first needed
	closed bool
}

// bgHasher hashes copies of a run's state on its own goroutine, while the run computes the
// next steps. It holds no reference to the run, so that an unclosed run can be collected (a
// cleanup then ends the goroutine).
type bgHasher struct {
	req     chan bgReq
	out     chan accel.Hash
	shadow  [][]float32 // the state tensors as the last request left them
	shapes  [][]int
	tensor  []accel.Hasher
	hashes  []accel.Hash
	state   accel.Hasher
	cleanup runtime.Cleanup
}

// bgReq asks for the hash of the shadow state at a step.
type bgReq struct {
	step uint64
	rng  [32]byte
}

func (b *bgHasher) loop() {
	for q := range b.req {
		for i, t := range b.shadow {
			b.hashes[i] = b.tensor[i].Tensor(b.shapes[i], t)
		}
		b.out <- b.state.State(q.step, q.rng, b.hashes)
	}
}

// shadowCopy copies the run's state tensors into its background hasher's shadow, one tensor
// per index.
type shadowCopy run

// Range copies state tensors [lo, hi).
func (c *shadowCopy) Range(lo, hi int) {
	for i := lo; i < hi; i++ {
		copy(c.bg.shadow[i], c.bufs[c.prog.State[i]])
	}
}

// startBG starts the run's background hasher.
func (r *run) startBG() {
	p := r.prog
	b := &bgHasher{req: make(chan bgReq, 1), out: make(chan accel.Hash, 1), shadow: make([][]float32, len(p.State)),
		shapes: make([][]int, len(p.State)), tensor: make([]accel.Hasher, len(p.State)), hashes: make([]accel.Hash, len(p.State))}
	for i, s := range p.State {
		b.shadow[i] = make([]float32, len(r.bufs[s]))
		b.shapes[i] = p.Slots[s].Shape
	}
	go b.loop()
	b.cleanup = runtime.AddCleanup(r, func(req chan bgReq) { close(req) }, b.req)
	r.bg = b
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
		tensor: make([]accel.Hasher, len(p.State))}
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
		h.hashes[i] = h.tensor[i].Tensor(p.Slots[s].Shape, h.bufs[s])
	}
}

func (r *run) stateHash() accel.Hash {
	r.par.Run(len(r.prog.State), 1, (*stateHasher)(r))
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
//
// With more than one worker and more than one batch, the state after each step but the last
// is copied (in parallel) and the copy hashed on a background goroutine while the next step
// runs: the hashing, one sequential SHA-256 stream per tensor, shares the processors with the
// step instead of taking turns with it. The copy doubles the state's memory.
func (r *run) TrainAppend(ctx context.Context, dst []accel.StepResult, batches [][]int32) ([]accel.StepResult, error) {
	if err := r.check(ctx); err != nil {
		return dst, err
	}
	bg := r.par.Workers > 1 && len(batches) > 1
	if bg && r.bg == nil {
		r.startBG()
	}
	pending := false // whether the last result's hash is being computed in the background
	defer func() {
		if pending { // the loop stopped early: collect the last completed step's hash
			dst[len(dst)-1].Hash = <-r.bg.out
		}
	}()
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
		if pending {
			dst[len(dst)-1].Hash = <-r.bg.out
			pending = false
		}
		dst = append(dst, accel.StepResult{Step: r.step, Loss: r.bufs[r.prog.LossSlot][0]})
		if bg && i < len(batches)-1 {
			r.par.Run(len(r.prog.State), 1, (*shadowCopy)(r))
			r.bg.req <- bgReq{step: r.step, rng: r.rng}
			pending = true
		} else {
			dst[len(dst)-1].Hash = r.stateHash()
		}
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
	if r.bg != nil {
		r.bg.cleanup.Stop()
		close(r.bg.req)
		r.bg = nil
	}
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
