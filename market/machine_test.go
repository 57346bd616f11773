package market

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

var (
	marketAddr = stake.Address{0xee}
	settler    = stake.Address{0xdd}
	submitter  = stake.Address{0x01}
	solverA    = stake.Address{0x0a}
	solverB    = stake.Address{0x0b}
	verifiers  = []stake.Address{{0x71}, {0x72}, {0x73}, {0x74}, {0x75}, {0x76}}
)

// world is a scenario harness: a ledger, a market and a chain clock.
type world struct {
	t      testing.TB
	ledger *stake.Ledger
	m      *Machine
	env    sm.Env
}

func newWorld(t testing.TB) *world {
	var accts []stake.GenesisAccount
	for _, a := range append([]stake.Address{submitter, solverA, solverB}, verifiers...) {
		accts = append(accts, stake.GenesisAccount{Address: a, Balance: *uint256.MustFromDecimal("1000000000000000000000000")})
	}
	l, err := stake.New(stake.Genesis{Accounts: accts, Params: stake.Params{FeeBps: 100}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Address: marketAddr, Settlers: []stake.Address{settler}}, l)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ledger: l, m: m, env: sm.Env{ChainID: 1, Height: 1, Time: 1000}}
	for i, a := range append([]stake.Address{solverA, solverB}, verifiers...) {
		w.must(w.ledgerOp(a, stake.Bond{Amount: *uint256.NewInt(uint64(1000 * (i + 1)))}))
	}
	for _, v := range verifiers {
		w.must(w.apply(v, RegisterVerifier{}))
	}
	return w
}

func (w *world) next(dt uint64) {
	w.env.Height++
	w.env.Time += dt
	w.env.Beacon = [32]byte{byte(w.env.Height), byte(w.env.Height >> 8), 0x5a}
}

func (w *world) ledgerOp(a stake.Address, op stake.Op) ([]sm.Event, error) {
	return w.ledger.ApplyOp(w.env, a, op)
}

// apply sends tx through the canonical encoding, and checks that a failure changed nothing
// and that the invariants hold after a success.
func (w *world) apply(sender stake.Address, tx Tx) ([]sm.Event, error) {
	w.t.Helper()
	b, err := EncodeTx(tx)
	if err != nil {
		return nil, err
	}
	mr, lr := w.m.Root(), w.ledger.Root()
	evs, err := w.m.Apply(w.env, sender, b)
	if err != nil {
		if w.m.Root() != mr || w.ledger.Root() != lr {
			w.t.Fatalf("%T failed (%v) but changed the state", tx, err)
		}
		return nil, err
	}
	if err := w.m.Check(); err != nil {
		w.t.Fatalf("after %T: %v", tx, err)
	}
	if err := w.ledger.Check(); err != nil {
		w.t.Fatalf("after %T: ledger: %v", tx, err)
	}
	return evs, nil
}

func (w *world) must(_ []sm.Event, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// attest posts an offer and runs its attestation through to active.
func (w *world) attest(solver stake.Address, id [32]byte, price uint64, capacity uint64, props Props) {
	w.t.Helper()
	w.must(w.apply(solver, PostOffer{ID: id, Props: props, Price: *uint256.NewInt(price), Capacity: capacity, Stake: *uint256.NewInt(500),
		Identities: [][20]byte{{0x77, id[0]}}}))
	o, _ := w.m.Offer(id)
	leaves := make([]merkle.Hash, MinRounds)
	for i := range leaves {
		leaves[i] = RoundLeaf(o.Seed, uint64(i))
	}
	w.next(1)
	w.must(w.apply(solver, CommitAttestation{Offer: id, Root: merkle.Root(leaves), Rounds: MinRounds}))
	w.next(1)
	paths, err := ProveSamples(leaves, id, w.env.Beacon)
	if err != nil {
		w.t.Fatal(err)
	}
	w.must(w.apply(solver, ProveAttestation{Offer: id, Paths: paths}))
	if o, _ := w.m.Offer(id); o.Status != OfferActive {
		w.t.Fatalf("offer %x: status %d after proving", id[:1], o.Status)
	}
}

var gpu = Props{Memory: 80 << 30, Precisions: 1 | 2 | 4, BitExact: false}
var refCPU = Props{Memory: 16 << 30, Precisions: 1, BitExact: true}

func mlpSpec(deadline uint64) TaskSpec {
	g := graph.FashionMLP()
	return TaskSpec{Graph: g.Encode(), GraphHash: g.Hash(), Dataset: Dataset{Root: [32]byte{9}, Samples: 60000, Location: "https://example.org/fmnist"},
		Batch: 64, Steps: 100, Deadline: deadline, MaxPrice: *uint256.NewInt(3)}
}

func TestMarketLifecycle(t *testing.T) {
	w := newWorld(t)
	w.attest(solverA, [32]byte{0xa1}, 2, 1<<40, gpu)
	w.attest(solverB, [32]byte{0xb1}, 1, 1<<40, refCPU)
	w.attest(solverB, [32]byte{0xb2}, 3, 1<<40, gpu)
	w.next(1)
	spec := mlpSpec(w.env.Time + 10000)
	spec.Req.BitExact = true
	before := w.ledger.Balance(submitter)
	w.must(w.apply(submitter, PostTask{ID: [32]byte{0x7a}, Spec: spec}))
	task, _ := w.m.Task([32]byte{0x7a})
	if task.Offer != [32]byte{0xb1} || task.Status != TaskMatched {
		t.Fatalf("matched %x status %d, want the bit-exact offer b1", task.Offer[:1], task.Status)
	}
	if _, err := w.apply(solverA, CommitProof{Task: task.ID, Root: [32]byte{1}}); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("another solver committed the proof: %v", err)
	}
	w.must(w.apply(solverB, CommitProof{Task: task.ID, Root: [32]byte{1}}))
	if _, err := w.apply(solverB, AssignVerifiers{Task: task.ID}); !errors.Is(err, ErrState) {
		t.Fatalf("assignment in the proof's block: %v", err)
	}
	w.next(5)
	w.must(w.apply(submitter, AssignVerifiers{Task: task.ID}))
	task, _ = w.m.Task(task.ID)
	if len(task.Assigned) != 4 {
		t.Fatalf("assigned %d, want 4", len(task.Assigned))
	}
	if _, err := w.apply(submitter, Settle{Task: task.ID, Accepted: true}); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("submitter settled: %v", err)
	}
	solverBefore := w.ledger.Balance(solverB)
	w.must(w.apply(settler, Settle{Task: task.ID, Accepted: true}))
	task, _ = w.m.Task(task.ID)
	paid, _ := Fee(task.Units, uint256.NewInt(1))
	if !task.Paid.Eq(&paid) {
		t.Fatalf("paid %s, want %s", task.Paid.Dec(), paid.Dec())
	}
	fee := new(uint256.Int).Mul(&paid, uint256.NewInt(100))
	fee.Add(fee, uint256.NewInt(9999)).Div(fee, uint256.NewInt(10000))
	gotSolver := w.ledger.Balance(solverB)
	gotSolver.Sub(&gotSolver, &solverBefore)
	wantSolver := new(uint256.Int).Sub(&paid, fee)
	if !gotSolver.Eq(wantSolver) {
		t.Fatalf("solver received %s, want %s", gotSolver.Dec(), wantSolver.Dec())
	}
	spent := before
	after := w.ledger.Balance(submitter)
	spent.Sub(&spent, &after)
	if !spent.Eq(&paid) {
		t.Fatalf("submitter spent %s, want exactly the fee %s (the excess refunded)", spent.Dec(), paid.Dec())
	}
	if o, _ := w.m.Offer([32]byte{0xb1}); o.Reserved != 0 {
		t.Fatalf("reservation %d left after settlement", o.Reserved)
	}
	roundTrip(t, w.m)
}

func roundTrip(t *testing.T, m *Machine) {
	t.Helper()
	st, _ := m.Export()
	n, _ := New(m.cfg, m.ledger)
	if err := n.Import(st); err != nil {
		t.Fatal(err)
	}
	if n.Root() != m.Root() {
		t.Fatal("root changed through Export/Import")
	}
	if len(st) > 1 {
		bad := bytes.Clone(st)
		bad = append(bad, 0)
		if err := n.Import(bad); !errors.Is(err, ErrMalformed) {
			t.Fatalf("import of trailing bytes: %v", err)
		}
	}
}

// TestAkashRegressions pins the three problems filed against Akash's market.
func TestAkashRegressions(t *testing.T) {
	t.Run("bid above the ceiling", func(t *testing.T) {
		w := newWorld(t)
		w.attest(solverA, [32]byte{0xa1}, 2, 1<<40, gpu)
		spec := mlpSpec(w.env.Time + 10000)
		w.must(w.apply(submitter, PostTask{ID: [32]byte{1}, Mode: AuctionAuto, Window: 100, Spec: spec}))
		for _, p := range []uint64{4, 0} {
			if _, err := w.apply(solverA, Bid{Task: [32]byte{1}, Offer: [32]byte{0xa1}, Price: *uint256.NewInt(p)}); !errors.Is(err, ErrPrice) {
				t.Fatalf("bid %d against ceiling 3: %v", p, err)
			}
		}
		w.must(w.apply(solverA, Bid{Task: [32]byte{1}, Offer: [32]byte{0xa1}, Price: *uint256.NewInt(3)}))
	})
	t.Run("reservation beyond capacity", func(t *testing.T) {
		w := newWorld(t)
		spec := mlpSpec(w.env.Time + 10000)
		est, err := spec.Estimate(w.env.Time)
		if err != nil {
			t.Fatal(err)
		}
		rate := (est.Units + 9899) / 9900 // the window takes 100 s of the span
		w.attest(solverA, [32]byte{0xa1}, 2, rate+rate/2, gpu)
		w.must(w.apply(submitter, PostTask{ID: [32]byte{1}, Mode: AuctionAuto, Window: 100, Spec: spec}))
		w.must(w.apply(submitter, PostTask{ID: [32]byte{2}, Mode: AuctionAuto, Window: 100, Spec: spec}))
		w.must(w.apply(solverA, Bid{Task: [32]byte{1}, Offer: [32]byte{0xa1}, Price: *uint256.NewInt(2)}))
		if _, err := w.apply(solverA, Bid{Task: [32]byte{2}, Offer: [32]byte{0xa1}, Price: *uint256.NewInt(2)}); !errors.Is(err, ErrCapacity) {
			t.Fatalf("second bid beyond capacity: %v", err)
		}
		if _, err := w.apply(submitter, PostTask{ID: [32]byte{3}, Spec: spec}); !errors.Is(err, ErrNoMatch) {
			t.Fatalf("continuous match beyond capacity: %v", err)
		}
	})
	t.Run("resources locked after the order closed unaccepted", func(t *testing.T) {
		w := newWorld(t)
		w.attest(solverA, [32]byte{0xa1}, 2, 1<<40, gpu)
		w.attest(solverB, [32]byte{0xb1}, 2, 1<<40, gpu)
		before := w.ledger.Balance(submitter)
		spec := mlpSpec(w.env.Time + 100000)
		w.must(w.apply(submitter, PostTask{ID: [32]byte{1}, Mode: AuctionSubmitter, Window: 100, Spec: spec}))
		w.must(w.apply(solverA, Bid{Task: [32]byte{1}, Offer: [32]byte{0xa1}, Price: *uint256.NewInt(2)}))
		w.must(w.apply(solverB, Bid{Task: [32]byte{1}, Offer: [32]byte{0xb1}, Price: *uint256.NewInt(1)}))
		w.next(100)
		if _, err := w.apply(solverA, CloseAuction{Task: [32]byte{1}}); !errors.Is(err, ErrState) {
			t.Fatalf("closed during the accept window: %v", err)
		}
		w.next(3600)
		if _, err := w.apply(submitter, Accept{Task: [32]byte{1}, Offer: [32]byte{0xb1}}); !errors.Is(err, ErrExpired) {
			t.Fatalf("accepted after the accept window: %v", err)
		}
		w.must(w.apply(solverA, CloseAuction{Task: [32]byte{1}}))
		for _, id := range [][32]byte{{0xa1}, {0xb1}} {
			if o, _ := w.m.Offer(id); o.Reserved != 0 {
				t.Fatalf("offer %x still reserves %d after the order closed", id[:1], o.Reserved)
			}
		}
		if after := w.ledger.Balance(submitter); !after.Eq(&before) {
			t.Fatalf("submitter balance %s, want %s: escrow not refunded", after.Dec(), before.Dec())
		}
		if _, ok := w.ledger.Escrow(EscrowID([32]byte{1})); ok {
			t.Fatal("escrow still open")
		}
	})
}

func TestAuctionAutoPicksLowest(t *testing.T) {
	w := newWorld(t)
	w.attest(solverA, [32]byte{0xa1}, 2, 1<<40, gpu)
	w.attest(solverB, [32]byte{0xb1}, 2, 1<<40, gpu)
	spec := mlpSpec(w.env.Time + 10000)
	w.must(w.apply(submitter, PostTask{ID: [32]byte{1}, Mode: AuctionAuto, Window: 100, Spec: spec}))
	w.must(w.apply(solverA, Bid{Task: [32]byte{1}, Offer: [32]byte{0xa1}, Price: *uint256.NewInt(2)}))
	w.must(w.apply(solverB, Bid{Task: [32]byte{1}, Offer: [32]byte{0xb1}, Price: *uint256.NewInt(1)}))
	w.next(100)
	w.must(w.apply(solverA, CloseAuction{Task: [32]byte{1}}))
	task, _ := w.m.Task([32]byte{1})
	if task.Offer != [32]byte{0xb1} || !task.Price.Eq(uint256.NewInt(1)) {
		t.Fatalf("winner %x at %s", task.Offer[:1], task.Price.Dec())
	}
	if o, _ := w.m.Offer([32]byte{0xa1}); o.Reserved != 0 {
		t.Fatalf("loser still reserves %d", o.Reserved)
	}
	w.next(10000)
	w.must(w.apply(solverA, Expire{Task: [32]byte{1}}))
}

// TestBadInput: every bad input is an error wrapping the right sentinel, and changes
// nothing (world.apply checks the roots).
func TestBadInput(t *testing.T) {
	w := newWorld(t)
	w.attest(solverA, [32]byte{0xa1}, 2, 1<<40, gpu)
	max256 := new(uint256.Int).SetAllOne()
	badOp := mlpSpec(w.env.Time + 1000)
	badOp.Graph = bytes.Clone(badOp.Graph)
	badOp.Graph[8+2+4] = 0xff // the first node's op
	tests := []struct {
		name   string
		sender stake.Address
		tx     Tx
		want   error
	}{
		{"zero price offer", solverA, PostOffer{ID: [32]byte{1}, Props: gpu, Capacity: 1}, ErrPrice},
		{"zero capacity offer", solverA, PostOffer{ID: [32]byte{1}, Props: gpu, Price: *uint256.NewInt(1)}, ErrInvalidOffer},
		{"stake beyond the bond", solverA, PostOffer{ID: [32]byte{1}, Props: gpu, Price: *uint256.NewInt(1), Capacity: 1, Stake: *max256}, ErrStake},
		{"duplicate offer", solverA, PostOffer{ID: [32]byte{0xa1}, Props: gpu, Price: *uint256.NewInt(1), Capacity: 1}, ErrExists},
		{"zero max price", submitter, PostTask{ID: [32]byte{1}, Spec: func() TaskSpec { s := mlpSpec(w.env.Time + 1000); s.MaxPrice.Clear(); return s }()}, ErrPrice},
		{"overflowing price", submitter, PostTask{ID: [32]byte{1}, Spec: func() TaskSpec { s := mlpSpec(w.env.Time + 1000); s.MaxPrice = *max256; return s }()}, ErrPrice},
		{"price and budget both", submitter, PostTask{ID: [32]byte{1}, Spec: func() TaskSpec { s := mlpSpec(w.env.Time + 1000); s.Budget.SetUint64(5); return s }()}, ErrPrice},
		{"budget below one unit", submitter, PostTask{ID: [32]byte{1}, Spec: func() TaskSpec {
			s := mlpSpec(w.env.Time + 1000)
			s.MaxPrice.Clear()
			s.Budget.SetUint64(5)
			return s
		}()}, ErrPrice},
		{"unknown op", submitter, PostTask{ID: [32]byte{1}, Spec: badOp}, ErrInvalidSpec},
		{"graph hash mismatch", submitter, PostTask{ID: [32]byte{1}, Spec: func() TaskSpec { s := mlpSpec(w.env.Time + 1000); s.GraphHash[0] ^= 1; return s }()}, ErrInvalidSpec},
		{"batch beyond the elements limit", submitter, PostTask{ID: [32]byte{1}, Spec: func() TaskSpec {
			s := mlpSpec(w.env.Time + 1000)
			g, err := graph.MLP(1<<16, 2)
			if err != nil {
				t.Fatal(err)
			}
			s.Graph, s.GraphHash, s.Batch, s.Dataset.Samples = g.Encode(), g.Hash(), graph.MaxBatch, graph.MaxBatch
			return s
		}()}, ErrInvalidSpec},
		{"expired deadline", submitter, PostTask{ID: [32]byte{1}, Spec: mlpSpec(w.env.Time)}, ErrExpired},
		{"no device has the memory", submitter, PostTask{ID: [32]byte{1}, Spec: func() TaskSpec { s := mlpSpec(w.env.Time + 1000); s.Req.Memory = 1 << 50; return s }()}, ErrNoMatch},
		{"no device is bit-exact", submitter, PostTask{ID: [32]byte{1}, Spec: func() TaskSpec { s := mlpSpec(w.env.Time + 1000); s.Req.BitExact = true; return s }()}, ErrNoMatch},
		{"no device has fp64", submitter, PostTask{ID: [32]byte{1}, Spec: func() TaskSpec { s := mlpSpec(w.env.Time + 1000); s.Req.Precisions = 16; return s }()}, ErrNoMatch},
		{"too many steps", submitter, PostTask{ID: [32]byte{1}, Spec: func() TaskSpec { s := mlpSpec(w.env.Time + 1000); s.Steps = MaxSteps + 1; return s }()}, ErrTooLarge},
		{"bid on unknown task", solverA, Bid{Task: [32]byte{9}, Offer: [32]byte{0xa1}, Price: *uint256.NewInt(1)}, ErrUnknown},
		{"settle unknown task", settler, Settle{Task: [32]byte{9}}, ErrUnknown},
		{"close another's offer", solverB, CloseOffer{Offer: [32]byte{0xa1}}, ErrNotAuthorized},
		{"attestation with too few rounds", solverA, CommitAttestation{Offer: [32]byte{0xa1}, Rounds: 1}, ErrState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.apply(tt.sender, tt.tx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := w.m.Apply(w.env, submitter, []byte{1, 99}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown code: %v", err)
	}
}

func TestAttestation(t *testing.T) {
	t.Run("a wrong round fails the offer", func(t *testing.T) {
		w := newWorld(t)
		id := [32]byte{0xa1}
		w.must(w.apply(solverA, PostOffer{ID: id, Props: gpu, Price: *uint256.NewInt(1), Capacity: 1 << 40}))
		o, _ := w.m.Offer(id)
		leaves := make([]merkle.Hash, MinRounds)
		for i := range leaves {
			leaves[i] = RoundLeaf(o.Seed+1, uint64(i)) // the wrong workload: no round checks
		}
		w.next(1)
		w.must(w.apply(solverA, CommitAttestation{Offer: id, Root: merkle.Root(leaves), Rounds: MinRounds}))
		paths, _ := ProveSamples(leaves, id, w.env.Beacon)
		if _, err := w.apply(solverA, ProveAttestation{Offer: id, Paths: paths}); !errors.Is(err, ErrState) {
			t.Fatalf("proof in the commitment's block: %v", err)
		}
		w.next(1)
		paths, _ = ProveSamples(leaves, id, w.env.Beacon)
		w.must(w.apply(solverA, ProveAttestation{Offer: id, Paths: paths}))
		if o, _ := w.m.Offer(id); o.Status != OfferFailed || w.m.book.Len() != 0 {
			t.Fatalf("status %d, book %d: unverified capacity rests", o.Status, w.m.book.Len())
		}
	})
	t.Run("capacity is what the benchmark showed", func(t *testing.T) {
		w := newWorld(t)
		id := [32]byte{0xa1}
		w.must(w.apply(solverA, PostOffer{ID: id, Props: gpu, Price: *uint256.NewInt(1), Capacity: 1 << 40}))
		o, _ := w.m.Offer(id)
		leaves := make([]merkle.Hash, MinRounds)
		for i := range leaves {
			leaves[i] = RoundLeaf(o.Seed, uint64(i))
		}
		w.next(10)
		w.must(w.apply(solverA, CommitAttestation{Offer: id, Root: merkle.Root(leaves), Rounds: MinRounds}))
		w.next(6)
		paths, _ := ProveSamples(leaves, id, w.env.Beacon)
		w.must(w.apply(solverA, ProveAttestation{Offer: id, Paths: paths}))
		if o, _ := w.m.Offer(id); o.Capacity != MinRounds*BenchGasPerRound/16 {
			t.Fatalf("capacity %d, want %d (claimed %d)", o.Capacity, MinRounds*BenchGasPerRound/16, uint64(1<<40))
		}
	})
}

func TestAssign(t *testing.T) {
	var cands []Candidate
	for i := range 10 {
		cands = append(cands, Candidate{Addr: [20]byte{byte(i)}, Weight: *uint256.NewInt(uint64(1 + 9*(i%2)))})
	}
	exclude := [][20]byte{{0}, {3}}
	counts := map[[20]byte]int{}
	for j := range 20000 {
		got, err := Assign([32]byte{1}, [32]byte{byte(j), byte(j >> 8)}, cands, exclude, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range got {
			if a == exclude[0] || a == exclude[1] {
				t.Fatalf("assigned an excluded identity %x", a[:1])
			}
			for _, b := range got[:i] {
				if a == b {
					t.Fatal("assigned twice")
				}
			}
			counts[a]++
		}
	}
	// Weight 10 versus weight 1: heavy candidates must be drawn far more often.
	if counts[[20]byte{1}] < 3*counts[[20]byte{2}] {
		t.Fatalf("weighting not applied: heavy %d, light %d", counts[[20]byte{1}], counts[[20]byte{2}])
	}
	if _, err := Assign([32]byte{1}, [32]byte{}, cands, exclude, 9); !errors.Is(err, ErrNoCandidates) {
		t.Fatalf("too few candidates: %v", err)
	}
}

// TestRandomOperations runs random transactions against the machine; world.apply checks
// after each that failures changed nothing, that reserved ≤ capacity and reservations equal
// what tasks hold, that paid + refunded = escrowed, and that the ledger conserves tokens.
func TestRandomOperations(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	w := newWorld(t)
	spec := mlpSpec(0)
	est, _ := (&spec).Compile()
	e, _ := EstimateProgram(est, spec.Steps)
	solvers := []stake.Address{solverA, solverB}
	var offers, tasks [][32]byte
	for i := range 6 {
		id := [32]byte{0xc0, byte(i)}
		w.attest(solvers[i%2], id, 1+r.Uint64N(3), e.Units/1000*(1+r.Uint64N(4)), []Props{gpu, refCPU}[r.IntN(2)])
		offers = append(offers, id)
	}
	ok := 0
	for step := range 600 {
		w.next(r.Uint64N(300))
		var sender stake.Address
		var tx Tx
		switch k := r.IntN(8); {
		case k < 2:
			s := mlpSpec(w.env.Time + 2000 + r.Uint64N(20000))
			s.Req.BitExact = r.IntN(3) == 0
			id := [32]byte{0x7a, byte(step), byte(step >> 8)}
			tasks = append(tasks, id)
			sender, tx = submitter, PostTask{ID: id, Mode: Mode(r.IntN(3)), Window: 1 + r.Uint64N(500), Spec: s}
		case k < 4 && len(tasks) > 0:
			i := r.IntN(len(offers))
			o, _ := w.m.Offer(offers[i])
			sender, tx = o.Solver, Bid{Task: tasks[r.IntN(len(tasks))], Offer: offers[i], Price: *uint256.NewInt(1 + r.Uint64N(3))}
		case k < 5 && len(tasks) > 0:
			task, _ := w.m.Task(tasks[r.IntN(len(tasks))])
			if len(task.Bids) > 0 {
				sender, tx = submitter, Accept{Task: task.ID, Offer: task.Bids[r.IntN(len(task.Bids))].Offer}
			} else {
				sender, tx = solverA, CloseAuction{Task: task.ID}
			}
		case k < 6 && len(tasks) > 0:
			task, _ := w.m.Task(tasks[r.IntN(len(tasks))])
			o, _ := w.m.Offer(task.Offer)
			sender, tx = o.Solver, CommitProof{Task: task.ID, Root: [32]byte{1}}
		case k < 7 && len(tasks) > 0:
			sender, tx = settler, Settle{Task: tasks[r.IntN(len(tasks))], Accepted: r.IntN(2) == 0}
		case len(tasks) > 0:
			sender, tx = solverB, Expire{Task: tasks[r.IntN(len(tasks))]}
		default:
			continue
		}
		if _, err := w.apply(sender, tx); err == nil {
			ok++
		}
	}
	t.Logf("%d of 600 transactions succeeded", ok)
	if ok < 50 {
		t.Fatalf("only %d transactions succeeded: the scenario does not exercise the machine", ok)
	}
	roundTrip(t, w.m)
}
