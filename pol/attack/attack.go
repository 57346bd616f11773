package attack

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/internal/rng"
	"github.com/deai-go/deai/pol"
)

// Forgery is a proof an attacker made, with the openings the attacker can serve.
type Forgery struct {
	// Name says which attack and variant made it, e.g. "A7 skip".
	Name string
	// Proof is the forged proof; the attacker claims it as Setup.Attacker.
	Proof *pol.Proof
	// Opener serves the attacker's openings (every state the attacker committed).
	Opener pol.Opener
	// Forged lists, ascending, the step indices whose replay cannot give the committed state.
	Forged []uint64
	// Structural is true when structural verification alone must reject the proof.
	Structural bool
}

// Setup is what every attack starts from.
type Setup struct {
	// Task is the task the attacker claims to have trained (with its defaults).
	Task pol.Task
	// Attacker is the identity that claims the forged proofs; Victim the honest solver whose
	// work A1 and A6 take.
	Attacker, Victim pol.Address
	// Fraction is the fraction of the steps the attacker forges (0 < Fraction ≤ 1); at least
	// one step is forged.
	Fraction float64
	// Backend trains the attacker's honest steps. Default: accel/cpu.
	Backend accel.Backend
}

// run is a trajectory the attacker builds state by state.
type run struct {
	ctx    context.Context
	task   pol.Task
	prog   *graph.Program
	be     accel.Backend
	bind   pol.Binding
	states []*accel.State
	forged []uint64
}

func newRun(ctx context.Context, s Setup, task pol.Task, who pol.Address) (*run, error) {
	task = task.EnsureDefaults()
	if err := task.Validate(); err != nil {
		return nil, err
	}
	prog, err := task.Program()
	if err != nil {
		return nil, err
	}
	be := s.Backend
	if be == nil {
		if be, err = cpu.New(cpu.Config{}); err != nil {
			return nil, err
		}
	}
	b := task.Binding(who, pol.Exact)
	return &run{ctx: ctx, task: task, prog: prog, be: be, bind: b, states: []*accel.State{accel.InitialState(prog, b.RunSeed())}}, nil
}

func (r *run) last() *accel.State { return r.states[len(r.states)-1] }

// batch is the committed batch of step i.
func (r *run) batch(i uint64) []int32 {
	return dataset.BatchAt(r.bind.RunSeed(), r.task.Data.N, r.task.Batch, i)
}

// train appends the state one honest step on batch gives.
func (r *run) train(batch []int32) error {
	x, err := r.be.Open(r.ctx, accel.RunSpec{Program: r.prog, State: r.last(), Data: r.task.Data})
	if err != nil {
		return err
	}
	defer x.Close()
	if _, err := x.Train(r.ctx, [][]int32{batch}); err != nil {
		return err
	}
	st, err := x.State(r.ctx)
	if err != nil {
		return err
	}
	r.states = append(r.states, st)
	return nil
}

// honest appends honest steps until the trajectory has n steps.
func (r *run) honest(n uint64) error {
	for i := uint64(len(r.states) - 1); i < n; i++ {
		if err := r.train(r.batch(i)); err != nil {
			return err
		}
	}
	return nil
}

// forge appends a forged state (step counter advanced) and records the forged step.
func (r *run) forge(tensors [][]float32) {
	prev := r.last()
	r.forged = append(r.forged, uint64(len(r.states)-1))
	r.states = append(r.states, &accel.State{Step: prev.Step + 1, RNG: prev.RNG, Tensors: tensors})
}

// seal commits the trajectory under binding b.
func (r *run) seal(name string, b pol.Binding, structural bool) *Forgery {
	hashes := make([]pol.Hash, len(r.states))
	for i, s := range r.states {
		hashes[i] = s.Hash(r.prog)
	}
	var headers []pol.CheckpointHeader
	for _, i := range pol.CheckpointIndices(uint64(len(r.states)-1), b.CheckpointEvery) {
		headers = append(headers, pol.HeaderOf(r.prog, i, r.states[i]))
	}
	p := pol.Seal(b, hashes, headers)
	return &Forgery{Name: name, Proof: p, Opener: newOpener(p, r.states), Forged: r.forged, Structural: structural}
}

// picks returns the step indices to forge: round(f·T) of them (at least 1), spread over the
// run by a fixed permutation, ascending.
func picks(f float64, steps uint64) map[uint64]bool {
	n := max(1, int(math.Round(f*float64(steps))))
	perm := rng.Permutation(rng.New(0xa77ac4, 0), int(steps))
	out := map[uint64]bool{}
	for _, i := range perm[:min(n, int(steps))] {
		out[uint64(i)] = true
	}
	return out
}

func (s Setup) check() error {
	if !(s.Fraction > 0 && s.Fraction <= 1) {
		return fmt.Errorf("attack: fraction %v out of (0, 1]", s.Fraction)
	}
	if s.Attacker == s.Victim {
		return errors.New("attack: the attacker and the victim must differ")
	}
	return nil
}

func scaled(ts [][]float32, f func(k, j int, v float32) float32) [][]float32 {
	out := make([][]float32, len(ts))
	for k, t := range ts {
		out[k] = make([]float32, len(t))
		for j, v := range t {
			out[k][j] = f(k, j, v)
		}
	}
	return out
}

// A1Interpolation trains honestly up to step T−m (m = Fraction·T) and then commits states
// interpolated linearly from there to the victim's final model, the "tolerance interpolation"
// of Fang et al.: under a tolerance verifier each small step looks like noise.
func A1Interpolation(ctx context.Context, s Setup) (*Forgery, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	target, err := newRun(ctx, s, s.Task, s.Victim)
	if err != nil {
		return nil, err
	}
	if err := target.honest(s.Task.Steps); err != nil {
		return nil, err
	}
	r, err := newRun(ctx, s, s.Task, s.Attacker)
	if err != nil {
		return nil, err
	}
	m := uint64(len(picks(s.Fraction, s.Task.Steps)))
	h := s.Task.Steps - m
	if err := r.honest(h); err != nil {
		return nil, err
	}
	from, to := r.last().Tensors, target.last().Tensors
	for i := uint64(1); i <= m; i++ {
		a := float32(i) / float32(m)
		r.forge(scaled(from, func(k, j int, v float32) float32 { return v + float32(a*(to[k][j]-v)) }))
	}
	return r.seal("A1 interpolation", r.bind, false), nil
}

// A2TopQEvasion forges a fraction of the steps by an update smaller than any honest one (each
// value moved by one unit in the last place), training honestly from the forged state
// afterwards; a verifier that replays only the largest updates never looks at them.
func A2TopQEvasion(ctx context.Context, s Setup) (*Forgery, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	r, err := newRun(ctx, s, s.Task, s.Attacker)
	if err != nil {
		return nil, err
	}
	forge := picks(s.Fraction, s.Task.Steps)
	for i := range s.Task.Steps {
		if forge[i] {
			r.forge(scaled(r.last().Tensors, func(_, _ int, v float32) float32 { return math.Nextafter32(v, float32(math.Inf(1))) }))
			continue
		}
		if err := r.train(r.batch(i)); err != nil {
			return nil, err
		}
	}
	return r.seal("A2 top-Q evasion", r.bind, false), nil
}

// A3SubstitutedBatches trains every step, but a fraction of them on an adversarial batch (the
// first samples of class 0) instead of the committed one.
func A3SubstitutedBatches(ctx context.Context, s Setup) (*Forgery, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	r, err := newRun(ctx, s, s.Task, s.Attacker)
	if err != nil {
		return nil, err
	}
	var adv []int32
	for i := 0; i < s.Task.Data.N && len(adv) < s.Task.Batch; i++ {
		if s.Task.Data.Labels[i] == 0 {
			adv = append(adv, int32(i))
		}
	}
	if len(adv) < s.Task.Batch {
		return nil, errors.New("attack: A3: too few samples of class 0")
	}
	forge := picks(s.Fraction, s.Task.Steps)
	for i := range s.Task.Steps {
		b := r.batch(i)
		if forge[i] {
			b = adv
			r.forged = append(r.forged, i)
		}
		if err := r.train(b); err != nil {
			return nil, err
		}
	}
	return r.seal("A3 substituted batches", r.bind, false), nil
}

// A4ForgedInit trains every step honestly, from weights the committed seed does not give:
// another seed's ("random"), or a model trained elsewhere ("pretrained", the victim's).
func A4ForgedInit(ctx context.Context, s Setup) ([]*Forgery, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	victim, err := newRun(ctx, s, s.Task, s.Victim)
	if err != nil {
		return nil, err
	}
	if err := victim.honest(s.Task.Steps); err != nil {
		return nil, err
	}
	var out []*Forgery
	for _, v := range []struct {
		name string
		init func(*run) *accel.State
	}{
		{"A4 random init", func(r *run) *accel.State { return accel.InitialState(r.prog, r.bind.RunSeed()+1) }},
		{"A4 pretrained init", func(r *run) *accel.State {
			st := victim.last().Clone()
			st.Step, st.RNG = 0, r.states[0].RNG
			return st
		}},
	} {
		r, err := newRun(ctx, s, s.Task, s.Attacker)
		if err != nil {
			return nil, err
		}
		r.states[0] = v.init(r)
		if err := r.honest(s.Task.Steps); err != nil {
			return nil, err
		}
		out = append(out, r.seal(v.name, r.bind, true))
	}
	return out, nil
}

// A5Hyperparameters trains honestly with hyperparameters other than the task's (a ten times
// larger learning rate, a smaller batch, half the steps) and declares them in its binding.
func A5Hyperparameters(ctx context.Context, s Setup) ([]*Forgery, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var out []*Forgery
	for _, v := range []struct {
		name   string
		change func(*pol.Task)
	}{
		{"A5 learning rate", func(t *pol.Task) { t.Optimizer.LR *= 10 }},
		{"A5 batch", func(t *pol.Task) { t.Batch /= 2 }},
		{"A5 steps", func(t *pol.Task) { t.Steps = max(1, t.Steps/2) }},
	} {
		t := s.Task
		v.change(&t)
		r, err := newRun(ctx, s, t, s.Attacker)
		if err != nil {
			return nil, err
		}
		if err := r.honest(t.Steps); err != nil {
			return nil, err
		}
		out = append(out, r.seal(v.name, r.bind, true))
	}
	return out, nil
}

// A6Replay takes the victim's honest proof: claimed verbatim, re-bound to the attacker (every
// state hash kept, the chain recomputed), and spliced (the attacker's honest first half, then
// the victim's states).
func A6Replay(ctx context.Context, s Setup) ([]*Forgery, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	victim, err := newRun(ctx, s, s.Task, s.Victim)
	if err != nil {
		return nil, err
	}
	if err := victim.honest(s.Task.Steps); err != nil {
		return nil, err
	}
	own, err := newRun(ctx, s, s.Task, s.Attacker)
	if err != nil {
		return nil, err
	}
	verbatim := victim.seal("A6 verbatim", victim.bind, true)
	rebound := victim.seal("A6 re-bound", own.bind, true)
	half := s.Task.Steps / 2
	if err := own.honest(half); err != nil {
		return nil, err
	}
	own.states = append(own.states, victim.states[half+1:]...)
	spliced := own.seal("A6 spliced", own.bind, true)
	return []*Forgery{verbatim, rebound, spliced}, nil
}

// A7Partial skips a fraction of the steps (the weights stay as they were, the step counter
// advances: "skip") or fakes them (the weights move by noise: "fake"), and trains the rest
// honestly from where it stands.
func A7Partial(ctx context.Context, s Setup) ([]*Forgery, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var out []*Forgery
	for _, fake := range []bool{false, true} {
		r, err := newRun(ctx, s, s.Task, s.Attacker)
		if err != nil {
			return nil, err
		}
		noise := rng.New(0xfa4e, 1)
		forge := picks(s.Fraction, s.Task.Steps)
		for i := range s.Task.Steps {
			switch {
			case forge[i] && fake:
				r.forge(scaled(r.last().Tensors, func(_, _ int, v float32) float32 { return v + noise.Uniform(-1e-3, 1e-3) }))
			case forge[i]:
				r.forge(scaled(r.last().Tensors, func(_, _ int, v float32) float32 { return v }))
			default:
				if err := r.train(r.batch(i)); err != nil {
					return nil, err
				}
			}
		}
		name := "A7 skip"
		if fake {
			name = "A7 fake"
		}
		out = append(out, r.seal(name, r.bind, false))
	}
	return out, nil
}

// All runs every attack with s and returns their forgeries.
func All(ctx context.Context, s Setup) ([]*Forgery, error) {
	var out []*Forgery
	for _, one := range []func(context.Context, Setup) (*Forgery, error){A1Interpolation, A2TopQEvasion, A3SubstitutedBatches} {
		f, err := one(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	for _, many := range []func(context.Context, Setup) ([]*Forgery, error){A4ForgedInit, A5Hyperparameters, A6Replay, A7Partial} {
		fs, err := many(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// opener serves openings from the states an attacker committed.
type opener struct {
	proof  *pol.Proof
	states []*accel.State
	leaves []pol.Hash
	tree   *merkle.Tree
}

func newOpener(p *pol.Proof, states []*accel.State) *opener {
	leaves := pol.Leaves(p.Binding, p.States)
	ml := make([]merkle.Hash, len(leaves))
	for i, l := range leaves {
		ml[i] = merkle.Hash(l)
	}
	return &opener{proof: p, states: states, leaves: leaves, tree: merkle.New(ml)}
}

// Open serves the committed state before step i (and after it, for tolerance proofs).
func (o *opener) Open(_ context.Context, i uint64) (*pol.Opening, error) {
	if i+1 >= uint64(len(o.states)) {
		return nil, fmt.Errorf("attack: no step %d", i)
	}
	mp, err := o.tree.Proof(int(i))
	if err != nil {
		return nil, err
	}
	op := &pol.Opening{Index: i, Pre: o.states[i].Clone(), Prev: o.proof.Binding.Hash(),
		Path: pol.Path{Index: mp.Index, Size: mp.Size, Siblings: make([]pol.Hash, len(mp.Siblings))}}
	if i > 0 {
		op.Prev = o.leaves[i-1]
	}
	for k, s := range mp.Siblings {
		op.Path.Siblings[k] = pol.Hash(s)
	}
	if o.proof.Binding.Mode == pol.Tolerance {
		op.Post = o.states[i+1].Clone()
	}
	return op, nil
}
