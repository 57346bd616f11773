package market

import (
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/graph"
	"github.com/holiman/uint256"
)

// Limits that make estimation halt by construction and keep every figure inside uint64.
const (
	// MaxSteps bounds TaskSpec.Steps.
	MaxSteps = 1 << 32
	// MaxUnits bounds a task's work estimate in work units.
	MaxUnits = 1 << 62
	// MaxLocation bounds the length of TaskSpec.Dataset.Location.
	MaxLocation = 255
	// MaxGraphBytes bounds an encoded graph (graph.MaxEncodedSize).
	MaxGraphBytes = graph.MaxEncodedSize
)

// PrecisionSet is a set of arithmetic formats, one bit per accel.Precision: fp32 1, fp16 2,
// bf16 4, tf32 8, fp64 16. The bit numbers are part of the encodings and never change.
type PrecisionSet uint8

var precisionBits = []accel.Precision{accel.FP32, accel.FP16, accel.BF16, accel.TF32, accel.FP64}

// Precisions returns the set of the given formats, or an ErrInvalidSpec error naming an
// unknown one.
func Precisions(ps ...accel.Precision) (PrecisionSet, error) {
	var s PrecisionSet
	for _, p := range ps {
		found := false
		for i, q := range precisionBits {
			if p == q {
				s |= 1 << i
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("%w: unknown precision %q", ErrInvalidSpec, p)
		}
	}
	return s, nil
}

// Has reports whether s contains every format of t.
func (s PrecisionSet) Has(t PrecisionSet) bool { return s&t == t }

// Valid reports whether s names only known formats.
func (s PrecisionSet) Valid() bool { return s < 1<<len(precisionBits) }

// Requirements are what a task asks of a solver's device and bond.
type Requirements struct {
	// Memory is the device memory needed in bytes. The effective requirement is the larger
	// of this and the estimate's MemoryBytes.
	Memory uint64
	// Precisions must all be supported by the device. Empty means fp32.
	Precisions PrecisionSet
	// BitExact requires a backend that reproduces the reference kernels bit for bit.
	BitExact bool
	// MinStake is the least bonded stake the offer must carry.
	MinStake uint256.Int
}

// Dataset names the training data: its commitment (accel/dataset Set.Commitment), its
// sample count, and where to fetch it (a URL or any locator, at most MaxLocation bytes).
type Dataset struct {
	Root     [32]byte
	Samples  uint64
	Location string
}

// TaskSpec is a submitter's training task.
type TaskSpec struct {
	// Graph is the model's canonical encoding (graph.Graph.Encode); GraphHash its hash.
	Graph     []byte
	GraphHash graph.Hash
	// Dataset is the training data.
	Dataset Dataset
	// Batch, Optimizer and Seed are the hyperparameters of the run.
	Batch     int
	Optimizer graph.Optimizer
	Seed      uint64
	// Steps is the number of training steps, in [1, MaxSteps].
	Steps uint64
	// Deadline is the chain time (seconds) by which the proof must be committed.
	Deadline uint64
	// MaxPrice is the most the submitter pays per work unit; Budget is the most it pays in
	// all. Exactly one is nonzero; a Budget gives MaxPrice = floor(Budget / Units).
	MaxPrice, Budget uint256.Int
	// Req is what the solver must offer.
	Req Requirements
}

// Validate reports every problem with s that needs no estimate, at once; each wraps
// ErrInvalidSpec (or ErrTooLarge, ErrExpired, ErrPrice). now is the chain time.
func (s *TaskSpec) Validate(now uint64) error {
	var errs []error
	bad := func(sentinel error, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...))
	}
	if len(s.Graph) == 0 {
		bad(ErrInvalidSpec, "no graph")
	}
	if len(s.Graph) > MaxGraphBytes {
		bad(ErrTooLarge, "graph encoding of %d bytes exceeds %d", len(s.Graph), MaxGraphBytes)
	}
	if s.Dataset.Samples == 0 {
		bad(ErrInvalidSpec, "dataset has no samples")
	}
	if len(s.Dataset.Location) > MaxLocation {
		bad(ErrTooLarge, "dataset location of %d bytes exceeds %d", len(s.Dataset.Location), MaxLocation)
	}
	if s.Batch < 1 || s.Batch > graph.MaxBatch {
		bad(ErrInvalidSpec, "batch %d out of range [1, %d]", s.Batch, graph.MaxBatch)
	} else if uint64(s.Batch) > s.Dataset.Samples {
		bad(ErrInvalidSpec, "batch %d exceeds the dataset's %d samples", s.Batch, s.Dataset.Samples)
	}
	if err := s.Optimizer.EnsureDefaults().Validate(); err != nil {
		bad(ErrInvalidSpec, "%v", err)
	}
	if s.Steps == 0 {
		bad(ErrInvalidSpec, "zero steps")
	}
	if s.Steps > MaxSteps {
		bad(ErrTooLarge, "%d steps exceed %d", s.Steps, uint64(MaxSteps))
	}
	if s.Deadline <= now {
		bad(ErrExpired, "deadline %d is not after the chain time %d", s.Deadline, now)
	}
	if s.MaxPrice.IsZero() == s.Budget.IsZero() {
		bad(ErrPrice, "exactly one of max price and budget must be nonzero")
	}
	if !s.Req.Precisions.Valid() {
		bad(ErrInvalidSpec, "unknown precision bits %#x", uint8(s.Req.Precisions))
	}
	return errors.Join(errs...)
}

// Estimate is the work a task takes, in work units (gas).
type Estimate struct {
	// Instrs is the number of primitives of one training step.
	Instrs int
	// StepFLOPs is the exact FLOP count of one step (graph.Program.StepFLOPs).
	StepFLOPs uint64
	// MemoryBytes is the memory the program's slots occupy (4 bytes per element).
	MemoryBytes uint64
	// StepGas is Σ GasWeight(prim) × FLOPs over the step's primitives, plus MemoryBytes/4
	// (every element moved once per step).
	StepGas uint64
	// Units is Steps × StepGas: what the task pays for.
	Units uint64
}

// gasWeights is the documented gas table: gas per FLOP of each primitive (see doc.go).
var gasWeights = [...]uint64{
	graph.PrimMatMul:           1,
	graph.PrimBiasAdd:          2,
	graph.PrimBiasGrad:         2,
	graph.PrimReLU:             2,
	graph.PrimReLUGrad:         2,
	graph.PrimTanh:             8,
	graph.PrimTanhGrad:         2,
	graph.PrimConv2D:           1,
	graph.PrimConv2DGradInput:  1,
	graph.PrimConv2DGradWeight: 1,
	graph.PrimMaxPool2D:        2,
	graph.PrimMaxPool2DGrad:    2,
	graph.PrimAvgPool2D:        2,
	graph.PrimAvgPool2DGrad:    2,
	graph.PrimCopy:             1,
	graph.PrimAdd:              2,
	graph.PrimSoftmaxXent:      8,
	graph.PrimSoftmaxXentGrad:  2,
	graph.PrimSGD:              2,
	graph.PrimAdamStep:         1,
	graph.PrimAdamW:            2,
}

// GasWeight returns the gas per FLOP of primitive p, or ErrUnknownOp.
func GasWeight(p graph.Prim) (uint64, error) {
	if int(p) >= len(gasWeights) || gasWeights[p] == 0 {
		return 0, fmt.Errorf("%w: primitive %s has no gas weight", ErrUnknownOp, p)
	}
	return gasWeights[p], nil
}

// EstimateProgram prices a compiled step program run for steps steps.
func EstimateProgram(p *graph.Program, steps uint64) (Estimate, error) {
	if steps == 0 || steps > MaxSteps {
		return Estimate{}, fmt.Errorf("%w: %d steps out of range [1, %d]", ErrTooLarge, steps, uint64(MaxSteps))
	}
	e := Estimate{Instrs: len(p.Instrs)}
	var gas, flops uint64
	of := false
	add := func(z *uint64, x uint64) {
		var c uint64
		*z, c = bits.Add64(*z, x, 0)
		of = of || c != 0
	}
	for _, in := range p.Instrs {
		w, err := GasWeight(in.Prim)
		if err != nil {
			return Estimate{}, err
		}
		f := p.FLOPs(in)
		if f < 0 {
			return Estimate{}, fmt.Errorf("%w: negative FLOP count for %s", ErrTooLarge, in.Prim)
		}
		add(&flops, uint64(f))
		hi, lo := bits.Mul64(uint64(f), w)
		of = of || hi != 0
		add(&gas, lo)
	}
	for _, s := range p.Slots {
		add(&e.MemoryBytes, 4*uint64(s.Shape.Size()))
	}
	add(&gas, e.MemoryBytes/4)
	hi, units := bits.Mul64(gas, steps)
	if of || hi != 0 || units > MaxUnits {
		return Estimate{}, fmt.Errorf("%w: work of %d steps exceeds %d units", ErrTooLarge, steps, uint64(MaxUnits))
	}
	e.StepFLOPs, e.StepGas, e.Units = flops, gas, units
	return e, nil
}

// EstimateWork prices a step's work summary (graph.Graph.StepWork or graph.Program.Work)
// run for steps steps. It returns exactly what EstimateProgram returns for the program the
// summary describes, errors included: the sums run per primitive instead of per
// instruction, and every term is non-negative, so a sum overflows here exactly when one
// overflows there, and a saturated per-primitive FLOP count (≥ 2^63 − 1) exceeds MaxUnits
// however it is weighted.
func EstimateWork(w *graph.Work, steps uint64) (Estimate, error) {
	if steps == 0 || steps > MaxSteps {
		return Estimate{}, fmt.Errorf("%w: %d steps out of range [1, %d]", ErrTooLarge, steps, uint64(MaxSteps))
	}
	e := Estimate{Instrs: w.Instrs}
	var gas, flops uint64
	of := false
	add := func(z *uint64, x uint64) {
		var c uint64
		*z, c = bits.Add64(*z, x, 0)
		of = of || c != 0
	}
	for p := range graph.NumPrims {
		if w.Count[p] == 0 {
			continue
		}
		gw, err := GasWeight(graph.Prim(p))
		if err != nil {
			return Estimate{}, err
		}
		f := w.FLOPs[p]
		if f < 0 || f == math.MaxInt64 {
			return Estimate{}, fmt.Errorf("%w: %s FLOPs of one step exceed %d", ErrTooLarge, graph.Prim(p), int64(math.MaxInt64-1))
		}
		add(&flops, uint64(f))
		hi, lo := bits.Mul64(uint64(f), gw)
		of = of || hi != 0
		add(&gas, lo)
	}
	if w.Elements < 0 || w.Elements > math.MaxInt64/4 {
		return Estimate{}, fmt.Errorf("%w: %d elements", ErrTooLarge, w.Elements)
	}
	e.MemoryBytes = 4 * uint64(w.Elements)
	add(&gas, e.MemoryBytes/4)
	hi, units := bits.Mul64(gas, steps)
	if of || hi != 0 || units > MaxUnits {
		return Estimate{}, fmt.Errorf("%w: work of %d steps exceeds %d units", ErrTooLarge, steps, uint64(MaxUnits))
	}
	e.StepFLOPs, e.StepGas, e.Units = flops, gas, units
	return e, nil
}

// DecodeGraph decodes the spec's graph and checks its hash.
func (s *TaskSpec) DecodeGraph() (*graph.Graph, error) {
	if len(s.Graph) > MaxGraphBytes {
		return nil, fmt.Errorf("%w: graph encoding of %d bytes", ErrTooLarge, len(s.Graph))
	}
	g, err := graph.Decode(s.Graph)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if g.Hash() != s.GraphHash {
		return nil, fmt.Errorf("%w: graph hash %s, spec names %s", ErrInvalidSpec, g.Hash(), s.GraphHash)
	}
	return g, nil
}

// Compile decodes the spec's graph, checks its hash and compiles its training step.
func (s *TaskSpec) Compile() (*graph.Program, error) {
	g, err := s.DecodeGraph()
	if err != nil {
		return nil, err
	}
	p, err := graph.Compile(g, s.Batch, s.Optimizer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return p, nil
}

// Estimate validates s at chain time now, checks its graph and prices the work. It neither
// builds the graph nor compiles it: graph.DecodeWork validates the encoding exactly as
// graph.Decode does and counts the step's primitives, FLOPs and memory in the same single
// pass, and the result equals EstimateProgram of the compiled step (tests hold them equal).
// Every step is bounded (graph.Decode's limits, MaxSteps, MaxUnits), so it halts on any
// input.
func (s *TaskSpec) Estimate(now uint64) (Estimate, error) {
	if err := s.Validate(now); err != nil {
		return Estimate{}, err
	}
	h, w, err := graph.DecodeWork(s.Graph, s.Batch, s.Optimizer)
	if err != nil {
		return Estimate{}, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if h != s.GraphHash {
		return Estimate{}, fmt.Errorf("%w: graph hash %s, spec names %s", ErrInvalidSpec, h, s.GraphHash)
	}
	return EstimateWork(&w, s.Steps)
}

// Quote is what a task costs at most: its effective price ceiling and the escrow.
type Quote struct {
	// MaxPrice is the ceiling per work unit (the spec's, or floor(Budget / Units)).
	MaxPrice uint256.Int
	// Escrow is Units × MaxPrice: what PostTask escrows. It never exceeds a Budget.
	Escrow uint256.Int
}

// Fee returns units × price, or ErrPrice if price is zero or the product overflows.
func Fee(units uint64, price *uint256.Int) (uint256.Int, error) {
	if price.IsZero() {
		return uint256.Int{}, fmt.Errorf("%w: zero price", ErrPrice)
	}
	var f uint256.Int
	if _, o := f.MulOverflow(uint256.NewInt(units), price); o {
		return uint256.Int{}, fmt.Errorf("%w: %d units × %s overflows 2^256-1", ErrPrice, units, price.Dec())
	}
	return f, nil
}

// QuoteFor returns the ceiling and escrow of a spec whose work is units.
func (s *TaskSpec) QuoteFor(units uint64) (Quote, error) {
	if units == 0 {
		return Quote{}, fmt.Errorf("%w: zero work", ErrInvalidSpec)
	}
	var q Quote
	if !s.Budget.IsZero() {
		q.MaxPrice.Div(&s.Budget, uint256.NewInt(units))
		if q.MaxPrice.IsZero() {
			return Quote{}, fmt.Errorf("%w: budget %s is below one unit of price for %d units", ErrPrice, s.Budget.Dec(), units)
		}
	} else {
		q.MaxPrice = s.MaxPrice
	}
	f, err := Fee(units, &q.MaxPrice)
	if err != nil {
		return Quote{}, err
	}
	q.Escrow = f
	return q, nil
}

// MemoryNeed returns the effective memory requirement: the larger of Req.Memory and the
// estimate's.
func (s *TaskSpec) MemoryNeed(e Estimate) uint64 { return max(s.Req.Memory, e.MemoryBytes) }

// PrecisionNeed returns Req.Precisions, or fp32 when empty.
func (s *TaskSpec) PrecisionNeed() PrecisionSet {
	if s.Req.Precisions == 0 {
		return 1
	}
	return s.Req.Precisions
}
