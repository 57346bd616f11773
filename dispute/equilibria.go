package dispute

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/holiman/uint256"
)

// EquilibriaConfig configures Equilibria, the agent-based simulation of the incentive game:
// solvers who may forge a fraction f of their steps, one verifier per task (diligent with
// probability Diligent, else lazy: it approves without checking), a pool of potential
// whistleblowers who join or leave by their expected payout (Whistleblower), forced errors
// at rate ρ paid out of a jackpot pool fed by task fees. Every zero field takes the default
// in its comment.
//
// The model, per task: the pool receives Fee; the task is forced with probability ρ; a
// diligent verifier pays Cost and challenges a forced error, taking Payout(pool, J) (it is
// its only catcher); a lazy verifier pays nothing and approves. Each active whistleblower
// reviews an approved task with probability WhistleSample at WhistleCost; the whistleblowers
// who catch a lazily approved forced error share Payout(pool, J) by Split and the lazy
// verifier's slashed VerifierStake (WhistleShare of it, also by Split; the rest goes to the
// pool). A cheating solver (the deviation under study) is caught when its verifier is
// diligent and one of its Samples sampled steps is forged (1 − (1 − f)^s), or else by a
// reviewing whistleblower likewise; caught, it loses Stake and Reward, else it keeps Reward
// and saves f·Save. Pool amounts are exact integers (uint256, through Payout and Split);
// the agents' gains are float64, every multiply-add written `float64(a*b) + c` so that no
// architecture fuses it and the report is the same everywhere.
type EquilibriaConfig struct {
	// Stake is a solver's slashable stake (default 1000), Reward its pay per task (100), Save
	// what forging every step saves (90), Samples the steps a checker replays (90).
	Stake, Reward, Save float64
	Samples             int
	// Jackpot gives the verifier's cost c and the forced-error rate ρ (defaults 1 and 0.01)
	// and the margin (0.2): J = (1 + margin)·c/ρ, rounded up to a whole token.
	Jackpot Jackpot
	// SplitNum/SplitDen is the Sybil-proof split's ratio (default 1/2).
	SplitNum, SplitDen uint64
	// VerifierStake is slashed from a lazy verifier caught approving a forced error
	// (default 1000); WhistleShare of it goes to the whistleblowers (default 0.5).
	VerifierStake, WhistleShare float64
	// WhistleCost is a whistleblower's cost per review (default Jackpot.Cost) and
	// WhistleSample the probability it reviews an approved task (default 0.5).
	WhistleCost, WhistleSample float64
	// PoolStart is the jackpot pool at the start (default 1000) and Fee what each task pays
	// into it (default 2).
	PoolStart, Fee uint64
	// Tasks is the number of simulated tasks per configuration (default 1,000,000), Epoch
	// the tasks between the whistleblowers' join-or-leave decisions (default 10,000), Seed
	// the simulation's seed.
	Tasks, Epoch int
	Seed         uint64
	// F are the forged fractions swept (default 1e-4, 1e-3, 0.01, 0.1, 0.5, 1), Diligent the
	// verifiers' diligent fractions (default 1, 0.9, 0.5, 0.1, 0), Whistleblowers the sizes
	// of the pool of potential whistleblowers (default 0, 4, 16).
	F              []float64
	Diligent       []float64
	Whistleblowers []int
	// SybilMax is the most colluding identities checked (default 64) and SybilOthers the
	// most other challengers beside them (default 8).
	SybilMax, SybilOthers int
	// Sigmas is how many standard errors the Monte-Carlo may stray from the closed form
	// and still agree (default 5).
	Sigmas float64
	// DetailDiligent and DetailWhistleblowers select the configuration whose cheating EV
	// Markdown details for every f (defaults 0.5 and 16).
	DetailDiligent       float64
	DetailWhistleblowers int
}

// EnsureDefaults returns c with defaults filled in.
func (c EquilibriaConfig) EnsureDefaults() EquilibriaConfig {
	def := func(x *float64, v float64) {
		if *x == 0 {
			*x = v
		}
	}
	def(&c.Stake, 1000)
	def(&c.Reward, 100)
	def(&c.Save, 90)
	if c.Samples == 0 {
		c.Samples = 90
	}
	def(&c.Jackpot.Cost, 1)
	def(&c.Jackpot.Rate, 0.01)
	def(&c.Jackpot.Margin, 0.2)
	if c.SplitDen == 0 {
		c.SplitNum, c.SplitDen = 1, 2
	}
	def(&c.VerifierStake, 1000)
	def(&c.WhistleShare, 0.5)
	def(&c.WhistleCost, c.Jackpot.Cost)
	def(&c.WhistleSample, 0.5)
	if c.PoolStart == 0 {
		c.PoolStart = 1000
	}
	if c.Fee == 0 {
		c.Fee = 2
	}
	if c.Tasks == 0 {
		c.Tasks = 1_000_000
	}
	if c.Epoch == 0 {
		c.Epoch = 10_000
	}
	if c.F == nil {
		c.F = []float64{1e-4, 1e-3, 0.01, 0.1, 0.5, 1}
	}
	if c.Diligent == nil {
		c.Diligent = []float64{1, 0.9, 0.5, 0.1, 0}
	}
	if c.Whistleblowers == nil {
		c.Whistleblowers = []int{0, 4, 16}
	}
	if c.SybilMax == 0 {
		c.SybilMax = 64
	}
	if c.SybilOthers == 0 {
		c.SybilOthers = 8
	}
	def(&c.Sigmas, 5)
	def(&c.DetailDiligent, 0.5)
	if c.DetailWhistleblowers == 0 {
		c.DetailWhistleblowers = 16
	}
	return c
}

// Validate reports every problem with c (after EnsureDefaults) at once.
func (c EquilibriaConfig) Validate() error {
	var errs []error
	if err := c.Jackpot.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.SplitNum > c.SplitDen/2 {
		errs = append(errs, fmt.Errorf("%w: split ratio %d/%d above 1/2", ErrConfig, c.SplitNum, c.SplitDen))
	}
	if c.Samples < 0 || c.Tasks < 0 || c.Epoch < 0 || c.SybilMax < 0 || c.SybilOthers < 0 {
		errs = append(errs, fmt.Errorf("%w: negative count", ErrConfig))
	}
	for _, x := range []float64{c.WhistleShare, c.WhistleSample} {
		if !(x >= 0 && x <= 1) {
			errs = append(errs, fmt.Errorf("%w: fraction %v", ErrConfig, x))
		}
	}
	for _, f := range c.F {
		if !(f > 0 && f <= 1) {
			errs = append(errs, fmt.Errorf("%w: forged fraction %v outside (0, 1]", ErrConfig, f))
		}
	}
	for _, d := range c.Diligent {
		if !(d >= 0 && d <= 1) {
			errs = append(errs, fmt.Errorf("%w: diligent fraction %v", ErrConfig, d))
		}
	}
	for _, w := range c.Whistleblowers {
		if w < 0 || w > 1024 {
			errs = append(errs, fmt.Errorf("%w: %d whistleblowers", ErrConfig, w))
		}
	}
	if !(c.Stake > 0 && c.Reward >= 0 && c.Save >= 0 && c.VerifierStake >= 0 && c.WhistleCost >= 0 && c.Sigmas > 0) {
		errs = append(errs, fmt.Errorf("%w: stake %v, reward %v, save %v", ErrConfig, c.Stake, c.Reward, c.Save))
	}
	return errors.Join(errs...)
}

// J returns the jackpot in whole tokens: (1 + margin)·c/ρ rounded up (to the nearest whole
// token when it is within 10^-9 of one, so that 1.2·1/0.01 gives 120).
func (c EquilibriaConfig) J() uint64 {
	x := c.Jackpot.Size()
	if r := math.Round(x); math.Abs(x-r) <= 1e-9*x {
		return uint64(r)
	}
	return uint64(math.Ceil(x))
}

// CheatPoint is the cheating solver's expected gain over honest work at one forged
// fraction F: the closed form, the Monte-Carlo mean and its standard error.
type CheatPoint struct {
	F                float64
	Closed, MC, SE   float64
	Negative, Agrees bool
}

// EquilibriumRow is the outcome of one configuration: the verifiers' diligent fraction and
// the pool of potential whistleblowers.
type EquilibriumRow struct {
	Diligent       float64
	Whistleblowers int
	// Equilibrium is the closed-form number of active whistleblowers (Whistleblower.
	// Equilibrium); Active the number active at the end of the simulation.
	Equilibrium, Active int
	// WhistleEV is a whistleblower's expected gain per task at the equilibrium (at one
	// whistleblower when none is active: the would-be entrant's), WhistleEVMC the simulated
	// mean per active whistleblower per task (NaN when none was active).
	WhistleEV, WhistleEVMC float64
	// DiligentEV and LazyEV are a verifier's expected gain per task when it checks and when
	// it does not (closed form; MC the simulated means, NaN when no task had such a
	// verifier). LazyDominated: diligent beats lazy in both.
	DiligentEV, DiligentEVMC, LazyEV, LazyEVMC float64
	LazyDominated                              bool
	// MinPool and EndPool are the jackpot pool's lowest and last levels; Solvent is
	// MinPool > 0.
	MinPool, EndPool uint64
	Solvent          bool
	// Cheat holds the cheating EV for every swept f; CheatNegative is true when both the
	// closed form and the Monte-Carlo are negative for every f.
	Cheat         []CheatPoint
	CheatNegative bool
}

// SybilCheck is the exact check of the split: n colluding identities beside m other
// challengers, for n up to MaxIdentities and m up to MaxOthers, never receive more in
// total than n−1 of them would (so never more than one identity). Totals lists what n
// identities alone receive of J, for n = 1..8.
type SybilCheck struct {
	MaxIdentities, MaxOthers int
	Holds                    bool
	Totals                   []uint64
}

// Report is what Equilibria returns.
type Report struct {
	Config EquilibriaConfig
	// J is the jackpot in tokens; Breakeven is c/ρ.
	J         uint64
	Breakeven float64
	Rows      []EquilibriumRow
	Sybil     SybilCheck
}

// Equilibria runs the agent-based simulation of every configuration of c (EquilibriaConfig)
// and reports, for each, whether cheating has negative expected value for every f (closed
// form and Monte-Carlo with its standard error), whether lazy verification is dominated,
// the jackpot pool's minimum, the whistleblowers' equilibrium, and whether the split pays n
// colluding identities no more than one. It is deterministic: the same config gives the
// same report on every machine.
func Equilibria(c EquilibriaConfig) (Report, error) {
	c = c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return Report{}, err
	}
	rep := Report{Config: c, J: c.J(), Breakeven: c.Jackpot.Cost / c.Jackpot.Rate}
	for _, d := range c.Diligent {
		for _, w := range c.Whistleblowers {
			rep.Rows = append(rep.Rows, c.simulate(d, w, rep.J))
		}
	}
	rep.Sybil = c.sybil(rep.J)
	return rep, nil
}

func (c EquilibriaConfig) ratio() float64 { return float64(c.SplitNum) / float64(c.SplitDen) }

// market is what a whistleblower knows with the pool at pool.
func (c EquilibriaConfig) market(d float64, pool *uint256.Int, j uint64) Market {
	p := Payout(pool, uint256.NewInt(j))
	return Market{Rate: c.Jackpot.Rate, Lazy: 1 - d, SplitRatio: c.ratio(),
		Prize: float64(p.Uint64()) + float64(uint64(c.VerifierStake*c.WhistleShare))}
}

// caughtBy returns 1 − (1 − f)^s, the probability that s sampled steps hit a forged one.
func caughtBy(f float64, s int) float64 {
	miss := 1.0
	for range s {
		miss *= 1 - f
	}
	return 1 - miss
}

func (c EquilibriaConfig) simulate(d float64, w int, j uint64) EquilibriumRow {
	row := EquilibriumRow{Diligent: d, Whistleblowers: w}
	rng := rand.New(rand.NewPCG(c.Seed, uint64(w)<<32^math.Float64bits(d)))
	pool := uint256.NewInt(c.PoolStart)
	minPool := *pool
	jack := uint256.NewInt(j)
	vSlash := uint64(c.VerifierStake)
	wbPart := uint256.NewInt(uint64(c.VerifierStake * c.WhistleShare))
	agents := make([]Whistleblower, w)
	for i := range agents {
		agents[i] = Whistleblower{Cost: c.WhistleCost, Sample: c.WhistleSample}
	}
	proto := Whistleblower{Cost: c.WhistleCost, Sample: c.WhistleSample}
	mk0 := c.market(d, pool, j)
	row.Equilibrium = proto.Equilibrium(mk0, w)
	pf := make([]float64, len(c.F))
	for i, f := range c.F {
		pf[i] = caughtBy(f, c.Samples)
	}
	sum, sq := make([]float64, len(c.F)), make([]float64, len(c.F))
	var dilNet, lazyNet, wbNet float64
	var dilTasks, lazyTasks, wbSlots int
	active := 0
	reviewers := make([]float64, 0, w)
	var fee uint256.Int
	fee.SetUint64(c.Fee)
	for i := range c.Tasks {
		if i%c.Epoch == 0 {
			mk := c.market(d, pool, j)
			for a := range agents {
				others := active
				if agents[a].Active {
					others--
				}
				if agents[a].Decide(mk, others) {
					if agents[a].Active {
						active++
					} else {
						active--
					}
				}
			}
		}
		pool.Add(pool, &fee)
		forced := rng.Float64() < c.Jackpot.Rate
		diligent := rng.Float64() < d
		uv := rng.Float64()
		reviewers = reviewers[:0]
		for range active {
			if rng.Float64() < c.WhistleSample {
				reviewers = append(reviewers, rng.Float64())
			}
		}
		wbSlots += active
		if diligent {
			dilTasks++
			dilNet -= c.Jackpot.Cost
		} else {
			lazyTasks++
		}
		if !(forced && diligent) { // the task was approved: the reviewers pay for their reviews
			wbNet -= float64(float64(len(reviewers)) * c.WhistleCost)
		}
		if forced && diligent {
			p := Payout(pool, jack)
			pool.Sub(pool, &p)
			dilNet += float64(p.Uint64())
		} else if forced && len(reviewers) > 0 {
			m := len(reviewers)
			p := Payout(pool, jack)
			share := Split(&p, m, c.SplitNum, c.SplitDen)[0]
			wshare := Split(wbPart, m, c.SplitNum, c.SplitDen)[0]
			var paid, back uint256.Int
			paid.Mul(&share, uint256.NewInt(uint64(m)))
			pool.Sub(pool, &paid)
			back.Mul(&wshare, uint256.NewInt(uint64(m)))
			back.Sub(uint256.NewInt(vSlash), &back)
			pool.Add(pool, &back)
			wbNet += float64(float64(m) * float64(share.Uint64()+wshare.Uint64()))
			lazyNet -= float64(vSlash)
		}
		if pool.Lt(&minPool) {
			minPool = *pool
		}
		for k, p := range pf {
			caught := diligent && uv < p
			for _, u := range reviewers {
				caught = caught || u < p
			}
			g := float64(c.F[k] * c.Save)
			if caught {
				g = -(c.Stake + c.Reward)
			}
			sum[k] += g
			sq[k] += float64(g * g)
		}
	}
	row.Active = active
	row.MinPool, row.EndPool = minPool.Uint64(), pool.Uint64()
	row.Solvent = !minPool.IsZero()
	row.WhistleEV = proto.ExpectedPayout(mk0, max(row.Equilibrium, 1))
	row.WhistleEVMC = ratioOrNaN(wbNet, wbSlots)
	rho, q := c.Jackpot.Rate, c.WhistleSample
	row.DiligentEV = float64(rho*float64(j)) - c.Jackpot.Cost
	noReview := 1.0
	for range row.Equilibrium {
		noReview *= 1 - q
	}
	row.LazyEV = -rho * (1 - noReview) * c.VerifierStake
	row.DiligentEVMC, row.LazyEVMC = ratioOrNaN(dilNet, dilTasks), ratioOrNaN(lazyNet, lazyTasks)
	row.LazyDominated = row.DiligentEV > row.LazyEV && !(row.DiligentEVMC <= row.LazyEVMC)
	row.CheatNegative = true
	n := float64(max(c.Tasks, 1))
	for k, f := range c.F {
		p := pf[k]
		miss := 1 - float64(d*p)
		for range row.Equilibrium {
			miss *= 1 - float64(q*p)
		}
		pt := CheatPoint{F: f, Closed: float64(miss*f*c.Save) - float64((1-miss)*(c.Stake+c.Reward)), MC: sum[k] / n}
		pt.SE = math.Sqrt(max(sq[k]/n-float64(pt.MC*pt.MC), 0) / n)
		pt.Negative = pt.Closed < 0 && pt.MC < 0
		pt.Agrees = math.Abs(pt.MC-pt.Closed) <= float64(c.Sigmas*pt.SE)+float64(1e-9*math.Abs(pt.Closed))
		row.CheatNegative = row.CheatNegative && pt.Negative
		row.Cheat = append(row.Cheat, pt)
	}
	return row
}

func ratioOrNaN(x float64, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return x / float64(n)
}

func (c EquilibriaConfig) sybil(j uint64) SybilCheck {
	s := SybilCheck{MaxIdentities: c.SybilMax, MaxOthers: c.SybilOthers, Holds: true}
	total := uint256.NewInt(j)
	for m := 0; m <= c.SybilOthers; m++ {
		prev := Split(total, 1+m, c.SplitNum, c.SplitDen)[0]
		for n := 1; n <= c.SybilMax; n++ {
			var got uint256.Int
			share := Split(total, n+m, c.SplitNum, c.SplitDen)[0]
			got.Mul(&share, uint256.NewInt(uint64(n)))
			if got.Gt(&prev) {
				s.Holds = false
			}
			prev = got
			if m == 0 && n <= 8 {
				s.Totals = append(s.Totals, got.Uint64())
			}
		}
	}
	return s
}

// String returns the report as Markdown.
func (r Report) String() string { return r.Markdown() }

// Markdown returns the report as Markdown tables: one row per configuration, then the
// cheating EV for every f of the detailed configuration, then the Sybil check.
func (r Report) Markdown() string {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "J = (1 + %.2g)·%.3g/%.3g = %d tokens (c/ρ = %.4g); stake %.4g, reward %.4g, save %.4g, s = %d; verifier stake %.4g; whistleblowers review %.2g of tasks at cost %.3g; fee %d/task, pool starts at %d; %d tasks per configuration.\n\n",
		c.Jackpot.Margin, c.Jackpot.Cost, c.Jackpot.Rate, r.J, r.Breakeven, c.Stake, c.Reward, c.Save, c.Samples, c.VerifierStake, c.WhistleSample, c.WhistleCost, c.Fee, c.PoolStart, c.Tasks)
	b.WriteString("| diligent | potential whistleblowers | equilibrium (closed / sim) | whistleblower EV/task (closed / MC) | diligent EV (closed / MC) | lazy EV (closed / MC) | lazy dominated | pool min / end | cheating EV < 0 for every f | worst f: closed / MC ± SE |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		worst := row.Cheat[0]
		for _, p := range row.Cheat {
			if p.Closed > worst.Closed {
				worst = p
			}
		}
		fmt.Fprintf(&b, "| %.2g | %d | %d / %d | %s / %s | %s / %s | %s / %s | %s | %d / %d | %s | f=%.2g: %.4g / %.4g ± %.2g |\n",
			row.Diligent, row.Whistleblowers, row.Equilibrium, row.Active, num(row.WhistleEV), num(row.WhistleEVMC),
			num(row.DiligentEV), num(row.DiligentEVMC), num(row.LazyEV), num(row.LazyEVMC), yes(row.LazyDominated),
			row.MinPool, row.EndPool, yes(row.CheatNegative), worst.F, worst.Closed, worst.MC, worst.SE)
	}
	for _, row := range r.Rows {
		if row.Diligent != c.DetailDiligent || row.Whistleblowers != c.DetailWhistleblowers {
			continue
		}
		fmt.Fprintf(&b, "\nCheating EV relative to honest work, diligent %.2g, %d potential whistleblowers (%d active):\n\n", row.Diligent, row.Whistleblowers, row.Active)
		b.WriteString("| f | closed form | Monte-Carlo | standard error | agree within σ bound | negative |\n|---|---|---|---|---|---|\n")
		for _, p := range row.Cheat {
			fmt.Fprintf(&b, "| %.2g | %.4f | %.4f | %.2g | %s | %s |\n", p.F, p.Closed, p.MC, p.SE, yes(p.Agrees), yes(p.Negative))
		}
	}
	fmt.Fprintf(&b, "\nSybil-proof split (r = %d/%d): n colluding identities beside m others, n ≤ %d, m ≤ %d, never receive more than n−1 of them: %s. What n identities alone receive of J = %d, n = 1..%d: %v.\n",
		c.SplitNum, c.SplitDen, r.Sybil.MaxIdentities, r.Sybil.MaxOthers, yes(r.Sybil.Holds), r.J, len(r.Sybil.Totals), r.Sybil.Totals)
	return b.String()
}

func num(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	if x == 0 {
		return "0" // not "-0"
	}
	return fmt.Sprintf("%.3g", x)
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}
