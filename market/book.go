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

// entry is a resting offer and the block that holds it, so that a reservation or a release
// finds its place without a search.
type entry struct {
	Resting
	bl *block
}

func entryCmp(a *entry, price *uint256.Int, id *[32]byte) int {
	if c := a.Price.Cmp(price); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], id[:])
}

// block is a run of one profile's entries in ascending (price, id) order. The fields a
// search reads (price, free capacity, stake) are kept beside the entries in contiguous
// arrays, so that a scan reads a few cache lines instead of one scattered object per offer.
// The block is summarised by its largest free capacity, how many of its entries have it, and
// its largest stake. A release updates the summary in O(1); so does a reservation, except
// when it takes capacity from the last entry that held the largest free capacity (then the
// block's free capacities are rescanned). Stakes never change while an offer rests.
type block struct {
	entries  []*entry      // ascending (price, id)
	price    []uint256.Int // price[j] = entries[j].Price
	free     []uint64      // free[j] = entries[j].Free()
	stake    []uint256.Int // stake[j] = entries[j].Stake
	prof     *profile
	pos      int // index in prof.blocks
	maxFree  uint64
	nMaxFree int // entries whose free capacity is maxFree
	maxStake uint256.Int
}

func (bl *block) insert(j int, e *entry) {
	bl.entries = slices.Insert(bl.entries, j, e)
	bl.price = slices.Insert(bl.price, j, e.Price)
	bl.free = slices.Insert(bl.free, j, e.Free())
	bl.stake = slices.Insert(bl.stake, j, e.Stake)
}

func (bl *block) delete(j int) {
	bl.entries = slices.Delete(bl.entries, j, j+1)
	bl.price = slices.Delete(bl.price, j, j+1)
	bl.free = slices.Delete(bl.free, j, j+1)
	bl.stake = slices.Delete(bl.stake, j, j+1)
}

// split moves the entries from k on into a new block and returns it.
func (bl *block) split(k int) *block {
	r := &block{entries: slices.Clone(bl.entries[k:]), price: slices.Clone(bl.price[k:]),
		free: slices.Clone(bl.free[k:]), stake: slices.Clone(bl.stake[k:]), prof: bl.prof}
	for _, e := range r.entries {
		e.bl = r
	}
	clear(bl.entries[k:])
	bl.entries = slices.Clip(bl.entries[:k])
	bl.price = slices.Clip(bl.price[:k])
	bl.free = slices.Clip(bl.free[:k])
	bl.stake = slices.Clip(bl.stake[:k])
	return r
}

// lowerBound returns the position of the first entry whose price is not below price.
func (bl *block) lowerBound(price *uint256.Int) int {
	lo, hi := 0, len(bl.price)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bl.price[m].Lt(price) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// search returns the position of the first entry not below (price, id).
func (bl *block) search(price *uint256.Int, id *[32]byte) int {
	j := bl.lowerBound(price)
	for j < len(bl.entries) && bl.price[j].Eq(price) && bytes.Compare(bl.entries[j].ID[:], id[:]) < 0 {
		j++
	}
	return j
}

// index returns the position of e, which the block holds.
func (bl *block) index(e *entry) int {
	j := bl.lowerBound(&e.Price)
	for bl.entries[j] != e {
		j++
	}
	return j
}

// noteFree counts one more entry with free capacity f in the summary.
func (bl *block) noteFree(f uint64) {
	switch {
	case f > bl.maxFree:
		bl.maxFree, bl.nMaxFree = f, 1
	case f == bl.maxFree:
		bl.nMaxFree++
	}
}

func (bl *block) summarizeFree() {
	bl.maxFree, bl.nMaxFree = 0, 0
	for _, f := range bl.free {
		bl.noteFree(f)
	}
}

func (bl *block) summarize() {
	bl.summarizeFree()
	bl.maxStake.Clear()
	for j := range bl.stake {
		if bl.stake[j].Gt(&bl.maxStake) {
			bl.maxStake = bl.stake[j]
		}
	}
}

const groupSize = 64

// profile holds the offers of one device profile in (price, id) order: blocks of at most
// 2×blockSize entries, their largest free capacities in one contiguous array, and groups of
// groupSize blocks summarised by their largest free capacity, so that a search skips whole
// runs of offers too full or too small and a summary update reads a few cache lines.
type profile struct {
	key       profileKey
	blocks    []*block
	blockFree []uint64 // blockFree[i] = blocks[i].maxFree
	groupFree []uint64
	n         int
}

// regroup renumbers the blocks and recomputes every block and group summary of the profile
// (after blocks were inserted or deleted).
func (p *profile) regroup() {
	p.blockFree = p.blockFree[:0]
	ng := (len(p.blocks) + groupSize - 1) / groupSize
	p.groupFree = slices.Grow(p.groupFree[:0], ng)[:ng]
	clear(p.groupFree)
	for i, bl := range p.blocks {
		bl.pos = i
		p.blockFree = append(p.blockFree, bl.maxFree)
		p.groupFree[i/groupSize] = max(p.groupFree[i/groupSize], bl.maxFree)
	}
}

// refresh propagates bl's changed maxFree to the block and group summaries.
func (p *profile) refresh(bl *block) {
	old := p.blockFree[bl.pos]
	p.blockFree[bl.pos] = bl.maxFree
	g := bl.pos / groupSize
	switch {
	case bl.maxFree >= p.groupFree[g]:
		p.groupFree[g] = bl.maxFree
	case old == p.groupFree[g]:
		// The block may have held the group's maximum: rescan the group's block summaries.
		var m uint64
		for _, f := range p.blockFree[g*groupSize : min(len(p.blockFree), (g+1)*groupSize)] {
			m = max(m, f)
		}
		p.groupFree[g] = m
	}
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
// Best follows exactly the rule of Better over the offers Eligible for a demand. The engine
// keeps offers by device profile and, within one, by price, in blocks whose summaries let a
// search skip full or under-staked runs; every offer knows its block, so that a reservation
// or a release changes a few summaries in place without a search. A match reads the first
// blocks of the eligible profiles and a few summary words, however many offers rest; only
// the lookup of an offer by ID (Get, Reserve, Release, Remove) goes through a hash map.
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
		return fmt.Errorf("%w: offer %x", ErrExists, short(r.ID))
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
	e := &entry{Resting: r}
	b.byID[r.ID] = e
	p.n++
	if len(p.blocks) == 0 {
		bl := &block{prof: p}
		bl.insert(0, e)
		e.bl = bl
		bl.summarize()
		p.blocks = []*block{bl}
		p.regroup()
		return nil
	}
	bl := p.blocks[p.find(&r.Price, &r.ID)]
	bl.insert(bl.search(&r.Price, &r.ID), e)
	e.bl = bl
	if len(bl.entries) > 2*b.blockSize {
		right := bl.split(b.blockSize)
		bl.summarize()
		right.summarize()
		p.blocks = slices.Insert(p.blocks, bl.pos+1, right)
		p.regroup()
		return nil
	}
	bl.noteFree(e.Free())
	if e.Stake.Gt(&bl.maxStake) {
		bl.maxStake = e.Stake
	}
	p.refresh(bl)
	return nil
}

// Remove takes an offer out of the book and returns it, or fails with ErrUnknown.
func (b *Book) Remove(id [32]byte) (Resting, error) {
	e := b.byID[id]
	if e == nil {
		return Resting{}, fmt.Errorf("%w: offer %x", ErrUnknown, short(id))
	}
	bl := e.bl
	p := bl.prof
	bl.delete(bl.index(e))
	delete(b.byID, id)
	p.n--
	if len(bl.entries) == 0 {
		p.blocks = slices.Delete(p.blocks, bl.pos, bl.pos+1)
		p.regroup()
		if p.n == 0 {
			pi, _ := slices.BinarySearchFunc(b.profiles, p.key, func(q *profile, k profileKey) int { return q.key.cmp(k) })
			b.profiles = slices.Delete(b.profiles, pi, pi+1)
		}
	} else {
		bl.summarize()
		p.refresh(bl)
	}
	return e.Resting, nil
}

// setReserved changes an entry's reservation and updates its block's and group's summaries.
func (b *Book) setReserved(e *entry, reserved uint64) {
	old := e.Free()
	e.Reserved = reserved
	f := e.Free()
	bl := e.bl
	bl.free[bl.index(e)] = f
	switch {
	case f > old:
		bl.noteFree(f)
	case f < old && old == bl.maxFree:
		if bl.nMaxFree--; bl.nMaxFree == 0 {
			bl.summarizeFree()
		}
	default:
		return
	}
	bl.prof.refresh(bl)
}

// Reserve adds rate to the offer's reservation, or fails with ErrCapacity (nothing changes)
// if the offer's free capacity is smaller.
func (b *Book) Reserve(id [32]byte, rate uint64) error {
	e := b.byID[id]
	if e == nil {
		return fmt.Errorf("%w: offer %x", ErrUnknown, short(id))
	}
	if e.Free() < rate {
		return fmt.Errorf("%w: offer %x has %d free, needs %d", ErrCapacity, short(id), e.Free(), rate)
	}
	b.setReserved(e, e.Reserved+rate)
	return nil
}

// Release returns rate of the offer's reservation, or fails with ErrCapacity if it holds
// less.
func (b *Book) Release(id [32]byte, rate uint64) error {
	e := b.byID[id]
	if e == nil {
		return fmt.Errorf("%w: offer %x", ErrUnknown, short(id))
	}
	if e.Reserved < rate {
		return fmt.Errorf("%w: offer %x reserves %d, release of %d", ErrCapacity, short(id), e.Reserved, rate)
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
		for bi := g * groupSize; bi < min(len(p.blocks), (g+1)*groupSize); bi++ {
			bl := p.blocks[bi]
			if first := &bl.price[0]; first.Gt(limit) || ok && first.Gt(&price) {
				return price, ok
			}
			if p.blockFree[bi] < d.Rate || bl.maxStake.Lt(&d.MinStake) {
				continue
			}
			for j := range bl.price {
				if bl.price[j].Gt(limit) || ok && bl.price[j].Gt(&price) {
					return price, ok
				}
				if bl.free[j] >= d.Rate && !bl.stake[j].Lt(&d.MinStake) {
					price, ok = bl.price[j], true
					b.cands = append(b.cands, bl.entries[j])
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
	e, err := b.best(d, beacon)
	if err != nil {
		return Resting{}, err
	}
	return e.Resting, nil
}

func (b *Book) best(d *Demand, beacon [32]byte) (*entry, error) {
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
		if p.blocks[0].price[0].Gt(&limit) {
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
		return nil, b.explain(d)
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
	clear(b.cands) // the book holds no pointers to removed entries
	return best, nil
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
	e, err := b.best(d, beacon)
	if err != nil {
		return Resting{}, err
	}
	// Best checked e.Free() ≥ d.Rate: the reservation cannot over-commit.
	b.setReserved(e, e.Reserved+d.Rate)
	return e.Resting, nil
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

// check verifies the book's internal invariants (order, places, summaries, counts); tests
// call it.
func (b *Book) check() error {
	n := 0
	for pi, p := range b.profiles {
		if pi > 0 && b.profiles[pi-1].key.cmp(p.key) >= 0 {
			return fmt.Errorf("profiles out of order at %d", pi)
		}
		if len(p.groupFree) != (len(p.blocks)+groupSize-1)/groupSize || len(p.blockFree) != len(p.blocks) {
			return fmt.Errorf("profile %d: %d groups, %d block summaries for %d blocks", pi, len(p.groupFree), len(p.blockFree), len(p.blocks))
		}
		var prev *entry
		cnt := 0
		for bi, bl := range p.blocks {
			if len(bl.entries) == 0 || len(bl.entries) > 2*b.blockSize {
				return fmt.Errorf("profile %d block %d: %d entries", pi, bi, len(bl.entries))
			}
			if bl.pos != bi || bl.prof != p {
				return fmt.Errorf("profile %d block %d: place (%d) broken", pi, bi, bl.pos)
			}
			var mf uint64
			nmf := 0
			var ms uint256.Int
			if len(bl.price) != len(bl.entries) || len(bl.free) != len(bl.entries) || len(bl.stake) != len(bl.entries) {
				return fmt.Errorf("profile %d block %d: arrays of %d, %d, %d for %d entries", pi, bi, len(bl.price), len(bl.free), len(bl.stake), len(bl.entries))
			}
			for j, e := range bl.entries {
				if !bl.price[j].Eq(&e.Price) || bl.free[j] != e.Free() || !bl.stake[j].Eq(&e.Stake) {
					return fmt.Errorf("offer %x: block arrays stale", e.ID[:4])
				}
				if prev != nil && entryCmp(prev, &e.Price, &e.ID) >= 0 {
					return fmt.Errorf("profile %d block %d: entries out of order", pi, bi)
				}
				if e.Reserved > e.Capacity {
					return fmt.Errorf("offer %x: reserved %d > capacity %d", e.ID[:4], e.Reserved, e.Capacity)
				}
				if e.bl != bl || b.byID[e.ID] != e {
					return fmt.Errorf("offer %x: index broken", e.ID[:4])
				}
				if QuantizeMemory(e.Memory) != p.key.mem || e.Precisions != p.key.precisions || e.BitExact != p.key.bitExact {
					return fmt.Errorf("offer %x: in the wrong profile", e.ID[:4])
				}
				prev = e
				switch f := e.Free(); {
				case f > mf:
					mf, nmf = f, 1
				case f == mf:
					nmf++
				}
				if e.Stake.Gt(&ms) {
					ms = e.Stake
				}
				cnt++
			}
			if mf != bl.maxFree || nmf != bl.nMaxFree || !ms.Eq(&bl.maxStake) || p.blockFree[bi] != mf {
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

// short returns the first four bytes of an ID, for error messages. Taking them by value
// keeps the caller's ID off the heap (slicing a parameter array in an error path would move
// it there on every call).
func short(id [32]byte) [4]byte { return [4]byte(id[:4]) }
