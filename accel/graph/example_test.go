package graph_test

import (
	"fmt"

	"github.com/deai-go/deai/accel/graph"
)

// Build a small CNN, compile its training step, and price it by FLOPs.
func Example() {
	b := graph.NewBuilder(1, 28, 28)
	x := b.MaxPool2D(b.ReLU(b.Conv2D(b.Input(), 8, 3, 1, 1)), 2, 2)
	g, err := b.SoftmaxCrossEntropy(b.Dense(b.Flatten(x), 10))
	if err != nil {
		panic(err)
	}
	p, err := graph.Compile(g, 64, graph.Optimizer{Kind: graph.SGD})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d nodes, %d parameters, graph %s…\n", g.Len(), g.ParamCount(), g.Hash().String()[:16])
	fmt.Printf("%d instructions per step, %d FLOPs (forward %d)\n", len(p.Instrs), p.StepFLOPs(), p.ForwardFLOPs())
	for _, c := range p.Costs() {
		if c.Node >= 0 && c.Total() > 0 {
			fmt.Printf("  node %2d %-22s %10d\n", c.Node, c.Op, c.Total())
		}
	}
	// Output:
	// 13 nodes, 15770 parameters, graph 3fcd15e3360ae481…
	// 21 instructions per step, 23081245 FLOPs (forward 10440705)
	//   node  1 param                         432
	//   node  2 param                          48
	//   node  3 conv2d                   14450688
	//   node  4 bias_add                   802816
	//   node  5 relu                       802816
	//   node  6 maxpool2d                  903168
	//   node  8 param                       94080
	//   node  9 param                          60
	//   node 10 matmul                    6021120
	//   node 11 bias_add                     1280
	//   node 12 softmax_cross_entropy        4737
}

// A malformed encoding is an error that says what is wrong, never a panic.
func ExampleDecode() {
	enc := graph.FashionMLP().Encode()
	_, err := graph.Decode(enc[:40])
	fmt.Println(err)
	// Output:
	// graph: malformed encoding: 11 nodes cannot fit in 26 remaining bytes
}
