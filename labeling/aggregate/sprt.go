package aggregate

import (
	"errors"
	"fmt"
)

// SPRT is Wald's sequential probability ratio test of a worker's answers on gold items:
// H0 "honest" (each gold answer right with probability Honest) against H1 "spammer" (right
// with probability Spammer). After every gold answer the likelihood ratio
//
//	Λ = Π (Spammer/Honest if right, (1−Spammer)/(1−Honest) if wrong)
//
// is compared with Wald's bounds: Λ ≥ (1−Miss)/FalseAlarm flags a spammer, Λ ≤
// Miss/(1−FalseAlarm) clears the worker, anything between waits for more answers. Wald's
// bounds keep the error rates at most about FalseAlarm (an honest worker, of accuracy ≥
// Honest, flagged) and Miss (a spammer, of accuracy ≤ Spammer, cleared). The ratio is a
// running product of float64 multiplications in the order the answers arrive, so the verdict
// is the same on every machine (no logarithms are taken).
//
// The zero value is usable: zero fields take the defaults of EnsureDefaults.
type SPRT struct {
	// Honest is the gold accuracy an honest worker at least has. Default: 0.75.
	Honest float64
	// Spammer is the gold accuracy a spammer at most has: 1/K for random answers on a
	// balanced gold set of K classes. Default: 0.25.
	Spammer float64
	// FalseAlarm (α) bounds the probability of flagging an honest worker. Default: 0.002.
	FalseAlarm float64
	// Miss (β) bounds the probability of clearing a spammer. Default: 0.005.
	Miss float64
}

// EnsureDefaults returns s with zero fields replaced by their defaults.
func (s SPRT) EnsureDefaults() SPRT {
	if s.Honest == 0 {
		s.Honest = 0.75
	}
	if s.Spammer == 0 {
		s.Spammer = 0.25
	}
	if s.FalseAlarm == 0 {
		s.FalseAlarm = 0.002
	}
	if s.Miss == 0 {
		s.Miss = 0.005
	}
	return s
}

// Validate reports every problem with s at once; each wraps ErrInvalidConfig.
func (s SPRT) Validate() error {
	var errs []error
	if !(s.Spammer > 0 && s.Spammer < s.Honest && s.Honest < 1) {
		errs = append(errs, fmt.Errorf("%w: need 0 < spammer %v < honest %v < 1", ErrInvalidConfig, s.Spammer, s.Honest))
	}
	if !(s.FalseAlarm > 0 && s.FalseAlarm < 0.5) {
		errs = append(errs, fmt.Errorf("%w: false alarm rate %v not in (0, 0.5)", ErrInvalidConfig, s.FalseAlarm))
	}
	if !(s.Miss > 0 && s.Miss < 0.5) {
		errs = append(errs, fmt.Errorf("%w: miss rate %v not in (0, 0.5)", ErrInvalidConfig, s.Miss))
	}
	return errors.Join(errs...)
}

// Verdict is the state of a sequential test.
type Verdict uint8

// The verdicts. A test stops at the first Spammer or Honest verdict.
const (
	Pending Verdict = iota
	Honest
	Spammer
)

// String returns "pending", "honest" or "spammer".
func (v Verdict) String() string {
	switch v {
	case Pending:
		return "pending"
	case Honest:
		return "honest"
	case Spammer:
		return "spammer"
	}
	return fmt.Sprintf("verdict(%d)", uint8(v))
}

// Test is one worker's running test: a value type, so it can live in a state machine's
// state. Its zero value is a fresh test.
type Test struct {
	// Ratio is the likelihood ratio Λ so far; 0 stands for 1 (no answers yet), so that the
	// zero value is a fresh test.
	Ratio float64
	// Right and Wrong count the gold answers seen.
	Right, Wrong uint32
	// Verdict is the outcome so far; once not Pending, Observe changes nothing.
	Verdict Verdict
}

// Observe returns t after one more gold answer (right or wrong), judged by s (which must
// have passed Validate after EnsureDefaults). A finished test is returned unchanged.
func (s SPRT) Observe(t Test, right bool) Test {
	if t.Verdict != Pending {
		return t
	}
	r := t.Ratio
	if r == 0 {
		r = 1
	}
	if right {
		r = r * s.Spammer / s.Honest
		t.Right++
	} else {
		r = r * (1 - s.Spammer) / (1 - s.Honest)
		t.Wrong++
	}
	t.Ratio = r
	switch {
	case r >= (1-s.Miss)/s.FalseAlarm:
		t.Verdict = Spammer
	case r <= s.Miss/(1-s.FalseAlarm):
		t.Verdict = Honest
	}
	return t
}
