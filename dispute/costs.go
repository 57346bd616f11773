package dispute

import (
	"math/bits"

	"github.com/holiman/uint256"
)

// Costs prices the reply a move invites, so that every move's bond covers the work it forces
// on whoever answers it (the rule of Optimism's and Arbitrum's dispute games: a bond grows
// with the cost of the counter-move). Work is counted in units (think: gas, or one hash);
// Unit converts units into tokens. A move's bond is
//
//	Config.Bond + Unit × ReplyUnits(K, the game's phase and position after the move, …)
//
// where ReplyUnits counts, for the move the game then waits for:
//
//   - a bisection of the interval [Lo, Hi] of a level of n transitions, m = min(K, Hi−Lo)
//     parts: (m−1)·(Leaf[level] + d·Hash), the m−1 revealed leaves, each produced at
//     Leaf[level] units and proven by d = ⌈log2(n+1)⌉ siblings that the chain hashes;
//   - a pick among those parts: (m−1)·Leaf[level], the challenger recomputing each revealed
//     leaf to compare it with its own;
//   - a descent into a level of n' transitions: (n'+1)·Leaf[level+1] + 2·d'·Hash, committing
//     every leaf of that level and proving its two ends (d' = ⌈log2(n'+1)⌉);
//   - a proof: Prove units, the referee's recomputation of one chunk (by default 2^16, the
//     bound on its floating-point operations).
//
// So a move that invites a costlier reply (a larger K, a level with more leaves, a costlier
// leaf) posts a larger bond, and since the winner collects every bond, the loser's bonds pay
// for the winner's replies to them. The zero value (Unit zero) adds nothing to Config.Bond.
type Costs struct {
	// Unit is the price of one unit in tokens. Zero: flat bonds (Config.Bond only).
	Unit uint256.Int
	// Leaf is the units to produce one leaf of the step, instruction and chunk levels (a
	// step-level leaf means regenerating a training step, a chunk-level leaf one chunk).
	// A zero entry defaults to 1.
	Leaf [3]uint64
	// Hash is the units of one hash the chain computes to check a Merkle proof. Default 1.
	Hash uint64
	// Prove is the units of the referee's check of one chunk. Default 65,536.
	Prove uint64
}

// EnsureDefaults returns c with defaults filled in.
func (c Costs) EnsureDefaults() Costs {
	for i := range c.Leaf {
		if c.Leaf[i] == 0 {
			c.Leaf[i] = 1
		}
	}
	if c.Hash == 0 {
		c.Hash = 1
	}
	if c.Prove == 0 {
		c.Prove = 1 << 16
	}
	return c
}

// ReplyUnits returns the units of the move a game waits for in phase next at position p,
// with arity k, n transitions in p's level and, when next is PhaseDescend, nBelow
// transitions in the level below (see Costs). Sums and products saturate at 2^64−1.
func (c Costs) ReplyUnits(k uint64, next Phase, p Position, n, nBelow uint64) uint64 {
	c = c.EnsureDefaults()
	leaf := func(l Level) uint64 {
		if l < LevelStep || l > LevelChunk {
			return 1
		}
		return c.Leaf[l-1]
	}
	parts := uint64(len(p.Points(k)))
	switch next {
	case PhaseBisect:
		return satMul(parts, satAdd(leaf(p.Level), satMul(depth(n+1), c.Hash)))
	case PhasePick:
		return satMul(parts, leaf(p.Level))
	case PhaseDescend:
		return satAdd(satMul(satAdd(nBelow, 1), leaf(p.Level+1)), satMul(2*depth(nBelow+1), c.Hash))
	case PhaseProve:
		return c.Prove
	}
	return 0
}

// depth returns ⌈log2 n⌉, the siblings of a Merkle proof in a tree of n leaves.
func depth(n uint64) uint64 {
	if n <= 1 {
		return 0
	}
	return uint64(bits.Len64(n - 1))
}

func satMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return ^uint64(0)
	}
	return lo
}

func satAdd(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return ^uint64(0)
	}
	return s
}
