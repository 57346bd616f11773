package dispute

import (
	"encoding/binary"
	"fmt"
)

// Toy is a synthetic computation for tests and simulations (op-challenger's alphabet
// trace): a counter whose value, at global position n (step t, instruction i, chunk e:
// n = t·G·E + i·E + e), is Base + n·Inc. Leaves are ToyLeaf(value); a chunk transition adds
// Inc. With Inc = 0 every honest leaf is equal, so commitments to traces of 10^12 positions
// cost logarithmic time. Toy implements VM; honest and lying traces are ToyTrace values.
type Toy struct {
	G, E uint64 // instructions per step, chunks per instruction
	Inc  uint64
}

var _ VM = Toy{}

// ToyLeaf is the leaf committing to counter value v.
func ToyLeaf(v uint64) Hash {
	var b [24]byte
	copy(b[:], "deai/toy/v1\x00")
	binary.BigEndian.PutUint64(b[16:], v)
	return sha(b[:])
}

// Instrs implements VM.
func (t Toy) Instrs() uint64 { return t.G }

// Chunks implements VM.
func (t Toy) Chunks(i uint64) uint64 {
	if i >= t.G {
		return 0
	}
	return t.E
}

// Check implements VM: the witness is the 8-byte big-endian value that pre commits to.
func (t Toy) Check(_ Path, pre Hash, w []byte) (Hash, int64, error) {
	if len(w) != 8 {
		return Hash{}, 0, fmt.Errorf("%w: toy witness of %d bytes", ErrBadProof, len(w))
	}
	v := binary.BigEndian.Uint64(w)
	if ToyLeaf(v) != pre {
		return Hash{}, 0, fmt.Errorf("%w: toy witness does not open the agreed leaf", ErrBadProof)
	}
	return ToyLeaf(v + t.Inc), 1, nil
}

// ToyTrace is one party's toy trace over Steps steps: honest when Delta is 0, otherwise a
// consistent lie that adds Delta to every value from global position Fault on (so that
// exactly the transition into Fault is wrong).
type ToyTrace struct {
	VM          Toy
	Steps, Base uint64
	Fault       uint64
	Delta       uint64
}

var _ TraceProvider = ToyTrace{}

// Value returns the trace's value at global position n.
func (t ToyTrace) Value(n uint64) uint64 {
	v := t.Base + n*t.VM.Inc
	if t.Delta != 0 && n >= t.Fault {
		v += t.Delta
	}
	return v
}

// Global returns the global position of leaf i of the level at p.
func (t ToyTrace) Global(p Position, i uint64) uint64 {
	per := t.VM.G * t.VM.E
	switch p.Level {
	case LevelStep:
		return i * per
	case LevelInstr:
		return p.Step*per + i*t.VM.E
	}
	return p.Step*per + p.Instr*t.VM.E + i
}

// Commit implements TraceProvider.
func (t ToyTrace) Commit(p Position) (Commitment, error) {
	n := levelLen(t.VM, t.Steps, p)
	if n == 0 {
		return nil, fmt.Errorf("%w: no level at %v", ErrBadTrace, p)
	}
	f := LeafFunc{N: n + 1, Leaf: func(i uint64) Hash { return ToyLeaf(t.Value(t.Global(p, i))) }}
	if t.VM.Inc == 0 {
		f.Uniform = func(lo, hi uint64) (Hash, bool) {
			a, b := t.Global(p, lo), t.Global(p, hi-1)
			if t.Delta == 0 || b < t.Fault || a >= t.Fault {
				return ToyLeaf(t.Value(a)), true
			}
			return Hash{}, false
		}
	}
	return NewLazy(f)
}

// Witness implements TraceProvider.
func (t ToyTrace) Witness(p Path) ([]byte, error) {
	n := t.Global(Position{Level: LevelChunk, Step: p.Step, Instr: p.Instr}, p.Chunk)
	return binary.BigEndian.AppendUint64(nil, t.Value(n)), nil
}
