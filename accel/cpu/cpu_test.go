package cpu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/internal/golden"
)

var (
	embedOnce        sync.Once
	embedTrain, embT *dataset.Set
	embedErr         error
)

// embedded returns the Fashion-MNIST subset compiled into the SDK: the same real data on every
// machine, with no install.
func embedded(t testing.TB) (train, test *dataset.Set) {
	t.Helper()
	embedOnce.Do(func() { embedTrain, embT, embedErr = dataset.EmbeddedFashionMNIST() })
	if embedErr != nil {
		t.Fatal(embedErr)
	}
	return embedTrain, embT
}

// goldenRun describes one pinned training run.
type goldenRun struct {
	name  string
	g     *graph.Graph
	opt   graph.Optimizer
	batch int
	steps int
}

func goldenRuns() []goldenRun {
	return []goldenRun{
		{"mlp-adamw-b16", graph.FashionMLP(), graph.Optimizer{Kind: graph.AdamW}, 16, 6},
		{"mlp-sgd-b16", graph.FashionMLP(), graph.Optimizer{Kind: graph.SGD, WeightDecay: 1e-4}, 16, 6},
		{"cnn-adamw-b8", graph.FashionCNN(), graph.Optimizer{Kind: graph.AdamW, WeightDecay: 1e-2}, 8, 3},
		{"tanh-avgpool-sgd-b8", tanhNet(), graph.Optimizer{Kind: graph.SGD}, 8, 4},
	}
}

// tanhNet exercises the primitives the reference models do not: tanh, average pooling, a
// strided unpadded convolution, and two hidden dense layers.
func tanhNet() *graph.Graph {
	b := graph.NewBuilder(1, 28, 28)
	x := b.AvgPool2D(b.Tanh(b.Conv2D(b.Input(), 4, 4, 2, 0)), 2, 2)
	x = b.Tanh(b.Dense(b.ReLU(b.Dense(b.Flatten(x), 32)), 16))
	g, err := b.SoftmaxCrossEntropy(b.Dense(x, 10))
	if err != nil {
		panic(err)
	}
	return g
}

// openSeeded compiles gr and opens it with seed 7 on the embedded data with the given workers.
func openSeeded(t testing.TB, gr goldenRun, workers int) (accel.Run, *graph.Program, *dataset.Set) {
	t.Helper()
	train, _ := embedded(t)
	p, err := graph.Compile(gr.g, gr.batch, gr.opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Open(context.Background(), accel.RunSpec{Program: p, Seed: 7, Data: train})
	if err != nil {
		t.Fatal(err)
	}
	return r, p, train
}

// trainHashes runs gr on the embedded data and returns one line per step.
func trainHashes(t testing.TB, gr goldenRun, workers int) []string {
	t.Helper()
	ctx := context.Background()
	r, _, train := openSeeded(t, gr, workers)
	defer r.Close()
	batches := make([][]int32, gr.steps)
	for i := range batches {
		batches[i] = dataset.BatchAt(7, train.N, gr.batch, uint64(i))
	}
	res, err := r.Train(ctx, batches)
	if err != nil {
		t.Fatal(err)
	}
	lines := make([]string, len(res))
	for i, s := range res {
		lines[i] = fmt.Sprintf("%s step %d loss %08x %s", gr.name, s.Step, mathBits(s.Loss), s.Hash)
	}
	return lines
}

// TestGoldenHashes pins the per-step state hashes of reference runs. The same hashes must come
// out on every architecture (.ci/run checks amd64 with GOAMD64=v1 and v3, 386, and arm64 under
// qemu), under the race detector, and for every worker count and GOMAXPROCS.
func TestGoldenHashes(t *testing.T) {
	var all []string
	for _, gr := range goldenRuns() {
		all = append(all, trainHashes(t, gr, 2)...)
	}
	golden.Text(t, filepath.Join("testdata", "golden_hashes.txt"), strings.Join(all, "\n")+"\n")
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "- %s\n+ %s\n", wl, gl)
		}
	}
	return b.String()
}

// TestWorkersAndGOMAXPROCS: the hashes do not depend on how many goroutines run the kernels.
func TestWorkersAndGOMAXPROCS(t *testing.T) {
	runs := goldenRuns()
	if testing.Short() {
		runs = runs[:1]
	}
	for _, gr := range runs {
		want := trainHashes(t, gr, 1)
		for _, procs := range []int{1, 2, 4, 8} {
			t.Run(fmt.Sprintf("%s/procs%d", gr.name, procs), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				got := trainHashes(t, gr, procs)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("workers %d:\n%s", procs, diffLines(strings.Join(want, "\n"), strings.Join(got, "\n")))
				}
			})
		}
	}
}

func openRun(t *testing.T, gr goldenRun) (*Backend, accel.Run, *graph.Program, *dataset.Set) {
	t.Helper()
	train, _ := embedded(t)
	p, err := graph.Compile(gr.g, gr.batch, gr.opt)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Open(context.Background(), accel.RunSpec{Program: p, Seed: 3, Data: train})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return b, r, p, train
}

// TestTraceAndExecAgree checks the referee's property: replaying a step instruction by
// instruction through Backend.Exec, from the pre-state and the batch alone, reproduces every
// hash of Run.Trace, and the trace's post-state hash is what Train then reports.
func TestTraceAndExecAgree(t *testing.T) {
	for _, gr := range goldenRuns() {
		t.Run(gr.name, func(t *testing.T) {
			ctx := context.Background()
			b, r, p, train := openRun(t, gr)
			if _, err := r.Train(ctx, [][]int32{dataset.BatchAt(3, train.N, gr.batch, 0)}); err != nil {
				t.Fatal(err)
			}
			batch := dataset.BatchAt(3, train.N, gr.batch, 1)
			pre, err := r.State(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := r.Trace(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Pre != pre.Hash(p) {
				t.Fatalf("trace pre-state %s, state hash %s", tr.Pre, pre.Hash(p))
			}
			after, err := r.State(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if after.Hash(p) != tr.Pre {
				t.Fatal("Trace changed the state")
			}
			// Replay through Exec.
			vals := replay(t, b, p, pre, train, batch, func(i, k int, h accel.Hash) {
				if h != tr.Outputs[i][k] {
					t.Fatalf("instr %d %s output %d: Exec gives %s, Trace %s", i, p.Instrs[i].Prim, k, h, tr.Outputs[i][k])
				}
			})
			_ = vals
			res, err := r.Train(ctx, [][]int32{batch})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Hash != tr.Post || res[0].Loss != tr.Loss {
				t.Fatalf("Train after Trace: %s loss %v, trace post %s loss %v", res[0].Hash, res[0].Loss, tr.Post, tr.Loss)
			}
		})
	}
}

// TestExecMatMulChunks recomputes a dense layer's output tile by tile and K-segment by
// K-segment, as a referee would, and gets the full product's bits.
func TestExecMatMulChunks(t *testing.T) {
	ctx := context.Background()
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	const m, n, k = 9, 7, 50
	a, bm := make([]float32, m*k), make([]float32, k*n)
	for i := range a {
		a[i] = float32(i%13)/7 - 0.9
	}
	for i := range bm {
		bm[i] = float32(i%11)/5 - 1.1
	}
	d := graph.Dims{M: m, N: n, K: k}
	full, err := b.Exec(ctx, accel.Call{Prim: graph.PrimMatMul, Dims: d, Inputs: []accel.Tensor{{Data: a}, {Data: bm}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tile := range [][4]int{{0, 9, 0, 7}, {2, 5, 3, 6}, {8, 9, 0, 1}} {
		r0, r1, c0, c1 := tile[0], tile[1], tile[2], tile[3]
		acc := make([]float32, (r1-r0)*(c1-c0))
		for _, seg := range [][2]int{{0, 17}, {17, 18}, {18, 50}} {
			ab := make([]float32, 0)
			for i := r0; i < r1; i++ {
				ab = append(ab, a[i*k+seg[0]:i*k+seg[1]]...)
			}
			bb := make([]float32, 0)
			for l := seg[0]; l < seg[1]; l++ {
				bb = append(bb, bm[l*n+c0:l*n+c1]...)
			}
			out, err := b.Exec(ctx, accel.Call{Prim: graph.PrimMatMul, Dims: d, Inputs: []accel.Tensor{{Data: ab}, {Data: bb}, {Data: acc}},
				Chunk: &accel.Chunk{Row0: r0, Row1: r1, Col0: c0, Col1: c1, K0: seg[0], K1: seg[1]}})
			if err != nil {
				t.Fatal(err)
			}
			acc = out[0].Data
		}
		for i := r0; i < r1; i++ {
			for j := c0; j < c1; j++ {
				if got, want := acc[(i-r0)*(c1-c0)+j-c0], full[0].Data[i*n+j]; mathBits(got) != mathBits(want) {
					t.Fatalf("tile %v element (%d,%d): chunked %v, full %v", tile, i, j, got, want)
				}
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	gr := goldenRuns()[0]
	b, r, p, train := openRun(t, gr)
	tests := []struct {
		name string
		call func() error
		is   error
		want string
	}{
		{"short batch", func() error { _, err := r.Train(ctx, [][]int32{{1, 2}}); return err }, accel.ErrInvalidArgument, "batch of 2"},
		{"index out of range", func() error {
			bt := make([]int32, gr.batch)
			bt[3] = int32(train.N)
			_, err := r.Train(ctx, [][]int32{bt})
			return err
		}, accel.ErrInvalidArgument, "outside the dataset"},
		{"negative index", func() error {
			bt := make([]int32, gr.batch)
			bt[0] = -1
			_, err := r.Trace(ctx, bt)
			return err
		}, accel.ErrInvalidArgument, "sample index -1"},
		{"exec wrong size", func() error {
			_, err := b.Exec(ctx, accel.Call{Prim: graph.PrimMatMul, Dims: graph.Dims{M: 2, N: 2, K: 2}, Inputs: []accel.Tensor{{Data: make([]float32, 3)}, {Data: make([]float32, 4)}}})
			return err
		}, accel.ErrInvalidArgument, "input 0 must hold 4 values"},
		{"exec huge dims", func() error {
			_, err := b.Exec(ctx, accel.Call{Prim: graph.PrimMatMul, Dims: graph.Dims{M: 1 << 20, N: 1 << 20, K: 1}})
			return err
		}, accel.ErrInvalidArgument, "more than"},
		{"exec bad labels", func() error {
			_, err := b.Exec(ctx, accel.Call{Prim: graph.PrimSoftmaxXent, Dims: graph.Dims{NB: 1, C: 3},
				Inputs: []accel.Tensor{{Data: make([]float32, 3)}, {Labels: []int32{5}}}})
			return err
		}, accel.ErrInvalidArgument, "label"},
		{"exec unknown prim", func() error { _, err := b.Exec(ctx, accel.Call{Prim: 200}); return err }, accel.ErrUnsupported, "prim(200)"},
		{"exec unsupported chunk", func() error {
			_, err := b.Exec(ctx, accel.Call{Prim: graph.PrimAdamStep, Chunk: &accel.Chunk{}})
			return err
		}, accel.ErrUnsupported, "chunks"},
		{"exec chunk outside", func() error {
			_, err := b.Exec(ctx, accel.Call{Prim: graph.PrimMatMul, Dims: graph.Dims{M: 2, N: 2, K: 2}, Chunk: &accel.Chunk{Row0: 0, Row1: 3, Col1: 1, K1: 1}})
			return err
		}, accel.ErrInvalidArgument, "outside"},
		{"state of wrong size", func() error {
			st := accel.InitialState(p, 1)
			st.Tensors[0] = st.Tensors[0][:5]
			_, err := b.Open(ctx, accel.RunSpec{Program: p, State: st, Data: train})
			return err
		}, accel.ErrInvalidArgument, "has 5 values"},
		{"dataset with NaN", func() error {
			bad, err := train.Subset([]int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
			if err != nil {
				return err
			}
			bad.Images[100] = float32NaN()
			_, err = b.Open(ctx, accel.RunSpec{Program: p, Data: bad})
			return err
		}, accel.ErrInvalidArgument, "NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Train(ctx, nil); !errors.Is(err, accel.ErrClosed) {
		t.Errorf("Train after Close: %v, want ErrClosed", err)
	}
}

func TestCancel(t *testing.T) {
	gr := goldenRuns()[0]
	_, r, _, train := openRun(t, gr)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := r.Train(ctx, [][]int32{dataset.BatchAt(1, train.N, gr.batch, 0)})
	if !errors.Is(err, context.Canceled) || len(res) != 0 {
		t.Fatalf("Train on a cancelled context: %d results, %v", len(res), err)
	}
}

func TestEvaluate(t *testing.T) {
	gr := goldenRun{"mlp", graph.FashionMLP(), graph.Optimizer{}, 32, 0}
	_, r, _, train := openRun(t, gr)
	_, test := embedded(t)
	ctx := context.Background()
	ev := r.(accel.Evaluator)
	before, err := ev.Evaluate(ctx, test)
	if err != nil {
		t.Fatal(err)
	}
	batches := make([][]int32, 150)
	for i := range batches {
		batches[i] = dataset.BatchAt(3, train.N, gr.batch, uint64(i))
	}
	if _, err := r.Train(ctx, batches); err != nil {
		t.Fatal(err)
	}
	after, err := ev.Evaluate(ctx, test)
	if err != nil {
		t.Fatal(err)
	}
	if after.Samples != test.N || before.Samples != test.N {
		t.Fatalf("evaluated %d and %d samples, want %d", before.Samples, after.Samples, test.N)
	}
	t.Logf("accuracy %.3f → %.3f, loss %.3f → %.3f after 150 steps", before.Accuracy(), after.Accuracy(), before.Loss, after.Loss)
	if after.Accuracy() < 0.7 || after.Loss >= before.Loss {
		t.Errorf("training did not learn: accuracy %.3f → %.3f, loss %.3f → %.3f", before.Accuracy(), after.Accuracy(), before.Loss, after.Loss)
	}
}

func TestDevice(t *testing.T) {
	b, err := New(Config{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.Device(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !d.BitExact || d.Cores != 3 || len(d.Precisions) != 1 || d.Precisions[0] != accel.FP32 {
		t.Errorf("Device = %+v", d)
	}
	if _, err := New(Config{Workers: -1}); err == nil {
		t.Error("negative workers accepted")
	}
}

// replay executes one step of p instruction by instruction through Backend.Exec, from state pre
// and the given batch, calling check with every output's hash, and returns every slot's value.
func replay(t *testing.T, b accel.Backend, p *graph.Program, pre *accel.State, train *dataset.Set, batch []int32, check func(instr, out int, h accel.Hash)) []accel.Tensor {
	t.Helper()
	ctx := context.Background()
	vals := make([]accel.Tensor, len(p.Slots))
	for i, s := range p.State {
		vals[s] = accel.Tensor{Shape: p.Slots[s].Shape, Data: pre.Tensors[i]}
	}
	in := make([]float32, 0, p.Slots[p.InputSlot].Shape.Size())
	labels := make([]int32, 0, len(batch))
	for _, idx := range batch {
		img, l := train.Sample(int(idx))
		in = append(in, img...)
		labels = append(labels, l)
	}
	vals[p.InputSlot] = accel.Tensor{Shape: p.Slots[p.InputSlot].Shape, Data: in}
	vals[p.LabelSlot] = accel.Tensor{Shape: []int{len(labels)}, Labels: labels}
	for i, ins := range p.Instrs {
		call := accel.Call{Prim: ins.Prim, Dims: ins.Dims}
		for _, s := range ins.In {
			call.Inputs = append(call.Inputs, vals[s])
		}
		outs, err := b.Exec(ctx, call)
		if err != nil {
			t.Fatalf("instr %d %s: %v", i, ins.Prim, err)
		}
		for k, s := range ins.Out {
			outs[k].Shape = p.Slots[s].Shape
			vals[s] = outs[k]
			if check != nil {
				check(i, k, accel.TensorHash(p.Slots[s].Shape, outs[k].Data))
			}
		}
	}
	return vals
}

// TestProgramGradients checks the compiled reverse-mode differentiation end to end: along
// random directions d in parameter space, the program's gradient g gives g·d, which must match
// the central difference (L(w+εd) − L(w−εd)) / 2ε of the loss the program computes. The kernels'
// own gradients are checked one by one in package kern; this catches wiring errors (a wrong
// transpose, a missed fan-out, a gradient routed to the wrong parameter).
func TestProgramGradients(t *testing.T) {
	for _, gr := range goldenRuns() {
		t.Run(gr.name, func(t *testing.T) {
			ctx := context.Background()
			b, r, p, train := openRun(t, gr)
			batch := dataset.BatchAt(5, train.N, gr.batch, 0)
			pre, err := r.State(ctx)
			if err != nil {
				t.Fatal(err)
			}
			vals := replay(t, b, p, pre, train, batch, nil)
			// The gradient of each parameter is the G input of its update instruction.
			grads := map[int][]float32{}
			for _, in := range p.Instrs {
				if in.Prim == graph.PrimSGD || in.Prim == graph.PrimAdamW {
					grads[in.In[0]] = vals[in.In[1]].Data
				}
			}
			lossAt := func(eps float32, d [][]float32) float64 {
				st := pre.Clone()
				for i, s := range p.Params {
					_ = s
					for j := range st.Tensors[i] {
						st.Tensors[i][j] += float32(eps * d[i][j])
					}
				}
				rr, err := b.Open(ctx, accel.RunSpec{Program: p, State: st, Data: train})
				if err != nil {
					t.Fatal(err)
				}
				defer rr.Close()
				tr, err := rr.Trace(ctx, batch)
				if err != nil {
					t.Fatal(err)
				}
				return float64(tr.Loss)
			}
			src := rand.New(rand.NewPCG(1, 2))
			for trial := 0; trial < 3; trial++ {
				d := make([][]float32, len(p.Params))
				var dot, norm float64
				for i, s := range p.Params {
					d[i] = make([]float32, p.Slots[s].Shape.Size())
					for j := range d[i] {
						d[i][j] = float32(src.NormFloat64())
						norm += float64(d[i][j]) * float64(d[i][j])
					}
				}
				scale := 1 / math.Sqrt(norm)
				for i, s := range p.Params {
					for j := range d[i] {
						d[i][j] = float32(float64(d[i][j]) * scale)
						dot += float64(grads[s][j]) * float64(d[i][j])
					}
				}
				const eps = 1e-2
				fd := (lossAt(eps, d) - lossAt(-eps, d)) / (2 * eps)
				if diff := math.Abs(fd - dot); diff > 2e-3+0.05*math.Abs(dot) {
					t.Errorf("trial %d: directional derivative: program %.6f, finite difference %.6f", trial, dot, fd)
				} else {
					t.Logf("trial %d: program %.6f, finite difference %.6f", trial, dot, fd)
				}
			}
		})
	}
}

// TestTrainSegmentError: a segment that fails at a bad batch returns the completed steps with
// the same hashes as training them alone, including the last one, whose hash is computed after
// the failure (with several workers it would otherwise have been hashed beside the next step).
func TestTrainSegmentError(t *testing.T) {
	gr := goldenRuns()[0]
	want := trainHashes(t, goldenRun{name: gr.name, g: gr.g, batch: gr.batch, opt: gr.opt, steps: 2}, 1)
	ctx := context.Background()
	r, p, train := openSeeded(t, gr, 2)
	defer r.Close()
	bad := make([]int32, gr.batch)
	bad[1] = -1
	batches := [][]int32{dataset.BatchAt(7, train.N, gr.batch, 0), dataset.BatchAt(7, train.N, gr.batch, 1), bad}
	res, err := accel.TrainAppend(ctx, r, nil, batches)
	if !errors.Is(err, accel.ErrInvalidArgument) {
		t.Fatalf("error %v, want ErrInvalidArgument", err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	for i, s := range res {
		if got := fmt.Sprintf("%s step %d loss %08x %s", gr.name, s.Step, mathBits(s.Loss), s.Hash); got != want[i] {
			t.Errorf("step %d: %s, want %s", i, got, want[i])
		}
	}
	st, err := r.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h := st.Hash(p); h != res[1].Hash {
		t.Errorf("state after the failure hashes to %s, the last result says %s", h, res[1].Hash)
	}
}
