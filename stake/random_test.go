package stake

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/deai-go/deai/chain/sm"
	"github.com/holiman/uint256"
)

// world drives a ledger with random operations from a seeded generator.
type world struct {
	r     *rand.Rand
	l     *Ledger
	addrs []Address // addrs[0] is the authority
	ids   [][32]byte
	now   uint64
}

func addr(i int) Address {
	// Spread over 6 buckets of 2 mids of the root's tree, several accounts per bucket.
	var a Address
	a[0] = 0xa0 + byte(i%2)
	a[1] = byte(i % 3)
	a[19] = byte(i)
	a[18] = byte(i >> 8)
	return a
}

func u(x uint64) uint256.Int { return *uint256.NewInt(x) }

func newWorld(t testing.TB, seed uint64, naddr int, each uint256.Int) *world {
	t.Helper()
	g := Genesis{
		Params:      Params{UnbondingPeriod: 100, MaxUnbondingEntries: 4, FeeBps: 250},
		Authorities: []Address{addr(0)},
		Treasuries:  []GenesisTreasury{{Name: TreasuryJackpot, Amount: each}},
	}
	w := &world{r: rand.New(rand.NewPCG(seed, 0x5eed)), now: 1_000}
	for i := range naddr {
		w.addrs = append(w.addrs, addr(i))
		g.Accounts = append(g.Accounts, GenesisAccount{Address: addr(i), Balance: each})
	}
	l, err := New(g)
	if err != nil {
		t.Fatal(err)
	}
	w.l = l
	for i := range 8 {
		var id [32]byte
		id[0], id[1], id[31] = 0xe5, byte(i%3), byte(i)
		w.ids = append(w.ids, id)
	}
	return w
}

// amount returns a random amount relative to ref: mostly a fraction of it, sometimes more
// than it, sometimes zero or huge.
func (w *world) amount(ref uint256.Int) uint256.Int {
	switch k := w.r.IntN(16); {
	case k == 0:
		return uint256.Int{}
	case k == 1:
		var x uint256.Int
		return *x.SetAllOne()
	case k == 2:
		var x uint256.Int
		x.AddUint64(&ref, 1+w.r.Uint64N(100))
		return x
	case k == 3:
		return ref
	default:
		if ref.IsZero() {
			return u(1 + w.r.Uint64N(10))
		}
		d := uint256.NewInt(1 + w.r.Uint64N(16))
		var x uint256.Int
		x.Div(&ref, d)
		if x.IsZero() {
			x.SetOne()
		}
		return x
	}
}

func (w *world) pick() Address { return w.addrs[w.r.IntN(len(w.addrs))] }

// op returns a random sender and operation.
func (w *world) op() (Address, Op) {
	from := w.pick()
	acc := w.l.Account(from)
	switch w.r.IntN(13) {
	case 0, 1, 2:
		return from, Transfer{To: w.pick(), Amount: w.amount(acc.Balance)}
	case 3:
		return from, Bond{Amount: w.amount(acc.Balance)}
	case 4:
		return from, Unbond{Amount: w.amount(acc.Bonded)}
	case 5:
		return from, Withdraw{}
	case 6:
		if w.r.IntN(4) == 0 {
			return from, Burn{Amount: w.amount(acc.Balance)}
		}
		return from, Fund{Treasury: []string{TreasuryJackpot, "fees"}[w.r.IntN(2)], Amount: w.amount(acc.Balance)}
	case 7:
		return from, EscrowCreate{ID: w.ids[w.r.IntN(len(w.ids))], Arbiter: w.pick(), Amount: w.amount(acc.Balance)}
	case 8:
		id := w.ids[w.r.IntN(len(w.ids))]
		e, ok := w.l.Escrow(id)
		if ok && w.r.IntN(4) != 0 {
			from = e.Arbiter
		}
		n := 1 + w.r.IntN(3)
		ps := make([]PayTo, n)
		for i := range ps {
			var share uint256.Int
			share.Div(&e.Amount, uint256.NewInt(uint64(n)))
			ps[i] = PayTo{To: w.pick(), Amount: w.amount(share)}
		}
		return from, EscrowRelease{ID: id, Payouts: ps}
	case 9:
		id := w.ids[w.r.IntN(len(w.ids))]
		if e, ok := w.l.Escrow(id); ok && w.r.IntN(4) != 0 {
			from = e.Arbiter
		}
		return from, EscrowRefund{ID: id}
	case 10:
		if w.r.IntN(8) != 0 {
			from = w.addrs[0]
		}
		den := 1 + w.r.Uint64N(1000)
		if w.r.IntN(8) == 0 {
			den = ^uint64(0) - w.r.Uint64N(3)
		}
		num := 1 + w.r.Uint64N(den)
		if w.r.IntN(16) == 0 {
			num = den + 1
		}
		tr := []string{"", TreasuryJackpot, "fees"}[w.r.IntN(3)]
		return from, Slash{Target: w.pick(), Num: num, Den: den, Since: w.now - w.r.Uint64N(300),
			Beneficiary: w.pick(), RewardBps: uint32(w.r.IntN(10001)), Treasury: tr}
	default:
		if w.r.IntN(8) != 0 {
			from = w.addrs[0]
		}
		tr := []string{TreasuryJackpot, TreasuryDust, "fees"}[w.r.IntN(3)]
		n := 1 + w.r.IntN(5)
		rs := make([]Share, n)
		for i := range rs {
			rs[i] = Share{To: w.pick(), Weight: w.r.Uint64N(7)}
			if w.r.IntN(8) == 0 {
				rs[i].Weight = ^uint64(0) - w.r.Uint64N(5)
			}
		}
		return from, Payout{Treasury: tr, Total: w.amount(w.l.Treasury(tr)), Recipients: rs}
	}
}

// step applies one random operation and advances time now and then.
func (w *world) step() (Address, Op, []sm.Event, error) {
	if w.r.IntN(8) == 0 {
		w.now += w.r.Uint64N(60)
	}
	from, op := w.op()
	ev, err := w.l.ApplyOp(sm.Env{Height: 1, Time: w.now}, from, op)
	return from, op, ev, err
}

// TestConservation applies random operations, including failing and adversarial ones, and
// checks conservation after every one and that every failing one left the state unchanged.
// Rationale: tokens are never created or lost; any bug in arithmetic or bookkeeping breaks
// the sum. 20 seeds × 1,000,000 operations (20 × 10,000 with -short).
func TestConservation(t *testing.T) {
	ops, rootEvery := 1_000_000, 997
	if testing.Short() {
		ops, rootEvery = 10_000, 31
	}
	for seed := range uint64(20) {
		t.Run("seed"+string(rune('A'+seed)), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, seed, 10, u(1_000_000))
			var before []byte
			kinds := map[string]int{}
			fails := map[error]int{}
			for i := range ops {
				checkUnchanged := i%8 == 0
				if checkUnchanged {
					before = w.l.export()
				}
				_, op, ev, err := w.step()
				if err != nil {
					fails[sentinel(err)]++
					if checkUnchanged && !bytes.Equal(before, w.l.export()) {
						t.Fatalf("op %d %#v failed (%v) but changed the state", i, op, err)
					}
				} else {
					if len(ev) == 0 {
						t.Fatalf("op %d %#v: no event", i, op)
					}
					for _, e := range ev {
						kinds[e.Kind]++
					}
				}
				if err := w.l.Check(); err != nil {
					t.Fatalf("op %d %#v: %v", i, op, err)
				}
				if i%rootEvery == 0 {
					checkRoot(t, w.l)
				}
			}
			t.Logf("events %v errors %v", kinds, fails)
			if len(kinds) < 12 {
				t.Errorf("only %d event kinds seen: %v", len(kinds), kinds)
			}
			if len(fails) < 8 {
				t.Errorf("only %d error kinds seen: %v", len(fails), fails)
			}
		})
	}
}

// checkRoot compares the incrementally maintained root with one computed from scratch by a
// ledger imported from the export.
func checkRoot(t *testing.T, l *Ledger) {
	t.Helper()
	fresh, err := Open(l.export())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Root(), fresh.Root(); got != want {
		t.Fatalf("incremental root %x != root from scratch %x", got, want)
	}
}

func sentinel(err error) error {
	for _, s := range []error{ErrInsufficientFunds, ErrUnknownAccount, ErrUnknownEscrow, ErrEscrowExists,
		ErrNotAuthorized, ErrZeroAmount, ErrInvalidFraction, ErrNothingToWithdraw, ErrTooManyUnbonding,
		ErrInvalidPayout, ErrMalformed, ErrOverflow, ErrInvalidState} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

// TestReplay checks determinism: the encoded log of a random run, replayed from genesis
// through Apply, gives the identical root; export then import gives identical bytes and root.
func TestReplay(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	w := newWorld(t, 42, 10, u(1_000_000))
	type entry struct {
		env     sm.Env
		from    Address
		payload []byte
	}
	var log []entry
	for range n {
		if w.r.IntN(8) == 0 {
			w.now += w.r.Uint64N(60)
		}
		from, op := w.op()
		p, err := EncodeOp(op)
		if err != nil {
			continue // an invalid treasury name never reaches the chain
		}
		env := sm.Env{Height: 1, Time: w.now}
		w.l.Apply(env, from, p)
		log = append(log, entry{env, from, p})
	}
	replay := newWorld(t, 0, 10, u(1_000_000)).l
	for _, e := range log {
		replay.Apply(e.env, e.from, e.payload)
	}
	if replay.Root() != w.l.Root() {
		t.Fatalf("replayed root %x != original %x", replay.Root(), w.l.Root())
	}
	exp, _ := w.l.Export()
	imp, err := Open(exp)
	if err != nil {
		t.Fatal(err)
	}
	exp2, _ := imp.Export()
	if !bytes.Equal(exp, exp2) || imp.Root() != w.l.Root() {
		t.Fatal("export/import changed the state")
	}
	var other Ledger
	if err := other.Import(exp); err != nil || other.Root() != w.l.Root() {
		t.Fatalf("Import: %v", err)
	}
}
