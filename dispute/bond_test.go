package dispute

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// TestReplyUnits: a move that invites a costlier reply posts a larger bond.
func TestReplyUnits(t *testing.T) {
	c := Costs{Leaf: [3]uint64{1000, 10, 1}, Hash: 2, Prove: 1 << 16}
	wide := Position{Level: LevelInstr, Lo: 0, Hi: 64}
	chunk := Position{Level: LevelChunk, Lo: 0, Hi: 64}
	step := Position{Level: LevelStep, Lo: 0, Hi: 64}
	narrow := Position{Level: LevelStep, Lo: 5, Hi: 6}
	tests := []struct {
		name        string
		cheap, dear uint64
	}{
		{"bisect: k=2 vs k=8", c.ReplyUnits(2, PhaseBisect, wide, 64, 0), c.ReplyUnits(8, PhaseBisect, wide, 64, 0)},
		{"bisect: a chunk leaf vs a step leaf", c.ReplyUnits(8, PhaseBisect, chunk, 64, 0), c.ReplyUnits(8, PhaseBisect, step, 64, 0)},
		{"bisect: a shallow vs a deep tree", c.ReplyUnits(8, PhaseBisect, wide, 64, 0), c.ReplyUnits(8, PhaseBisect, wide, 1<<20, 0)},
		{"pick: k=2 vs k=8", c.ReplyUnits(2, PhasePick, wide, 64, 0), c.ReplyUnits(8, PhasePick, wide, 64, 0)},
		{"descend: 10 vs 100 instructions", c.ReplyUnits(8, PhaseDescend, narrow, 64, 10), c.ReplyUnits(8, PhaseDescend, narrow, 64, 100)},
		{"prove vs pick", c.ReplyUnits(8, PhasePick, chunk, 64, 0), c.ReplyUnits(8, PhaseProve, Position{Level: LevelChunk, Lo: 3, Hi: 4}, 64, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cheap >= tc.dear {
				t.Fatalf("units %d ≥ %d", tc.cheap, tc.dear)
			}
		})
	}
	// The documented formulas.
	if got, want := c.ReplyUnits(8, PhaseBisect, wide, 64, 0), uint64(7*(10+7*2)); got != want {
		t.Fatalf("bisect %d, want %d", got, want)
	}
	if got, want := c.ReplyUnits(8, PhaseDescend, narrow, 64, 100), uint64(101*10+2*7*2); got != want {
		t.Fatalf("descend %d, want %d", got, want)
	}
	if got := (Costs{Leaf: [3]uint64{^uint64(0), 1, 1}}).ReplyUnits(256, PhaseBisect, step, 1<<40, 0); got != ^uint64(0) {
		t.Fatalf("no saturation: %d", got)
	}
	// Through the machine: the bond of an Open grows with the arity it invites.
	open := Game{Steps: 1000, Pos: Root(1000), Phase: PhaseBisect}
	var prev uint256.Int
	for _, k := range []uint64{2, 4, 16} {
		m, err := New(Config{Self: self, VM: Toy{G: 4, E: 4}, K: k, Bond: *uint256.NewInt(5), Costs: Costs{Unit: *uint256.NewInt(3)}}, ledger(t))
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.BondFor(open)
		if err != nil || !b.Gt(&prev) {
			t.Fatalf("k=%d: bond %v after %v (%v)", k, &b, &prev, err)
		}
		prev = b
	}
}

// TestBondsPayReplies plays games with reply-priced bonds. Rationale: every move's bond is
// the price of the reply it invites, so the loser's bonds, which the winner collects, cover
// the cost of every move the winner made in answer to the loser; the honest party never
// loses a bond.
func TestBondsPayReplies(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	costs := Costs{Unit: *uint256.NewInt(7), Leaf: [3]uint64{50, 5, 1}, Prove: 300}
	for i := range 200 {
		vm := Toy{G: 1 + r.Uint64N(20), E: 1 + r.Uint64N(20), Inc: 1}
		steps, k := 1+r.Uint64N(40), 2+r.Uint64N(7)
		liar := Side(1 + r.IntN(2))
		l, err := stake.New(stake.Genesis{Accounts: []stake.GenesisAccount{
			{Address: alice, Balance: *uint256.NewInt(1 << 40)}, {Address: bob, Balance: *uint256.NewInt(1 << 40)}},
			Authorities: []stake.Address{self}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(Config{Self: self, VM: vm, K: k, Clock: 100, Costs: costs}, l)
		if err != nil {
			t.Fatal(err)
		}
		honest := ToyTrace{VM: vm, Steps: steps, Base: 7}
		lie := honest
		lie.Fault, lie.Delta = 1+r.Uint64N(steps*vm.G*vm.E), 1
		dTrace, cTrace := TraceProvider(honest), TraceProvider(lie)
		if liar == Defender {
			dTrace, cTrace = lie, honest
		}
		agents := map[Side]Agent{Defender: &Honest{Side: Defender, Trace: dTrace}, Challenger: &Honest{Side: Challenger, Trace: cTrace}}
		com, _ := dTrace.Commit(Root(steps))
		open := Open{Game: [32]byte{byte(i)}, Defender: alice, Steps: steps, Root: com.Root(), Start: com.Leaf(0), Claim: com.Leaf(steps),
			StartProof: com.Proof(0), ClaimProof: com.Proof(steps)}
		bal0 := map[Side]uint256.Int{Defender: l.Balance(alice), Challenger: l.Balance(bob)}
		var bonds [3]uint256.Int // by side
		var replies [3]uint256.Int
		env := sm.Env{Height: 1, Time: 1000}
		if _, err := m.ApplyMove(env, bob, open); err != nil {
			t.Fatal(err)
		}
		g, _ := m.Game(open.Game)
		b, _ := m.BondFor(g)
		bonds[Challenger].Add(&bonds[Challenger], &b)
		last := Challenger
		for g.Phase != PhaseDone {
			side := g.Phase.mover()
			mv, _, err := agents[side].Next(g, k)
			if err != nil {
				t.Fatal(err)
			}
			// The cost of this move: the units of the phase it answers, at the state before it.
			var cost uint256.Int
			cost.Mul(&costs.Unit, uint256.NewInt(costs.ReplyUnits(k, g.Phase, g.Pos, levelLen(vm, steps, g.Pos), replyBelow(vm, &g))))
			if !cost.Eq(&b) {
				t.Fatalf("game %d: the bond of the move before, %v, is not the cost of its reply, %v", i, &b, &cost)
			}
			env.Height++
			env.Time++
			if _, err := m.ApplyMove(env, g.party(side), mv); err != nil {
				t.Fatalf("game %d: %v", i, err)
			}
			if last != side {
				replies[side].Add(&replies[side], &cost)
			}
			last = side
			g, _ = m.Game(open.Game)
			if g.Phase != PhaseDone && !isProve(mv) {
				b, _ = m.BondFor(g)
				bonds[side].Add(&bonds[side], &b)
			}
		}
		w := g.Winner
		if w == liar {
			t.Fatalf("game %d: the liar won", i)
		}
		if bonds[liar].Lt(&replies[w]) {
			t.Fatalf("game %d: the loser's bonds %v do not cover the winner's replies %v", i, &bonds[liar], &replies[w])
		}
		var want uint256.Int
		wb, lb := l.Balance(g.party(w)), l.Balance(g.party(liar))
		want.Add(ptr(bal0[w]), &bonds[liar])
		if !wb.Eq(&want) {
			t.Fatalf("game %d: winner balance %v, want %v", i, &wb, &want)
		}
		want.Sub(ptr(bal0[liar]), &bonds[liar])
		if !lb.Eq(&want) {
			t.Fatalf("game %d: loser balance %v, want %v", i, &lb, &want)
		}
		if i < 3 {
			t.Logf("game %d (%s lied, k=%d, T=%d, G=%d, E=%d): loser's bonds %v ≥ winner's reply costs %v", i, liar, k, steps, vm.G, vm.E, &bonds[liar], &replies[w])
		}
	}
}

func isProve(mv Move) bool { _, ok := mv.(Prove); return ok }

func ptr(x uint256.Int) *uint256.Int { return &x }

// TestPerGameVM referees two programs in one machine: each game names its computation, the
// resolver maps it to its VM, and the honest side wins each; an unknown program, or no
// program without a default VM, is rejected; the encoding of a game that names no program
// is unchanged.
func TestPerGameVM(t *testing.T) {
	progs := map[Hash]Toy{
		sha256.Sum256([]byte("program A")): {G: 3, E: 5, Inc: 1},
		sha256.Sum256([]byte("program B")): {G: 7, E: 2, Inc: 3},
	}
	resolve := func(p Hash) (VM, error) {
		if vm, ok := progs[p]; ok {
			return vm, nil
		}
		return nil, fmt.Errorf("unknown program %x", p[:4])
	}
	m, err := New(Config{Resolve: resolve, K: 3, Clock: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range []string{"program A", "program B"} {
		prog := sha256.Sum256([]byte(name))
		vm := progs[prog]
		for _, liar := range []Side{Defender, Challenger} {
			for fault := uint64(1); fault <= 5*vm.G*vm.E; fault += 7 {
				honest := ToyTrace{VM: vm, Steps: 5, Base: 1}
				lie := honest
				lie.Fault, lie.Delta = fault, 1
				dTrace, cTrace := TraceProvider(honest), TraceProvider(lie)
				if liar == Defender {
					dTrace, cTrace = lie, honest
				}
				com, _ := dTrace.Commit(Root(5))
				n++
				open := Open{Game: [32]byte{byte(n)}, Defender: alice, Steps: 5, Root: com.Root(), Start: com.Leaf(0), Claim: com.Leaf(5),
					StartProof: com.Proof(0), ClaimProof: com.Proof(5), Program: prog}
				g, _, err := Play(m, 1000, open, bob, &Honest{Side: Defender, Trace: dTrace}, &Honest{Side: Challenger, Trace: cTrace})
				if err != nil {
					t.Fatal(err)
				}
				if g.Winner == liar || g.Program != prog || int(g.Rounds) > MaxRounds(3, 5, vm.G, vm.E) {
					t.Fatalf("%s, %s lies at %d: winner %s, %d rounds", name, liar, fault, g.Winner, g.Rounds)
				}
			}
		}
	}
	t.Logf("%d games over two programs in one machine, honest side won all", n)
	st, _ := m.Export()
	m2, _ := New(Config{Resolve: resolve, K: 3, Clock: 100}, nil)
	if err := m2.Import(st); err != nil || m2.Root() != m.Root() {
		t.Fatalf("import: %v", err)
	}
	// Rejections.
	com, _ := ToyTrace{VM: Toy{G: 3, E: 5, Inc: 1}, Steps: 5}.Commit(Root(5))
	open := Open{Game: [32]byte{0xff}, Defender: alice, Steps: 5, Root: com.Root(), Start: com.Leaf(0), Claim: com.Leaf(5),
		StartProof: com.Proof(0), ClaimProof: com.Proof(5)}
	before := m.Root()
	if _, err := m.ApplyMove(sm.Env{Time: 1}, bob, open); !errors.Is(err, ErrBadMove) {
		t.Fatalf("no program, no default VM: %v", err)
	}
	open.Program = Hash{1}
	if _, err := m.ApplyMove(sm.Env{Time: 1}, bob, open); !errors.Is(err, ErrBadMove) {
		t.Fatalf("unknown program: %v", err)
	}
	if m.Root() != before {
		t.Fatal("a rejected Open changed the state")
	}
	if _, err := New(Config{K: 3}, nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("no VM and no resolver: %v", err)
	}
	// A single-VM machine with a resolver: games without a program use the default VM.
	m3, err := New(Config{VM: Toy{G: 3, E: 5, Inc: 1}, Resolve: resolve, K: 3, Clock: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	open.Program = Hash{}
	if _, err := m3.ApplyMove(sm.Env{Time: 1}, bob, open); err != nil {
		t.Fatal(err)
	}
	// Backward compatibility: a plain Open and a state without programs or tasks encode
	// without the new fields.
	b, _ := EncodeMove(open)
	st, _ = m3.Export()
	for _, key := range []string{`"Program"`, `"Task"`, `"Tasks"`} {
		if bytes.Contains(b, []byte(key)) || bytes.Contains(st, []byte(key)) {
			t.Fatalf("%s in a plain encoding", key)
		}
	}
}
