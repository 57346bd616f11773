package dispute_test

import (
	"fmt"

	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/stake"
)

// A solver (the defender) claims 100 steps of a toy computation but forged the transition
// into global position 1234; a whistleblower (the challenger) disputes it. Bisection with
// k = 4 narrows 100 steps × 8 instructions × 16 chunks down to one chunk, and the referee
// recomputes it.
func Example() {
	vm := dispute.Toy{G: 8, E: 16, Inc: 1}
	honest := dispute.ToyTrace{VM: vm, Steps: 100, Base: 1}
	forged := honest
	forged.Fault, forged.Delta = 1234, 1
	solver, whistleblower := stake.Address{0x50}, stake.Address{0x77}
	m, _ := dispute.New(dispute.Config{VM: vm, K: 4, Clock: 600}, nil)
	c, _ := forged.Commit(dispute.Root(100))
	open := dispute.Open{Game: [32]byte{1}, Defender: solver, Steps: 100, Root: c.Root(), Start: c.Leaf(0), Claim: c.Leaf(100),
		StartProof: c.Proof(0), ClaimProof: c.Proof(100)}
	g, log, err := dispute.Play(m, 1000, open, whistleblower,
		&dispute.Honest{Side: dispute.Defender, Trace: forged}, &dispute.Honest{Side: dispute.Challenger, Trace: honest})
	if err != nil {
		fmt.Println(err)
		return
	}
	pos := dispute.Root(100)
	for _, s := range log {
		switch mv := s.Move.(type) {
		case dispute.Open:
			fmt.Printf("t=%d whistleblower opens: disputes %s\n", s.Time, pos)
		case dispute.Bisect:
			fmt.Printf("t=%d solver reveals %d leaves of %s\n", s.Time, len(mv.Leaves), pos)
		case dispute.Pick:
			pos, _ = pos.Pick(m.K(), mv.Part)
			fmt.Printf("t=%d whistleblower picks part %d: %s\n", s.Time, mv.Part, pos)
		case dispute.Descend:
			pos, _ = pos.Descend(map[dispute.Level]uint64{dispute.LevelStep: vm.Instrs(), dispute.LevelInstr: vm.Chunks(pos.Lo)}[pos.Level])
			fmt.Printf("t=%d solver commits the next level: %s\n", s.Time, pos)
		case dispute.Prove:
			fmt.Printf("t=%d solver hands the referee its witness for %s\n", s.Time, pos)
		}
	}
	fmt.Printf("winner: %s after %d rounds (bound %d), referee work %d op\n", g.Winner, g.Rounds, dispute.MaxRounds(4, 100, 8, 16), g.RefereeFLOPs)
	// Output:
	// t=1000 whistleblower opens: disputes step[0,100]
	// t=1001 solver reveals 3 leaves of step[0,100]
	// t=1002 whistleblower picks part 0: step[0,25]
	// t=1003 solver reveals 3 leaves of step[0,25]
	// t=1004 whistleblower picks part 1: step[6,12]
	// t=1005 solver reveals 3 leaves of step[6,12]
	// t=1006 whistleblower picks part 2: step[9,10]
	// t=1007 solver commits the next level: step 9 instr[0,8]
	// t=1008 solver reveals 3 leaves of step 9 instr[0,8]
	// t=1009 whistleblower picks part 2: step 9 instr[4,6]
	// t=1010 solver reveals 1 leaves of step 9 instr[4,6]
	// t=1011 whistleblower picks part 1: step 9 instr[5,6]
	// t=1012 solver commits the next level: step 9 instr 5 chunk[0,16]
	// t=1013 solver reveals 3 leaves of step 9 instr 5 chunk[0,16]
	// t=1014 whistleblower picks part 0: step 9 instr 5 chunk[0,4]
	// t=1015 solver reveals 3 leaves of step 9 instr 5 chunk[0,4]
	// t=1016 whistleblower picks part 1: step 9 instr 5 chunk[1,2]
	// t=1017 solver hands the referee its witness for step 9 instr 5 chunk[1,2]
	// winner: challenger after 9 rounds (bound 10), referee work 1 op
}
