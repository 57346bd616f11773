package accel

import (
	"context"
	"errors"
	"fmt"

	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
)

// Hash is a SHA-256 digest.
type Hash = graph.Hash

// Backend is what an accelerator must do. It is the minimum: a backend may implement further
// optional interfaces, which callers find by type assertion. Implementations must be safe for
// concurrent use, must not retain slices passed to them (copy what they keep), and must stop
// promptly with ctx.Err() when ctx is done. Every method that blocks takes ctx first.
//
// Model and training state stay resident in the backend behind a Run, so that a backend served
// from another process (a go-plugin plugin) exchanges only hashes and sample indices per step.
type Backend interface {
	// Device describes the hardware the backend runs on.
	Device(ctx context.Context) (Device, error)
	// Open loads a model, its training state and its dataset, and returns the resident run.
	Open(ctx context.Context, spec RunSpec) (Run, error)
	// Exec executes one primitive, or one chunk of one primitive, from the given inputs.
	Exec(ctx context.Context, call Call) ([]Tensor, error)
}

// Run is a model with its training state resident in a backend. A Run is not safe for
// concurrent use: calls on one Run must be serialised by the caller.
type Run interface {
	// Train runs one training step per element of batches (each the dataset indices of one
	// batch, of exactly the program's batch size) and returns, per step, the hash of the state
	// after it and the step's loss.
	Train(ctx context.Context, batches [][]int32) ([]StepResult, error)
	// Trace computes one step on batch from the current state without changing it, and returns
	// the hash of every instruction's outputs in program order.
	Trace(ctx context.Context, batch []int32) (*Trace, error)
	// State returns a copy of the current training state.
	State(ctx context.Context) (*State, error)
	// Close releases the run. Calls after Close return ErrClosed.
	Close() error
}

// AppendTrainer is implemented by runs that can append their step results to a slice the
// caller reuses, so that a training loop allocates nothing per step. TrainAppend behaves as
// Train, appending one StepResult per completed step to dst and returning the extended slice
// (also on error, with the steps completed before it). Callers use the function TrainAppend,
// which falls back to Train for runs without the method.
type AppendTrainer interface {
	TrainAppend(ctx context.Context, dst []StepResult, batches [][]int32) ([]StepResult, error)
}

// TrainAppend runs r.Train(ctx, batches) and appends its results to dst, through
// AppendTrainer when r implements it (allocation-free when dst has room).
func TrainAppend(ctx context.Context, r Run, dst []StepResult, batches [][]int32) ([]StepResult, error) {
	if a, ok := r.(AppendTrainer); ok {
		return a.TrainAppend(ctx, dst, batches)
	}
	res, err := r.Train(ctx, batches)
	return append(dst, res...), err
}

// RunSpec describes what Open loads.
type RunSpec struct {
	// Program is the compiled training step (graph, batch size, optimizer).
	Program *graph.Program
	// State is the state to start from. When nil, the run starts at step 0 from
	// Program.InitState(Seed).
	State *State
	// Seed seeds the initial state when State is nil.
	Seed uint64
	// Data is the training set the batches index. Backends identify datasets by their
	// commitment, so a backend behind a process boundary may transfer each one once.
	Data *dataset.Set
}

// Validate reports every problem with s at once.
func (s RunSpec) Validate() error {
	var errs []error
	if s.Program == nil {
		errs = append(errs, errors.New("accel: run spec: no program"))
	}
	if s.Data == nil {
		errs = append(errs, errors.New("accel: run spec: no dataset"))
	}
	if s.Program != nil && s.Data != nil {
		in := s.Program.Graph.InputShape()
		if in.Size() != s.Data.Rows*s.Data.Cols {
			errs = append(errs, fmt.Errorf("accel: run spec: the model's input %v holds %d values, the dataset's samples %d×%d", in, in.Size(), s.Data.Rows, s.Data.Cols))
		}
		if c := s.Program.Graph.Classes(); c != s.Data.Classes {
			errs = append(errs, fmt.Errorf("accel: run spec: the model has %d classes, the dataset %d", c, s.Data.Classes))
		}
		if s.Data.N < s.Program.Batch {
			errs = append(errs, fmt.Errorf("accel: run spec: dataset of %d samples is smaller than the batch size %d", s.Data.N, s.Program.Batch))
		}
	}
	if s.Program != nil && s.State != nil {
		if err := s.State.Check(s.Program); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// StepResult is what one training step reports.
type StepResult struct {
	// Step is the step number after the step (the first step of a fresh run reports 1).
	Step uint64
	// Hash is the state hash after the step.
	Hash Hash
	// Loss is the step's mean training loss on its batch.
	Loss float32
}

// Trace is one step computed instruction by instruction.
type Trace struct {
	// Step is the step number before the traced step.
	Step uint64
	// Pre is the state hash before the step, Post the state hash after it.
	Pre, Post Hash
	// Outputs holds, per instruction of the program, the tensor hashes of its outputs.
	Outputs [][]Hash
	// Loss is the step's loss.
	Loss float32
}

// Precision names an arithmetic format a device supports.
type Precision string

// Precisions.
const (
	FP32 Precision = "fp32"
	FP16 Precision = "fp16"
	BF16 Precision = "bf16"
	TF32 Precision = "tf32"
	FP64 Precision = "fp64"
)

// Device describes an accelerator.
type Device struct {
	// Name is the device model, e.g. "cpu" or "NVIDIA H100 80GB HBM3".
	Name string
	// Vendor is the maker, e.g. "reference" or "NVIDIA".
	Vendor string
	// Memory is the memory available to the backend in bytes.
	Memory uint64
	// Cores is the number of parallel workers the backend uses.
	Cores int
	// Precisions lists the arithmetic formats supported.
	Precisions []Precision
	// BitExact reports whether the backend reproduces the reference kernels bit for bit, so
	// that proofs made with it are verified by exact replay (threshold 0).
	BitExact bool
}

// Chunk selects a part of one primitive's work, so that a referee recomputes a bounded piece
// of an operator from the few values it reads. Computing a primitive chunk by chunk, in the
// order given here, with each chunk's running values taken from the previous one, gives the
// bits of one whole call. Operands are dense row-major blocks gathered by the caller; fields a
// kind does not use must be zero (Plane1 may be zero where one plane is implied).
//
//   - PrimMatMul: the output tile rows [Row0, Row1) × columns [Col0, Col1) summed over k in
//     [K0, K1): the inputs are the A block (Row1−Row0)×(K1−K0), the B block (K1−K0)×(Col1−Col0)
//     (both already in the orientation the product uses) and the running sums of the tile at
//     K0; the output is the running sums at K1. K-segments of a tile run in ascending order.
//   - PrimConv2D: the same on the product W (O × C·KH·KW) · col_n (C·KH·KW × OH·OW) of sample
//     n = Plane0 (Plane1 = n+1): rows are filters, columns output pixels, k the im2col row
//     r = (c·KH+ky)·KW+kx; the B block is the im2col block of the sample (+0 in the padding).
//   - PrimConv2DGradWeight: the same on dW (O × C·KH·KW) = Σ_n dy_n · col_nᵀ, with k the
//     concatenated index n·OH·OW+q: the inputs are the dy block (filters × k) and the block
//     of col_nᵀ (k × im2col rows).
//   - Element-wise primitives (ReLU, Tanh, Copy, ReLUGrad, TanhGrad, Add, BiasAdd): the flat
//     element range [Row0, Row1) of the output; the inputs are the same ranges of the
//     operands (for BiasAdd, the bias value of each element's channel, one per element).
//   - PrimBiasGrad: channels [Col0, Col1) summed over the concatenated index l = i·S+t in
//     [K0, K1): the inputs are dy (one row of K1−K0 terms per channel) and the running sums
//     of the channels; the output is the running sums.
//   - PrimConv2DGradInput: the box rows [Row0, Row1) × columns [Col0, Col1) of input-gradient
//     plane Plane0 = n·C+c (Plane1 = Plane0+1), each element complete: the inputs are the
//     filters' slab of channel c (O × KH·KW) and dy of sample n on the output box that
//     cpu.ConvGradInputBox gives (O × its rows × its columns).
//   - Pooling (MaxPool2D, AvgPool2D and their gradients): the output box rows [Row0, Row1) ×
//     columns [Col0, Col1) of the planes [Plane0, Plane1) (n·C+c); several planes only whole,
//     several rows only full-width. The inputs are the blocks of the boxes: the forward
//     primitives take the input box (cpu.PoolInputBox), MaxPool2DGrad takes dy, the input box
//     of x and the running input gradient of the input box, AvgPool2DGrad dy and the running
//     input gradient; the gradients add into their running values output by output in
//     ascending order, so boxes must run in ascending order.
//   - PrimSoftmaxXent and PrimSoftmaxXentGrad: rows [Row0, Row1) of the NB×C logits, with
//     their labels (Tensor.Labels). SoftmaxXent also takes the running total of the row
//     losses (one value) and returns it updated (divided by NB by the chunk that ends at row
//     NB) and the rows' probabilities.
//
// Block sides are at most 2048 and operands at most 2^22 values.
type Chunk struct {
	Row0, Row1, Col0, Col1, K0, K1 int
	// Plane0 and Plane1 select the sample (Conv2D) or the range of (sample, channel) planes
	// (Conv2DGradInput, pooling) a chunk lies in.
	Plane0, Plane1 int
}

// Call is one primitive application for Backend.Exec.
type Call struct {
	Prim graph.Prim
	Dims graph.Dims
	// Inputs are the primitive's operands in program order (labels as Tensor.Labels).
	Inputs []Tensor
	// Chunk, when non-nil, selects part of the work.
	Chunk *Chunk
}

// Tensor is a dense row-major tensor of float32 values, or of int32 labels.
type Tensor struct {
	Shape  []int
	Data   []float32
	Labels []int32
}

// Size returns the number of elements the shape holds.
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Errors returned by backends. Implementations wrap them with facts.
var (
	// ErrClosed is returned by calls on a closed Run or Backend.
	ErrClosed = errors.New("accel: closed")
	// ErrUnsupported is returned when a backend lacks a capability (a primitive, a chunk kind,
	// a precision).
	ErrUnsupported = errors.New("accel: unsupported")
	// ErrInvalidArgument is the class of errors caused by the caller's input: shapes that do
	// not match, indices out of range, non-finite data.
	ErrInvalidArgument = errors.New("accel: invalid argument")
)

// Evaluator is an optional interface of a Run: it measures the current model on a dataset
// (forward pass only; the state does not change).
type Evaluator interface {
	Evaluate(ctx context.Context, data *dataset.Set) (Eval, error)
}

// Eval is the result of an evaluation.
type Eval struct {
	// Samples is the number of samples evaluated, Correct how many the model's most probable
	// class (the first, on ties) got right.
	Samples, Correct int
	// Loss is the mean cross-entropy over the samples (reporting only; computed in float64).
	Loss float64
}

// Accuracy returns Correct/Samples, or 0 for no samples.
func (e Eval) Accuracy() float64 {
	if e.Samples == 0 {
		return 0
	}
	return float64(e.Correct) / float64(e.Samples)
}
