package dispute

import "fmt"

// Market is what a whistleblower knows of the economics when it estimates its payout: the
// forced-error rate, how often verifiers approve without checking, what catching a lazy
// approval of a forced error pays in total, and the split among the whistleblowers who
// catch the same one.
type Market struct {
	// Rate is ρ, the forced-error probability per task.
	Rate float64
	// Lazy is the fraction of verifiers who approve without checking, so that a forced
	// error reaches the whistleblowers unchallenged.
	Lazy float64
	// Prize is what one caught lazy approval of a forced error pays all its catchers
	// together when one catches it alone: min(J, pool/3) plus the whistleblowers' part of
	// the lazy verifier's slashed stake.
	Prize float64
	// SplitRatio is r of Split: each of m catchers receives Prize·r^(m−1).
	SplitRatio float64
}

// Whistleblower is the agent that checks verifiers' work (stage 6): it replicates the
// verifier's replay of a task it reviews, challenges when the result is wrong, and joins or
// leaves the pool of whistleblowers by its expected payout (the Gensyn litepaper's
// strategy): it stays while E[payout] = P(catch)·share(J) − cost > 0 given the number of
// whistleblowers in the pool, and leaves otherwise.
type Whistleblower struct {
	// Cost is what one review costs it (replicating a verifier's work on one task).
	Cost float64
	// Sample is the probability that it reviews an approved task (1: it replicates every
	// verifier; less: it samples).
	Sample float64
	// Active reports whether it is in the pool.
	Active bool
	// Recompute returns its own correct result of a task (its replication); Review uses it.
	Recompute func(task [32]byte) (Hash, error)
}

// ExpectedPayout returns its expected gain per task when n whistleblowers, itself included,
// are active: it reviews an approved task with probability Sample (paying Cost); a forced
// error approved by a lazy verifier (probability Rate·Lazy per task) is caught by it and by
// each other reviewer independently, and m catchers receive Prize·r^(m−1) each, so
//
//	E = Sample·(Rate·Lazy·Prize·(1 − Sample·(1 − r))^(n−1) − Cost·(1 − Rate·(1 − Lazy)))
//
// (a forced error a diligent verifier already challenged is not reviewed).
func (w *Whistleblower) ExpectedPayout(mk Market, n int) float64 {
	share := mk.Rate * mk.Lazy * mk.Prize
	keep := 1 - float64(w.Sample*(1-mk.SplitRatio)) // E[r^(other catchers)] per other whistleblower
	for range max(n-1, 0) {
		share *= keep
	}
	approved := 1 - float64(mk.Rate*(1-mk.Lazy))
	return w.Sample * (share - float64(w.Cost*approved))
}

// Decide joins or leaves the pool given the number of other active whistleblowers: active
// exactly when ExpectedPayout(mk, others+1) > 0. It reports whether it changed.
func (w *Whistleblower) Decide(mk Market, others int) bool {
	was := w.Active
	w.Active = w.ExpectedPayout(mk, others+1) > 0
	return was != w.Active
}

// Review returns a Challenge of posted task t when it is active, the caller's draw u (in
// [0, 1), from a seeded generator) selects the task for review, and its own recomputation
// differs from the posted result; otherwise nil.
func (w *Whistleblower) Review(t Task, u float64) (Move, error) {
	if !w.Active || t.Status != TaskPosted || u >= w.Sample {
		return nil, nil
	}
	if w.Recompute == nil {
		return nil, fmt.Errorf("%w: whistleblower without a recomputation", ErrConfig)
	}
	mine, err := w.Recompute(t.ID)
	if err != nil {
		return nil, fmt.Errorf("dispute: whistleblower: task %x: %w", t.ID[:8], err)
	}
	if mine == t.Result {
		return nil, nil
	}
	return Challenge{Task: t.ID}, nil
}

// Equilibrium returns the number of whistleblowers the join-or-leave rule settles on out of
// at most limit: the largest n ≤ limit with ExpectedPayout(mk, n) > 0 (ExpectedPayout falls
// with n), or 0.
func (w *Whistleblower) Equilibrium(mk Market, limit int) int {
	n := 0
	for n < limit && w.ExpectedPayout(mk, n+1) > 0 {
		n++
	}
	return n
}
