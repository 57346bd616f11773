package dispute

import (
	"fmt"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
)

// Agent plays one side of games: given the game as the chain shows it, it returns its next
// move, or nil to make none (withhold). Delay is the chain time it waits before sending.
type Agent interface {
	Next(g Game, k uint64) (mv Move, delay uint64, err error)
}

// Honest plays a side truthfully from its own trace: as defender it reveals, descends and
// proves from Trace; as challenger it picks the first part whose right end differs from its
// own leaf there.
type Honest struct {
	Side  Side
	Trace TraceProvider
	// cached commitment of the current level
	at  Position
	com Commitment
}

var _ Agent = (*Honest)(nil)

func (h *Honest) commit(p Position) (Commitment, error) {
	key := Position{Level: p.Level, Step: p.Step, Instr: p.Instr}
	if h.com != nil && h.at == key {
		return h.com, nil
	}
	c, err := h.Trace.Commit(key)
	if err != nil {
		return nil, err
	}
	h.at, h.com = key, c
	return c, nil
}

// Next implements Agent.
func (h *Honest) Next(g Game, k uint64) (Move, uint64, error) {
	switch g.Phase {
	case PhaseBisect:
		c, err := h.commit(g.Pos)
		if err != nil {
			return nil, 0, err
		}
		b := Bisect{Game: g.ID}
		for _, at := range g.Pos.Points(k) {
			b.Leaves = append(b.Leaves, c.Leaf(at))
			b.Proofs = append(b.Proofs, c.Proof(at))
		}
		return b, 1, nil
	case PhasePick:
		c, err := h.commit(g.Pos)
		if err != nil {
			return nil, 0, err
		}
		pts := g.Pos.Points(k)
		for i, at := range pts {
			if c.Leaf(at) != g.Points[i] {
				return Pick{Game: g.ID, Part: uint64(i)}, 1, nil
			}
		}
		return Pick{Game: g.ID, Part: uint64(len(pts))}, 1, nil
	case PhaseDescend:
		n := uint64(0)
		child := Position{Level: g.Pos.Level + 1, Step: g.Pos.Step, Instr: g.Pos.Instr}
		if g.Pos.Level == LevelStep {
			child.Step = g.Pos.Lo
		} else {
			child.Instr = g.Pos.Lo
		}
		c, err := h.commit(child)
		if err != nil {
			return nil, 0, err
		}
		n = c.Len() - 1
		return Descend{Game: g.ID, Root: c.Root(), StartProof: c.Proof(0), ClaimProof: c.Proof(n)}, 1, nil
	case PhaseProve:
		w, err := h.Trace.Witness(Path{Step: g.Pos.Step, Instr: g.Pos.Instr, Chunk: g.Pos.Lo})
		if err != nil {
			return nil, 0, err
		}
		return Prove{Game: g.ID, Witness: w}, 1, nil
	}
	return nil, 0, fmt.Errorf("%w: game over", ErrNoGame)
}

// Trick is a liar's misbehaviour on top of its (lying) trace.
type Trick uint8

// The tricks of the liar.
const (
	// TrickConsistent plays the lying trace faithfully.
	TrickConsistent Trick = iota
	// TrickEquivocate reveals leaves of another trace than the committed one.
	TrickEquivocate
	// TrickWrongInput hands the referee a witness for other inputs than the agreed leaf's.
	TrickWrongInput
	// TrickBadPath corrupts a Merkle proof.
	TrickBadPath
	// TrickWithhold stops moving at some point.
	TrickWithhold
	// TrickLate replies after its clock ran out.
	TrickLate
	numTricks
)

// Tricks lists every trick.
var Tricks = []Trick{TrickConsistent, TrickEquivocate, TrickWrongInput, TrickBadPath, TrickWithhold, TrickLate}

// String returns the trick's name.
func (t Trick) String() string {
	return [...]string{"consistent lie", "equivocation", "wrong input claim", "invalid Merkle path", "withholding", "late reply"}[t%numTricks]
}

// Liar plays from a lying trace with a trick. When the trick is rejected, it falls back to
// its lying trace (a rejected move changes nothing, so it may try again).
type Liar struct {
	Honest
	Trick Trick
	// Other is a second trace the equivocating liar reveals leaves of.
	Other TraceProvider
	// At is the move number from which the trick is played (withholding, lateness).
	At    uint64
	Clock uint64 // the machine's clock, for the late liar
	tried bool
}

// Next implements Agent.
func (l *Liar) Next(g Game, k uint64) (Move, uint64, error) {
	if g.Moves < l.At || l.tried && l.Trick != TrickWithhold {
		return l.Honest.Next(g, k)
	}
	mv, d, err := l.Honest.Next(g, k)
	if err != nil {
		return nil, 0, err
	}
	switch l.Trick {
	case TrickWithhold:
		return nil, 0, nil
	case TrickLate:
		l.tried = true
		return mv, l.Clock + 1, nil
	case TrickBadPath:
		switch v := mv.(type) {
		case Bisect:
			l.tried = true
			v.Proofs[0].Siblings = append(v.Proofs[0].Siblings[:len(v.Proofs[0].Siblings):len(v.Proofs[0].Siblings)], Hash{1})
			return v, d, nil
		case Descend:
			l.tried = true
			if len(v.ClaimProof.Siblings) > 0 {
				v.ClaimProof.Siblings = append([]Hash(nil), v.ClaimProof.Siblings...)
				v.ClaimProof.Siblings[0][0] ^= 1
			} else {
				v.ClaimProof.Index++
			}
			return v, d, nil
		}
	case TrickEquivocate:
		if v, ok := mv.(Bisect); ok && l.Other != nil {
			l.tried = true
			c, err := l.Other.Commit(g.Pos)
			if err != nil {
				return nil, 0, err
			}
			for i, at := range g.Pos.Points(k) {
				v.Leaves[i] = c.Leaf(at)
				v.Proofs[i] = c.Proof(at)
			}
			return v, d, nil
		}
	case TrickWrongInput:
		if v, ok := mv.(Prove); ok {
			l.tried = true
			w := append([]byte(nil), v.Witness...)
			if len(w) > 0 {
				w[len(w)-1] ^= 1
			}
			return Prove{Game: v.Game, Witness: w}, d, nil
		}
	}
	return mv, d, nil
}

// Step is one line of a game's transcript.
type Step struct {
	Time   uint64
	Side   Side
	Move   Move
	Err    error
	Events []sm.Event
}

// Play runs game open between the defender and challenger agents on m, from chain time
// start, one move per block, until it ends, and returns the final game and the transcript.
// A rejected move is retried on the next turn; an agent that makes no move is timed out.
func Play(m *Machine, start uint64, open Open, challenger stake.Address, d, c Agent) (Game, []Step, error) {
	env := sm.Env{Height: 1, Time: start}
	var log []Step
	evs, err := m.ApplyMove(env, challenger, open)
	log = append(log, Step{Time: env.Time, Side: Challenger, Move: open, Err: err, Events: evs})
	if err != nil {
		return Game{}, log, err
	}
	for range 100000 {
		g, _ := m.Game(open.Game)
		if g.Phase == PhaseDone {
			return g, log, nil
		}
		side := g.Phase.mover()
		agent := d
		if side == Challenger {
			agent = c
		}
		mv, delay, err := agent.Next(g, m.K())
		if err != nil {
			return g, log, fmt.Errorf("dispute: play: %s: %w", side, err)
		}
		env.Height++
		if mv == nil || delay > g.Clock[side-1] {
			// The agent is silent or late: its late move is refused, then the clock runs out.
			if mv != nil {
				t := Step{Time: g.Last + delay, Side: side, Move: mv}
				_, t.Err = m.ApplyMove(sm.Env{Height: env.Height, Time: g.Last + delay}, g.party(side), mv)
				log = append(log, t)
			}
			env.Time = max(env.Time, g.Last+g.Clock[side-1]+1)
			evs, err := m.ApplyMove(env, g.party(3-side), Timeout{Game: g.ID})
			log = append(log, Step{Time: env.Time, Side: 3 - side, Move: Timeout{Game: g.ID}, Err: err, Events: evs})
			if err != nil {
				return g, log, err
			}
			continue
		}
		env.Time = g.Last + delay
		evs, err := m.ApplyMove(env, g.party(side), mv)
		log = append(log, Step{Time: env.Time, Side: side, Move: mv, Err: err, Events: evs})
	}
	return Game{}, log, fmt.Errorf("dispute: play: game did not end")
}
