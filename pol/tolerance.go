package pol

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/internal/rng"
)

// Distances between two training states, over all their state tensors (parameters and
// optimizer state) taken as one vector: the l1 and l2 norms and the largest absolute value of
// the difference, and the cosine distance 1 − a·b/(|a||b|) (0 for identical states, 1 when
// exactly one is all zeros). Sums run in float64, sequentially,
// in Program.State order, every product rounded before it is added, so every machine computes
// the same distances. A NaN anywhere makes every distance +Inf.
type Distances struct {
	L1, L2, LInf, Cosine float64
}

// Thresholds bound the distances a tolerance-mode verifier accepts (see Profile).
type Thresholds Distances

// Within reports whether every distance is at most its threshold.
func (d Distances) Within(t Thresholds) bool {
	return d.L1 <= t.L1 && d.L2 <= t.L2 && d.LInf <= t.LInf && d.Cosine <= t.Cosine
}

// Max returns the metric-wise maximum of d and e.
func (d Distances) Max(e Distances) Distances {
	return Distances{max(d.L1, e.L1), max(d.L2, e.L2), max(d.LInf, e.LInf), max(d.Cosine, e.Cosine)}
}

// Distance returns the distances between states a and b, which must have tensors of the same
// lengths (else every distance is +Inf).
func Distance(a, b *accel.State) Distances {
	inf := math.Inf(1)
	bad := Distances{inf, inf, inf, inf}
	if len(a.Tensors) != len(b.Tensors) {
		return bad
	}
	var l1, l2, linf, dot, na, nb float64
	for k := range a.Tensors {
		x, y := a.Tensors[k], b.Tensors[k]
		if len(x) != len(y) {
			return bad
		}
		for j := range x {
			u, v := float64(x[j]), float64(y[j])
			if u != u || v != v {
				return bad
			}
			d := math.Abs(u - v)
			l1 += d
			l2 = float64(d*d) + l2
			linf = max(linf, d)
			dot = float64(u*v) + dot
			na = float64(u*u) + na
			nb = float64(v*v) + nb
		}
	}
	cos := 0.0
	switch {
	case l1 == 0: // identical vectors (rounding would leave 1 − a·b/(|a||b|) slightly off 0)
	case na == 0 || nb == 0:
		cos = 1
	default:
		cos = max(0, 1-dot/(math.Sqrt(na)*math.Sqrt(nb)))
	}
	return Distances{L1: l1, L2: math.Sqrt(l2), LInf: linf, Cosine: cos}
}

// ProfileConfig configures Profile. Task and Backend are required.
type ProfileConfig struct {
	// Task and Solver fix the run that is profiled (its start state and data order).
	Task   Task
	Solver Address
	// Backend is the backend being profiled.
	Backend accel.Backend
	// Reference is what verifiers replay with. Default: accel/cpu.
	Reference accel.Backend
	// Steps is the length of the profiling run. Default min(Task.Steps, 64).
	Steps uint64
	// Runs is the number of steps re-run on both backends. Default 16.
	Runs int
	// Seed picks the re-run steps (from internal/rng stream 0 of it).
	Seed uint64
	// Margin multiplies the largest distance seen. Default 4.
	Margin float64
}

// Profile computes tolerance thresholds for cfg.Backend (stage 2 of the protocol): it trains
// the task's run on the backend for Steps steps and, at Runs steps drawn with Seed, re-runs the
// step from the backend's own state once on the backend and once on the reference, as a
// verifier would replay it; the thresholds are the largest distances seen times Margin. A
// bit-exact backend gets zero thresholds.
func Profile(ctx context.Context, cfg ProfileConfig) (Thresholds, error) {
	task := cfg.Task.EnsureDefaults()
	if err := task.Validate(); err != nil {
		return Thresholds{}, err
	}
	if cfg.Backend == nil {
		return Thresholds{}, errors.New("pol: profile: no backend to profile")
	}
	if task.Base != nil {
		return Thresholds{}, errors.New("pol: profile: profile a task without a base")
	}
	prog, err := task.Program()
	if err != nil {
		return Thresholds{}, err
	}
	ref, err := defaultBackend(cfg.Reference)
	if err != nil {
		return Thresholds{}, err
	}
	steps := cfg.Steps
	if steps == 0 {
		steps = min(task.Steps, 64)
	}
	runs, margin := cfg.Runs, cfg.Margin
	if runs == 0 {
		runs = 16
	}
	if margin == 0 {
		margin = 4
	}
	if runs < 1 || margin < 1 || steps < 1 {
		return Thresholds{}, fmt.Errorf("pol: profile: steps %d, runs %d, margin %v: want positive steps and runs, margin at least 1", steps, runs, margin)
	}
	b := task.Binding(cfg.Solver, Tolerance)
	r := rng.New(cfg.Seed, 0)
	at := make([]uint64, runs)
	for i := range at {
		at[i] = uint64(r.Uint32n(uint32(steps)))
	}
	slices.Sort(at)
	run, err := cfg.Backend.Open(ctx, accel.RunSpec{Program: prog, Seed: b.RunSeed(), Data: task.Data})
	if err != nil {
		return Thresholds{}, fmt.Errorf("pol: profile: %w", err)
	}
	defer run.Close()
	ord := newOrder(b.RunSeed(), task.Data.N, task.Batch)
	var worst Distances
	pos := uint64(0)
	one := func(be accel.Backend, st *accel.State, i uint64) (*accel.State, error) {
		r, err := be.Open(ctx, accel.RunSpec{Program: prog, State: st, Data: task.Data})
		if err != nil {
			return nil, err
		}
		defer r.Close()
		if _, err := r.Train(ctx, [][]int32{ord.at(i)}); err != nil {
			return nil, err
		}
		return r.State(ctx)
	}
	for _, i := range at {
		var batches [][]int32
		for ; pos < i; pos++ {
			batches = append(batches, ord.at(pos))
		}
		if len(batches) > 0 {
			if _, err := run.Train(ctx, batches); err != nil {
				return Thresholds{}, fmt.Errorf("pol: profile: %w", err)
			}
		}
		pre, err := run.State(ctx)
		if err != nil {
			return Thresholds{}, fmt.Errorf("pol: profile: %w", err)
		}
		got, err := one(cfg.Backend, pre, i)
		if err != nil {
			return Thresholds{}, fmt.Errorf("pol: profile: step %d on the profiled backend: %w", i, err)
		}
		want, err := one(ref, pre, i)
		if err != nil {
			return Thresholds{}, fmt.Errorf("pol: profile: step %d on the reference: %w", i, err)
		}
		worst = worst.Max(Distance(want, got))
	}
	return Thresholds{L1: worst.L1 * margin, L2: worst.L2 * margin, LInf: worst.LInf * margin, Cosine: worst.Cosine * margin}, nil
}
