package market

import (
	"fmt"
	"math/rand/v2"
	"runtime"
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

// matchRun drives one benchmark market: every step matches the next demand of the stream
// (price priority, tie-break, reservation) and releases the reservation of the task matched
// 100 steps earlier, so that the same stream of demands meets the same number of outstanding
// reservations at every book size and the cheapest offers fill up, making the search run
// past them.
type matchRun struct {
	m      *benchMarket
	window [100]held
	i      int
	misses int
	lat    []time.Duration
}

func newMatchRun(n int) *matchRun {
	return &matchRun{m: newBenchMarket(n), lat: make([]time.Duration, 0, 1<<20)}
}

// steps performs k steps and returns their total time.
func (r *matchRun) steps(tb testing.TB, k int) time.Duration {
	start := time.Now()
	for range k {
		d := &r.m.demands[r.i&(len(r.m.demands)-1)]
		t0 := time.Now()
		got, err := r.m.b.Match(d, r.m.beacon)
		if len(r.lat) < cap(r.lat) {
			r.lat = append(r.lat, time.Since(t0))
		}
		w := &r.window[r.i%len(r.window)]
		r.i++
		if w.rate > 0 {
			if err := r.m.b.Release(w.id, w.rate); err != nil {
				tb.Fatal(err)
			}
		}
		*w = held{}
		if err != nil {
			r.misses++
			continue
		}
		*w = held{got.ID, d.Rate}
	}
	return time.Since(start)
}

// p99 returns the 99th percentile of the recorded match latencies in µs.
func (r *matchRun) p99() float64 {
	slices.Sort(r.lat)
	return float64(r.lat[len(r.lat)*99/100].Nanoseconds()) / 1000
}

// BenchmarkMatch measures continuous matching against books of 10^3 to 10^6 resting offers
// (see matchRun). Every step is one match and one release; it reports steps/s as matches/s,
// the 99th-percentile latency of one Match call, and the fraction of demands left unmatched.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("offers=%d", n), func(b *testing.B) {
			r := newMatchRun(n)
			b.ResetTimer()
			el := r.steps(b, b.N)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "matches/s")
			b.ReportMetric(r.p99(), "p99-µs")
			b.ReportMetric(float64(r.misses)/float64(b.N), "unmatched")
		})
	}
}

// BenchmarkMatchSlowdown measures the slowdown from 10^3 to 10^6 resting offers in one run:
// it alternates chunks of 4,096 steps between the two books, so that both see the same
// machine load, and reports each book's matches/s and p99 latency and the ratio of their
// times per match. One iteration is one step on each book.
func BenchmarkMatchSlowdown(b *testing.B) {
	small, large := newMatchRun(1_000), newMatchRun(1_000_000)
	b.ResetTimer()
	var ts, tl time.Duration
	n := 0
	for b.Loop() {
		n++
		if n%4096 == 0 || n == 1 {
			k := 4096
			ts += small.steps(b, k)
			tl += large.steps(b, k)
		}
	}
	b.StopTimer()
	steps := float64(small.i)
	b.ReportMetric(steps/ts.Seconds(), "matches/s-1e3")
	b.ReportMetric(steps/tl.Seconds(), "matches/s-1e6")
	b.ReportMetric(small.p99(), "p99-µs-1e3")
	b.ReportMetric(large.p99(), "p99-µs-1e6")
	b.ReportMetric(tl.Seconds()/ts.Seconds(), "slowdown")
}

// deepMLP returns an MLP of 16-unit hidden layers with about n nodes (five per layer).
func deepMLP(tb testing.TB, n int) *graph.Graph {
	hidden := make([]int, (n-8)/5)
	for i := range hidden {
		hidden[i] = 16
	}
	g, err := graph.MLP(784, 10, hidden...)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// BenchmarkEstimate measures work estimation as the chain performs it on a submitted
// TaskSpec: validate the spec, decode the graph's canonical bytes, check its hash, count the
// training step's work (graph.Graph.StepWork) and price it, for graphs of 10^3 to 10^5 nodes
// and one of graph.MaxNodes.
func BenchmarkEstimate(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000, graph.MaxNodes} {
		// Only the spec's bytes stay live: a submitted spec is what the chain holds.
		g := deepMLP(b, n)
		spec := TaskSpec{Graph: g.Encode(), GraphHash: g.Hash(), Dataset: Dataset{Samples: 60000}, Batch: 64,
			Steps: 1000, Deadline: 10, MaxPrice: *uint256.NewInt(1)}
		nodes := g.Len()
		g = nil
		runtime.GC()
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			var e Estimate
			cpu0 := cpuTime()
			for b.Loop() {
				var err error
				if e, err = spec.Estimate(0); err != nil {
					b.Fatal(err)
				}
			}
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/estimate")
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/estimate")
			b.ReportMetric(float64(len(spec.Graph)), "bytes")
			b.ReportMetric(float64(e.Instrs), "instrs")
		})
	}
}
