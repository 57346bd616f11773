package dataset

import (
	"fmt"
	"testing"

	"github.com/deai-go/deai/internal/rng"
)

func TestBatches(t *testing.T) {
	tests := []struct {
		seed, epoch uint64
		n, batch    int
	}{
		{1, 0, 10, 3},
		{1, 1, 10, 3},
		{7, 0, 10, 10},
		{7, 5, 10, 1},
		{42, 2, 6000, 64},
		{42, 0, 60000, 128},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("seed%d_epoch%d_n%d_b%d", tt.seed, tt.epoch, tt.n, tt.batch), func(t *testing.T) {
			bs := Batches(tt.seed, tt.epoch, tt.n, tt.batch)
			perm := rng.Permutation(rng.New(tt.seed, tt.epoch+1), tt.n)
			steps := tt.n / tt.batch
			if len(bs) != steps || StepsPerEpoch(tt.n, tt.batch) != steps {
				t.Fatalf("%d batches, want %d", len(bs), steps)
			}
			seen := make([]bool, tt.n)
			for k, b := range bs {
				if len(b) != tt.batch || cap(b) != tt.batch {
					t.Fatalf("batch %d has len %d cap %d", k, len(b), cap(b))
				}
				for j, i := range b {
					if i != perm[k*tt.batch+j] {
						t.Fatalf("batch %d entry %d = %d, want %d", k, j, i, perm[k*tt.batch+j])
					}
					if seen[i] {
						t.Fatalf("sample %d twice", i)
					}
					seen[i] = true
				}
			}
			for _, i := range perm[steps*tt.batch:] {
				if seen[i] {
					t.Fatalf("dropped sample %d was used", i)
				}
			}
		})
	}
}

func TestBatchesDiffer(t *testing.T) {
	a := Batches(1, 0, 1000, 10)
	b := Batches(1, 1, 1000, 10)
	c := Batches(2, 0, 1000, 10)
	if fmt.Sprint(a) == fmt.Sprint(b) || fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("epochs or seeds share an order")
	}
	if fmt.Sprint(a) != fmt.Sprint(Batches(1, 0, 1000, 10)) {
		t.Fatal("same seed and epoch, different order")
	}
	// Stream 0 is not used.
	if fmt.Sprint(rng.Permutation(rng.New(1, 0), 1000)[:10]) == fmt.Sprint(a[0]) {
		t.Fatal("epoch 0 uses stream 0")
	}
}

func TestBatchesEmpty(t *testing.T) {
	for _, c := range [][2]int{{0, 1}, {10, 0}, {10, -1}, {3, 4}, {-5, 1}} {
		if b := Batches(1, 0, c[0], c[1]); b != nil {
			t.Errorf("Batches(n=%d, batch=%d) = %v, want nil", c[0], c[1], b)
		}
		if b := BatchAt(1, c[0], c[1], 0); b != nil {
			t.Errorf("BatchAt(n=%d, batch=%d) = %v, want nil", c[0], c[1], b)
		}
		if s := StepsPerEpoch(c[0], c[1]); s != 0 {
			t.Errorf("StepsPerEpoch(%d, %d) = %d", c[0], c[1], s)
		}
	}
}

// TestBatchAt: BatchAt agrees with Batches across epoch boundaries.
func TestBatchAt(t *testing.T) {
	tests := []struct {
		n, batch int
		steps    []uint64
	}{
		{10, 3, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 29, 30}},
		{10, 10, []uint64{0, 1, 2, 1 << 40}},
		{6000, 64, []uint64{0, 92, 93, 94, 93*7 + 11}},
		{60000, 128, []uint64{0, 467, 468, 468 * 3}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n%d_b%d", tt.n, tt.batch), func(t *testing.T) {
			steps := uint64(StepsPerEpoch(tt.n, tt.batch))
			for _, s := range tt.steps {
				got := BatchAt(99, tt.n, tt.batch, s)
				want := Batches(99, s/steps, tt.n, tt.batch)[s%steps]
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("step %d: %v, want %v", s, got, want)
				}
			}
		})
	}
	// A fresh copy each time.
	a := BatchAt(5, 10, 3, 1)
	a[0] = -1
	if b := BatchAt(5, 10, 3, 1); b[0] == -1 {
		t.Fatal("BatchAt shares memory between calls")
	}
}

func BenchmarkBatchAt60000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		BatchAt(1, 60000, 64, uint64(i))
	}
}
