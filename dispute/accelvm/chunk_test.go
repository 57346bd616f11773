package accelvm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/graph"
)

// primCase is one primitive application with its operand shapes.
type primCase struct {
	prim    graph.Prim
	d       graph.Dims
	ins     []graph.Shape
	outs    []graph.Shape
	labels  int // index of the labels input, or -1
	classes int
}

func convCase(p graph.Prim, d graph.Dims) primCase {
	x := graph.Shape{d.NB, d.C, d.H, d.W}
	w := graph.Shape{d.O, d.C, d.KH, d.KW}
	y := graph.Shape{d.NB, d.O, d.OutH(), d.OutW()}
	switch p {
	case graph.PrimConv2D:
		return primCase{prim: p, d: d, ins: []graph.Shape{x, w}, outs: []graph.Shape{y}, labels: -1}
	case graph.PrimConv2DGradInput:
		return primCase{prim: p, d: d, ins: []graph.Shape{y, w}, outs: []graph.Shape{x}, labels: -1}
	}
	return primCase{prim: p, d: d, ins: []graph.Shape{y, x}, outs: []graph.Shape{w}, labels: -1}
}

func poolCase(p graph.Prim, d graph.Dims) primCase {
	x := graph.Shape{d.NB, d.C, d.H, d.W}
	y := graph.Shape{d.NB, d.C, d.OutH(), d.OutW()}
	switch p {
	case graph.PrimMaxPool2D, graph.PrimAvgPool2D:
		return primCase{prim: p, d: d, ins: []graph.Shape{x}, outs: []graph.Shape{y}, labels: -1}
	case graph.PrimMaxPool2DGrad:
		return primCase{prim: p, d: d, ins: []graph.Shape{y, x}, outs: []graph.Shape{x}, labels: -1}
	}
	return primCase{prim: p, d: d, ins: []graph.Shape{y}, outs: []graph.Shape{x}, labels: -1}
}

func biasCase(p graph.Prim, nb, c, s int) primCase {
	d := graph.Dims{NB: nb, C: c, S: s}
	x := graph.Shape{nb, c, s}
	if p == graph.PrimBiasAdd {
		return primCase{prim: p, d: d, ins: []graph.Shape{x, {c}}, outs: []graph.Shape{x}, labels: -1}
	}
	return primCase{prim: p, d: d, ins: []graph.Shape{x}, outs: []graph.Shape{{c}}, labels: -1}
}

func softmaxCase(p graph.Prim, nb, c int) primCase {
	d := graph.Dims{NB: nb, C: c}
	pc := primCase{prim: p, d: d, ins: []graph.Shape{{nb, c}, {nb}}, outs: []graph.Shape{{nb, c}}, labels: 1, classes: c}
	if p == graph.PrimSoftmaxXent {
		pc.outs = []graph.Shape{{1}, {nb, c}}
	}
	return pc
}

// randomCases returns primitive applications of random shapes with ragged edges, plus the
// shapes that push each chunking into its rarer branches.
func randomCases(src *rand.Rand, n int) []primCase {
	var cs []primCase
	r := func(lo, hi int) int { return lo + src.IntN(hi-lo+1) }
	for range n {
		k := r(1, 5)
		d := graph.Dims{NB: r(1, 3), C: r(1, 20), H: r(3, 17), W: r(3, 17), O: r(1, 40), KH: k, KW: r(1, 4), SH: r(1, 3), SW: r(1, 3), PH: r(0, 2), PW: r(0, 2)}
		d.H, d.W = max(d.H, d.KH), max(d.W, d.KW)
		for _, p := range []graph.Prim{graph.PrimConv2D, graph.PrimConv2DGradInput, graph.PrimConv2DGradWeight} {
			cs = append(cs, convCase(p, d))
		}
		pd := graph.Dims{NB: r(1, 3), C: r(1, 6), H: r(2, 30), W: r(2, 30), KH: r(1, 3), KW: r(1, 3), SH: r(1, 3), SW: r(1, 3)}
		pd.H, pd.W = max(pd.H, pd.KH), max(pd.W, pd.KW)
		for _, p := range []graph.Prim{graph.PrimMaxPool2D, graph.PrimAvgPool2D, graph.PrimMaxPool2DGrad, graph.PrimAvgPool2DGrad} {
			cs = append(cs, poolCase(p, pd))
		}
		nb, c, s := r(1, 700), r(1, 300), r(1, 3)
		if src.IntN(2) == 0 {
			nb, c, s = r(1, 20), r(1, 20), r(1, 900)
		}
		cs = append(cs, biasCase(graph.PrimBiasAdd, nb, c, s), biasCase(graph.PrimBiasGrad, nb, c, s))
		nb, c = r(1, 900), r(2, 400)
		cs = append(cs, softmaxCase(graph.PrimSoftmaxXent, nb, c), softmaxCase(graph.PrimSoftmaxXentGrad, nb, c))
	}
	// Rarer branches: a reduction longer than a K-segment, elements costlier than a row,
	// output rows longer than a chunk, overlapping pooling windows.
	big := graph.Dims{NB: 2, C: 20, H: 9, W: 11, O: 300, KH: 3, KW: 3, SH: 1, SW: 2, PH: 1, PW: 1}
	for _, p := range []graph.Prim{graph.PrimConv2D, graph.PrimConv2DGradInput, graph.PrimConv2DGradWeight} {
		cs = append(cs, convCase(p, big))
	}
	for _, pd := range []graph.Dims{
		{NB: 1, C: 2, H: 5, W: 2300, KH: 3, KW: 3, SH: 1, SW: 2},
		{NB: 2, C: 3, H: 70, W: 40, KH: 3, KW: 2, SH: 2, SW: 1},
	} {
		for _, p := range []graph.Prim{graph.PrimMaxPool2D, graph.PrimAvgPool2D, graph.PrimMaxPool2DGrad, graph.PrimAvgPool2DGrad} {
			cs = append(cs, poolCase(p, pd))
		}
	}
	cs = append(cs, biasCase(graph.PrimBiasGrad, 512, 128, 1), softmaxCase(graph.PrimSoftmaxXent, 512, 13106))
	return cs
}

// program returns a one-instruction program over fresh slots for c.
func (c primCase) program() *graph.Program {
	p := &graph.Program{LabelSlot: -1, InputSlot: -1, LossSlot: -1}
	in := graph.Instr{Prim: c.prim, Dims: c.d, Node: -1}
	for i, sh := range c.ins {
		if i == c.labels {
			p.LabelSlot = len(p.Slots)
		}
		in.In = append(in.In, len(p.Slots))
		p.Slots = append(p.Slots, graph.Slot{Shape: sh})
	}
	for _, sh := range c.outs {
		in.Out = append(in.Out, len(p.Slots))
		p.Slots = append(p.Slots, graph.Slot{Shape: sh})
	}
	p.Instrs = []graph.Instr{in}
	return p
}

func sameBits(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			return i
		}
	}
	return -1
}

// TestChunksBitExact recomputes every chunked primitive chunk by chunk, as the referee does,
// on random shapes with ragged edges, and checks that the result equals one whole Exec call
// bit for bit, that every chunk costs at most MaxChunkFLOPs and that the chunks' FLOPs add up
// to graph.Program.FLOPs (Conv2DGradInput: at most, as chunks skip padded positions).
func TestChunksBitExact(t *testing.T) {
	ctx := context.Background()
	b, err := cpu.New(cpu.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	src := rand.New(rand.NewPCG(3, 9))
	n := 12
	if testing.Short() {
		n = 3
	}
	for i, c := range randomCases(src, n) {
		t.Run(fmt.Sprintf("%d-%s", i, c.prim), func(t *testing.T) {
			p := c.program()
			in := p.Instrs[0]
			vals := make([][]float32, len(p.Slots))
			call := accel.Call{Prim: c.prim, Dims: c.d}
			for k, s := range in.In {
				v := make([]float32, p.Slots[s].Shape.Size())
				for j := range v {
					if k == c.labels {
						v[j] = math.Float32frombits(uint32(src.IntN(c.classes)))
					} else {
						v[j] = float32(src.NormFloat64())
						if src.IntN(8) == 0 {
							v[j] = float32(src.IntN(3)) // ties for max pooling
						}
					}
				}
				vals[s] = v
				tt := accel.Tensor{Shape: p.Slots[s].Shape, Data: v}
				if k == c.labels {
					tt.Data, tt.Labels = nil, labelsOf(v)
				}
				call.Inputs = append(call.Inputs, tt)
			}
			want, err := b.Exec(ctx, call)
			if err != nil {
				t.Fatal(err)
			}
			partial := make([][]float32, len(in.Out))
			for k, s := range in.Out {
				partial[k] = make([]float32, p.Slots[s].Shape.Size())
			}
			rw := io{
				in: func(s int, idx []int) ([]float32, error) {
					out := make([]float32, len(idx))
					for i, x := range idx {
						out[i] = vals[s][x]
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
			E := numChunks(p, in)
			var total, worst int64
			for e := range E {
				ch := chunkAt(p, in, e)
				if ch.kind == kindWhole {
					t.Fatalf("chunk %d is the whole primitive", e)
				}
				f := chunkFLOPs(p, in, ch)
				total += f
				worst = max(worst, f)
				if f > MaxChunkFLOPs {
					t.Errorf("chunk %d %+v: %d FLOPs", e, ch, f)
				}
				ws, err := compute(ctx, b, p, in, ch, rw)
				if err != nil {
					t.Fatalf("chunk %d %+v: %v", e, ch, err)
				}
				for k, w := range ws {
					for j, x := range w.idx {
						partial[k][x] = w.vals[j]
					}
				}
			}
			for k := range want {
				if j := sameBits(want[k].Data, partial[k]); j >= 0 {
					t.Fatalf("output %d differs at %d: whole %v, chunked %v (%d chunks)", k, j, want[k].Data[j], partial[k][j], E)
				}
			}
			if full := p.FLOPs(in); total != full && !(c.prim == graph.PrimConv2DGradInput && total <= full) {
				t.Errorf("chunks add up to %d FLOPs, the primitive %d", total, full)
			}
			t.Logf("%v: %d chunks, worst %d FLOPs", c.d, E, worst)
		})
	}
}
