package stake

import (
	"fmt"
	"slices"

	"github.com/deai-go/deai/chain/sm"
	"github.com/holiman/uint256"
)

// MaxPayouts bounds the payees of one EscrowRelease and the recipients of one Payout.
const MaxPayouts = 1024

// Op is one ledger operation: one of Transfer, Bond, Unbond, Withdraw, Burn, Fund,
// EscrowCreate, EscrowRelease, EscrowRefund, Slash, Payout.
type Op interface {
	opcode() byte
}

// Transfer moves Amount from the sender's balance to To's.
type Transfer struct {
	To     Address
	Amount uint256.Int
}

// Bond moves Amount from the sender's balance to its bond.
type Bond struct{ Amount uint256.Int }

// Unbond moves Amount from the sender's bond to a new unbonding entry that matures after
// Params.UnbondingPeriod.
type Unbond struct{ Amount uint256.Int }

// Withdraw moves every matured unbonding entry of the sender (End <= Env.Time) to its
// balance.
type Withdraw struct{}

// Burn destroys Amount of the sender's balance.
type Burn struct{ Amount uint256.Int }

// Fund moves Amount from the sender's balance to the named treasury (e.g. a protocol fee to
// TreasuryJackpot).
type Fund struct {
	Treasury string
	Amount   uint256.Int
}

// EscrowCreate moves Amount from the sender's balance to a new escrow owned by the sender
// and controlled by Arbiter.
type EscrowCreate struct {
	ID      [32]byte
	Arbiter Address
	Amount  uint256.Int
}

// PayTo is one payee of an EscrowRelease.
type PayTo struct {
	To     Address
	Amount uint256.Int
}

// EscrowRelease pays each payee its Amount out of the escrow, less the fee
// (Params.FeeBps, rounded up, to TreasuryJackpot). Only the arbiter may release. An escrow
// released to zero is closed.
type EscrowRelease struct {
	ID      [32]byte
	Payouts []PayTo
}

// EscrowRefund returns what remains in the escrow to its owner and closes it. Only the
// arbiter may refund.
type EscrowRefund struct{ ID [32]byte }

// Slash takes Num/Den of Target's bond and of every unbonding entry of Target that started at
// or after Since (stake that was bonded when the offence was committed), each rounded up.
// RewardBps basis points of the total slashed, rounded down, go to Beneficiary's balance;
// the rest goes to the named Treasury, or is burned if Treasury is empty. Only an authority
// may slash.
type Slash struct {
	Target      Address
	Num, Den    uint64
	Since       uint64
	Beneficiary Address
	RewardBps   uint32
	Treasury    string
}

// Share is one recipient of a Payout.
type Share struct {
	To     Address
	Weight uint64
}

// Payout pays Total out of the named treasury to the recipients in proportion to their
// weights, each share rounded down; the remainder goes to TreasuryDust. Only an authority may
// pay out (rewards, jackpots).
type Payout struct {
	Treasury   string
	Total      uint256.Int
	Recipients []Share
}

const (
	opTransfer byte = 1 + iota
	opBond
	opUnbond
	opWithdraw
	opBurn
	opFund
	opEscrowCreate
	opEscrowRelease
	opEscrowRefund
	opSlash
	opPayout
)

func (Transfer) opcode() byte      { return opTransfer }
func (Bond) opcode() byte          { return opBond }
func (Unbond) opcode() byte        { return opUnbond }
func (Withdraw) opcode() byte      { return opWithdraw }
func (Burn) opcode() byte          { return opBurn }
func (Fund) opcode() byte          { return opFund }
func (EscrowCreate) opcode() byte  { return opEscrowCreate }
func (EscrowRelease) opcode() byte { return opEscrowRelease }
func (EscrowRefund) opcode() byte  { return opEscrowRefund }
func (Slash) opcode() byte         { return opSlash }
func (Payout) opcode() byte        { return opPayout }

// Apply decodes payload (EncodeOp's encoding) and applies it; it implements sm.Machine.
func (l *Ledger) Apply(env sm.Env, sender [20]byte, payload []byte) ([]sm.Event, error) {
	op, err := DecodeOp(payload)
	if err != nil {
		return nil, err
	}
	return l.ApplyOp(env, Address(sender), op)
}

// ApplyOp applies op sent by sender at env.Time and returns one event per change. On error
// the ledger is unchanged; errors wrap the package's sentinels.
func (l *Ledger) ApplyOp(env sm.Env, sender Address, op Op) ([]sm.Event, error) {
	var ev []sm.Event
	var err error
	switch op := op.(type) {
	case Transfer:
		ev, err = l.transfer(sender, &op)
	case Bond:
		ev, err = l.bond(sender, &op.Amount)
	case Unbond:
		ev, err = l.unbond(env.Time, sender, &op.Amount)
	case Withdraw:
		ev, err = l.withdraw(env.Time, sender)
	case Burn:
		ev, err = l.burn(sender, &op.Amount)
	case Fund:
		ev, err = l.fund(sender, op.Treasury, &op.Amount)
	case EscrowCreate:
		ev, err = l.escrowCreate(sender, &op)
	case EscrowRelease:
		ev, err = l.escrowRelease(sender, &op)
	case EscrowRefund:
		ev, err = l.escrowRefund(sender, op.ID)
	case Slash:
		ev, err = l.slash(sender, &op)
	case Payout:
		ev, err = l.payout(sender, &op)
	default:
		return nil, fmt.Errorf("%w: unknown operation %T", ErrMalformed, op)
	}
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// spendable returns the sender's account if its balance covers amt.
func (l *Ledger) spendable(sender Address, amt *uint256.Int, what string) (*account, error) {
	if amt.IsZero() {
		return nil, fmt.Errorf("stake: %s: %w", what, ErrZeroAmount)
	}
	acc := l.accounts[sender]
	if acc == nil {
		return nil, fmt.Errorf("stake: %s from %s: %w", what, sender, ErrUnknownAccount)
	}
	l.acct.touch(sender)
	if acc.balance.Lt(amt) {
		return nil, insufficient(sender, "balance", &acc.balance, amt)
	}
	return acc, nil
}

// credit adds amt to a's balance, creating the account.
func (l *Ledger) credit(a Address, amt *uint256.Int) {
	acc := l.accounts[a]
	if acc == nil {
		acc = &account{}
		l.accounts[a] = acc
		l.acct.add(a)
	} else {
		l.acct.touch(a)
	}
	acc.balance.Add(&acc.balance, amt)
}

// canCredit checks that crediting amt to a cannot overflow (it cannot from a conserved
// state; this guards corrupted ones so that no mutation happens before the error).
func (l *Ledger) canCredit(a Address, amt *uint256.Int) error {
	if acc := l.accounts[a]; acc != nil {
		var t uint256.Int
		if _, o := t.AddOverflow(&acc.balance, amt); o {
			return ErrOverflow
		}
	}
	return nil
}

func (l *Ledger) gc(a Address) {
	if acc := l.accounts[a]; acc != nil && acc.empty() {
		delete(l.accounts, a)
		l.acct.remove(a)
	}
}

func (l *Ledger) addTreasury(name string, amt *uint256.Int) {
	if amt.IsZero() {
		return
	}
	v := l.treasuries[name]
	if v == nil {
		v = new(uint256.Int)
		l.treasuries[name] = v
	}
	v.Add(v, amt)
}

func (l *Ledger) subTreasury(name string, amt *uint256.Int) {
	v := l.treasuries[name]
	v.Sub(v, amt)
	if v.IsZero() {
		delete(l.treasuries, name)
	}
}

func (l *Ledger) transfer(from Address, op *Transfer) ([]sm.Event, error) {
	acc, err := l.spendable(from, &op.Amount, "transfer")
	if err != nil {
		return nil, err
	}
	if from != op.To {
		if err := l.canCredit(op.To, &op.Amount); err != nil {
			return nil, err
		}
		acc.balance.Sub(&acc.balance, &op.Amount)
		l.credit(op.To, &op.Amount)
		l.gc(from)
	}
	return []sm.Event{{Machine: Name, Kind: "transfer", Data: evAddrAddrAmt(from, op.To, &op.Amount)}}, nil
}

func (l *Ledger) bond(who Address, amt *uint256.Int) ([]sm.Event, error) {
	acc, err := l.spendable(who, amt, "bond")
	if err != nil {
		return nil, err
	}
	acc.balance.Sub(&acc.balance, amt)
	acc.bonded.Add(&acc.bonded, amt)
	return []sm.Event{{Machine: Name, Kind: "bond", Data: evAddrAmt(who, amt)}}, nil
}

func (l *Ledger) unbond(now uint64, who Address, amt *uint256.Int) ([]sm.Event, error) {
	if amt.IsZero() {
		return nil, fmt.Errorf("stake: unbond: %w", ErrZeroAmount)
	}
	acc := l.accounts[who]
	if acc == nil {
		return nil, fmt.Errorf("stake: unbond from %s: %w", who, ErrUnknownAccount)
	}
	l.acct.touch(who)
	if acc.bonded.Lt(amt) {
		return nil, insufficient(who, "bonded", &acc.bonded, amt)
	}
	end := endOf(now, l.params.UnbondingPeriod)
	i, merge := slices.BinarySearchFunc(acc.unbonding, now, func(u Unbonding, t uint64) int { return cmpU64(u.Start, t) })
	if !merge && len(acc.unbonding) >= int(l.params.MaxUnbondingEntries) {
		return nil, fmt.Errorf("stake: unbond from %s: %w (%d)", who, ErrTooManyUnbonding, len(acc.unbonding))
	}
	acc.bonded.Sub(&acc.bonded, amt)
	if merge {
		acc.unbonding[i].Amount.Add(&acc.unbonding[i].Amount, amt)
	} else {
		acc.unbonding = slices.Insert(acc.unbonding, i, Unbonding{Amount: *amt, Start: now, End: end})
	}
	return []sm.Event{{Machine: Name, Kind: "unbond", Data: appendU64(evAddrAmt(who, amt), end)}}, nil
}

func (l *Ledger) withdraw(now uint64, who Address) ([]sm.Event, error) {
	acc := l.accounts[who]
	if acc == nil {
		return nil, fmt.Errorf("stake: withdraw by %s: %w", who, ErrUnknownAccount)
	}
	l.acct.touch(who)
	var total uint256.Int
	keep := acc.unbonding[:0:0]
	for i := range acc.unbonding {
		if acc.unbonding[i].End <= now {
			total.Add(&total, &acc.unbonding[i].Amount)
		} else {
			keep = append(keep, acc.unbonding[i])
		}
	}
	if total.IsZero() {
		return nil, fmt.Errorf("stake: withdraw by %s at %d: %w", who, now, ErrNothingToWithdraw)
	}
	if _, o := new(uint256.Int).AddOverflow(&acc.balance, &total); o {
		return nil, ErrOverflow
	}
	if len(keep) == 0 {
		keep = nil
	}
	acc.unbonding = keep
	acc.balance.Add(&acc.balance, &total)
	return []sm.Event{{Machine: Name, Kind: "withdraw", Data: evAddrAmt(who, &total)}}, nil
}

func (l *Ledger) burn(who Address, amt *uint256.Int) ([]sm.Event, error) {
	acc, err := l.spendable(who, amt, "burn")
	if err != nil {
		return nil, err
	}
	acc.balance.Sub(&acc.balance, amt)
	l.burned.Add(&l.burned, amt)
	l.gc(who)
	return []sm.Event{{Machine: Name, Kind: "burn", Data: evAddrAmt(who, amt)}}, nil
}

func (l *Ledger) fund(who Address, name string, amt *uint256.Int) ([]sm.Event, error) {
	if !validTreasury(name) {
		return nil, fmt.Errorf("%w: treasury name %q", ErrMalformed, name)
	}
	acc, err := l.spendable(who, amt, "fund")
	if err != nil {
		return nil, err
	}
	acc.balance.Sub(&acc.balance, amt)
	l.addTreasury(name, amt)
	l.gc(who)
	return []sm.Event{{Machine: Name, Kind: "fund", Data: appendName(evAddrAmt(who, amt), name)}}, nil
}

func (l *Ledger) escrowCreate(owner Address, op *EscrowCreate) ([]sm.Event, error) {
	if l.escrows[op.ID] != nil {
		return nil, fmt.Errorf("stake: escrow %x: %w", op.ID, ErrEscrowExists)
	}
	acc, err := l.spendable(owner, &op.Amount, "escrow")
	if err != nil {
		return nil, err
	}
	acc.balance.Sub(&acc.balance, &op.Amount)
	l.escrows[op.ID] = &escrow{owner: owner, arbiter: op.Arbiter, amount: op.Amount}
	l.esct.add(op.ID)
	l.gc(owner)
	d := make([]byte, 0, 32+20+20+32)
	d = append(d, op.ID[:]...)
	d = append(d, owner[:]...)
	d = append(d, op.Arbiter[:]...)
	d = appendAmt(d, &op.Amount)
	return []sm.Event{{Machine: Name, Kind: "escrow_create", Data: d}}, nil
}

// feeOf returns the fee on amt: ceil(amt * FeeBps / 10000).
func (l *Ledger) feeOf(amt *uint256.Int) uint256.Int {
	var fee uint256.Int
	if l.params.FeeBps == 0 {
		return fee
	}
	fee = mulDivUp(amt, uint256.NewInt(uint64(l.params.FeeBps)), uint256.NewInt(10000))
	return fee
}

func (l *Ledger) escrowRelease(caller Address, op *EscrowRelease) ([]sm.Event, error) {
	e := l.escrows[op.ID]
	if e == nil {
		return nil, fmt.Errorf("stake: release %x: %w", op.ID, ErrUnknownEscrow)
	}
	if caller != e.arbiter {
		return nil, fmt.Errorf("stake: release %x by %s (arbiter %s): %w", op.ID, caller, e.arbiter, ErrNotAuthorized)
	}
	if len(op.Payouts) == 0 || len(op.Payouts) > MaxPayouts {
		return nil, fmt.Errorf("stake: release %x: %w: %d payees", op.ID, ErrInvalidPayout, len(op.Payouts))
	}
	var total uint256.Int
	for i := range op.Payouts {
		if op.Payouts[i].Amount.IsZero() {
			return nil, fmt.Errorf("stake: release %x payee %d: %w", op.ID, i, ErrZeroAmount)
		}
		if _, o := total.AddOverflow(&total, &op.Payouts[i].Amount); o {
			var all uint256.Int
			return nil, insufficient(e.owner, "escrow", &e.amount, all.SetAllOne())
		}
	}
	if e.amount.Lt(&total) {
		return nil, insufficient(e.owner, "escrow", &e.amount, &total)
	}
	e.amount.Sub(&e.amount, &total)
	l.esct.touch(op.ID)
	ev := make([]sm.Event, 0, len(op.Payouts))
	for i := range op.Payouts {
		p := &op.Payouts[i]
		fee := l.feeOf(&p.Amount)
		var net uint256.Int
		net.Sub(&p.Amount, &fee)
		if !net.IsZero() {
			l.credit(p.To, &net)
		}
		l.addTreasury(TreasuryJackpot, &fee)
		d := make([]byte, 0, 32+20+32+32)
		d = append(d, op.ID[:]...)
		d = append(d, p.To[:]...)
		d = appendAmt(d, &net)
		d = appendAmt(d, &fee)
		ev = append(ev, sm.Event{Machine: Name, Kind: "escrow_release", Data: d})
	}
	if e.amount.IsZero() {
		delete(l.escrows, op.ID)
		l.esct.remove(op.ID)
	}
	return ev, nil
}

func (l *Ledger) escrowRefund(caller Address, id [32]byte) ([]sm.Event, error) {
	e := l.escrows[id]
	if e == nil {
		return nil, fmt.Errorf("stake: refund %x: %w", id, ErrUnknownEscrow)
	}
	if caller != e.arbiter {
		return nil, fmt.Errorf("stake: refund %x by %s (arbiter %s): %w", id, caller, e.arbiter, ErrNotAuthorized)
	}
	if err := l.canCredit(e.owner, &e.amount); err != nil {
		return nil, err
	}
	l.credit(e.owner, &e.amount)
	delete(l.escrows, id)
	l.esct.remove(id)
	d := make([]byte, 0, 32+20+32)
	d = append(d, id[:]...)
	d = append(d, e.owner[:]...)
	d = appendAmt(d, &e.amount)
	return []sm.Event{{Machine: Name, Kind: "escrow_refund", Data: d}}, nil
}

// mulDivDown returns floor(x*y/d) for y <= d (so the result is <= x and cannot overflow).
func mulDivDown(x, y, d *uint256.Int) uint256.Int {
	var z uint256.Int
	z.MulDivOverflow(x, y, d)
	return z
}

// mulDivUp returns ceil(x*y/d) for y <= d (so the result is <= x and cannot overflow).
func mulDivUp(x, y, d *uint256.Int) uint256.Int {
	var z, r uint256.Int
	z.MulDivOverflow(x, y, d)
	if !r.MulMod(x, y, d).IsZero() {
		z.AddUint64(&z, 1)
	}
	return z
}

func (l *Ledger) slash(caller Address, op *Slash) ([]sm.Event, error) {
	if !l.IsAuthority(caller) {
		return nil, fmt.Errorf("stake: slash by %s: %w", caller, ErrNotAuthorized)
	}
	if op.Den == 0 || op.Num == 0 || op.Num > op.Den {
		return nil, fmt.Errorf("stake: slash %d/%d: %w", op.Num, op.Den, ErrInvalidFraction)
	}
	if op.RewardBps > 10000 {
		return nil, fmt.Errorf("stake: slash reward %d bps: %w", op.RewardBps, ErrInvalidFraction)
	}
	if op.Treasury != "" && !validTreasury(op.Treasury) {
		return nil, fmt.Errorf("%w: treasury name %q", ErrMalformed, op.Treasury)
	}
	acc := l.accounts[op.Target]
	if acc == nil {
		return nil, fmt.Errorf("stake: slash %s: %w", op.Target, ErrUnknownAccount)
	}
	l.acct.touch(op.Target)
	num, den := uint256.NewInt(op.Num), uint256.NewInt(op.Den)
	cutBond := mulDivUp(&acc.bonded, num, den)
	cuts := make([]uint256.Int, len(acc.unbonding))
	total := cutBond
	for i := range acc.unbonding {
		if acc.unbonding[i].Start >= op.Since {
			cuts[i] = mulDivUp(&acc.unbonding[i].Amount, num, den)
			total.Add(&total, &cuts[i])
		}
	}
	if total.IsZero() {
		return nil, insufficient(op.Target, "bonded", &total, new(uint256.Int).SetOne())
	}
	reward := mulDivDown(&total, uint256.NewInt(uint64(op.RewardBps)), uint256.NewInt(10000))
	var rest uint256.Int
	rest.Sub(&total, &reward)
	if op.Beneficiary != op.Target {
		if err := l.canCredit(op.Beneficiary, &reward); err != nil {
			return nil, err
		}
	}
	acc.bonded.Sub(&acc.bonded, &cutBond)
	keep := acc.unbonding[:0]
	for i := range acc.unbonding {
		acc.unbonding[i].Amount.Sub(&acc.unbonding[i].Amount, &cuts[i])
		if !acc.unbonding[i].Amount.IsZero() {
			keep = append(keep, acc.unbonding[i])
		}
	}
	if len(keep) == 0 {
		keep = nil
	}
	acc.unbonding = keep
	if !reward.IsZero() {
		l.credit(op.Beneficiary, &reward)
	}
	if op.Treasury == "" {
		l.burned.Add(&l.burned, &rest)
	} else {
		l.addTreasury(op.Treasury, &rest)
	}
	l.gc(op.Target)
	d := make([]byte, 0, 20+32+32+8+20+32+1+len(op.Treasury))
	d = append(d, op.Target[:]...)
	d = appendAmt(d, &cutBond)
	var cutUnb uint256.Int
	cutUnb.Sub(&total, &cutBond)
	d = appendAmt(d, &cutUnb)
	d = appendU64(d, op.Since)
	d = append(d, op.Beneficiary[:]...)
	d = appendAmt(d, &reward)
	d = appendName(d, op.Treasury)
	return []sm.Event{{Machine: Name, Kind: "slash", Data: d}}, nil
}

func (l *Ledger) payout(caller Address, op *Payout) ([]sm.Event, error) {
	if !l.IsAuthority(caller) {
		return nil, fmt.Errorf("stake: payout by %s: %w", caller, ErrNotAuthorized)
	}
	if !validTreasury(op.Treasury) {
		return nil, fmt.Errorf("%w: treasury name %q", ErrMalformed, op.Treasury)
	}
	if op.Total.IsZero() {
		return nil, fmt.Errorf("stake: payout: %w", ErrZeroAmount)
	}
	if len(op.Recipients) == 0 || len(op.Recipients) > MaxPayouts {
		return nil, fmt.Errorf("stake: payout: %w: %d recipients", ErrInvalidPayout, len(op.Recipients))
	}
	var wsum uint256.Int
	for i := range op.Recipients {
		wsum.AddUint64(&wsum, op.Recipients[i].Weight) // at most 1024 * 2^64: no overflow
	}
	if wsum.IsZero() {
		return nil, fmt.Errorf("stake: payout: %w: weights sum to zero", ErrInvalidPayout)
	}
	have := l.Treasury(op.Treasury)
	if have.Lt(&op.Total) {
		return nil, insufficient(Address{}, "treasury "+op.Treasury, &have, &op.Total)
	}
	shares := make([]uint256.Int, len(op.Recipients))
	var paid uint256.Int
	for i := range op.Recipients {
		shares[i] = mulDivDown(&op.Total, uint256.NewInt(op.Recipients[i].Weight), &wsum)
		paid.Add(&paid, &shares[i])
	}
	l.subTreasury(op.Treasury, &op.Total)
	ev := make([]sm.Event, 0, len(op.Recipients)+1)
	for i := range op.Recipients {
		to := op.Recipients[i].To
		if !shares[i].IsZero() {
			l.credit(to, &shares[i])
		}
		d := appendName(evAddrAmt(to, &shares[i]), op.Treasury)
		ev = append(ev, sm.Event{Machine: Name, Kind: "payout", Data: d})
	}
	var dust uint256.Int
	dust.Sub(&op.Total, &paid)
	if !dust.IsZero() {
		l.addTreasury(TreasuryDust, &dust)
		ev = append(ev, sm.Event{Machine: Name, Kind: "dust", Data: appendName(appendAmt(nil, &dust), op.Treasury)})
	}
	return ev, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// endOf returns start + period, saturating at 2^64-1.
func endOf(start, period uint64) uint64 {
	end := start + period
	if end < start {
		return ^uint64(0)
	}
	return end
}

// canonicalUnbonding reports whether entries are ordered by Start strictly ascending, with
// End = Start + period (saturating) and nonzero amounts.
func canonicalUnbonding(u []Unbonding, period uint64) bool {
	for i := range u {
		if u[i].Amount.IsZero() || u[i].End != endOf(u[i].Start, period) {
			return false
		}
		if i > 0 && u[i-1].Start >= u[i].Start {
			return false
		}
	}
	return true
}
