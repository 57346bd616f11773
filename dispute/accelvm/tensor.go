package accelvm

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"
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

// StateBlock is the number of values an "open" or "seal" chunk hashes: a multiple of SegLen.
const StateBlock = 32 * SegLen

const (
	carryDomain  = "deai/accelvm/carry/v1\x00"
	tensorDomain = "deai/tensor/v1\x00" // accel.TensorHash's domain
	// maxMidstate bounds the size of a SHA-256 midstate in a witness.
	maxMidstate = 256
)

// Carry is the running state of hashing one state tensor block by block: the SHA-256
// midstate of accel.TensorHash after a prefix of the tensor (crypto/sha256's binary
// marshaling), the number of segments of the prefix and the Merkle frontier of their leaves
// (the roots of the perfect subtrees the binary digits of Segs give, largest first). A
// chunk-level leaf commits it by its hash.
type Carry struct {
	Mid      []byte
	Segs     uint64
	Frontier []Hash
}

// hash returns the commitment of c.
func (c *Carry) hash() Hash {
	h := sha256.New()
	b := binary.LittleEndian.AppendUint32([]byte(carryDomain), uint32(len(c.Mid)))
	h.Write(b)
	h.Write(c.Mid)
	h.Write(binary.LittleEndian.AppendUint64(nil, c.Segs))
	for _, f := range c.Frontier {
		h.Write(f[:])
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

// stream hashes a state tensor block by block: accel.TensorHash and TensorRoot at once.
type stream struct {
	h        hash.Hash
	segs     uint64
	frontier []Hash
}

// newStream starts the hashes of a tensor of the given shape.
func newStream(shape []int) *stream {
	h := sha256.New()
	b := binary.LittleEndian.AppendUint32([]byte(tensorDomain), uint32(len(shape)))
	for _, d := range shape {
		b = binary.LittleEndian.AppendUint32(b, uint32(d))
	}
	h.Write(b)
	return &stream{h: h}
}

// resume restores a stream from a carry; it fails on a malformed carry.
func resume(c *Carry) (*stream, error) {
	if c == nil || len(c.Mid) > maxMidstate || len(c.Frontier) != bits.OnesCount64(c.Segs) {
		return nil, bad("malformed carry")
	}
	h := sha256.New()
	u, ok := h.(encoding.BinaryUnmarshaler)
	if !ok {
		return nil, bad("sha256 cannot resume")
	}
	if err := u.UnmarshalBinary(c.Mid); err != nil {
		return nil, bad("carry midstate: %v", err)
	}
	return &stream{h: h, segs: c.Segs, frontier: slices.Clone(c.Frontier)}, nil
}

// carry returns the stream's state.
func (s *stream) carry() *Carry {
	m, err := s.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(fmt.Sprintf("accelvm: sha256 midstate: %v", err)) // crypto/sha256 always marshals
	}
	return &Carry{Mid: m, Segs: s.segs, Frontier: slices.Clone(s.frontier)}
}

// write adds values; every call but the last must hold a multiple of SegLen values.
func (s *stream) write(vals []float32) {
	b := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		bits := math.Float32bits(v)
		if v != v {
			bits = accel.CanonicalNaN
		}
		b = binary.LittleEndian.AppendUint32(b, bits)
	}
	s.h.Write(b)
	for i := 0; i < len(vals) || i == 0 && s.segs == 0; i += SegLen {
		s.push(segLeaf(vals[i:min(len(vals), i+SegLen)]))
	}
}

func (s *stream) push(leaf Hash) {
	h := leaf
	for n := s.segs; n&1 == 1; n >>= 1 {
		h = node(s.frontier[len(s.frontier)-1], h)
		s.frontier = s.frontier[:len(s.frontier)-1]
	}
	s.frontier = append(s.frontier, h)
	s.segs++
}

// sums returns the tensor hash and the tensor root of everything written.
func (s *stream) sums() (tensor, root Hash) {
	s.h.Sum(tensor[:0])
	root = s.frontier[len(s.frontier)-1]
	for i := len(s.frontier) - 2; i >= 0; i-- {
		root = node(s.frontier[i], root)
	}
	return tensor, root
}

// blocks returns the number of StateBlock blocks of a tensor of n values (at least one).
func blocks(n int) int { return max(1, (n+StateBlock-1)/StateBlock) }
