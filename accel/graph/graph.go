package graph

import (
	"errors"
	"fmt"
	"strings"
)

// Op is the kind of a model graph node. The numeric values are part of the canonical encoding
// and never change; new kinds are appended.
type Op uint8

// The model graph's node kinds.
const (
	// OpInput is the batch of samples. Its shape is the shape of one sample.
	OpInput Op = 1
	// OpParam is a trainable tensor, created by the builder with an initialisation rule.
	OpParam Op = 2
	// OpMatMul multiplies a rank-1 per-sample input [in] by a parameter [in, out].
	OpMatMul Op = 3
	// OpBiasAdd adds a parameter [C] along the first per-sample axis ([C] or [C, H, W]).
	OpBiasAdd Op = 4
	// OpReLU is max(x, 0) element-wise.
	OpReLU Op = 5
	// OpTanh is the hyperbolic tangent element-wise.
	OpTanh Op = 6
	// OpConv2D convolves a [C, H, W] input with a parameter [O, C, KH, KW] (zero padding).
	OpConv2D Op = 7
	// OpMaxPool2D takes the maximum over windows of a [C, H, W] input (no padding).
	OpMaxPool2D Op = 8
	// OpAvgPool2D takes the mean over windows of a [C, H, W] input (no padding).
	OpAvgPool2D Op = 9
	// OpFlatten reshapes a per-sample tensor to rank 1.
	OpFlatten Op = 10
	// OpSoftmaxCrossEntropy is the mean over the batch of the cross-entropy of softmax(logits)
	// against the batch's labels. It is the graph's loss, and the last node.
	OpSoftmaxCrossEntropy Op = 11
)

var opNames = map[Op]string{
	OpInput: "input", OpParam: "param", OpMatMul: "matmul", OpBiasAdd: "bias_add", OpReLU: "relu",
	OpTanh: "tanh", OpConv2D: "conv2d", OpMaxPool2D: "maxpool2d", OpAvgPool2D: "avgpool2d",
	OpFlatten: "flatten", OpSoftmaxCrossEntropy: "softmax_cross_entropy",
}

// String returns the op's name as used in encodings' error messages and traces.
func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Valid reports whether o is a known op kind.
func (o Op) Valid() bool { return o >= OpInput && o <= OpSoftmaxCrossEntropy }

// Init is a parameter's initialisation rule. Values are part of the canonical encoding.
type Init uint8

// Initialisation rules. Random rules draw from the counter-based generator of package
// internal/rng, keyed by the run's seed and the parameter's index (see Program.InitParams).
const (
	// InitZeros fills the parameter with +0.
	InitZeros Init = 1
	// InitHeUniform draws uniformly from [-sqrt(6/fanIn), sqrt(6/fanIn)).
	InitHeUniform Init = 2
	// InitGlorotUniform draws uniformly from [-sqrt(6/(fanIn+fanOut)), sqrt(6/(fanIn+fanOut))).
	InitGlorotUniform Init = 3
)

// Valid reports whether i is a known initialisation rule.
func (i Init) Valid() bool { return i >= InitZeros && i <= InitGlorotUniform }

// Shape is the shape of one sample's tensor (the batch axis is implicit and comes first at run
// time), or of a parameter.
type Shape []int

// Size returns the number of elements, 1 for a scalar.
func (s Shape) Size() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether s and t are the same shape.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// String formats s as [a b c].
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Attr holds the attributes of a node; which fields matter depends on the op.
type Attr struct {
	// KH, KW are the window of OpConv2D (taken from the parameter) and of the pooling ops.
	KH, KW int
	// SH, SW are strides of OpConv2D and pooling ops.
	SH, SW int
	// PH, PW are the zero padding of OpConv2D.
	PH, PW int
	// Init is the initialisation rule of an OpParam.
	Init Init
	// FanIn and FanOut feed the initialisation rule of an OpParam.
	FanIn, FanOut int
}

// zero reports whether every attribute is zero (a == Attr{}, without a 72-byte compare).
func (a *Attr) zero() bool {
	return a.KH|a.KW|a.SH|a.SW|a.PH|a.PW|a.FanIn|a.FanOut == 0 && a.Init == 0
}

// Node is one node of a model graph. Inputs name earlier nodes by index, so a graph is
// topologically ordered by construction and cannot contain a cycle.
type Node struct {
	Op     Op
	Name   string
	Inputs []int
	Attr   Attr
	// Shape is the per-sample output shape for activations, the full shape for parameters,
	// and empty (a scalar) for the loss.
	Shape Shape
}

// Graph is a validated, immutable model graph: one OpInput, parameters, operations, and
// exactly one OpSoftmaxCrossEntropy as its last node. Build one with a Builder or Decode.
// A Graph must not be modified after construction; methods are safe for concurrent use.
type Graph struct {
	nodes   []Node
	classes int
	hash    Hash
}

// Nodes returns a copy of the graph's nodes in topological order.
func (g *Graph) Nodes() []Node {
	out := make([]Node, len(g.nodes))
	for i, n := range g.nodes {
		n.Inputs = append([]int(nil), n.Inputs...)
		n.Shape = append(Shape(nil), n.Shape...)
		out[i] = n
	}
	return out
}

// Len returns the number of nodes.
func (g *Graph) Len() int { return len(g.nodes) }

// Node returns a copy of node i.
func (g *Graph) Node(i int) Node {
	n := g.nodes[i]
	n.Inputs = append([]int(nil), n.Inputs...)
	n.Shape = append(Shape(nil), n.Shape...)
	return n
}

// InputShape returns the per-sample shape of the graph's input.
func (g *Graph) InputShape() Shape { return append(Shape(nil), g.nodes[0].Shape...) }

// Classes returns the number of classes the loss expects (the logits' width).
func (g *Graph) Classes() int { return g.classes }

// Hash returns the SHA-256 of the graph's canonical encoding (see the package documentation).
func (g *Graph) Hash() Hash { return g.hash }

// ParamCount returns the number of trainable scalars.
func (g *Graph) ParamCount() int {
	n := 0
	for _, nd := range g.nodes {
		if nd.Op == OpParam {
			n += nd.Shape.Size()
		}
	}
	return n
}

// Limits bound what a graph may contain, so that a hostile encoding cannot exhaust a decoder's
// or a verifier's memory. They apply to every Graph, however it was made.
const (
	// MaxNodes is 2^17 = 131,072, so that graphs of 10^5 operations can be priced and
	// trained; decoding, StepWork and Compile are linear in it (see the package doc).
	MaxNodes       = 1 << 17
	MaxRank        = 4
	MaxDim         = 1 << 16
	MaxElements    = 1 << 26 // per tensor (per sample for activations)
	MaxNameLen     = 64
	MaxParamTotal  = 1 << 28
	maxWindowOrPad = 1 << 10
	// MaxClasses bounds the classes of the loss, and MaxUnitWork the work of one output of a
	// convolution's input gradient (KH·KW·(2·O+1) FLOPs for O filters) and of one pooling
	// output (KH·KW+1): these are the smallest pieces a dispute referee recomputes
	// (dispute/accelvm), so the limits keep every chunk of every graph within 2^16 FLOPs
	// (a softmax row of C classes costs 5·C+4).
	MaxClasses  = 1 << 13
	MaxUnitWork = 1 << 16
)

// ErrInvalidGraph is the class of every error that reports a malformed graph; test for it with
// errors.Is. The wrapping error names the node and what is wrong.
var ErrInvalidGraph = errors.New("graph: invalid graph")

// NodeError reports what is wrong with one node of a graph.
type NodeError struct {
	Index int
	Op    Op
	Err   error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("graph: node %d (%s): %v", e.Index, e.Op, e.Err)
}

// Unwrap returns the underlying error.
func (e *NodeError) Unwrap() error { return e.Err }

// Is makes every NodeError match ErrInvalidGraph.
func (e *NodeError) Is(target error) bool { return target == ErrInvalidGraph }

// newGraph validates nodes (shape inference included) and returns the graph. It takes
// ownership of nodes.
func newGraph(nodes []Node) (*Graph, error) {
	if err := validate(nodes, false); err != nil {
		return nil, err
	}
	g := &Graph{nodes: nodes}
	return finishGraph(nodes, g.encode()), nil
}

// finishGraph returns the graph of validated nodes whose canonical encoding is enc.
func finishGraph(nodes []Node, enc []byte) *Graph {
	last := nodes[len(nodes)-1]
	return &Graph{nodes: nodes, classes: nodes[last.Inputs[0]].Shape[0], hash: hashEncoding(enc)}
}

func nodeErr(i int, op Op, format string, args ...any) error {
	return &NodeError{Index: i, Op: op, Err: fmt.Errorf(format, args...)}
}

// validate checks structure and infers (and checks) every node's shape. For decoded nodes
// it also requires every stored shape to equal the inferred one (so that an encoding is
// canonical); inference keeps a stored shape that is right, and allocates nothing for it.
func validate(nodes []Node, decoded bool) error {
	v, err := newValidator(nodeViews{nodes: nodes}, len(nodes), decoded)
	if err != nil {
		return err
	}
	for i := range nodes {
		if err := v.node(i, &nodes[i]); err != nil {
			return err
		}
	}
	return v.finish()
}

// validator checks a graph of count nodes node by node, in order. Node i needs only what
// src says of nodes 0..i-1, so Decode checks each node as soon as it is parsed, while it is
// in the cache, and DecodeWork checks nodes it never keeps.
type validator struct {
	src     nodeViews
	count   int
	decoded bool
	params  int
	used    []bool
	lastOp  Op
}

func newValidator(src nodeViews, count int, decoded bool) (*validator, error) {
	if count == 0 {
		return nil, fmt.Errorf("%w: no nodes", ErrInvalidGraph)
	}
	if count > MaxNodes {
		return nil, fmt.Errorf("%w: %d nodes exceed the limit of %d", ErrInvalidGraph, count, MaxNodes)
	}
	return &validator{src: src, count: count, decoded: decoded, used: make([]bool, count)}, nil
}

// node checks node i, n; nodes 0..i-1 passed already. It infers n.Shape and records the
// node in the validator's views.
func (v *validator) node(i int, n *Node) error {
	if i == 0 && n.Op != OpInput {
		return nodeErr(0, n.Op, "the first node must be the input")
	}
	if !n.Op.Valid() {
		return nodeErr(i, n.Op, "unknown op")
	}
	if len(n.Name) > MaxNameLen {
		return nodeErr(i, n.Op, "name of %d bytes exceeds %d", len(n.Name), MaxNameLen)
	}
	for _, in := range n.Inputs {
		if in < 0 || in >= i {
			return nodeErr(i, n.Op, "input %d is not an earlier node (graphs are topologically ordered; a forward reference would be a cycle)", in)
		}
		v.used[in] = true
	}
	stored := n.Shape
	if err := inferNode(&v.src, n); err != nil {
		return &NodeError{Index: i, Op: n.Op, Err: err}
	}
	if v.decoded && !sameSlice(n.Shape, stored) && !n.Shape.Equal(stored) {
		return fmt.Errorf("%w: node %d (%s) stores shape %v but its inputs give %v", ErrInvalidGraph, i, n.Op, stored, n.Shape)
	}
	if err := checkShape(n.Shape, n.Op == OpSoftmaxCrossEntropy); err != nil {
		return &NodeError{Index: i, Op: n.Op, Err: err}
	}
	if n.Op == OpParam {
		v.params += n.Shape.Size()
		if v.params > MaxParamTotal {
			return nodeErr(i, n.Op, "parameters total more than %d scalars", MaxParamTotal)
		}
	}
	if n.Op == OpInput && i != 0 {
		return nodeErr(i, n.Op, "only the first node may be the input")
	}
	if n.Op == OpSoftmaxCrossEntropy && i != v.count-1 {
		return nodeErr(i, n.Op, "the loss must be the last node")
	}
	v.src.record(i, n)
	v.lastOp = n.Op
	return nil
}

// sameSlice reports whether s and t are the same non-empty slice (then they are equal
// without comparing).
func sameSlice(s, t Shape) bool { return len(s) == len(t) && len(s) > 0 && &s[0] == &t[0] }

// finish checks the whole graph once every node passed.
func (v *validator) finish() error {
	if v.lastOp != OpSoftmaxCrossEntropy {
		return fmt.Errorf("%w: the last node is %s, want %s (the loss)", ErrInvalidGraph, v.lastOp, OpSoftmaxCrossEntropy)
	}
	for i := 0; i < v.count-1; i++ {
		if !v.used[i] {
			return nodeErr(i, v.src.op(i), "node is not used by any other node")
		}
	}
	return nil
}

func checkShape(s Shape, scalar bool) error {
	if scalar {
		if len(s) != 0 {
			return fmt.Errorf("loss shape %v, want a scalar", s)
		}
		return nil
	}
	if len(s) == 0 || len(s) > MaxRank {
		return fmt.Errorf("rank %d out of range [1, %d]", len(s), MaxRank)
	}
	total := 1
	for _, d := range s {
		if d < 1 || d > MaxDim {
			return fmt.Errorf("dimension %d out of range [1, %d] in shape %v", d, MaxDim, s)
		}
		// total ≤ 2^26 and d ≤ 2^16: the product fits 64 bits on every platform, and
		// total·d > MaxElements exactly when total > MaxElements/d (no division needed).
		if int64(total)*int64(d) > MaxElements {
			return fmt.Errorf("shape %v exceeds %d elements", s, MaxElements)
		}
		total *= d
	}
	return nil
}

func wantInputs(n *Node, k int) error {
	if len(n.Inputs) != k {
		return fmt.Errorf("has %d inputs, want %d", len(n.Inputs), k)
	}
	return nil
}

func wantParam(src *nodeViews, i int) (Shape, error) {
	if op := src.op(i); op != OpParam {
		return nil, fmt.Errorf("input %d is %s, want a param", i, op)
	}
	return src.shape(i), nil
}

func wantActivation(src *nodeViews, i int) (Shape, error) {
	switch src.op(i) {
	case OpParam:
		return nil, fmt.Errorf("input %d is a param, want an activation", i)
	case OpSoftmaxCrossEntropy:
		return nil, fmt.Errorf("input %d is the loss, want an activation", i)
	}
	return src.shape(i), nil
}

// nodeViews gives inference and work counting the op and shape of earlier nodes: from a
// node slice, or from the compact records DecodeWork keeps instead of nodes (an op, and the
// place of the shape in the decoder's array of integers: five bytes a node, no pointers).
type nodeViews struct {
	nodes []Node
	ops   []Op
	ints  []int    // the decoder's integers, to its capacity
	pos   []uint32 // node i's shape is ints[pos[i]>>3:][:pos[i]&7]
}

func (s *nodeViews) op(i int) Op {
	if s.nodes != nil {
		return s.nodes[i].Op
	}
	return s.ops[i]
}

func (s *nodeViews) shape(i int) Shape {
	if s.nodes != nil {
		return s.nodes[i].Shape
	}
	p := s.pos[i]
	o := int(p >> 3)
	return s.ints[o : o+int(p&7)]
}

// record keeps node i's op and shape when the views are compact records. n.Shape is then the
// decoded shape (validation rejects any other), an uncapped slice of s.ints (the decoder's
// current array: growing it copies earlier shapes to the same offsets), whose capacity gives
// its offset. Offsets fit 29 bits: the integers are fewer than MaxEncodedSize/4 < 2^22.
func (s *nodeViews) record(i int, n *Node) {
	if s.nodes == nil {
		s.ops[i] = n.Op
		s.pos[i] = uint32(cap(s.ints)-cap(n.Shape))<<3 | uint32(len(n.Shape))
	}
}

func windowOK(v int, min int, what string) error {
	if v < min || v > maxWindowOrPad {
		return fmt.Errorf("%s %d out of range [%d, %d]", what, v, min, maxWindowOrPad)
	}
	return nil
}

// setShape sets n.Shape to s[:rank], keeping n's slice when it holds that shape already (a
// decoded node stores its shape; validation then allocates nothing for it).
func setShape(n *Node, s [MaxRank]int, rank int) {
	if n.Shape != nil && n.Shape.Equal(s[:rank]) {
		return
	}
	n.Shape = append(make(Shape, 0, rank), s[:rank]...)
}

// sameShape sets n.Shape to x, an input's (validated) shape, keeping n's slice when it holds
// that shape already.
func sameShape(n *Node, x Shape) error {
	if n.Shape != nil && n.Shape.Equal(x) {
		return nil
	}
	if len(x) > MaxRank {
		return fmt.Errorf("input shape %v has rank above %d", x, MaxRank)
	}
	n.Shape = append(make(Shape, 0, len(x)), x...)
	return nil
}

// infer computes nodes[i].Shape from its inputs and attributes, checking them. For OpInput and
// OpParam the shape is given and only checked.
func infer(nodes []Node, i int) error {
	return inferNode(&nodeViews{nodes: nodes}, &nodes[i])
}

// inferNode is infer for node n, whose inputs src describes.
func inferNode(src *nodeViews, n *Node) error {
	a := &n.Attr
	switch n.Op {
	case OpInput:
		if err := wantInputs(n, 0); err != nil {
			return err
		}
		if !a.zero() {
			return errors.New("input takes no attributes")
		}
		return nil
	case OpParam:
		if err := wantInputs(n, 0); err != nil {
			return err
		}
		if !a.Init.Valid() {
			return fmt.Errorf("unknown init rule %d", a.Init)
		}
		if a.FanIn < 1 || a.FanIn > MaxElements || a.FanOut < 1 || a.FanOut > MaxElements {
			return fmt.Errorf("fan-in %d, fan-out %d out of range [1, %d]", a.FanIn, a.FanOut, MaxElements)
		}
		if a.KH|a.KW|a.SH|a.SW|a.PH|a.PW != 0 {
			return errors.New("param takes no window attributes")
		}
		return nil
	}
	if a.Init != 0 || a.FanIn != 0 || a.FanOut != 0 {
		return errors.New("only params take init attributes")
	}
	switch n.Op {
	case OpMatMul:
		if err := wantInputs(n, 2); err != nil {
			return err
		}
		x, err := wantActivation(src, n.Inputs[0])
		if err != nil {
			return err
		}
		w, err := wantParam(src, n.Inputs[1])
		if err != nil {
			return err
		}
		if len(x) != 1 || len(w) != 2 || x[0] != w[0] {
			return fmt.Errorf("cannot multiply %v by %v (want [in] by [in out])", x, w)
		}
		if !a.zero() {
			return errors.New("matmul takes no attributes")
		}
		setShape(n, [MaxRank]int{w[1]}, 1)
	case OpBiasAdd:
		if err := wantInputs(n, 2); err != nil {
			return err
		}
		x, err := wantActivation(src, n.Inputs[0])
		if err != nil {
			return err
		}
		b, err := wantParam(src, n.Inputs[1])
		if err != nil {
			return err
		}
		if len(b) != 1 || b[0] != x[0] {
			return fmt.Errorf("bias %v does not match the first axis of %v", b, x)
		}
		if !a.zero() {
			return errors.New("bias_add takes no attributes")
		}
		return sameShape(n, x)
	case OpReLU, OpTanh, OpFlatten:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		x, err := wantActivation(src, n.Inputs[0])
		if err != nil {
			return err
		}
		if !a.zero() {
			return fmt.Errorf("%s takes no attributes", n.Op)
		}
		if n.Op == OpFlatten {
			setShape(n, [MaxRank]int{x.Size()}, 1)
		} else {
			return sameShape(n, x)
		}
	case OpConv2D:
		if err := wantInputs(n, 2); err != nil {
			return err
		}
		x, err := wantActivation(src, n.Inputs[0])
		if err != nil {
			return err
		}
		w, err := wantParam(src, n.Inputs[1])
		if err != nil {
			return err
		}
		if len(x) != 3 || len(w) != 4 || w[1] != x[0] {
			return fmt.Errorf("cannot convolve %v with %v (want [C H W] and [O C KH KW])", x, w)
		}
		if a.KH != w[2] || a.KW != w[3] {
			return fmt.Errorf("window %dx%d does not match the kernel %v", a.KH, a.KW, w)
		}
		for _, c := range []struct {
			v, min int
			what   string
		}{{a.SH, 1, "stride"}, {a.SW, 1, "stride"}, {a.PH, 0, "padding"}, {a.PW, 0, "padding"}} {
			if err := windowOK(c.v, c.min, c.what); err != nil {
				return err
			}
		}
		if a.PH >= a.KH || a.PW >= a.KW {
			return fmt.Errorf("padding %dx%d must be smaller than the window %dx%d", a.PH, a.PW, a.KH, a.KW)
		}
		if u := int64(a.KH) * int64(a.KW) * (2*int64(w[0]) + 1); u > MaxUnitWork {
			return fmt.Errorf("%d filters of %dx%d: one input-gradient element costs %d FLOPs, more than %d (MaxUnitWork)", w[0], a.KH, a.KW, u, MaxUnitWork)
		}
		hp, wp := x[1]+2*a.PH, x[2]+2*a.PW
		if hp < a.KH || wp < a.KW {
			return fmt.Errorf("window %dx%d larger than the padded input %dx%d", a.KH, a.KW, hp, wp)
		}
		setShape(n, [MaxRank]int{w[0], (hp-a.KH)/a.SH + 1, (wp-a.KW)/a.SW + 1}, 3)
	case OpMaxPool2D, OpAvgPool2D:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		x, err := wantActivation(src, n.Inputs[0])
		if err != nil {
			return err
		}
		if len(x) != 3 {
			return fmt.Errorf("cannot pool %v (want [C H W])", x)
		}
		for _, c := range []struct {
			v    int
			what string
		}{{a.KH, "window"}, {a.KW, "window"}, {a.SH, "stride"}, {a.SW, "stride"}} {
			if err := windowOK(c.v, 1, c.what); err != nil {
				return err
			}
		}
		if a.PH != 0 || a.PW != 0 {
			return errors.New("pooling takes no padding")
		}
		if u := int64(a.KH)*int64(a.KW) + 1; u > MaxUnitWork {
			return fmt.Errorf("a %dx%d window costs %d FLOPs per output, more than %d (MaxUnitWork)", a.KH, a.KW, u, MaxUnitWork)
		}
		if x[1] < a.KH || x[2] < a.KW {
			return fmt.Errorf("window %dx%d larger than the input %v", a.KH, a.KW, x)
		}
		setShape(n, [MaxRank]int{x[0], (x[1]-a.KH)/a.SH + 1, (x[2]-a.KW)/a.SW + 1}, 3)
	case OpSoftmaxCrossEntropy:
		if err := wantInputs(n, 1); err != nil {
			return err
		}
		x, err := wantActivation(src, n.Inputs[0])
		if err != nil {
			return err
		}
		if len(x) != 1 || x[0] < 2 || x[0] > MaxClasses {
			return fmt.Errorf("logits %v, want [classes] with 2 <= classes <= %d", x, MaxClasses)
		}
		if !a.zero() {
			return errors.New("softmax_cross_entropy takes no attributes")
		}
		setShape(n, [MaxRank]int{}, 0)
	default:
		return errors.New("unknown op")
	}
	return nil
}
