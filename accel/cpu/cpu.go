package cpu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu/internal/kern"
	"github.com/deai-go/deai/accel/graph"
)

// Config configures a Backend. The zero value is usable.
type Config struct {
	// Workers is the number of goroutines a kernel may use. Results do not depend on it.
	// Default: runtime.GOMAXPROCS(0).
	Workers int
	// Memory is the memory the backend reports in its Device, in bytes. Default: the
	// machine's total memory where the operating system tells it (Linux /proc/meminfo),
	// otherwise 0 (unknown).
	Memory uint64
}

// EnsureDefaults returns c with defaults filled in.
func (c Config) EnsureDefaults() Config {
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Memory == 0 {
		c.Memory = totalMemory()
	}
	return c
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Workers < 0 || c.Workers > 1024 {
		errs = append(errs, fmt.Errorf("cpu: config: workers %d out of range [0, 1024]", c.Workers))
	}
	return errors.Join(errs...)
}

// Backend is the bit-exact reference backend. It is safe for concurrent use; each Run it opens
// is not.
type Backend struct {
	cfg    Config
	par    kern.Par
	mu     sync.Mutex
	closed bool
}

var _ accel.Backend = (*Backend)(nil)

// New returns a reference backend.
func New(cfg Config) (*Backend, error) {
	cfg = cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Backend{cfg: cfg, par: kern.Par{Workers: cfg.Workers}}, nil
}

// Device describes the reference CPU backend.
func (b *Backend) Device(ctx context.Context) (accel.Device, error) {
	if err := ctx.Err(); err != nil {
		return accel.Device{}, err
	}
	return accel.Device{
		Name:       "cpu/" + runtime.GOARCH,
		Vendor:     "deai reference",
		Memory:     b.cfg.Memory,
		Cores:      b.cfg.Workers,
		Precisions: []accel.Precision{accel.FP32},
		BitExact:   true,
	}, nil
}

// Close marks the backend closed: later Open and Exec calls return accel.ErrClosed. Runs
// already open keep working until closed themselves.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

func (b *Backend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Exec executes one primitive, or one chunk of it, from the given inputs and returns fresh
// output tensors. Inputs are checked against the shapes the dims imply; nothing the caller
// passes is retained or modified.
func (b *Backend) Exec(ctx context.Context, call accel.Call) ([]accel.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.isClosed() {
		return nil, accel.ErrClosed
	}
	if call.Chunk != nil {
		return execChunk(call)
	}
	n := 0
	if len(call.Inputs) > 0 {
		n = len(call.Inputs[0].Data)
	}
	ops, err := operandsOf(call.Prim, call.Dims, n)
	if err != nil {
		return nil, fmt.Errorf("cpu: exec %s: %w", call.Prim, err)
	}
	ins, labels, err := checkInputs(call, ops)
	if err != nil {
		return nil, err
	}
	outs := make([][]float32, len(ops.out))
	res := make([]accel.Tensor, len(ops.out))
	for i, s := range ops.out {
		outs[i] = make([]float32, shapeSize(s))
		res[i] = accel.Tensor{Shape: append([]int(nil), s...), Data: outs[i]}
	}
	if call.Prim == graph.PrimCopy {
		res[0].Shape = append([]int(nil), call.Inputs[0].Shape...)
	}
	execute(b.par, &scratch{}, call.Prim, call.Dims, ins, labels, outs)
	return res, nil
}

// checkInputs verifies the inputs of a whole-primitive call and returns private copies.
func checkInputs(call accel.Call, ops operands) ([][]float32, []int32, error) {
	if len(call.Inputs) != len(ops.in) {
		return nil, nil, fmt.Errorf("cpu: exec %s: %w: %d inputs, want %d", call.Prim, accel.ErrInvalidArgument, len(call.Inputs), len(ops.in))
	}
	ins := make([][]float32, len(ops.in))
	var labels []int32
	for i, t := range call.Inputs {
		want := ops.inSize(i)
		if i == ops.labels {
			if len(t.Labels) != want || t.Data != nil {
				return nil, nil, fmt.Errorf("cpu: exec %s: %w: input %d must hold %d labels, has %d labels and %d values", call.Prim, accel.ErrInvalidArgument, i, want, len(t.Labels), len(t.Data))
			}
			if err := kern.CheckLabels(t.Labels, call.Dims.NB, call.Dims.C); err != nil {
				return nil, nil, fmt.Errorf("cpu: exec %s: %w: %v", call.Prim, accel.ErrInvalidArgument, err)
			}
			labels = append([]int32(nil), t.Labels...)
			continue
		}
		if len(t.Data) != want || t.Labels != nil {
			return nil, nil, fmt.Errorf("cpu: exec %s: %w: input %d must hold %d values (shape %v), has %d", call.Prim, accel.ErrInvalidArgument, i, want, ops.in[i], len(t.Data))
		}
		if t.Shape != nil && shapeSize(t.Shape) != want {
			return nil, nil, fmt.Errorf("cpu: exec %s: %w: input %d has shape %v for %d values", call.Prim, accel.ErrInvalidArgument, i, t.Shape, len(t.Data))
		}
		ins[i] = append([]float32(nil), t.Data...)
	}
	return ins, labels, nil
}

func totalMemory() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}
