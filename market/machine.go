package market

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// Name is the machine name of the market on a chain.
const Name = "market"

// Ledger is what the market needs of the token ledger: to move tokens on behalf of a sender
// and to read bonds and escrows. *stake.Ledger implements it. ApplyOp must leave the ledger
// unchanged when it fails.
type Ledger interface {
	ApplyOp(env sm.Env, sender stake.Address, op stake.Op) ([]sm.Event, error)
	Account(a stake.Address) stake.Account
	Escrow(id [32]byte) (stake.Escrow, bool)
}

var _ Ledger = (*stake.Ledger)(nil)

// Config configures a Machine. Zero values take the documented defaults.
type Config struct {
	// Address is the market's own address on the ledger: the arbiter of every task escrow.
	Address stake.Address
	// Settlers may Settle tasks (the dispute machine's address, a governance key).
	Settlers []stake.Address
	// Verifiers and Whistleblowers are how many of each AssignVerifiers draws. Defaults 3
	// and 1.
	Verifiers, Whistleblowers int
	// AcceptWindow is how long, in seconds after the bid window, a submitter may Accept.
	// Default 3600.
	AcceptWindow uint64
	// MaxWindow bounds an auction's bid window in seconds. Default 604800 (7 days).
	MaxWindow uint64
}

// EnsureDefaults returns c with zero fields replaced by their defaults.
func (c Config) EnsureDefaults() Config {
	if c.Verifiers == 0 {
		c.Verifiers = 3
	}
	if c.Whistleblowers == 0 {
		c.Whistleblowers = 1
	}
	if c.AcceptWindow == 0 {
		c.AcceptWindow = 3600
	}
	if c.MaxWindow == 0 {
		c.MaxWindow = 7 * 24 * 3600
	}
	return c
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Address == (stake.Address{}) {
		errs = append(errs, errors.New("market: config: zero market address"))
	}
	if c.Verifiers < 0 || c.Verifiers > 64 || c.Whistleblowers < 0 || c.Whistleblowers > 64 {
		errs = append(errs, fmt.Errorf("market: config: %d verifiers and %d whistleblowers, each must be in [0, 64]", c.Verifiers, c.Whistleblowers))
	}
	return errors.Join(errs...)
}

// OfferStatus is where an offer stands.
type OfferStatus uint8

// Offer statuses.
const (
	OfferAttesting OfferStatus = 1 // posted; benchmark running
	OfferCommitted OfferStatus = 2 // benchmark root committed; proof due
	OfferActive    OfferStatus = 3 // verified; resting in the book
	OfferFailed    OfferStatus = 4 // a sampled round did not check; never matched
)

// Offer is an offer as the machine keeps it.
type Offer struct {
	ID         [32]byte
	Solver     stake.Address
	Props      Props
	Price      uint256.Int
	Claimed    uint64 // capacity claimed, work units per second
	Stake      uint256.Int
	Identities [][20]byte
	Status     OfferStatus
	Seed       uint64
	Start      uint64 // chain time of posting
	Root       [32]byte
	Rounds     uint64
	Height     uint64 // height of the commitment
	// Capacity is the verified capacity: min(Claimed, Rounds × BenchGasPerRound / elapsed).
	Capacity uint64
	Reserved uint64
}

// TaskStatus is where a task stands.
type TaskStatus uint8

// Task statuses.
const (
	TaskAuction  TaskStatus = 1
	TaskMatched  TaskStatus = 2
	TaskProven   TaskStatus = 3
	TaskAssigned TaskStatus = 4
	TaskSettled  TaskStatus = 5
	TaskRefunded TaskStatus = 6
)

// BidEntry is one bid of an auction.
type BidEntry struct {
	Offer [32]byte
	Price uint256.Int
}

// Task is a task as the machine keeps it.
type Task struct {
	ID        [32]byte
	Submitter stake.Address
	SpecHash  [32]byte
	Mode      Mode
	Units     uint64
	Rate      uint64
	MaxPrice  uint256.Int
	Escrowed  uint256.Int
	Deadline  uint64
	WindowEnd uint64
	Req       Requirements
	Memory    uint64 // effective memory requirement
	Status    TaskStatus
	Bids      []BidEntry // ascending offer ID
	Offer     [32]byte
	Price     uint256.Int
	Proof     [32]byte
	Height    uint64 // height of the proof commitment
	Assigned  [][20]byte
	Paid      uint256.Int
	Refunded  uint256.Int
}

// Machine is the market's chain state machine: offers, tasks, auctions and assignments,
// with tokens moving through a Ledger. It implements sm.Machine and is not safe for
// concurrent use.
type Machine struct {
	cfg       Config
	ledger    Ledger
	book      *Book
	offers    map[[32]byte]*Offer
	tasks     map[[32]byte]*Task
	verifiers map[[20]byte]bool
}

var _ sm.Machine = (*Machine)(nil)

// New returns an empty market over ledger.
func New(cfg Config, ledger Ledger) (*Machine, error) {
	cfg = cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ledger == nil {
		return nil, errors.New("market: nil ledger")
	}
	m := &Machine{cfg: cfg, ledger: ledger}
	m.reset()
	return m, nil
}

func (m *Machine) reset() {
	m.book = NewBook()
	m.offers = map[[32]byte]*Offer{}
	m.tasks = map[[32]byte]*Task{}
	m.verifiers = map[[20]byte]bool{}
}

// Name returns "market".
func (m *Machine) Name() string { return Name }

// Offer returns the offer with the given ID.
func (m *Machine) Offer(id [32]byte) (Offer, bool) {
	o := m.offers[id]
	if o == nil {
		return Offer{}, false
	}
	c := *o
	c.Identities = slices.Clone(o.Identities)
	if r, ok := m.book.Get(id); ok {
		c.Reserved = r.Reserved
	}
	return c, true
}

// Task returns the task with the given ID.
func (m *Machine) Task(id [32]byte) (Task, bool) {
	t := m.tasks[id]
	if t == nil {
		return Task{}, false
	}
	c := *t
	c.Bids = slices.Clone(t.Bids)
	c.Assigned = slices.Clone(t.Assigned)
	return c, true
}

// EscrowID returns the ledger escrow ID of a task: SHA-256("deai/market/escrow/v1\x00" ‖
// task).
func EscrowID(task [32]byte) [32]byte {
	return sha256.Sum256(append([]byte("deai/market/escrow/v1\x00"), task[:]...))
}

func event(kind string, parts ...[]byte) sm.Event {
	return sm.Event{Machine: Name, Kind: kind, Data: bytes.Join(parts, nil)}
}

func amtBytes(x *uint256.Int) []byte { b := x.Bytes32(); return b[:] }

// Apply executes one transaction (see doc.go). On error nothing changed, here or in the
// ledger.
func (m *Machine) Apply(env sm.Env, sender [20]byte, payload []byte) ([]sm.Event, error) {
	tx, err := DecodeTx(payload)
	if err != nil {
		return nil, err
	}
	return m.ApplyTx(env, sender, tx)
}

// ApplyTx executes one decoded transaction.
func (m *Machine) ApplyTx(env sm.Env, sender stake.Address, tx Tx) ([]sm.Event, error) {
	switch t := tx.(type) {
	case PostOffer:
		return m.postOffer(env, sender, &t)
	case CommitAttestation:
		return m.commitAttestation(env, sender, &t)
	case ProveAttestation:
		return m.proveAttestation(env, sender, &t)
	case CloseOffer:
		return m.closeOffer(sender, t.Offer)
	case PostTask:
		return m.postTask(env, sender, &t)
	case Bid:
		return m.bid(env, sender, &t)
	case Accept:
		return m.accept(env, sender, &t)
	case CloseAuction:
		return m.closeAuction(env, t.Task)
	case CommitProof:
		return m.commitProof(env, sender, &t)
	case AssignVerifiers:
		return m.assign(env, t.Task)
	case Settle:
		return m.settle(env, sender, &t)
	case Expire:
		return m.expire(env, t.Task)
	case RegisterVerifier:
		if m.verifiers[sender] {
			return nil, fmt.Errorf("%w: verifier %x registered", ErrExists, sender[:4])
		}
		m.verifiers[sender] = true
		return []sm.Event{event("verifier", sender[:])}, nil
	}
	return nil, fmt.Errorf("%w: transaction type %T", ErrMalformed, tx)
}

func (m *Machine) postOffer(env sm.Env, sender stake.Address, t *PostOffer) ([]sm.Event, error) {
	var errs []error
	if _, ok := m.offers[t.ID]; ok {
		return nil, fmt.Errorf("%w: offer %x", ErrExists, t.ID[:4])
	}
	if t.Price.IsZero() {
		errs = append(errs, fmt.Errorf("%w: zero price", ErrPrice))
	}
	if t.Capacity == 0 {
		errs = append(errs, fmt.Errorf("%w: zero capacity", ErrInvalidOffer))
	}
	if t.Props.Memory == 0 || t.Props.Precisions == 0 || !t.Props.Precisions.Valid() {
		errs = append(errs, fmt.Errorf("%w: device memory %d, precisions %#x", ErrInvalidOffer, t.Props.Memory, uint8(t.Props.Precisions)))
	}
	if len(t.Identities) > MaxIdentities {
		errs = append(errs, fmt.Errorf("%w: %d identities", ErrInvalidOffer, len(t.Identities)))
	}
	if b := m.ledger.Account(sender).Bonded; t.Stake.Gt(&b) {
		errs = append(errs, fmt.Errorf("%w: offer stake %s exceeds the bond %s", ErrStake, t.Stake.Dec(), b.Dec()))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.offers[t.ID] = &Offer{ID: t.ID, Solver: sender, Props: t.Props, Price: t.Price, Claimed: t.Capacity, Stake: t.Stake,
		Identities: slices.Clone(t.Identities), Status: OfferAttesting, Seed: BenchSeed(t.ID, env.Beacon), Start: env.Time}
	return []sm.Event{event("offer_post", t.ID[:], sender[:])}, nil
}

func (m *Machine) ownOffer(sender stake.Address, id [32]byte, want OfferStatus) (*Offer, error) {
	o := m.offers[id]
	if o == nil {
		return nil, fmt.Errorf("%w: offer %x", ErrUnknown, id[:4])
	}
	if o.Solver != sender {
		return nil, fmt.Errorf("%w: offer %x belongs to %x", ErrNotAuthorized, id[:4], o.Solver[:4])
	}
	if want != 0 && o.Status != want {
		return nil, fmt.Errorf("%w: offer %x has status %d, want %d", ErrState, id[:4], o.Status, want)
	}
	return o, nil
}

func (m *Machine) commitAttestation(env sm.Env, sender stake.Address, t *CommitAttestation) ([]sm.Event, error) {
	o, err := m.ownOffer(sender, t.Offer, OfferAttesting)
	if err != nil {
		return nil, err
	}
	if t.Rounds < MinRounds || t.Rounds > MaxRounds {
		return nil, fmt.Errorf("%w: %d rounds out of range [%d, %d]", ErrAttestation, t.Rounds, MinRounds, MaxRounds)
	}
	o.Root, o.Rounds, o.Height, o.Status = t.Root, t.Rounds, env.Height, OfferCommitted
	return []sm.Event{event("attest_commit", t.Offer[:], t.Root[:])}, nil
}

func (m *Machine) proveAttestation(env sm.Env, sender stake.Address, t *ProveAttestation) ([]sm.Event, error) {
	o, err := m.ownOffer(sender, t.Offer, OfferCommitted)
	if err != nil {
		return nil, err
	}
	if env.Height <= o.Height {
		return nil, fmt.Errorf("%w: proof at height %d, commitment at %d: samples need a later beacon", ErrState, env.Height, o.Height)
	}
	if err := CheckSamples(o.Seed, o.ID, o.Root, env.Beacon, o.Rounds, t.Paths); err != nil {
		o.Status = OfferFailed
		return []sm.Event{event("attest_fail", t.Offer[:])}, nil
	}
	elapsed := max(1, env.Time-min(env.Time, o.Start))
	capacity := min(o.Claimed, o.Rounds*BenchGasPerRound/elapsed)
	if capacity == 0 {
		o.Status = OfferFailed
		return []sm.Event{event("attest_fail", t.Offer[:])}, nil
	}
	r := Resting{ID: o.ID, Solver: o.Solver, Props: o.Props, Price: o.Price, Capacity: capacity, Stake: o.Stake}
	if err := m.book.Add(r); err != nil {
		return nil, err
	}
	o.Capacity, o.Status = capacity, OfferActive
	return []sm.Event{event("attest_ok", t.Offer[:], u64Bytes(capacity))}, nil
}

func u64Bytes(x uint64) []byte {
	w := &writer{}
	w.u64(x)
	return w.b
}

func (m *Machine) closeOffer(sender stake.Address, id [32]byte) ([]sm.Event, error) {
	o, err := m.ownOffer(sender, id, 0)
	if err != nil {
		return nil, err
	}
	if o.Status == OfferActive {
		if r, _ := m.book.Get(id); r.Reserved != 0 {
			return nil, fmt.Errorf("%w: offer %x reserves %d", ErrState, id[:4], r.Reserved)
		}
		if _, err := m.book.Remove(id); err != nil {
			return nil, err
		}
	}
	delete(m.offers, id)
	return []sm.Event{event("offer_close", id[:])}, nil
}

func (m *Machine) postTask(env sm.Env, sender stake.Address, t *PostTask) ([]sm.Event, error) {
	if _, ok := m.tasks[t.ID]; ok {
		return nil, fmt.Errorf("%w: task %x", ErrExists, t.ID[:4])
	}
	if t.Mode > AuctionSubmitter {
		return nil, fmt.Errorf("%w: mode %d", ErrInvalidSpec, t.Mode)
	}
	if t.Mode != Continuous && (t.Window == 0 || t.Window > m.cfg.MaxWindow) {
		return nil, fmt.Errorf("%w: bid window %d out of range [1, %d]", ErrInvalidSpec, t.Window, m.cfg.MaxWindow)
	}
	if t.Mode != Continuous && env.Time+t.Window >= t.Spec.Deadline {
		return nil, fmt.Errorf("%w: bid window ends at %d, deadline %d", ErrExpired, env.Time+t.Window, t.Spec.Deadline)
	}
	est, err := t.Spec.Estimate(env.Time)
	if err != nil {
		return nil, err
	}
	q, err := t.Spec.QuoteFor(est.Units)
	if err != nil {
		return nil, err
	}
	span := t.Spec.Deadline - env.Time
	if t.Mode != Continuous {
		span -= t.Window
	}
	task := &Task{ID: t.ID, Submitter: sender, SpecHash: sha256.Sum256(EncodeSpec(&t.Spec)), Mode: t.Mode, Units: est.Units,
		Rate: (est.Units + span - 1) / span, MaxPrice: q.MaxPrice, Escrowed: q.Escrow, Deadline: t.Spec.Deadline,
		Req: t.Spec.Req, Memory: t.Spec.MemoryNeed(est)}
	task.Req.Precisions = t.Spec.PrecisionNeed()
	var best Resting
	if t.Mode == Continuous {
		if best, err = m.book.Best(m.demand(task), env.Beacon); err != nil {
			return nil, err
		}
	}
	// Every check is done: the escrow is the only step that can still fail, and it
	// changes nothing when it does.
	evs, err := m.ledger.ApplyOp(env, sender, stake.EscrowCreate{ID: EscrowID(t.ID), Arbiter: m.cfg.Address, Amount: q.Escrow})
	if err != nil {
		return nil, fmt.Errorf("%w: escrow of task %x: %w", ErrStake, t.ID[:4], err)
	}
	m.tasks[t.ID] = task
	evs = append(evs, event("task_post", t.ID[:], sender[:], u64Bytes(est.Units), amtBytes(&q.Escrow)))
	if t.Mode == Continuous {
		m.mustReserve(best.ID, task.Rate)
		task.Status, task.Offer, task.Price = TaskMatched, best.ID, best.Price
		evs = append(evs, event("match", t.ID[:], best.ID[:], amtBytes(&best.Price)))
	} else {
		task.Status, task.WindowEnd = TaskAuction, env.Time+t.Window
	}
	return evs, nil
}

func (m *Machine) demand(t *Task) *Demand {
	return &Demand{Task: t.ID, Memory: t.Memory, Precisions: t.Req.Precisions, BitExact: t.Req.BitExact,
		MaxPrice: t.MaxPrice, Rate: t.Rate, MinStake: t.Req.MinStake}
}

// mustReserve and mustRelease change reservations whose feasibility was checked.
func (m *Machine) mustReserve(offer [32]byte, rate uint64) {
	if err := m.book.Reserve(offer, rate); err != nil {
		panic(fmt.Sprintf("market: checked reservation failed: %v", err))
	}
}

func (m *Machine) mustRelease(offer [32]byte, rate uint64) {
	if err := m.book.Release(offer, rate); err != nil {
		panic(fmt.Sprintf("market: checked release failed: %v", err))
	}
}

func (m *Machine) task(id [32]byte, want ...TaskStatus) (*Task, error) {
	t := m.tasks[id]
	if t == nil {
		return nil, fmt.Errorf("%w: task %x", ErrUnknown, id[:4])
	}
	if len(want) > 0 && !slices.Contains(want, t.Status) {
		return nil, fmt.Errorf("%w: task %x has status %d", ErrState, id[:4], t.Status)
	}
	return t, nil
}

func (m *Machine) bid(env sm.Env, sender stake.Address, b *Bid) ([]sm.Event, error) {
	t, err := m.task(b.Task, TaskAuction)
	if err != nil {
		return nil, err
	}
	o, err := m.ownOffer(sender, b.Offer, OfferActive)
	if err != nil {
		return nil, err
	}
	if env.Time >= t.WindowEnd {
		return nil, fmt.Errorf("%w: bid window of task %x ended at %d", ErrExpired, b.Task[:4], t.WindowEnd)
	}
	if b.Price.IsZero() || b.Price.Gt(&t.MaxPrice) {
		return nil, fmt.Errorf("%w: bid %s not in [1, ceiling %s]", ErrPrice, b.Price.Dec(), t.MaxPrice.Dec())
	}
	i, found := slices.BinarySearchFunc(t.Bids, b.Offer, func(e BidEntry, id [32]byte) int { return bytes.Compare(e.Offer[:], id[:]) })
	if found {
		return nil, fmt.Errorf("%w: offer %x bid already", ErrExists, b.Offer[:4])
	}
	r, _ := m.book.Get(o.ID)
	d := m.demand(t)
	d.MaxPrice = b.Price
	r.Price = b.Price
	if ok, why := r.Eligible(d); !ok {
		if why == "capacity" {
			return nil, fmt.Errorf("%w: offer %x has %d free, the task needs %d", ErrCapacity, o.ID[:4], r.Free(), t.Rate)
		}
		return nil, &RequirementError{Task: t.ID, Offers: 1, Why: why}
	}
	m.mustReserve(o.ID, t.Rate)
	t.Bids = slices.Insert(t.Bids, i, BidEntry{Offer: b.Offer, Price: b.Price})
	return []sm.Event{event("bid", b.Task[:], b.Offer[:], amtBytes(&b.Price))}, nil
}

// win makes offer the task's solver and releases every other bid's reservation.
func (m *Machine) win(t *Task, offer [32]byte, price uint256.Int) sm.Event {
	for _, b := range t.Bids {
		if b.Offer != offer {
			m.mustRelease(b.Offer, t.Rate)
		}
	}
	t.Bids = nil
	t.Status, t.Offer, t.Price = TaskMatched, offer, price
	return event("match", t.ID[:], offer[:], amtBytes(&price))
}

func (m *Machine) accept(env sm.Env, sender stake.Address, a *Accept) ([]sm.Event, error) {
	t, err := m.task(a.Task, TaskAuction)
	if err != nil {
		return nil, err
	}
	if t.Submitter != sender || t.Mode != AuctionSubmitter {
		return nil, fmt.Errorf("%w: only the submitter of a submitter-picked auction accepts", ErrNotAuthorized)
	}
	if env.Time < t.WindowEnd || env.Time >= t.WindowEnd+m.cfg.AcceptWindow {
		return nil, fmt.Errorf("%w: accept window of task %x is [%d, %d)", ErrExpired, a.Task[:4], t.WindowEnd, t.WindowEnd+m.cfg.AcceptWindow)
	}
	i, found := slices.BinarySearchFunc(t.Bids, a.Offer, func(e BidEntry, id [32]byte) int { return bytes.Compare(e.Offer[:], id[:]) })
	if !found {
		return nil, fmt.Errorf("%w: no bid of offer %x", ErrUnknown, a.Offer[:4])
	}
	return []sm.Event{m.win(t, a.Offer, t.Bids[i].Price)}, nil
}

func (m *Machine) closeAuction(env sm.Env, id [32]byte) ([]sm.Event, error) {
	t, err := m.task(id, TaskAuction)
	if err != nil {
		return nil, err
	}
	if env.Time < t.WindowEnd {
		return nil, fmt.Errorf("%w: bid window of task %x open until %d", ErrState, id[:4], t.WindowEnd)
	}
	if t.Mode == AuctionAuto && len(t.Bids) > 0 {
		best := 0
		for i := 1; i < len(t.Bids); i++ {
			a := Resting{ID: t.Bids[i].Offer, Price: t.Bids[i].Price}
			b := Resting{ID: t.Bids[best].Offer, Price: t.Bids[best].Price}
			if Better(&a, &b, t.ID, env.Beacon) {
				best = i
			}
		}
		return []sm.Event{m.win(t, t.Bids[best].Offer, t.Bids[best].Price)}, nil
	}
	if t.Mode == AuctionSubmitter && len(t.Bids) > 0 && env.Time < t.WindowEnd+m.cfg.AcceptWindow {
		return nil, fmt.Errorf("%w: task %x may still be accepted until %d", ErrState, id[:4], t.WindowEnd+m.cfg.AcceptWindow)
	}
	// Closed unaccepted: refund, then release every bid's reservation.
	evs, err := m.refund(env, t, &t.Escrowed)
	if err != nil {
		return nil, err
	}
	for _, b := range t.Bids {
		m.mustRelease(b.Offer, t.Rate)
	}
	t.Bids = nil
	t.Status = TaskRefunded
	return append(evs, event("auction_close", id[:])), nil
}

func (m *Machine) commitProof(env sm.Env, sender stake.Address, c *CommitProof) ([]sm.Event, error) {
	t, err := m.task(c.Task, TaskMatched)
	if err != nil {
		return nil, err
	}
	if o := m.offers[t.Offer]; o == nil || o.Solver != sender {
		return nil, fmt.Errorf("%w: only the task's solver commits its proof", ErrNotAuthorized)
	}
	if env.Time >= t.Deadline {
		return nil, fmt.Errorf("%w: deadline %d passed", ErrExpired, t.Deadline)
	}
	t.Proof, t.Height, t.Status = c.Root, env.Height, TaskProven
	return []sm.Event{event("proof_commit", c.Task[:], c.Root[:])}, nil
}

func (m *Machine) assign(env sm.Env, id [32]byte) ([]sm.Event, error) {
	t, err := m.task(id, TaskProven)
	if err != nil {
		return nil, err
	}
	if env.Height <= t.Height {
		return nil, fmt.Errorf("%w: assignment needs a beacon after the proof's block %d", ErrState, t.Height)
	}
	o := m.offers[t.Offer]
	exclude := append([][20]byte{o.Solver}, o.Identities...)
	addrs := make([][20]byte, 0, len(m.verifiers))
	for a := range m.verifiers {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, func(a, b [20]byte) int { return bytes.Compare(a[:], b[:]) })
	cands := make([]Candidate, len(addrs))
	for i, a := range addrs {
		cands[i] = Candidate{Addr: a, Weight: m.ledger.Account(a).Bonded}
	}
	got, err := Assign(t.ID, env.Beacon, cands, exclude, m.cfg.Verifiers+m.cfg.Whistleblowers)
	if err != nil {
		return nil, err
	}
	t.Assigned, t.Status = got, TaskAssigned
	evs := make([]sm.Event, 0, len(got))
	for i, a := range got {
		role := "verifier"
		if i >= m.cfg.Verifiers {
			role = "whistleblower"
		}
		evs = append(evs, event("assign", id[:], a[:], []byte(role)))
	}
	return evs, nil
}

// refund returns amt of the task's escrow to the submitter.
func (m *Machine) refund(env sm.Env, t *Task, amt *uint256.Int) ([]sm.Event, error) {
	if amt.IsZero() {
		return nil, nil
	}
	evs, err := m.ledger.ApplyOp(env, m.cfg.Address, stake.EscrowRefund{ID: EscrowID(t.ID)})
	if err != nil {
		return nil, fmt.Errorf("%w: refund of task %x: %w", ErrStake, t.ID[:4], err)
	}
	t.Refunded.Add(&t.Refunded, amt)
	return evs, nil
}

func (m *Machine) checkEscrow(t *Task) error {
	e, ok := m.ledger.Escrow(EscrowID(t.ID))
	if !ok || !e.Amount.Eq(&t.Escrowed) || e.Arbiter != m.cfg.Address {
		return fmt.Errorf("%w: escrow of task %x is not the %s the market holds", ErrStake, t.ID[:4], t.Escrowed.Dec())
	}
	return nil
}

func (m *Machine) settle(env sm.Env, sender stake.Address, s *Settle) ([]sm.Event, error) {
	if !slices.Contains(m.cfg.Settlers, sender) {
		return nil, fmt.Errorf("%w: %x is not a settler", ErrNotAuthorized, sender[:4])
	}
	t, err := m.task(s.Task, TaskProven, TaskAssigned)
	if err != nil {
		return nil, err
	}
	if err := m.checkEscrow(t); err != nil {
		return nil, err
	}
	var paid, rest uint256.Int
	if s.Accepted {
		paid, err = Fee(t.Units, &t.Price) // ≤ Escrowed since Price ≤ MaxPrice
		if err != nil {
			return nil, err
		}
	}
	rest.Sub(&t.Escrowed, &paid)
	var evs []sm.Event
	if !paid.IsZero() {
		o := m.offers[t.Offer]
		evs, err = m.ledger.ApplyOp(env, m.cfg.Address, stake.EscrowRelease{ID: EscrowID(t.ID), Payouts: []stake.PayTo{{To: o.Solver, Amount: paid}}})
		if err != nil {
			return nil, fmt.Errorf("%w: payment of task %x: %w", ErrStake, t.ID[:4], err)
		}
		t.Paid = paid
	}
	// The escrow exists, the market is its arbiter and it holds rest: the refund cannot
	// fail after a successful release.
	rev, err := m.refund(env, t, &rest)
	if err != nil {
		return nil, err
	}
	m.mustRelease(t.Offer, t.Rate)
	t.Status = TaskSettled
	evs = append(evs, rev...)
	return append(evs, event("settle", s.Task[:], amtBytes(&paid), amtBytes(&rest))), nil
}

func (m *Machine) expire(env sm.Env, id [32]byte) ([]sm.Event, error) {
	t, err := m.task(id, TaskMatched)
	if err != nil {
		return nil, err
	}
	if env.Time < t.Deadline {
		return nil, fmt.Errorf("%w: deadline %d not reached", ErrState, t.Deadline)
	}
	if err := m.checkEscrow(t); err != nil {
		return nil, err
	}
	evs, err := m.refund(env, t, &t.Escrowed)
	if err != nil {
		return nil, err
	}
	m.mustRelease(t.Offer, t.Rate)
	t.Status = TaskRefunded
	return append(evs, event("expire", id[:])), nil
}

// Check verifies the machine's invariants: the book's structure, reserved ≤ capacity for
// every offer, every offer's reservation equal to the rates of the tasks and bids that hold
// it, and escrow exactness (Paid + Refunded = Escrowed for every ended task).
func (m *Machine) Check() error {
	if err := m.book.check(); err != nil {
		return err
	}
	held := map[[32]byte]uint64{}
	for _, t := range m.tasks {
		switch t.Status {
		case TaskAuction:
			for _, b := range t.Bids {
				held[b.Offer] += t.Rate
			}
		case TaskMatched, TaskProven, TaskAssigned:
			held[t.Offer] += t.Rate
		case TaskSettled, TaskRefunded:
			var s uint256.Int
			s.Add(&t.Paid, &t.Refunded)
			if !s.Eq(&t.Escrowed) {
				return fmt.Errorf("market: task %x: paid %s + refunded %s != escrowed %s", t.ID[:4], t.Paid.Dec(), t.Refunded.Dec(), t.Escrowed.Dec())
			}
		}
	}
	for id, o := range m.offers {
		r, ok := m.book.Get(id)
		if ok != (o.Status == OfferActive) {
			return fmt.Errorf("market: offer %x: in book %v, status %d", id[:4], ok, o.Status)
		}
		if r.Reserved > r.Capacity || r.Reserved != held[id] {
			return fmt.Errorf("market: offer %x: reserved %d, capacity %d, held by tasks %d", id[:4], r.Reserved, r.Capacity, held[id])
		}
	}
	return nil
}
