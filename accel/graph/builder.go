package graph

import (
	"errors"
	"fmt"
)

// Value names a node while a graph is being built.
type Value struct{ id int }

// Builder assembles a model graph layer by layer. Errors are sticky: the first one is kept
// and returned by Build, so a model can be written as a straight sequence of calls.
// A Builder is not safe for concurrent use.
type Builder struct {
	nodes []Node
	err   error
	seq   map[string]int
}

// NewBuilder starts a graph whose input has the given per-sample shape, e.g. (1, 28, 28) for
// a grey image or (784) for a flat vector.
func NewBuilder(inputShape ...int) *Builder {
	b := &Builder{seq: map[string]int{}}
	b.nodes = append(b.nodes, Node{Op: OpInput, Name: "input", Shape: append(Shape(nil), inputShape...)})
	if err := checkShape(b.nodes[0].Shape, false); err != nil {
		b.err = fmt.Errorf("%w: input: %v", ErrInvalidGraph, err)
	}
	return b
}

// Input returns the graph's input.
func (b *Builder) Input() Value { return Value{0} }

func (b *Builder) name(prefix string) string {
	b.seq[prefix]++
	return fmt.Sprintf("%s%d", prefix, b.seq[prefix])
}

func (b *Builder) add(n Node) Value {
	if b.err != nil {
		return Value{-1}
	}
	for _, in := range n.Inputs {
		if in < 0 || in >= len(b.nodes) {
			b.err = fmt.Errorf("%w: %s: input value %d does not belong to this builder", ErrInvalidGraph, n.Op, in)
			return Value{-1}
		}
	}
	b.nodes = append(b.nodes, n)
	i := len(b.nodes) - 1
	if err := infer(b.nodes, i); err != nil {
		b.err = &NodeError{Index: i, Op: n.Op, Err: err}
		b.nodes = b.nodes[:i]
		return Value{-1}
	}
	return Value{i}
}

// Shape returns the per-sample shape of v (nil after an error).
func (b *Builder) Shape(v Value) Shape {
	if b.err != nil || v.id < 0 || v.id >= len(b.nodes) {
		return nil
	}
	return append(Shape(nil), b.nodes[v.id].Shape...)
}

// Param adds a trainable tensor of the given shape and initialisation rule.
func (b *Builder) Param(name string, init Init, fanIn, fanOut int, shape ...int) Value {
	return b.add(Node{Op: OpParam, Name: name, Shape: append(Shape(nil), shape...),
		Attr: Attr{Init: init, FanIn: fanIn, FanOut: fanOut}})
}

// Dense adds a fully connected layer with units outputs: a He-uniform weight [in, units], a
// zero bias [units], a matmul and a bias add. x must be rank 1 per sample (use Flatten).
func (b *Builder) Dense(x Value, units int) Value {
	s := b.Shape(x)
	if b.err != nil {
		return Value{-1}
	}
	if len(s) != 1 {
		b.err = fmt.Errorf("%w: dense: input shape %v, want rank 1 (flatten first)", ErrInvalidGraph, s)
		return Value{-1}
	}
	name := b.name("dense")
	w := b.Param(name+".w", InitHeUniform, s[0], units, s[0], units)
	bias := b.Param(name+".b", InitZeros, s[0], units, units)
	return b.add(Node{Op: OpBiasAdd, Name: name + ".bias", Inputs: []int{b.add(Node{Op: OpMatMul, Name: name, Inputs: []int{x.id, w.id}}).id, bias.id}})
}

// Conv2D adds a convolution with out channels, a k×k kernel, the given stride and zero
// padding: a He-uniform kernel [out, C, k, k], a zero bias [out], the convolution and a bias
// add. x must be [C, H, W] per sample.
func (b *Builder) Conv2D(x Value, out, k, stride, pad int) Value {
	s := b.Shape(x)
	if b.err != nil {
		return Value{-1}
	}
	if len(s) != 3 {
		b.err = fmt.Errorf("%w: conv2d: input shape %v, want [C H W]", ErrInvalidGraph, s)
		return Value{-1}
	}
	name := b.name("conv")
	fanIn, fanOut := s[0]*k*k, out*k*k
	w := b.Param(name+".w", InitHeUniform, fanIn, fanOut, out, s[0], k, k)
	bias := b.Param(name+".b", InitZeros, fanIn, fanOut, out)
	c := b.add(Node{Op: OpConv2D, Name: name, Inputs: []int{x.id, w.id},
		Attr: Attr{KH: k, KW: k, SH: stride, SW: stride, PH: pad, PW: pad}})
	return b.add(Node{Op: OpBiasAdd, Name: name + ".bias", Inputs: []int{c.id, bias.id}})
}

// ReLU adds max(x, 0).
func (b *Builder) ReLU(x Value) Value {
	return b.add(Node{Op: OpReLU, Name: b.name("relu"), Inputs: []int{x.id}})
}

// Tanh adds tanh(x).
func (b *Builder) Tanh(x Value) Value {
	return b.add(Node{Op: OpTanh, Name: b.name("tanh"), Inputs: []int{x.id}})
}

// MaxPool2D adds max pooling over k×k windows with the given stride.
func (b *Builder) MaxPool2D(x Value, k, stride int) Value {
	return b.add(Node{Op: OpMaxPool2D, Name: b.name("maxpool"), Inputs: []int{x.id},
		Attr: Attr{KH: k, KW: k, SH: stride, SW: stride}})
}

// AvgPool2D adds average pooling over k×k windows with the given stride.
func (b *Builder) AvgPool2D(x Value, k, stride int) Value {
	return b.add(Node{Op: OpAvgPool2D, Name: b.name("avgpool"), Inputs: []int{x.id},
		Attr: Attr{KH: k, KW: k, SH: stride, SW: stride}})
}

// Flatten reshapes x to rank 1.
func (b *Builder) Flatten(x Value) Value {
	return b.add(Node{Op: OpFlatten, Name: b.name("flatten"), Inputs: []int{x.id}})
}

// SoftmaxCrossEntropy adds the loss over logits of shape [classes] and returns the built graph.
func (b *Builder) SoftmaxCrossEntropy(logits Value) (*Graph, error) {
	b.add(Node{Op: OpSoftmaxCrossEntropy, Name: "loss", Inputs: []int{logits.id}})
	if b.err != nil {
		return nil, b.err
	}
	nodes := b.nodes
	b.nodes = nil
	b.err = errors.New("graph: builder already used")
	return newGraph(nodes)
}

// MLP returns the multilayer perceptron in×hidden...×classes with ReLU between layers; MLP(784,
// 10, 128) is the reference Fashion-MNIST MLP (784-128-10).
func MLP(in, classes int, hidden ...int) (*Graph, error) {
	b := NewBuilder(in)
	x := b.Input()
	for _, h := range hidden {
		x = b.ReLU(b.Dense(x, h))
	}
	return b.SoftmaxCrossEntropy(b.Dense(x, classes))
}

// FashionMLP returns the reference Fashion-MNIST MLP: 784-128-10 with ReLU.
func FashionMLP() *Graph { return must(MLP(784, 10, 128)) }

// FashionCNN returns the reference Fashion-MNIST CNN: conv 3×3×16 (pad 1), ReLU, max pool 2,
// conv 3×3×32 (pad 1), ReLU, max pool 2, flatten, dense 10.
func FashionCNN() *Graph {
	b := NewBuilder(1, 28, 28)
	x := b.MaxPool2D(b.ReLU(b.Conv2D(b.Input(), 16, 3, 1, 1)), 2, 2)
	x = b.MaxPool2D(b.ReLU(b.Conv2D(x, 32, 3, 1, 1)), 2, 2)
	return must(b.SoftmaxCrossEntropy(b.Dense(b.Flatten(x), 10)))
}

func must(g *Graph, err error) *Graph {
	if err != nil {
		panic(err) // the reference models are fixed and tested
	}
	return g
}
