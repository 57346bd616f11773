package pol_test

import (
	"context"
	"fmt"

	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/pol"
)

// A solver trains with proof; a verifier checks the structure, then replays sampled steps.
func Example() {
	ctx := context.Background()
	train, _, err := dataset.EmbeddedFashionMNIST()
	if err != nil {
		panic(err)
	}
	g, err := graph.MLP(784, 10, 16)
	if err != nil {
		panic(err)
	}
	task := pol.Task{ID: pol.Hash{1}, Graph: g, Batch: 32, Seed: 7, Steps: 40, Data: train, CheckpointEvery: 10}
	solver := pol.Address{0xaa}
	store := pol.NewMemStore()
	res, err := pol.Train(ctx, pol.TrainConfig{Task: task, Solver: solver, Store: store})
	if err != nil {
		panic(err)
	}
	fmt.Printf("proof of %d steps, root %s…\n", res.Proof.Steps(), res.Proof.Root.String()[:16])

	v, err := pol.NewVerifier(pol.Config{Samples: 4})
	if err != nil {
		panic(err)
	}
	prover, err := pol.NewProver(pol.ProverConfig{Task: task, Proof: res.Proof, Store: store})
	if err != nil {
		panic(err)
	}
	defer prover.Close()
	verdict, err := v.Verify(ctx, task, solver, res.Proof, []byte("block 1234 hash"), prover)
	if err != nil {
		panic(err)
	}
	fmt.Println("accepted:", verdict.Accepted, "replayed:", len(verdict.Sampled))

	// The same proof claimed by someone else fails on structure alone.
	verdict, err = v.VerifyStructure(task, pol.Address{0xbb}, res.Proof)
	if err != nil {
		panic(err)
	}
	fmt.Println("thief accepted:", verdict.Accepted, "reason:", verdict.Reason)
	// Output:
	// proof of 40 steps, root 96fe2a1fb03382af…
	// accepted: true replayed: 3
	// thief accepted: false reason: solver
}
