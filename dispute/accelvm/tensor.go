package accelvm

import (
	"crypto/sha256"
	"encoding/binary"
	"math"

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

// zeroRoot returns the root of n zero values.
func zeroRoot(n int) Hash { return TensorRoot(make([]float32, n)) }

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
