package market

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/deai-go/deai/accel/graph"
	"github.com/holiman/uint256"
)

// benchProfiles are realistic device profiles: memory in GiB, precisions, bit-exact.
var benchProfiles = []Props{
	{16 << 30, 1, true}, {32 << 30, 1, true}, {64 << 30, 1, true}, // reference CPU backends
	{24 << 30, 1 | 2 | 4, false}, {24 << 30, 1 | 2 | 4 | 8, false}, // RTX 4090 class
	{40 << 30, 1 | 2 | 4 | 8 | 16, false}, {80 << 30, 1 | 2 | 4 | 8 | 16, false}, // A100
	{80 << 30, 1 | 2 | 4 | 8 | 16, false}, {94 << 30, 1 | 2 | 4 | 8 | 16, false}, // H100
	{48 << 30, 1 | 2 | 4 | 8, false}, {141 << 30, 1 | 2 | 4 | 8 | 16, false}, {192 << 30, 1 | 2 | 4 | 16, false},
}

type benchMarket struct {
	b       *Book
	demands []Demand
	beacon  [32]byte
}

// newBenchMarket fills a book with n offers over the benchmark profiles, with prices spread
// over 10^6 levels, capacities of 4 to 16 units and stakes of 0 to 99.
func newBenchMarket(n int) *benchMarket {
	r := rand.New(rand.NewPCG(7, uint64(n)))
	m := &benchMarket{b: NewBook(), beacon: randID(r)}
	for range n {
		p := benchProfiles[r.IntN(len(benchProfiles))]
		cp := 4 + r.Uint64N(13)
		o := Resting{ID: randID(r), Props: p, Price: *uint256.NewInt((1 + r.Uint64N(1_000_000)) * 1_000_000_000),
			Capacity: cp, Stake: *uint256.NewInt(r.Uint64N(100))}
		if err := m.b.Add(o); err != nil {
			panic(err)
		}
	}
	for range 1 << 16 {
		p := benchProfiles[r.IntN(len(benchProfiles))]
		m.demands = append(m.demands, Demand{
			Task: randID(r), Memory: QuantizeMemory(p.Memory) / (1 + r.Uint64N(4)), Precisions: p.Precisions & PrecisionSet(1+r.IntN(3)),
			BitExact: p.BitExact && r.IntN(2) == 0, MaxPrice: *uint256.NewInt((200_000 + r.Uint64N(800_000)) * 1_000_000_000),
			Rate: 1 + r.Uint64N(4), MinStake: *uint256.NewInt(r.Uint64N(50)),
		})
	}
	return m
}

type held struct {
	id   [32]byte
	rate uint64
}

// BenchmarkMatch measures continuous matching against a book of resting offers: every
// iteration matches one task (price priority, tie-break, reservation) and releases the
// reservation of the task matched 100 iterations earlier (the same stream of demands and
// the same outstanding reservations at every book size), so the cheapest offers fill up and
// the search runs past them. It reports matches/s and the 99th-percentile latency
// of one match.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("offers=%d", n), func(b *testing.B) {
			m := newBenchMarket(n)
			window := make([]held, 100)
			lat := make([]time.Duration, 0, 1<<20)
			misses := 0
			b.ResetTimer()
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				d := &m.demands[i&(len(m.demands)-1)]
				t0 := time.Now()
				r, err := m.b.Match(d, m.beacon)
				if len(lat) < cap(lat) {
					lat = append(lat, time.Since(t0))
				}
				w := &window[i%len(window)]
				if w.rate > 0 {
					if err := m.b.Release(w.id, w.rate); err != nil {
						b.Fatal(err)
					}
				}
				*w = held{}
				if err != nil {
					misses++
					continue
				}
				*w = held{r.ID, d.Rate}
			}
			el := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/el.Seconds(), "matches/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
			b.ReportMetric(float64(misses)/float64(b.N), "unmatched")
		})
	}
}

// deepMLP returns an MLP of as many 16-unit hidden layers as fit graph.MaxNodes.
func deepMLP(tb testing.TB) *graph.Graph {
	layers := (graph.MaxNodes - 8) / 5
	hidden := make([]int, layers)
	for i := range hidden {
		hidden[i] = 16
	}
	g, err := graph.MLP(784, 10, hidden...)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// BenchmarkEstimate measures work estimation of the largest graph the SDK accepts
// (graph.MaxNodes nodes): decode the encoding, check its hash, compile the training step,
// price every primitive.
func BenchmarkEstimate(b *testing.B) {
	g := deepMLP(b)
	spec := TaskSpec{Graph: g.Encode(), GraphHash: g.Hash(), Dataset: Dataset{Samples: 60000}, Batch: 64,
		Steps: 1000, Deadline: 10, MaxPrice: *uint256.NewInt(1)}
	var e Estimate
	for b.Loop() {
		var err error
		if e, err = spec.Estimate(0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(g.Len()), "nodes")
	b.ReportMetric(float64(e.Instrs), "instrs")
}
