package dispute

import (
	"bytes"
	"errors"
	"testing"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

var self = stake.Address{0xd1}

func ledger(t testing.TB) *stake.Ledger {
	l, err := stake.New(stake.Genesis{Accounts: []stake.GenesisAccount{
		{Address: alice, Balance: *uint256.NewInt(10_000)}, {Address: bob, Balance: *uint256.NewInt(10_000)}},
		Authorities: []stake.Address{self}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestSettlement: Rationale: the honest party never loses its bond, and the winner collects
// every bond of the game (op-challenger's game_rules_test); the liar's stake is slashed.
func TestSettlement(t *testing.T) {
	for _, liar := range []Side{Defender, Challenger} {
		l := ledger(t)
		if _, err := l.ApplyOp(sm.Env{}, alice, stake.Bond{Amount: *uint256.NewInt(1000)}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.ApplyOp(sm.Env{}, bob, stake.Bond{Amount: *uint256.NewInt(1000)}); err != nil {
			t.Fatal(err)
		}
		vm := Toy{G: 5, E: 7, Inc: 1}
		m, err := New(Config{Self: self, VM: vm, K: 3, Clock: 100, Bond: *uint256.NewInt(10), SlashNum: 1, SlashDen: 2, SlashRewardBps: 5000}, l)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := game{vm: vm, steps: 20, k: 3, fault: 333, liar: liar, clock: 100}.play(t, m)
		w, lo := g.party(g.Winner), g.party(liar)
		if g.Winner == liar {
			t.Fatal("liar won")
		}
		wa, la := l.Account(w), l.Account(lo)
		// Winner: 9000 balance − its bonds + all bonds + half of the slashed 500; loser bonded 500.
		if la.Bonded.Uint64() != 500 || wa.Balance.Uint64() <= 9000 {
			t.Fatalf("winner %+v, loser %+v", wa, la)
		}
		t.Logf("%s lied: %d moves, winner balance %d, loser bonded %d", liar, g.Moves, wa.Balance.Uint64(), la.Bonded.Uint64())
	}
}

// TestBadInput: moves out of turn, after the clock, with malformed or mismatched proofs, or
// for no game are rejected and leave the state (and its root) unchanged.
func TestBadInput(t *testing.T) {
	vm := Toy{G: 4, E: 4, Inc: 1}
	honest := ToyTrace{VM: vm, Steps: 16, Base: 7}
	com, _ := honest.Commit(Root(16))
	open := Open{Game: [32]byte{9}, Defender: alice, Steps: 16, Root: com.Root(), Start: com.Leaf(0), Claim: com.Leaf(16),
		StartProof: com.Proof(0), ClaimProof: com.Proof(16)}
	m := newMachine(t, vm, 4)
	env := sm.Env{Time: 10}
	if _, err := m.ApplyMove(env, bob, open); err != nil {
		t.Fatal(err)
	}
	h := &Honest{Side: Defender, Trace: honest}
	g, _ := m.Game(open.Game)
	good, _, _ := h.Next(g, 4)
	b := good.(Bisect)
	badLeaf := Bisect{Game: b.Game, Leaves: append([]Hash{{1}}, b.Leaves[1:]...), Proofs: b.Proofs}
	short := Bisect{Game: b.Game, Leaves: b.Leaves[1:], Proofs: b.Proofs[1:]}
	wrongIdx := Bisect{Game: b.Game, Leaves: b.Leaves, Proofs: append(b.Proofs[1:2:2], b.Proofs[1:]...)}
	badOpen := open
	badOpen.Game = [32]byte{10}
	badOpen.Claim = Hash{2}
	tests := []struct {
		name   string
		env    sm.Env
		sender stake.Address
		mv     Move
		is     error
	}{
		{"out of turn", sm.Env{Time: 11}, bob, good, ErrBadMove},
		{"stranger", sm.Env{Time: 11}, stake.Address{7}, good, ErrBadMove},
		{"after the clock", sm.Env{Time: 10 + 101}, alice, good, ErrClock},
		{"time going back", sm.Env{Time: 9}, alice, good, ErrClock},
		{"mismatched leaf", sm.Env{Time: 11}, alice, badLeaf, ErrBadProof},
		{"too few leaves", sm.Env{Time: 11}, alice, short, ErrBadMove},
		{"proof of another index", sm.Env{Time: 11}, alice, wrongIdx, ErrBadProof},
		{"wrong phase", sm.Env{Time: 11}, alice, Prove{Game: open.Game, Witness: make([]byte, 8)}, ErrBadMove},
		{"pick for the defender", sm.Env{Time: 11}, bob, Pick{Game: open.Game}, ErrBadMove},
		{"early timeout", sm.Env{Time: 50}, bob, Timeout{Game: open.Game}, ErrClock},
		{"no game", sm.Env{Time: 11}, alice, Pick{Game: [32]byte{1}}, ErrNoGame},
		{"game exists", sm.Env{Time: 11}, bob, open, ErrBadMove},
		{"claim not in root", sm.Env{Time: 11}, bob, badOpen, ErrBadProof},
		{"self challenge", sm.Env{Time: 11}, alice, Open{Game: [32]byte{11}, Defender: alice, Steps: 1}, ErrBadMove},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := m.Export()
			root := m.Root()
			_, err := m.ApplyMove(tc.env, tc.sender, tc.mv)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err %v, want %v", err, tc.is)
			}
			after, _ := m.Export()
			if !bytes.Equal(before, after) || m.Root() != root {
				t.Fatal("state changed")
			}
		})
	}
	for _, p := range [][]byte{nil, []byte("{}"), []byte(`{"Op":"pick","Move":{"Game":[0],"Part":1}}`), []byte(`{"Op":"nope","Move":{}}`)} {
		if _, err := m.Apply(sm.Env{Time: 11}, alice, p); !errors.Is(err, ErrEncoding) {
			t.Fatalf("payload %q: %v", p, err)
		}
	}
	// The good move still works; export and import round-trip.
	if _, err := m.ApplyMove(sm.Env{Time: 11}, alice, good); err != nil {
		t.Fatal(err)
	}
	st, _ := m.Export()
	m2 := newMachine(t, vm, 4)
	if err := m2.Import(st); err != nil || m2.Root() != m.Root() {
		t.Fatalf("import: %v", err)
	}
	if err := m2.Import(append(st, ' ')); !errors.Is(err, ErrEncoding) {
		t.Fatalf("non-canonical import: %v", err)
	}
}

// FuzzMachine applies arbitrary payloads to a machine in the middle of a game: each either
// decodes to its canonical encoding and is applied or rejected atomically, or is refused as
// malformed; nothing panics. Its seeds include every kind of move, the task moves among them
// (FuzzTasks fuzzes them with a ledger).
func FuzzMachine(f *testing.F) {
	vm := Toy{G: 3, E: 3, Inc: 1}
	honest := ToyTrace{VM: vm, Steps: 9, Base: 7}
	com, _ := honest.Commit(Root(9))
	open := Open{Game: [32]byte{9}, Defender: alice, Steps: 9, Root: com.Root(), Start: com.Leaf(0), Claim: com.Leaf(9),
		StartProof: com.Proof(0), ClaimProof: com.Proof(9)}
	withTask := open
	withTask.Game, withTask.Program, withTask.Task = [32]byte{8}, Hash{3}, [32]byte{4}
	for _, mv := range []Move{open, Pick{Game: open.Game, Part: 1}, Timeout{Game: open.Game}, Prove{Game: open.Game, Witness: []byte{1, 2}},
		withTask, Commit{Task: [32]byte{4}, Seal: Hash{5}}, Post{Task: [32]byte{4}}, Challenge{Task: [32]byte{4}},
		Reveal{Task: [32]byte{4}, Secret: Hash{6}}, Finalize{Task: [32]byte{4}}} {
		b, _ := EncodeMove(mv)
		f.Add(b, uint64(11), true)
	}
	f.Fuzz(func(t *testing.T, payload []byte, tm uint64, asDefender bool) {
		m := newMachine(t, vm, 2)
		if _, err := m.ApplyMove(sm.Env{Time: 10}, bob, open); err != nil {
			t.Fatal(err)
		}
		sender := bob
		if asDefender {
			sender = alice
		}
		before, _ := m.Export()
		_, err := m.Apply(sm.Env{Time: tm}, sender, payload)
		if err != nil {
			if after, _ := m.Export(); !bytes.Equal(before, after) {
				t.Fatalf("rejected payload changed the state: %v", err)
			}
			return
		}
		mv, err := DecodeMove(payload)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := EncodeMove(mv); !bytes.Equal(again, payload) {
			t.Fatal("accepted a non-canonical payload")
		}
	})
}
