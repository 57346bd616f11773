package graph

import "math"

// NumPrims bounds the Prim values: every primitive is below it. It grows when primitives are
// appended.
const NumPrims = int(PrimAdamW) + 1

// Work summarises the program of one training step without its instructions: what a price
// or a memory requirement needs. Graph.StepWork derives it from the graph alone, in one pass
// over the nodes, and Program.Work from a compiled program; for the same graph, batch and
// optimizer the two are equal (the tests hold them equal on every graph kind the SDK builds).
type Work struct {
	// Instrs is the number of instructions, Slots the number of slots of the program.
	Instrs, Slots int
	// Elements is the number of scalars over all slots (Σ Shape.Size()).
	Elements int64
	// Count[p] is the number of instructions of primitive p.
	Count [NumPrims]int
	// FLOPs[p] is the FLOP count (Program.FLOPs) summed over the instructions of primitive
	// p. A sum that would exceed math.MaxInt64 is math.MaxInt64 (saturated).
	FLOPs [NumPrims]int64
}

// StepFLOPs returns the FLOPs of the whole step (Program.StepFLOPs), saturated at
// math.MaxInt64.
func (w *Work) StepFLOPs() int64 {
	var t int64
	for _, f := range w.FLOPs {
		t = satAdd(t, f)
	}
	return t
}

func (w *Work) instr(p Prim, flops int64) {
	w.Instrs++
	w.Count[p]++
	w.FLOPs[p] = satAdd(w.FLOPs[p], flops)
}

func (w *Work) slot(elements int64) {
	w.Slots++
	w.Elements += elements
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Work returns the program's summary (see Work).
func (p *Program) Work() Work {
	var w Work
	for _, in := range p.Instrs {
		w.instr(in.Prim, p.FLOPs(in))
	}
	for _, s := range p.Slots {
		w.slot(int64(s.Shape.Size()))
	}
	return w
}

// StepWork returns what Compile(g, batch, opt).Work() returns, without compiling: it counts
// the forward, backward and update instructions and slots that Compile would emit, node by
// node, by the same rules (the backward rule of each op and the accumulation of gradients
// at a fan-out, then the optimizer's update of every parameter). It fails exactly when
// Compile does, with the same errors. It takes time linear in the number of nodes and
// allocates one byte per node, so it prices graphs far larger than one would compile.
// DecodeWork does the same from a graph's encoding, without building the graph.
func (g *Graph) StepWork(batch int, opt Optimizer) (Work, error) {
	opt, err := checkStep(g, batch, opt)
	if err != nil {
		return Work{}, err
	}
	sc := stepCounter{batch: batch, opt: opt}
	sc.start(len(g.nodes))
	src := &nodeViews{nodes: g.nodes}
	for i := range g.nodes {
		if err := sc.node(i, &g.nodes[i], src); err != nil {
			return Work{}, err
		}
	}
	return sc.finish(), nil
}

// stepCounter counts the work of a training step node by node, in graph order, for batch
// and opt (checked by checkStep). err holds DecodeWork's first error.
type stepCounter struct {
	w     Work
	flags []uint8
	batch int
	nb    int64
	opt   Optimizer
	err   error
}

const (
	needGrad = 1 << iota // the node's output depends on a parameter
	hasGrad              // a gradient contribution to the node has been counted
)

// start prepares counting count nodes.
func (c *stepCounter) start(count int) {
	c.flags, c.nb = make([]uint8, count), int64(c.batch)
	if c.opt.Kind == AdamW {
		c.w.slot(2) // the running powers
		c.w.instr(PrimAdamStep, adamStepFLOPs)
	}
}

func (c *stepCounter) finish() Work { return c.w }

// grad counts one gradient contribution of elems scalars to node k: the first is the node's
// gradient, each further one a PrimAdd into a new slot (Compile's addGrad).
func (c *stepCounter) grad(k int, elems int64) {
	if c.flags[k]&hasGrad != 0 {
		c.w.slot(elems)
		c.w.instr(PrimAdd, elems)
	}
	c.flags[k] |= hasGrad
}

// batchGrad counts a new gradient slot of a batched shape and returns its size.
func (c *stepCounter) batchGrad(s Shape) int64 {
	e := c.nb * int64(s.Size())
	c.w.slot(e)
	return e
}

// node counts node i, n (validated), whose inputs src describes. Compile emits the forward
// pass in graph order, the backward pass in reverse and the updates last; the counts are
// sums, so all three are counted here when node i is reached: whether a node needs a
// gradient depends only on earlier nodes.
func (c *stepCounter) node(i int, n *Node, src *nodeViews) error {
	// Compile checks every node before emitting anything; nothing below fails, so checking
	// here, in the same order, fails with the same first error.
	if err := checkBatch(n, i, c.batch); err != nil {
		return err
	}
	w, batch, nb := &c.w, c.batch, c.nb
	if n.Op == OpParam {
		c.flags[i] |= needGrad
	}
	for _, in := range n.Inputs {
		c.flags[i] |= c.flags[in] & needGrad
	}
	need := c.flags[i]&needGrad != 0
	switch n.Op {
	case OpInput:
		w.slot(nb * int64(n.Shape.Size())) // the batch
		w.slot(nb)                         // its labels
		return nil
	case OpParam:
		p := int64(n.Shape.Size())
		w.slot(p)
		switch c.opt.Kind {
		case SGD:
			w.slot(p) // the velocity
			w.instr(PrimSGD, sgdFLOPs(p))
		case AdamW:
			w.slot(p) // the first moment
			w.slot(p) // the second moment
			w.instr(PrimAdamW, adamWFLOPs(p))
		}
		return nil
	case OpSoftmaxCrossEntropy:
		x := n.Inputs[0]
		xs := src.shape(x)
		w.slot(1)                     // the loss
		w.slot(nb * int64(xs.Size())) // the probabilities
		w.instr(PrimSoftmaxXent, softmaxXentFLOPs(batch, xs[0]))
		if need {
			w.instr(PrimSoftmaxXentGrad, softmaxXentGradFLOPs(batch, xs[0]))
			c.grad(x, c.batchGrad(xs))
		}
		return nil
	}
	out := nb * int64(n.Shape.Size())
	w.slot(out)
	x := n.Inputs[0]
	xs := src.shape(x)
	needX := c.flags[x]&needGrad != 0
	switch n.Op {
	case OpMatMul:
		ws := src.shape(n.Inputs[1])
		w.instr(PrimMatMul, matMulFLOPs(batch, ws[1], ws[0]))
		if need {
			pw := int64(ws.Size())
			w.slot(pw)
			w.instr(PrimMatMul, matMulFLOPs(ws[0], ws[1], batch))
			c.grad(n.Inputs[1], pw)
			if needX {
				w.instr(PrimMatMul, matMulFLOPs(batch, ws[0], ws[1]))
				c.grad(x, c.batchGrad(xs))
			}
		}
	case OpBiasAdd:
		d := biasDims(batch, xs)
		w.instr(PrimBiasAdd, biasFLOPs(&d))
		if need {
			pb := int64(src.shape(n.Inputs[1]).Size())
			w.slot(pb)
			w.instr(PrimBiasGrad, biasFLOPs(&d))
			c.grad(n.Inputs[1], pb)
			if needX {
				c.grad(x, out) // the gradient passes through unchanged
			}
		}
	case OpReLU, OpTanh, OpFlatten, OpMaxPool2D, OpAvgPool2D:
		var fwd, bwd Prim
		var d Dims
		switch n.Op {
		case OpReLU:
			fwd, bwd = PrimReLU, PrimReLUGrad
		case OpTanh:
			fwd, bwd = PrimTanh, PrimTanhGrad
		case OpFlatten:
			fwd, bwd = PrimCopy, PrimCopy
		case OpMaxPool2D:
			fwd, bwd, d = PrimMaxPool2D, PrimMaxPool2DGrad, poolDims(batch, xs, n.Attr)
		case OpAvgPool2D:
			fwd, bwd, d = PrimAvgPool2D, PrimAvgPool2DGrad, poolDims(batch, xs, n.Attr)
		}
		w.instr(fwd, primFLOPs(fwd, &d, out))
		if need && needX {
			dx := c.batchGrad(xs)
			w.instr(bwd, primFLOPs(bwd, &d, dx))
			c.grad(x, dx)
		}
	case OpConv2D:
		ws := src.shape(n.Inputs[1])
		d := convDims(batch, xs, ws, n.Attr)
		w.instr(PrimConv2D, primFLOPs(PrimConv2D, &d, out))
		if need {
			pw := int64(ws.Size())
			w.slot(pw)
			w.instr(PrimConv2DGradWeight, primFLOPs(PrimConv2DGradWeight, &d, pw))
			c.grad(n.Inputs[1], pw)
			if needX {
				dx := c.batchGrad(xs)
				w.instr(PrimConv2DGradInput, primFLOPs(PrimConv2DGradInput, &d, dx))
				c.grad(x, dx)
			}
		}
	}
	return nil
}
