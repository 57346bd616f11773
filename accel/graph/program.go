package graph

import (
	"errors"
	"fmt"
	"math"
)

// Prim is a primitive operation of a training-step program. A Program lists, in one fixed
// topological order, every primitive that one training step performs: the forward pass, the
// loss, the backward pass and the optimizer update. The arithmetic of each primitive is
// specified by the reference kernels (package accel/cpu documents it); any backend that claims
// to be bit-exact reproduces it bit for bit. Values are part of canonical encodings; new
// primitives are appended.
type Prim uint8

// The primitives.
const (
	PrimMatMul           Prim = 1  // C[M,N] = op(A)·op(B), op per TransA/TransB
	PrimBiasAdd          Prim = 2  // Y[N,C,S] = X + b[C]
	PrimBiasGrad         Prim = 3  // db[C] = Σ_n Σ_s dY[n,c,s]
	PrimReLU             Prim = 4  // Y = X > 0 ? X : +0
	PrimReLUGrad         Prim = 5  // dX = Y > 0 ? dY : +0 (inputs dY, Y)
	PrimTanh             Prim = 6  // Y = tanh X
	PrimTanhGrad         Prim = 7  // dX = dY·(1 − Y²) (inputs dY, Y)
	PrimConv2D           Prim = 8  // Y = X ⋆ W (inputs X, W)
	PrimConv2DGradInput  Prim = 9  // dX (inputs dY, W)
	PrimConv2DGradWeight Prim = 10 // dW (inputs dY, X)
	PrimMaxPool2D        Prim = 11 // Y = max over windows of X
	PrimMaxPool2DGrad    Prim = 12 // dX (inputs dY, X)
	PrimAvgPool2D        Prim = 13 // Y = mean over windows of X
	PrimAvgPool2DGrad    Prim = 14 // dX (input dY)
	PrimCopy             Prim = 15 // Y = X with another shape (flatten and its gradient)
	PrimAdd              Prim = 16 // Z = X + Y (gradient accumulation at a fan-out)
	PrimSoftmaxXent      Prim = 17 // loss[1], P[N,K] from logits[N,K] and labels[N]
	PrimSoftmaxXentGrad  Prim = 18 // dlogits from P and labels
	PrimSGD              Prim = 19 // W, V updated in place from W, G, V
	PrimAdamStep         Prim = 20 // pow[2] = (pow0·β1, pow1·β2)
	PrimAdamW            Prim = 21 // W, M, V updated in place from W, G, M, V, pow
)

var primNames = map[Prim]string{
	PrimMatMul: "matmul", PrimBiasAdd: "bias_add", PrimBiasGrad: "bias_grad", PrimReLU: "relu",
	PrimReLUGrad: "relu_grad", PrimTanh: "tanh", PrimTanhGrad: "tanh_grad", PrimConv2D: "conv2d",
	PrimConv2DGradInput: "conv2d_grad_input", PrimConv2DGradWeight: "conv2d_grad_weight",
	PrimMaxPool2D: "maxpool2d", PrimMaxPool2DGrad: "maxpool2d_grad", PrimAvgPool2D: "avgpool2d",
	PrimAvgPool2DGrad: "avgpool2d_grad", PrimCopy: "copy", PrimAdd: "add",
	PrimSoftmaxXent: "softmax_xent", PrimSoftmaxXentGrad: "softmax_xent_grad", PrimSGD: "sgd",
	PrimAdamStep: "adam_step", PrimAdamW: "adamw",
}

// String returns the primitive's name.
func (p Prim) String() string {
	if s, ok := primNames[p]; ok {
		return s
	}
	return fmt.Sprintf("prim(%d)", uint8(p))
}

// Valid reports whether p is a known primitive.
func (p Prim) Valid() bool { _, ok := primNames[p]; return ok }

// Kind says what a program slot holds.
type Kind uint8

// Slot kinds.
const (
	KindInput      Kind = 1 // the batch's samples
	KindLabels     Kind = 2 // the batch's labels (int32)
	KindParam      Kind = 3 // a trainable tensor (state)
	KindOptState   Kind = 4 // optimizer state (state)
	KindActivation Kind = 5 // a forward value
	KindGrad       Kind = 6 // a gradient
	KindLoss       Kind = 7 // the scalar loss
)

// IsState reports whether slots of kind k are part of the training state.
func (k Kind) IsState() bool { return k == KindParam || k == KindOptState }

// Slot is one tensor of a program. Shapes include the batch axis.
type Slot struct {
	Name  string
	Kind  Kind
	Shape Shape
	Node  int // the graph node it belongs to, or -1 for optimizer-wide state
}

// Phase says which part of a step an instruction belongs to.
type Phase uint8

// Phases of a training step.
const (
	PhaseForward  Phase = 1
	PhaseBackward Phase = 2
	PhaseUpdate   Phase = 3
)

// Dims holds the sizes and hyperparameters a primitive needs. Which fields matter depends on
// the primitive: M, N, K for PrimMatMul (C is M×N, the sum runs over K); N, C, S for the bias
// primitives (X viewed as [N, C, S]); the convolution and pooling geometry for those; the
// optimizer's hyperparameters for the update primitives.
type Dims struct {
	TransA, TransB bool
	M, N, K        int
	// Geometry: batch NB, channels C, input H×W, output channels O, window KH×KW, stride
	// SH×SW, padding PH×PW. S is the trailing size of bias primitives.
	NB, C, H, W, O, KH, KW, SH, SW, PH, PW, S int
	// Optimizer hyperparameters.
	LR, Momentum, WeightDecay, Beta1, Beta2, Eps float32
}

// Instr is one primitive application: Out = Prim(In) with slots named by index. Update
// primitives write their state outputs in place: their Out slots are among their In slots.
type Instr struct {
	Prim  Prim
	In    []int
	Out   []int
	Dims  Dims
	Node  int // the graph node this instruction derives from, or -1 (optimizer-wide)
	Phase Phase
}

// OptKind selects an optimizer.
type OptKind uint8

// Optimizers.
const (
	// SGD is stochastic gradient descent with momentum and L2 weight decay:
	// g' = g + wd·w; v = μ·v + g'; w = w − lr·v.
	SGD OptKind = 1
	// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter):
	// m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; w = w − lr·(m̂/(√v̂ + ε) + wd·w).
	AdamW OptKind = 2
)

// Optimizer configures the update phase. The zero value is not valid; use Defaults.
type Optimizer struct {
	Kind        OptKind
	LR          float32
	Momentum    float32 // SGD
	WeightDecay float32
	Beta1       float32 // AdamW
	Beta2       float32 // AdamW
	Eps         float32 // AdamW
}

// EnsureDefaults fills unset fields: Kind AdamW; LR 0.001 (AdamW) or 0.01 (SGD); Momentum
// 0.9; Beta1 0.9; Beta2 0.999; Eps 1e-8. WeightDecay stays as given (0 means none).
func (o Optimizer) EnsureDefaults() Optimizer {
	if o.Kind == 0 {
		o.Kind = AdamW
	}
	if o.LR == 0 {
		o.LR = 0.001
		if o.Kind == SGD {
			o.LR = 0.01
		}
	}
	if o.Kind == SGD && o.Momentum == 0 {
		o.Momentum = 0.9
	}
	if o.Kind == AdamW {
		if o.Beta1 == 0 {
			o.Beta1 = 0.9
		}
		if o.Beta2 == 0 {
			o.Beta2 = 0.999
		}
		if o.Eps == 0 {
			o.Eps = 1e-8
		}
	}
	return o
}

// Validate reports every problem with o at once.
func (o Optimizer) Validate() error {
	var errs []error
	finite := func(name string, v, lo, hi float32) {
		if math.IsNaN(float64(v)) || v < lo || v > hi {
			errs = append(errs, fmt.Errorf("graph: optimizer: %s %v out of range [%v, %v]", name, v, lo, hi))
		}
	}
	switch o.Kind {
	case SGD:
		finite("momentum", o.Momentum, 0, 0.9999)
	case AdamW:
		finite("beta1", o.Beta1, 0, 0.9999)
		finite("beta2", o.Beta2, 0, 0.999999)
		finite("eps", o.Eps, 1e-30, 1)
	default:
		errs = append(errs, fmt.Errorf("graph: optimizer: unknown kind %d", o.Kind))
	}
	finite("learning rate", o.LR, 1e-12, 10)
	finite("weight decay", o.WeightDecay, 0, 1)
	return errors.Join(errs...)
}

// Program is the compiled training step of a graph for one batch size and optimizer. It is
// immutable and safe for concurrent use.
type Program struct {
	Graph  *Graph
	Batch  int
	Opt    Optimizer
	Slots  []Slot
	Instrs []Instr
	// InputSlot, LabelSlot and LossSlot locate the batch and the loss.
	InputSlot, LabelSlot, LossSlot int
	// Params lists the parameter slots in graph order; State lists every state slot (params
	// first, then optimizer state) in the order the state hash covers them.
	Params []int
	State  []int
}

// MaxBatch bounds the batch size a program may be compiled for, and MaxBatchElements the
// elements of any batched tensor (so that every index fits a 32-bit int, and 386 computes
// what amd64 does).
const (
	MaxBatch         = 1 << 16
	MaxBatchElements = 1<<31 - 1
)

type compiler struct {
	p    *Program
	out  []int // graph node → forward slot
	grad []int // graph node → gradient slot, -1 when none yet
	need []bool
}

func (c *compiler) slot(name string, kind Kind, node int, shape ...int) int {
	c.p.Slots = append(c.p.Slots, Slot{Name: name, Kind: kind, Shape: shape, Node: node})
	return len(c.p.Slots) - 1
}

func (c *compiler) emit(prim Prim, phase Phase, node int, d Dims, in []int, out ...int) {
	c.p.Instrs = append(c.p.Instrs, Instr{Prim: prim, In: in, Out: out, Dims: d, Node: node, Phase: phase})
}

func (c *compiler) batchShape(node int) []int {
	return append([]int{c.p.Batch}, c.p.Graph.nodes[node].Shape...)
}

// addGrad records contribution slot s to the gradient of node i, accumulating with a PrimAdd
// when the node already has one (its output fans out).
func (c *compiler) addGrad(i, s, from int) {
	if c.grad[i] < 0 {
		c.grad[i] = s
		return
	}
	sh := c.p.Slots[s].Shape
	sum := c.slot(fmt.Sprintf("d%s+%d", c.p.Graph.nodes[i].Name, from), kindOfGrad(c.p.Graph.nodes[i]), i, sh...)
	c.emit(PrimAdd, PhaseBackward, i, Dims{}, []int{c.grad[i], s}, sum)
	c.grad[i] = sum
}

func kindOfGrad(Node) Kind { return KindGrad }

// Compile turns a graph into the program of one training step for the given batch size and
// optimizer (defaults applied): reverse-mode automatic differentiation over the graph, then
// the optimizer's update of every parameter. The result depends only on its arguments.
func Compile(g *Graph, batch int, opt Optimizer) (*Program, error) {
	opt, err := checkStep(g, batch, opt)
	if err != nil {
		return nil, err
	}
	for i := range g.nodes {
		if err := checkBatch(&g.nodes[i], i, batch); err != nil {
			return nil, err
		}
	}
	nodes := g.nodes
	c := &compiler{p: &Program{Graph: g, Batch: batch, Opt: opt}, out: make([]int, len(nodes)),
		grad: make([]int, len(nodes)), need: make([]bool, len(nodes))}
	p := c.p
	for i := range c.grad {
		c.grad[i] = -1
	}
	// need[i]: node i's output depends on a parameter, so its gradient is needed.
	for i, n := range nodes {
		c.need[i] = n.Op == OpParam
		for _, in := range n.Inputs {
			c.need[i] = c.need[i] || c.need[in]
		}
	}
	// Forward.
	for i, n := range nodes {
		in := func(k int) int { return c.out[n.Inputs[k]] }
		shape := c.batchShape(i)
		switch n.Op {
		case OpInput:
			p.InputSlot = c.slot("input", KindInput, i, shape...)
			p.LabelSlot = c.slot("labels", KindLabels, i, batch)
			c.out[i] = p.InputSlot
			continue
		case OpParam:
			c.out[i] = c.slot(n.Name, KindParam, i, n.Shape...)
			p.Params = append(p.Params, c.out[i])
			continue
		case OpSoftmaxCrossEntropy:
			p.LossSlot = c.slot("loss", KindLoss, i, 1)
			probs := c.slot("probs", KindActivation, i, c.batchShape(n.Inputs[0])...)
			c.out[i] = p.LossSlot
			k := nodes[n.Inputs[0]].Shape[0]
			c.emit(PrimSoftmaxXent, PhaseForward, i, Dims{NB: batch, C: k}, []int{in(0), p.LabelSlot}, p.LossSlot, probs)
			continue
		}
		y := c.slot(n.Name, KindActivation, i, shape...)
		c.out[i] = y
		xs := nodes[n.Inputs[0]].Shape
		switch n.Op {
		case OpMatMul:
			w := nodes[n.Inputs[1]].Shape
			c.emit(PrimMatMul, PhaseForward, i, Dims{M: batch, N: w[1], K: w[0]}, []int{in(0), in(1)}, y)
		case OpBiasAdd:
			c.emit(PrimBiasAdd, PhaseForward, i, biasDims(batch, xs), []int{in(0), in(1)}, y)
		case OpReLU:
			c.emit(PrimReLU, PhaseForward, i, Dims{}, []int{in(0)}, y)
		case OpTanh:
			c.emit(PrimTanh, PhaseForward, i, Dims{}, []int{in(0)}, y)
		case OpFlatten:
			c.emit(PrimCopy, PhaseForward, i, Dims{}, []int{in(0)}, y)
		case OpConv2D:
			c.emit(PrimConv2D, PhaseForward, i, convDims(batch, xs, nodes[n.Inputs[1]].Shape, n.Attr), []int{in(0), in(1)}, y)
		case OpMaxPool2D:
			c.emit(PrimMaxPool2D, PhaseForward, i, poolDims(batch, xs, n.Attr), []int{in(0)}, y)
		case OpAvgPool2D:
			c.emit(PrimAvgPool2D, PhaseForward, i, poolDims(batch, xs, n.Attr), []int{in(0)}, y)
		}
	}
	// Backward, in reverse topological order.
	last := len(nodes) - 1
	for i := last; i >= 0; i-- {
		n := nodes[i]
		if !c.need[i] || n.Op == OpParam {
			continue
		}
		gradSlot := func(k int, shape []int) int {
			src := n.Inputs[k]
			return c.slot("d"+nodes[src].Name+"@"+n.Name, KindGrad, src, shape...)
		}
		x := n.Inputs
		if n.Op == OpSoftmaxCrossEntropy {
			probs := c.out[i] + 1
			d := gradSlot(0, c.batchShape(x[0]))
			c.emit(PrimSoftmaxXentGrad, PhaseBackward, i, Dims{NB: batch, C: nodes[x[0]].Shape[0]}, []int{probs, p.LabelSlot}, d)
			c.addGrad(x[0], d, i)
			continue
		}
		dy := c.grad[i]
		if dy < 0 {
			return nil, fmt.Errorf("graph: internal: node %d (%s) has no gradient", i, n.Op)
		}
		switch n.Op {
		case OpMatMul:
			w := nodes[x[1]].Shape
			dw := gradSlot(1, w)
			c.emit(PrimMatMul, PhaseBackward, i, Dims{TransA: true, M: w[0], N: w[1], K: batch}, []int{c.out[x[0]], dy}, dw)
			c.addGrad(x[1], dw, i)
			if c.need[x[0]] {
				dx := gradSlot(0, c.batchShape(x[0]))
				c.emit(PrimMatMul, PhaseBackward, i, Dims{TransB: true, M: batch, N: w[0], K: w[1]}, []int{dy, c.out[x[1]]}, dx)
				c.addGrad(x[0], dx, i)
			}
		case OpBiasAdd:
			db := gradSlot(1, nodes[x[1]].Shape)
			c.emit(PrimBiasGrad, PhaseBackward, i, biasDims(batch, nodes[x[0]].Shape), []int{dy}, db)
			c.addGrad(x[1], db, i)
			if c.need[x[0]] {
				c.addGrad(x[0], dy, i) // the gradient passes through unchanged
			}
		case OpReLU, OpTanh, OpFlatten, OpMaxPool2D, OpAvgPool2D:
			if !c.need[x[0]] {
				continue
			}
			dx := gradSlot(0, c.batchShape(x[0]))
			xs := nodes[x[0]].Shape
			switch n.Op {
			case OpReLU:
				c.emit(PrimReLUGrad, PhaseBackward, i, Dims{}, []int{dy, c.out[i]}, dx)
			case OpTanh:
				c.emit(PrimTanhGrad, PhaseBackward, i, Dims{}, []int{dy, c.out[i]}, dx)
			case OpFlatten:
				c.emit(PrimCopy, PhaseBackward, i, Dims{}, []int{dy}, dx)
			case OpMaxPool2D:
				c.emit(PrimMaxPool2DGrad, PhaseBackward, i, poolDims(batch, xs, n.Attr), []int{dy, c.out[x[0]]}, dx)
			case OpAvgPool2D:
				c.emit(PrimAvgPool2DGrad, PhaseBackward, i, poolDims(batch, xs, n.Attr), []int{dy}, dx)
			}
			c.addGrad(x[0], dx, i)
		case OpConv2D:
			d := convDims(batch, nodes[x[0]].Shape, nodes[x[1]].Shape, n.Attr)
			dw := gradSlot(1, nodes[x[1]].Shape)
			c.emit(PrimConv2DGradWeight, PhaseBackward, i, d, []int{dy, c.out[x[0]]}, dw)
			c.addGrad(x[1], dw, i)
			if c.need[x[0]] {
				dx := gradSlot(0, c.batchShape(x[0]))
				c.emit(PrimConv2DGradInput, PhaseBackward, i, d, []int{dy, c.out[x[1]]}, dx)
				c.addGrad(x[0], dx, i)
			}
		default:
			return nil, fmt.Errorf("graph: internal: no gradient rule for %s", n.Op)
		}
	}
	// Update.
	p.State = append(p.State, p.Params...)
	d := Dims{LR: opt.LR, Momentum: opt.Momentum, WeightDecay: opt.WeightDecay, Beta1: opt.Beta1, Beta2: opt.Beta2, Eps: opt.Eps}
	switch opt.Kind {
	case SGD:
		for _, w := range p.Params {
			s := p.Slots[w]
			v := c.slot(s.Name+".v", KindOptState, s.Node, s.Shape...)
			p.State = append(p.State, v)
			c.emit(PrimSGD, PhaseUpdate, s.Node, d, []int{w, c.grad[s.Node], v}, w, v)
		}
	case AdamW:
		pow := c.slot("adam.pow", KindOptState, -1, 2)
		p.State = append(p.State, pow)
		c.emit(PrimAdamStep, PhaseUpdate, -1, d, []int{pow}, pow)
		for _, w := range p.Params {
			s := p.Slots[w]
			m := c.slot(s.Name+".m", KindOptState, s.Node, s.Shape...)
			v := c.slot(s.Name+".v", KindOptState, s.Node, s.Shape...)
			p.State = append(p.State, m, v)
			c.emit(PrimAdamW, PhaseUpdate, s.Node, d, []int{w, c.grad[s.Node], m, v, pow}, w, m, v)
		}
	}
	for _, w := range p.Params {
		if c.grad[p.Slots[w].Node] < 0 {
			return nil, fmt.Errorf("graph: internal: param %s has no gradient", p.Slots[w].Name)
		}
	}
	return p, nil
}

// checkStep checks the arguments of Compile and StepWork and returns opt with defaults;
// then every node must pass checkBatch, in graph order.
func checkStep(g *Graph, batch int, opt Optimizer) (Optimizer, error) {
	if g == nil {
		return opt, fmt.Errorf("%w: nil graph", ErrInvalidGraph)
	}
	if batch < 1 || batch > MaxBatch {
		return opt, fmt.Errorf("graph: batch size %d out of range [1, %d]", batch, MaxBatch)
	}
	opt = opt.EnsureDefaults()
	if err := opt.Validate(); err != nil {
		return opt, err
	}
	return opt, nil
}

// checkBatch reports whether node i's batched output stays within MaxBatchElements.
func checkBatch(n *Node, i, batch int) error {
	if n.Op != OpParam && n.Op != OpSoftmaxCrossEntropy && int64(batch)*int64(n.Shape.Size()) > MaxBatchElements {
		return batchError(n, i, batch)
	}
	return nil
}

func batchError(n *Node, i, batch int) error {
	return fmt.Errorf("graph: batch %d of node %d (%s, %v per sample) exceeds %d elements", batch, i, n.Op, n.Shape, MaxBatchElements)
}

func biasDims(batch int, x Shape) Dims {
	s := 1
	for _, d := range x[1:] {
		s *= d
	}
	return Dims{NB: batch, C: x[0], S: s}
}

func convDims(batch int, x, w Shape, a Attr) Dims {
	return Dims{NB: batch, C: x[0], H: x[1], W: x[2], O: w[0], KH: a.KH, KW: a.KW, SH: a.SH, SW: a.SW, PH: a.PH, PW: a.PW}
}

func poolDims(batch int, x Shape, a Attr) Dims {
	return Dims{NB: batch, C: x[0], H: x[1], W: x[2], KH: a.KH, KW: a.KW, SH: a.SH, SW: a.SW}
}

// OutH returns the output height of a convolution or pooling with these dims.
func (d Dims) OutH() int { return (d.H+2*d.PH-d.KH)/d.SH + 1 }

// OutW returns the output width of a convolution or pooling with these dims.
func (d Dims) OutW() int { return (d.W+2*d.PW-d.KW)/d.SW + 1 }
