package market

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/holiman/uint256"
)

// bruteBook is the reference matcher: a list scanned in full for every demand, following
// the rule's definition literally (Eligible, then the order of Better).
type bruteBook struct{ offers []Resting }

func (bb *bruteBook) best(d *Demand, beacon [32]byte) (int, bool) {
	bi := -1
	for i := range bb.offers {
		if ok, _ := bb.offers[i].Eligible(d); !ok {
			continue
		}
		if bi < 0 || Better(&bb.offers[i], &bb.offers[bi], d.Task, beacon) {
			bi = i
		}
	}
	return bi, bi >= 0
}

func (bb *bruteBook) find(id [32]byte) int {
	for i := range bb.offers {
		if bb.offers[i].ID == id {
			return i
		}
	}
	return -1
}

func randID(r *rand.Rand) (id [32]byte) {
	for i := range 4 {
		v := r.Uint64()
		for j := range 8 {
			id[8*i+j] = byte(v >> (8 * j))
		}
	}
	return id
}

func randResting(r *rand.Rand) Resting {
	cp := 1 + r.Uint64N(10)
	return Resting{
		ID:       randID(r),
		Solver:   [20]byte{byte(r.IntN(4))},
		Props:    Props{Memory: r.Uint64N(40), Precisions: PrecisionSet(1 + r.IntN(3)), BitExact: r.IntN(2) == 0},
		Price:    *uint256.NewInt(1 + r.Uint64N(4)),
		Capacity: cp,
		Reserved: r.Uint64N(cp + 1),
		Stake:    *uint256.NewInt(r.Uint64N(4)),
	}
}

func randDemand(r *rand.Rand) Demand {
	return Demand{
		Task:       randID(r),
		Memory:     r.Uint64N(40),
		Precisions: PrecisionSet(r.IntN(4)),
		BitExact:   r.IntN(3) == 0,
		MaxPrice:   *uint256.NewInt(r.Uint64N(6)),
		Rate:       r.Uint64N(6),
		MinStake:   *uint256.NewInt(r.Uint64N(4)),
	}
}

// TestBookMatchesBruteForce drives the engine and the brute-force matcher through 100,000
// random scenarios (a book of up to 40 offers with few prices and profiles, so that ties and
// skipped blocks are common; then adds, removals, matches and releases) and requires equal
// results at every match and equal books at the end.
func TestBookMatchesBruteForce(t *testing.T) {
	scenarios := 100_000
	if testing.Short() {
		scenarios = 10_000
	}
	r := rand.New(rand.NewPCG(1, 2))
	matched, unmatched := 0, 0
	for sc := range scenarios {
		b := newBook(1 + r.IntN(4))
		var bb bruteBook
		for range r.IntN(40) {
			o := randResting(r)
			if err := b.Add(o); err != nil {
				t.Fatalf("scenario %d: add: %v", sc, err)
			}
			bb.offers = append(bb.offers, o)
		}
		beacon := randID(r)
		for op := range 12 {
			switch k := r.IntN(10); {
			case k < 6:
				d := randDemand(r)
				i, ok := bb.best(&d, beacon)
				got, err := b.Match(&d, beacon)
				if ok != (err == nil) {
					t.Fatalf("scenario %d op %d: engine err %v, brute found %v", sc, op, err, ok)
				}
				if !ok {
					unmatched++
					if !errors.Is(err, ErrNoMatch) {
						t.Fatalf("scenario %d: error %v does not wrap ErrNoMatch", sc, err)
					}
					continue
				}
				matched++
				bb.offers[i].Reserved += d.Rate
				if got != bb.offers[i] {
					t.Fatalf("scenario %d op %d: engine %+v, brute %+v", sc, op, got, bb.offers[i])
				}
			case k < 7 && len(bb.offers) > 0:
				i := r.IntN(len(bb.offers))
				if _, err := b.Remove(bb.offers[i].ID); err != nil {
					t.Fatalf("scenario %d: remove: %v", sc, err)
				}
				bb.offers = append(bb.offers[:i], bb.offers[i+1:]...)
			case k < 9 && len(bb.offers) > 0:
				i := r.IntN(len(bb.offers))
				amt := r.Uint64N(bb.offers[i].Reserved + 2)
				err := b.Release(bb.offers[i].ID, amt)
				if (err == nil) != (amt <= bb.offers[i].Reserved) {
					t.Fatalf("scenario %d: release %d of %d: %v", sc, amt, bb.offers[i].Reserved, err)
				}
				if err == nil {
					bb.offers[i].Reserved -= amt
				}
			default:
				o := randResting(r)
				if err := b.Add(o); err != nil {
					t.Fatalf("scenario %d: add: %v", sc, err)
				}
				bb.offers = append(bb.offers, o)
			}
			if err := b.check(); err != nil {
				t.Fatalf("scenario %d op %d: %v", sc, op, err)
			}
		}
		all := b.All()
		if len(all) != len(bb.offers) {
			t.Fatalf("scenario %d: %d offers, brute %d", sc, len(all), len(bb.offers))
		}
		for _, o := range all {
			i := bb.find(o.ID)
			if i < 0 || bb.offers[i] != o {
				t.Fatalf("scenario %d: offer %x differs", sc, o.ID[:4])
			}
			if o.Reserved > o.Capacity {
				t.Fatalf("scenario %d: reserved %d > capacity %d", sc, o.Reserved, o.Capacity)
			}
		}
	}
	t.Logf("%d scenarios: %d matches, %d without a match", scenarios, matched, unmatched)
	if matched < scenarios || unmatched < scenarios {
		t.Fatalf("degenerate scenarios: %d matched, %d unmatched", matched, unmatched)
	}
}

// TestBookLargeMatchesBruteForce exercises what the small scenarios cannot reach: books of
// thousands of offers in blocks of one or two entries, so that profiles hold many groups of
// blocks and every group summary is updated by reservations, releases, removals and block
// splits. Results must equal the brute-force matcher's at every step.
func TestBookLargeMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	scenarios, offers, ops := 12, 3000, 400
	if testing.Short() {
		scenarios = 3
	}
	for sc := range scenarios {
		b := newBook(1 + sc%2)
		var bb bruteBook
		for range offers {
			o := randResting(r)
			o.Props.Memory = r.Uint64N(12)
			o.Price = *uint256.NewInt(1 + r.Uint64N(40))
			if err := b.Add(o); err != nil {
				t.Fatal(err)
			}
			bb.offers = append(bb.offers, o)
		}
		beacon := randID(r)
		for op := range ops {
			switch k := r.IntN(10); {
			case k < 6:
				d := randDemand(r)
				d.Memory = r.Uint64N(12)
				d.MaxPrice = *uint256.NewInt(r.Uint64N(42))
				i, ok := bb.best(&d, beacon)
				got, err := b.Match(&d, beacon)
				if ok != (err == nil) {
					t.Fatalf("scenario %d op %d: engine err %v, brute found %v", sc, op, err, ok)
				}
				if ok {
					bb.offers[i].Reserved += d.Rate
					if got != bb.offers[i] {
						t.Fatalf("scenario %d op %d: engine %x, brute %x", sc, op, got.ID[:4], bb.offers[i].ID[:4])
					}
				}
			case k < 7:
				i := r.IntN(len(bb.offers))
				if _, err := b.Remove(bb.offers[i].ID); err != nil {
					t.Fatal(err)
				}
				bb.offers = slices.Delete(bb.offers, i, i+1)
			case k < 9:
				i := r.IntN(len(bb.offers))
				amt := r.Uint64N(bb.offers[i].Reserved + 1)
				if err := b.Release(bb.offers[i].ID, amt); err != nil {
					t.Fatal(err)
				}
				bb.offers[i].Reserved -= amt
			default:
				o := randResting(r)
				o.Props.Memory = r.Uint64N(12)
				if err := b.Add(o); err != nil {
					t.Fatal(err)
				}
				bb.offers = append(bb.offers, o)
			}
			if op%50 == 0 {
				if err := b.check(); err != nil {
					t.Fatalf("scenario %d op %d: %v", sc, op, err)
				}
			}
		}
		if err := b.check(); err != nil {
			t.Fatalf("scenario %d: %v", sc, err)
		}
		for _, o := range b.All() {
			if i := bb.find(o.ID); i < 0 || bb.offers[i] != o {
				t.Fatalf("scenario %d: offer %x differs", sc, o.ID[:4])
			}
		}
	}
}

func TestBookErrors(t *testing.T) {
	b := NewBook()
	good := Resting{ID: [32]byte{1}, Props: Props{Memory: 16, Precisions: 1}, Price: *uint256.NewInt(3), Capacity: 10}
	if err := b.Add(good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		fn   func() error
		want error
	}{
		{"duplicate", func() error { return b.Add(good) }, ErrExists},
		{"zero price", func() error { o := good; o.ID[0] = 2; o.Price.Clear(); return b.Add(o) }, ErrInvalidOffer},
		{"zero capacity", func() error { o := good; o.ID[0] = 3; o.Capacity = 0; return b.Add(o) }, ErrInvalidOffer},
		{"over-reserved", func() error { o := good; o.ID[0] = 4; o.Reserved = 11; return b.Add(o) }, ErrCapacity},
		{"reserve beyond capacity", func() error { return b.Reserve(good.ID, 11) }, ErrCapacity},
		{"release more than reserved", func() error { return b.Release(good.ID, 1) }, ErrCapacity},
		{"remove unknown", func() error { _, err := b.Remove([32]byte{9}); return err }, ErrUnknown},
		{"memory no device meets", func() error {
			_, err := b.Best(&Demand{Memory: 1 << 40, Precisions: 1, MaxPrice: *uint256.NewInt(5)}, [32]byte{})
			return err
		}, ErrNoMatch},
		{"price ceiling below every offer", func() error {
			_, err := b.Best(&Demand{Precisions: 1, MaxPrice: *uint256.NewInt(2)}, [32]byte{})
			return err
		}, ErrNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if got, _ := b.Get(good.ID); got != good || b.Len() != 1 {
				t.Fatalf("book changed: %+v, len %d", got, b.Len())
			}
		})
	}
	_, err := b.Best(&Demand{Memory: 1 << 40, Precisions: 1, MaxPrice: *uint256.NewInt(5)}, [32]byte{})
	if re, ok := errors.AsType[*RequirementError](err); !ok || re.Why != "memory" {
		t.Fatalf("got %v, want a RequirementError naming memory", err)
	}
}

func TestQuantizeMemory(t *testing.T) {
	for _, tt := range []struct{ in, want uint64 }{
		{0, 0}, {7, 7}, {8, 8}, {9, 8}, {15, 14}, {16, 16}, {17, 16}, {31, 28}, {80 << 30, 80 << 30}, {81 << 30, 80 << 30}, {70 << 30, 64 << 30},
	} {
		if got := QuantizeMemory(tt.in); got != tt.want {
			t.Errorf("QuantizeMemory(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
