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

// TestStateTrees builds the trees "open" and "seal" build, block by block through a carry
// committed and rebuilt between blocks, and checks them against the whole-tensor hashes: the
// block roots give TensorRoot (open), the TensorBlock leaves give accel.TensorHash (seal),
// including NaNs, an empty tensor and sizes around the segment and block edges.
func TestStateTrees(t *testing.T) {
	src := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 5, SegLen - 1, SegLen, SegLen + 1, StateBlock - 1, StateBlock, StateBlock + 1, 3*StateBlock + 77, 7 * StateBlock, 784 * 128} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			vals := make([]float32, n)
			for i := range vals {
				vals[i] = float32(src.NormFloat64())
			}
			if n > 0 {
				vals[src.IntN(n)] = float32(math.NaN())
			}
			shape := []int{n}
			if n%128 == 0 && n > 0 {
				shape = []int{n / 128, 128}
			}
			var open, seal Carry
			for b := range blocks(n) {
				for _, c := range []*Carry{&open, &seal} {
					if !c.valid(b) || len(c.Frontier) > 64 {
						t.Fatalf("block %d: carry of %d blocks, %d hashes", b, c.Blocks, len(c.Frontier))
					}
				}
				blk := blockOf(vals, b)
				open, seal = open.push(blockRoot(blk)), seal.push(blockLeaf(blk))
			}
			if open.root() != TensorRoot(vals) {
				t.Error("open: the block roots do not give TensorRoot")
			}
			if got := tensorHashOf(shape, n, seal.root()); got != Hash(accel.TensorHash(shape, vals)) {
				t.Error("seal: the block leaves do not give accel.TensorHash")
			}
		})
	}
}

// TestCarryPush checks the frontier against merkle.Root for every tree size up to 300.
func TestCarryPush(t *testing.T) {
	var c Carry
	var leaves []Hash
	for i := range 300 {
		l := Hash{byte(i), byte(i >> 8), 1}
		leaves = append(leaves, l)
		before := c.hash()
		next := c.push(l)
		if c.hash() != before {
			t.Fatal("push modified the carry")
		}
		c = next
		if c.root() != merkle.Root(leaves) {
			t.Fatalf("root after %d leaves differs", i+1)
		}
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

// FuzzCarry feeds the carry checks arbitrary carries: they must never panic, and a carry
// they accept must keep building a tree.
func FuzzCarry(f *testing.F) {
	c := Carry{}.push(Hash{1}).push(Hash{2}).push(Hash{3})
	f.Add(c.Blocks, uint8(len(c.Frontier)), 3)
	f.Add(uint64(0), uint8(0), 0)
	f.Add(uint64(3), uint8(1), 3)
	f.Add(^uint64(0), uint8(64), -1)
	f.Fuzz(func(t *testing.T, blocks uint64, nf uint8, b int) {
		c := &Carry{Blocks: blocks, Frontier: make([]Hash, nf)}
		c.hash()
		if !c.valid(b) {
			return
		}
		if b > 0 {
			c.root()
		}
		next := c.push(Hash{9})
		if !next.valid(b + 1) {
			t.Fatalf("carry after %d blocks does not stay valid", b)
		}
		next.root()
	})
}

// TestBadCarry: "open" and "seal" chunks whose carry, block, block proof or slot proof were
// altered are rejected with dispute.ErrBadProof.
func TestBadCarry(t *testing.T) {
	g, err := graph.MLP(784, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(t, g, 4, 2, 1)
	tr := r.trace(t, nil)
	seal := r.vm.seal()
	nb := uint64(r.vm.blockAt[1]) // blocks of the first state tensor (784×16: 4)
	if nb < 3 {
		t.Fatalf("first state tensor has %d blocks", nb)
	}
	tests := []struct {
		name  string
		instr uint64
		chunk uint64
		edit  func(w *Witness)
	}{
		{"open frontier", trOpen, 2, func(w *Witness) { w.Carry.Frontier[0][0] ^= 1 }},
		{"open blocks", trOpen, 2, func(w *Witness) { w.Carry.Blocks++ }},
		{"open no carry", trOpen, 2, func(w *Witness) { w.Carry = nil }},
		{"open short block", trOpen, 2, func(w *Witness) { w.Values = w.Values[1:] }},
		{"open tensor hash", trOpen, 2, func(w *Witness) { w.Hashes[0][0] ^= 1 }},
		{"open header", trOpen, 0, func(w *Witness) { w.Step++ }},
		{"open block root", trOpen, 1, func(w *Witness) { w.BlockRoot[0] ^= 1 }},
		{"open block proof", trOpen, 1, func(w *Witness) { w.Block.Siblings[0][0] ^= 1 }},
		{"open block index", trOpen, 1, func(w *Witness) { w.Block.Index++ }},
		{"open last block value", trOpen, nb - 1, func(w *Witness) { w.Values[0]++ }},
		{"seal frontier", seal, 1, func(w *Witness) { w.Carry.Frontier[0][0] ^= 1 }},
		{"seal last block value", seal, nb - 1, func(w *Witness) { w.Values[0]++ }},
		{"seal slot root", seal, nb - 1, func(w *Witness) { w.Reads[0].Root[0] ^= 1 }},
		{"seal no slot", seal, nb - 1, func(w *Witness) { w.Reads = nil }},
		{"seal block proof", seal, 1, func(w *Witness) { w.Block.Siblings[0][0] ^= 1 }},
		{"seal header", seal, r.vm.Chunks(seal) - 1, func(w *Witness) { w.RNG[0] ^= 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { rejects(t, r, tr, tc.instr, tc.chunk, tc.edit) })
	}
}

// rejects checks that the honest witness of chunk e of transition instr (step 0) is
// accepted, and rejected with dispute.ErrBadProof after edit.
func rejects(t *testing.T, r *run, tr *Trace, instr, e uint64, edit func(w *Witness)) {
	t.Helper()
	cl, err := tr.Commit(dispute.Position{Level: dispute.LevelChunk, Step: 0, Instr: instr})
	if err != nil {
		t.Fatal(err)
	}
	p := dispute.Path{Step: 0, Instr: instr, Chunk: e}
	w, err := tr.witness(p)
	if err != nil {
		t.Fatal(err)
	}
	post, _, err := r.vm.Check(p, cl.Leaf(e), mustEncode(t, w))
	if err != nil || post != cl.Leaf(e+1) {
		t.Fatalf("honest witness: %v", err)
	}
	edit(w)
	post, _, err = r.vm.Check(p, cl.Leaf(e), mustEncode(t, w))
	if !errors.Is(err, dispute.ErrBadProof) {
		t.Fatalf("altered witness: post %v, err %v", post, err)
	}
}

// TestStateValuesBound is the regression test of the hole "open" and "seal" had when they
// hashed a tensor through a SHA-256 midstate and checked its values only at the tensor's last
// block: a liar who changed the values of an earlier block had a valid first disagreement.
// On the MLP 784-32-10, the values of open chunk 1 (the second of the first weight's seven
// blocks) and of seal chunk 0 are altered, alone and with every proof the liar can rebuild
// around them (a block tree over the altered tensor, the altered block's root and path), and
// the referee must reject them all.
func TestStateValuesBound(t *testing.T) {
	g, err := graph.MLP(784, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(t, g, 4, 2, 1)
	tr := r.trace(t, nil)
	if nb := r.vm.blockAt[1]; nb < 2 {
		t.Fatalf("first state tensor has %d blocks", nb)
	}
	sr, err := tr.step(0)
	if err != nil {
		t.Fatal(err)
	}
	// rebuild returns a tree over the blocks of the first state tensor with block b
	// replaced by vals, by hash.
	rebuild := func(tensor []float32, b int, vals []float32, hash func([]float32) Hash) *tree {
		hs := make([]Hash, blocks(len(tensor)))
		for i := range hs {
			hs[i] = hash(blockOf(tensor, i))
		}
		hs[b] = hash(vals)
		return newTree(hs)
	}
	seal := r.vm.seal()
	tests := []struct {
		name  string
		instr uint64
		chunk uint64
		edit  func(w *Witness)
	}{
		{"open value", trOpen, 1, func(w *Witness) { w.Values[0]++ }},
		{"open last value", trOpen, 1, func(w *Witness) { w.Values[len(w.Values)-1] = float32(math.NaN()) }},
		{"open value and block tree", trOpen, 1, func(w *Witness) {
			w.Values[7] = -w.Values[7] - 1
			bt := rebuild(sr.pre.Tensors[0], 1, w.Values, blockLeaf)
			w.BlockRoot, w.Block = bt.root(), bt.proof(1)
		}},
		{"seal value", seal, 0, func(w *Witness) { w.Values[0]++ }},
		{"seal value and block path", seal, 0, func(w *Witness) {
			w.Values[100] *= 2
			bt := rebuild(sr.vals[r.vm.p.State[0]], 0, w.Values, blockRoot)
			w.Reads[0].Root, w.Block = bt.root(), bt.proof(0)
		}},
		{"seal middle block value", seal, 3, func(w *Witness) { w.Values[4000]++ }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { rejects(t, r, tr, tc.instr, tc.chunk, tc.edit) })
	}
}
