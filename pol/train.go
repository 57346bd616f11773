package pol

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
)

// TrainConfig configures Train. Task and Solver are required; every other field has a default.
type TrainConfig struct {
	// Task is the task to train (its defaults are filled in).
	Task Task
	// Solver is the identity the proof is bound to.
	Solver Address
	// Backend trains. Default: the reference backend accel/cpu. A backend whose
	// Device().BitExact is false makes a tolerance-mode proof.
	Backend accel.Backend
	// Store receives the checkpoints. Default: a new MemStore (Result.Store).
	Store Store
	// BaseState is the state after the last step of Task.Base; required when Task.Base is set
	// (read it from the base's store with LoadCheckpoint).
	BaseState *accel.State
	// Segment is the number of steps per Backend Train call (fewer round trips to a plugin).
	// Default 25.
	Segment int
	// Clock, when set, times training and proof work apart (Result.TrainTime, ProofTime).
	Clock func() time.Time
	// Progress, when set, is called after every segment with the steps done and the last loss.
	Progress func(done uint64, loss float32)
}

// Result is a trained run with its proof.
type Result struct {
	Proof *Proof
	// Final is the state after the last step.
	Final *accel.State
	// Loss is the last step's loss.
	Loss float32
	// Store holds the checkpoints (TrainConfig.Store or the default MemStore).
	Store Store
	// TrainTime is the time spent in the backend's Train calls and ProofTime the rest of the
	// proof's work (state export, checkpoint encoding and storage, commitments); both are zero
	// without TrainConfig.Clock.
	TrainTime, ProofTime time.Duration
}

// order yields the batches of a run: dataset.BatchAt(seed, n, batch, i), one epoch cached.
type order struct {
	seed       uint64
	n, batch   int
	perEpoch   uint64
	epoch      uint64
	epochOrder [][]int32
}

func newOrder(seed uint64, n, batch int) *order {
	return &order{seed: seed, n: n, batch: batch, perEpoch: uint64(dataset.StepsPerEpoch(n, batch))}
}

func (o *order) at(i uint64) []int32 {
	e := i / o.perEpoch
	if o.epochOrder == nil || e != o.epoch {
		o.epochOrder, o.epoch = dataset.Batches(o.seed, e, o.n, o.batch), e
	}
	return o.epochOrder[i%o.perEpoch]
}

// defaultBackend returns b, or a new reference backend.
func defaultBackend(b accel.Backend) (accel.Backend, error) {
	if b != nil {
		return b, nil
	}
	c, err := cpu.New(cpu.Config{})
	if err != nil {
		return nil, fmt.Errorf("pol: reference backend: %w", err)
	}
	return c, nil
}

// startState returns the state a run of task t bound by b starts from.
func startState(t Task, p *graph.Program, b Binding, base *accel.State) (*accel.State, error) {
	if t.Base == nil {
		return accel.InitialState(p, b.RunSeed()), nil
	}
	if base == nil {
		return nil, errors.New("pol: train: the task has a base proof but no base state was given")
	}
	if err := base.Check(p); err != nil {
		return nil, fmt.Errorf("pol: train: base state: %w", err)
	}
	if h := base.Hash(p); h != t.Base.Final() {
		return nil, fmt.Errorf("pol: train: base state hashes to %s, the base proof ends at %s", h, t.Base.Final())
	}
	return base.Clone(), nil
}

// Train trains cfg.Task on cfg.Backend and returns the run's proof: the state hash after every
// step, chained and committed (see the package documentation), with a checkpoint stored every
// CheckpointEvery steps and after the last one.
func Train(ctx context.Context, cfg TrainConfig) (*Result, error) {
	task := cfg.Task.EnsureDefaults()
	if err := task.Validate(); err != nil {
		return nil, err
	}
	p, err := task.Program()
	if err != nil {
		return nil, err
	}
	be, err := defaultBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	store := cfg.Store
	if store == nil {
		store = NewMemStore()
	}
	seg := cfg.Segment
	if seg <= 0 {
		seg = 25
	}
	dev, err := be.Device(ctx)
	if err != nil {
		return nil, fmt.Errorf("pol: train: %w", err)
	}
	mode := Exact
	if !dev.BitExact {
		mode = Tolerance
	}
	b := task.Binding(cfg.Solver, mode)
	st, err := startState(task, p, b, cfg.BaseState)
	if err != nil {
		return nil, err
	}
	clock := cfg.Clock
	if clock == nil {
		clock = func() time.Time { return time.Time{} }
	}
	res := &Result{Store: store}
	run, err := be.Open(ctx, accel.RunSpec{Program: p, State: st, Data: task.Data})
	if err != nil {
		return nil, fmt.Errorf("pol: train: %w", err)
	}
	defer run.Close()
	mark := clock()
	states := make([]Hash, 1, task.Steps+1)
	var headers []CheckpointHeader
	// Checkpoints are encoded and stored by one writer goroutine while training goes on, so
	// that a store's I/O (a DirStore syncs every file) overlaps the next steps. At most one
	// checkpoint waits beside the one being written.
	type job struct {
		key Hash
		s   *accel.State
	}
	jobs := make(chan job, 1)
	werr := make(chan error, 1)
	go func() {
		var first error
		for j := range jobs {
			if first != nil {
				continue
			}
			enc, err := EncodeCheckpoint(j.s)
			if err == nil {
				err = store.Put(ctx, j.key, enc)
			}
			if err != nil {
				first = fmt.Errorf("pol: train: checkpoint at step %d: %w", j.s.Step, err)
			}
		}
		werr <- first
	}()
	closed := false
	finish := func() error {
		if closed {
			return nil
		}
		closed = true
		close(jobs)
		return <-werr
	}
	defer finish()
	checkpoint := func(i uint64, s *accel.State) error {
		hd := HeaderOf(p, i, s)
		if i == 0 {
			states[0] = hd.StateHash()
		}
		if h := hd.StateHash(); h != states[i] {
			return fmt.Errorf("pol: train: the backend reported state hash %s after %d steps, its state hashes to %s", states[i], i, h)
		}
		select {
		case jobs <- job{states[i], s}:
		case <-ctx.Done():
			return ctx.Err()
		}
		headers = append(headers, hd)
		return nil
	}
	if err := checkpoint(0, st); err != nil {
		return nil, err
	}
	ord := newOrder(b.RunSeed(), task.Data.N, task.Batch)
	idx := CheckpointIndices(task.Steps, b.CheckpointEvery)[1:]
	batches := make([][]int32, 0, seg)
	out := make([]accel.StepResult, 0, seg) // reused: training a segment allocates nothing
	for done := uint64(0); done < task.Steps; {
		n := min(uint64(seg), idx[0]-done)
		batches = batches[:0]
		for i := range n {
			batches = append(batches, ord.at(done+i))
		}
		now := clock()
		res.ProofTime += now.Sub(mark)
		var err error
		out, err = accel.TrainAppend(ctx, run, out[:0], batches)
		mark = clock()
		res.TrainTime += mark.Sub(now)
		if err != nil {
			return nil, fmt.Errorf("pol: train: step %d: %w", done+uint64(len(out)), err)
		}
		if uint64(len(out)) != n {
			return nil, fmt.Errorf("pol: train: the backend returned %d results for %d steps", len(out), n)
		}
		for _, r := range out {
			states = append(states, r.Hash)
		}
		done += n
		res.Loss = out[len(out)-1].Loss
		if done == idx[0] {
			idx = idx[1:]
			s, err := run.State(ctx)
			if err != nil {
				return nil, fmt.Errorf("pol: train: %w", err)
			}
			if err := checkpoint(done, s); err != nil {
				return nil, err
			}
			if done == task.Steps {
				res.Final = s
			}
		}
		if cfg.Progress != nil {
			cfg.Progress(done, res.Loss)
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	res.Proof = Seal(b, states, headers)
	res.ProofTime += clock().Sub(mark)
	return res, nil
}

// LoadCheckpoint reads the checkpoint whose state hash is key from s and checks it: it must
// decode, fit program p and hash to key.
func LoadCheckpoint(ctx context.Context, s Store, p *graph.Program, key Hash) (*accel.State, error) {
	b, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	st, err := DecodeCheckpoint(b, p)
	if err != nil {
		return nil, err
	}
	if h := st.Hash(p); h != key {
		return nil, fmt.Errorf("%w: checkpoint stored under %s hashes to %s", ErrInvalidProof, key, h)
	}
	return st, nil
}
