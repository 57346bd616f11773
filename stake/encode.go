package stake

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"github.com/deai-go/deai/internal/canon"
	"slices"

	"github.com/holiman/uint256"
)

// Encoding versions.
const (
	txVersion    = 1
	stateVersion = 1
	queryVersion = 1
)

func appendAmt(b []byte, x *uint256.Int) []byte {
	var a [32]byte
	x.WriteToArray32(&a)
	return append(b, a[:]...)
}

func appendU64(b []byte, x uint64) []byte { return binary.BigEndian.AppendUint64(b, x) }

func appendName(b []byte, name string) []byte { return append(append(b, byte(len(name))), name...) }

func evAddrAmt(a Address, x *uint256.Int) []byte {
	b := make([]byte, 0, 20+32+8)
	b = append(b, a[:]...)
	return appendAmt(b, x)
}

func evAddrAddrAmt(a, c Address, x *uint256.Int) []byte {
	b := make([]byte, 0, 20+20+32)
	b = append(b, a[:]...)
	b = append(b, c[:]...)
	return appendAmt(b, x)
}

// EncodeOp returns the canonical encoding of op (see the package documentation).
func EncodeOp(op Op) ([]byte, error) {
	b := []byte{txVersion, 0}
	switch op := op.(type) {
	case Transfer:
		b = append(b, op.To[:]...)
		b = appendAmt(b, &op.Amount)
	case Bond:
		b = appendAmt(b, &op.Amount)
	case Unbond:
		b = appendAmt(b, &op.Amount)
	case Withdraw:
	case Burn:
		b = appendAmt(b, &op.Amount)
	case Fund:
		if !validTreasury(op.Treasury) {
			return nil, fmt.Errorf("%w: treasury name %q", ErrMalformed, op.Treasury)
		}
		b = appendName(b, op.Treasury)
		b = appendAmt(b, &op.Amount)
	case EscrowCreate:
		b = append(b, op.ID[:]...)
		b = append(b, op.Arbiter[:]...)
		b = appendAmt(b, &op.Amount)
	case EscrowRelease:
		if len(op.Payouts) == 0 || len(op.Payouts) > MaxPayouts {
			return nil, fmt.Errorf("%w: %d payees", ErrMalformed, len(op.Payouts))
		}
		b = append(b, op.ID[:]...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(op.Payouts)))
		for i := range op.Payouts {
			b = append(b, op.Payouts[i].To[:]...)
			b = appendAmt(b, &op.Payouts[i].Amount)
		}
	case EscrowRefund:
		b = append(b, op.ID[:]...)
	case Slash:
		if op.Treasury != "" && !validTreasury(op.Treasury) {
			return nil, fmt.Errorf("%w: treasury name %q", ErrMalformed, op.Treasury)
		}
		b = append(b, op.Target[:]...)
		b = appendU64(b, op.Num)
		b = appendU64(b, op.Den)
		b = appendU64(b, op.Since)
		b = append(b, op.Beneficiary[:]...)
		b = binary.BigEndian.AppendUint32(b, op.RewardBps)
		b = appendName(b, op.Treasury)
	case Payout:
		if !validTreasury(op.Treasury) {
			return nil, fmt.Errorf("%w: treasury name %q", ErrMalformed, op.Treasury)
		}
		if len(op.Recipients) == 0 || len(op.Recipients) > MaxPayouts {
			return nil, fmt.Errorf("%w: %d recipients", ErrMalformed, len(op.Recipients))
		}
		b = appendName(b, op.Treasury)
		b = appendAmt(b, &op.Total)
		b = binary.BigEndian.AppendUint16(b, uint16(len(op.Recipients)))
		for _, r := range op.Recipients {
			b = append(b, r.To[:]...)
			b = appendU64(b, r.Weight)
		}
	default:
		return nil, fmt.Errorf("%w: unknown operation %T", ErrMalformed, op)
	}
	b[1] = op.opcode()
	return b, nil
}

// reader decodes canonical encodings; the first failure sticks.
type reader struct{ canon.Reader }

func newReader(b []byte) *reader { return &reader{canon.Reader{B: b, Class: ErrMalformed}} }

func (r *reader) addr() Address { return Address(r.Addr()) }

// name reads a length-prefixed treasury name; empty only if allowEmpty.
func (r *reader) name(allowEmpty bool) string {
	n := int(r.U8())
	s := string(r.Take(n))
	if r.Err == nil && !(allowEmpty && n == 0) && !validTreasury(s) {
		r.Fail("treasury name %q", s)
	}
	return s
}

// count reads a u16 element count in [1, MaxPayouts] and checks that the rest of the input
// can hold that many elements of size each.
func (r *reader) count(each int) int {
	n := int(r.U16())
	if r.Err == nil && (n == 0 || n > MaxPayouts) {
		r.Fail("count %d not in [1, %d]", n, MaxPayouts)
	}
	if r.Err == nil && len(r.B) < n*each {
		r.Fail("truncated: %d elements of %d bytes, have %d", n, each, len(r.B))
	}
	return n
}

// DecodeOp decodes a canonical operation encoding. Every byte string it accepts re-encodes to
// itself; everything else fails with an error wrapping ErrMalformed.
func DecodeOp(b []byte) (Op, error) {
	r := newReader(b)
	if v := r.U8(); r.Err == nil && v != txVersion {
		r.Fail("version %d", v)
	}
	code := r.U8()
	var op Op
	switch code {
	case opTransfer:
		op = Transfer{To: r.addr(), Amount: r.Amount()}
	case opBond:
		op = Bond{Amount: r.Amount()}
	case opUnbond:
		op = Unbond{Amount: r.Amount()}
	case opWithdraw:
		op = Withdraw{}
	case opBurn:
		op = Burn{Amount: r.Amount()}
	case opFund:
		name := r.name(false)
		op = Fund{Treasury: name, Amount: r.Amount()}
	case opEscrowCreate:
		id := r.ID()
		arb := r.addr()
		op = EscrowCreate{ID: id, Arbiter: arb, Amount: r.Amount()}
	case opEscrowRelease:
		id := r.ID()
		n := r.count(52)
		var ps []PayTo
		if r.Err == nil {
			ps = make([]PayTo, n)
			for i := range ps {
				ps[i].To = r.addr()
				ps[i].Amount = r.Amount()
			}
		}
		op = EscrowRelease{ID: id, Payouts: ps}
	case opEscrowRefund:
		op = EscrowRefund{ID: r.ID()}
	case opSlash:
		var s Slash
		s.Target = r.addr()
		s.Num = r.U64()
		s.Den = r.U64()
		s.Since = r.U64()
		s.Beneficiary = r.addr()
		s.RewardBps = r.U32()
		s.Treasury = r.name(true)
		op = s
	case opPayout:
		var p Payout
		p.Treasury = r.name(false)
		p.Total = r.Amount()
		n := r.count(28)
		if r.Err == nil {
			p.Recipients = make([]Share, n)
			for i := range p.Recipients {
				p.Recipients[i].To = r.addr()
				p.Recipients[i].Weight = r.U64()
			}
		}
		op = p
	default:
		if r.Err == nil {
			r.Fail("unknown operation %d", code)
		}
	}
	r.End()
	if r.Err != nil {
		return nil, fmt.Errorf("stake: decode operation: %w", r.Err)
	}
	return op, nil
}

// Export encodes the whole state canonically (see the package documentation). It never
// fails; the error is for sm.Machine.
func (l *Ledger) Export() ([]byte, error) {
	return l.export(), nil
}

func (l *Ledger) export() []byte {
	n := 1 + 16 + 4 + 20*len(l.authorities) + 64 + 4 + 33*len(l.treasuries) + 4 + 88*len(l.accounts) + 4 + 104*len(l.escrows)
	for _, a := range l.accounts {
		n += 48 * len(a.unbonding)
	}
	b := l.exportHead(make([]byte, 0, n))

	addrs := make([]Address, 0, len(l.accounts))
	for k := range l.accounts {
		addrs = append(addrs, k)
	}
	slices.SortFunc(addrs, cmpAddr)
	b = binary.BigEndian.AppendUint32(b, uint32(len(addrs)))
	for _, k := range addrs {
		b = appendAccount(append(b, k[:]...), l.accounts[k])
	}

	ids := make([][32]byte, 0, len(l.escrows))
	for k := range l.escrows {
		ids = append(ids, k)
	}
	slices.SortFunc(ids, cmpID)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, k := range ids {
		b = appendEscrow(append(b, k[:]...), l.escrows[k])
	}
	return b
}

// appendAccount appends balance ‖ bonded ‖ u32 m ‖ m × (amount ‖ start ‖ end).
func appendAccount(b []byte, a *account) []byte {
	b = appendAmt(b, &a.balance)
	b = appendAmt(b, &a.bonded)
	b = binary.BigEndian.AppendUint32(b, uint32(len(a.unbonding)))
	for i := range a.unbonding {
		b = appendAmt(b, &a.unbonding[i].Amount)
		b = appendU64(b, a.unbonding[i].Start)
		b = appendU64(b, a.unbonding[i].End)
	}
	return b
}

// appendEscrow appends owner ‖ arbiter ‖ amount.
func appendEscrow(b []byte, e *escrow) []byte {
	b = append(b, e.owner[:]...)
	b = append(b, e.arbiter[:]...)
	return appendAmt(b, &e.amount)
}

// exportHead appends the export up to and including the treasuries.
func (l *Ledger) exportHead(b []byte) []byte {
	b = append(b, stateVersion)
	b = appendU64(b, l.params.UnbondingPeriod)
	b = binary.BigEndian.AppendUint32(b, l.params.MaxUnbondingEntries)
	b = binary.BigEndian.AppendUint32(b, l.params.FeeBps)
	b = binary.BigEndian.AppendUint32(b, uint32(len(l.authorities)))
	for _, a := range l.authorities {
		b = append(b, a[:]...)
	}
	b = appendAmt(b, &l.minted)
	b = appendAmt(b, &l.burned)

	names := make([]string, 0, len(l.treasuries))
	for k := range l.treasuries {
		names = append(names, k)
	}
	slices.Sort(names)
	b = binary.BigEndian.AppendUint32(b, uint32(len(names)))
	for _, k := range names {
		b = appendName(b, k)
		b = appendAmt(b, l.treasuries[k])
	}
	return b
}

// Import replaces the state with an exported one. It rejects, with an error wrapping
// ErrMalformed or ErrInvalidState and the ledger unchanged, anything Export would not have
// produced from a valid state: unsorted or duplicate keys, zero holdings, entries breaking the
// parameters, or holdings that do not sum to the minted supply.
func (l *Ledger) Import(state []byte) error {
	nl, err := importState(state)
	if err != nil {
		return fmt.Errorf("stake: import: %w", err)
	}
	*l = *nl
	return nil
}

// Open returns a ledger from an exported state.
func Open(state []byte) (*Ledger, error) {
	l, err := importState(state)
	if err != nil {
		return nil, fmt.Errorf("stake: open: %w", err)
	}
	return l, nil
}

func importState(state []byte) (*Ledger, error) {
	r := newReader(state)
	if v := r.U8(); r.Err == nil && v != stateVersion {
		r.Fail("state version %d", v)
	}
	l := newLedger()
	l.params.UnbondingPeriod = r.U64()
	l.params.MaxUnbondingEntries = r.U32()
	l.params.FeeBps = r.U32()
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidState}, args...)...)
	}
	if r.Err == nil && (l.params.UnbondingPeriod == 0 || l.params.MaxUnbondingEntries == 0 ||
		l.params.MaxUnbondingEntries > 1024 || l.params.FeeBps > 10000) {
		return nil, invalid("params %+v", l.params)
	}
	// Every element takes at least 20 bytes, so a count above len/20 is malformed; this
	// bounds allocations by the input size.
	bound := func(n uint32, each int) int {
		if r.Err == nil && uint64(n)*uint64(each) > uint64(len(r.B)) {
			r.Fail("count %d of %d-byte elements exceeds the %d bytes left", n, each, len(r.B))
			return 0
		}
		return int(n)
	}
	na := bound(r.U32(), 20)
	for i := 0; i < na && r.Err == nil; i++ {
		a := r.addr()
		if i > 0 && bytes.Compare(l.authorities[i-1][:], a[:]) >= 0 {
			return nil, invalid("authorities not strictly sorted")
		}
		l.authorities = append(l.authorities, a)
	}
	l.minted = r.Amount()
	l.burned = r.Amount()
	nt := bound(r.U32(), 33)
	prev := ""
	for i := 0; i < nt && r.Err == nil; i++ {
		name := r.name(false)
		v := r.Amount()
		if r.Err != nil {
			break
		}
		if i > 0 && prev >= name {
			return nil, invalid("treasuries not strictly sorted")
		}
		if v.IsZero() {
			return nil, invalid("treasury %q holds zero", name)
		}
		prev = name
		l.treasuries[name] = &v
	}
	nacc := bound(r.U32(), 88)
	var prevA Address
	for i := 0; i < nacc && r.Err == nil; i++ {
		k := r.addr()
		a := &account{balance: r.Amount(), bonded: r.Amount()}
		nu := bound(r.U32(), 48)
		if r.Err != nil {
			break
		}
		if nu > int(l.params.MaxUnbondingEntries) {
			return nil, invalid("account %s has %d unbonding entries", k, nu)
		}
		for j := 0; j < nu && r.Err == nil; j++ {
			a.unbonding = append(a.unbonding, Unbonding{Amount: r.Amount(), Start: r.U64(), End: r.U64()})
		}
		if r.Err != nil {
			break
		}
		if i > 0 && bytes.Compare(prevA[:], k[:]) >= 0 {
			return nil, invalid("accounts not strictly sorted")
		}
		if a.empty() {
			return nil, invalid("account %s holds nothing", k)
		}
		if !canonicalUnbonding(a.unbonding, l.params.UnbondingPeriod) {
			return nil, invalid("account %s: unbonding entries not canonical", k)
		}
		prevA = k
		l.accounts[k] = a
		l.acct.add(k)
	}
	ne := bound(r.U32(), 104)
	var prevID [32]byte
	for i := 0; i < ne && r.Err == nil; i++ {
		id := r.ID()
		e := &escrow{owner: r.addr(), arbiter: r.addr(), amount: r.Amount()}
		if r.Err != nil {
			break
		}
		if i > 0 && bytes.Compare(prevID[:], id[:]) >= 0 {
			return nil, invalid("escrows not strictly sorted")
		}
		if e.amount.IsZero() {
			return nil, invalid("escrow %x holds zero", id)
		}
		prevID = id
		l.escrows[id] = e
		l.esct.add(id)
	}
	r.End()
	if r.Err != nil {
		return nil, r.Err
	}
	if err := l.Check(); err != nil {
		return nil, err
	}
	return l, nil
}

// Root returns SHA-256("deai/stake/root/v2\x00" ‖ SHA-256(head) ‖ accounts tree root ‖
// escrows tree root), head being Export's encoding up to and including the treasuries. Its
// cost is proportional to what changed since the last call (see the package documentation).
func (l *Ledger) Root() [32]byte {
	head := sha256.Sum256(l.exportHead(nil))
	a, e := l.acct.root(), l.esct.root()
	h := sha256.New()
	h.Write([]byte("deai/stake/root/v2\x00"))
	h.Write(head[:])
	h.Write(a[:])
	h.Write(e[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Query kinds.
const (
	queryAccount  = 1
	queryEscrow   = 2
	queryTreasury = 3
	querySupply   = 4
)

// QueryAccount returns the query for a's account; the answer decodes with DecodeAccount.
func QueryAccount(a Address) []byte { return append([]byte{queryVersion, queryAccount}, a[:]...) }

// QueryEscrow returns the query for an escrow; the answer decodes with DecodeEscrow.
func QueryEscrow(id [32]byte) []byte { return append([]byte{queryVersion, queryEscrow}, id[:]...) }

// QueryTreasury returns the query for a treasury; the answer is a 32-byte big-endian amount.
func QueryTreasury(name string) []byte {
	return appendName([]byte{queryVersion, queryTreasury}, name)
}

// QuerySupply returns the query for the supply; the answer is minted[32] ‖ burned[32].
func QuerySupply() []byte { return []byte{queryVersion, querySupply} }

// Query answers a query made by QueryAccount, QueryEscrow, QueryTreasury or QuerySupply.
func (l *Ledger) Query(q []byte) ([]byte, error) {
	r := newReader(q)
	if v := r.U8(); r.Err == nil && v != queryVersion {
		r.Fail("query version %d", v)
	}
	var out []byte
	switch k := r.U8(); k {
	case queryAccount:
		a := r.addr()
		r.End()
		if r.Err == nil {
			out = EncodeAccount(l.Account(a))
		}
	case queryEscrow:
		id := r.ID()
		r.End()
		if r.Err == nil {
			e, ok := l.Escrow(id)
			if !ok {
				return nil, fmt.Errorf("stake: query escrow %x: %w", id, ErrUnknownEscrow)
			}
			out = append(append(append(append([]byte(nil), e.ID[:]...), e.Owner[:]...), e.Arbiter[:]...), e.Amount.PaddedBytes(32)...)
		}
	case queryTreasury:
		name := r.name(false)
		r.End()
		if r.Err == nil {
			v := l.Treasury(name)
			out = appendAmt(nil, &v)
		}
	case querySupply:
		r.End()
		out = appendAmt(appendAmt(nil, &l.minted), &l.burned)
	default:
		if r.Err == nil {
			r.Fail("unknown query %d", k)
		}
	}
	if r.Err != nil {
		return nil, fmt.Errorf("stake: query: %w", r.Err)
	}
	return out, nil
}

// EncodeAccount encodes an account as Export does, without the address.
func EncodeAccount(a Account) []byte {
	b := make([]byte, 0, 68+48*len(a.Unbonding))
	b = appendAmt(b, &a.Balance)
	b = appendAmt(b, &a.Bonded)
	b = binary.BigEndian.AppendUint32(b, uint32(len(a.Unbonding)))
	for i := range a.Unbonding {
		b = appendAmt(b, &a.Unbonding[i].Amount)
		b = appendU64(b, a.Unbonding[i].Start)
		b = appendU64(b, a.Unbonding[i].End)
	}
	return b
}

// DecodeAccount decodes EncodeAccount's encoding.
func DecodeAccount(b []byte) (Account, error) {
	r := newReader(b)
	a := Account{Balance: r.Amount(), Bonded: r.Amount()}
	n := r.U32()
	if r.Err == nil && uint64(n)*48 != uint64(len(r.B)) {
		r.Fail("%d unbonding entries in %d bytes", n, len(r.B))
	}
	for i := 0; i < int(n) && r.Err == nil; i++ {
		a.Unbonding = append(a.Unbonding, Unbonding{Amount: r.Amount(), Start: r.U64(), End: r.U64()})
	}
	r.End()
	if r.Err != nil {
		return Account{}, fmt.Errorf("stake: decode account: %w", r.Err)
	}
	return a, nil
}

// DecodeEscrow decodes the answer to QueryEscrow: id[32] ‖ owner[20] ‖ arbiter[20] ‖
// amount[32].
func DecodeEscrow(b []byte) (Escrow, error) {
	r := newReader(b)
	e := Escrow{ID: r.ID(), Owner: r.addr(), Arbiter: r.addr(), Amount: r.Amount()}
	r.End()
	if r.Err != nil {
		return Escrow{}, fmt.Errorf("stake: decode escrow: %w", r.Err)
	}
	return e, nil
}
