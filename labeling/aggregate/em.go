package aggregate

import (
	"errors"
	"fmt"
	"math"
)

// Config tunes the EM methods (DawidSkene, MACE, Online). The zero value is usable: every
// zero field takes its documented default in EnsureDefaults.
type Config struct {
	// MaxIterations caps the EM iterations. Default: 200.
	MaxIterations int
	// Tolerance ends EM when the posteriors moved by at most this in one iteration, measured
	// as the mean over labelled items of the total variation distance between an item's
	// posterior before and after the iteration. Default: 1e-5.
	Tolerance float64
	// Smoothing is the pseudo-count added to every cell of the count tables EM estimates
	// from (confusion matrices and the class prior for DawidSkene; spamming and strategy
	// counts for MACE): it keeps every probability positive, so one unusual label never
	// makes a class impossible. Default: 0.01.
	Smoothing float64
	// Parallelism is the most goroutines one DawidSkene fit uses; 0 means
	// runtime.GOMAXPROCS(0) at the call, 1 the calling goroutine only. Results do not depend
	// on it: goroutines split outputs (the items of the E-step, the confusion rows of the
	// M-step's counts), never a sum; a fit of fewer than 2·16,384 labels stays on one.
	Parallelism int
}

// EnsureDefaults returns c with zero fields replaced by their defaults.
func (c Config) EnsureDefaults() Config {
	if c.MaxIterations == 0 {
		c.MaxIterations = 200
	}
	if c.Tolerance == 0 {
		c.Tolerance = 1e-5
	}
	if c.Smoothing == 0 {
		c.Smoothing = 0.01
	}
	return c
}

// Validate reports every problem with c (after EnsureDefaults) at once; each wraps
// ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	if c.MaxIterations < 1 || c.MaxIterations > 1_000_000 {
		errs = append(errs, fmt.Errorf("%w: max iterations %d not in [1, 1e6]", ErrInvalidConfig, c.MaxIterations))
	}
	if !(c.Tolerance > 0 && c.Tolerance < 1) {
		errs = append(errs, fmt.Errorf("%w: tolerance %v not in (0, 1)", ErrInvalidConfig, c.Tolerance))
	}
	if c.Parallelism < 0 || c.Parallelism > 1024 {
		errs = append(errs, fmt.Errorf("%w: parallelism %d not in [0, 1024]", ErrInvalidConfig, c.Parallelism))
	}
	if !(c.Smoothing >= 1e-3 && c.Smoothing <= 1e6) {
		errs = append(errs, fmt.Errorf("%w: smoothing %v not in [1e-3, 1e6]", ErrInvalidConfig, c.Smoothing))
	}
	return errors.Join(errs...)
}

// Products of many probabilities are kept in range by exact power-of-two rescaling: after
// every rescaleEvery factors (Dawid-Skene; MACE checks after every factor), if the largest of an item's unnormalized posteriors is below
// rescaleBelow, all are multiplied by rescaleBy. Every factor is at least Smoothing/(labels of
// the worker + K·Smoothing) > 2^-40 for Smoothing ≥ 1e-3 and at most 2^31 labels, so eight
// factors take the largest down by less than 2^-320, never from ≥ 2^-600 into the
// subnormal range. No logarithms are taken, so the results are the same bits on every
// architecture (math.Log and math.Exp are not).
const (
	rescaleEvery = 8
	rescaleBelow = 0x1p-600
	rescaleBy    = 0x1p600
)

func rescale(t []float64) {
	big := 0.0
	for _, v := range t {
		if v > big {
			big = v
		}
	}
	if big < rescaleBelow {
		for k := range t {
			t[k] *= rescaleBy
		}
	}
}

// em is the state shared by the EM methods.
type em struct {
	d          *Dataset
	cfg        Config
	start      []int
	cells      []int32   // the labels grouped by item (start), in label order: worker*K + class
	post, prev []float64 // posteriors, Items × Classes (prev: MACE only)
}

func newEM(d *Dataset, cfg Config) (*em, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &em{d: d, cfg: cfg}
	// Dawid-Skene addresses its tables with int32 offsets, padded to at most K+1 classes.
	if K := int64(d.Classes) + 1; len(d.Labels) > math.MaxInt32 || int64(d.Workers)*K*K > math.MaxInt32 ||
		int64(d.Items)*K > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d labels, %d workers, %d items, %d classes exceed 2^31 parameters",
			ErrInvalidDataset, len(d.Labels), d.Workers, d.Items, d.Classes)
	}
	// The labels grouped by item (a counting sort, stable in label order), as cells.
	e.start = make([]int, d.Items+1)
	for _, l := range d.Labels {
		e.start[l.Item+1]++
	}
	for i := 1; i <= d.Items; i++ {
		e.start[i] += e.start[i-1]
	}
	next := make([]int, d.Items)
	copy(next, e.start)
	e.cells = make([]int32, len(d.Labels))
	for _, l := range d.Labels {
		e.cells[next[l.Item]] = l.Worker*int32(d.Classes) + l.Class
		next[l.Item]++
	}
	e.post = make([]float64, d.Items*d.Classes)
	return e, nil
}

// initMajority sets the posteriors to the vote shares of a majority vote: the documented
// initialization of both EM methods.
func (e *em) initMajority() {
	K := e.d.Classes
	for _, l := range e.d.Labels { // weightedVote's sums with unit weights
		e.post[int(l.Item)*K+int(l.Class)]++
	}
	for i := 0; i < e.d.Items; i++ {
		normalize(e.post[i*K : (i+1)*K])
	}
}

// run alternates mstep and estep (estep writes e.post from the parameters) until the
// posteriors move by at most cfg.Tolerance (see change) or cfg.MaxIterations ran.
func (e *em) run(mstep, estep func()) (iters int, converged bool) {
	if e.prev == nil {
		e.prev = make([]float64, len(e.post))
	}
	for iters < e.cfg.MaxIterations {
		mstep()
		copy(e.prev, e.post)
		estep()
		iters++
		if e.change() <= e.cfg.Tolerance {
			return iters, true
		}
	}
	return iters, false
}

// change returns the mean over labelled items of the total variation distance between the
// previous and the current posterior: ½ Σ_k |post[i][k] − prev[i][k]|.
func (e *em) change() float64 {
	K := e.d.Classes
	sum, n := 0.0, 0
	for i := 0; i < e.d.Items; i++ {
		if e.start[i] == e.start[i+1] {
			continue
		}
		n++
		for k := i * K; k < (i+1)*K; k++ {
			sum += math.Abs(e.post[k] - e.prev[k])
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(2*n)
}

func (e *em) result(iters int, converged bool, skill []float64) Result {
	K := e.d.Classes
	r := Result{Classes: K, Labels: make([]int, e.d.Items), Probs: e.post, Skill: skill,
		Iterations: iters, Converged: converged}
	for i := range r.Labels {
		if e.start[i] == e.start[i+1] {
			r.Labels[i] = -1
			continue
		}
		r.Labels[i] = argmax(e.post[i*K : (i+1)*K])
	}
	return r
}

// MACE is multi-annotator competence estimation (Hovy et al. 2013), fitted by EM: each worker
// j, for each label, either knows the true class and says it (probability 1 − θ_j) or spams
// (probability θ_j) by drawing a class from its own strategy ξ_j; true classes are uniform.
//
// Initialization: the posteriors are the majority-vote shares. The M-step sets, from the
// expected spamming indicators, θ_j = (Smoothing + Σ spam) / (2·Smoothing + n_j) and
// ξ_j[l] ∝ Smoothing + Σ_{labels l} spam; the E-step sets post[i][k] ∝
// Π_{labels (j, i, l)} ((1 − θ_j)·[l = k] + θ_j ξ_j[l]) with exact rescaling and no
// logarithms. Stopping as in DawidSkene. A worker's Skill is its competence 1 − θ_j.
func MACE(d *Dataset, cfg Config) (Result, error) {
	e, err := newEM(d, cfg)
	if err != nil {
		return Result{}, err
	}
	_, idx := byItem(d)
	K := d.Classes
	theta := make([]float64, d.Workers)
	xi := make([]float64, d.Workers*K)
	spam := make([]float64, d.Workers)
	n := make([]float64, d.Workers)
	newXi := make([]float64, d.Workers*K)
	first := true
	mstep := func() {
		s := e.cfg.Smoothing
		for j := range theta {
			spam[j], n[j] = s, 2*s
		}
		for x := range newXi {
			newXi[x] = s
		}
		for _, l := range d.Labels {
			j, c := int(l.Worker), int(l.Class)
			// P(spam | label c, posteriors) = 1 − post[c]·(1−θ) / ((1−θ) + θ ξ[c]). Before the
			// first estimate of θ and ξ, every label counts as half spam.
			ps := 0.5
			if !first {
				sp := float64(theta[j] * xi[j*K+c])
				ps = 1 - float64(e.post[int(l.Item)*K+c]*(1-theta[j]))/((1-theta[j])+sp)
			}
			spam[j] += ps
			n[j]++
			newXi[j*K+c] += ps
		}
		first = false
		for j := range theta {
			theta[j] = spam[j] / n[j]
			normalize(newXi[j*K : (j+1)*K])
		}
		copy(xi, newXi)
	}
	estep := func() {
		for i := 0; i < d.Items; i++ {
			t := e.post[i*K : (i+1)*K]
			for k := range t {
				t[k] = 1
			}
			for _, x := range idx[e.start[i]:e.start[i+1]] {
				l := d.Labels[x]
				j, c := int(l.Worker), int(l.Class)
				sp := float64(theta[j] * xi[j*K+c])
				for k := range t {
					f := sp
					if k == c {
						f += 1 - theta[j]
					}
					t[k] *= f
				}
				rescale(t) // factors may be as small as θ·ξ ≥ 2^-82: check every one
			}
			normalize(t)
		}
	}
	iters, conv := e.run(mstep, estep)
	skill := make([]float64, d.Workers)
	for j := range skill {
		if n[j] > 2*e.cfg.Smoothing {
			skill[j] = 1 - theta[j]
		}
	}
	return e.result(iters, conv, skill), nil
}
