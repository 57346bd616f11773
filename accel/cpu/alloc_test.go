//go:build !race

package cpu

import (
	"context"
	"testing"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
)

// trainAllocsOutsideCPU is what one Train call of one step allocates outside this package's
// control: the []accel.StepResult it returns (the caller owns it), and three allocations inside
// accel.StateHash (its byte buffer grows from nil).
const trainAllocsOutsideCPU = 4

// TestTrainAllocs checks that a training step allocates nothing in the runtime itself in steady
// state: no goroutines per parallel loop, no operand slices per instruction, no task values.
// (Built without the race detector, which makes sync.Pool drop values at random.)
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
			step := func() {
				if _, err := r.Train(ctx, epoch[i%len(epoch):i%len(epoch)+1]); err != nil {
					t.Fatal(err)
				}
				i++
			}
			for range 3 {
				step() // warm up the pools
			}
			if n := testing.AllocsPerRun(10, step); n > trainAllocsOutsideCPU {
				t.Errorf("%s, %d workers: %v allocations per step, want at most %d", m.name, workers, n, trainAllocsOutsideCPU)
			}
			r.Close()
		}
	}
}
