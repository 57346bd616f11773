package merkle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// Hash is a SHA-256 digest: a leaf hash, an inner node or a root.
type Hash [32]byte

// String returns h as 64 lowercase hexadecimal digits.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Domain prefixes of leaves and inner nodes.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// MaxSize is the largest number of leaves a [Proof] may describe.
const MaxSize = 1 << 40

// MaxSiblings is the largest sibling count a proof encoding may carry.
const MaxSiblings = 64

// EmptyRoot is the root of the tree with no leaves: SHA-256("deai/merkle/empty").
var EmptyRoot = Hash(sha256.Sum256([]byte("deai/merkle/empty")))

// ErrInvalidProof is returned, wrapped with the facts, when a proof does not
// prove what it claims or is malformed.
var ErrInvalidProof = errors.New("merkle: invalid proof")

// ErrIndexOutOfRange is returned, wrapped, by [Tree.Proof] for an index that
// names no leaf.
var ErrIndexOutOfRange = errors.New("merkle: leaf index out of range")

// LeafHash returns SHA-256(0x00 || data).
func LeafHash(data []byte) Hash {
	h := sha256.New()
	h.Write([]byte{leafPrefix})
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// nodeHash returns SHA-256(0x01 || l || r).
func nodeHash(l, r *Hash) Hash {
	var buf [1 + 2*32]byte
	buf[0] = nodePrefix
	copy(buf[1:], l[:])
	copy(buf[33:], r[:])
	return sha256.Sum256(buf[:])
}

// Root returns the root of the tree over leaves (leaf hashes, see [LeafHash])
// without keeping the inner levels. It does not modify leaves.
func Root(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return EmptyRoot
	case 1:
		return leaves[0]
	}
	level := make([]Hash, (len(leaves)+1)/2)
	reduce(level, leaves)
	for len(level) > 1 {
		n := (len(level) + 1) / 2
		reduce(level[:n], level)
		level = level[:n]
	}
	return level[0]
}

// RootInPlace returns Root(leaves), overwriting leaves with inner nodes: it allocates
// nothing, for callers that hash every step.
func RootInPlace(leaves []Hash) Hash {
	if len(leaves) == 0 {
		return EmptyRoot
	}
	level := leaves
	for len(level) > 1 {
		n := (len(level) + 1) / 2
		reduce(level[:n], level)
		level = level[:n]
	}
	return level[0]
}

// reduce writes the next level of src into dst, len(dst) = (len(src)+1)/2.
// dst may alias the start of src: entry i is written after entries 2i and
// 2i+1 are read.
func reduce(dst, src []Hash) {
	for i := range dst {
		if 2*i+1 < len(src) {
			dst[i] = nodeHash(&src[2*i], &src[2*i+1])
		} else {
			dst[i] = src[2*i]
		}
	}
}

// Tree is a Merkle tree with all its levels kept, so that proofs are cheap.
// It is immutable and safe for concurrent use.
type Tree struct {
	levels [][]Hash // levels[0] are the leaves, the last level is the root
}

// New builds the tree over leaves (leaf hashes, see [LeafHash]). It copies
// leaves. The tree takes 2n hashes of memory for n leaves.
func New(leaves []Hash) *Tree {
	t := &Tree{levels: [][]Hash{append([]Hash(nil), leaves...)}}
	for lv := t.levels[0]; len(lv) > 1; {
		next := make([]Hash, (len(lv)+1)/2)
		reduce(next, lv)
		t.levels = append(t.levels, next)
		lv = next
	}
	return t
}

// Len returns the number of leaves.
func (t *Tree) Len() int { return len(t.levels[0]) }

// Leaf returns leaf hash i; ok is false if i is out of range.
func (t *Tree) Leaf(i int) (h Hash, ok bool) {
	if i < 0 || i >= len(t.levels[0]) {
		return Hash{}, false
	}
	return t.levels[0][i], true
}

// Root returns the root, [EmptyRoot] for a tree with no leaves.
func (t *Tree) Root() Hash {
	if len(t.levels[0]) == 0 {
		return EmptyRoot
	}
	return t.levels[len(t.levels)-1][0]
}

// Proof returns the inclusion proof of leaf i. It fails with
// [ErrIndexOutOfRange] if there is no leaf i.
func (t *Tree) Proof(i int) (Proof, error) {
	n := len(t.levels[0])
	if i < 0 || i >= n {
		return Proof{}, fmt.Errorf("%w: index %d, tree of %d leaves", ErrIndexOutOfRange, i, n)
	}
	p := Proof{Index: uint64(i), Size: uint64(n)}
	idx := i
	for _, lv := range t.levels[:len(t.levels)-1] {
		if sib := idx ^ 1; sib < len(lv) {
			p.Siblings = append(p.Siblings, lv[sib])
		}
		idx /= 2
	}
	return p, nil
}

// Proof is an inclusion proof: leaf Index of a tree of Size leaves, with the
// Siblings from the bottom level up (see the package documentation).
type Proof struct {
	Index    uint64
	Size     uint64
	Siblings []Hash
}

// pathLen returns the number of siblings a proof of index in a tree of size
// leaves carries. It requires index < size.
func pathLen(index, size uint64) int {
	k := 0
	for w := size; w > 1; w = (w + 1) / 2 {
		if index^1 < w {
			k++
		}
		index /= 2
	}
	return k
}

// check reports whether p's index, size and sibling count are consistent.
func (p *Proof) check() error {
	if p.Size == 0 {
		return fmt.Errorf("%w: size 0 (the empty tree has no leaves to prove)", ErrInvalidProof)
	}
	if p.Size > MaxSize {
		return fmt.Errorf("%w: size %d exceeds the maximum %d", ErrInvalidProof, p.Size, uint64(MaxSize))
	}
	if p.Index >= p.Size {
		return fmt.Errorf("%w: index %d out of range for size %d", ErrInvalidProof, p.Index, p.Size)
	}
	if want := pathLen(p.Index, p.Size); len(p.Siblings) != want {
		return fmt.Errorf("%w: %d siblings, want %d for index %d of size %d",
			ErrInvalidProof, len(p.Siblings), want, p.Index, p.Size)
	}
	return nil
}

// Verify checks that p proves leaf to be leaf p.Index of a tree of p.Size
// leaves with the given root. It returns nil on success and an error wrapping
// [ErrInvalidProof] otherwise.
func Verify(root, leaf Hash, p Proof) error {
	if err := p.check(); err != nil {
		return err
	}
	h := leaf
	idx, k := p.Index, 0
	for w := p.Size; w > 1; w = (w + 1) / 2 {
		switch {
		case idx&1 == 1:
			h = nodeHash(&p.Siblings[k], &h)
			k++
		case idx+1 < w:
			h = nodeHash(&h, &p.Siblings[k])
			k++
		}
		idx /= 2
	}
	if h != root {
		return fmt.Errorf("%w: leaf %d of %d leads to root %s, want %s", ErrInvalidProof, p.Index, p.Size, h, root)
	}
	return nil
}

// proofHeader is the length of an encoded proof without its siblings.
const proofHeader = 8 + 8 + 1

// MarshalBinary encodes p as the package documentation specifies. It fails if
// p is inconsistent (size, index or sibling count).
func (p Proof) MarshalBinary() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	b := make([]byte, proofHeader, proofHeader+32*len(p.Siblings))
	binary.LittleEndian.PutUint64(b[0:], p.Index)
	binary.LittleEndian.PutUint64(b[8:], p.Size)
	b[16] = byte(len(p.Siblings))
	for i := range p.Siblings {
		b = append(b, p.Siblings[i][:]...)
	}
	return b, nil
}

// UnmarshalBinary decodes an encoding written by MarshalBinary, rejecting any
// encoding that is not canonical. It leaves p unchanged on error.
func (p *Proof) UnmarshalBinary(b []byte) error {
	if len(b) < proofHeader {
		return fmt.Errorf("%w: encoding of %d bytes is shorter than the %d-byte header", ErrInvalidProof, len(b), proofHeader)
	}
	k := int(b[16])
	if k > MaxSiblings {
		return fmt.Errorf("%w: %d siblings exceed the maximum %d", ErrInvalidProof, k, MaxSiblings)
	}
	if want := proofHeader + 32*k; len(b) != want {
		return fmt.Errorf("%w: encoding of %d bytes, want %d for %d siblings", ErrInvalidProof, len(b), want, k)
	}
	q := Proof{
		Index:    binary.LittleEndian.Uint64(b[0:]),
		Size:     binary.LittleEndian.Uint64(b[8:]),
		Siblings: make([]Hash, k),
	}
	for i := range q.Siblings {
		copy(q.Siblings[i][:], b[proofHeader+32*i:])
	}
	if err := q.check(); err != nil {
		return err
	}
	*p = q
	return nil
}
