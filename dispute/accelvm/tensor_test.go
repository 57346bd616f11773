package accelvm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/internal/merkle"
)

// TestStream hashes tensors block by block through a carry committed and resumed between
// blocks, as "open" and "seal" chunks do, and checks the results against accel.TensorHash
// and TensorRoot, including NaNs and sizes around the segment and block edges.
func TestStream(t *testing.T) {
	src := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 5, SegLen - 1, SegLen, SegLen + 1, StateBlock - 1, StateBlock, StateBlock + 1, 3*StateBlock + 77, 784 * 128} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			vals := make([]float32, n)
			for i := range vals {
				vals[i] = float32(src.NormFloat64())
			}
			vals[src.IntN(n)] = float32(math.NaN())
			shape := []int{n}
			if n%128 == 0 {
				shape = []int{n / 128, 128}
			}
			st := newStream(shape)
			for b := range blocks(n) {
				if b > 0 {
					c := st.carry()
					if len(c.Frontier) > 64 || len(c.Mid) > maxMidstate {
						t.Fatalf("carry of %d hashes, %d bytes", len(c.Frontier), len(c.Mid))
					}
					var err error
					if st, err = resume(c); err != nil {
						t.Fatal(err)
					}
				}
				st.write(vals[b*StateBlock : min(n, (b+1)*StateBlock)])
			}
			th, root := st.sums()
			if th != Hash(accel.TensorHash(shape, vals)) {
				t.Error("tensor hash differs from accel.TensorHash")
			}
			if root != TensorRoot(vals) {
				t.Error("root differs from TensorRoot")
			}
		})
	}
}

// TestZeroRoot checks the logarithmic zeroRoot against the root of materialized zeros.
func TestZeroRoot(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 129, 255, 256, 257, 1000, 128 * 5, 128*7 + 3, 100352, 1 << 17} {
		if got, want := zeroRoot(n), merkle.Root(segLeaves(make([]float32, n))); got != want {
			t.Errorf("zeroRoot(%d) differs", n)
		}
	}
}

// FuzzCarry feeds resume arbitrary carries: it must never panic, and a carry it accepts
// must keep hashing.
func FuzzCarry(f *testing.F) {
	st := newStream([]int{300})
	st.write(make([]float32, 256))
	c := st.carry()
	f.Add(c.Mid, c.Segs, uint8(len(c.Frontier)))
	f.Add([]byte{}, uint64(0), uint8(0))
	f.Add(c.Mid[:len(c.Mid)/2], uint64(3), uint8(2))
	f.Fuzz(func(t *testing.T, mid []byte, segs uint64, nf uint8) {
		st, err := resume(&Carry{Mid: mid, Segs: segs, Frontier: make([]Hash, nf)})
		if err != nil {
			return
		}
		st.write(make([]float32, 44))
		st.sums()
		if _, err := resume(st.carry()); err != nil {
			t.Fatalf("a carry the stream made does not resume: %v", err)
		}
	})
}

// TestBadCarry: "open" and "seal" chunks whose carry, values or slot proof were altered are
// rejected with dispute.ErrBadProof.
func TestBadCarry(t *testing.T) {
	g, err := graph.MLP(784, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(t, g, 4, 2, 1)
	tr := r.trace(t, nil)
	seal := r.vm.seal()
	nb := uint64(r.vm.blockAt[1]) // blocks of the first state tensor (784×16: 4)
	if nb < 2 {
		t.Fatalf("first state tensor has %d blocks", nb)
	}
	tests := []struct {
		name  string
		instr uint64
		chunk uint64
		edit  func(w *Witness)
	}{
		{"open midstate", trOpen, 2, func(w *Witness) { w.Carry.Mid[len(w.Carry.Mid)-1] ^= 1 }},
		{"open frontier", trOpen, 2, func(w *Witness) { w.Carry.Frontier[0][0] ^= 1 }},
		{"open segments", trOpen, 2, func(w *Witness) { w.Carry.Segs++ }},
		{"open no carry", trOpen, 2, func(w *Witness) { w.Carry = nil }},
		{"open short block", trOpen, 2, func(w *Witness) { w.Values = w.Values[1:] }},
		{"open last block value", trOpen, nb, func(w *Witness) { w.Values[0]++ }},
		{"seal midstate", seal, 1, func(w *Witness) { w.Carry.Mid[40] ^= 1 }},
		{"seal last block value", seal, nb - 1, func(w *Witness) { w.Values[0]++ }},
		{"seal slot root", seal, nb - 1, func(w *Witness) { w.Reads[0].Root[0] ^= 1 }},
		{"seal no slot", seal, nb - 1, func(w *Witness) { w.Reads = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := tr.Commit(dispute.Position{Level: dispute.LevelChunk, Step: 0, Instr: tc.instr})
			if err != nil {
				t.Fatal(err)
			}
			p := dispute.Path{Step: 0, Instr: tc.instr, Chunk: tc.chunk}
			w, err := tr.witness(p)
			if err != nil {
				t.Fatal(err)
			}
			post, _, err := r.vm.Check(p, cl.Leaf(tc.chunk), mustEncode(t, w))
			if err != nil || post != cl.Leaf(tc.chunk+1) {
				t.Fatalf("honest witness: %v", err)
			}
			tc.edit(w)
			_, _, err = r.vm.Check(p, cl.Leaf(tc.chunk), mustEncode(t, w))
			if !errors.Is(err, dispute.ErrBadProof) {
				t.Fatalf("altered witness: %v", err)
			}
		})
	}
}
