//go:build !race

package cpu

import (
	"context"
	"testing"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
)

// TestTrainAllocs checks that training allocates nothing in steady state: no goroutines per
// parallel loop, no operand slices per instruction, no task values, no hash states. Train
// allocates exactly the slice it returns; TrainAppend into a slice with room allocates
// nothing, for one step per call and for segments (whose states are hashed in the
// background). (Built without the race detector, which makes sync.Pool drop values at random.)
func TestTrainAllocs(t *testing.T) {
	train, _ := embedded(t)
	for _, m := range []struct {
		name string
		g    *graph.Graph
	}{{"mlp", graph.FashionMLP()}, {"cnn", graph.FashionCNN()}} {
		for _, workers := range []int{1, 2, 4} {
			p, err := graph.Compile(m.g, 8, graph.Optimizer{Kind: graph.AdamW})
			if err != nil {
				t.Fatal(err)
			}
			b, err := New(Config{Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			r, err := b.Open(ctx, accel.RunSpec{Program: p, Seed: 1, Data: train})
			if err != nil {
				t.Fatal(err)
			}
			epoch := dataset.Batches(1, 0, train.N, 8)
			i := 0
			dst := make([]accel.StepResult, 0, 4)
			for _, c := range []struct {
				name       string
				seg, allow int
				appendTo   bool
			}{{"Train", 1, 1, false}, {"TrainAppend", 1, 0, true}, {"TrainAppend/segment", 4, 0, true}} {
				step := func() {
					b := epoch[i%(len(epoch)-4) : i%(len(epoch)-4)+c.seg]
					var err error
					if c.appendTo {
						dst, err = accel.TrainAppend(ctx, r, dst[:0], b)
					} else {
						_, err = r.Train(ctx, b)
					}
					if err != nil {
						t.Fatal(err)
					}
					i++
				}
				for range 3 {
					step() // warm up the pools
				}
				if n := testing.AllocsPerRun(10, step); n > float64(c.allow) {
					t.Errorf("%s, %d workers, %s: %v allocations per call, want at most %d", m.name, workers, c.name, n, c.allow)
				}
			}
			r.Close()
		}
	}
}
