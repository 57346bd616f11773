package chaintest

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// NumKeys is the number of funded keys; each holds Funds at genesis.
const NumKeys = 4

// Funds is each key's genesis balance.
const Funds = 1_000_000

// Harness is one fresh adapter under test.
type Harness struct {
	// Adapter runs a stake.Ledger created by stake.New from the Genesis given to the
	// constructor, under the name stake.Name.
	Adapter chain.Adapter
	// Commit produces a block with the queued transactions. Nil for adapters that produce
	// blocks by themselves.
	Commit func(ctx context.Context) error
}

// Keys returns the suite's funded keys (deterministic, for tests only).
func Keys() []*ecdsa.PrivateKey {
	keys := make([]*ecdsa.PrivateKey, NumKeys)
	for i := range keys {
		k, err := chain.KeyFromSeed(fmt.Sprintf("chaintest/%d", i))
		if err != nil {
			panic(err) // a constant seed: cannot fail
		}
		keys[i] = k
	}
	return keys
}

// Genesis returns the stake genesis the adapter must run: every key of Keys funded with Funds,
// the first key an authority.
func Genesis() stake.Genesis {
	var g stake.Genesis
	for i, k := range Keys() {
		a := stake.Address(chain.KeyAddress(k))
		g.Accounts = append(g.Accounts, stake.GenesisAccount{Address: a, Balance: *uint256.NewInt(Funds)})
		if i == 0 {
			g.Authorities = []stake.Address{a}
		}
	}
	return g
}

// TestAdapter runs the conformance suite. newHarness returns a fresh adapter for each
// subtest, running stake from Genesis(); the suite does not close it (use t.Cleanup).
func TestAdapter(t *testing.T, newHarness func(t *testing.T, g stake.Genesis) Harness) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"Genesis", testGenesis},
		{"Transfer", testTransfer},
		{"RejectedAtSubmit", testRejected},
		{"FailedExecution", testFailedExecution},
		{"Replay", testReplay},
		{"Subscribe", testSubscribe},
		{"Beacon", testBeacon},
		{"Concurrent", testConcurrent},
		{"Wait", testWait},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Genesis())
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			tc.fn(t, &suite{t: t, h: h, a: h.Adapter, ctx: ctx, keys: Keys()})
		})
	}
}

type suite struct {
	t    *testing.T
	h    Harness
	a    chain.Adapter
	ctx  context.Context
	keys []*ecdsa.PrivateKey
}

func (s *suite) addr(i int) chain.Address { return chain.KeyAddress(s.keys[i]) }

// tx signs a stake operation from key i with the adapter's next nonce.
func (s *suite) tx(key *ecdsa.PrivateKey, op stake.Op) chain.SignedTx {
	s.t.Helper()
	p, err := stake.EncodeOp(op)
	if err != nil {
		s.t.Fatal(err)
	}
	n, err := s.a.Nonce(s.ctx, chain.KeyAddress(key))
	if err != nil {
		s.t.Fatal(err)
	}
	return s.sign(key, chain.Tx{ChainID: s.a.ChainID(), Nonce: n, Machine: stake.Name, Payload: p})
}

func (s *suite) sign(key *ecdsa.PrivateKey, tx chain.Tx) chain.SignedTx {
	s.t.Helper()
	st, err := chain.Sign(tx, key)
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

func (s *suite) commit() {
	s.t.Helper()
	if s.h.Commit != nil {
		if err := s.h.Commit(s.ctx); err != nil {
			s.t.Fatal(err)
		}
	}
}

// send submits, commits and waits.
func (s *suite) send(tx chain.SignedTx) chain.Receipt {
	s.t.Helper()
	h, err := s.a.Submit(s.ctx, tx)
	if err != nil {
		s.t.Fatalf("submit: %v", err)
	}
	s.commit()
	r, err := s.a.WaitIncluded(s.ctx, h)
	if err != nil {
		s.t.Fatalf("wait: %v", err)
	}
	if r.Tx != h {
		s.t.Fatalf("receipt for %s, want %s", r.Tx, h)
	}
	return r
}

func (s *suite) account(a chain.Address) stake.Account {
	s.t.Helper()
	b, err := s.a.Query(s.ctx, stake.Name, stake.QueryAccount(stake.Address(a)))
	if err != nil {
		s.t.Fatal(err)
	}
	acc, err := stake.DecodeAccount(b)
	if err != nil {
		s.t.Fatal(err)
	}
	return acc
}

func (s *suite) supply() []byte {
	s.t.Helper()
	b, err := s.a.Query(s.ctx, stake.Name, stake.QuerySupply())
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

func u(x uint64) uint256.Int { return *uint256.NewInt(x) }

func testGenesis(t *testing.T, s *suite) {
	for i := range s.keys {
		if acc := s.account(s.addr(i)); acc.Balance != u(Funds) {
			t.Errorf("key %d holds %s, want %d", i, acc.Balance.Dec(), Funds)
		}
		if n, err := s.a.Nonce(s.ctx, s.addr(i)); err != nil || n != 0 {
			t.Errorf("key %d nonce %d, %v", i, n, err)
		}
	}
	if _, err := s.a.Query(s.ctx, "no-such-machine", nil); !errors.Is(err, chain.ErrUnknownMachine) {
		t.Errorf("query of an unknown machine: %v", err)
	}
	if _, err := s.a.Head(s.ctx); err != nil {
		t.Fatal(err)
	}
}

func testTransfer(t *testing.T, s *suite) {
	before, _ := s.a.Head(s.ctx)
	r := s.send(s.tx(s.keys[0], stake.Transfer{To: stake.Address(s.addr(1)), Amount: u(250)}))
	if r.Err() != nil || r.Sender != s.addr(0) {
		t.Fatalf("receipt %+v", r)
	}
	if len(r.Events) != 1 || r.Events[0].Machine != stake.Name || r.Events[0].Kind != "transfer" || r.Events[0].Tx != r.Tx {
		t.Fatalf("events %+v", r.Events)
	}
	if a, b := s.account(s.addr(0)), s.account(s.addr(1)); a.Balance != u(Funds-250) || b.Balance != u(Funds+250) {
		t.Fatalf("balances %s, %s", a.Balance.Dec(), b.Balance.Dec())
	}
	if n, _ := s.a.Nonce(s.ctx, s.addr(0)); n != 1 {
		t.Errorf("nonce after one transaction: %d", n)
	}
	head, _ := s.a.Head(s.ctx)
	if head.Height <= before.Height || head.Time < before.Time || r.Height > head.Height || r.Height <= before.Height {
		t.Errorf("head %d@%d before %d@%d, receipt at %d", head.Height, head.Time, before.Height, before.Time, r.Height)
	}
	got, err := s.a.Receipt(s.ctx, r.Tx)
	if err != nil || got.Tx != r.Tx || got.Height != r.Height {
		t.Errorf("Receipt = %+v, %v", got, err)
	}
}

func testRejected(t *testing.T, s *suite) {
	supply := s.supply()
	acc := s.account(s.addr(0))
	good := s.tx(s.keys[0], stake.Transfer{To: stake.Address(s.addr(1)), Amount: u(1)})

	wrongChain := good.Tx
	wrongChain.ChainID++
	highS := good
	// s' = n - s: the same signature in its malleable form.
	n, _ := uint256.FromHex("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	var sv uint256.Int
	sv.SetBytes32(good.Sig[32:64])
	sv.Sub(n, &sv)
	b := sv.Bytes32()
	copy(highS.Sig[32:64], b[:])
	highS.Sig[64] ^= 1
	badV := good
	badV.Sig[64] = 7
	zero := good
	zero.Sig = [65]byte{}
	wrongNonce := s.sign(s.keys[0], chain.Tx{ChainID: s.a.ChainID(), Nonce: good.Nonce + 5, Machine: stake.Name, Payload: good.Payload})
	unknown := s.sign(s.keys[0], chain.Tx{ChainID: s.a.ChainID(), Nonce: good.Nonce, Machine: "no-such-machine", Payload: good.Payload})
	badName := good
	badName.Machine = "Bad Name!"

	for _, tc := range []struct {
		name string
		tx   chain.SignedTx
		want error
	}{
		{"wrong chain id", s.sign(s.keys[0], wrongChain), chain.ErrWrongChain},
		{"high s", highS, chain.ErrBadSignature},
		{"bad v", badV, chain.ErrBadSignature},
		{"zero signature", zero, chain.ErrBadSignature},
		{"nonce gap", wrongNonce, chain.ErrNonce},
		{"unknown machine", unknown, chain.ErrUnknownMachine},
		{"malformed machine name", badName, chain.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.a.Submit(s.ctx, tc.tx)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Submit = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := s.a.Submit(s.ctx, s.sign(s.keys[0], wrongChain)); err != nil {
		e, ok := errors.AsType[*chain.ChainIDError](err)
		if !ok || e.Got != s.a.ChainID()+1 || e.Want != s.a.ChainID() {
			t.Errorf("wrong chain: %T %v", err, err)
		}
	}
	if _, err := s.a.Submit(s.ctx, wrongNonce); err != nil {
		e, ok := errors.AsType[*chain.NonceError](err)
		if !ok || e.Want != good.Nonce || e.Got != good.Nonce+5 || e.Sender != s.addr(0) {
			t.Errorf("nonce gap: %T %v", err, err)
		}
	}
	s.commit()
	if n, _ := s.a.Nonce(s.ctx, s.addr(0)); n != good.Nonce {
		t.Errorf("rejected transactions moved the nonce to %d", n)
	}
	if got := s.account(s.addr(0)); got.Balance != acc.Balance {
		t.Errorf("rejected transactions changed the balance")
	}
	if got := s.supply(); string(got) != string(supply) {
		t.Errorf("rejected transactions changed the supply")
	}
	// A tampered payload recovers another address (which holds nothing): never the signer.
	tampered := good
	tampered.Payload = append([]byte(nil), good.Payload...)
	tampered.Payload[len(tampered.Payload)-1] ^= 1
	if h, err := s.a.Submit(s.ctx, tampered); err == nil {
		s.commit()
		r, err := s.a.WaitIncluded(s.ctx, h)
		if err != nil || r.Sender == s.addr(0) || r.Status != chain.Failed {
			t.Errorf("tampered transaction: %+v, %v", r, err)
		}
	}
	if got := s.account(s.addr(0)); got.Balance != acc.Balance {
		t.Errorf("a tampered transaction changed the signer's balance")
	}
}

func testFailedExecution(t *testing.T, s *suite) {
	stranger, err := chain.KeyFromSeed("chaintest/stranger")
	if err != nil {
		t.Fatal(err)
	}
	supply := s.supply()
	for _, tc := range []struct {
		name   string
		key    *ecdsa.PrivateKey
		op     stake.Op
		reason error
	}{
		{"over balance", s.keys[1], stake.Transfer{To: stake.Address(s.addr(2)), Amount: u(Funds + 1)}, stake.ErrInsufficientFunds},
		{"unknown account", stranger, stake.Transfer{To: stake.Address(s.addr(2)), Amount: u(1)}, stake.ErrUnknownAccount},
		{"not authorized", s.keys[1], stake.Slash{Target: stake.Address(s.addr(2)), Num: 1, Den: 2}, stake.ErrNotAuthorized},
		{"unknown escrow", s.keys[1], stake.EscrowRefund{ID: [32]byte{9}}, stake.ErrUnknownEscrow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.account(s.addr(1))
			r := s.send(s.tx(tc.key, tc.op))
			err := r.Err()
			if !errors.Is(err, chain.ErrExecution) || r.Status != chain.Failed || len(r.Events) != 0 {
				t.Fatalf("receipt %+v", r)
			}
			if e, ok := errors.AsType[*chain.ExecError](err); !ok || e.Reason == "" || e.Reason != r.Reason {
				t.Fatalf("Err() = %v", err)
			}
			// The machine's sentinel text appears in the reason.
			if want := tc.reason.Error(); !contains(r.Reason, want) {
				t.Errorf("reason %q lacks %q", r.Reason, want)
			}
			if after := s.account(s.addr(1)); after.Balance != before.Balance {
				t.Errorf("a failed transaction changed a balance")
			}
			if n, _ := s.a.Nonce(s.ctx, chain.KeyAddress(tc.key)); n == 0 {
				t.Errorf("a failed transaction did not spend its nonce")
			}
		})
	}
	// Malformed payloads are included and fail the same way.
	n, _ := s.a.Nonce(s.ctx, s.addr(2))
	r := s.send(s.sign(s.keys[2], chain.Tx{ChainID: s.a.ChainID(), Nonce: n, Machine: stake.Name, Payload: []byte{1, 99, 0}}))
	if r.Status != chain.Failed || !contains(r.Reason, stake.ErrMalformed.Error()) {
		t.Errorf("malformed payload: %+v", r)
	}
	if got := s.supply(); string(got) != string(supply) {
		t.Errorf("failed transactions changed the supply")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func testReplay(t *testing.T, s *suite) {
	tx := s.tx(s.keys[0], stake.Transfer{To: stake.Address(s.addr(3)), Amount: u(7)})
	s.send(tx)
	if _, err := s.a.Submit(s.ctx, tx); !errors.Is(err, chain.ErrNonce) {
		t.Fatalf("replayed transaction: %v", err)
	}
	if acc := s.account(s.addr(3)); acc.Balance != u(Funds+7) {
		t.Fatalf("balance %s", acc.Balance.Dec())
	}
}

func testSubscribe(t *testing.T, s *suite) {
	ctx, cancel := context.WithCancel(s.ctx)
	ch, err := s.a.Subscribe(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []chain.Hash
	for i := range 3 {
		r := s.send(s.tx(s.keys[i], stake.Bond{Amount: u(uint64(10 + i))}))
		want = append(want, r.Tx)
	}
	for i, h := range want {
		select {
		case n, ok := <-ch:
			if !ok || n.Err != nil {
				t.Fatalf("stream ended: %v", n.Err)
			}
			if n.Event.Tx != h || n.Event.Kind != "bond" || n.Event.Machine != stake.Name {
				t.Fatalf("event %d: %+v, want bond of %s", i, n.Event, h)
			}
		case <-s.ctx.Done():
			t.Fatal("no event")
		}
	}
	cancel()
	for range ch { // the producer closes the channel once ctx ends
	}
	// A late subscriber from the first block sees the same history.
	ctx2, cancel2 := context.WithCancel(s.ctx)
	defer cancel2()
	ch2, err := s.a.Subscribe(ctx2, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range want {
		n := <-ch2
		if n.Err != nil || n.Event.Tx != h {
			t.Fatalf("replayed event %d: %+v", i, n)
		}
	}
}

func testBeacon(t *testing.T, s *suite) {
	r := s.send(s.tx(s.keys[0], stake.Bond{Amount: u(1)}))
	head, err := s.a.Head(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Beacon(s.ctx, head.Height+1000); !errors.Is(err, chain.ErrFuture) {
		t.Fatalf("beacon of a future block: %v", err)
	}
	b1, err := s.a.Beacon(s.ctx, r.Height)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := s.a.Beacon(s.ctx, r.Height)
	prev, _ := s.a.Beacon(s.ctx, r.Height-1)
	if b1 != b2 || b1 == prev || b1 == (chain.Hash{}) {
		t.Fatalf("beacons %s %s %s", prev, b1, b2)
	}
	hdr, err := s.a.HeaderAt(s.ctx, r.Height)
	if err != nil || hdr.Height != r.Height {
		t.Fatalf("HeaderAt = %+v, %v", hdr, err)
	}
}

func testConcurrent(t *testing.T, s *suite) {
	const each = 25
	var wg sync.WaitGroup
	errs := make(chan error, len(s.keys))
	hashes := make([][]chain.Hash, len(s.keys))
	for i, key := range s.keys {
		wg.Go(func() {
			to := stake.Address(s.addr((i + 1) % len(s.keys)))
			for j := range each {
				p, _ := stake.EncodeOp(stake.Transfer{To: to, Amount: u(uint64(j + 1))})
				tx, err := chain.Sign(chain.Tx{ChainID: s.a.ChainID(), Nonce: uint64(j), Machine: stake.Name, Payload: p}, key)
				if err == nil {
					var h chain.Hash
					h, err = s.a.Submit(s.ctx, tx)
					hashes[i] = append(hashes[i], h)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s.commit()
	for i := range hashes {
		for j, h := range hashes[i] {
			r, err := s.a.WaitIncluded(s.ctx, h)
			if err != nil || r.Err() != nil {
				t.Fatalf("key %d tx %d: %+v %v", i, j, r, err)
			}
		}
		if n, _ := s.a.Nonce(s.ctx, s.addr(i)); n != each {
			t.Errorf("key %d nonce %d", i, n)
		}
	}
	// Everyone sent and received 1+…+25: balances are back where they started.
	for i := range s.keys {
		if acc := s.account(s.addr(i)); acc.Balance != u(Funds) {
			t.Errorf("key %d holds %s", i, acc.Balance.Dec())
		}
	}
}

func testWait(t *testing.T, s *suite) {
	if _, err := s.a.WaitIncluded(s.ctx, chain.Hash{1, 2, 3}); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("waiting for an unknown transaction: %v", err)
	}
	if _, err := s.a.Receipt(s.ctx, chain.Hash{1, 2, 3}); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("receipt of an unknown transaction: %v", err)
	}
	if s.h.Commit == nil {
		return // blocks come by themselves: nothing stays pending on demand
	}
	h, err := s.a.Submit(s.ctx, s.tx(s.keys[0], stake.Bond{Amount: u(3)}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Receipt(s.ctx, h); !errors.Is(err, chain.ErrPending) {
		t.Errorf("receipt of a queued transaction: %v", err)
	}
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.a.WaitIncluded(ctx, h); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting past the deadline: %v", err)
	}
	s.commit()
	if r, err := s.a.WaitIncluded(s.ctx, h); err != nil || r.Err() != nil {
		t.Errorf("after commit: %+v %v", r, err)
	}
}
