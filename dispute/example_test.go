package dispute_test

import (
	"fmt"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
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

// A forced-error round (Truebit): the solver seals its correct result, the next block's
// beacon forces the task, so the solver posts a deliberately wrong result; two verifiers and
// a whistleblower catch it within the challenge window; the solver reveals the forced error
// after the window, is not slashed, and the jackpot pays min(J, pool/3) out of the jackpot
// treasury, split so that each of n catchers gets J·2^−(n−1).
func ExampleMachine_forcedError() {
	self, solver := stake.Address{0xd1}, stake.Address{0x50}
	catchers := []stake.Address{{0x61}, {0x62}, {0x63}}
	names := map[stake.Address]string{catchers[0]: "verifier A", catchers[1]: "verifier B", catchers[2]: "whistleblower C"}
	g := stake.Genesis{Authorities: []stake.Address{self},
		Accounts:   []stake.GenesisAccount{{Address: solver, Balance: *uint256.NewInt(5000)}},
		Treasuries: []stake.GenesisTreasury{{Name: stake.TreasuryJackpot, Amount: *uint256.NewInt(900)}}}
	for _, c := range catchers {
		g.Accounts = append(g.Accounts, stake.GenesisAccount{Address: c, Balance: *uint256.NewInt(1000)})
	}
	ledger, _ := stake.New(g)
	ledger.ApplyOp(sm.Env{}, solver, stake.Bond{Amount: *uint256.NewInt(4000)})
	m, err := dispute.New(dispute.Config{Self: self, VM: dispute.Toy{G: 1, E: 1}, SlashNum: 1, SlashDen: 2,
		Forced: dispute.Forced{RateNum: 1, RateDen: 10, Jackpot: *uint256.NewInt(120), Fee: *uint256.NewInt(2),
			Deposit: *uint256.NewInt(10), Window: 600, RevealWindow: 600}}, ledger)
	if err != nil {
		fmt.Println(err)
		return
	}
	task, correct := [32]byte{0x7a}, dispute.Hash{0xc0}
	post := sm.Env{Height: 2, Time: 1001, Beacon: [32]byte{0xbe}} // the block after the commit
	// For the example, a secret that this beacon forces; a real solver draws its secret
	// before the beacon exists, so it cannot choose the draw.
	var secret dispute.Hash
	for i := byte(0); !dispute.ForcedDraw(task, secret, post.Beacon, 1, 10); i++ {
		secret[0] = i
	}
	pool := func() uint64 { p := ledger.Treasury(stake.TreasuryJackpot); return p.Uint64() }
	do := func(env sm.Env, who stake.Address, mv dispute.Move) {
		if _, err := m.ApplyMove(env, who, mv); err != nil {
			fmt.Println(err)
		}
	}

	do(sm.Env{Height: 1, Time: 1000}, solver, dispute.Commit{Task: task, Seal: dispute.Seal(task, secret, correct)})
	fmt.Printf("t=1000 solver commits task %x, sealing its result and a secret; fee 2 → jackpot pool %d\n", task[:1], pool())
	do(post, solver, dispute.Post{Task: task, Result: dispute.WrongResult(correct)})
	fmt.Println("t=1001 the beacon forces the task (only the solver knows): it posts a deliberately wrong result")
	for i, c := range catchers[:2] {
		do(sm.Env{Height: uint64(3 + i), Time: uint64(1010 + 10*i)}, c, dispute.Challenge{Task: task})
		fmt.Printf("t=%d %s replays the task, disagrees and challenges (deposit 10)\n", 1010+10*i, names[c])
	}
	wb := &dispute.Whistleblower{Cost: 1, Sample: 0.5, Active: true,
		Recompute: func([32]byte) (dispute.Hash, error) { return correct, nil }}
	t, _ := m.Task(task)
	if mv, _ := wb.Review(t, 0.25); mv != nil {
		do(sm.Env{Height: 5, Time: 1030}, catchers[2], mv)
		fmt.Printf("t=1030 %s samples the task, recomputes it and challenges (deposit 10)\n", names[catchers[2]])
	}
	before := pool()
	do(sm.Env{Height: 6, Time: 1700}, solver, dispute.Reveal{Task: task, Secret: secret, Correct: correct})
	t, _ = m.Task(task)
	fmt.Printf("t=1700 solver reveals after the window: forced %v, status %s\n", t.Forced, t.Status)
	fmt.Printf("jackpot: min(J=120, pool %d/3) = 120, split among %d catchers: 120·2^-%d = %d each\n", before, len(t.Challengers), len(t.Challengers)-1, 120>>(len(t.Challengers)-1))
	for _, c := range t.Challengers {
		b := ledger.Balance(c.Who)
		fmt.Printf("  %-15s balance %d (deposit back, +%d)\n", names[c.Who], b.Uint64(), b.Uint64()-1000)
	}
	acc := ledger.Account(solver)
	fmt.Printf("solver bonded %d (not slashed); jackpot pool %d → %d\n", acc.Bonded.Uint64(), before, pool())
	// Output:
	// t=1000 solver commits task 7a, sealing its result and a secret; fee 2 → jackpot pool 902
	// t=1001 the beacon forces the task (only the solver knows): it posts a deliberately wrong result
	// t=1010 verifier A replays the task, disagrees and challenges (deposit 10)
	// t=1020 verifier B replays the task, disagrees and challenges (deposit 10)
	// t=1030 whistleblower C samples the task, recomputes it and challenges (deposit 10)
	// t=1700 solver reveals after the window: forced true, status forced error
	// jackpot: min(J=120, pool 902/3) = 120, split among 3 catchers: 120·2^-2 = 30 each
	//   verifier A      balance 1030 (deposit back, +30)
	//   verifier B      balance 1030 (deposit back, +30)
	//   whistleblower C balance 1030 (deposit back, +30)
	// solver bonded 4000 (not slashed); jackpot pool 902 → 812
}
