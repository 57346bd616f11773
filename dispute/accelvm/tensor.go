package accelvm

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/internal/merkle"
)

// Hash is a SHA-256 digest.
type Hash = merkle.Hash

// Sizes of the commitments and chunks.
const (
	// SegLen is the number of values per leaf of a tensor's Merkle tree.
	SegLen = 128
	// TileM, TileN and TileK shape a MatMul chunk: 2·TileM·TileN·TileK = 2^16 FLOPs.
	TileM, TileN, TileK = 16, 16, 128
	// ElemChunk is the number of elements per chunk of an element-wise primitive.
	ElemChunk = 1024
)

const (
	segDomain  = "deai/accelvm/seg/v1\x00"
	envDomain  = "deai/accelvm/env/v1\x00"
	midDomain  = "deai/accelvm/mid/v1\x00"
	hdrDomain  = "deai/accelvm/header/v1\x00"
	slotDomain = "deai/accelvm/empty/v1\x00"
)

// EmptySlot is the root of a slot not yet written in the current step.
var EmptySlot = Hash(sha256.Sum256([]byte(slotDomain)))

// segLeaf returns the leaf hash of one segment.
func segLeaf(vals []float32) Hash {
	b := make([]byte, 0, len(segDomain)+4*len(vals))
	b = append(b, segDomain...)
	for _, v := range vals {
		bits := math.Float32bits(v)
		if v != v {
			bits = accel.CanonicalNaN
		}
		b = binary.LittleEndian.AppendUint32(b, bits)
	}
	return merkle.LeafHash(b)
}

// segs returns the number of segments of a tensor of n values.
func segs(n int) int { return (n + SegLen - 1) / SegLen }

// TensorRoot returns the Merkle root of a tensor's values (see the package documentation).
func TensorRoot(vals []float32) Hash {
	return merkle.Root(segLeaves(vals))
}

func segLeaves(vals []float32) []Hash {
	ls := make([]Hash, segs(len(vals)))
	for i := range ls {
		ls[i] = segLeaf(vals[i*SegLen : min(len(vals), (i+1)*SegLen)])
	}
	if len(ls) == 0 {
		ls = []Hash{segLeaf(nil)}
	}
	return ls
}

// zeroRoot returns the root of n zero values, TensorRoot(make([]float32, n)), in O(log n):
// on every level of the tree all nodes but the last are the same.
func zeroRoot(n int) Hash {
	c := segs(n)
	if c <= 1 {
		return segLeaf(make([]float32, n))
	}
	full := segLeaf(make([]float32, SegLen))
	last := segLeaf(make([]float32, n-(c-1)*SegLen))
	for c > 1 {
		if c%2 == 0 {
			last = node(full, last)
		}
		full = node(full, full)
		c = (c + 1) / 2
	}
	return last
}

// EnvLeaf is the instruction-level leaf of an environment root.
func EnvLeaf(env Hash) Hash {
	return sha256.Sum256(append([]byte(envDomain), env[:]...))
}

// headerLeaf is the environment's first leaf: the step counter and generator state.
func headerLeaf(step uint64, rng [32]byte) Hash {
	b := binary.LittleEndian.AppendUint64([]byte(hdrDomain), step)
	return merkle.LeafHash(append(b, rng[:]...))
}

// MidLeaf is the chunk-level leaf after e chunks of transition instr: the environment root at
// the transition's start and the transition's partial results.
func MidLeaf(instr, e uint64, env Hash, parts []Hash) Hash {
	h := sha256.New()
	b := append([]byte(midDomain), make([]byte, 20)...)
	binary.LittleEndian.PutUint64(b[len(midDomain):], instr)
	binary.LittleEndian.PutUint64(b[len(midDomain)+8:], e)
	binary.LittleEndian.PutUint32(b[len(midDomain)+16:], uint32(len(parts)))
	h.Write(b)
	h.Write(env[:])
	for _, p := range parts {
		h.Write(p[:])
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

// tree is a mutable Merkle tree with internal/merkle's shape: levels paired, odd nodes
// promoted.
type tree struct{ levels [][]Hash }

func newTree(leaves []Hash) *tree {
	t := &tree{levels: [][]Hash{append([]Hash(nil), leaves...)}}
	for lv := t.levels[0]; len(lv) > 1; {
		next := make([]Hash, (len(lv)+1)/2)
		for i := range next {
			next[i] = pair(lv, i)
		}
		t.levels = append(t.levels, next)
		lv = next
	}
	return t
}

func pair(lv []Hash, i int) Hash {
	if 2*i+1 < len(lv) {
		return node(lv[2*i], lv[2*i+1])
	}
	return lv[2*i]
}

func node(a, b Hash) Hash {
	var buf [65]byte
	buf[0] = 1
	copy(buf[1:], a[:])
	copy(buf[33:], b[:])
	return sha256.Sum256(buf[:])
}

func (t *tree) root() Hash { return t.levels[len(t.levels)-1][0] }

func (t *tree) proof(i int) merkle.Proof {
	p := merkle.Proof{Index: uint64(i), Size: uint64(len(t.levels[0]))}
	for _, lv := range t.levels[:len(t.levels)-1] {
		if sib := i ^ 1; sib < len(lv) {
			p.Siblings = append(p.Siblings, lv[sib])
		}
		i /= 2
	}
	return p
}

func (t *tree) set(i int, h Hash) {
	t.levels[0][i] = h
	for l := 1; l < len(t.levels); l++ {
		i /= 2
		t.levels[l][i] = pair(t.levels[l-1], i)
	}
}

// setMany sets leaves idx (ascending) to hs, hashing every changed node once.
func (t *tree) setMany(idx []int, hs []Hash) {
	for i, x := range idx {
		t.levels[0][x] = hs[i]
	}
	dirty := slices.Clone(idx)
	for l := 1; l < len(t.levels); l++ {
		n := 0
		for _, x := range dirty {
			if p := x / 2; n == 0 || dirty[n-1] != p {
				dirty[n] = p
				n++
			}
		}
		dirty = dirty[:n]
		for _, x := range dirty {
			t.levels[l][x] = pair(t.levels[l-1], x)
		}
	}
}

// rootWith returns the root that proof p gives leaf: the root after replacing leaf p.Index
// with leaf, when p verified the old leaf. p must have passed merkle.Verify.
func rootWith(leaf Hash, p merkle.Proof) Hash {
	h := leaf
	idx, k := p.Index, 0
	for w := p.Size; w > 1; w = (w + 1) / 2 {
		switch {
		case idx&1 == 1:
			h = node(p.Siblings[k], h)
			k++
		case idx+1 < w:
			h = node(h, p.Siblings[k])
			k++
		}
		idx /= 2
	}
	return h
}

// stateHash is accel.StateHash over merkle hashes.
func stateHash(step uint64, rng [32]byte, hs []Hash) Hash {
	a := make([]accel.Hash, len(hs))
	for i, h := range hs {
		a[i] = accel.Hash(h)
	}
	return Hash(accel.StateHash(step, rng, a))
}

// tensorHash is accel.TensorHash as a merkle hash.
func tensorHash(shape []int, vals []float32) Hash { return Hash(accel.TensorHash(shape, vals)) }

// tensorHashOf is accel.TensorHash from its preimage: the shape, the number of values and the
// Merkle root over the tensor's TensorBlock leaves (accel.Hasher.Root over the one-leaf tree
// whose root is that root).
func tensorHashOf(shape []int, n int, root Hash) Hash {
	var x accel.Hasher
	return Hash(x.Root(shape, n, []accel.Hash{accel.Hash(root)}))
}

// blockLeaf is the Merkle leaf of one TensorBlock block of a tensor in accel.TensorHash.
func blockLeaf(vals []float32) Hash {
	var x accel.Hasher
	return Hash(x.Leaf(vals))
}

// StateBlock is the number of values an "open" or "seal" chunk reads: one leaf of
// accel.TensorHash's tree (accel.TensorBlock) and, as StateBlock/SegLen is a power of two,
// one node of a slot's tree (the root of the block's segments, blockRoot).
const StateBlock = accel.TensorBlock

// blockSegs is the number of segments of a full state block.
const blockSegs = StateBlock / SegLen

// Both trees over a state tensor are cut at block boundaries: StateBlock is a multiple of
// SegLen, and the segments of a block form one node of the slot's tree.
var _ = [1]struct{}{}[StateBlock%SegLen+blockSegs&(blockSegs-1)]

// blockRoot returns the root of the segments of a state block: node b of level
// log2(StateBlock/SegLen) of the slot's tree, on which a tree over the block roots of a
// tensor (with internal/merkle's shape) has the tensor's root TensorRoot.
func blockRoot(vals []float32) Hash { return TensorRoot(vals) }

const carryDomain = "deai/accelvm/carry/v2\x00"

// Carry is the running state of the tree a chunk of "open" or "seal" builds over the blocks
// of one state tensor: the number of blocks done and the Merkle frontier of their hashes
// (the roots of the perfect subtrees the binary digits of Blocks give, largest first). The
// hashes are the blocks' roots in the slot's tree (open) or the blocks' leaves of
// accel.TensorHash (seal). A chunk-level leaf commits it by its hash.
type Carry struct {
	Blocks   uint64
	Frontier []Hash
}

// hash returns the commitment of c.
func (c *Carry) hash() Hash {
	h := sha256.New()
	h.Write(binary.LittleEndian.AppendUint64([]byte(carryDomain), c.Blocks))
	for _, f := range c.Frontier {
		h.Write(f[:])
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

// valid reports whether c is well formed after b ≥ 0 blocks.
func (c *Carry) valid(b int) bool {
	return c != nil && b >= 0 && c.Blocks == uint64(b) && len(c.Frontier) == bits.OnesCount64(c.Blocks)
}

// push returns the carry after one more block hash (c is not modified).
func (c Carry) push(leaf Hash) Carry {
	f := slices.Clone(c.Frontier)
	h := leaf
	for n := c.Blocks; n&1 == 1; n >>= 1 {
		h = node(f[len(f)-1], h)
		f = f[:len(f)-1]
	}
	return Carry{Blocks: c.Blocks + 1, Frontier: append(f, h)}
}

// root returns the Merkle root over the block hashes pushed (at least one).
func (c Carry) root() Hash {
	root := c.Frontier[len(c.Frontier)-1]
	for i := len(c.Frontier) - 2; i >= 0; i-- {
		root = node(c.Frontier[i], root)
	}
	return root
}

// blocks returns the number of StateBlock blocks of a tensor of n values (at least one):
// accel.TensorBlocks(n).
func blocks(n int) int { return accel.TensorBlocks(n) }

// blockOf returns block b of a tensor's values.
func blockOf(vals []float32, b int) []float32 {
	return vals[min(len(vals), b*StateBlock):min(len(vals), (b+1)*StateBlock)]
}
