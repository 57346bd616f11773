package accelvm

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/internal/merkle"
)

// MaxWitness bounds the size of a witness the referee decodes.
const MaxWitness = 1 << 20

// Config configures a VM. Program and Data are required.
type Config struct {
	// Backend recomputes chunks. Default: a one-worker accel/cpu backend (the reference).
	Backend accel.Backend
	// Program is the compiled training step of the disputed run.
	Program *graph.Program
	// Data is the training set; the referee keeps only its commitment and size, and checks
	// every sample against them.
	Data *dataset.Set
	// RunSeed orders the batches: step i trains on dataset.BatchAt(RunSeed, N, batch, i)
	// (pol.Binding.RunSeed).
	RunSeed uint64
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Program == nil {
		errs = append(errs, errors.New("accelvm: config: no program"))
	}
	if c.Data == nil {
		errs = append(errs, errors.New("accelvm: config: no dataset"))
	}
	if c.Program != nil && c.Data != nil {
		if err := (accel.RunSpec{Program: c.Program, Data: c.Data}).Validate(); err != nil {
			errs = append(errs, fmt.Errorf("accelvm: config: %w", err))
		}
	}
	return errors.Join(errs...)
}

// VM is the referee of disputes over one training run: it implements dispute.VM. It is
// immutable after New and safe for concurrent use.
type VM struct {
	b        accel.Backend
	p        *graph.Program
	data     *dataset.Set
	dataRoot merkle.Hash
	seed     uint64
	inPlace  []int // per slot: the transition that updates it in place, or -1
	blockAt  []int // per state tensor j: the blocks of the tensors before it; then the total
}

var _ dispute.VM = (*VM)(nil)

// New returns the referee for cfg.
func New(ctx context.Context, cfg Config) (*VM, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := cfg.Backend
	if b == nil {
		c, err := cpu.New(cpu.Config{Workers: 1})
		if err != nil {
			return nil, fmt.Errorf("accelvm: %w", err)
		}
		b = c
	}
	vm := &VM{b: b, p: cfg.Program, data: cfg.Data, dataRoot: cfg.Data.Commitment(), seed: cfg.RunSeed,
		inPlace: make([]int, len(cfg.Program.Slots))}
	for i := range vm.inPlace {
		vm.inPlace[i] = -1
	}
	vm.blockAt = make([]int, len(cfg.Program.State)+1)
	for j, s := range cfg.Program.State {
		vm.blockAt[j+1] = vm.blockAt[j] + blocks(cfg.Program.Slots[s].Shape.Size())
	}
	for i, in := range cfg.Program.Instrs {
		for _, o := range in.Out {
			if slices.Contains(in.In, o) {
				vm.inPlace[o] = i + 2
			}
		}
	}
	return vm, nil
}

// Transitions of a step besides the program's instructions.
const (
	trOpen = 0
	trLoad = 1
	// program instruction i is transition i+2; the seal is the last.
)

func (vm *VM) seal() uint64 { return uint64(len(vm.p.Instrs)) + 2 }

// Instrs implements dispute.VM: the program's instructions plus open, load and seal.
func (vm *VM) Instrs() uint64 { return uint64(len(vm.p.Instrs)) + 3 }

// Chunks implements dispute.VM.
func (vm *VM) Chunks(tr uint64) uint64 {
	switch {
	case tr == trOpen:
		return uint64(vm.blockAt[len(vm.p.State)])
	case tr == vm.seal():
		return uint64(vm.blockAt[len(vm.p.State)]) + 1
	case tr == trLoad:
		return uint64(vm.p.Batch)
	case tr < vm.seal():
		in := vm.p.Instrs[tr-2]
		return uint64(numChunks(vm.p, in))
	}
	return 0
}

// Name returns a short description of transition tr ("open", "load", "seal" or the
// primitive's name).
func (vm *VM) Name(tr uint64) string {
	switch {
	case tr == trOpen:
		return "open"
	case tr == trLoad:
		return "load"
	case tr == vm.seal():
		return "seal"
	case tr < vm.seal():
		return vm.p.Instrs[tr-2].Prim.String()
	}
	return "none"
}

// outs returns the slots transition tr writes (load and program instructions).
func (vm *VM) outs(tr uint64) []int {
	if tr == trLoad {
		return []int{vm.p.InputSlot, vm.p.LabelSlot}
	}
	return vm.p.Instrs[tr-2].Out
}

// Witness is the referee's input for one chunk transition. Which fields matter depends on the
// transition (see the package documentation).
type Witness struct {
	// Env is the environment root at the transition's start; Parts the partial results the
	// pre-leaf commits (chunk > 0).
	Env   Hash
	Parts []Hash
	// Step, RNG and Hashes open the state hash h_t (every "open" chunk); HeaderProof proves
	// the header in Env (seal's last chunk).
	Step        uint64
	RNG         [32]byte
	Hashes      []Hash
	HeaderProof merkle.Proof
	// BlockRoot (open) is the root of the tree over the TensorBlock leaves of the state tensor
	// the chunk reads, the rest of its tensor hash's preimage. Block proves the chunk's block
	// of values: its leaf under BlockRoot (open), or its block root under the slot's root
	// Reads[0] (seal).
	BlockRoot Hash
	Block     merkle.Proof
	// Reads open input slots in Env.
	Reads []Read
	// Writes hold, per output, the segments the chunk writes, in ascending order, with their
	// old values and proofs against the output's partial root as updated by the ones before.
	Writes [][]Seg
	// EnvOld and EnvProofs (last chunk) prove each output's slot root in Env, updated in
	// order.
	EnvOld    []Hash
	EnvProofs []merkle.Proof
	// Carry is the running tree of the state tensor an "open" or "seal" chunk continues.
	Carry *Carry
	// Values is a block of a state tensor (open, seal) or a sample (load); Label and
	// SampleProof the sample's label and dataset proof.
	Values      []float32
	Label       int32
	SampleProof merkle.Proof
}

// Read opens some segments of one slot.
type Read struct {
	Slot     int
	Root     Hash
	EnvProof merkle.Proof
	Segs     []Seg
}

// Seg is one segment of a tensor with its Merkle proof.
type Seg struct {
	Index int
	Vals  []float32
	Proof merkle.Proof
}

// Encode returns the witness's wire form (encoding/gob).
func (w *Witness) Encode() ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(w); err != nil {
		return nil, fmt.Errorf("accelvm: encode witness: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeWitness decodes a witness; errors wrap dispute.ErrBadProof.
func DecodeWitness(b []byte) (*Witness, error) {
	if len(b) > MaxWitness {
		return nil, fmt.Errorf("%w: witness of %d bytes", dispute.ErrBadProof, len(b))
	}
	w := new(Witness)
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(w); err != nil {
		return nil, fmt.Errorf("%w: witness: %v", dispute.ErrBadProof, err)
	}
	return w, nil
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: accelvm: "+format, append([]any{dispute.ErrBadProof}, args...)...)
}

// Check implements dispute.VM: it recomputes chunk p.Chunk of transition p.Instr of step
// p.Step from the agreed leaf pre and the witness.
func (vm *VM) Check(path dispute.Path, pre Hash, wb []byte) (Hash, int64, error) {
	w, err := DecodeWitness(wb)
	if err != nil {
		return Hash{}, 0, err
	}
	tr, e := path.Instr, path.Chunk
	E := vm.Chunks(tr)
	if e >= E {
		return Hash{}, 0, bad("chunk %d of %d at transition %d", e, E, tr)
	}
	switch tr {
	case trOpen:
		return vm.checkOpen(e, pre, w)
	case vm.seal():
		return vm.checkSeal(e, pre, w)
	}
	return vm.checkCompute(context.Background(), path.Step, tr, e, pre, w)
}

func (vm *VM) envSize() uint64 { return uint64(len(vm.p.Slots)) + 1 }

// block returns the state tensor and block of the e-th block of the state (e <
// blockAt[n]), and whether it is the tensor's last.
func (vm *VM) block(e int) (j, b int, last bool) {
	j = sort.SearchInts(vm.blockAt, e+1) - 1
	b = e - vm.blockAt[j]
	return j, b, e+1 == vm.blockAt[j+1]
}

// stateBlock checks the length of block b of state tensor j and the carry before it
// against the agreed leaf's last part (b > 0), and returns the carry before the block.
func (vm *VM) stateBlock(j, b int, c *Carry, parts []Hash, vals []float32) (Carry, error) {
	n := vm.p.Slots[vm.p.State[j]].Shape.Size()
	if want := min(n, (b+1)*StateBlock) - min(n, b*StateBlock); len(vals) != want {
		return Carry{}, bad("block %d of state tensor %d holds %d values, want %d", b, j, len(vals), want)
	}
	if b == 0 {
		return Carry{}, nil
	}
	if !c.valid(b) || c.hash() != parts[len(parts)-1] {
		return Carry{}, bad("carry of block %d of state tensor %d does not match the agreed leaf", b, j)
	}
	return *c, nil
}

// checkOpen checks an "open" chunk: block b of state tensor j of the state h_t. The witness
// opens h_t (Step, RNG and the tensor hashes) and tensor j's hash (its shape and size, and
// BlockRoot), and proves the block's values under BlockRoot; the chunk adds the block's root
// in the slot tree to the carry. The pre-leaf is h_t (chunk 0) or MidLeaf over h_t, the slot
// roots of the tensors done and the carry's hash (b > 0); the last chunk returns the
// environment: the header, the state slots' roots, EmptySlot elsewhere.
func (vm *VM) checkOpen(e uint64, pre Hash, w *Witness) (Hash, int64, error) {
	n := len(vm.p.State)
	if len(w.Hashes) != n {
		return Hash{}, 0, bad("open: %d tensor hashes, want %d", len(w.Hashes), n)
	}
	h := stateHash(w.Step, w.RNG, w.Hashes)
	j, b, last := vm.block(int(e))
	want := j
	if b > 0 {
		want++
	}
	if e == 0 && h != pre || e > 0 && (len(w.Parts) != want || MidLeaf(trOpen, e, h, w.Parts) != pre) {
		return Hash{}, 0, bad("open: the witness does not open the agreed leaf")
	}
	c, err := vm.stateBlock(j, b, w.Carry, w.Parts, w.Values)
	if err != nil {
		return Hash{}, 0, fmt.Errorf("open: %w", err)
	}
	sh := vm.p.Slots[vm.p.State[j]].Shape
	if tensorHashOf(sh, sh.Size(), w.BlockRoot) != w.Hashes[j] {
		return Hash{}, 0, bad("open: block root does not open the hash of state tensor %d", j)
	}
	if !proves(w.BlockRoot, blockLeaf(w.Values), uint64(b), uint64(blocks(sh.Size())), w.Block) {
		return Hash{}, 0, bad("open: block %d of state tensor %d not in its tensor hash", b, j)
	}
	c = c.push(blockRoot(w.Values))
	parts := slices.Clone(w.Parts[:j])
	if !last {
		return MidLeaf(trOpen, e+1, h, append(parts, c.hash())), 0, nil
	}
	parts = append(parts, c.root())
	if j+1 < n {
		return MidLeaf(trOpen, e+1, h, parts), 0, nil
	}
	return EnvLeaf(merkle.Root(vm.envLeaves(headerLeaf(w.Step, w.RNG), parts))), 0, nil
}

// envLeaves returns the environment's leaves at a step's start: the header, the state
// slots' roots, EmptySlot elsewhere.
func (vm *VM) envLeaves(header Hash, roots []Hash) []Hash {
	leaves := make([]Hash, vm.envSize())
	leaves[0] = header
	for i := range vm.p.Slots {
		leaves[1+i] = EmptySlot
	}
	for k, s := range vm.p.State {
		leaves[1+s] = roots[k]
	}
	return leaves
}

// checkSeal checks a "seal" chunk: each but the last reads block b of state tensor j from
// the environment (its slot's root proven in Env, the block's root under it by Block) and
// adds the block's TensorBlock leaf to the carry; the last block of a tensor finishes its
// tensor hash. The last chunk opens the header and returns the state hash.
func (vm *VM) checkSeal(e uint64, pre Hash, w *Witness) (Hash, int64, error) {
	n := len(vm.p.State)
	tr := vm.seal()
	if e == uint64(vm.blockAt[n]) {
		if len(w.Parts) != n || MidLeaf(tr, e, w.Env, w.Parts) != pre {
			return Hash{}, 0, bad("seal: the witness does not open the agreed leaf")
		}
		hl := headerLeaf(w.Step, w.RNG)
		if !proves(w.Env, hl, 0, vm.envSize(), w.HeaderProof) {
			return Hash{}, 0, bad("seal: header not in the environment")
		}
		return stateHash(w.Step+1, w.RNG, w.Parts), 0, nil
	}
	j, b, last := vm.block(int(e))
	want := j
	if b > 0 {
		want++
	}
	if e == 0 && EnvLeaf(w.Env) != pre || e > 0 && (len(w.Parts) != want || MidLeaf(tr, e, w.Env, w.Parts) != pre) {
		return Hash{}, 0, bad("seal: the witness does not open the agreed leaf")
	}
	parts := slices.Clone(w.Parts[:min(len(w.Parts), j)])
	if e == 0 {
		parts = nil
	}
	c, err := vm.stateBlock(j, b, w.Carry, w.Parts, w.Values)
	if err != nil {
		return Hash{}, 0, fmt.Errorf("seal: %w", err)
	}
	s := vm.p.State[j]
	size := vm.p.Slots[s].Shape.Size()
	if len(w.Reads) != 1 || w.Reads[0].Slot != s || !proves(w.Env, w.Reads[0].Root, uint64(1+s), vm.envSize(), w.Reads[0].EnvProof) {
		return Hash{}, 0, bad("seal: state slot %d not opened in the environment", s)
	}
	if !proves(w.Reads[0].Root, blockRoot(w.Values), uint64(b), uint64(blocks(size)), w.Block) {
		return Hash{}, 0, bad("seal: block %d of state slot %d not in the slot's root", b, s)
	}
	c = c.push(blockLeaf(w.Values))
	if !last {
		return MidLeaf(tr, e+1, w.Env, append(parts, c.hash())), 0, nil
	}
	th := tensorHashOf(vm.p.Slots[s].Shape, size, c.root())
	return MidLeaf(tr, e+1, w.Env, append(parts, th)), 0, nil
}

func proves(root, leaf Hash, index, size uint64, p merkle.Proof) bool {
	return p.Index == index && p.Size == size && merkle.Verify(root, leaf, p) == nil
}

// segSet is opened segments of one tensor: index → values.
type segSet map[int][]float32

func gather(s segSet, size int, idx []int) ([]float32, error) {
	out := make([]float32, len(idx))
	for i, x := range idx {
		if x < 0 || x >= size {
			return nil, bad("index %d outside a tensor of %d", x, size)
		}
		seg, ok := s[x/SegLen]
		if !ok {
			return nil, bad("segment %d not opened", x/SegLen)
		}
		out[i] = seg[x%SegLen]
	}
	return out, nil
}

func segLen(size, i int) int { return min(size, (i+1)*SegLen) - i*SegLen }

// initParts returns the partial roots of transition tr's outputs before its first chunk, from
// the slot roots opened in the environment.
func (vm *VM) initParts(tr uint64, roots map[int]Hash) ([]Hash, error) {
	outs := vm.outs(tr)
	parts := make([]Hash, len(outs))
	for k, s := range outs {
		if vm.inPlace[s] == int(tr) {
			r, ok := roots[s]
			if !ok {
				return nil, bad("in-place output slot %d not opened", s)
			}
			parts[k] = r
			continue
		}
		parts[k] = zeroRoot(vm.p.Slots[s].Shape.Size())
	}
	return parts, nil
}

// sampleWrites returns the writes of load chunk e: sample e of the step's batch.
func (vm *VM) sampleWrites(step, e uint64, w *Witness) ([]write, error) {
	batch := batchAt(vm.seed, vm.data.N, vm.p.Batch, step)
	idx := int(batch[e])
	if w.SampleProof.Size != uint64(vm.data.N) {
		return nil, bad("load: sample proof for a dataset of %d, want %d", w.SampleProof.Size, vm.data.N)
	}
	if err := dataset.VerifySample(vm.dataRoot, idx, w.Values, w.Label, vm.data.Rows, vm.data.Cols, w.SampleProof); err != nil {
		return nil, fmt.Errorf("%w: accelvm: load: %w", dispute.ErrBadProof, err)
	}
	per := vm.data.Rows * vm.data.Cols
	lo := int(e) * per
	return []write{{idx: span(lo, lo+per), vals: slices.Clone(w.Values)},
		{idx: []int{int(e)}, vals: []float32{math.Float32frombits(uint32(w.Label))}}}, nil
}

func (vm *VM) checkCompute(ctx context.Context, step, tr, e uint64, pre Hash, w *Witness) (Hash, int64, error) {
	E := vm.Chunks(tr)
	outs := vm.outs(tr)
	if e == 0 && EnvLeaf(w.Env) != pre || e > 0 && (len(w.Parts) != len(outs) || MidLeaf(tr, e, w.Env, w.Parts) != pre) {
		return Hash{}, 0, bad("transition %d chunk %d: the witness does not open the agreed leaf", tr, e)
	}
	// Inputs, proven in the environment.
	opened := map[int]segSet{}
	roots := map[int]Hash{}
	for _, r := range w.Reads {
		if r.Slot < 0 || r.Slot >= len(vm.p.Slots) {
			return Hash{}, 0, bad("read of slot %d", r.Slot)
		}
		if _, dup := roots[r.Slot]; dup || !proves(w.Env, r.Root, uint64(1+r.Slot), vm.envSize(), r.EnvProof) {
			return Hash{}, 0, bad("slot %d not opened in the environment", r.Slot)
		}
		roots[r.Slot] = r.Root
		size := vm.p.Slots[r.Slot].Shape.Size()
		ss := segSet{}
		for _, sg := range r.Segs {
			if sg.Index < 0 || sg.Index >= segs(size) || len(sg.Vals) != segLen(size, sg.Index) ||
				!proves(r.Root, segLeaf(sg.Vals), uint64(sg.Index), uint64(segs(size)), sg.Proof) {
				return Hash{}, 0, bad("segment %d of slot %d", sg.Index, r.Slot)
			}
			ss[sg.Index] = sg.Vals
		}
		opened[r.Slot] = ss
	}
	parts := w.Parts
	if e == 0 {
		var err error
		if parts, err = vm.initParts(tr, roots); err != nil {
			return Hash{}, 0, err
		}
	}
	if len(w.Writes) != len(outs) {
		return Hash{}, 0, bad("%d write lists for %d outputs", len(w.Writes), len(outs))
	}
	olds := make([]segSet, len(outs))
	for k := range outs {
		olds[k] = segSet{}
		for _, sg := range w.Writes[k] {
			olds[k][sg.Index] = sg.Vals
		}
	}
	rw := io{
		in: func(slot int, idx []int) ([]float32, error) {
			return gather(opened[slot], vm.p.Slots[slot].Shape.Size(), idx)
		},
		old: func(k int, idx []int) ([]float32, error) {
			return gather(olds[k], vm.p.Slots[outs[k]].Shape.Size(), idx)
		},
	}
	var ws []write
	var flops int64
	if tr == trLoad {
		var err error
		if ws, err = vm.sampleWrites(step, e, w); err != nil {
			return Hash{}, 0, err
		}
	} else {
		in := vm.p.Instrs[tr-2]
		c := chunkAt(vm.p, in, int(e))
		var err error
		if ws, err = compute(ctx, vm.b, vm.p, in, c, rw); err != nil {
			if errors.Is(err, dispute.ErrBadProof) {
				return Hash{}, 0, err
			}
			return Hash{}, 0, bad("recompute: %v", err)
		}
		flops = chunkFLOPs(vm.p, in, c)
	}
	// Apply the writes to the partial roots.
	next := slices.Clone(parts)
	for k, s := range outs {
		size := vm.p.Slots[s].Shape.Size()
		touched := touchedSegs(ws[k].idx)
		if len(touched) != len(w.Writes[k]) {
			return Hash{}, 0, bad("output %d: %d segments written, %d opened", k, len(touched), len(w.Writes[k]))
		}
		newVals := map[int][]float32{}
		for i, sg := range w.Writes[k] {
			if sg.Index != touched[i] || len(sg.Vals) != segLen(size, sg.Index) {
				return Hash{}, 0, bad("output %d: segment %d out of order", k, sg.Index)
			}
			newVals[sg.Index] = slices.Clone(sg.Vals)
		}
		for i, x := range ws[k].idx {
			newVals[x/SegLen][x%SegLen] = ws[k].vals[i]
		}
		cur := next[k]
		for _, sg := range w.Writes[k] {
			if !proves(cur, segLeaf(sg.Vals), uint64(sg.Index), uint64(segs(size)), sg.Proof) {
				return Hash{}, 0, bad("output %d: segment %d not in the partial root", k, sg.Index)
			}
			cur = rootWith(segLeaf(newVals[sg.Index]), sg.Proof)
		}
		next[k] = cur
	}
	if e+1 < E {
		return MidLeaf(tr, e+1, w.Env, next), flops, nil
	}
	if len(w.EnvOld) != len(outs) || len(w.EnvProofs) != len(outs) {
		return Hash{}, 0, bad("last chunk without environment proofs")
	}
	cur := w.Env
	for k, s := range outs {
		if !proves(cur, w.EnvOld[k], uint64(1+s), vm.envSize(), w.EnvProofs[k]) {
			return Hash{}, 0, bad("output slot %d not in the environment", s)
		}
		cur = rootWith(next[k], w.EnvProofs[k])
	}
	return EnvLeaf(cur), flops, nil
}

// touchedSegs returns the ascending distinct segments of flat indices idx.
func touchedSegs(idx []int) []int {
	var out []int
	for _, x := range idx {
		out = append(out, x/SegLen)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func batchAt(seed uint64, n, batch int, i uint64) []int32 { return dataset.BatchAt(seed, n, batch, i) }
