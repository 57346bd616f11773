package cpu

import (
	"context"
	"fmt"
	"testing"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
)

// BenchmarkTrainStep measures whole training steps (forward, backward, AdamW update and the
// state hash) of the reference models at batch 64 on the embedded Fashion-MNIST subset, with
// the default worker count (GOMAXPROCS). It reports samples/s; scripts/bench_compare.sh runs
// it beside PyTorch.
func BenchmarkTrainStep(b *testing.B) {
	train, _ := embedded(b)
	for _, m := range []struct {
		name string
		g    *graph.Graph
	}{{"mlp", graph.FashionMLP()}, {"cnn", graph.FashionCNN()}} {
		for _, batch := range []int{64} {
			b.Run(fmt.Sprintf("%s/b%d", m.name, batch), func(b *testing.B) {
				p, err := graph.Compile(m.g, batch, graph.Optimizer{Kind: graph.AdamW})
				if err != nil {
					b.Fatal(err)
				}
				be, err := New(Config{})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				r, err := be.Open(ctx, accel.RunSpec{Program: p, Seed: 1, Data: train})
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				epoch := dataset.Batches(1, 0, train.N, batch)
				// One warm-up step outside the timer.
				if _, err := r.Train(ctx, epoch[:1]); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if _, err := r.Train(ctx, epoch[i%len(epoch):i%len(epoch)+1]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
				b.ReportMetric(float64(p.StepFLOPs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
