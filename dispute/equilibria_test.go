package dispute

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/holiman/uint256"
)

var printReport = flag.Bool("dispute.report", false, "print the Equilibria report (Markdown) in TestEquilibria")

// TestEquilibria checks the claims of the economics on every swept configuration.
// Rationale: (1) the pool, paying at most a third of itself per payout and fed by fees,
// stays solvent over 10^6 tasks; (2) with J ≥ (1 + margin)·c/ρ a diligent verifier out-earns
// a lazy one; (3) cheating has negative expected value for every f in (0, 1] as soon as
// anyone checks (a diligent verifier or an equilibrium whistleblower), and the Monte-Carlo
// agrees with the closed form within its standard error; nobody checking is the one case
// where it pays, and the report must say so; (4) the whistleblowers' join-or-leave rule
// settles on the closed-form equilibrium; (5) n colluding identities get no more than one.
func TestEquilibria(t *testing.T) {
	cfg := EquilibriaConfig{}
	if testing.Short() {
		cfg.Tasks = 100_000
	}
	rep, err := Equilibria(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if *printReport {
		t.Log("\n" + rep.Markdown())
	}
	c := rep.Config
	if float64(rep.J) < (1+c.Jackpot.Margin)*c.Jackpot.Cost/c.Jackpot.Rate-1e-9 || rep.J != 120 {
		t.Fatalf("J = %d", rep.J)
	}
	if len(rep.Rows) != len(c.Diligent)*len(c.Whistleblowers) {
		t.Fatalf("%d rows", len(rep.Rows))
	}
	sawUnchecked, sawEquilibrium := false, false
	for _, row := range rep.Rows {
		t.Run(fmt.Sprintf("d=%v,w=%d", row.Diligent, row.Whistleblowers), func(t *testing.T) {
			if !row.Solvent || row.MinPool == 0 {
				t.Errorf("pool insolvent: min %d", row.MinPool)
			}
			if !row.LazyDominated {
				t.Errorf("lazy not dominated: diligent %v/%v, lazy %v/%v", row.DiligentEV, row.DiligentEVMC, row.LazyEV, row.LazyEVMC)
			}
			if row.Active != row.Equilibrium || row.Equilibrium > row.Whistleblowers {
				t.Errorf("whistleblowers: %d active, equilibrium %d of %d", row.Active, row.Equilibrium, row.Whistleblowers)
			}
			if row.Equilibrium > 0 {
				sawEquilibrium = true
				if row.WhistleEV <= 0 || math.Abs(row.WhistleEVMC-row.WhistleEV) > 0.05+0.1*row.WhistleEV {
					t.Errorf("whistleblower EV closed %v, simulated %v", row.WhistleEV, row.WhistleEVMC)
				}
				next := Whistleblower{Cost: c.WhistleCost, Sample: c.WhistleSample}
				if row.Equilibrium < row.Whistleblowers && next.ExpectedPayout(c.market(row.Diligent, uint256.NewInt(c.PoolStart), rep.J), row.Equilibrium+1) > 0 {
					t.Errorf("one more whistleblower would still gain")
				}
			}
			for _, p := range row.Cheat {
				if !p.Agrees {
					t.Errorf("f=%v: Monte-Carlo %v ± %v, closed form %v", p.F, p.MC, p.SE, p.Closed)
				}
			}
			checked := row.Diligent > 0 || row.Equilibrium > 0
			if checked != row.CheatNegative {
				t.Errorf("someone checks: %v, cheating EV negative for every f: %v (%+v)", checked, row.CheatNegative, row.Cheat)
			}
			if !checked {
				sawUnchecked = true
			}
		})
	}
	if !sawUnchecked || !sawEquilibrium {
		t.Fatal("the sweep misses the unchecked or the whistleblower case")
	}
	if !rep.Sybil.Holds || rep.Sybil.Totals[0] != rep.J || rep.Sybil.Totals[1] != rep.J || rep.Sybil.Totals[2] >= rep.J {
		t.Fatalf("Sybil: %+v", rep.Sybil)
	}
	if md := rep.String(); !strings.Contains(md, "| diligent |") || !strings.Contains(md, "Sybil") {
		t.Fatalf("report: %s", md)
	}
	// Deterministic: the same config gives the same report.
	cfg.Tasks, cfg.Diligent, cfg.Whistleblowers = 20_000, []float64{0.5}, []int{4}
	a, _ := Equilibria(cfg)
	b, _ := Equilibria(cfg)
	if a.Markdown() != b.Markdown() {
		t.Fatal("two runs differ")
	}
	if _, err := Equilibria(EquilibriaConfig{F: []float64{0}, Diligent: []float64{2}}); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad config: %v", err)
	}
}

// TestWhistleblower: the join-or-leave rule. Rationale: a whistleblower joins exactly while
// its expected payout is positive given the others, so the pool settles where one more
// would lose money; it reviews by recomputing and challenges only a wrong result.
func TestWhistleblower(t *testing.T) {
	mk := Market{Rate: 0.01, Lazy: 0.5, Prize: 620, SplitRatio: 0.5}
	w := Whistleblower{Cost: 1, Sample: 0.5}
	tests := []struct {
		name   string
		mk     Market
		others int
		active bool
	}{
		{"alone, lazy verifiers", mk, 0, true},
		{"many others", mk, 20, false},
		{"diligent verifiers", Market{Rate: 0.01, Lazy: 0, Prize: 620, SplitRatio: 0.5}, 0, false},
		{"no prize", Market{Rate: 0.01, Lazy: 1, SplitRatio: 0.5}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w.Active = !tc.active
			if !w.Decide(tc.mk, tc.others) || w.Active != tc.active {
				t.Fatalf("active %v, want %v (E = %v)", w.Active, tc.active, w.ExpectedPayout(tc.mk, tc.others+1))
			}
		})
	}
	n := w.Equilibrium(mk, 100)
	if n == 0 || w.ExpectedPayout(mk, n) <= 0 || w.ExpectedPayout(mk, n+1) > 0 {
		t.Fatalf("equilibrium %d: E(n) = %v, E(n+1) = %v", n, w.ExpectedPayout(mk, n), w.ExpectedPayout(mk, n+1))
	}
	// Sequential decisions from an empty pool settle on the equilibrium.
	pool := make([]Whistleblower, 30)
	active := 0
	for range 3 {
		for i := range pool {
			pool[i].Cost, pool[i].Sample = 1, 0.5
			others := active
			if pool[i].Active {
				others--
			}
			if pool[i].Decide(mk, others) {
				if pool[i].Active {
					active++
				} else {
					active--
				}
			}
		}
	}
	if active != n {
		t.Fatalf("%d active, equilibrium %d", active, n)
	}
	// Review.
	right := Hash{1}
	w.Active = true
	w.Recompute = func([32]byte) (Hash, error) { return right, nil }
	if mv, err := w.Review(Task{ID: [32]byte{1}, Status: TaskPosted, Result: Hash{2}}, 0.1); err != nil || mv != (Challenge{Task: [32]byte{1}}) {
		t.Fatalf("wrong result: %v %v", mv, err)
	}
	if mv, _ := w.Review(Task{ID: [32]byte{1}, Status: TaskPosted, Result: right}, 0.1); mv != nil {
		t.Fatalf("right result challenged: %v", mv)
	}
	if mv, _ := w.Review(Task{ID: [32]byte{1}, Status: TaskPosted, Result: Hash{2}}, 0.9); mv != nil {
		t.Fatalf("unsampled task reviewed: %v", mv)
	}
	w.Recompute = nil
	if _, err := w.Review(Task{Status: TaskPosted}, 0.1); !errors.Is(err, ErrConfig) {
		t.Fatalf("no recomputation: %v", err)
	}
}
