package cpu

import (
	"fmt"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu/internal/kern"
	"github.com/deai-go/deai/accel/graph"
)

// maxExecElements bounds every tensor an Exec call may ask for, so that hostile dims cannot
// make the backend allocate without limit.
const maxExecElements = 1 << 28

// operands describes a primitive's operands: the shapes of its inputs (labels included, as
// int32) and of its outputs, derived from its dims alone. For PrimCopy the shape of the
// single operand is taken from the caller.
type operands struct {
	in, out [][]int
	labels  int // index of the labels input, or -1
}

func (o operands) inSize(i int) int { return shapeSize(o.in[i]) }

func shapeSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func convShape(d graph.Dims) kern.ConvShape {
	return kern.ConvShape{N: d.NB, C: d.C, H: d.H, W: d.W, O: d.O, KH: d.KH, KW: d.KW, SH: d.SH, SW: d.SW, PH: d.PH, PW: d.PW}
}

func poolShape(d graph.Dims) kern.PoolShape {
	return kern.PoolShape{N: d.NB, C: d.C, H: d.H, W: d.W, KH: d.KH, KW: d.KW, SH: d.SH, SW: d.SW}
}

// positive checks that every value is in [1, maxExecElements] and that their product is too.
func positive(what string, vals ...int) error {
	p := 1
	for _, v := range vals {
		if v < 1 || v > maxExecElements {
			return fmt.Errorf("%w: %s: size %d out of range [1, %d]", accel.ErrInvalidArgument, what, v, maxExecElements)
		}
		// p ≤ maxExecElements, so the check cannot overflow a 32-bit int (386).
		if v > maxExecElements/p {
			return fmt.Errorf("%w: %s: %v holds more than %d elements", accel.ErrInvalidArgument, what, vals, maxExecElements)
		}
		p *= v
	}
	return nil
}

// operandsOf returns the operand shapes of a primitive with dims d; n is the element count of
// the element-wise primitives (taken from the first input).
func operandsOf(p graph.Prim, d graph.Dims, n int) (operands, error) {
	o := operands{labels: -1}
	switch p {
	case graph.PrimMatMul:
		if err := positive("matmul", d.M, d.N, d.K); err != nil {
			return o, err
		}
		if err := positive("matmul", d.M, d.N); err != nil {
			return o, err
		}
		a, b := []int{d.M, d.K}, []int{d.K, d.N}
		if d.TransA {
			a = []int{d.K, d.M}
		}
		if d.TransB {
			b = []int{d.N, d.K}
		}
		o.in, o.out = [][]int{a, b}, [][]int{{d.M, d.N}}
	case graph.PrimBiasAdd, graph.PrimBiasGrad:
		if err := positive("bias", d.NB, d.C, d.S); err != nil {
			return o, err
		}
		x := []int{d.NB, d.C, d.S}
		if p == graph.PrimBiasAdd {
			o.in, o.out = [][]int{x, {d.C}}, [][]int{x}
		} else {
			o.in, o.out = [][]int{x}, [][]int{{d.C}}
		}
	case graph.PrimReLU, graph.PrimTanh, graph.PrimCopy:
		if err := positive(p.String(), n); err != nil {
			return o, err
		}
		o.in, o.out = [][]int{{n}}, [][]int{{n}}
	case graph.PrimReLUGrad, graph.PrimTanhGrad, graph.PrimAdd:
		if err := positive(p.String(), n); err != nil {
			return o, err
		}
		o.in, o.out = [][]int{{n}, {n}}, [][]int{{n}}
	case graph.PrimConv2D, graph.PrimConv2DGradInput, graph.PrimConv2DGradWeight:
		s := convShape(d)
		if err := s.Validate(); err != nil {
			return o, fmt.Errorf("%w: %v", accel.ErrInvalidArgument, err)
		}
		for _, n := range []int{s.XLen(), s.YLen(), s.WLen(), s.ColLen()} {
			if err := positive("conv2d", n); err != nil {
				return o, err
			}
		}
		x, w, y := []int{d.NB, d.C, d.H, d.W}, []int{d.O, d.C, d.KH, d.KW}, []int{d.NB, d.O, s.OH(), s.OW()}
		switch p {
		case graph.PrimConv2D:
			o.in, o.out = [][]int{x, w}, [][]int{y}
		case graph.PrimConv2DGradInput:
			o.in, o.out = [][]int{y, w}, [][]int{x}
		default:
			o.in, o.out = [][]int{y, x}, [][]int{w}
		}
	case graph.PrimMaxPool2D, graph.PrimAvgPool2D, graph.PrimMaxPool2DGrad, graph.PrimAvgPool2DGrad:
		s := poolShape(d)
		if err := s.Validate(); err != nil {
			return o, fmt.Errorf("%w: %v", accel.ErrInvalidArgument, err)
		}
		for _, n := range []int{s.XLen(), s.YLen()} {
			if err := positive("pool", n); err != nil {
				return o, err
			}
		}
		x, y := []int{d.NB, d.C, d.H, d.W}, []int{d.NB, d.C, s.OH(), s.OW()}
		switch p {
		case graph.PrimMaxPool2D, graph.PrimAvgPool2D:
			o.in, o.out = [][]int{x}, [][]int{y}
		case graph.PrimMaxPool2DGrad:
			o.in, o.out = [][]int{y, x}, [][]int{x}
		default:
			o.in, o.out = [][]int{y}, [][]int{x}
		}
	case graph.PrimSoftmaxXent, graph.PrimSoftmaxXentGrad:
		if err := positive("softmax", d.NB, d.C); err != nil {
			return o, err
		}
		o.labels = 1
		if p == graph.PrimSoftmaxXent {
			o.in, o.out = [][]int{{d.NB, d.C}, {d.NB}}, [][]int{{1}, {d.NB, d.C}}
		} else {
			o.in, o.out = [][]int{{d.NB, d.C}, {d.NB}}, [][]int{{d.NB, d.C}}
		}
	case graph.PrimSGD:
		if err := positive("sgd", n); err != nil {
			return o, err
		}
		o.in, o.out = [][]int{{n}, {n}, {n}}, [][]int{{n}, {n}}
	case graph.PrimAdamStep:
		o.in, o.out = [][]int{{2}}, [][]int{{2}}
	case graph.PrimAdamW:
		if err := positive("adamw", n); err != nil {
			return o, err
		}
		o.in, o.out = [][]int{{n}, {n}, {n}, {n}, {2}}, [][]int{{n}, {n}, {n}}
	default:
		return o, fmt.Errorf("%w: primitive %s", accel.ErrUnsupported, p)
	}
	return o, nil
}

// scratch holds the per-run buffers the convolution kernels need, and the reusable tasks that
// split pooling and the element-wise primitives across workers.
type scratch struct {
	col  []float32
	pool poolTask
	elem elemTask
	bias biasTask
}

// elemGrain is the least number of elements an element-wise primitive hands to a worker.
const elemGrain = 1 << 14

// elemTask runs an element-wise primitive (ReLU, ReLUGrad, SGD, AdamW) on a range of elements:
// each element depends on the same element of the operands only, so splitting changes no bit.
type elemTask struct {
	prim            graph.Prim
	d               graph.Dims
	out, a, b, m, v []float32
	c1, c2          float32 // AdamW bias corrections
}

// Range runs the primitive on elements [lo, hi).
func (t *elemTask) Range(lo, hi int) {
	d := t.d
	switch t.prim {
	case graph.PrimReLU:
		kern.ReLU(t.out[lo:hi], t.a[lo:hi])
	case graph.PrimReLUGrad:
		kern.ReLUGrad(t.out[lo:hi], t.a[lo:hi], t.b[lo:hi])
	case graph.PrimSGD:
		kern.SGD(t.out[lo:hi], t.a[lo:hi], t.v[lo:hi], d.LR, d.Momentum, d.WeightDecay)
	case graph.PrimAdamW:
		kern.AdamW(t.out[lo:hi], t.a[lo:hi], t.m[lo:hi], t.v[lo:hi], d.LR, d.Beta1, d.Beta2, d.Eps, d.WeightDecay, t.c1, t.c2)
	}
}

// runElem runs t over its n elements, split across the workers, and clears it.
func runElem(par kern.Par, sc *scratch, t elemTask, n int) {
	var p *elemTask
	if sc != nil {
		p = &sc.elem
	} else {
		p = new(elemTask)
	}
	*p = t
	par.Run(n, elemGrain, p)
	*p = elemTask{}
}

// poolTask runs a pooling primitive on a range of samples: every output plane depends on its own
// input plane only, so splitting the batch changes no bit. It is reused, so that a step
// allocates nothing.
type poolTask struct {
	prim      graph.Prim
	s         kern.PoolShape
	out, a, b []float32 // outs[0], ins[0], ins[1] of the primitive
}

// Range runs the primitive on samples [lo, hi).
func (t *poolTask) Range(lo, hi int) {
	s := t.s
	s.N = hi - lo
	xn, yn := s.C*s.H*s.W, s.C*s.OH()*s.OW()
	switch t.prim {
	case graph.PrimMaxPool2D:
		kern.MaxPool2D(t.out[lo*yn:hi*yn], t.a[lo*xn:hi*xn], s)
	case graph.PrimMaxPool2DGrad:
		kern.MaxPool2DGrad(t.out[lo*xn:hi*xn], t.a[lo*yn:hi*yn], t.b[lo*xn:hi*xn], s)
	case graph.PrimAvgPool2D:
		kern.AvgPool2D(t.out[lo*yn:hi*yn], t.a[lo*xn:hi*xn], s)
	case graph.PrimAvgPool2DGrad:
		kern.AvgPool2DGrad(t.out[lo*xn:hi*xn], t.a[lo*yn:hi*yn], s)
	}
}

// runPool runs a pooling primitive split over the batch.
func runPool(par kern.Par, sc *scratch, p graph.Prim, d graph.Dims, ins, outs [][]float32) {
	var t *poolTask
	if sc != nil {
		t = &sc.pool
	} else {
		t = new(poolTask)
	}
	*t = poolTask{prim: p, s: poolShape(d), out: outs[0], a: ins[0]}
	if len(ins) > 1 {
		t.b = ins[1]
	}
	par.Run(d.NB, max(1, (1<<15)/max(1, d.C*d.H*d.W)), t)
	*t = poolTask{}
}

func (s *scratch) get(n int) []float32 {
	if cap(s.col) < n {
		s.col = make([]float32, n)
	}
	return s.col[:n]
}

// execute runs primitive p on flat operands: ins are the float inputs in order (the labels
// input, if any, is nil there and passed as labels), outs the outputs, which may alias inputs
// only where the primitive updates in place (the optimizer primitives, whose outs are their
// state inputs). It returns the loss for PrimSoftmaxXent. Shapes must have been checked.
func execute(par kern.Par, sc *scratch, p graph.Prim, d graph.Dims, ins [][]float32, labels []int32, outs [][]float32) {
	switch p {
	case graph.PrimMatMul:
		lda, ldb := d.K, d.N
		if d.TransA {
			lda = d.M
		}
		if d.TransB {
			ldb = d.K
		}
		kern.Gemm(par, d.TransA, d.TransB, d.M, d.N, d.K, ins[0], lda, ins[1], ldb, outs[0], d.N, false)
	case graph.PrimBiasAdd:
		sc.bias = biasTask{out: outs[0], in: ins[0], b: ins[1], c: d.C, s: d.S}
		par.Run(d.NB*d.C, max(1, (1<<15)/max(d.S, 1)), &sc.bias)
		sc.bias = biasTask{}
	case graph.PrimBiasGrad:
		sc.bias = biasTask{grad: true, out: outs[0], in: ins[0], n: d.NB, c: d.C, s: d.S}
		par.Run(d.C, max(1, (1<<15)/max(d.NB*d.S, 1)), &sc.bias)
		sc.bias = biasTask{}
	case graph.PrimReLU:
		runElem(par, sc, elemTask{prim: p, out: outs[0], a: ins[0]}, len(outs[0]))
	case graph.PrimReLUGrad:
		runElem(par, sc, elemTask{prim: p, out: outs[0], a: ins[0], b: ins[1]}, len(outs[0]))
	case graph.PrimTanh:
		kern.Tanh(outs[0], ins[0])
	case graph.PrimTanhGrad:
		kern.TanhGrad(outs[0], ins[0], ins[1])
	case graph.PrimCopy:
		copy(outs[0], ins[0])
	case graph.PrimAdd:
		kern.Add(outs[0], ins[0], ins[1])
	case graph.PrimConv2D:
		s := convShape(d)
		kern.Conv2D(par, outs[0], ins[0], ins[1], sc.get(s.ColLen()), s)
	case graph.PrimConv2DGradInput:
		s := convShape(d)
		kern.Conv2DGradInput(par, outs[0], ins[0], ins[1], sc.get(s.ColLen()), s)
	case graph.PrimConv2DGradWeight:
		s := convShape(d)
		kern.Conv2DGradWeight(par, outs[0], ins[0], ins[1], sc.get(s.ColLen()), s)
	case graph.PrimMaxPool2D, graph.PrimMaxPool2DGrad, graph.PrimAvgPool2D, graph.PrimAvgPool2DGrad:
		runPool(par, sc, p, d, ins, outs)
	case graph.PrimSoftmaxXent:
		outs[0][0] = kern.SoftmaxXent(outs[1], ins[0], labels, d.NB, d.C)
	case graph.PrimSoftmaxXentGrad:
		kern.SoftmaxXentGrad(outs[0], ins[0], labels, d.NB, d.C)
	case graph.PrimSGD:
		copyIfDistinct(outs[0], ins[0])
		copyIfDistinct(outs[1], ins[2])
		runElem(par, sc, elemTask{prim: p, d: d, out: outs[0], a: ins[1], v: outs[1]}, len(outs[0]))
	case graph.PrimAdamStep:
		outs[0][0], outs[0][1] = float32(ins[0][0]*d.Beta1), float32(ins[0][1]*d.Beta2)
	case graph.PrimAdamW:
		copyIfDistinct(outs[0], ins[0])
		copyIfDistinct(outs[1], ins[2])
		copyIfDistinct(outs[2], ins[3])
		pow := ins[4]
		c1, c2 := 1/(1-pow[0]), 1/(1-pow[1])
		runElem(par, sc, elemTask{prim: p, d: d, out: outs[0], a: ins[1], m: outs[1], v: outs[2], c1: c1, c2: c2}, len(outs[0]))
	default:
		panic(fmt.Sprintf("cpu: execute: unchecked primitive %s", p))
	}
}

// biasTask runs BiasAdd (out = in + bias, by rows of one channel of one sample) or BiasGrad
// (by channels) in parallel.
type biasTask struct {
	grad       bool
	out, in, b []float32
	n, c, s    int
}

// Range implements kern.Ranger.
func (t *biasTask) Range(lo, hi int) {
	if t.grad {
		kern.BiasGradChannels(t.out, t.in, t.n, t.c, t.s, lo, hi)
		return
	}
	copy(t.out[lo*t.s:hi*t.s], t.in[lo*t.s:hi*t.s])
	kern.BiasAddRows(t.out, t.b, t.c, t.s, lo, hi)
}

func copyIfDistinct(dst, src []float32) {
	if len(dst) > 0 && len(src) > 0 && &dst[0] == &src[0] {
		return
	}
	copy(dst, src)
}
