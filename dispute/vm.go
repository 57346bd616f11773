package dispute

import "github.com/deai-go/deai/internal/merkle"

// Path locates one chunk transition: chunk Chunk of instruction Instr of step Step. The
// transition goes from leaf Chunk to leaf Chunk+1 of the chunk level.
type Path struct {
	Step, Instr, Chunk uint64
}

// VM is the referee's side of a computation: the shape of its three levels and the check of
// one chunk transition. A VM must be deterministic and must not retain the witness.
type VM interface {
	// Instrs returns G, the transitions of the instruction level of every step.
	Instrs() uint64
	// Chunks returns E_i, the transitions of the chunk level of instruction i of a step, or
	// 0 for an instruction index out of range.
	Chunks(instr uint64) uint64
	// Check recomputes the chunk transition at p from the agreed leaf pre and a witness that
	// opens pre (the transition's inputs with Merkle paths), and returns the leaf after it
	// and the floating-point operations the check cost. A witness that does not open pre is
	// an error wrapping ErrBadProof.
	Check(p Path, pre Hash, witness []byte) (post Hash, flops int64, err error)
}

// TraceProvider is one party's view of the computation (op-challenger's TraceProvider): its
// commitment to any level and the witness of any chunk transition. An honest provider
// computes them; a dishonest one is a Strategy's raw material.
type TraceProvider interface {
	// Commit returns the party's commitment to the level of position p (p.Step and p.Instr
	// locate it; p.Lo and p.Hi are ignored).
	Commit(p Position) (Commitment, error)
	// Witness returns the opening of the pre-state of the chunk transition at path.
	Witness(path Path) ([]byte, error)
}

// levelLen returns the transitions of the level at p under vm, for steps steps.
func levelLen(vm VM, steps uint64, p Position) uint64 {
	switch p.Level {
	case LevelStep:
		return steps
	case LevelInstr:
		return vm.Instrs()
	}
	return vm.Chunks(p.Instr)
}

// verify checks that proof opens leaf at index in a tree of size leaves with root.
func verify(root, leaf Hash, index, size uint64, proof merkle.Proof) bool {
	return proof.Index == index && proof.Size == size && merkle.Verify(root, leaf, proof) == nil
}
