package embedded

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/chain/chaintest"
	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

func transfer(t *testing.T, c *Chain, from int, to int, amt uint64) chain.Hash {
	t.Helper()
	keys := chaintest.Keys()
	p, _ := stake.EncodeOp(stake.Transfer{To: stake.Address(chain.KeyAddress(keys[to])), Amount: *uint256.NewInt(amt)})
	n, _ := c.Nonce(t.Context(), chain.KeyAddress(keys[from]))
	tx, err := chain.Sign(chain.Tx{ChainID: c.ChainID(), Nonce: n, Machine: stake.Name, Payload: p}, keys[from])
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Submit(t.Context(), tx)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestReopen commits blocks across several snapshots, reopens, and checks that state, nonces,
// receipts, headers and event history all survive.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	ctx := t.Context()
	open := func() (*Chain, *stake.Ledger) {
		l := newLedger(t, chaintest.Genesis())
		c, err := Open(Config{Path: path, Machines: []sm.Machine{l}, SnapshotInterval: 4})
		if err != nil {
			t.Fatal(err)
		}
		return c, l
	}
	c, l := open()
	var hashes []chain.Hash
	for i := range recentBlocks + 10 {
		hashes = append(hashes, transfer(t, c, i%4, (i+1)%4, uint64(i+1)))
		if _, err := c.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	head, _ := c.Head(ctx)
	root := l.Root()
	c.Close()
	if _, err := c.Submit(ctx, chain.SignedTx{}); !errors.Is(err, chain.ErrClosed) && !errors.Is(err, chain.ErrWrongChain) {
		t.Errorf("submit after close: %v", err)
	}

	c, l = open()
	defer c.Close()
	if h2, _ := c.Head(ctx); h2 != head || l.Root() != root {
		t.Fatalf("head %+v != %+v or root changed", h2, head)
	}
	for i, h := range hashes {
		r, err := c.Receipt(ctx, h)
		if err != nil || r.Err() != nil || r.Height != uint64(i+1) {
			t.Fatalf("receipt %d: %+v %v", i, r, err)
		}
	}
	if n, _ := c.Nonce(ctx, chain.KeyAddress(chaintest.Keys()[0])); n != uint64((recentBlocks+10+3)/4) {
		t.Errorf("nonce after reopen %d", n)
	}
	sub, cancel := context.WithCancel(ctx)
	ch, err := c.Subscribe(sub, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range hashes {
		n := <-ch
		if n.Err != nil || n.Event.Tx != hashes[i] || n.Event.Height != uint64(i+1) {
			t.Fatalf("event %d: %+v", i, n)
		}
	}
	cancel()
	for range ch {
	}
	// The chain keeps going after a reopen.
	h := transfer(t, c, 0, 1, 5)
	c.Commit(ctx)
	if r, err := c.WaitIncluded(ctx, h); err != nil || r.Height != head.Height+1 {
		t.Fatalf("after reopen: %+v %v", r, err)
	}
}

func TestGenesisMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	c, err := Open(Config{Path: path, Machines: []sm.Machine{newLedger(t, chaintest.Genesis())}})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	g := chaintest.Genesis()
	g.Accounts[0].Balance = *uint256.NewInt(1)
	if _, err := Open(Config{Path: path, Machines: []sm.Machine{newLedger(t, g)}}); !errors.Is(err, ErrGenesisMismatch) {
		t.Errorf("other genesis: %v", err)
	}
	if _, err := Open(Config{Path: path, ChainID: 5, Machines: []sm.Machine{newLedger(t, chaintest.Genesis())}}); !errors.Is(err, ErrGenesisMismatch) {
		t.Errorf("other chain id: %v", err)
	}
}

// TestAdjustTime checks that chain time follows the injected clock plus AdjustTime, never
// decreases, and reaches the machines: unbonding matures after the period.
func TestAdjustTime(t *testing.T) {
	ctx := t.Context()
	now := time.Unix(1_000_000, 0)
	g := chaintest.Genesis()
	g.Params.UnbondingPeriod = 3600
	c, err := Open(Config{Machines: []sm.Machine{newLedger(t, g)}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key := chaintest.Keys()[1]
	send := func(op stake.Op) chain.Receipt {
		p, _ := stake.EncodeOp(op)
		n, _ := c.Nonce(ctx, chain.KeyAddress(key))
		tx, _ := chain.Sign(chain.Tx{ChainID: c.ChainID(), Nonce: n, Machine: stake.Name, Payload: p}, key)
		h, err := c.Submit(ctx, tx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		r, _ := c.Receipt(ctx, h)
		return r
	}
	send(stake.Bond{Amount: *uint256.NewInt(100)})
	send(stake.Unbond{Amount: *uint256.NewInt(100)})
	c.AdjustTime(3599 * time.Second)
	if r := send(stake.Withdraw{}); !strings.Contains(r.Reason, stake.ErrNothingToWithdraw.Error()) {
		t.Fatalf("withdraw before maturity: %+v", r)
	}
	c.AdjustTime(time.Second)
	if r := send(stake.Withdraw{}); r.Err() != nil {
		t.Fatalf("withdraw at maturity: %v", r.Err())
	}
	head, _ := c.Head(ctx)
	if head.Time != 1_003_600 {
		t.Errorf("head time %d", head.Time)
	}
	c.AdjustTime(-time.Hour * 5)
	hdr, _ := c.Commit(ctx)
	if hdr.Time != head.Time {
		t.Errorf("time went back: %d after %d", hdr.Time, head.Time)
	}
}

func TestConfigValidate(t *testing.T) {
	l := newLedger(t, chaintest.Genesis())
	err := Config{Machines: []sm.Machine{l, l, nil}, BlockInterval: -1, MaxPending: -1}.Validate()
	for _, want := range []string{"twice", "nil", "block interval", "max pending"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want %q named", err, want)
		}
	}
	if _, err := Open(Config{Machines: []sm.Machine{l, l}}); err == nil {
		t.Error("Open accepted an invalid config")
	}
}

func TestMempoolFull(t *testing.T) {
	c, err := Open(Config{Machines: []sm.Machine{newLedger(t, chaintest.Genesis())}, MaxPending: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	transfer(t, c, 0, 1, 1)
	keys := chaintest.Keys()
	p, _ := stake.EncodeOp(stake.Bond{Amount: *uint256.NewInt(1)})
	tx, _ := chain.Sign(chain.Tx{ChainID: c.ChainID(), Nonce: 0, Machine: stake.Name, Payload: p}, keys[1])
	if _, err := c.Submit(t.Context(), tx); !errors.Is(err, chain.ErrMempoolFull) {
		t.Fatalf("second submit: %v", err)
	}
}
