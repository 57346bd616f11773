package stake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-go/deai/chain/sm"
	"github.com/holiman/uint256"
)

var rewrite = flag.Bool("rewrite", false, "rewrite golden files in testdata")

var (
	alice  = addr(1)
	bob    = addr(2)
	carol  = addr(3)
	judge  = addr(9) // authority
	nobody = addr(77)
)

func genesis(t testing.TB) *Ledger {
	t.Helper()
	l, err := New(Genesis{
		Params:      Params{UnbondingPeriod: 100, MaxUnbondingEntries: 3, FeeBps: 100},
		Accounts:    []GenesisAccount{{alice, u(1000)}, {bob, u(500)}},
		Treasuries:  []GenesisTreasury{{TreasuryJackpot, u(300)}},
		Authorities: []Address{judge},
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func env(time uint64) sm.Env { return sm.Env{ChainID: 1, Height: 1, Time: time} }

func mustApply(t *testing.T, l *Ledger, time uint64, from Address, op Op) []sm.Event {
	t.Helper()
	ev, err := l.ApplyOp(env(time), from, op)
	if err != nil {
		t.Fatalf("%#v: %v", op, err)
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	return ev
}

func id(b byte) [32]byte { return [32]byte{b} }

// TestErrors checks that bad operations fail with the right sentinel and change nothing.
func TestErrors(t *testing.T) {
	setup := func(t *testing.T) *Ledger {
		l := genesis(t)
		mustApply(t, l, 10, alice, Bond{u(100)})
		mustApply(t, l, 10, alice, EscrowCreate{ID: id(1), Arbiter: carol, Amount: u(50)})
		return l
	}
	for _, tc := range []struct {
		name string
		from Address
		op   Op
		want error
	}{
		{"transfer over balance", bob, Transfer{alice, u(501)}, ErrInsufficientFunds},
		{"transfer from unknown", nobody, Transfer{alice, u(1)}, ErrUnknownAccount},
		{"transfer zero", bob, Transfer{alice, u(0)}, ErrZeroAmount},
		{"bond over balance", bob, Bond{u(501)}, ErrInsufficientFunds},
		{"unbond over bond", alice, Unbond{u(101)}, ErrInsufficientFunds},
		{"unbond unknown", nobody, Unbond{u(1)}, ErrUnknownAccount},
		{"withdraw nothing", alice, Withdraw{}, ErrNothingToWithdraw},
		{"burn over balance", bob, Burn{u(501)}, ErrInsufficientFunds},
		{"fund bad name", bob, Fund{"Bad Name", u(1)}, ErrMalformed},
		{"escrow exists", bob, EscrowCreate{ID: id(1), Arbiter: carol, Amount: u(1)}, ErrEscrowExists},
		{"release unknown", carol, EscrowRelease{ID: id(2), Payouts: []PayTo{{bob, u(1)}}}, ErrUnknownEscrow},
		{"release not arbiter", alice, EscrowRelease{ID: id(1), Payouts: []PayTo{{alice, u(1)}}}, ErrNotAuthorized},
		{"release over escrow", carol, EscrowRelease{ID: id(1), Payouts: []PayTo{{bob, u(30)}, {bob, u(21)}}}, ErrInsufficientFunds},
		{"release overflowing sum", carol, EscrowRelease{ID: id(1), Payouts: []PayTo{{bob, max256()}, {bob, u(1)}}}, ErrInsufficientFunds},
		{"release none", carol, EscrowRelease{ID: id(1)}, ErrInvalidPayout},
		{"release zero", carol, EscrowRelease{ID: id(1), Payouts: []PayTo{{bob, u(0)}}}, ErrZeroAmount},
		{"refund not arbiter", alice, EscrowRefund{ID: id(1)}, ErrNotAuthorized},
		{"slash not authority", bob, Slash{Target: alice, Num: 1, Den: 2}, ErrNotAuthorized},
		{"slash zero den", judge, Slash{Target: alice, Num: 1, Den: 0}, ErrInvalidFraction},
		{"slash over one", judge, Slash{Target: alice, Num: 3, Den: 2}, ErrInvalidFraction},
		{"slash reward over 100%", judge, Slash{Target: alice, Num: 1, Den: 2, RewardBps: 10001}, ErrInvalidFraction},
		{"slash nothing bonded", judge, Slash{Target: bob, Num: 1, Den: 2}, ErrInsufficientFunds},
		{"slash unknown", judge, Slash{Target: nobody, Num: 1, Den: 2}, ErrUnknownAccount},
		{"payout not authority", alice, Payout{TreasuryJackpot, u(1), []Share{{bob, 1}}}, ErrNotAuthorized},
		{"payout over treasury", judge, Payout{TreasuryJackpot, u(301), []Share{{bob, 1}}}, ErrInsufficientFunds},
		{"payout zero weights", judge, Payout{TreasuryJackpot, u(1), []Share{{bob, 0}}}, ErrInvalidPayout},
		{"payout empty", judge, Payout{TreasuryJackpot, u(1), nil}, ErrInvalidPayout},
		{"payout zero", judge, Payout{TreasuryJackpot, u(0), []Share{{bob, 1}}}, ErrZeroAmount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := setup(t)
			before, _ := l.Export()
			root := l.Root()
			_, err := l.ApplyOp(env(20), tc.from, tc.op)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "stake: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			after, _ := l.Export()
			if !bytes.Equal(before, after) || l.Root() != root {
				t.Fatal("state changed")
			}
		})
	}
}

func max256() uint256.Int {
	var x uint256.Int
	return *x.SetAllOne()
}

func TestInsufficientFundsError(t *testing.T) {
	l := genesis(t)
	_, err := l.ApplyOp(env(1), bob, Transfer{alice, u(700)})
	e, ok := errors.AsType[*InsufficientFundsError](err)
	if !ok {
		t.Fatalf("err = %T %v, want *InsufficientFundsError", err, err)
	}
	if e.Account != bob || e.Source != "balance" || e.Have != u(500) || e.Need != u(700) {
		t.Errorf("error fields %+v", e)
	}
}

func TestTooManyUnbonding(t *testing.T) {
	l := genesis(t)
	mustApply(t, l, 10, alice, Bond{u(100)})
	mustApply(t, l, 10, alice, Unbond{u(1)})
	mustApply(t, l, 10, alice, Unbond{u(1)}) // same time: merges
	mustApply(t, l, 11, alice, Unbond{u(1)})
	mustApply(t, l, 5, alice, Unbond{u(1)}) // earlier than the others: sorted in front
	if _, err := l.ApplyOp(env(12), alice, Unbond{u(1)}); !errors.Is(err, ErrTooManyUnbonding) {
		t.Fatalf("err = %v", err)
	}
	if got := l.Account(alice).Unbonding; len(got) != 3 || got[1].Amount != u(2) || got[0].Start != 5 {
		t.Fatalf("entries %+v", got)
	}
}

func TestUnbondWithdraw(t *testing.T) {
	l := genesis(t)
	mustApply(t, l, 10, alice, Bond{u(100)})
	mustApply(t, l, 10, alice, Unbond{u(40)})
	mustApply(t, l, 50, alice, Unbond{u(10)})
	if _, err := l.ApplyOp(env(109), alice, Withdraw{}); !errors.Is(err, ErrNothingToWithdraw) {
		t.Fatalf("withdraw before maturity: %v", err)
	}
	ev := mustApply(t, l, 110, alice, Withdraw{})
	if a := l.Account(alice); a.Balance != u(940) || a.Bonded != u(50) || len(a.Unbonding) != 1 {
		t.Fatalf("account %+v", a)
	}
	if ev[0].Kind != "withdraw" || !bytes.Equal(ev[0].Data, evAddrAmt(alice, ptr(u(40)))) {
		t.Fatalf("event %+v", ev[0])
	}
	mustApply(t, l, 1000, alice, Withdraw{})
	if a := l.Account(alice); a.Balance != u(950) || a.Unbonding != nil {
		t.Fatalf("account %+v", a)
	}
}

func ptr(x uint256.Int) *uint256.Int { return &x }

// TestEscrow follows a task budget: escrowed, partly released with fees to the jackpot,
// refunded.
func TestEscrow(t *testing.T) {
	l := genesis(t)
	mustApply(t, l, 1, alice, EscrowCreate{ID: id(7), Arbiter: carol, Amount: u(301)})
	ev := mustApply(t, l, 2, carol, EscrowRelease{ID: id(7), Payouts: []PayTo{{bob, u(150)}, {carol, u(1)}}})
	// fee on 150 at 1%: 1.5 rounds up to 2; on 1: 0.01 rounds up to 1.
	if got := l.Balance(bob); got != u(500+148) {
		t.Errorf("bob %s", got.Dec())
	}
	if got := l.Balance(carol); got != u(0) {
		t.Errorf("carol %s", got.Dec())
	}
	if got := l.Treasury(TreasuryJackpot); got != u(303) {
		t.Errorf("jackpot %s", got.Dec())
	}
	if len(ev) != 2 {
		t.Fatalf("events %v", ev)
	}
	mustApply(t, l, 3, carol, EscrowRefund{ID: id(7)})
	if got := l.Balance(alice); got != u(1000-301+150) {
		t.Errorf("alice %s", got.Dec())
	}
	if _, ok := l.Escrow(id(7)); ok {
		t.Error("escrow survives its refund")
	}
}

// TestSlashReachesUnbonding is the Cosmos SDK pitfall: stake that started unbonding after the
// offence was bonded when it was committed and must be slashed; stake that left before the
// offence must not be. Rationale: otherwise an offender escapes by unbonding right after.
func TestSlashReachesUnbonding(t *testing.T) {
	l := genesis(t)
	mustApply(t, l, 5, alice, Bond{u(1000)})
	mustApply(t, l, 5, alice, Unbond{u(100)}) // before the offence at 10
	mustApply(t, l, 20, alice, Unbond{u(301)})
	mustApply(t, l, 30, alice, Unbond{u(299)})
	ev := mustApply(t, l, 40, judge, Slash{Target: alice, Num: 1, Den: 3, Since: 10, Beneficiary: bob, RewardBps: 5000})
	a := l.Account(alice)
	// bond 300 → cut 100; 301 → ceil(100.33) = 101; 299 → ceil(99.67) = 100; 100 untouched.
	if a.Bonded != u(200) || a.Unbonding[0].Amount != u(100) || a.Unbonding[1].Amount != u(200) || a.Unbonding[2].Amount != u(199) {
		t.Fatalf("after slash %+v", a)
	}
	// slashed 301; reward floor(150.5) = 150 to bob; 151 burned.
	if l.Balance(bob) != u(650) || l.Burned() != u(151) {
		t.Fatalf("bob %s burned %s", ptr(l.Balance(bob)).Dec(), ptr(l.Burned()).Dec())
	}
	if ev[0].Kind != "slash" {
		t.Fatalf("event %+v", ev)
	}
	// a matured, slashed entry withdraws what is left.
	mustApply(t, l, 200, alice, Withdraw{})
	if a := l.Account(alice); a.Balance != u(100+200+199) || a.Unbonding != nil {
		t.Fatalf("after withdraw %+v", a)
	}
}

// TestSlashRoundsUp: any positive fraction of positive stake slashes at least one unit.
func TestSlashRoundsUp(t *testing.T) {
	l := genesis(t)
	mustApply(t, l, 1, alice, Bond{u(1)})
	mustApply(t, l, 1, judge, Slash{Target: alice, Num: 1, Den: ^uint64(0), Treasury: TreasuryJackpot})
	if a := l.Account(alice); !a.Bonded.IsZero() || l.Treasury(TreasuryJackpot) != u(301) {
		t.Fatalf("bonded %s jackpot %s", a.Bonded.Dec(), ptr(l.Treasury(TreasuryJackpot)).Dec())
	}
}

// TestPayoutNeverExceedsTotal is cosmos-sdk #3723: rewards split by weight that rounded up
// paid more than the pool held. Rationale: Σ shares ≤ Total always, the dust goes to
// TreasuryDust, and the pool is debited exactly Total.
func TestPayoutNeverExceedsTotal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		total   uint64
		weights []uint64
	}{
		{"thirds", 100, []uint64{1, 1, 1}},
		{"the 3723 shape", 10, []uint64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{"huge weights", 299, []uint64{^uint64(0), ^uint64(0) - 1, 3}},
		{"primes", 299, []uint64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37}},
		{"one tiny share", 1, []uint64{1, 1_000_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := genesis(t)
			var rs []Share
			for i, w := range tc.weights {
				rs = append(rs, Share{To: addr(100 + i), Weight: w})
			}
			mustApply(t, l, 1, judge, Payout{TreasuryJackpot, u(tc.total), rs})
			var paid uint64
			for i := range rs {
				b := l.Balance(addr(100 + i))
				paid += b.Uint64()
			}
			dust := l.Treasury(TreasuryDust)
			if paid > tc.total || paid+dust.Uint64() != tc.total {
				t.Fatalf("paid %d + dust %d != total %d", paid, dust.Uint64(), tc.total)
			}
			if j := l.Treasury(TreasuryJackpot); j != u(300-tc.total) {
				t.Fatalf("jackpot %s", j.Dec())
			}
		})
	}
}

// TestBoundary runs every operation at the 2^256-1 boundary: a genesis minting the maximum,
// amounts of 2^256-1, fractions near 2^64.
func TestBoundary(t *testing.T) {
	half := max256()
	half.Rsh(&half, 1) // 2^255 - 1
	one := u(1)
	var rest uint256.Int
	rest.Sub(&half, &one) // alice: 2^255-1, bob: 2^255-1, jackpot: 1 → 2^256-1 in all
	if _, err := New(Genesis{Accounts: []GenesisAccount{{alice, max256()}, {bob, u(1)}}}); !errors.Is(err, ErrInvalidGenesis) {
		t.Fatalf("genesis over 2^256-1: %v", err)
	}
	l, err := New(Genesis{
		Params:      Params{FeeBps: 9999},
		Accounts:    []GenesisAccount{{alice, half}, {bob, half}},
		Treasuries:  []GenesisTreasury{{TreasuryJackpot, one}},
		Authorities: []Address{judge},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := l.Minted(); m != max256() {
		t.Fatalf("minted %s", m.Dec())
	}
	mustApply(t, l, 1, alice, Transfer{bob, half})
	if _, err := l.ApplyOp(env(1), bob, Transfer{alice, max256()}); !errors.Is(err, ErrInsufficientFunds) {
		t.Fatalf("transfer max: %v", err)
	}
	mustApply(t, l, 1, bob, Bond{half})
	mustApply(t, l, 1, bob, Unbond{rest})
	mustApply(t, l, 2, judge, Slash{Target: bob, Num: ^uint64(0) - 1, Den: ^uint64(0), Beneficiary: alice, RewardBps: 10000})
	mustApply(t, l, 2, alice, EscrowCreate{ID: id(1), Arbiter: alice, Amount: l.Balance(alice)})
	e, _ := l.Escrow(id(1))
	mustApply(t, l, 2, alice, EscrowRelease{ID: id(1), Payouts: []PayTo{{carol, e.Amount}}})
	mustApply(t, l, 3, judge, Payout{TreasuryJackpot, l.Treasury(TreasuryJackpot), []Share{{alice, ^uint64(0)}, {bob, ^uint64(0)}, {carol, 1}}})
	mustApply(t, l, 1<<40, bob, Withdraw{})
	mustApply(t, l, 1<<40, bob, Burn{l.Balance(bob)})
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
}

// FuzzBoundary applies fuzzer-chosen operations to a ledger that minted 2^256-1, with
// amounts drawn near the boundary, and checks conservation and atomicity after each.
func FuzzBoundary(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add(bytes.Repeat([]byte{0xff, 0x00, 0x7f}, 20))
	f.Fuzz(func(t *testing.T, prog []byte) {
		half := max256()
		half.Rsh(&half, 1)
		l, err := New(Genesis{
			Params:      Params{FeeBps: 7, UnbondingPeriod: ^uint64(0) - 5},
			Accounts:    []GenesisAccount{{alice, half}, {bob, half}},
			Treasuries:  []GenesisTreasury{{TreasuryJackpot, u(1)}},
			Authorities: []Address{judge},
		})
		if err != nil {
			t.Fatal(err)
		}
		who := []Address{alice, bob, carol, judge}
		amt := func(b byte) uint256.Int {
			x := max256()
			switch b % 4 {
			case 0:
				return x
			case 1:
				return half
			case 2:
				return *x.Rsh(&x, uint(b))
			}
			return u(uint64(b))
		}
		now := uint64(0)
		for i := 0; i+2 < len(prog); i += 3 {
			c, a, b := prog[i], prog[i+1], prog[i+2]
			from := who[a%4]
			var op Op
			switch c % 11 {
			case 0:
				op = Transfer{who[b%4], amt(a)}
			case 1:
				op = Bond{amt(b)}
			case 2:
				op = Unbond{amt(b)}
			case 3:
				op = Withdraw{}
				now = ^uint64(0) - uint64(b)
			case 4:
				op = Burn{amt(b)}
			case 5:
				op = Fund{TreasuryJackpot, amt(b)}
			case 6:
				op = EscrowCreate{ID: id(b % 3), Arbiter: who[b%4], Amount: amt(b)}
			case 7:
				op = EscrowRelease{ID: id(b % 3), Payouts: []PayTo{{who[a%4], amt(b)}, {carol, amt(a)}}}
			case 8:
				op = EscrowRefund{ID: id(b % 3)}
			case 9:
				op = Slash{Target: who[b%4], Num: ^uint64(0) - uint64(a), Den: ^uint64(0), Since: uint64(b), Beneficiary: who[a%4], RewardBps: uint32(a) * 40}
			default:
				op = Payout{TreasuryJackpot, amt(b), []Share{{who[a%4], ^uint64(0)}, {carol, uint64(b)}}}
			}
			before := l.export()
			if _, err := l.ApplyOp(env(now), from, op); err != nil && !bytes.Equal(before, l.export()) {
				t.Fatalf("%#v failed (%v) and changed the state", op, err)
			}
			if err := l.Check(); err != nil {
				t.Fatalf("%#v: %v", op, err)
			}
		}
	})
}

// FuzzDecodeOp: the decoder never panics, and what it accepts re-encodes to the same bytes.
func FuzzDecodeOp(f *testing.F) {
	for _, op := range sampleOps() {
		b, err := EncodeOp(op)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{1, 8, 0})
	f.Add([]byte{2, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		op, err := DecodeOp(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		re, err := EncodeOp(op)
		if err != nil || !bytes.Equal(re, b) {
			t.Fatalf("re-encoding %#v: %x, %v; want %x", op, re, err, b)
		}
	})
}

// FuzzImport: Import never panics, and a state it accepts exports to the same bytes.
func FuzzImport(f *testing.F) {
	w := newWorld(f, 3, 5, u(1000))
	for range 200 {
		w.step()
		f.Add(w.l.export())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Open(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidState) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrInvalidState", err)
			}
			return
		}
		if !bytes.Equal(l.export(), b) {
			t.Fatal("accepted a non-canonical state")
		}
	})
}

func sampleOps() []Op {
	return []Op{
		Transfer{bob, u(5)},
		Bond{u(7)},
		Unbond{max256()},
		Withdraw{},
		Burn{u(1)},
		Fund{TreasuryJackpot, u(2)},
		EscrowCreate{ID: id(4), Arbiter: carol, Amount: u(9)},
		EscrowRelease{ID: id(4), Payouts: []PayTo{{bob, u(1)}, {carol, u(2)}}},
		EscrowRefund{ID: id(4)},
		Slash{Target: alice, Num: 1, Den: 3, Since: 99, Beneficiary: bob, RewardBps: 500, Treasury: ""},
		Slash{Target: alice, Num: 1, Den: 3, Since: 99, Beneficiary: bob, RewardBps: 500, Treasury: "fees"},
		Payout{TreasuryJackpot, u(10), []Share{{alice, 1}, {bob, 2}}},
	}
}

// TestGolden pins the encodings and the root of a fixed random run: a change here breaks every
// chain that stored them. Regenerate with -rewrite.
func TestGolden(t *testing.T) {
	var sb strings.Builder
	for _, op := range sampleOps() {
		b, _ := EncodeOp(op)
		fmt.Fprintf(&sb, "op %T %s\n", op, hex.EncodeToString(b))
	}
	w := newWorld(t, 7, 10, u(1_000_000))
	for range 20_000 {
		w.step()
	}
	fmt.Fprintf(&sb, "root after 20000 random ops (seed 7) %x\n", w.l.Root())
	got := sb.String()
	path := filepath.Join("testdata", "golden.txt")
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -rewrite to create)", err)
	}
	if got != string(want) {
		t.Errorf("golden mismatch (run with -rewrite if the change is intended):\n%s", got)
	}
}

func TestQuery(t *testing.T) {
	l := genesis(t)
	mustApply(t, l, 1, alice, Bond{u(10)})
	mustApply(t, l, 1, alice, Unbond{u(4)})
	mustApply(t, l, 1, alice, EscrowCreate{ID: id(3), Arbiter: bob, Amount: u(6)})
	b, err := l.Query(QueryAccount(alice))
	if err != nil {
		t.Fatal(err)
	}
	a, err := DecodeAccount(b)
	if err != nil || a.Balance != u(984) || a.Bonded != u(6) || len(a.Unbonding) != 1 || a.Unbonding[0].End != 101 {
		t.Fatalf("account %+v, %v", a, err)
	}
	b, err = l.Query(QueryEscrow(id(3)))
	if e, err2 := DecodeEscrow(b); err != nil || err2 != nil || e.Owner != alice || e.Arbiter != bob || e.Amount != u(6) {
		t.Fatalf("escrow %+v %v %v", e, err, err2)
	}
	if _, err := l.Query(QueryEscrow(id(4))); !errors.Is(err, ErrUnknownEscrow) {
		t.Fatalf("unknown escrow: %v", err)
	}
	b, err = l.Query(QueryTreasury(TreasuryJackpot))
	if err != nil || !bytes.Equal(b, appendAmt(nil, ptr(u(300)))) {
		t.Fatalf("treasury %x %v", b, err)
	}
	b, err = l.Query(QuerySupply())
	if err != nil || len(b) != 64 {
		t.Fatalf("supply %x %v", b, err)
	}
	for _, q := range [][]byte{nil, {1}, {2, 1}, {1, 9}, append(QueryAccount(alice), 0)} {
		if _, err := l.Query(q); !errors.Is(err, ErrMalformed) {
			t.Errorf("query %x: %v", q, err)
		}
	}
}

func TestGenesisValidate(t *testing.T) {
	err := Genesis{
		Params:      Params{FeeBps: 10001},
		Accounts:    []GenesisAccount{{alice, u(1)}, {alice, u(2)}},
		Treasuries:  []GenesisTreasury{{"X", u(1)}},
		Authorities: []Address{judge, judge},
	}.Validate()
	for _, want := range []string{"fee", "account", "treasury name", "authority"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want %q named", err, want)
		}
	}
	if !errors.Is(err, ErrInvalidGenesis) {
		t.Errorf("Validate = %v, want ErrInvalidGenesis", err)
	}
}

// BenchmarkTransfer applies typed transfers in memory (one core).
func BenchmarkTransfer(b *testing.B) {
	l := benchLedger(b)
	ops := [2]Op{Transfer{bob, u(1)}, Transfer{alice, u(1)}}
	from := [2]Address{alice, bob}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := l.ApplyOp(env(1), from[i&1], ops[i&1]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
}

// BenchmarkApplyTransfer applies encoded transfers through sm.Machine.Apply (decoding
// included), among 1024 accounts.
func BenchmarkApplyTransfer(b *testing.B) {
	l := benchLedger(b)
	const n = 1024
	payloads := make([][]byte, n)
	for i := range payloads {
		payloads[i], _ = EncodeOp(Transfer{addr(1000 + (i+1)%n), u(1)})
		mustApplyB(b, l, addr(1), Transfer{addr(1000 + i), u(1000)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := l.Apply(env(1), addr(1000+i%n), payloads[i%n]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
}

func benchLedger(b *testing.B) *Ledger {
	l, err := New(Genesis{Accounts: []GenesisAccount{{alice, u(1 << 40)}, {bob, u(1 << 40)}}})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func mustApplyB(b *testing.B, l *Ledger, from Address, op Op) {
	if _, err := l.ApplyOp(env(1), from, op); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRoot measures the state root of a ledger with 100,000 accounts (addresses spread
// as real, hash-derived ones are) after one transfer: the per-block cost a chain pays, which
// grows with the change, not the state.
func BenchmarkRoot(b *testing.B) {
	g := Genesis{}
	for i := range 100_000 {
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
		g.Accounts = append(g.Accounts, GenesisAccount{Address: Address(h[:20]), Balance: u(1000)})
	}
	l, err := New(g)
	if err != nil {
		b.Fatal(err)
	}
	l.Root()
	from, to := g.Accounts[0].Address, g.Accounts[1].Address
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%2 == 1 {
			from, to = to, from
		}
		mustApplyB(b, l, from, Transfer{to, u(1)})
		l.Root()
	}
}
