package dispute

import (
	"fmt"
	"math/bits"
)

// Level names one of the three levels of the bisection.
type Level uint8

// The levels, outermost first.
const (
	// LevelStep bisects the committed training steps; its leaves are step-boundary states.
	LevelStep Level = 1
	// LevelInstr bisects the instructions of one step's program; its leaves are the states
	// after each instruction.
	LevelInstr Level = 2
	// LevelChunk bisects the chunks of one instruction; its leaves are the states after each
	// chunk.
	LevelChunk Level = 3
)

// String returns the level's name.
func (l Level) String() string {
	switch l {
	case LevelStep:
		return "step"
	case LevelInstr:
		return "instr"
	case LevelChunk:
		return "chunk"
	}
	return fmt.Sprintf("level(%d)", uint8(l))
}

// Position is where a game stands: the level, the enclosing step and instruction (those of
// the outer levels that are fixed), and the disputed interval [Lo, Hi] of leaf indices of
// the current level. Leaf Lo is agreed, leaf Hi is disputed. Positions are immutable values.
type Position struct {
	Level  Level
	Step   uint64 // fixed once Level > LevelStep
	Instr  uint64 // fixed once Level > LevelInstr
	Lo, Hi uint64
}

// Root returns the position of a fresh game over n steps: leaves 0..n of the step level.
func Root(n uint64) Position { return Position{Level: LevelStep, Lo: 0, Hi: n} }

// Len returns the number of transitions in the disputed interval.
func (p Position) Len() uint64 { return p.Hi - p.Lo }

// Valid reports whether p is a well-formed position: a known level and Lo < Hi.
func (p Position) Valid() bool {
	return p.Level >= LevelStep && p.Level <= LevelChunk && p.Lo < p.Hi
}

// Narrowed reports whether the interval is one transition wide, so that the game either
// descends a level or, at the chunk level, ends in the referee's check.
func (p Position) Narrowed() bool { return p.Hi-p.Lo == 1 }

// Points returns the interior leaf indices a defender reveals in a k-ary bisection of p:
// m−1 evenly spaced indices strictly between Lo and Hi, with m = min(k, Len()). They cut
// the interval into m parts of at most ⌈Len/k⌉ transitions each. A narrowed position has
// no points.
func (p Position) Points(k uint64) []uint64 {
	n := p.Len()
	if k < 2 || n < 2 {
		return nil
	}
	m := min(k, n)
	pts := make([]uint64, 0, m-1)
	for i := uint64(1); i < m; i++ {
		hi, lo := bits.Mul64(i, n)
		q, _ := bits.Div64(hi, lo, m)
		pts = append(pts, p.Lo+q)
	}
	return pts
}

// Pick returns the part i (0 ≤ i < len(Points(k))+1) of p's k-ary bisection: the interval
// between the i-th and (i+1)-th of Lo, Points(k)..., Hi.
func (p Position) Pick(k, i uint64) (Position, error) {
	pts := p.Points(k)
	if len(pts) == 0 {
		return p, fmt.Errorf("%w: position %v cannot be bisected", ErrBadMove, p)
	}
	if i > uint64(len(pts)) {
		return p, fmt.Errorf("%w: part %d of %d", ErrBadMove, i, len(pts)+1)
	}
	q := p
	if i > 0 {
		q.Lo = pts[i-1]
	}
	if i < uint64(len(pts)) {
		q.Hi = pts[i]
	}
	return q, nil
}

// Descend returns the position one level down from a narrowed position p: the n transitions
// of the instruction level (when p is at the step level, its step Lo) or of the chunk level
// (when p is at the instruction level, its instruction Lo).
func (p Position) Descend(n uint64) (Position, error) {
	if !p.Narrowed() || p.Level >= LevelChunk || n == 0 {
		return p, fmt.Errorf("%w: cannot descend from %v into %d transitions", ErrBadMove, p, n)
	}
	q := Position{Level: p.Level + 1, Step: p.Step, Instr: p.Instr, Lo: 0, Hi: n}
	if p.Level == LevelStep {
		q.Step = p.Lo
	} else {
		q.Instr = p.Lo
	}
	return q, nil
}

// String formats p as level[step/instr][lo,hi].
func (p Position) String() string {
	switch p.Level {
	case LevelStep:
		return fmt.Sprintf("step[%d,%d]", p.Lo, p.Hi)
	case LevelInstr:
		return fmt.Sprintf("step %d instr[%d,%d]", p.Step, p.Lo, p.Hi)
	}
	return fmt.Sprintf("step %d instr %d chunk[%d,%d]", p.Step, p.Instr, p.Lo, p.Hi)
}

// CeilLog returns ⌈log_k n⌉ for n ≥ 1 and k ≥ 2: the bisection rounds that narrow n
// transitions to one. It returns 0 for n ≤ 1.
func CeilLog(k, n uint64) int {
	r := 0
	for x := uint64(1); x < n; r++ {
		hi, lo := bits.Mul64(x, k)
		if hi != 0 {
			return r + 1
		}
		x = lo
	}
	return r
}

// MaxRounds returns the bound ⌈log_k T⌉ + ⌈log_k G⌉ + ⌈log_k E⌉ + 2 on the rounds of a game
// over T steps of G instructions and at most E chunks per instruction: bisection rounds at
// each level plus the two descents.
func MaxRounds(k, t, g, e uint64) int {
	return CeilLog(k, t) + CeilLog(k, g) + CeilLog(k, e) + 2
}
