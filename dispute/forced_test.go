package dispute

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

var solver = stake.Address{0x50}

func verifier(i int) stake.Address { return stake.Address{0x60, byte(i >> 8), byte(i)} }

// beaconAt is the test chain's beacon of block h.
func beaconAt(h uint64) [32]byte {
	return sha(binary.BigEndian.AppendUint64([]byte("test/beacon\x00"), h))
}

// secretFor returns a secret whose draw for task, posted in block h, is want.
func secretFor(task [32]byte, h uint64, want bool, f Forced) Hash {
	for i := uint64(0); ; i++ {
		s := sha(binary.BigEndian.AppendUint64([]byte("test/secret\x00"), i))
		if ForcedDraw(task, s, beaconAt(h), f.RateNum, f.RateDen) == want {
			return s
		}
	}
}

// chainEnv drives a dispute machine over a stake ledger one block per transaction and
// checks, after every transaction, that the ledger conserves tokens, and after every
// rejected one, that neither the machine nor the ledger changed.
type chainEnv struct {
	t      testing.TB
	l      *stake.Ledger
	m      *Machine
	height uint64
	time   uint64
	supply uint256.Int
	txs    int
	reject int
}

func taskConfig() Config {
	return Config{Self: self, VM: Toy{G: 3, E: 3, Inc: 1}, K: 2, Clock: 100, Bond: *uint256.NewInt(10),
		SlashNum: 1, SlashDen: 2, SlashRewardBps: 5000,
		Forced: Forced{RateNum: 1, RateDen: 4, Jackpot: *uint256.NewInt(1200), Fee: *uint256.NewInt(15),
			Deposit: *uint256.NewInt(50), Window: 100, RevealWindow: 100, DisputeWindow: 100}}
}

func newChainEnv(t testing.TB, cfg Config, verifiers int) *chainEnv {
	t.Helper()
	g := stake.Genesis{Authorities: []stake.Address{self},
		Accounts:   []stake.GenesisAccount{{Address: solver, Balance: *uint256.NewInt(1_000_000)}},
		Treasuries: []stake.GenesisTreasury{{Name: stake.TreasuryJackpot, Amount: *uint256.NewInt(30_000)}}}
	for i := range verifiers {
		g.Accounts = append(g.Accounts, stake.GenesisAccount{Address: verifier(i), Balance: *uint256.NewInt(100_000)})
	}
	l, err := stake.New(g)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.ApplyOp(sm.Env{}, solver, stake.Bond{Amount: *uint256.NewInt(100_000)}); err != nil {
		t.Fatal(err)
	}
	for i := range verifiers {
		if _, err := l.ApplyOp(sm.Env{}, verifier(i), stake.Bond{Amount: *uint256.NewInt(10_000)}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := New(cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	return &chainEnv{t: t, l: l, m: m, height: 1, time: 1000, supply: l.Supply()}
}

// do sends mv from sender in the next block, dt seconds later, through the machine's
// canonical encoding.
func (e *chainEnv) do(sender stake.Address, mv Move, dt uint64) ([]sm.Event, error) {
	e.t.Helper()
	e.height++
	e.time += dt
	env := sm.Env{Height: e.height, Time: e.time, Beacon: beaconAt(e.height)}
	payload, err := EncodeMove(mv)
	if err != nil {
		e.t.Fatal(err)
	}
	mBefore, _ := e.m.Export()
	lBefore, _ := e.l.Export()
	evs, err := e.m.Apply(env, sender, payload)
	e.txs++
	if err != nil {
		e.reject++
		mAfter, _ := e.m.Export()
		lAfter, _ := e.l.Export()
		if !bytes.Equal(mBefore, mAfter) || !bytes.Equal(lBefore, lAfter) {
			e.t.Fatalf("rejected %T (%v) changed the state", mv, err)
		}
	}
	if cerr := e.l.Check(); cerr != nil {
		e.t.Fatalf("after %T: %v", mv, cerr)
	}
	if s := e.l.Supply(); !s.Eq(&e.supply) {
		e.t.Fatalf("after %T: supply %v, was %v", mv, &s, &e.supply)
	}
	return evs, err
}

func (e *chainEnv) must(sender stake.Address, mv Move, dt uint64) []sm.Event {
	e.t.Helper()
	evs, err := e.do(sender, mv, dt)
	if err != nil {
		e.t.Fatalf("%T: %v", mv, err)
	}
	return evs
}

func (e *chainEnv) bal(a stake.Address) uint64 { b := e.l.Balance(a); return b.Uint64() }
func (e *chainEnv) bonded(a stake.Address) uint64 {
	acc := e.l.Account(a)
	return acc.Bonded.Uint64()
}
func (e *chainEnv) pool() uint64 { p := e.l.Treasury(stake.TreasuryJackpot); return p.Uint64() }

// TestForcedTask plays every settlement of a forced-error task through the machine and
// checks the tokens. Rationale: a forced error pays min(J, pool/3) out of the jackpot,
// split so that each of n challengers gets J·2^−(n−1), and costs the solver nothing; a
// wrong result (forced but correct, admitted, unrevealed) slashes the solver and refunds
// the challengers; a correct unchallenged result is accepted.
func TestForcedTask(t *testing.T) {
	correct, lie := Hash{0xc0}, Hash{0x11}
	tests := []struct {
		name        string
		forced      bool
		post        func(correct Hash) Hash
		challengers int
		reveal      bool
		status      TaskStatus
		slashed     bool
	}{
		{"forced error, 3 challengers", true, WrongResult, 3, true, TaskForcedError, false},
		{"forced error, 1 challenger", true, WrongResult, 1, true, TaskForcedError, false},
		{"forced error, nobody checked", true, WrongResult, 0, true, TaskForcedError, false},
		{"forced but posted the correct result", true, func(c Hash) Hash { return c }, 2, true, TaskWrong, true},
		{"not forced, correct, unchallenged", false, func(c Hash) Hash { return c }, 0, true, TaskAccepted, false},
		{"not forced, posted a lie, challenged", false, func(Hash) Hash { return lie }, 2, true, TaskWrong, true},
		{"forced error not revealed", true, WrongResult, 2, false, TaskWrong, true},
		{"not forced, not revealed", false, func(c Hash) Hash { return c }, 0, false, TaskWrong, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := taskConfig()
			e := newChainEnv(t, cfg, 8)
			task := [32]byte{0x7a}
			f := e.m.cfg.Forced
			secret := secretFor(task, e.height+2, tc.forced, f)
			pool0, solver0 := e.pool(), e.bal(solver)
			e.must(solver, Commit{Task: task, Seal: Seal(task, secret, correct)}, 1)
			if e.pool() != pool0+15 || e.bal(solver) != solver0-15 {
				t.Fatalf("fee: pool %d, solver %d", e.pool(), e.bal(solver))
			}
			result := tc.post(correct)
			e.must(solver, Post{Task: task, Result: result}, 1)
			for i := range tc.challengers {
				e.must(verifier(i), Challenge{Task: task}, 1)
				if e.bal(verifier(i)) != 100_000-10_000-50 {
					t.Fatalf("deposit not escrowed: %d", e.bal(verifier(i)))
				}
			}
			poolBefore := e.pool()
			if tc.reveal {
				e.must(solver, Reveal{Task: task, Secret: secret, Correct: correct}, 101)
			} else {
				if _, err := e.do(stake.Address{0x99}, Finalize{Task: task}, 100); !errors.Is(err, ErrClock) {
					t.Fatalf("early finalize: %v", err)
				}
				e.must(stake.Address{0x99}, Finalize{Task: task}, 101)
			}
			got, _ := e.m.Task(task)
			if got.Status != tc.status || got.Forced != (tc.forced && tc.reveal) {
				t.Fatalf("status %s forced %v, want %s", got.Status, got.Forced, tc.status)
			}
			if s := e.bonded(solver) < 100_000; s != tc.slashed {
				t.Fatalf("solver bonded %d, slashed %v", e.bonded(solver), tc.slashed)
			}
			var share uint64
			if tc.status == TaskForcedError && tc.challengers > 0 {
				share = min(1200, poolBefore/3) >> (tc.challengers - 1)
				if e.pool() != poolBefore-share*uint64(tc.challengers) {
					t.Fatalf("pool %d, before %d, share %d", e.pool(), poolBefore, share)
				}
			}
			for i := range tc.challengers {
				want := uint64(100_000-10_000) + share
				if tc.slashed && i == 0 {
					want += 50_000 / 2 // half of the slashed half of the solver's bond
				}
				if e.bal(verifier(i)) != want {
					t.Fatalf("challenger %d: balance %d, want %d", i, e.bal(verifier(i)), want)
				}
				if c := got.Challengers[i]; c.Status == ClaimPending {
					t.Fatalf("claim %d still pending", i)
				}
			}
			if _, err := e.do(solver, Finalize{Task: task}, 1000); !errors.Is(err, ErrNoTask) {
				t.Fatalf("move on a settled task: %v", err)
			}
			t.Logf("pool %d → %d, %d challengers, share %d", poolBefore, e.pool(), tc.challengers, share)
		})
	}
}

// TestTaskGames: a non-forced task challenged after a consistent reveal goes to the
// dispute game. Rationale: a challenger who loses its game pays its deposit to the
// solver, and one who opens no game in time forfeits it; a solver who loses a game makes
// the task wrong, and every challenger gets its deposit back.
func TestTaskGames(t *testing.T) {
	vm := Toy{G: 3, E: 3, Inc: 1}
	for _, solverLies := range []bool{false, true} {
		t.Run(fmt.Sprintf("solver lies %v", solverLies), func(t *testing.T) {
			e := newChainEnv(t, taskConfig(), 3)
			honest := ToyTrace{VM: vm, Steps: 6, Base: 7}
			dTrace := honest
			if solverLies {
				dTrace.Fault, dTrace.Delta = 20, 1
			}
			com, _ := dTrace.Commit(Root(6))
			task := [32]byte{0x7b}
			secret := secretFor(task, e.height+2, false, e.m.cfg.Forced)
			e.must(solver, Commit{Task: task, Seal: Seal(task, secret, com.Root())}, 1)
			e.must(solver, Post{Task: task, Result: com.Root()}, 1)
			for i := range 3 {
				e.must(verifier(i), Challenge{Task: task}, 1)
			}
			e.must(solver, Reveal{Task: task, Secret: secret, Correct: com.Root()}, 100)
			if tk, _ := e.m.Task(task); tk.Status != TaskDisputed {
				t.Fatalf("status %s", tk.Status)
			}
			open := Open{Game: [32]byte{0x9a}, Defender: solver, Steps: 6, Root: com.Root(), Start: com.Leaf(0), Claim: com.Leaf(6),
				StartProof: com.Proof(0), ClaimProof: com.Proof(6), Task: task}
			bad := open
			bad.Root, bad.Game = Hash{1}, [32]byte{0x9b}
			if _, err := e.do(verifier(0), bad, 1); err == nil {
				t.Fatal("a game over another root was accepted")
			}
			if _, err := e.do(verifier(7), open, 1); err == nil {
				t.Fatal("a game by a non-challenger was accepted")
			}
			if _, err := e.do(stake.Address{0x99}, Finalize{Task: task}, 1); !errors.Is(err, ErrClock) {
				t.Fatalf("early finalize: %v", err)
			}
			// Challengers 0 and 1 play; challenger 2 never opens a game.
			for i := range 2 {
				o := open
				o.Game[1] = byte(i)
				g := e.play(o, verifier(i), &Honest{Side: Defender, Trace: dTrace}, &Honest{Side: Challenger, Trace: honest})
				want := Challenger
				if !solverLies {
					want = Defender
				}
				if g.Winner != want {
					t.Fatalf("game %d: winner %s", i, g.Winner)
				}
				if solverLies {
					break // the first game settles the task
				}
			}
			tk, _ := e.m.Task(task)
			if solverLies {
				if tk.Status != TaskWrong || tk.Challengers[0].Status != ClaimRefunded || tk.Challengers[2].Status != ClaimRefunded {
					t.Fatalf("task %+v", tk)
				}
				if e.bal(verifier(2)) != 90_000 {
					t.Fatalf("refund: %d", e.bal(verifier(2)))
				}
				return
			}
			if tk.Status != TaskDisputed {
				t.Fatalf("status %s with a claim pending", tk.Status)
			}
			e.must(stake.Address{0x99}, Finalize{Task: task}, 200)
			tk, _ = e.m.Task(task)
			if tk.Status != TaskAccepted || tk.Challengers[2].Status != ClaimLost || e.bal(verifier(2)) != 100_000-10_000-50 {
				t.Fatalf("task %+v, lazy challenger balance %d", tk, e.bal(verifier(2)))
			}
			q, err := e.m.Query(append([]byte{'T'}, task[:]...))
			if err != nil || !bytes.Contains(q, []byte(`"Status":4`)) {
				t.Fatalf("query: %s %v", q, err)
			}
			if _, err := e.m.Query(append([]byte{'T'}, make([]byte, 32)...)); !errors.Is(err, ErrNoTask) {
				t.Fatalf("query of no task: %v", err)
			}
		})
	}
}

// play opens o from challenger and plays it to its end on e's chain.
func (e *chainEnv) play(o Open, challenger stake.Address, d, c Agent) Game {
	e.t.Helper()
	e.must(challenger, o, 1)
	for range 1000 {
		g, _ := e.m.Game(o.Game)
		if g.Phase == PhaseDone {
			return g
		}
		side := g.Phase.mover()
		agent := d
		if side == Challenger {
			agent = c
		}
		mv, _, err := agent.Next(g, e.m.K())
		if err != nil {
			e.t.Fatal(err)
		}
		e.must(g.party(side), mv, 1)
	}
	e.t.Fatal("game did not end")
	return Game{}
}

// TestTaskSybil: Rationale: n identities of one verifier that catch a forced error beside
// m honest challengers, in any positions of the challenge order, together receive no more
// than one identity would, paid through the machine and the ledger.
func TestTaskSybil(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for m := 0; m <= 3; m++ {
		var one uint64
		for n := 1; n <= 6; n++ {
			e := newChainEnv(t, taskConfig(), n+m)
			task := [32]byte{0x7c}
			secret := secretFor(task, e.height+2, true, e.m.cfg.Forced)
			e.must(solver, Commit{Task: task, Seal: Seal(task, secret, Hash{1})}, 1)
			e.must(solver, Post{Task: task, Result: WrongResult(Hash{1})}, 1)
			order := r.Perm(n + m) // identities 0..n−1 are the Sybil's
			for _, i := range order {
				e.must(verifier(i), Challenge{Task: task}, 1)
			}
			e.must(solver, Reveal{Task: task, Secret: secret, Correct: Hash{1}}, 100)
			var got uint64
			for i := range n {
				got += e.bal(verifier(i)) - 90_000
			}
			if n == 1 {
				one = got
			}
			if got > one {
				t.Fatalf("m=%d: %d identities got %d, one got %d (order %v)", m, n, got, one, order)
			}
			t.Logf("m=%d honest, n=%d Sybil identities: %d (one identity: %d)", m, n, got, one)
		}
	}
}

// TestTaskBadInput: every malformed, early, late, out-of-turn or unfunded task move is
// rejected and changes neither the machine nor the ledger (chainEnv.do checks both).
func TestTaskBadInput(t *testing.T) {
	e := newChainEnv(t, taskConfig(), 3)
	task := [32]byte{0x7d}
	secret := secretFor(task, e.height+7, true, e.m.cfg.Forced) // the Post is the 7th step
	seal := Seal(task, secret, Hash{1})
	broke := stake.Address{0x42}
	steps := []struct {
		name   string
		sender stake.Address
		mv     Move
		dt     uint64
		is     error // nil: must succeed
	}{
		{"post before commit", solver, Post{Task: task}, 1, ErrNoTask},
		{"commit by an unfunded solver", broke, Commit{Task: task, Seal: seal}, 1, ErrStake},
		{"commit", solver, Commit{Task: task, Seal: seal}, 1, nil},
		{"commit again", verifier(0), Commit{Task: task, Seal: seal}, 1, ErrBadMove},
		{"challenge before the post", verifier(0), Challenge{Task: task}, 1, ErrBadMove},
		{"post by another", verifier(0), Post{Task: task, Result: Hash{2}}, 1, ErrBadMove},
		{"post", solver, Post{Task: task, Result: WrongResult(Hash{1})}, 1, nil},
		{"post again", solver, Post{Task: task, Result: Hash{3}}, 1, ErrBadMove},
		{"solver challenges itself", solver, Challenge{Task: task}, 1, ErrBadMove},
		{"unfunded challenger", broke, Challenge{Task: task}, 1, ErrStake},
		{"challenge", verifier(0), Challenge{Task: task}, 1, nil},
		{"challenge twice", verifier(0), Challenge{Task: task}, 1, ErrBadMove},
		{"reveal in the window", solver, Reveal{Task: task, Secret: secret, Correct: Hash{1}}, 1, ErrClock},
		{"finalize in the window", verifier(1), Finalize{Task: task}, 1, ErrClock},
		{"late challenge", verifier(1), Challenge{Task: task}, 100, ErrClock},
		{"reveal by another", verifier(0), Reveal{Task: task, Secret: secret, Correct: Hash{1}}, 1, ErrBadMove},
		{"reveal that does not open the seal", solver, Reveal{Task: task, Secret: secret, Correct: Hash{2}}, 1, ErrBadProof},
		{"open a game over a posted task", verifier(0), Open{Game: [32]byte{1}, Defender: solver, Steps: 1, Task: task}, 1, ErrBadProof},
		{"reveal", solver, Reveal{Task: task, Secret: secret, Correct: Hash{1}}, 1, nil},
		{"reveal again", solver, Reveal{Task: task, Secret: secret, Correct: Hash{1}}, 1, ErrNoTask},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			e.t = t
			_, err := e.do(s.sender, s.mv, s.dt)
			if s.is == nil && err != nil || s.is != nil && !errors.Is(err, s.is) {
				t.Fatalf("err %v, want %v", err, s.is)
			}
		})
	}
	if tk, _ := e.m.Task(task); tk.Status != TaskForcedError {
		t.Fatalf("status %s", tk.Status)
	}
	// A jackpot payout that the ledger refuses (the machine is no authority) rolls back the
	// deposit refunds that came before it.
	cfg := taskConfig()
	cfg.Self = stake.Address{0xee}
	e = newChainEnv(t, cfg, 2)
	secret = secretFor(task, e.height+2, true, cfg.Forced)
	e.must(solver, Commit{Task: task, Seal: Seal(task, secret, Hash{1})}, 1)
	e.must(solver, Post{Task: task, Result: Hash{9}}, 1)
	e.must(verifier(0), Challenge{Task: task}, 1)
	if _, err := e.do(solver, Reveal{Task: task, Secret: secret, Correct: Hash{1}}, 100); !errors.Is(err, ErrStake) {
		t.Fatalf("payout by a non-authority: %v", err)
	}
}

// TestTaskConservation runs random task transactions (commits, posts, challenges, reveals,
// finalizations, at random times, honest, forced, lying, silent and invalid) and checks
// after each one that the ledger conserves tokens and that a rejected one changed nothing.
// It runs in segments of 20 tasks on fresh chains, since the check exports the whole state
// around every transaction.
func TestTaskConservation(t *testing.T) {
	n := 20_000
	if testing.Short() {
		n = 2_000
	}
	cfg := taskConfig()
	r := rand.New(rand.NewPCG(8, 9))
	txs, rejected, tasks, paid := 0, 0, 0, 0
	var jackpot uint64
	statuses := map[TaskStatus]int{}
	for txs < n {
		e := newChainEnv(t, cfg, 16)
		for i := range 20 {
			var id [32]byte
			binary.BigEndian.PutUint64(id[:], uint64(i))
			secret, correct := sha(id[:]), Hash{byte(i), 1}
			e.must(solver, Commit{Task: id, Seal: Seal(id, secret, correct)}, 1)
			forced := ForcedDraw(id, secret, beaconAt(e.height+1), cfg.Forced.RateNum, cfg.Forced.RateDen)
			result := correct
			if forced != (r.IntN(10) == 0) { // a solver that obeys the draw 90% of the time
				result = WrongResult(correct)
			}
			e.must(solver, Post{Task: id, Result: result}, 1)
			for range r.IntN(6) {
				e.do(verifier(r.IntN(16)), Challenge{Task: id}, uint64(r.IntN(30))) // may be late or repeated
			}
			before := e.pool()
			switch r.IntN(8) {
			case 0: // silent solver
				e.do(verifier(0), Finalize{Task: id}, uint64(r.IntN(300)))
			case 1: // a bad reveal, then the good one
				e.do(solver, Reveal{Task: id, Secret: secret, Correct: Hash{7}}, 101)
				fallthrough
			default:
				e.do(solver, Reveal{Task: id, Secret: secret, Correct: correct}, uint64(r.IntN(150)))
			}
			e.do(verifier(1), Finalize{Task: id}, uint64(r.IntN(250)))
			if p := e.pool(); p < before {
				paid++
				jackpot += before - p
			}
			tk, _ := e.m.Task(id)
			statuses[tk.Status]++
			tasks++
		}
		txs, rejected = txs+e.txs, rejected+e.reject
	}
	t.Logf("%d transactions (%d rejected) over %d tasks: statuses %v; %d jackpot payouts totalling %d; supply constant and ledger Check ok after every transaction",
		txs, rejected, tasks, statuses, paid, jackpot)
	if paid == 0 || statuses[TaskWrong] == 0 || statuses[TaskAccepted] == 0 || statuses[TaskDisputed] == 0 {
		t.Fatal("the run did not exercise every settlement")
	}
}

// FuzzTasks applies an arbitrary payload, sender, time, height and beacon to a machine
// holding a posted, challenged task: a rejected payload changes neither the machine nor the
// ledger; an accepted one is canonical and keeps the ledger's conservation.
func FuzzTasks(f *testing.F) {
	task := [32]byte{0x7e}
	secret := Hash{5}
	for _, mv := range []Move{Challenge{Task: task}, Reveal{Task: task, Secret: secret, Correct: Hash{1}}, Finalize{Task: task},
		Post{Task: task, Result: Hash{2}}, Commit{Task: [32]byte{1}, Seal: Hash{3}}} {
		b, _ := EncodeMove(mv)
		f.Add(b, uint64(1200), uint64(9), uint8(0))
		f.Add(b, uint64(1012), uint64(9), uint8(1))
	}
	f.Fuzz(func(t *testing.T, payload []byte, tm, height uint64, who uint8) {
		cfg := taskConfig()
		cfg.Forced.RateNum = 1
		cfg.Forced.RateDen = 1 // every task forced
		e := newChainEnv(t, cfg, 3)
		e.must(solver, Commit{Task: task, Seal: Seal(task, secret, Hash{1})}, 1)
		e.must(solver, Post{Task: task, Result: Hash{2}}, 1)
		e.must(verifier(0), Challenge{Task: task}, 1)
		senders := []stake.Address{solver, verifier(0), verifier(1), verifier(2), self}
		env := sm.Env{Height: height, Time: tm, Beacon: beaconAt(height)}
		mBefore, _ := e.m.Export()
		lBefore, _ := e.l.Export()
		_, err := e.m.Apply(env, senders[int(who)%len(senders)], payload)
		if err != nil {
			mAfter, _ := e.m.Export()
			lAfter, _ := e.l.Export()
			if !bytes.Equal(mBefore, mAfter) || !bytes.Equal(lBefore, lAfter) {
				t.Fatalf("rejected payload changed the state: %v", err)
			}
		} else if mv, err := DecodeMove(payload); err != nil {
			t.Fatal(err)
		} else if again, _ := EncodeMove(mv); !bytes.Equal(again, payload) {
			t.Fatal("accepted a non-canonical payload")
		}
		if err := e.l.Check(); err != nil {
			t.Fatal(err)
		}
		if s := e.l.Supply(); !s.Eq(&e.supply) {
			t.Fatalf("supply %v, was %v", &s, &e.supply)
		}
		st, _ := e.m.Export()
		m2, _ := New(cfg, e.l)
		if err := m2.Import(st); err != nil || m2.Root() != e.m.Root() {
			t.Fatalf("export/import: %v", err)
		}
	})
}
