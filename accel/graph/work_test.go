package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomGraph returns a valid graph of about n nodes (at least 4) drawn from r: a chain of
// every op kind over small shapes, whose matmuls, bias adds and convolutions take a new
// parameter or, often, one an earlier node uses already (a fan-out, whose gradients Compile
// accumulates), and which sometimes starts with ops that need no gradient.
func randomGraph(r *rand.Rand, n int) (*Graph, error) {
	var nodes []Node
	params := map[string][]int{} // parameters by shape
	add := func(nd Node) int {
		nd.Name = fmt.Sprintf("%s%d", nd.Op, len(nodes))
		nodes = append(nodes, nd)
		if err := infer(nodes, len(nodes)-1); err != nil {
			panic(fmt.Sprintf("randomGraph built an invalid node: %v", err))
		}
		return len(nodes) - 1
	}
	// param returns an earlier parameter of the given shape, or a new one.
	param := func(shape ...int) int {
		key := Shape(shape).String()
		if found := params[key]; len(found) > 0 && r.IntN(3) > 0 {
			return found[r.IntN(len(found))]
		}
		init := Init(1 + r.IntN(3))
		i := add(Node{Op: OpParam, Shape: append(Shape(nil), shape...), Attr: Attr{Init: init, FanIn: 1 + r.IntN(9), FanOut: 1 + r.IntN(9)}})
		params[key] = append(params[key], i)
		return i
	}
	var x int
	if r.IntN(2) == 0 {
		x = add(Node{Op: OpInput, Shape: Shape{1 + r.IntN(3), 4 + r.IntN(5), 4 + r.IntN(5)}})
	} else {
		x = add(Node{Op: OpInput, Shape: Shape{1 + r.IntN(12)}})
	}
	for len(nodes) < n-3 {
		s := nodes[x].Shape
		switch k := r.IntN(7); {
		case k == 0:
			x = add(Node{Op: OpReLU, Inputs: []int{x}})
		case k == 1:
			x = add(Node{Op: OpTanh, Inputs: []int{x}})
		case k == 2:
			x = add(Node{Op: OpBiasAdd, Inputs: []int{x, param(s[0])}})
		case k == 3 && len(s) == 1:
			x = add(Node{Op: OpMatMul, Inputs: []int{x, param(s[0], 1+r.IntN(6))}})
		case k == 3:
			kh, kw := 1+r.IntN(min(3, s[1])), 1+r.IntN(min(3, s[2]))
			a := Attr{KH: kh, KW: kw, SH: 1 + r.IntN(2), SW: 1 + r.IntN(2), PH: r.IntN(kh), PW: r.IntN(kw)}
			x = add(Node{Op: OpConv2D, Inputs: []int{x, param(1+r.IntN(3), s[0], kh, kw)}, Attr: a})
		case k == 4 && len(s) == 3:
			kh, kw := 1+r.IntN(min(2, s[1])), 1+r.IntN(min(2, s[2]))
			op := OpMaxPool2D
			if r.IntN(2) == 0 {
				op = OpAvgPool2D
			}
			x = add(Node{Op: op, Inputs: []int{x}, Attr: Attr{KH: kh, KW: kw, SH: 1 + r.IntN(2), SW: 1 + r.IntN(2)}})
		case k == 5 && (len(s) == 1 || r.IntN(8) == 0):
			x = add(Node{Op: OpFlatten, Inputs: []int{x}})
		}
	}
	if len(nodes[x].Shape) != 1 {
		x = add(Node{Op: OpFlatten, Inputs: []int{x}})
	}
	x = add(Node{Op: OpMatMul, Inputs: []int{x, param(nodes[x].Shape[0], 2+r.IntN(4))}})
	add(Node{Op: OpSoftmaxCrossEntropy, Inputs: []int{x}})
	return newGraph(nodes)
}

// noParams is a graph without parameters: nothing needs a gradient.
func noParams(t *testing.T) *Graph {
	b := NewBuilder(3, 4, 4)
	g, err := b.SoftmaxCrossEntropy(b.Flatten(b.ReLU(b.Input())))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// sharedParams uses one weight and one bias in three layers, after ops that need no gradient.
func sharedParams(t *testing.T) *Graph {
	b := NewBuilder(8)
	w := b.Param("w", InitHeUniform, 8, 8, 8, 8)
	bias := b.Param("b", InitZeros, 8, 8, 8)
	x := b.Tanh(b.ReLU(b.Input()))
	for range 3 {
		mm := b.add(Node{Op: OpMatMul, Name: "mm", Inputs: []int{x.id, w.id}})
		x = b.ReLU(b.add(Node{Op: OpBiasAdd, Name: "ba", Inputs: []int{mm.id, bias.id}}))
	}
	g, err := b.SoftmaxCrossEntropy(b.Dense(x, 4))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestStepWorkEqualsCompile: StepWork, which never compiles, returns exactly what the
// compiled program's Work returns (instruction, slot and element counts, and FLOPs per
// primitive) on every graph kind: the reference MLP and CNN, tanh and average pooling,
// shared parameters, no parameters, deep MLPs and random graphs of up to 4,096 nodes, for
// several batch sizes and both optimizers. TestStepWorkAtLimit covers MaxNodes.
func TestStepWorkEqualsCompile(t *testing.T) {
	deep, err := MLP(784, 10, make16(4096/5-2)...)
	if err != nil {
		t.Fatal(err)
	}
	graphs := map[string]*Graph{
		"mlp": FashionMLP(), "cnn": FashionCNN(), "tanh-avgpool": tanhNet(t), "no-params": noParams(t),
		"shared-params": sharedParams(t), "deep-mlp": deep,
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 200 {
		n := 4 + r.IntN(60)
		if i%50 == 0 {
			n = 4096
		}
		g, err := randomGraph(r, n)
		if err != nil {
			t.Fatalf("random graph %d: %v", i, err)
		}
		graphs[fmt.Sprintf("random%d-%d", i, g.Len())] = g
	}
	opts := []Optimizer{{Kind: SGD}, {Kind: AdamW}, {Kind: SGD, WeightDecay: 0.1, Momentum: 0.5}}
	for name, g := range graphs {
		t.Run(name, func(t *testing.T) {
			for _, batch := range []int{1, 3, 64} {
				for _, opt := range opts {
					p, err := Compile(g, batch, opt)
					if err != nil {
						t.Fatal(err)
					}
					got, err := g.StepWork(batch, opt)
					if err != nil {
						t.Fatal(err)
					}
					want := p.Work()
					if got != want {
						t.Fatalf("batch %d %+v:\nStepWork %+v\nCompile  %+v", batch, opt, got, want)
					}
					if got.StepFLOPs() != p.StepFLOPs() || got.Instrs != len(p.Instrs) || got.Slots != len(p.Slots) {
						t.Fatalf("batch %d: totals disagree with the program", batch)
					}
					h, dw, err := DecodeWork(g.Encode(), batch, opt)
					if err != nil || h != g.Hash() || dw != want {
						t.Fatalf("batch %d %+v: DecodeWork %v %+v (%v), want %v %+v", batch, opt, h, dw, err, g.Hash(), want)
					}
				}
			}
		})
	}
}

// TestStepWorkAtLimit compares StepWork with Compile on graphs of MaxNodes nodes: a deep
// MLP and a random graph.
func TestStepWorkAtLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles two graphs of MaxNodes nodes")
	}
	deep, err := MLP(784, 10, make16((MaxNodes-8)/5)...)
	if err != nil {
		t.Fatal(err)
	}
	random, err := randomGraph(rand.New(rand.NewPCG(7, 8)), MaxNodes)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*Graph{deep, random} {
		if g.Len() < MaxNodes-8 {
			t.Fatalf("%d nodes, want about %d", g.Len(), MaxNodes)
		}
		p, err := Compile(g, 16, Optimizer{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := g.StepWork(16, Optimizer{})
		if err != nil {
			t.Fatal(err)
		}
		if want := p.Work(); got != want {
			t.Fatalf("%d nodes:\nStepWork %+v\nCompile  %+v", g.Len(), got, want)
		}
		if h, dw, err := DecodeWork(g.Encode(), 16, Optimizer{}); err != nil || h != g.Hash() || dw != got {
			t.Fatalf("%d nodes: DecodeWork %+v (%v)", g.Len(), dw, err)
		}
	}
}

func make16(n int) []int {
	h := make([]int, n)
	for i := range h {
		h[i] = 16
	}
	return h
}

// TestStepWorkErrors: StepWork fails exactly when Compile does, with the same error.
func TestStepWorkErrors(t *testing.T) {
	big, err := MLP(1<<16, 2)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		g     *Graph
		batch int
		opt   Optimizer
	}{
		{"nil graph", nil, 8, Optimizer{}},
		{"batch 0", FashionMLP(), 0, Optimizer{}},
		{"batch above MaxBatch", FashionMLP(), MaxBatch + 1, Optimizer{}},
		{"bad optimizer", FashionMLP(), 8, Optimizer{Kind: AdamW, LR: -1}},
		{"unknown optimizer", FashionMLP(), 8, Optimizer{Kind: 9}},
		{"batch elements", big, MaxBatch, Optimizer{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cerr := Compile(tt.g, tt.batch, tt.opt)
			_, werr := tt.g.StepWork(tt.batch, tt.opt)
			if cerr == nil || werr == nil || cerr.Error() != werr.Error() {
				t.Fatalf("Compile: %v; StepWork: %v", cerr, werr)
			}
			if tt.g == nil {
				return
			}
			if _, _, derr := DecodeWork(tt.g.Encode(), tt.batch, tt.opt); derr == nil || derr.Error() != cerr.Error() {
				t.Fatalf("Compile: %v; DecodeWork: %v", cerr, derr)
			}
		})
	}
}

// TestStepWorkSaturates: sums beyond math.MaxInt64 saturate instead of wrapping.
func TestStepWorkSaturates(t *testing.T) {
	var w Work
	w.instr(PrimMatMul, 1<<62)
	w.instr(PrimMatMul, 1<<62)
	w.instr(PrimConv2D, 1<<62)
	if w.FLOPs[PrimMatMul] != 1<<63-1 || w.StepFLOPs() != 1<<63-1 || w.Count[PrimMatMul] != 2 || w.Instrs != 3 {
		t.Fatalf("got %+v", w)
	}
}
