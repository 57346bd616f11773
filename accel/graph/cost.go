package graph

import (
	"fmt"
	"math"

	"github.com/deai-go/deai/internal/rng"
)

// FLOPs returns the exact number of floating-point operations instruction in performs, counted
// as the reference kernels perform them: every multiply, add, subtract, divide, square root,
// comparison and elementary function (exp, log, tanh) is one operation. A copy costs nothing.
// The market prices work from these counts with per-primitive weights.
func (p *Program) FLOPs(in Instr) int64 {
	if len(in.Out) == 0 {
		return primFLOPs(in.Prim, &in.Dims, 0)
	}
	return primFLOPs(in.Prim, &in.Dims, int64(p.Slots[in.Out[0]].Shape.Size()))
}

// primFLOPs is the FLOP count of one primitive with dims d whose first output has out
// elements: the single rule behind Program.FLOPs and Graph.StepWork (which calls the
// per-primitive helpers below directly).
func primFLOPs(prim Prim, d *Dims, out int64) int64 {
	switch prim {
	case PrimMatMul:
		return matMulFLOPs(d.M, d.N, d.K)
	case PrimBiasAdd, PrimBiasGrad:
		return biasFLOPs(d)
	case PrimReLU, PrimReLUGrad, PrimTanh, PrimAdd:
		return out
	case PrimTanhGrad:
		return 3 * out
	case PrimConv2D, PrimConv2DGradWeight:
		return 2 * int64(d.NB) * int64(d.O) * int64(d.OutH()*d.OutW()) * int64(d.C*d.KH*d.KW)
	case PrimConv2DGradInput:
		cols := int64(d.NB) * int64(d.C*d.KH*d.KW) * int64(d.OutH()*d.OutW())
		return 2*int64(d.O)*cols + cols
	case PrimMaxPool2D, PrimAvgPool2D:
		pooled := int64(d.NB) * int64(d.C) * int64(d.OutH()*d.OutW())
		return pooled * int64(d.KH*d.KW)
	case PrimMaxPool2DGrad:
		pooled := int64(d.NB) * int64(d.C) * int64(d.OutH()*d.OutW())
		return pooled * int64(d.KH*d.KW+1)
	case PrimAvgPool2DGrad:
		pooled := int64(d.NB) * int64(d.C) * int64(d.OutH()*d.OutW())
		return pooled * int64(d.KH*d.KW+1)
	case PrimCopy:
		return 0
	case PrimSoftmaxXent:
		return softmaxXentFLOPs(d.NB, d.C)
	case PrimSoftmaxXentGrad:
		return softmaxXentGradFLOPs(d.NB, d.C)
	case PrimSGD:
		return sgdFLOPs(out)
	case PrimAdamStep:
		return adamStepFLOPs
	case PrimAdamW:
		return adamWFLOPs(out)
	}
	return 0
}

// matMulFLOPs: M·N outputs, each K multiplies and K adds.
func matMulFLOPs(m, n, k int) int64 { return 2 * int64(m) * int64(n) * int64(k) }

// biasFLOPs: one add per element of X viewed as [NB, C, S].
func biasFLOPs(d *Dims) int64 { return int64(d.NB) * int64(d.C) * int64(d.S) }

// softmaxXentFLOPs: per row, K compares, K subtracts, K exps, K adds, K divides, one log,
// two subtracts and the add into the total; then one divide.
func softmaxXentFLOPs(nb, k int) int64 { return int64(nb)*(5*int64(k)+4) + 1 }

func softmaxXentGradFLOPs(nb, k int) int64 { return 2 * int64(nb) * int64(k) }

func sgdFLOPs(elems int64) int64 { return 6 * elems }

const adamStepFLOPs = 2

// adamWFLOPs: per element 3 for m, 4 for v, 2 bias corrections, square root, add, divide,
// and 4 for the decayed step; per call 1−β1, 1−β2 and the two corrections (2 each).
func adamWFLOPs(elems int64) int64 { return 16*elems + 6 }

// NodeCost is the work attributed to one graph node in a training step.
type NodeCost struct {
	Node                      int
	Op                        Op
	Forward, Backward, Update int64
}

// Total returns the node's FLOPs over all phases.
func (c NodeCost) Total() int64 { return c.Forward + c.Backward + c.Update }

// Costs returns the exact FLOPs of one training step per graph node, in graph order, plus the
// optimizer-wide work (Node -1) last.
func (p *Program) Costs() []NodeCost {
	out := make([]NodeCost, p.Graph.Len()+1)
	for i := range p.Graph.nodes {
		out[i] = NodeCost{Node: i, Op: p.Graph.nodes[i].Op}
	}
	out[len(out)-1] = NodeCost{Node: -1}
	for _, in := range p.Instrs {
		c := &out[len(out)-1]
		if in.Node >= 0 {
			c = &out[in.Node]
		}
		f := p.FLOPs(in)
		switch in.Phase {
		case PhaseForward:
			c.Forward += f
		case PhaseBackward:
			c.Backward += f
		case PhaseUpdate:
			c.Update += f
		}
	}
	return out
}

// StepFLOPs returns the FLOPs of one whole training step.
func (p *Program) StepFLOPs() int64 {
	var t int64
	for _, in := range p.Instrs {
		t += p.FLOPs(in)
	}
	return t
}

// ForwardFLOPs returns the FLOPs of the forward pass and loss of one step.
func (p *Program) ForwardFLOPs() int64 {
	var t int64
	for _, in := range p.Instrs {
		if in.Phase == PhaseForward {
			t += p.FLOPs(in)
		}
	}
	return t
}

// InitState returns the initial contents of every state slot, in Program.State order, for a
// run seeded with seed. Parameter k (0-based, graph order) draws its values in row-major order
// from rng.New(seed, k): InitHeUniform uses Uniform(−a, a) with a = float32(√(6/fanIn)),
// InitGlorotUniform a = float32(√(6/(fanIn+fanOut))), where the square root and the division
// are computed in float64 (both correctly rounded). InitZeros and all optimizer state are +0,
// except AdamW's running powers, which start at (1, 1).
func (p *Program) InitState(seed uint64) [][]float32 {
	out := make([][]float32, len(p.State))
	for i, s := range p.State {
		slot := p.Slots[s]
		t := make([]float32, slot.Shape.Size())
		out[i] = t
		if slot.Kind == KindOptState && slot.Node < 0 {
			for j := range t {
				t[j] = 1
			}
			continue
		}
		if slot.Kind != KindParam {
			continue
		}
		a := p.Graph.nodes[slot.Node].Attr
		var limit float32
		switch a.Init {
		case InitZeros:
			continue
		case InitHeUniform:
			limit = float32(math.Sqrt(6 / float64(a.FanIn)))
		case InitGlorotUniform:
			limit = float32(math.Sqrt(6 / float64(a.FanIn+a.FanOut)))
		default:
			panic(fmt.Sprintf("graph: validated param with init %d", a.Init))
		}
		r := rng.New(seed, uint64(i))
		for j := range t {
			t[j] = r.Uniform(-limit, limit)
		}
	}
	return out
}
