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
// the default worker count (GOMAXPROCS), in segments of trainSegment steps per call as
// pol.Train runs them (one op is one segment; allocs/op are per segment), over a fixed window
// of 8 segments (200 steps) after a warm-up segment. It reports samples/s and ns/step;
// scripts/bench_compare.sh runs it beside PyTorch, scripts/bench_cores.sh at 1 and 2 cores.
func BenchmarkTrainStep(b *testing.B) {
	const trainSegment, trainWindow = 25, 8
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
				defer func() { r.Close() }()
				var epoch [][]int32 // enough epochs of the embedded subset for the window
				for e := uint64(1); len(epoch) < (1+trainWindow)*trainSegment; e++ {
					epoch = append(epoch, dataset.Batches(e, 0, train.N, batch)...)
				}
				res := make([]accel.StepResult, 0, trainSegment)
				// One warm-up segment outside the timer.
				if res, err = accel.TrainAppend(ctx, r, res[:0], epoch[:trainSegment]); err != nil {
					b.Fatal(err)
				}
				// The speed of a step depends on where training is (AdamW's second moments
				// drift into subnormal numbers, which the hardware handles slowly), so every
				// iteration trains one of the same window of segments after the warm-up,
				// starting again from the state after it (reopened outside the timer).
				start, err := r.State(ctx)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					seg := i % trainWindow
					if seg == 0 && i > 0 {
						b.StopTimer()
						r.Close()
						if r, err = be.Open(ctx, accel.RunSpec{Program: p, State: start, Data: train}); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					at := (1 + seg) * trainSegment
					if res, err = accel.TrainAppend(ctx, r, res[:0], epoch[at:at+trainSegment]); err != nil {
						b.Fatal(err)
					}
				}
				steps := float64(b.N * trainSegment)
				b.ReportMetric(steps*float64(batch)/b.Elapsed().Seconds(), "samples/s")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/steps, "ns/step")
				b.ReportMetric(float64(p.StepFLOPs())*steps/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
