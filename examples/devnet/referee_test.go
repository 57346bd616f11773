package main

import (
	"context"
	"errors"
	"testing"

	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/market"
	"github.com/deai-go/deai/pol"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// refereeFixture is a proven task in the genesis machines, driven without a chain: the
// honest solver's proof, its prover and the referee.
type refereeFixture struct {
	vm     *stepVM
	taskID [32]byte
	spec   []byte
	proof  *pol.Proof
	leaves []pol.Hash
	prover *pol.Prover
}

func newRefereeFixture(t testing.TB) *refereeFixture {
	t.Helper()
	train, _, err := dataset.EmbeddedFashionMNIST()
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := machines(train)
	if err != nil {
		t.Fatal(err)
	}
	env := sm.Env{ChainID: chainID, Height: 1, Time: 1000}
	must := func(_ []sm.Event, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	solver := w.honest.addr
	must(w.ledger.ApplyOp(env, solver, stake.Bond{Amount: *uint256.NewInt(1000)}))
	offer := [32]byte{0x0f}
	must(w.market.ApplyTx(env, solver, market.PostOffer{ID: offer, Props: market.Props{Memory: 16 << 30, Precisions: 1, BitExact: true},
		Price: *uint256.NewInt(1), Capacity: 1 << 30, Stake: *uint256.NewInt(1000)}))
	o, _ := w.market.Offer(offer)
	bench := make([]merkle.Hash, market.MinRounds)
	for i := range bench {
		bench[i] = market.RoundLeaf(o.Seed, uint64(i))
	}
	env.Height++
	must(w.market.ApplyTx(env, solver, market.CommitAttestation{Offer: offer, Root: merkle.Root(bench), Rounds: market.MinRounds}))
	env.Height++
	env.Beacon = [32]byte{0xbe}
	paths, err := market.ProveSamples(bench, offer, env.Beacon)
	if err != nil {
		t.Fatal(err)
	}
	must(w.market.ApplyTx(env, solver, market.ProveAttestation{Offer: offer, Paths: paths}))
	g, err := graph.MLP(784, 10, 4)
	if err != nil {
		t.Fatal(err)
	}
	spec := market.TaskSpec{Graph: g.Encode(), GraphHash: g.Hash(), Dataset: market.Dataset{Root: train.Commitment(), Samples: uint64(train.N)},
		Batch: 8, Optimizer: graph.Optimizer{Kind: graph.AdamW}, Seed: 5, Steps: 6, Deadline: env.Time + 86400, MaxPrice: *uint256.NewInt(3)}
	taskID := [32]byte{0x7a}
	must(w.market.ApplyTx(env, w.submitter.addr, market.PostTask{ID: taskID, Spec: spec}))
	task := pol.Task{ID: taskID, Graph: g, Batch: spec.Batch, Optimizer: spec.Optimizer, Seed: spec.Seed, Steps: spec.Steps, Data: train, CheckpointEvery: 2}
	res, err := pol.Train(context.Background(), pol.TrainConfig{Task: task, Solver: pol.Address(solver)})
	if err != nil {
		t.Fatal(err)
	}
	must(w.market.ApplyTx(env, solver, market.CommitProof{Task: taskID, Root: res.Proof.Root}))
	prover, err := pol.NewProver(pol.ProverConfig{Task: task, Proof: res.Proof, Store: res.Store})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := newStepVM(w.market, train)
	if err != nil {
		t.Fatal(err)
	}
	return &refereeFixture{vm: vm, taskID: taskID, spec: market.EncodeSpec(&spec), proof: res.Proof,
		leaves: pol.Leaves(res.Proof.Binding, res.Proof.States), prover: prover}
}

func (f *refereeFixture) witness(t testing.TB, step uint64, edit func(op *pol.Opening)) []byte {
	t.Helper()
	op, err := f.prover.Open(context.Background(), step)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(op)
	}
	st, err := pol.EncodeCheckpoint(op.Pre)
	if err != nil {
		t.Fatal(err)
	}
	return encodeWitness(f.taskID, f.spec, op, st)
}

func TestStepVMConfirmsHonestSteps(t *testing.T) {
	f := newRefereeFixture(t)
	for step := range f.proof.Steps() {
		post, flops, err := f.vm.Check(dispute.Path{Step: step}, dispute.Hash(f.leaves[step]), f.witness(t, step, nil))
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if post != dispute.Hash(f.leaves[step+1]) || flops <= 0 {
			t.Fatalf("step %d: post %x, want leaf %x; %d FLOPs", step, post[:4], f.leaves[step+1][:4], flops)
		}
	}
}

func TestStepVMRejectsBadWitnesses(t *testing.T) {
	f := newRefereeFixture(t)
	const step = 3
	good := f.witness(t, step, nil)
	pre := dispute.Hash(f.leaves[step])
	otherSpec := func() []byte {
		s, _ := market.DecodeSpec(f.spec)
		s.Seed++
		return market.EncodeSpec(&s)
	}()
	for _, tc := range []struct {
		name string
		path dispute.Path
		pre  dispute.Hash
		w    []byte
	}{
		{"empty", dispute.Path{Step: step}, pre, nil},
		{"truncated", dispute.Path{Step: step}, pre, good[:len(good)/2]},
		{"unknown task", dispute.Path{Step: step}, pre, append([]byte{0xff}, good[1:]...)},
		{"other spec", dispute.Path{Step: step}, pre, func() []byte {
			op, _ := f.prover.Open(context.Background(), step)
			st, _ := pol.EncodeCheckpoint(op.Pre)
			return encodeWitness(f.taskID, otherSpec, op, st)
		}()},
		{"tampered state", dispute.Path{Step: step}, pre, f.witness(t, step, func(op *pol.Opening) { op.Pre.Tensors[0][0] += 1 })},
		{"wrong prev", dispute.Path{Step: step}, pre, f.witness(t, step, func(op *pol.Opening) { op.Prev[0] ^= 1 })},
		{"wrong path", dispute.Path{Step: step}, pre, f.witness(t, step, func(op *pol.Opening) { op.Path.Siblings[0][0] ^= 1 })},
		{"other step", dispute.Path{Step: step + 1}, pre, good},
		{"step beyond the task", dispute.Path{Step: 99}, pre, good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.vm.Check(tc.path, tc.pre, tc.w)
			if !errors.Is(err, dispute.ErrBadProof) {
				t.Fatalf("error %v, want dispute.ErrBadProof", err)
			}
		})
	}
}

func TestStepVMRefutesForgedStep(t *testing.T) {
	f := newRefereeFixture(t)
	const step = 2
	// A forged claim: the state after step 2 replaced by another hash. The referee's replay
	// from the true state before it gives the true leaf, not the forged one.
	forged := pol.Leaf(step+1, pol.Hash{0xf0}, f.leaves[step])
	post, _, err := f.vm.Check(dispute.Path{Step: step}, dispute.Hash(f.leaves[step]), f.witness(t, step, nil))
	if err != nil {
		t.Fatal(err)
	}
	if post == dispute.Hash(forged) || post != dispute.Hash(f.leaves[step+1]) {
		t.Fatal("the referee did not recompute the true leaf")
	}
}

func FuzzStepVMCheck(f *testing.F) {
	fx := newRefereeFixture(f)
	good := fx.witness(f, 1, nil)
	f.Add(uint64(1), good)
	f.Add(uint64(1), good[:100])
	f.Add(uint64(0), []byte{})
	f.Fuzz(func(t *testing.T, step uint64, w []byte) {
		post, _, err := fx.vm.Check(dispute.Path{Step: step}, dispute.Hash(fx.leaves[1]), w)
		if err != nil && !errors.Is(err, dispute.ErrBadProof) {
			t.Fatalf("error %v does not wrap ErrBadProof", err)
		}
		if err == nil && (step != 1 || post != dispute.Hash(fx.leaves[2])) {
			t.Fatalf("accepted step %d giving %x", step, post[:4])
		}
	})
}
