package labeling

import (
	"errors"
	"testing"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

func addr(tag byte, i int) stake.Address {
	var a stake.Address
	a[0], a[18], a[19] = tag, byte(i>>8), byte(i)
	return a
}

var (
	self  = addr(0xf0, 0)
	admin = addr(0xad, 0)
)

func amt(x uint64) uint256.Int { return *uint256.NewInt(x) }

// world is a ledger and a labeling machine, driven by one test.
type world struct {
	t      testing.TB
	ledger *stake.Ledger
	m      *Machine
	now    uint64
}

// newWorld funds admin and accounts 0..n-1 of each tag in tags with each tokens; the ledger
// charges feeBps on escrow releases.
func newWorld(t testing.TB, cfg Config, feeBps uint32, each uint64, tags []byte, n int) *world {
	t.Helper()
	g := stake.Genesis{Params: stake.Params{FeeBps: feeBps}}
	g.Accounts = append(g.Accounts, stake.GenesisAccount{Address: admin, Balance: amt(each)})
	for _, tag := range tags {
		for i := range n {
			g.Accounts = append(g.Accounts, stake.GenesisAccount{Address: addr(tag, i), Balance: amt(each)})
		}
	}
	l, err := stake.New(g)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Self, cfg.Admin = self, admin
	m, err := New(cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, ledger: l, m: m, now: 1_000_000}
}

func (w *world) env() sm.Env { return sm.Env{ChainID: 1, Height: w.now, Time: w.now} }

// apply sends tx through the encoded path (as a chain would), checks that a failure changed
// nothing and that conservation holds either way.
func (w *world) apply(sender stake.Address, tx Tx) ([]sm.Event, error) {
	w.t.Helper()
	payload, err := EncodeTx(tx)
	if err != nil {
		w.t.Fatalf("encode %T: %v", tx, err)
	}
	before, lbefore := w.m.Root(), w.ledger.Root()
	ev, err := w.m.Apply(w.env(), sender, payload)
	if err != nil {
		if w.m.Root() != before || w.ledger.Root() != lbefore {
			w.t.Fatalf("%T failed (%v) but changed the state", tx, err)
		}
		if _, ok := errors.AsType[*TxError](err); !ok && !errors.Is(err, ErrMalformed) {
			w.t.Fatalf("%T: error %v is not a *TxError", tx, err)
		}
	}
	w.conserve()
	return ev, err
}

// must applies tx and fails the test on error.
func (w *world) must(sender stake.Address, tx Tx) []sm.Event {
	w.t.Helper()
	ev, err := w.apply(sender, tx)
	if err != nil {
		w.t.Fatalf("%T: %v", tx, err)
	}
	return ev
}

// conserve checks the vault accounting against the ledger: In = Paid + Refunded + Burned +
// Fees + Held exactly, Held is what the machine's escrows hold, the machine's own account
// keeps nothing, and the ledger's own conservation holds.
func (w *world) conserve() {
	w.t.Helper()
	t := w.m.Totals()
	var sum uint256.Int
	for _, x := range []*uint256.Int{&t.Paid, &t.Refunded, &t.Burned, &t.Fees, &t.Held} {
		sum.Add(&sum, x)
	}
	if !sum.Eq(&t.In) {
		w.t.Fatalf("in %s != paid %s + refunded %s + burned %s + fees %s + held %s",
			t.In.Dec(), t.Paid.Dec(), t.Refunded.Dec(), t.Burned.Dec(), t.Fees.Dec(), t.Held.Dec())
	}
	var held uint256.Int
	for id := uint64(1); ; id++ {
		c, ok := w.m.Campaign(id)
		if !ok {
			break
		}
		if e, ok := w.ledger.Escrow(w.m.VaultID(id)); ok {
			held.Add(&held, &e.Amount)
			if !e.Amount.Eq(&c.Vault) {
				w.t.Fatalf("campaign %d: vault %s, ledger escrow %s", id, c.Vault.Dec(), e.Amount.Dec())
			}
		} else if !c.Vault.IsZero() {
			w.t.Fatalf("campaign %d: vault %s but no escrow", id, c.Vault.Dec())
		}
		for _, p := range w.m.campaigns[id-1].participants {
			if e, ok := w.ledger.Escrow(w.m.BondID(id, p.addr)); ok {
				held.Add(&held, &e.Amount)
			}
		}
	}
	if !held.Eq(&t.Held) {
		w.t.Fatalf("held %s, escrows hold %s", t.Held.Dec(), held.Dec())
	}
	if b := w.ledger.Balance(self); !b.IsZero() {
		w.t.Fatalf("the machine's account keeps %s", b.Dec())
	}
	if err := w.ledger.Check(); err != nil {
		w.t.Fatal(err)
	}
	st, err := w.m.Export()
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.m.decodeState(st); err != nil {
		w.t.Fatalf("export does not decode: %v", err)
	}
}
