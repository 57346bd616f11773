package pol_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/pol"
)

// BenchmarkTrain trains the reference MLP (784-128-10, AdamW, batch 64) for 200 steps on the
// embedded Fashion-MNIST subset, without a proof (the backend's Train calls alone, in the same
// segments of 25 steps) and with one (pol.Train: state hashes chained and committed, a
// checkpoint every 100 steps written crash-safely to a DirStore). The ratio of the two is the
// proof's overhead.
func BenchmarkTrain(b *testing.B) {
	train, _, err := dataset.EmbeddedFashionMNIST()
	if err != nil {
		b.Fatal(err)
	}
	const steps = 200
	tk := pol.Task{ID: sha256.Sum256([]byte("bench")), Graph: graph.FashionMLP(), Batch: 64, Seed: 1, Steps: steps, Data: train}.EnsureDefaults()
	prog, err := tk.Program()
	if err != nil {
		b.Fatal(err)
	}
	be, err := cpu.New(cpu.Config{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	train.Commitment() // hashed once, outside both timings
	seed := tk.Binding(alice, pol.Exact).RunSeed()
	b.Run("noproof", func(b *testing.B) {
		for b.Loop() {
			r, err := be.Open(ctx, accel.RunSpec{Program: prog, Seed: seed, Data: train})
			if err != nil {
				b.Fatal(err)
			}
			var batches, epoch [][]int32
			per := uint64(dataset.StepsPerEpoch(train.N, 64))
			for i := range uint64(steps) {
				if i%per == 0 {
					epoch = dataset.Batches(seed, i/per, train.N, 64)
				}
				batches = append(batches, epoch[i%per])
				if len(batches) == 25 {
					if _, err := r.Train(ctx, batches); err != nil {
						b.Fatal(err)
					}
					batches = batches[:0]
				}
			}
			r.Close()
		}
		b.ReportMetric(float64(b.N*steps)/b.Elapsed().Seconds(), "steps/s")
	})
	b.Run("proof", func(b *testing.B) {
		var trainT, proofT time.Duration
		for b.Loop() {
			store, err := pol.NewDirStore(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			res, err := pol.Train(ctx, pol.TrainConfig{Task: tk, Solver: alice, Backend: be, Store: store, Clock: time.Now})
			if err != nil {
				b.Fatal(err)
			}
			trainT += res.TrainTime
			proofT += res.ProofTime
		}
		b.ReportMetric(float64(b.N*steps)/b.Elapsed().Seconds(), "steps/s")
		// The proof's own work over the training work of the same runs, timed segment by
		// segment: robust against load that varies between the two sub-benchmarks.
		b.ReportMetric(100*proofT.Seconds()/trainT.Seconds(), "overhead-%")
	})
}

// BenchmarkVerifyStructure measures structural verification (binding, start state, the step
// chain and Merkle root, checkpoint headers) of a 100,000-step proof of the small task.
func BenchmarkVerifyStructure(b *testing.B) {
	const steps = 100000
	tk := task(b, steps, steps)
	prog := mustProgram(b, tk)
	bind := tk.Binding(alice, pol.Exact)
	start := accel.InitialState(prog, bind.RunSeed())
	end := start.Clone()
	end.Step = steps
	states := make([]pol.Hash, steps+1)
	states[0] = start.Hash(prog)
	for i := 1; i < steps; i++ {
		states[i] = sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
	}
	states[steps] = end.Hash(prog)
	p := pol.Seal(bind, states, []pol.CheckpointHeader{pol.HeaderOf(prog, 0, start), pol.HeaderOf(prog, steps, end)})
	v := verifier(b, pol.Config{})
	for b.Loop() {
		vd, err := v.VerifyStructure(tk, alice, p)
		if err != nil || !vd.Accepted {
			b.Fatalf("%+v %v", vd, err)
		}
	}
	b.ReportMetric(float64(b.N*steps)/b.Elapsed().Seconds(), "steps/s")
}
