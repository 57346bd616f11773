package labeling

import (
	"errors"
	"testing"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
)

// endedCampaign is smallCampaign with three workers and a validator joined (four bond
// escrows), every item labelled, and the clock past the end: Finalize would move tokens out
// of five escrows and burn the slashed part.
func endedCampaign(t *testing.T) *world {
	t.Helper()
	w := smallCampaign(t)
	workers := []stake.Address{addr(tagWorker, 0), addr(tagWorker, 1), addr(tagWorker, 3)}
	for _, a := range workers {
		w.must(a, Join{Campaign: 1})
	}
	w.must(addr(tagValid, 0), Join{Campaign: 1, Validator: true})
	for item := uint32(0); item < 20; item++ {
		for n, a := range workers {
			class := truth(item)
			if n == 2 {
				class = 1 - class // a spammer, slashed at finalization
			}
			w.must(a, Submit{Campaign: 1, Item: item, Class: class})
		}
	}
	w.now += 3600
	return w
}

// TestRejectedTxChangesNothing tampers with the ledger behind the machine's back (as only a
// broken deployment could: the escrows belong to the machine's address) so that a
// transaction's ledger operation fails, the first or a later one, and checks that the
// transaction is refused with the ledger's error and leaves the machine and the ledger
// exactly as they were.
//
// Rationale: the machine checks every operation of a transaction against the ledger entries
// it touches before the first one moves (validate, then apply); if it checked less, the
// "later operation" cases would leave the earlier operations applied and the roots would
// differ.
func TestRejectedTxChangesNothing(t *testing.T) {
	env := func(w *world) sm.Env { return w.env() }
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T) *world
		tamper func(w *world) error
		sender stake.Address
		tx     Tx
		want   error
	}{
		{
			name:  "finalize, the last bond escrow gone (a later operation)",
			setup: endedCampaign,
			tamper: func(w *world) error {
				_, err := w.ledger.ApplyOp(env(w), self, stake.EscrowRefund{ID: w.m.BondID(1, addr(tagValid, 0))})
				return err
			},
			sender: addr(tagClient, 1), tx: Finalize{Campaign: 1}, want: stake.ErrUnknownEscrow,
		},
		{
			name:  "finalize, the spammer's bond short of its slash (a later operation)",
			setup: endedCampaign,
			tamper: func(w *world) error {
				_, err := w.ledger.ApplyOp(env(w), self, release(w.m.BondID(1, addr(tagWorker, 3)), addr(tagWorker, 3), amt(499)))
				return err
			},
			sender: addr(tagClient, 1), tx: Finalize{Campaign: 1}, want: stake.ErrInsufficientFunds,
		},
		{
			name:  "finalize, the vault gone (the first operation)",
			setup: endedCampaign,
			tamper: func(w *world) error {
				_, err := w.ledger.ApplyOp(env(w), self, stake.EscrowRefund{ID: w.m.VaultID(1)})
				return err
			},
			sender: addr(tagClient, 1), tx: Finalize{Campaign: 1}, want: stake.ErrUnknownEscrow,
		},
		{
			name: "burn unclaimed, the vault short",
			setup: func(t *testing.T) *world {
				w := endedCampaign(t)
				w.must(addr(tagClient, 1), Finalize{Campaign: 1})
				w.now += w.m.Config().ClaimWindow
				return w
			},
			tamper: func(w *world) error {
				_, err := w.ledger.ApplyOp(env(w), self, release(w.m.VaultID(1), addr(tagClient, 0), amt(1)))
				return err
			},
			sender: addr(tagClient, 1), tx: BurnUnclaimed{Campaign: 1}, want: stake.ErrInsufficientFunds,
		},
		{
			name: "create campaign, the vault's escrow ID taken",
			setup: func(t *testing.T) *world {
				return smallCampaign(t)
			},
			tamper: func(w *world) error {
				_, err := w.ledger.ApplyOp(env(w), addr(tagClient, 2), stake.EscrowCreate{ID: w.m.VaultID(2), Arbiter: self, Amount: amt(1)})
				return err
			},
			sender: addr(tagClient, 0),
			tx:     CreateCampaign{Items: 4, Classes: 2, LabelsPerItem: 1, Reward: amt(5), Duration: 60},
			want:   stake.ErrEscrowExists,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.setup(t)
			if err := tc.tamper(w); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			root, lroot := w.m.Root(), w.ledger.Root()
			state, _ := w.m.Export()
			_, err := w.m.ApplyTx(w.env(), tc.sender, tc.tx)
			if !errors.Is(err, ErrLedger) || !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want ErrLedger and %v", err, tc.want)
			}
			after, _ := w.m.Export()
			if w.m.Root() != root || w.ledger.Root() != lroot || string(after) != string(state) {
				t.Fatal("the refused transaction changed the state")
			}
		})
	}
}

// breakingLedger is a ledger that breaks its contract: it refuses its failAt-th operation
// although the operation's checks pass.
type breakingLedger struct {
	*stake.Ledger
	n, failAt int
}

func (l *breakingLedger) ApplyOp(env sm.Env, sender stake.Address, op stake.Op) ([]sm.Event, error) {
	l.n++
	if l.n == l.failAt {
		return nil, errors.New("refused for the test")
	}
	return l.Ledger.ApplyOp(env, sender, op)
}

// TestBrokenLedgerReported checks that a ledger refusing an operation its preflight accepted
// (which *stake.Ledger never does) is reported as ErrInvalidState and leaves the machine
// unchanged.
func TestBrokenLedgerReported(t *testing.T) {
	w := endedCampaign(t)
	bl := &breakingLedger{Ledger: w.ledger, failAt: 2}
	m, err := New(w.m.Config(), bl)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := w.m.Export()
	if err := m.Import(st); err != nil {
		t.Fatal(err)
	}
	root := m.Root()
	if _, err := m.ApplyTx(w.env(), addr(tagClient, 1), Finalize{Campaign: 1}); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("error %v, want ErrInvalidState", err)
	}
	if m.Root() != root {
		t.Fatal("the machine changed")
	}
}
