package market

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
)

const stateVersion = 1

func encodeOffer(w *writer, o *Offer) {
	w.id(o.ID)
	w.addr(o.Solver)
	w.u64(o.Props.Memory)
	w.u8(uint8(o.Props.Precisions))
	w.bool(o.Props.BitExact)
	w.amt(&o.Price)
	w.u64(o.Claimed)
	w.amt(&o.Stake)
	w.u8(uint8(len(o.Identities)))
	for _, a := range o.Identities {
		w.addr(a)
	}
	w.u8(uint8(o.Status))
	w.u64(o.Seed)
	w.u64(o.Start)
	w.id(o.Root)
	w.u64(o.Rounds)
	w.u64(o.Height)
	w.u64(o.Capacity)
	w.u64(o.Reserved)
}

func decodeOffer(r *reader) *Offer {
	o := &Offer{ID: r.ID(), Solver: r.Addr()}
	o.Props = Props{Memory: r.U64(), Precisions: PrecisionSet(r.U8()), BitExact: r.Bool()}
	o.Price, o.Claimed, o.Stake = r.Amount(), r.U64(), r.Amount()
	n := int(r.U8())
	if n > MaxIdentities {
		r.Fail("%d identities", n)
	}
	for i := 0; i < n && r.Err == nil; i++ {
		o.Identities = append(o.Identities, r.Addr())
	}
	o.Status = OfferStatus(r.U8())
	o.Seed, o.Start, o.Root, o.Rounds, o.Height, o.Capacity, o.Reserved = r.U64(), r.U64(), r.ID(), r.U64(), r.U64(), r.U64(), r.U64()
	return o
}

func encodeTask(w *writer, t *Task) {
	w.id(t.ID)
	w.addr(t.Submitter)
	w.id(t.SpecHash)
	w.u8(uint8(t.Mode))
	w.u64(t.Units)
	w.u64(t.Rate)
	w.amt(&t.MaxPrice)
	w.amt(&t.Escrowed)
	w.u64(t.Deadline)
	w.u64(t.WindowEnd)
	w.u64(t.Req.Memory)
	w.u8(uint8(t.Req.Precisions))
	w.bool(t.Req.BitExact)
	w.amt(&t.Req.MinStake)
	w.u64(t.Memory)
	w.u8(uint8(t.Status))
	w.u32(uint32(len(t.Bids)))
	for _, b := range t.Bids {
		w.id(b.Offer)
		w.amt(&b.Price)
	}
	w.id(t.Offer)
	w.amt(&t.Price)
	w.id(t.Proof)
	w.u64(t.Height)
	w.u8(uint8(len(t.Assigned)))
	for _, a := range t.Assigned {
		w.addr(a)
	}
	w.amt(&t.Paid)
	w.amt(&t.Refunded)
}

func decodeTask(r *reader) *Task {
	t := &Task{ID: r.ID(), Submitter: r.Addr(), SpecHash: r.ID(), Mode: Mode(r.U8())}
	t.Units, t.Rate, t.MaxPrice, t.Escrowed, t.Deadline, t.WindowEnd = r.U64(), r.U64(), r.Amount(), r.Amount(), r.U64(), r.U64()
	t.Req = Requirements{Memory: r.U64(), Precisions: PrecisionSet(r.U8()), BitExact: r.Bool(), MinStake: r.Amount()}
	t.Memory = r.U64()
	t.Status = TaskStatus(r.U8())
	n := r.count(64, 1<<20)
	for i := 0; i < n && r.Err == nil; i++ {
		t.Bids = append(t.Bids, BidEntry{Offer: r.ID(), Price: r.Amount()})
	}
	t.Offer, t.Price, t.Proof, t.Height = r.ID(), r.Amount(), r.ID(), r.U64()
	k := int(r.U8())
	for i := 0; i < k && r.Err == nil; i++ {
		t.Assigned = append(t.Assigned, r.Addr())
	}
	t.Paid, t.Refunded = r.Amount(), r.Amount()
	return t
}

func sortedKeys[V any](m map[[32]byte]V) [][32]byte {
	ks := make([][32]byte, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	return ks
}

// Export encodes the whole state canonically (see doc.go).
func (m *Machine) Export() ([]byte, error) {
	w := &writer{b: []byte{stateVersion}}
	w.u32(uint32(len(m.offers)))
	for _, id := range sortedKeys(m.offers) {
		o, _ := m.Offer(id)
		encodeOffer(w, &o)
	}
	w.u32(uint32(len(m.tasks)))
	for _, id := range sortedKeys(m.tasks) {
		encodeTask(w, m.tasks[id])
	}
	vs := make([][20]byte, 0, len(m.verifiers))
	for a := range m.verifiers {
		vs = append(vs, a)
	}
	slices.SortFunc(vs, func(a, b [20]byte) int { return bytes.Compare(a[:], b[:]) })
	w.u32(uint32(len(vs)))
	for _, a := range vs {
		w.addr(a)
	}
	return w.b, nil
}

// Import replaces the state with an exported one. It accepts exactly what Export produces
// from a state that passes Check, and leaves the machine unchanged otherwise.
func (m *Machine) Import(state []byte) error {
	n := &Machine{cfg: m.cfg, ledger: m.ledger}
	n.reset()
	r := newReader(state)
	if v := r.U8(); r.Err == nil && v != stateVersion {
		return fmt.Errorf("%w: state version %d", ErrMalformed, v)
	}
	for i, c := 0, r.count(200, 1<<24); i < c && r.Err == nil; i++ {
		o := decodeOffer(r)
		if r.Err != nil {
			break
		}
		if o.Status < OfferAttesting || o.Status > OfferFailed {
			r.Fail("offer status %d", o.Status)
			break
		}
		if o.Status == OfferActive {
			if err := n.book.Add(Resting{ID: o.ID, Solver: o.Solver, Props: o.Props, Price: o.Price, Capacity: o.Capacity, Reserved: o.Reserved, Stake: o.Stake}); err != nil {
				return fmt.Errorf("%w: %w", ErrMalformed, err)
			}
		}
		n.offers[o.ID] = o
	}
	for i, c := 0, r.count(300, 1<<24); i < c && r.Err == nil; i++ {
		t := decodeTask(r)
		if r.Err != nil {
			break
		}
		n.tasks[t.ID] = t
	}
	for i, c := 0, r.count(20, 1<<24); i < c && r.Err == nil; i++ {
		n.verifiers[r.Addr()] = true
	}
	r.End()
	if r.Err != nil {
		return r.Err
	}
	if err := n.Check(); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	// Canonical: the decoded state must export to exactly the input.
	if again, _ := n.Export(); !bytes.Equal(again, state) {
		return fmt.Errorf("%w: state not in canonical form", ErrMalformed)
	}
	m.book, m.offers, m.tasks, m.verifiers = n.book, n.offers, n.tasks, n.verifiers
	return nil
}

// Root returns SHA-256("deai/market/root/v1\x00" ‖ Export()).
func (m *Machine) Root() [32]byte {
	b, _ := m.Export()
	return sha256.Sum256(append([]byte("deai/market/root/v1\x00"), b...))
}

// QueryOffer and QueryTask build queries; Query answers them with the offer's or task's
// state encoding.
func QueryOffer(id [32]byte) []byte { return append([]byte{1, 1}, id[:]...) }

// QueryTask builds the query of a task.
func QueryTask(id [32]byte) []byte { return append([]byte{1, 2}, id[:]...) }

// Query answers a read-only request built by QueryOffer or QueryTask.
func (m *Machine) Query(q []byte) ([]byte, error) {
	if len(q) != 34 || q[0] != 1 {
		return nil, fmt.Errorf("%w: query of %d bytes", ErrMalformed, len(q))
	}
	id := [32]byte(q[2:])
	w := &writer{}
	switch q[1] {
	case 1:
		o, ok := m.Offer(id)
		if !ok {
			return nil, fmt.Errorf("%w: offer %x", ErrUnknown, id[:4])
		}
		encodeOffer(w, &o)
	case 2:
		t := m.tasks[id]
		if t == nil {
			return nil, fmt.Errorf("%w: task %x", ErrUnknown, id[:4])
		}
		encodeTask(w, t)
	default:
		return nil, fmt.Errorf("%w: query kind %d", ErrMalformed, q[1])
	}
	return w.b, nil
}
