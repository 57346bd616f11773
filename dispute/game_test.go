package dispute

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/deai-go/deai/stake"
)

var disputes = flag.Int("dispute.n", 100000, "randomized disputes in TestSoundness")

var (
	alice = stake.Address{0xa1}
	bob   = stake.Address{0xb0}
)

// game is the test DSL (op-challenger's game builder): a toy computation, the honest and the
// lying trace, who lies and how.
type game struct {
	vm      Toy
	steps   uint64
	k       uint64
	fault   uint64 // global position of the lie
	liar    Side
	trick   Trick
	trickAt uint64
	clock   uint64
}

func (gm game) play(t testing.TB, m *Machine) (Game, []Step) {
	t.Helper()
	honest := ToyTrace{VM: gm.vm, Steps: gm.steps, Base: 7}
	lie := honest
	lie.Fault, lie.Delta = gm.fault, 1
	other := honest
	other.Fault, other.Delta = gm.fault, 2
	dTrace, cTrace := TraceProvider(honest), TraceProvider(lie)
	if gm.liar == Defender {
		dTrace, cTrace = lie, honest
	}
	var d, c Agent = &Honest{Side: Defender, Trace: dTrace}, &Honest{Side: Challenger, Trace: cTrace}
	liar := &Liar{Honest: Honest{Side: gm.liar, Trace: lie}, Trick: gm.trick, Other: other, At: gm.trickAt, Clock: gm.clock}
	if gm.liar == Defender {
		d = liar
	} else {
		c = liar
	}
	com, err := dTrace.Commit(Root(gm.steps))
	if err != nil {
		t.Fatal(err)
	}
	open := Open{Game: [32]byte{byte(gm.fault), byte(gm.fault >> 8), byte(gm.trick), byte(gm.liar)}, Defender: alice, Steps: gm.steps,
		Root: com.Root(), Start: com.Leaf(0), Claim: com.Leaf(gm.steps), StartProof: com.Proof(0), ClaimProof: com.Proof(gm.steps)}
	g, log, err := Play(m, 1000, open, bob, d, c)
	if err != nil {
		t.Fatalf("%+v: %v", gm, err)
	}
	return g, log
}

func newMachine(t testing.TB, vm VM, k uint64) *Machine {
	m, err := New(Config{VM: vm, K: k, Clock: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSoundness plays randomized disputes: the fault at a random step, instruction and chunk,
// the liar on a random side with a random trick. Rationale: the honest party must win every
// one, within the round bound, whatever the liar does.
func TestSoundness(t *testing.T) {
	n := *disputes
	if testing.Short() {
		n = 2000
	}
	r := rand.New(rand.NewPCG(5, 5))
	wins := map[Trick]int{}
	for i := range n {
		vm := Toy{G: 1 + r.Uint64N(40), E: 1 + r.Uint64N(40), Inc: 1}
		gm := game{vm: vm, steps: 1 + r.Uint64N(60), k: 2 + r.Uint64N(7), liar: Side(1 + r.IntN(2)),
			trick: Tricks[r.IntN(len(Tricks))], trickAt: r.Uint64N(12), clock: 100}
		total := gm.steps * vm.G * vm.E
		gm.fault = 1 + r.Uint64N(total)
		m := newMachine(t, vm, gm.k)
		g, log := gm.play(t, m)
		if g.Winner != 3-gm.liar {
			t.Fatalf("dispute %d %+v: %s won (%d moves); last %+v", i, gm, g.Winner, len(log), log[len(log)-1])
		}
		if g.Winner == gm.liar || int(g.Rounds) > MaxRounds(gm.k, gm.steps, vm.G, vm.E) {
			t.Fatalf("dispute %d: %d rounds > bound %d", i, g.Rounds, MaxRounds(gm.k, gm.steps, vm.G, vm.E))
		}
		wins[gm.trick]++
	}
	t.Logf("%d disputes, honest side won all: %v", n, wins)
}

// TestSoundnessExhaustive checks small games completely: every fault position, both liars,
// every trick, every arity 2..4.
func TestSoundnessExhaustive(t *testing.T) {
	count := 0
	for _, vm := range []Toy{{G: 1, E: 1, Inc: 1}, {G: 2, E: 3, Inc: 1}, {G: 3, E: 2, Inc: 1}} {
		for steps := uint64(1); steps <= 4; steps++ {
			for k := uint64(2); k <= 4; k++ {
				for fault := uint64(1); fault <= steps*vm.G*vm.E; fault++ {
					for _, liar := range []Side{Defender, Challenger} {
						for _, tr := range Tricks {
							for at := uint64(0); at < 4; at++ {
								gm := game{vm: vm, steps: steps, k: k, fault: fault, liar: liar, trick: tr, trickAt: at, clock: 100}
								g, _ := gm.play(t, newMachine(t, vm, k))
								if g.Winner != 3-liar {
									t.Fatalf("%+v: liar won", gm)
								}
								count++
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d games", count)
}

// TestBoundedRounds plays games over synthetic traces up to T = 10^7 steps and G = 10^5
// instructions, the lie at the last and at a random position.
func TestBoundedRounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ t, g, e, k uint64 }{
		{10_000_000, 100_000, 4096, 2}, {10_000_000, 100_000, 4096, 8}, {10_000_000, 100_000, 4096, 64},
		{1, 1, 1, 2}, {1000, 7, 1, 3}, {12345, 100_000, 1, 16},
	} {
		for _, liar := range []Side{Defender, Challenger} {
			t.Run(fmt.Sprintf("T=%d,G=%d,E=%d,k=%d,%s-lies", c.t, c.g, c.e, c.k, liar), func(t *testing.T) {
				vm := Toy{G: c.g, E: c.e}
				total := c.t * c.g * c.e
				for _, fault := range []uint64{1, total, 1 + r.Uint64N(total)} {
					gm := game{vm: vm, steps: c.t, k: c.k, fault: fault, liar: liar, clock: 100}
					g, _ := gm.play(t, newMachine(t, vm, c.k))
					bound := MaxRounds(c.k, c.t, c.g, c.e)
					if g.Winner != 3-liar || int(g.Rounds) > bound {
						t.Fatalf("fault %d: winner %s, %d rounds, bound %d", fault, g.Winner, g.Rounds, bound)
					}
					t.Logf("fault %d: %d rounds (bound %d), %d moves", fault, g.Rounds, bound, g.Moves)
				}
			})
		}
	}
}

func TestPosition(t *testing.T) {
	tests := []struct {
		name string
		p    Position
		k    uint64
		pts  []uint64
	}{
		{"binary", Position{Level: LevelStep, Lo: 0, Hi: 8}, 2, []uint64{4}},
		{"octal of 8", Position{Level: LevelStep, Lo: 0, Hi: 8}, 8, []uint64{1, 2, 3, 4, 5, 6, 7}},
		{"k above len", Position{Level: LevelStep, Lo: 10, Hi: 13}, 8, []uint64{11, 12}},
		{"uneven", Position{Level: LevelInstr, Lo: 3, Hi: 13}, 3, []uint64{6, 9}},
		{"narrowed", Position{Level: LevelChunk, Lo: 4, Hi: 5}, 4, nil},
		{"huge", Position{Level: LevelStep, Lo: 0, Hi: 1 << 62}, 4, []uint64{1 << 60, 2 << 60, 3 << 60}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.p.Points(tc.k)
			if fmt.Sprint(got) != fmt.Sprint(tc.pts) {
				t.Fatalf("points %v, want %v", got, tc.pts)
			}
			if len(got) == 0 {
				if _, err := tc.p.Pick(tc.k, 0); !errors.Is(err, ErrBadMove) {
					t.Fatalf("pick of a narrowed position: %v", err)
				}
				return
			}
			for i := range uint64(len(got) + 1) {
				q, err := tc.p.Pick(tc.k, i)
				if err != nil || !q.Valid() || q.Lo < tc.p.Lo || q.Hi > tc.p.Hi || q.Len() > (tc.p.Len()+tc.k-1)/tc.k {
					t.Fatalf("pick %d: %v %v", i, q, err)
				}
			}
			if _, err := tc.p.Pick(tc.k, uint64(len(got)+1)); !errors.Is(err, ErrBadMove) {
				t.Fatalf("pick past the end: %v", err)
			}
		})
	}
	// Exhaustive: every interval up to 40 and every k up to 9 narrows in ⌈log_k n⌉ rounds.
	for n := uint64(1); n <= 40; n++ {
		for k := uint64(2); k <= 9; k++ {
			worst := 0
			var walk func(p Position, r int)
			walk = func(p Position, r int) {
				if p.Narrowed() {
					worst = max(worst, r)
					return
				}
				for i := range uint64(len(p.Points(k)) + 1) {
					q, _ := p.Pick(k, i)
					walk(q, r+1)
				}
			}
			walk(Root(n), 0)
			if worst != CeilLog(k, n) {
				t.Fatalf("n=%d k=%d: worst %d rounds, ⌈log⌉ %d", n, k, worst, CeilLog(k, n))
			}
		}
	}
	if q, err := (Position{Level: LevelStep, Lo: 5, Hi: 6}).Descend(9); err != nil || q != (Position{Level: LevelInstr, Step: 5, Lo: 0, Hi: 9}) {
		t.Fatalf("descend: %v %v", q, err)
	}
	if _, err := (Position{Level: LevelChunk, Lo: 5, Hi: 6}).Descend(9); err == nil {
		t.Fatal("descend below the chunk level")
	}
}
