package stake

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"github.com/deai-go/deai/chain/sm"
	"github.com/holiman/uint256"
)

// Name is the machine name of the ledger on a chain.
const Name = "stake"

// Well-known treasuries.
const (
	// TreasuryJackpot receives the fees on escrow releases; payouts from it reward
	// verifiers who catch forced errors.
	TreasuryJackpot = "jackpot"
	// TreasuryDust receives the remainders of proportional payouts (what rounding down
	// left unpaid).
	TreasuryDust = "dust"
)

// Address is a 20-byte account address (an Ethereum-style address on a chain).
type Address [20]byte

// String returns the address as 0x-prefixed lower-case hex.
func (a Address) String() string { return "0x" + hex.EncodeToString(a[:]) }

// Unbonding is an amount on its way from bonded to balance.
type Unbonding struct {
	// Amount is what is unbonding.
	Amount uint256.Int
	// Start is the chain time the Unbond executed at; End = Start + Params.UnbondingPeriod is
	// when Withdraw may take it.
	Start, End uint64
}

// Account is what one address holds.
type Account struct {
	// Balance is spendable.
	Balance uint256.Int
	// Bonded is at stake: slashable, not spendable.
	Bonded uint256.Int
	// Unbonding lists amounts leaving the bond, by Start ascending. They stay slashable for
	// offences committed while they were bonded.
	Unbonding []Unbonding
}

// Escrow is an amount held for a purpose (a task budget, a campaign vault) until its arbiter
// releases it to payees or refunds it to its owner.
type Escrow struct {
	// ID is chosen by the creator; it must be unused.
	ID [32]byte
	// Owner funded the escrow and receives refunds.
	Owner Address
	// Arbiter alone may release or refund.
	Arbiter Address
	// Amount is what remains held.
	Amount uint256.Int
}

// Params are the ledger's economic parameters, fixed at genesis.
type Params struct {
	// UnbondingPeriod is the chain time in seconds between Unbond and the earliest Withdraw.
	// Default: 1,209,600 (14 days).
	UnbondingPeriod uint64
	// MaxUnbondingEntries bounds an account's unbonding entries (entries started at the same
	// time merge). Default: 7.
	MaxUnbondingEntries uint32
	// FeeBps is the fee on every escrow release payout, in basis points (1/10000), paid to
	// TreasuryJackpot. Zero: no fee. At most 10000.
	FeeBps uint32
}

// GenesisAccount is an account's balance at genesis.
type GenesisAccount struct {
	Address Address
	Balance uint256.Int
}

// GenesisTreasury is a treasury's holding at genesis.
type GenesisTreasury struct {
	Name   string
	Amount uint256.Int
}

// Genesis is the initial state: the only moment tokens are minted.
type Genesis struct {
	Params Params
	// Accounts receive their Balance; an address may appear once.
	Accounts []GenesisAccount
	// Treasuries receive their Amount; a name may appear once.
	Treasuries []GenesisTreasury
	// Authorities may slash and pay out of treasuries (in practice: the addresses of the
	// dispute and market machines, or a governance key).
	Authorities []Address
}

// EnsureDefaults returns g with zero parameters replaced by their defaults.
func (g Genesis) EnsureDefaults() Genesis {
	if g.Params.UnbondingPeriod == 0 {
		g.Params.UnbondingPeriod = 14 * 24 * 3600
	}
	if g.Params.MaxUnbondingEntries == 0 {
		g.Params.MaxUnbondingEntries = 7
	}
	return g
}

// Validate reports every problem with g at once; each wraps ErrInvalidGenesis.
func (g Genesis) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidGenesis}, args...)...))
	}
	if g.Params.FeeBps > 10000 {
		bad("fee %d bps exceeds 10000", g.Params.FeeBps)
	}
	if g.Params.MaxUnbondingEntries > 1024 {
		bad("max unbonding entries %d exceeds 1024", g.Params.MaxUnbondingEntries)
	}
	var total uint256.Int
	seen := map[Address]bool{}
	for _, a := range g.Accounts {
		if seen[a.Address] {
			bad("account %s appears twice", a.Address)
		}
		seen[a.Address] = true
		if _, o := total.AddOverflow(&total, &a.Balance); o {
			bad("total supply exceeds 2^256-1")
			return errors.Join(errs...)
		}
	}
	names := map[string]bool{}
	for _, tr := range g.Treasuries {
		if !validTreasury(tr.Name) {
			bad("treasury name %q not 1-32 bytes of [a-z0-9_]", tr.Name)
		}
		if names[tr.Name] {
			bad("treasury %q appears twice", tr.Name)
		}
		names[tr.Name] = true
		if _, o := total.AddOverflow(&total, &tr.Amount); o {
			bad("total supply exceeds 2^256-1")
			return errors.Join(errs...)
		}
	}
	auth := map[Address]bool{}
	for _, a := range g.Authorities {
		if auth[a] {
			bad("authority %s appears twice", a)
		}
		auth[a] = true
	}
	return errors.Join(errs...)
}

func validTreasury(name string) bool {
	if len(name) == 0 || len(name) > 32 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

type account struct {
	balance   uint256.Int
	bonded    uint256.Int
	unbonding []Unbonding
}

func (a *account) empty() bool {
	return a.balance.IsZero() && a.bonded.IsZero() && len(a.unbonding) == 0
}

type escrow struct {
	owner, arbiter Address
	amount         uint256.Int
}

// Ledger is the token ledger: a deterministic state machine that implements sm.Machine.
// It is not safe for concurrent use.
type Ledger struct {
	params      Params
	authorities []Address // sorted
	minted      uint256.Int
	burned      uint256.Int
	accounts    map[Address]*account
	treasuries  map[string]*uint256.Int
	escrows     map[[32]byte]*escrow

	acct *bucketTree[Address]  // commits to accounts
	esct *bucketTree[[32]byte] // commits to escrows
}

// newLedger returns an empty ledger with its maps and trees.
func newLedger() *Ledger {
	l := &Ledger{
		accounts:   map[Address]*account{},
		treasuries: map[string]*uint256.Int{},
		escrows:    map[[32]byte]*escrow{},
	}
	// The trees read the maps, which a Ledger never replaces (Import copies a whole new
	// Ledger, maps and trees together).
	accounts, escrows := l.accounts, l.escrows
	l.acct = newTree(prefixAddr, cmpAddr, func(b []byte, k Address) []byte {
		return appendAccount(append(b, k[:]...), accounts[k])
	})
	l.esct = newTree(prefixID, cmpID, func(b []byte, k [32]byte) []byte {
		return appendEscrow(append(b, k[:]...), escrows[k])
	})
	return l
}

var _ sm.Machine = (*Ledger)(nil)

// New returns a ledger in the genesis state g (after g.EnsureDefaults).
func New(g Genesis) (*Ledger, error) {
	g = g.EnsureDefaults()
	if err := g.Validate(); err != nil {
		return nil, err
	}
	l := newLedger()
	l.params = g.Params
	for _, a := range g.Accounts {
		l.minted.Add(&l.minted, &a.Balance)
		if !a.Balance.IsZero() {
			l.accounts[a.Address] = &account{balance: a.Balance}
			l.acct.add(a.Address)
		}
	}
	for _, tr := range g.Treasuries {
		l.minted.Add(&l.minted, &tr.Amount)
		if !tr.Amount.IsZero() {
			v := tr.Amount
			l.treasuries[tr.Name] = &v
		}
	}
	l.authorities = slices.Clone(g.Authorities)
	slices.SortFunc(l.authorities, func(a, b Address) int { return bytes.Compare(a[:], b[:]) })
	return l, nil
}

// Name returns "stake".
func (l *Ledger) Name() string { return Name }

// Params returns the ledger's parameters.
func (l *Ledger) Params() Params { return l.params }

// Account returns what a holds; an address that holds nothing returns the zero Account.
func (l *Ledger) Account(a Address) Account {
	acc := l.accounts[a]
	if acc == nil {
		return Account{}
	}
	return Account{Balance: acc.balance, Bonded: acc.bonded, Unbonding: slices.Clone(acc.unbonding)}
}

// Balance returns a's spendable balance.
func (l *Ledger) Balance(a Address) uint256.Int {
	if acc := l.accounts[a]; acc != nil {
		return acc.balance
	}
	return uint256.Int{}
}

// Escrow returns the escrow with the given ID.
func (l *Ledger) Escrow(id [32]byte) (Escrow, bool) {
	e := l.escrows[id]
	if e == nil {
		return Escrow{}, false
	}
	return Escrow{ID: id, Owner: e.owner, Arbiter: e.arbiter, Amount: e.amount}, true
}

// Treasury returns what the named treasury holds (zero for one never funded).
func (l *Ledger) Treasury(name string) uint256.Int {
	if v := l.treasuries[name]; v != nil {
		return *v
	}
	return uint256.Int{}
}

// Minted returns the total minted at genesis.
func (l *Ledger) Minted() uint256.Int { return l.minted }

// Burned returns the total burned so far.
func (l *Ledger) Burned() uint256.Int { return l.burned }

// Supply returns Minted - Burned: what exists.
func (l *Ledger) Supply() uint256.Int {
	var s uint256.Int
	s.Sub(&l.minted, &l.burned)
	return s
}

// IsAuthority reports whether a may slash and pay out of treasuries.
func (l *Ledger) IsAuthority(a Address) bool {
	_, ok := slices.BinarySearchFunc(l.authorities, a, func(x, y Address) int { return bytes.Compare(x[:], y[:]) })
	return ok
}

// Totals is the ledger's holdings summed by kind.
type Totals struct {
	Balances, Bonded, Unbonding, Escrowed, Treasuries, Burned uint256.Int
}

// Totals sums the holdings; it fails with ErrOverflow if a sum exceeds 2^256-1 (impossible in
// a state that satisfies Check).
func (l *Ledger) Totals() (Totals, error) {
	var t Totals
	add := func(z, x *uint256.Int) error {
		if _, o := z.AddOverflow(z, x); o {
			return ErrOverflow
		}
		return nil
	}
	for _, a := range l.accounts {
		if err := add(&t.Balances, &a.balance); err != nil {
			return t, err
		}
		if err := add(&t.Bonded, &a.bonded); err != nil {
			return t, err
		}
		for i := range a.unbonding {
			if err := add(&t.Unbonding, &a.unbonding[i].Amount); err != nil {
				return t, err
			}
		}
	}
	for _, e := range l.escrows {
		if err := add(&t.Escrowed, &e.amount); err != nil {
			return t, err
		}
	}
	for _, v := range l.treasuries {
		if err := add(&t.Treasuries, v); err != nil {
			return t, err
		}
	}
	t.Burned = l.burned
	return t, nil
}

// Check verifies conservation: Minted = Σ balances + Σ bonded + Σ unbonding + Σ escrowed +
// Σ treasuries + Burned. It is O(state); Apply keeps it true by construction.
func (l *Ledger) Check() error {
	t, err := l.Totals()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidState, err)
	}
	var sum uint256.Int
	for _, x := range []*uint256.Int{&t.Balances, &t.Bonded, &t.Unbonding, &t.Escrowed, &t.Treasuries, &t.Burned} {
		if _, o := sum.AddOverflow(&sum, x); o {
			return fmt.Errorf("%w: holdings exceed 2^256-1", ErrInvalidState)
		}
	}
	if !sum.Eq(&l.minted) {
		return fmt.Errorf("%w: holdings %s != minted %s", ErrInvalidState, sum.Dec(), l.minted.Dec())
	}
	return nil
}
