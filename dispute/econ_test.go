package dispute

import (
	"math"
	"testing"

	"github.com/holiman/uint256"
)

func econ() EconConfig {
	return EconConfig{Stake: 1000, Reward: 100, Save: 90, Samples: 90,
		Jackpot: Jackpot{Cost: 1, Rate: 0.01, Margin: 0.2}, Tasks: 1_000_000, Seed: 1, PoolStart: 1000, Fee: 1.5}
}

// TestCheatingNegative: Rationale: for every forged fraction f in (0, 1], a solver's
// expected gain from cheating is negative under the configured stake, reward and sample
// count, in closed form and in the Monte-Carlo, and the two agree.
func TestCheatingNegative(t *testing.T) {
	c := econ()
	if testing.Short() {
		c.Tasks = 100_000
	}
	for _, f := range []float64{1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5, 1} {
		cf := c.CheatEV(f)
		if cf >= 0 {
			t.Fatalf("f=%v: closed-form EV %v", f, cf)
		}
		// Both are relative to honest work.
		mc := c.Simulate(f).CheatEV
		sd := (c.Stake + c.Reward + c.Save) / math.Sqrt(float64(c.Tasks))
		if math.Abs(mc-cf) > 5*sd {
			t.Fatalf("f=%v: Monte-Carlo %v, closed form %v (5σ = %v)", f, mc, cf, 5*sd)
		}
		t.Logf("f=%-6v closed form %10.3f  Monte-Carlo %10.3f", f, cf, mc)
	}
	// Fine grid of f, closed form.
	for i := 1; i <= 10000; i++ {
		if f := float64(i) / 10000; c.CheatEV(f) >= 0 {
			t.Fatalf("f=%v: EV %v", f, c.CheatEV(f))
		}
	}
}

// TestLazyDominated: Rationale: with J ≥ (1 + margin)·c/ρ a diligent verifier earns more per
// task than a lazy one, and the pool, fed by fees, stays solvent over 10^6 tasks.
func TestLazyDominated(t *testing.T) {
	c := econ()
	if testing.Short() {
		c.Tasks = 100_000
	}
	res := c.Simulate(0)
	closed := c.Jackpot.Rate*c.Jackpot.Size() - c.Jackpot.Cost // = margin·c when the cap does not bind
	t.Logf("J = %v, diligent %.4f/task (closed form %.4f), lazy %.4f, min pool %.1f, %d forced errors",
		c.Jackpot.Size(), res.DiligentEV, closed, res.LazyEV, res.MinPool, res.ForcedErrors)
	if res.DiligentEV <= res.LazyEV || res.MinPool <= 0 {
		t.Fatalf("lazy not dominated or pool insolvent: %+v", res)
	}
	if math.Abs(res.DiligentEV-closed) > 0.1 {
		t.Fatalf("Monte-Carlo %v vs closed form %v", res.DiligentEV, closed)
	}
}

// TestSybilSplit: Rationale: n identities of one verifier catching the same forced error
// together receive no more than one identity would, for every n and whatever the other
// challengers do (wherever the identities stand in the challenge order, since the shares are
// equal), and Σ shares never exceeds the payout.
func TestSybilSplit(t *testing.T) {
	for _, total := range []*uint256.Int{uint256.NewInt(1_000_000), uint256.NewInt(999_999_937), new(uint256.Int).SetAllOne()} {
		for _, r := range [][2]uint64{{1, 2}, {1, 3}, {2, 5}, {0, 1}} {
			for m := 0; m <= 8; m++ { // other, honest challengers
				one := Split(total, 1+m, r[0], r[1])[0]
				prev := new(uint256.Int).SetAllOne()
				for n := 1; n <= 64; n++ {
					shares := Split(total, n+m, r[0], r[1])
					var sum, mine uint256.Int
					for i, s := range shares {
						if _, o := sum.AddOverflow(&sum, &s); o || !s.Eq(&shares[0]) {
							t.Fatalf("n=%d m=%d: overflow or unequal shares", n, m)
						}
						if i < n {
							mine.Add(&mine, &s)
						}
					}
					if sum.Gt(total) {
						t.Fatalf("total %v r=%v n=%d m=%d: Σ %v > total", total, r, n, m, &sum)
					}
					if mine.Gt(&one) || mine.Gt(prev) {
						t.Fatalf("total %v r=%v n=%d m=%d: n identities get %v, one gets %v, n−1 got %v", total, r, n, m, &mine, &one, prev)
					}
					prev = new(uint256.Int).Set(&mine)
				}
			}
		}
	}
	// The payout cap.
	pool, j := uint256.NewInt(900), uint256.NewInt(1000)
	if p := Payout(pool, j); p.Uint64() != 300 {
		t.Fatalf("cap: %v", &p)
	}
	if p := Payout(uint256.NewInt(9000), j); p.Uint64() != 1000 {
		t.Fatalf("uncapped: %v", &p)
	}
}
