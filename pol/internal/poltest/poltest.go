package poltest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"sync"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/pol"
)

var (
	smallOnce sync.Once
	small     *dataset.Set
	smallErr  error
)

// SmallData returns the first 128 samples of the embedded Fashion-MNIST training subset,
// average-pooled 4×4 to 7×7 images (real data, small enough for thousands of replays).
func SmallData() (*dataset.Set, error) {
	smallOnce.Do(func() {
		train, _, err := dataset.EmbeddedFashionMNIST()
		if err != nil {
			smallErr = err
			return
		}
		const n, r = 128, 7
		s := &dataset.Set{Images: make([]float32, n*r*r), Labels: make([]int32, n), N: n, Rows: r, Cols: r, Classes: train.Classes}
		for i := range n {
			img, label := train.Sample(i)
			s.Labels[i] = label
			for y := range r {
				for x := range r {
					var sum float32
					for dy := range 4 {
						for dx := range 4 {
							sum += img[(4*y+dy)*28+4*x+dx]
						}
					}
					s.Images[i*r*r+y*r+x] = sum / 16
				}
			}
		}
		small = s
	})
	return small, smallErr
}

// SmallGraph is the 49-16-10 MLP the small tasks train.
func SmallGraph() *graph.Graph {
	g, err := graph.MLP(49, 10, 16)
	if err != nil {
		panic(err) // a constant graph: cannot fail
	}
	return g
}

// Task returns a small task on SmallData: the 49-16-10 MLP, batch 8, AdamW, seed 7.
func Task(steps uint64, every int) (pol.Task, error) {
	data, err := SmallData()
	if err != nil {
		return pol.Task{}, err
	}
	return pol.Task{
		ID: sha256.Sum256([]byte("poltest task")), Graph: SmallGraph(), Batch: 8,
		Optimizer: graph.Optimizer{Kind: graph.AdamW, LR: 0.005}, Seed: 7, Steps: steps, Data: data, CheckpointEvery: every,
	}.EnsureDefaults(), nil
}

// Solver returns a deterministic solver address for a name.
func Solver(name string) pol.Address {
	h := sha256.Sum256([]byte(name))
	return pol.Address(h[:20])
}

// CachingOpener remembers the openings an Opener served, so that thousands of verifications
// of the same proof do not regenerate states. It is safe for concurrent use.
type CachingOpener struct {
	Opener pol.Opener
	mu     sync.Mutex
	m      map[uint64]*pol.Opening
	err    map[uint64]error
}

// Open returns the cached opening of index, asking the wrapped Opener once.
func (c *CachingOpener) Open(ctx context.Context, index uint64) (*pol.Opening, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m, c.err = map[uint64]*pol.Opening{}, map[uint64]error{}
	}
	if o, ok := c.m[index]; ok {
		return o, nil
	}
	if err, ok := c.err[index]; ok {
		return nil, err
	}
	o, err := c.Opener.Open(ctx, index)
	if err != nil {
		c.err[index] = err
		return nil, err
	}
	c.m[index] = o
	return o, nil
}

// Perturbed is a backend that is not bit-exact: it wraps the reference backend and, after
// every training step, moves a deterministic sixth of the state's values by one unit in the
// last place, as a different reduction order would. It declares Device().BitExact false.
type Perturbed struct {
	Inner *cpu.Backend
}

var _ accel.Backend = Perturbed{}

// Device describes the wrapped backend, not bit-exact.
func (p Perturbed) Device(ctx context.Context) (accel.Device, error) {
	d, err := p.Inner.Device(ctx)
	d.Name, d.BitExact = "perturbed "+d.Name, false
	return d, err
}

// Exec delegates to the reference backend.
func (p Perturbed) Exec(ctx context.Context, call accel.Call) ([]accel.Tensor, error) {
	return p.Inner.Exec(ctx, call)
}

// Open opens a perturbed run.
func (p Perturbed) Open(ctx context.Context, spec accel.RunSpec) (accel.Run, error) {
	r, err := p.Inner.Open(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &perturbedRun{be: p.Inner, spec: spec, inner: r}, nil
}

type perturbedRun struct {
	be    *cpu.Backend
	spec  accel.RunSpec
	inner accel.Run
}

func (r *perturbedRun) Train(ctx context.Context, batches [][]int32) ([]accel.StepResult, error) {
	var out []accel.StepResult
	for _, b := range batches {
		res, err := r.inner.Train(ctx, [][]int32{b})
		if err != nil {
			return out, err
		}
		st, err := r.inner.State(ctx)
		if err != nil {
			return out, err
		}
		for k, t := range st.Tensors {
			for j, v := range t {
				if mix(st.Step, uint64(k), uint64(j))%6 == 0 && v != 0 && !math.IsInf(float64(v), 0) {
					t[j] = math.Float32frombits(math.Float32bits(v) + 1)
				}
			}
		}
		r.inner.Close()
		spec := r.spec
		spec.State = st
		if r.inner, err = r.be.Open(ctx, spec); err != nil {
			return out, fmt.Errorf("poltest: reopening: %w", err)
		}
		out = append(out, accel.StepResult{Step: st.Step, Hash: st.Hash(spec.Program), Loss: res[0].Loss})
	}
	return out, nil
}

func mix(a, b, c uint64) uint64 {
	x := a*0x9e3779b97f4a7c15 ^ b*0xbf58476d1ce4e5b9 ^ c*0x94d049bb133111eb
	x ^= x >> 31
	x *= 0xd6e8feb86659fd93
	return x ^ x>>32
}

func (r *perturbedRun) Trace(ctx context.Context, batch []int32) (*accel.Trace, error) {
	return r.inner.Trace(ctx, batch)
}

func (r *perturbedRun) State(ctx context.Context) (*accel.State, error) { return r.inner.State(ctx) }

func (r *perturbedRun) Close() error { return r.inner.Close() }
