package accelvm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/pol"
)

// TraceConfig configures a Trace. Every field but Fault is required.
type TraceConfig struct {
	// VM is the referee the trace plays against.
	VM *VM
	// States are the run's committed state hashes h_0 … h_T (pol.Proof.States).
	States []accel.Hash
	// Opener serves the state before a step (a *pol.Prover regenerates it from the nearest
	// checkpoint).
	Opener pol.Opener
	// Fault, when set, makes the trace a consistent liar (for tests and simulations).
	Fault *Fault
}

// Fault is a deliberate error: chunk Chunk of transition Instr of step Step writes the first
// value of its last output plus one (SoftmaxXent: a probability, not the loss), and everything after is computed from it. The lying trace's step leaves
// after Step+1 are arbitrary but fixed. A fault that does not reach the state after the step
// (the loss, a gradient masked by ReLU) leaves the trace honest.
type Fault struct {
	Step, Instr, Chunk uint64
}

// Trace is one party's trace of a training run: it implements dispute.TraceProvider by
// regenerating the disputed step (through its Opener) and recomputing it chunk by chunk on
// the VM's backend. It keeps the last step it regenerated. It is not safe for concurrent use.
type Trace struct {
	cfg  TraceConfig
	vm   *VM
	ctx  context.Context
	last *stepRun
	// leaves caches the chunk-level leaves of the last transition committed.
	leaves   []Hash
	leavesAt [2]uint64
}

var _ dispute.TraceProvider = (*Trace)(nil)

// NewTrace returns a trace for cfg. ctx bounds the regeneration and recomputation that the
// trace's methods do later (dispute.TraceProvider's methods take no context); cancel it to
// stop them.
func NewTrace(ctx context.Context, cfg TraceConfig) (*Trace, error) {
	var errs []error
	if cfg.VM == nil {
		errs = append(errs, errors.New("accelvm: trace: no VM"))
	}
	if len(cfg.States) < 2 {
		errs = append(errs, fmt.Errorf("accelvm: trace: %d state hashes, want at least 2", len(cfg.States)))
	}
	if cfg.Opener == nil {
		errs = append(errs, errors.New("accelvm: trace: no opener"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Trace{cfg: cfg, vm: cfg.VM, ctx: ctx}, nil
}

// stepRun is one regenerated step: the values of every slot after the step, the state
// before it, and the environment leaves at the start of every transition.
type stepRun struct {
	t     uint64
	pre   *accel.State
	vals  [][]float32 // after the step
	envAt [][]Hash    // per transition ≥ 1: the environment's leaves at its start
	il    []Hash      // instruction-level leaves
}

func (t *Trace) step(i uint64) (*stepRun, error) {
	if t.last != nil && t.last.t == i {
		return t.last, nil
	}
	if i+1 >= uint64(len(t.cfg.States)) {
		return nil, fmt.Errorf("%w: step %d of %d", dispute.ErrBadTrace, i, len(t.cfg.States)-1)
	}
	o, err := t.cfg.Opener.Open(t.ctx, i)
	if err != nil {
		return nil, fmt.Errorf("accelvm: trace: step %d: %w", i, err)
	}
	sr, err := t.replay(i, o.Pre)
	if err != nil {
		return nil, err
	}
	t.last = sr
	return sr, nil
}

// valsAt returns slot s's values at the start of transition tr.
func (t *Trace) valsAt(sr *stepRun, tr uint64, s int) []float32 {
	if ip := t.vm.inPlace[s]; ip >= 0 && uint64(ip) >= tr {
		for k, st := range t.vm.p.State {
			if st == s {
				return sr.pre.Tensors[k]
			}
		}
	}
	return sr.vals[s]
}

func (t *Trace) replay(i uint64, pre *accel.State) (*stepRun, error) {
	vm, p := t.vm, t.vm.p
	if err := pre.Check(p); err != nil {
		return nil, fmt.Errorf("accelvm: trace: %w", err)
	}
	G := vm.Instrs()
	sr := &stepRun{t: i, pre: pre, vals: make([][]float32, len(p.Slots)), envAt: make([][]Hash, G), il: make([]Hash, G+1)}
	env := make([]Hash, vm.envSize())
	env[0] = headerLeaf(pre.Step, pre.RNG)
	for s := range p.Slots {
		env[1+s] = EmptySlot
	}
	for k, s := range p.State {
		sr.vals[s] = slices.Clone(pre.Tensors[k])
		env[1+s] = TensorRoot(pre.Tensors[k])
	}
	sr.il[0] = Hash(pre.Hash(p))
	for tr := uint64(1); tr < vm.seal(); tr++ {
		sr.envAt[tr] = slices.Clone(env)
		sr.il[tr] = EnvLeaf(merkle.Root(env))
		var outs [][]float32
		var err error
		if f := t.cfg.Fault; tr == trLoad || f != nil && f.Step == i && f.Instr == tr {
			outs, err = t.simulate(sr, tr, nil)
		} else {
			outs, err = t.whole(sr, tr)
		}
		if err != nil {
			return nil, err
		}
		for k, s := range vm.outs(tr) {
			sr.vals[s] = outs[k]
			env[1+s] = TensorRoot(outs[k])
		}
	}
	sr.envAt[vm.seal()] = slices.Clone(env)
	sr.il[vm.seal()] = EnvLeaf(merkle.Root(env))
	hs := make([]Hash, len(p.State))
	for k, s := range p.State {
		hs[k] = tensorHash(p.Slots[s].Shape, sr.vals[s])
	}
	sr.il[G] = stateHash(pre.Step+1, pre.RNG, hs)
	return sr, nil
}

// whole runs program transition tr as one Exec call: what simulate computes chunk by chunk,
// bit for bit (TestChunksBitExact), at the speed of the whole kernels.
func (t *Trace) whole(sr *stepRun, tr uint64) ([][]float32, error) {
	p := t.vm.p
	in := p.Instrs[tr-2]
	call := accel.Call{Prim: in.Prim, Dims: in.Dims}
	for _, s := range in.In {
		v := t.valsAt(sr, tr, s)
		tt := accel.Tensor{Shape: slices.Clone(p.Slots[s].Shape), Data: v}
		if s == p.LabelSlot {
			tt.Data, tt.Labels = nil, labelsOf(v)
		}
		call.Inputs = append(call.Inputs, tt)
	}
	out, err := t.vm.b.Exec(t.ctx, call)
	if err != nil {
		return nil, fmt.Errorf("accelvm: trace: %s: %w", in.Prim, err)
	}
	if len(out) != len(in.Out) {
		return nil, fmt.Errorf("accelvm: trace: %s returned %d outputs, want %d", in.Prim, len(out), len(in.Out))
	}
	outs := make([][]float32, len(out))
	for k, o := range out {
		if len(o.Data) != p.Slots[in.Out[k]].Shape.Size() {
			return nil, fmt.Errorf("accelvm: trace: %s output %d holds %d values", in.Prim, k, len(o.Data))
		}
		outs[k] = o.Data
	}
	return outs, nil
}

// errStop ends a simulation early.
var errStop = errors.New("accelvm: stop")

// recorder collects the segments a chunk reads.
type recorder struct {
	in  map[int]map[int]bool
	old []map[int]bool
}

// simulate runs transition tr (load or a program instruction) chunk by chunk and returns its
// outputs. hook, when set, sees every chunk's writes before they are applied, with the
// outputs' partial values; rec, when set for a chunk, records its reads.
//
// A faulty trace's writes carry its fault; clean are the same writes without it, which is
// what the referee recomputes and what a witness must prove against.
func (t *Trace) simulate(sr *stepRun, tr uint64, hook func(e int, ws, clean []write, partial [][]float32) (*recorder, error)) ([][]float32, error) {
	vm, p := t.vm, t.vm.p
	outs := vm.outs(tr)
	partial := make([][]float32, len(outs))
	for k, s := range outs {
		if vm.inPlace[s] == int(tr) {
			partial[k] = slices.Clone(t.valsAt(sr, tr, s))
		} else {
			partial[k] = make([]float32, p.Slots[s].Shape.Size())
		}
	}
	var rec *recorder
	rw := io{
		in: func(s int, idx []int) ([]float32, error) {
			v := t.valsAt(sr, tr, s)
			out := make([]float32, len(idx))
			for i, x := range idx {
				out[i] = v[x]
				if rec != nil {
					if rec.in[s] == nil {
						rec.in[s] = map[int]bool{}
					}
					rec.in[s][x/SegLen] = true
				}
			}
			return out, nil
		},
		old: func(k int, idx []int) ([]float32, error) {
			out := make([]float32, len(idx))
			for i, x := range idx {
				out[i] = partial[k][x]
				if rec != nil {
					rec.old[k][x/SegLen] = true
				}
			}
			return out, nil
		},
	}
	E := int(vm.Chunks(tr))
	for e := range E {
		if err := t.ctx.Err(); err != nil {
			return nil, err
		}
		var ws []write
		if tr == trLoad {
			w, err := t.sample(sr.t, uint64(e))
			if err != nil {
				return nil, err
			}
			if ws, err = vm.sampleWrites(sr.t, uint64(e), w); err != nil {
				return nil, err
			}
		} else {
			in := p.Instrs[tr-2]
			var err error
			if ws, err = compute(t.ctx, vm.b, p, in, chunkAt(p, in, e), rw); err != nil {
				return nil, err
			}
		}
		clean := ws
		if f := t.cfg.Fault; f != nil && f.Step == sr.t && f.Instr == tr && f.Chunk == uint64(e) {
			clean = slices.Clone(ws)
			last := len(ws) - 1
			ws[last].vals = slices.Clone(ws[last].vals)
			ws[last].vals[0]++
		}
		if hook != nil {
			r, err := hook(e, ws, clean, partial)
			if err != nil {
				return nil, err
			}
			rec = r
		}
		for k := range ws {
			for i, x := range ws[k].idx {
				partial[k][x] = ws[k].vals[i]
			}
		}
	}
	return partial, nil
}

// sample returns a witness holding sample e of step i's batch.
func (t *Trace) sample(i, e uint64) (*Witness, error) {
	vm := t.vm
	idx := int(datasetBatch(vm, i)[e])
	img, label := vm.data.Sample(idx)
	pr, err := vm.data.SampleProof(idx)
	if err != nil {
		return nil, fmt.Errorf("accelvm: trace: %w", err)
	}
	return &Witness{Values: slices.Clone(img), Label: label, SampleProof: pr}, nil
}

// Commit implements dispute.TraceProvider.
func (t *Trace) Commit(p dispute.Position) (dispute.Commitment, error) {
	switch p.Level {
	case dispute.LevelStep:
		return t.commitSteps()
	case dispute.LevelInstr:
		sr, err := t.step(p.Step)
		if err != nil {
			return nil, err
		}
		return dispute.Materialized(sr.il)
	case dispute.LevelChunk:
		leaves, err := t.chunkLeaves(p.Step, p.Instr)
		if err != nil {
			return nil, err
		}
		return dispute.Materialized(leaves)
	}
	return nil, fmt.Errorf("%w: level %v", dispute.ErrBadTrace, p.Level)
}

func (t *Trace) commitSteps() (dispute.Commitment, error) {
	ls := make([]Hash, len(t.cfg.States))
	for i, h := range t.cfg.States {
		ls[i] = Hash(h)
	}
	if f := t.cfg.Fault; f != nil && f.Step+1 < uint64(len(ls)) {
		sr, err := t.step(f.Step)
		if err != nil {
			return nil, err
		}
		if ls[f.Step+1] == sr.il[len(sr.il)-1] {
			return dispute.Materialized(ls) // the fault did not reach the state: no lie
		}
		ls[f.Step+1] = sr.il[len(sr.il)-1]
		for s := f.Step + 2; s < uint64(len(ls)); s++ {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], s)
			ls[s] = sha256.Sum256(append(append([]byte("deai/accelvm/lie\x00"), b[:]...), ls[f.Step+1][:]...))
		}
	}
	return dispute.Materialized(ls)
}

// stateChunk is one chunk of "open" or "seal" as a trace plays it: its tensor j and block b
// (j = len(Program.State) for seal's last chunk), the partial results and carry before it,
// and the tensor's values (open: before the step; seal: after it).
type stateChunk struct {
	j, b  int
	parts []Hash
	carry *Carry
	vals  []float32
}

// walkState visits the chunks of an "open" (or, with seal set, a "seal") in order: fn gets
// the chunk's index and what it reads. It stops when fn returns true.
func (t *Trace) walkState(sr *stepRun, seal bool, fn func(idx int, c stateChunk) bool) {
	p := t.vm.p
	var parts []Hash
	for j, s := range p.State {
		vals := sr.vals[s]
		if !seal {
			vals = sr.pre.Tensors[j]
		}
		var c Carry
		for b := range blocks(len(vals)) {
			sc := stateChunk{j: j, b: b, parts: parts, vals: blockOf(vals, b)}
			if b > 0 {
				cc := c
				sc.carry = &cc
				sc.parts = append(slices.Clone(parts), c.hash())
			}
			if fn(t.vm.blockAt[j]+b, sc) {
				return
			}
			if seal {
				c = c.push(blockLeaf(sc.vals))
			} else {
				c = c.push(blockRoot(sc.vals))
			}
		}
		if seal {
			parts = append(parts, tensorHashOf(p.Slots[s].Shape, len(vals), c.root()))
		} else {
			parts = append(parts, c.root())
		}
	}
	if seal {
		fn(t.vm.blockAt[len(p.State)], stateChunk{j: len(p.State), parts: parts})
	}
}

func (t *Trace) chunkLeaves(step, tr uint64) ([]Hash, error) {
	if t.leaves != nil && t.leavesAt == [2]uint64{step, tr} {
		return t.leaves, nil
	}
	leaves, err := t.computeLeaves(step, tr)
	if err != nil {
		return nil, err
	}
	t.leaves, t.leavesAt = leaves, [2]uint64{step, tr}
	return leaves, nil
}

func (t *Trace) computeLeaves(step, tr uint64) ([]Hash, error) {
	sr, err := t.step(step)
	if err != nil {
		return nil, err
	}
	vm := t.vm
	E := int(vm.Chunks(tr))
	if E == 0 {
		return nil, fmt.Errorf("%w: transition %d", dispute.ErrBadTrace, tr)
	}
	leaves := make([]Hash, E+1)
	leaves[0], leaves[E] = sr.il[tr], sr.il[tr+1]
	switch tr {
	case trOpen, vm.seal():
		env := sr.il[0] // open's leaves commit h_t
		if tr == vm.seal() {
			env = merkle.Root(sr.envAt[tr])
		}
		t.walkState(sr, tr == vm.seal(), func(idx int, c stateChunk) bool {
			if idx > 0 && idx < E {
				leaves[idx] = MidLeaf(tr, uint64(idx), env, c.parts)
			}
			return false
		})
		return leaves, nil
	}
	env := merkle.Root(sr.envAt[tr])
	var trees []*tree
	_, err = t.simulate(sr, tr, func(e int, ws, _ []write, partial [][]float32) (*recorder, error) {
		if trees == nil {
			for _, v := range partial {
				trees = append(trees, newTree(segLeaves(v)))
			}
		}
		roots := make([]Hash, len(trees))
		for k, w := range ws {
			applySegs(trees[k], partial[k], w)
			roots[k] = trees[k].root()
		}
		if e+1 < E {
			leaves[e+1] = MidLeaf(tr, uint64(e+1), env, roots)
		}
		return nil, nil
	})
	return leaves, err
}

// applySegs sets the tree leaves of the segments write w touches to their new values, reading
// the others from partial (not modified).
func applySegs(tr *tree, partial []float32, w write) {
	byseg := map[int][]float32{}
	for i, x := range w.idx {
		sg := x / SegLen
		v, ok := byseg[sg]
		if !ok {
			v = slices.Clone(partial[sg*SegLen : min(len(partial), (sg+1)*SegLen)])
			byseg[sg] = v
		}
		v[x%SegLen] = w.vals[i]
	}
	segs := touchedSegs(w.idx)
	leaves := make([]Hash, len(segs))
	for i, sg := range segs {
		leaves[i] = segLeaf(byseg[sg])
	}
	tr.setMany(segs, leaves)
}

// Witness implements dispute.TraceProvider.
func (t *Trace) Witness(path dispute.Path) ([]byte, error) {
	w, err := t.witness(path)
	if err != nil {
		return nil, err
	}
	return w.Encode()
}

func (t *Trace) witness(path dispute.Path) (*Witness, error) {
	sr, err := t.step(path.Step)
	if err != nil {
		return nil, err
	}
	vm := t.vm
	tr, e := path.Instr, int(path.Chunk)
	E := int(vm.Chunks(tr))
	if e >= E {
		return nil, fmt.Errorf("%w: chunk %d of %d", dispute.ErrBadTrace, e, E)
	}
	switch tr {
	case trOpen, vm.seal():
		return t.stateWitness(sr, tr, e)
	}
	env := newTree(sr.envAt[tr])
	w := &Witness{Env: env.root()}
	outs := vm.outs(tr)
	rec := &recorder{in: map[int]map[int]bool{}, old: make([]map[int]bool, len(outs))}
	for k := range outs {
		rec.old[k] = map[int]bool{}
	}
	_, err = t.simulate(sr, tr, func(c int, _, ws []write, partial [][]float32) (*recorder, error) {
		if c+1 == e {
			return rec, nil // record the next chunk's reads
		}
		if c != e {
			return nil, nil
		}
		if e == 0 {
			// chunk 0's reads were not recorded by a previous call: run them again.
			if err := t.recordChunk(sr, tr, rec, partial); err != nil {
				return nil, err
			}
		}
		if e > 0 {
			for _, v := range partial {
				w.Parts = append(w.Parts, TensorRoot(v))
			}
		}
		if tr == trLoad {
			sw, err := t.sample(sr.t, uint64(e))
			if err != nil {
				return nil, err
			}
			w.Values, w.Label, w.SampleProof = sw.Values, sw.Label, sw.SampleProof
		}
		need := map[int]bool{}
		for s := range rec.in {
			need[s] = true
		}
		if e == 0 {
			for _, s := range outs {
				if vm.inPlace[s] == int(tr) {
					need[s] = true
				}
			}
		}
		slots := make([]int, 0, len(need))
		for s := range need {
			slots = append(slots, s)
		}
		slices.Sort(slots)
		for _, s := range slots {
			v := t.valsAt(sr, tr, s)
			tt := newTree(segLeaves(v))
			r := Read{Slot: s, Root: tt.root(), EnvProof: env.proof(1 + s)}
			idx := make([]int, 0, len(rec.in[s]))
			for sg := range rec.in[s] {
				idx = append(idx, sg)
			}
			slices.Sort(idx)
			for _, sg := range idx {
				r.Segs = append(r.Segs, Seg{Index: sg, Vals: slices.Clone(v[sg*SegLen : min(len(v), (sg+1)*SegLen)]), Proof: tt.proof(sg)})
			}
			w.Reads = append(w.Reads, r)
		}
		w.Writes = make([][]Seg, len(outs))
		finals := make([]Hash, len(outs))
		for k := range outs {
			tt := newTree(segLeaves(partial[k]))
			for _, sg := range touchedSegs(ws[k].idx) {
				w.Writes[k] = append(w.Writes[k], Seg{Index: sg, Vals: slices.Clone(partial[k][sg*SegLen : min(len(partial[k]), (sg+1)*SegLen)]), Proof: tt.proof(sg)})
				applySegs(tt, partial[k], write{idx: segIdx(ws[k], sg), vals: segVals(ws[k], sg)})
			}
			finals[k] = tt.root()
		}
		if e+1 == E {
			for k, s := range outs {
				w.EnvOld = append(w.EnvOld, sr.envAt[tr][1+s])
				w.EnvProofs = append(w.EnvProofs, env.proof(1+s))
				env.set(1+s, finals[k])
			}
		}
		return nil, errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return w, nil
}

// stateWitness returns the witness of chunk e of "open" or "seal".
func (t *Trace) stateWitness(sr *stepRun, tr uint64, e int) (*Witness, error) {
	vm, p := t.vm, t.vm.p
	var w *Witness
	var env *tree
	if tr == vm.seal() {
		env = newTree(sr.envAt[tr])
	}
	var err error
	t.walkState(sr, tr == vm.seal(), func(idx int, c stateChunk) bool {
		if idx != e {
			return false
		}
		w = &Witness{Parts: slices.Clone(c.parts), Carry: c.carry, Values: slices.Clone(c.vals)}
		if env == nil {
			// open: the preimages of h_t and of tensor j's hash, and the block's leaf.
			w.Step, w.RNG = sr.pre.Step, sr.pre.RNG
			for k, s := range p.State {
				w.Hashes = append(w.Hashes, tensorHash(p.Slots[s].Shape, sr.pre.Tensors[k]))
			}
			vals := sr.pre.Tensors[c.j]
			leaves := make([]Hash, blocks(len(vals)))
			for b := range leaves {
				leaves[b] = blockLeaf(blockOf(vals, b))
			}
			bt := newTree(leaves)
			w.BlockRoot, w.Block = bt.root(), bt.proof(c.b)
			return true
		}
		w.Env = env.root()
		if c.j == len(p.State) {
			w.Step, w.RNG, w.HeaderProof = sr.pre.Step, sr.pre.RNG, env.proof(0)
			return true
		}
		// seal: the slot's root in the environment and the block's root under it.
		s := p.State[c.j]
		vals := sr.vals[s]
		roots := make([]Hash, blocks(len(vals)))
		for b := range roots {
			roots[b] = blockRoot(blockOf(vals, b))
		}
		bt := newTree(roots)
		if bt.root() != sr.envAt[tr][1+s] {
			err = fmt.Errorf("accelvm: trace: block roots of slot %d do not give its root", s)
		}
		w.Reads = []Read{{Slot: s, Root: sr.envAt[tr][1+s], EnvProof: env.proof(1 + s)}}
		w.Block = bt.proof(c.b)
		return true
	})
	if err != nil {
		return nil, err
	}
	if w == nil {
		return nil, fmt.Errorf("%w: chunk %d of %d", dispute.ErrBadTrace, e, vm.Chunks(tr))
	}
	return w, nil
}

// recordChunk records the reads of chunk 0 of transition tr.
func (t *Trace) recordChunk(sr *stepRun, tr uint64, rec *recorder, partial [][]float32) error {
	if tr == trLoad {
		return nil
	}
	p := t.vm.p
	in := p.Instrs[tr-2]
	rw := io{
		in: func(s int, idx []int) ([]float32, error) {
			v := t.valsAt(sr, tr, s)
			out := make([]float32, len(idx))
			for i, x := range idx {
				out[i] = v[x]
				if rec.in[s] == nil {
					rec.in[s] = map[int]bool{}
				}
				rec.in[s][x/SegLen] = true
			}
			return out, nil
		},
		old: func(k int, idx []int) ([]float32, error) {
			out := make([]float32, len(idx))
			for i, x := range idx {
				out[i] = partial[k][x]
			}
			return out, nil
		},
	}
	_, err := compute(t.ctx, t.vm.b, p, in, chunkAt(p, in, 0), rw)
	return err
}

func segIdx(w write, sg int) []int {
	var out []int
	for _, x := range w.idx {
		if x/SegLen == sg {
			out = append(out, x)
		}
	}
	return out
}

func segVals(w write, sg int) []float32 {
	var out []float32
	for i, x := range w.idx {
		if x/SegLen == sg {
			out = append(out, w.vals[i])
		}
	}
	return out
}

func datasetBatch(vm *VM, i uint64) []int32 {
	return batchAt(vm.seed, vm.data.N, vm.p.Batch, i)
}
