package attack_test

import (
	"context"
	"fmt"

	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/pol"
	"github.com/deai-go/deai/pol/attack"
)

// A lazy solver skips a quarter of its steps; the verifier catches it as soon as a skipped step
// is among those it samples.
func ExampleA7Partial() {
	ctx := context.Background()
	train, _, err := dataset.EmbeddedFashionMNIST()
	if err != nil {
		panic(err)
	}
	g, err := graph.MLP(784, 10, 8)
	if err != nil {
		panic(err)
	}
	task := pol.Task{ID: pol.Hash{2}, Graph: g, Batch: 16, Seed: 3, Steps: 20, Data: train, CheckpointEvery: 5}.EnsureDefaults()
	forgeries, err := attack.A7Partial(ctx, attack.Setup{Task: task, Attacker: pol.Address{0xee}, Fraction: 0.25})
	if err != nil {
		panic(err)
	}
	v, err := pol.NewVerifier(pol.Config{Samples: 12})
	if err != nil {
		panic(err)
	}
	for _, f := range forgeries {
		verdict, err := v.Verify(ctx, task, pol.Address{0xee}, f.Proof, []byte("beacon"), f.Opener)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d forged steps, accepted %v (%s at step %d)\n", f.Name, len(f.Forged), verdict.Accepted, verdict.Reason, verdict.Step)
	}
	// Output:
	// A7 skip: 5 forged steps, accepted false (replay at step 15)
	// A7 fake: 5 forged steps, accepted false (replay at step 1)
}
