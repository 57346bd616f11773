package market

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	"github.com/holiman/uint256"
)

// Props are the device properties matching looks at.
type Props struct {
	// Memory is the device memory in bytes. Matching compares QuantizeMemory(Memory).
	Memory uint64
	// Precisions are the formats the device supports.
	Precisions PrecisionSet
	// BitExact reports a backend that reproduces the reference kernels bit for bit.
	BitExact bool
}

// QuantizeMemory rounds m down to its three leading significant bits (steps of 1/8 of a
// power of two below 2^k, e.g. 80 GB → 80 GB, 81 GB → 80 GB, 70 GB → 64 GB). Matching
// compares quantized memory, which bounds the number of device profiles the book keeps
// apart; a device is never credited with more memory than it has.
func QuantizeMemory(m uint64) uint64 {
	n := bits.Len64(m)
	if n <= 3 {
		return m
	}
	s := uint(n - 3)
	return m >> s << s
}

// Resting is an offer resting in a Book: an active offer with its verified capacity.
type Resting struct {
	// ID names the offer; Solver is its owner.
	ID     [32]byte
	Solver [20]byte
	Props
	// Price is the price per work unit.
	Price uint256.Int
	// Capacity is the verified capacity in work units per second; Reserved the part of it
	// that matched tasks and open bids hold. Reserved ≤ Capacity always.
	Capacity, Reserved uint64
	// Stake is the bonded stake the offer carries.
	Stake uint256.Int
}

// Free returns Capacity − Reserved.
func (r *Resting) Free() uint64 { return r.Capacity - r.Reserved }

// Demand is what a task needs from one offer.
type Demand struct {
	// Task is the task's ID (it enters the tie-break).
	Task [32]byte
	// Memory is the device memory needed; Precisions the formats; BitExact whether a
	// bit-exact backend is required.
	Memory     uint64
	Precisions PrecisionSet
	BitExact   bool
	// MaxPrice is the ceiling per work unit.
	MaxPrice uint256.Int
	// Rate is the capacity the task reserves (work units per second).
	Rate uint64
	// MinStake is the least stake the offer must carry.
	MinStake uint256.Int
}

// Eligible reports whether r meets every requirement of d: quantized memory, precisions,
// bit-exactness, price ceiling, free capacity and stake. It also returns the first failing
// requirement's name.
func (r *Resting) Eligible(d *Demand) (bool, string) {
	switch {
	case QuantizeMemory(r.Memory) < d.Memory:
		return false, "memory"
	case !r.Precisions.Has(d.Precisions):
		return false, "precision"
	case d.BitExact && !r.BitExact:
		return false, "bit-exact backend"
	case r.Price.Gt(&d.MaxPrice):
		return false, "price above the ceiling"
	case r.Free() < d.Rate:
		return false, "capacity"
	case r.Stake.Lt(&d.MinStake):
		return false, "stake"
	}
	return true, ""
}

// TieKey returns the tie-break rank of an offer for a task: the first 8 bytes, big-endian,
// of SHA-256("deai/market/tie/v1\x00" ‖ offer ‖ task ‖ beacon). Among offers at the best
// price the lowest key wins (then the lowest offer ID). Neither arrival order nor a chosen
// offer ID predicts it, because the task and the beacon are unknown when offers are posted.
func TieKey(offer, task, beacon [32]byte) uint64 {
	var buf [len(tieDomain) + 96]byte
	n := copy(buf[:], tieDomain)
	n += copy(buf[n:], offer[:])
	n += copy(buf[n:], task[:])
	copy(buf[n:], beacon[:])
	h := sha256.Sum256(buf[:])
	return binary.BigEndian.Uint64(h[:8])
}

const tieDomain = "deai/market/tie/v1\x00"

// Better reports whether offer a ranks before offer b for task under beacon: a lower price,
// then a lower TieKey, then a lower ID. It is the total order every matcher must follow.
func Better(a, b *Resting, task, beacon [32]byte) bool {
	if c := a.Price.Cmp(&b.Price); c != 0 {
		return c < 0
	}
	ka, kb := TieKey(a.ID, task, beacon), TieKey(b.ID, task, beacon)
	if ka != kb {
		return ka < kb
	}
	return bytes.Compare(a.ID[:], b.ID[:]) < 0
}

type profileKey struct {
	mem        uint64 // quantized
	precisions PrecisionSet
	bitExact   bool
}

func (k profileKey) cmp(o profileKey) int {
	// Descending memory, then ascending precisions, bit-exact last.
	if k.mem != o.mem {
		if k.mem > o.mem {
			return -1
		}
		return 1
	}
	if k.precisions != o.precisions {
		return int(k.precisions) - int(o.precisions)
	}
	if k.bitExact == o.bitExact {
		return 0
	}
	if k.bitExact {
		return 1
	}
	return -1
}

type entry struct {
	Resting
	prof *profile
}

func entryCmp(a *entry, price *uint256.Int, id *[32]byte) int {
	if c := a.Price.Cmp(price); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], id[:])
}

type block struct {
	entries  []*entry // ascending (price, id)
	maxFree  uint64
	maxStake uint256.Int
}

func (bl *block) summarize() {
	bl.maxFree = 0
	bl.maxStake.Clear()
	for _, e := range bl.entries {
		bl.maxFree = max(bl.maxFree, e.Free())
		if e.Stake.Gt(&bl.maxStake) {
			bl.maxStake = e.Stake
		}
	}
}

const groupSize = 64

// profile holds the offers of one device profile in (price, id) order: blocks of at most
// 2×blockSize entries, each summarised by its largest free capacity and stake, and groups
// of groupSize blocks summarised by their largest free capacity, so that a search skips
// whole runs of offers too full or too small.
type profile struct {
	key       profileKey
	blocks    []*block
	groupFree []uint64
	n         int
}

// regroup recomputes every group summary (after blocks were inserted or deleted).
func (p *profile) regroup() {
	ng := (len(p.blocks) + groupSize - 1) / groupSize
	p.groupFree = make([]uint64, ng)
	for i, bl := range p.blocks {
		p.groupFree[i/groupSize] = max(p.groupFree[i/groupSize], bl.maxFree)
	}
}

func (p *profile) regroupOne(g int) {
	var m uint64
	for _, bl := range p.blocks[g*groupSize : min(len(p.blocks), (g+1)*groupSize)] {
		m = max(m, bl.maxFree)
	}
	p.groupFree[g] = m
}

// find returns the index of the block that holds (or would hold) the key.
func (p *profile) find(price *uint256.Int, id *[32]byte) int {
	i, _ := slices.BinarySearchFunc(p.blocks, 0, func(bl *block, _ int) int {
		return entryCmp(bl.entries[0], price, id)
	})
	// i is the first block whose first entry is ≥ key; the key belongs to the block before
	// unless it equals that block's first entry.
	if i < len(p.blocks) && entryCmp(p.blocks[i].entries[0], price, id) == 0 {
		return i
	}
	return max(i-1, 0)
}

// Book is the order book of resting offers: the off-chain matching engine, which the chain
// machine also embeds. A Book is not safe for concurrent use.
//
// Best follows exactly the rule of Better over the offers Eligible for a demand; the engine
// keeps offers by device profile and, within one, by price, so that a match reads a few
// cache lines however many offers rest.
type Book struct {
	blockSize int
	profiles  []*profile // ascending profileKey.cmp
	byID      map[[32]byte]*entry
	cands     []*entry
}

// NewBook returns an empty book.
func NewBook() *Book { return newBook(64) }

func newBook(blockSize int) *Book {
	return &Book{blockSize: blockSize, byID: map[[32]byte]*entry{}}
}

// Len returns the number of resting offers.
func (b *Book) Len() int { return len(b.byID) }

// Get returns the resting offer with the given ID.
func (b *Book) Get(id [32]byte) (Resting, bool) {
	e := b.byID[id]
	if e == nil {
		return Resting{}, false
	}
	return e.Resting, true
}

// Add puts an offer in the book. It fails with ErrExists for a used ID and ErrInvalidOffer
// for a zero price, zero capacity or Reserved > Capacity.
func (b *Book) Add(r Resting) error {
	if _, ok := b.byID[r.ID]; ok {
		return fmt.Errorf("%w: offer %x", ErrExists, r.ID[:4])
	}
	switch {
	case r.Price.IsZero():
		return fmt.Errorf("%w: zero price", ErrInvalidOffer)
	case r.Capacity == 0:
		return fmt.Errorf("%w: zero capacity", ErrInvalidOffer)
	case r.Reserved > r.Capacity:
		return fmt.Errorf("%w: reserved %d exceeds capacity %d", ErrCapacity, r.Reserved, r.Capacity)
	case !r.Precisions.Valid():
		return fmt.Errorf("%w: unknown precision bits %#x", ErrInvalidOffer, uint8(r.Precisions))
	}
	key := profileKey{QuantizeMemory(r.Memory), r.Precisions, r.BitExact}
	pi, found := slices.BinarySearchFunc(b.profiles, key, func(p *profile, k profileKey) int { return p.key.cmp(k) })
	if !found {
		b.profiles = slices.Insert(b.profiles, pi, &profile{key: key})
	}
	p := b.profiles[pi]
	e := &entry{Resting: r, prof: p}
	b.byID[r.ID] = e
	p.n++
	if len(p.blocks) == 0 {
		bl := &block{entries: []*entry{e}}
		bl.summarize()
		p.blocks = []*block{bl}
		p.regroup()
		return nil
	}
	bi := p.find(&r.Price, &r.ID)
	bl := p.blocks[bi]
	j, _ := slices.BinarySearchFunc(bl.entries, e, func(x, y *entry) int { return entryCmp(x, &y.Price, &y.ID) })
	bl.entries = slices.Insert(bl.entries, j, e)
	if len(bl.entries) > 2*b.blockSize {
		right := &block{entries: slices.Clone(bl.entries[b.blockSize:])}
		bl.entries = slices.Clip(bl.entries[:b.blockSize])
		bl.summarize()
		right.summarize()
		p.blocks = slices.Insert(p.blocks, bi+1, right)
		p.regroup()
		return nil
	}
	bl.maxFree = max(bl.maxFree, e.Free())
	if e.Stake.Gt(&bl.maxStake) {
		bl.maxStake = e.Stake
	}
	p.groupFree[bi/groupSize] = max(p.groupFree[bi/groupSize], bl.maxFree)
	return nil
}

func (b *Book) locate(e *entry) (*profile, int, int) {
	p := e.prof
	bi := p.find(&e.Price, &e.ID)
	bl := p.blocks[bi]
	j, _ := slices.BinarySearchFunc(bl.entries, e, func(x, y *entry) int { return entryCmp(x, &y.Price, &y.ID) })
	return p, bi, j
}

// Remove takes an offer out of the book and returns it, or fails with ErrUnknown.
func (b *Book) Remove(id [32]byte) (Resting, error) {
	e := b.byID[id]
	if e == nil {
		return Resting{}, fmt.Errorf("%w: offer %x", ErrUnknown, id[:4])
	}
	p, bi, j := b.locate(e)
	bl := p.blocks[bi]
	bl.entries = slices.Delete(bl.entries, j, j+1)
	delete(b.byID, id)
	p.n--
	if len(bl.entries) == 0 {
		p.blocks = slices.Delete(p.blocks, bi, bi+1)
		p.regroup()
		if p.n == 0 {
			pi, _ := slices.BinarySearchFunc(b.profiles, p.key, func(q *profile, k profileKey) int { return q.key.cmp(k) })
			b.profiles = slices.Delete(b.profiles, pi, pi+1)
		}
	} else {
		bl.summarize()
		p.regroupOne(bi / groupSize)
	}
	return e.Resting, nil
}

// setReserved changes an entry's reservation and its block's and group's summaries.
func (b *Book) setReserved(e *entry, reserved uint64) {
	e.Reserved = reserved
	p, bi, _ := b.locate(e)
	bl := p.blocks[bi]
	bl.summarize()
	p.regroupOne(bi / groupSize)
}

// Reserve adds rate to the offer's reservation, or fails with ErrCapacity (nothing changes)
// if the offer's free capacity is smaller.
func (b *Book) Reserve(id [32]byte, rate uint64) error {
	e := b.byID[id]
	if e == nil {
		return fmt.Errorf("%w: offer %x", ErrUnknown, id[:4])
	}
	if e.Free() < rate {
		return fmt.Errorf("%w: offer %x has %d free, needs %d", ErrCapacity, id[:4], e.Free(), rate)
	}
	b.setReserved(e, e.Reserved+rate)
	return nil
}

// Release returns rate of the offer's reservation, or fails with ErrCapacity if it holds
// less.
func (b *Book) Release(id [32]byte, rate uint64) error {
	e := b.byID[id]
	if e == nil {
		return fmt.Errorf("%w: offer %x", ErrUnknown, id[:4])
	}
	if e.Reserved < rate {
		return fmt.Errorf("%w: offer %x reserves %d, release of %d", ErrCapacity, id[:4], e.Reserved, rate)
	}
	b.setReserved(e, e.Reserved-rate)
	return nil
}

// bestIn returns the eligible entries of p at p's lowest eligible price not above limit,
// appended to b.cands, and that price; ok is false if there are none.
func (b *Book) bestIn(p *profile, d *Demand, limit *uint256.Int) (price uint256.Int, ok bool) {
	for g, gf := range p.groupFree {
		if gf < d.Rate {
			continue
		}
		for _, bl := range p.blocks[g*groupSize : min(len(p.blocks), (g+1)*groupSize)] {
			if first := &bl.entries[0].Price; first.Gt(limit) || ok && first.Gt(&price) {
				return price, ok
			}
			if bl.maxFree < d.Rate || bl.maxStake.Lt(&d.MinStake) {
				continue
			}
			for _, e := range bl.entries {
				if e.Price.Gt(limit) || ok && e.Price.Gt(&price) {
					return price, ok
				}
				if e.Free() >= d.Rate && !e.Stake.Lt(&d.MinStake) {
					price, ok = e.Price, true
					b.cands = append(b.cands, e)
				}
			}
		}
	}
	return price, ok
}

// Best returns the offer a demand matches under beacon: among the offers Eligible for d,
// the first in the order of Better. It fails with a *RequirementError (ErrNoMatch) when no
// offer is eligible. Best changes nothing.
func (b *Book) Best(d *Demand, beacon [32]byte) (Resting, error) {
	b.cands = b.cands[:0]
	limit := d.MaxPrice
	found := false
	for _, p := range b.profiles {
		if p.key.mem < d.Memory {
			break
		}
		if !p.key.precisions.Has(d.Precisions) || d.BitExact && !p.key.bitExact {
			continue
		}
		if len(p.blocks) == 0 || p.blocks[0].entries[0].Price.Gt(&limit) {
			continue
		}
		n := len(b.cands)
		price, ok := b.bestIn(p, d, &limit)
		if !ok {
			continue
		}
		if found && price.Lt(&limit) {
			// A strictly better price: drop the earlier candidates.
			b.cands = append(b.cands[:0], b.cands[n:]...)
		}
		limit, found = price, true
	}
	if !found {
		return Resting{}, b.explain(d)
	}
	best := b.cands[0]
	if len(b.cands) > 1 {
		bk := TieKey(best.ID, d.Task, beacon)
		for _, e := range b.cands[1:] {
			k := TieKey(e.ID, d.Task, beacon)
			if k < bk || k == bk && bytes.Compare(e.ID[:], best.ID[:]) < 0 {
				best, bk = e, k
			}
		}
	}
	return best.Resting, nil
}

// explain builds the RequirementError of a failed search: the requirement that the most
// offers fail first, in the order of Eligible's checks.
func (b *Book) explain(d *Demand) error {
	err := &RequirementError{Task: d.Task, Offers: len(b.byID), Why: "no offers"}
	if len(b.byID) == 0 {
		return err
	}
	err.Why = "memory"
	for _, p := range b.profiles {
		if p.key.mem < d.Memory {
			break
		}
		err.Why = "precision"
		if !p.key.precisions.Has(d.Precisions) {
			continue
		}
		err.Why = "bit-exact backend"
		if d.BitExact && !p.key.bitExact {
			continue
		}
		err.Why = "price above the ceiling, capacity or stake"
		break
	}
	return err
}

// Match finds the Best offer for d and reserves d.Rate of its capacity.
func (b *Book) Match(d *Demand, beacon [32]byte) (Resting, error) {
	r, err := b.Best(d, beacon)
	if err != nil {
		return Resting{}, err
	}
	if err := b.Reserve(r.ID, d.Rate); err != nil {
		return Resting{}, err
	}
	r.Reserved += d.Rate
	return r, nil
}

// All returns every resting offer in ascending ID order.
func (b *Book) All() []Resting {
	out := make([]Resting, 0, len(b.byID))
	for _, e := range b.byID {
		out = append(out, e.Resting)
	}
	slices.SortFunc(out, func(x, y Resting) int { return bytes.Compare(x.ID[:], y.ID[:]) })
	return out
}

// check verifies the book's internal invariants (order, summaries, counts); tests call it.
func (b *Book) check() error {
	n := 0
	for pi, p := range b.profiles {
		if pi > 0 && b.profiles[pi-1].key.cmp(p.key) >= 0 {
			return fmt.Errorf("profiles out of order at %d", pi)
		}
		if len(p.groupFree) != (len(p.blocks)+groupSize-1)/groupSize {
			return fmt.Errorf("profile %d: %d groups for %d blocks", pi, len(p.groupFree), len(p.blocks))
		}
		var prev *entry
		cnt := 0
		for bi, bl := range p.blocks {
			if len(bl.entries) == 0 || len(bl.entries) > 2*b.blockSize {
				return fmt.Errorf("profile %d block %d: %d entries", pi, bi, len(bl.entries))
			}
			var mf uint64
			var ms uint256.Int
			for _, e := range bl.entries {
				if prev != nil && entryCmp(prev, &e.Price, &e.ID) >= 0 {
					return fmt.Errorf("profile %d block %d: entries out of order", pi, bi)
				}
				if e.Reserved > e.Capacity {
					return fmt.Errorf("offer %x: reserved %d > capacity %d", e.ID[:4], e.Reserved, e.Capacity)
				}
				if e.prof != p || b.byID[e.ID] != e {
					return fmt.Errorf("offer %x: index broken", e.ID[:4])
				}
				prev = e
				mf = max(mf, e.Free())
				if e.Stake.Gt(&ms) {
					ms = e.Stake
				}
				cnt++
			}
			if mf != bl.maxFree || !ms.Eq(&bl.maxStake) {
				return fmt.Errorf("profile %d block %d: stale summary", pi, bi)
			}
		}
		for g := range p.groupFree {
			var m uint64
			for _, bl := range p.blocks[g*groupSize : min(len(p.blocks), (g+1)*groupSize)] {
				m = max(m, bl.maxFree)
			}
			if m != p.groupFree[g] {
				return fmt.Errorf("profile %d group %d: stale summary", pi, g)
			}
		}
		if cnt != p.n || cnt == 0 {
			return fmt.Errorf("profile %d: count %d, n %d", pi, cnt, p.n)
		}
		n += cnt
	}
	if n != len(b.byID) {
		return fmt.Errorf("%d entries, index %d", n, len(b.byID))
	}
	return nil
}
