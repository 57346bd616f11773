package dispute

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/holiman/uint256"
)

// Jackpot sizes forced-error jackpots (Truebit). A verifier who checks a task pays Cost; a
// task carries a forced error with probability Rate (drawn from a beacon fixed after the
// solver's commitment); the verifiers who catch a forced error share at most a third of the
// pool. J = (1 + Margin)·Cost/Rate makes checking worth its cost in expectation, so lazy
// verification (never checking, always approving) is dominated.
type Jackpot struct {
	Cost   float64 // a verifier's cost of checking one task
	Rate   float64 // ρ, the forced-error probability per task
	Margin float64 // the safety margin over break-even
	Split  float64 // the ratio r of the Sybil-proof split (Split), in [0, 1/2]; 0 means 1/2
}

// Size returns J = (1 + Margin)·Cost/Rate.
func (j Jackpot) Size() float64 { return (1 + j.Margin) * j.Cost / j.Rate }

// Validate reports every problem with j at once.
func (j Jackpot) Validate() error {
	var errs []error
	if !(j.Cost > 0) {
		errs = append(errs, fmt.Errorf("%w: jackpot cost %v", ErrConfig, j.Cost))
	}
	if !(j.Rate > 0 && j.Rate <= 1) {
		errs = append(errs, fmt.Errorf("%w: forced-error rate %v", ErrConfig, j.Rate))
	}
	if j.Margin < 0 || j.Split < 0 || j.Split > 0.5 {
		errs = append(errs, fmt.Errorf("%w: margin %v, split %v", ErrConfig, j.Margin, j.Split))
	}
	return errors.Join(errs...)
}

// Payout returns what a forced error pays out of pool: min(J, pool/3), rounded down.
func Payout(pool, j *uint256.Int) uint256.Int {
	var third uint256.Int
	third.Div(pool, uint256.NewInt(3))
	if j.Lt(&third) {
		return *j
	}
	return third
}

// Split divides a payout among the n challengers who caught one forced error, Truebit's
// way: each receives total·r^(n−1), rounded down (r = num/den; default 1/2 when den is 0),
// and what is left stays in the pool. It returns n equal shares, so a challenger's share does
// not depend on its place in the challenge order (the order only decides who is among the
// first Forced.MaxChallengers).
//
// The split is Sybil-proof for r ≤ 1/2: whatever the other m challengers do, n identities
// of one verifier together receive n·total·r^(n+m−1) ≤ total·r^m, what one identity would
// receive, because n·r^(n−1) ≤ 1 for every n ≥ 1; so the total paid to n colluding
// identities does not grow with n. (A split geometric in challenge order, the i-th
// receiving total·(1−r)·r^i, is not: n identities at the head of the order receive
// total·(1 − r^n), which grows with n.) Rounding down each step keeps the property exact.
func Split(total *uint256.Int, n int, num, den uint64) []uint256.Int {
	if den == 0 {
		num, den = 1, 2
	}
	if n <= 0 {
		return nil
	}
	var s uint256.Int
	s.Set(total)
	r, d := uint256.NewInt(num), uint256.NewInt(den)
	for range n - 1 {
		if s.IsZero() {
			break
		}
		s.MulDivOverflow(&s, r, d)
	}
	out := make([]uint256.Int, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// EconConfig parameterises the economics: a solver's stake and reward, the verifiers'
// sampling, the jackpot. Amounts are in one token unit.
type EconConfig struct {
	Stake   float64 // slashed from a caught cheater
	Reward  float64 // paid for an accepted task
	Save    float64 // what a cheater saves by forging its steps (at most Reward's cost share)
	Samples int     // s, steps each verifier replays
	Jackpot Jackpot
	// Tasks is the number of simulated tasks; Seed seeds the simulation.
	Tasks int
	Seed  uint64
	// Diligent is the fraction of verifiers who check; Verifiers per task.
	Diligent  float64
	Verifiers int
	// PoolStart is the jackpot pool at the start; Fee the protocol fee per task into it.
	PoolStart, Fee float64
}

// CheatEV is the closed form of a solver's expected gain from forging a fraction f of its
// steps against one diligent verifier replaying s sampled steps: caught with probability
// 1 − (1 − f)^s (losing the stake and the reward), else it keeps the reward and saves
// f·Save, relative to honest work that earns Reward.
func (c EconConfig) CheatEV(f float64) float64 {
	miss := 1.0
	for range c.Samples {
		miss *= 1 - f
	}
	return miss*(c.Reward+f*c.Save) - (1-miss)*c.Stake - c.Reward
}

// EconResult is what Simulate reports.
type EconResult struct {
	CheatEV      float64 // Monte-Carlo estimate of CheatEV(f)
	DiligentEV   float64 // a verifier's mean gain per task when it checks
	LazyEV       float64 // when it approves without checking
	MinPool      float64 // the jackpot pool's lowest level
	ForcedErrors int
}

// Simulate runs the agent-based Monte-Carlo: Tasks tasks, each solver forging a fraction f
// of steps, each task forced wrong with probability Jackpot.Rate, each verifier diligent
// with probability Diligent. A lazy verifier who approves a forced error forfeits the
// jackpot; the pool gains Fee per task and pays min(J, pool/3) per caught forced error.
func (c EconConfig) Simulate(f float64) EconResult {
	r := rand.New(rand.NewPCG(c.Seed, 0xd15))
	var res EconResult
	pool := c.PoolStart
	res.MinPool = pool
	j := c.Jackpot.Size()
	var cheat, dil, lazy float64
	for range c.Tasks {
		pool += c.Fee
		// A cheater against one diligent verifier.
		caught := false
		for range c.Samples {
			if r.Float64() < f {
				caught = true
				break
			}
		}
		if caught {
			cheat += -c.Stake - c.Reward
		} else {
			cheat += f * c.Save
		}
		// Forced error: the diligent verifier pays the cost and, on a forced error, takes the
		// capped payout; the lazy one pays nothing and earns nothing.
		dil -= c.Jackpot.Cost
		if r.Float64() < c.Jackpot.Rate {
			res.ForcedErrors++
			pay := min(j, pool/3)
			pool -= pay
			dil += pay
		}
		res.MinPool = min(res.MinPool, pool)
	}
	n := float64(max(c.Tasks, 1))
	res.CheatEV, res.DiligentEV, res.LazyEV = cheat/n, dil/n, lazy/n
	return res
}
