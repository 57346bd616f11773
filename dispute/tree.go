package dispute

import (
	"fmt"
	"math/bits"

	"github.com/deai-go/deai/internal/merkle"
)

// Hash is a SHA-256 digest.
type Hash = merkle.Hash

// Commitment is one party's Merkle commitment to the leaves of one level: Len leaves, their
// root, and inclusion proofs. Implementations must be safe for use by one goroutine at a
// time.
type Commitment interface {
	// Len returns the number of leaves (transitions + 1).
	Len() uint64
	// Root returns the Merkle root (internal/merkle) over the leaves.
	Root() Hash
	// Leaf returns leaf i.
	Leaf(i uint64) Hash
	// Proof returns the inclusion proof of leaf i.
	Proof(i uint64) merkle.Proof
}

// LeafFunc describes the leaves of a lazily committed level. Uniform, when it can tell
// cheaply that leaves [lo, hi) are all equal, returns that leaf; a piecewise-constant trace
// then commits in time logarithmic in its length.
type LeafFunc struct {
	N       uint64
	Leaf    func(i uint64) Hash
	Uniform func(lo, hi uint64) (Hash, bool)
}

// Lazy is a Commitment whose subtree roots are computed on demand and memoised. Its tree is
// the one internal/merkle builds: a range of n > 1 leaves splits at the largest power of two
// below n.
type Lazy struct {
	f    LeafFunc
	memo map[[2]uint64]Hash
	uni  map[uniKey]Hash
	root *Hash
}

type uniKey struct {
	h Hash
	n uint64
}

var _ Commitment = (*Lazy)(nil)

// NewLazy commits to the leaves f describes. f.N must be at least 1.
func NewLazy(f LeafFunc) (*Lazy, error) {
	if f.N == 0 || f.N > merkle.MaxSize || f.Leaf == nil {
		return nil, fmt.Errorf("%w: lazy commitment of %d leaves", ErrBadTrace, f.N)
	}
	return &Lazy{f: f, memo: map[[2]uint64]Hash{}, uni: map[uniKey]Hash{}}, nil
}

// Materialized commits to a list of leaves.
func Materialized(leaves []Hash) (*Lazy, error) {
	ls := append([]Hash(nil), leaves...)
	return NewLazy(LeafFunc{N: uint64(len(ls)), Leaf: func(i uint64) Hash { return ls[i] }})
}

// Len implements Commitment.
func (l *Lazy) Len() uint64 { return l.f.N }

// Root implements Commitment. The root is computed on first use.
func (l *Lazy) Root() Hash {
	if l.root == nil {
		r := l.sub(0, l.f.N)
		l.root = &r
	}
	return *l.root
}

// Leaf implements Commitment.
func (l *Lazy) Leaf(i uint64) Hash { return l.f.Leaf(i) }

// Proof implements Commitment.
func (l *Lazy) Proof(i uint64) merkle.Proof {
	p := merkle.Proof{Index: i, Size: l.f.N}
	l.proof(&p, 0, l.f.N, i)
	return p
}

func split(n uint64) uint64 { return 1 << (63 - bits.LeadingZeros64(n-1)) }

func (l *Lazy) proof(p *merkle.Proof, lo, n, i uint64) {
	if n == 1 {
		return
	}
	k := split(n)
	if i-lo < k {
		l.proof(p, lo, k, i)
		p.Siblings = append(p.Siblings, l.sub(lo+k, n-k))
	} else {
		l.proof(p, lo+k, n-k, i)
		p.Siblings = append(p.Siblings, l.sub(lo, k))
	}
}

func (l *Lazy) sub(lo, n uint64) Hash {
	if n == 1 {
		return l.f.Leaf(lo)
	}
	if l.f.Uniform != nil {
		if h, ok := l.f.Uniform(lo, lo+n); ok {
			return l.uniform(h, n)
		}
	}
	key := [2]uint64{lo, n}
	if h, ok := l.memo[key]; ok {
		return h
	}
	k := split(n)
	h := node(l.sub(lo, k), l.sub(lo+k, n-k))
	l.memo[key] = h
	return h
}

func (l *Lazy) uniform(h Hash, n uint64) Hash {
	if n == 1 {
		return h
	}
	key := uniKey{h, n}
	if r, ok := l.uni[key]; ok {
		return r
	}
	k := split(n)
	r := node(l.uniform(h, k), l.uniform(h, n-k))
	l.uni[key] = r
	return r
}

// node is internal/merkle's inner-node hash: SHA-256(0x01 ‖ left ‖ right).
func node(a, b Hash) Hash {
	var buf [65]byte
	buf[0] = 1
	copy(buf[1:], a[:])
	copy(buf[33:], b[:])
	return sha(buf[:])
}
