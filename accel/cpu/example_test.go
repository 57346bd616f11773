package cpu_test

import (
	"context"
	"fmt"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
)

// Train the reference MLP for three steps on the embedded Fashion-MNIST subset. The state
// hashes are the same on every machine.
func Example() {
	ctx := context.Background()
	train, _, err := dataset.EmbeddedFashionMNIST()
	if err != nil {
		panic(err)
	}
	prog, err := graph.Compile(graph.FashionMLP(), 64, graph.Optimizer{Kind: graph.AdamW})
	if err != nil {
		panic(err)
	}
	backend, err := cpu.New(cpu.Config{})
	if err != nil {
		panic(err)
	}
	run, err := backend.Open(ctx, accel.RunSpec{Program: prog, Seed: 1, Data: train})
	if err != nil {
		panic(err)
	}
	defer run.Close()
	res, err := run.Train(ctx, dataset.Batches(1, 0, train.N, 64)[:3])
	if err != nil {
		panic(err)
	}
	for _, r := range res {
		fmt.Printf("step %d loss %.4f state %s…\n", r.Step, r.Loss, r.Hash.String()[:16])
	}
	// Output:
	// step 1 loss 2.6656 state 3b5430cf2fa1020e…
	// step 2 loss 2.1879 state e60be174f169c793…
	// step 3 loss 2.2433 state e41c8eeaf9f6a34c…
}

// Trace one step: the hash of every instruction's outputs, in program order.
func ExampleRun_trace() {
	ctx := context.Background()
	train, _, err := dataset.EmbeddedFashionMNIST()
	if err != nil {
		panic(err)
	}
	prog, err := graph.Compile(graph.FashionMLP(), 8, graph.Optimizer{Kind: graph.SGD})
	if err != nil {
		panic(err)
	}
	backend, _ := cpu.New(cpu.Config{})
	run, err := backend.Open(ctx, accel.RunSpec{Program: prog, Seed: 1, Data: train})
	if err != nil {
		panic(err)
	}
	defer run.Close()
	tr, err := run.Trace(ctx, dataset.BatchAt(1, train.N, 8, 0))
	if err != nil {
		panic(err)
	}
	for i, in := range prog.Instrs[:4] {
		fmt.Printf("%d %-9s %s…\n", i, in.Prim, tr.Outputs[i][0].String()[:16])
	}
	fmt.Printf("%d instructions, post-state %s…\n", len(tr.Outputs), tr.Post.String()[:16])
	// Output:
	// 0 matmul    fff609280e9b5415…
	// 1 bias_add  fff609280e9b5415…
	// 2 relu      b1a28d5fb26be99d…
	// 3 matmul    bca1996a648c6188…
	// 17 instructions, post-state 54a94f42afec0706…
}
