package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/dispute/accelvm"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/market"
	"github.com/deai-go/deai/pol"
	"github.com/deai-go/deai/pol/attack"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// refereeFixture is a proven task in the genesis machines, driven without a chain: the
// honest solver's proof and prover, and the referee that resolves the task's program.
type refereeFixture struct {
	w      *world
	env    sm.Env
	offer  [32]byte
	taskID [32]byte
	spec   market.TaskSpec
	task   pol.Task
	proof  *pol.Proof
	prover *pol.Prover
}

func must(t testing.TB, _ []sm.Event, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newRefereeFixture(t testing.TB) *refereeFixture {
	t.Helper()
	train, _, err := dataset.EmbeddedFashionMNIST()
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := machines(train, "")
	if err != nil {
		t.Fatal(err)
	}
	f := &refereeFixture{w: w, env: sm.Env{ChainID: chainID, Height: 1, Time: 1000}, offer: [32]byte{0x0f}, taskID: [32]byte{0x7a}}
	solver := w.honest.addr
	evs, err := w.ledger.ApplyOp(f.env, solver, stake.Bond{Amount: *uint256.NewInt(1000)})
	must(t, evs, err)
	evs, err = w.market.ApplyTx(f.env, solver, market.PostOffer{ID: f.offer, Props: market.Props{Memory: 16 << 30, Precisions: 1, BitExact: true},
		Price: *uint256.NewInt(1), Capacity: 1 << 30, Stake: *uint256.NewInt(1000)})
	must(t, evs, err)
	o, _ := w.market.Offer(f.offer)
	bench := make([]merkle.Hash, market.MinRounds)
	for i := range bench {
		bench[i] = market.RoundLeaf(o.Seed, uint64(i))
	}
	f.env.Height++
	evs, err = w.market.ApplyTx(f.env, solver, market.CommitAttestation{Offer: f.offer, Root: merkle.Root(bench), Rounds: market.MinRounds})
	must(t, evs, err)
	f.env.Height++
	f.env.Beacon = [32]byte{0xbe}
	paths, err := market.ProveSamples(bench, f.offer, f.env.Beacon)
	if err != nil {
		t.Fatal(err)
	}
	evs, err = w.market.ApplyTx(f.env, solver, market.ProveAttestation{Offer: f.offer, Paths: paths})
	must(t, evs, err)
	g, err := graph.MLP(784, 10, 4)
	if err != nil {
		t.Fatal(err)
	}
	f.spec = market.TaskSpec{Graph: g.Encode(), GraphHash: g.Hash(), Dataset: market.Dataset{Root: train.Commitment(), Samples: uint64(train.N)},
		Batch: 8, Optimizer: graph.Optimizer{Kind: graph.AdamW}, Seed: 5, Steps: 6, Deadline: f.env.Time + 86400, MaxPrice: *uint256.NewInt(3)}
	f.task = pol.Task{ID: f.taskID, Graph: g, Batch: f.spec.Batch, Optimizer: f.spec.Optimizer, Seed: f.spec.Seed, Steps: f.spec.Steps,
		Data: train, CheckpointEvery: 2}
	res, err := pol.Train(context.Background(), pol.TrainConfig{Task: f.task, Solver: pol.Address(solver)})
	if err != nil {
		t.Fatal(err)
	}
	f.proof = res.Proof
	f.post(t, f.taskID, f.spec, &res.Proof.Root)
	if f.prover, err = pol.NewProver(pol.ProverConfig{Task: f.task, Proof: res.Proof, Store: res.Store}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.prover.Close() })
	return f
}

// post publishes spec, posts it as task id and, with a root, commits that proof root.
func (f *refereeFixture) post(t testing.TB, id [32]byte, spec market.TaskSpec, root *pol.Hash) {
	t.Helper()
	if _, err := f.w.specs.put(&spec); err != nil {
		t.Fatal(err)
	}
	evs, err := f.w.market.ApplyTx(f.env, f.w.submitter.addr, market.PostTask{ID: id, Spec: spec})
	must(t, evs, err)
	if root != nil {
		evs, err = f.w.market.ApplyTx(f.env, f.w.honest.addr, market.CommitProof{Task: id, Root: *root})
		must(t, evs, err)
	}
}

func (f *refereeFixture) vm(t testing.TB) *accelvm.VM {
	t.Helper()
	vm, err := f.w.referee.vm(context.Background(), f.taskID)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func (f *refereeFixture) honestTrace(t testing.TB) *accelvm.Trace {
	t.Helper()
	tr, err := accelvm.NewTrace(context.Background(), accelvm.TraceConfig{VM: f.vm(t), States: f.proof.States, Opener: f.prover})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// forgery returns a forged proof of the fixture's task by its solver, and the forger's trace.
func (f *refereeFixture) forgery(t testing.TB, strategy string) (*attack.Forgery, *forgedTrace) {
	t.Helper()
	ctx := context.Background()
	fg, err := strategies[strategy](ctx, attack.Setup{Task: f.task, Attacker: pol.Address(f.w.honest.addr), Victim: pol.Address(f.w.cheat.addr), Fraction: 0.4})
	if err != nil {
		t.Fatal(err)
	}
	ft, err := newForgedTrace(ctx, f.vm(t), f.task, fg.Proof, fg.Opener)
	if err != nil {
		t.Fatal(err)
	}
	return fg, ft
}

func TestRefereeResolves(t *testing.T) {
	f := newRefereeFixture(t)
	unproven, unpublished, tampered := [32]byte{0x01}, [32]byte{0x02}, [32]byte{0x03}
	f.post(t, unproven, f.spec, nil)
	other := f.spec
	other.Seed++
	f.post(t, unpublished, other, &f.proof.Root)
	delete(f.w.specs.mem, sha256.Sum256(market.EncodeSpec(&other)))
	third := f.spec
	third.Seed += 2
	f.post(t, tampered, third, &f.proof.Root)
	f.w.specs.mem[sha256.Sum256(market.EncodeSpec(&third))] = market.EncodeSpec(&f.spec)

	prog, err := f.task.Program()
	if err != nil {
		t.Fatal(err)
	}
	vm, err := f.w.referee.resolve(programOf(f.taskID))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := vm.Instrs(), uint64(len(prog.Instrs))+3; got != want {
		t.Errorf("resolved VM has %d transitions, want %d (open, load, the program's instructions, seal)", got, want)
	}
	if again, _ := f.w.referee.resolve(programOf(f.taskID)); again != vm {
		t.Error("the referee built the task's VM twice")
	}
	for _, tc := range []struct {
		name string
		task [32]byte
	}{
		{"unknown task", [32]byte{0xee}},
		{"task without a proof", unproven},
		{"spec not published", unpublished},
		{"published bytes of another spec", tampered},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if vm, err := f.w.referee.resolve(programOf(tc.task)); err == nil {
				t.Fatalf("resolved to %v", vm)
			}
		})
	}
}

// TestRefereeChecksChunks checks the resolved referee against the honest trace on the first
// and last chunk of every transition of a step (the honest post leaf, within the FLOP bound),
// and against the forger at its faulty chunk: the forger's own witness opens the agreed leaf,
// and the referee's post is not the forger's claim.
func TestRefereeChecksChunks(t *testing.T) {
	f := newRefereeFixture(t)
	vm := f.vm(t)
	honest := f.honestTrace(t)
	const step = 1
	for tr := range vm.Instrs() {
		c, err := honest.Commit(dispute.Position{Level: dispute.LevelChunk, Step: step, Instr: tr})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range []uint64{0, c.Len() - 2} {
			path := dispute.Path{Step: step, Instr: tr, Chunk: e}
			w, err := honest.Witness(path)
			if err != nil {
				t.Fatal(err)
			}
			post, flops, err := vm.Check(path, c.Leaf(e), w)
			if err != nil {
				t.Fatalf("%s chunk %d: %v", vm.Name(tr), e, err)
			}
			if want := c.Leaf(e + 1); post != want || flops < 0 || flops > accelvm.MaxChunkFLOPs {
				t.Fatalf("%s chunk %d: post %x, want %x; %d FLOPs", vm.Name(tr), e, post[:4], want[:4], flops)
			}
			if post, _, err := vm.Check(path, c.Leaf(e+1), w); err == nil && post == c.Leaf(e+1) {
				t.Fatalf("%s chunk %d: the referee confirmed a chunk from the wrong agreed leaf", vm.Name(tr), e)
			}
		}
	}
	for _, s := range strategyNames() {
		t.Run(s, func(t *testing.T) {
			fg, ft := f.forgery(t, s)
			step := fg.Forged[0]
			if _, err := ft.step(step); err != nil {
				t.Fatal(err)
			}
			if ft.fault == nil {
				t.Fatalf("the forger found no forgery in step %d", step)
			}
			fl := *ft.fault
			c, err := ft.Commit(dispute.Position{Level: dispute.LevelChunk, Step: fl.Step, Instr: fl.Instr})
			if err != nil {
				t.Fatal(err)
			}
			path := dispute.Path{Step: fl.Step, Instr: fl.Instr, Chunk: fl.Chunk}
			w, err := ft.Witness(path)
			if err != nil {
				t.Fatal(err)
			}
			post, _, err := vm.Check(path, c.Leaf(fl.Chunk), w)
			if err != nil {
				t.Fatalf("the forger's witness at %+v: %v", fl, err)
			}
			if post == c.Leaf(fl.Chunk+1) {
				t.Fatalf("the referee accepted the forger's chunk %+v", fl)
			}
		})
	}
}

// TestRefereeGames plays whole games on a dispute machine whose programs resolve through the
// devnet's referee: the forger loses as defender and as challenger, by the referee's check,
// within the round and FLOP bounds.
func TestRefereeGames(t *testing.T) {
	f := newRefereeFixture(t)
	vm := f.vm(t)
	var maxChunks uint64
	for i := range vm.Instrs() {
		maxChunks = max(maxChunks, vm.Chunks(i))
	}
	const k = 4
	bound := dispute.MaxRounds(k, f.proof.Steps(), vm.Instrs(), maxChunks)
	defender, challenger := f.w.honest.addr, f.w.watchers[0].addr
	for _, s := range strategyNames() {
		for _, liar := range []dispute.Side{dispute.Defender, dispute.Challenger} {
			t.Run(s+"/"+liar.String(), func(t *testing.T) {
				m, err := dispute.New(dispute.Config{Resolve: f.w.referee.resolve, K: k}, nil)
				if err != nil {
					t.Fatal(err)
				}
				fg, ft := f.forgery(t, s)
				honest := &dispute.Honest{Side: dispute.Challenger, Trace: f.honestTrace(t)}
				lying := &dispute.Liar{Honest: dispute.Honest{Side: dispute.Defender, Trace: ft}, Trick: dispute.TrickConsistent}
				var d, c dispute.Agent = lying, honest
				states, want := fg.Proof.States, dispute.Challenger
				if liar == dispute.Challenger {
					honest.Side, lying.Side = dispute.Defender, dispute.Challenger
					d, c, states, want = honest, lying, f.proof.States, dispute.Defender
				}
				leaves := make([]dispute.Hash, len(states))
				for i, h := range states {
					leaves[i] = dispute.Hash(h)
				}
				com, err := dispute.Materialized(leaves)
				if err != nil {
					t.Fatal(err)
				}
				n := uint64(len(states) - 1)
				open := dispute.Open{Game: [32]byte{0x9a}, Defender: defender, Steps: n, Root: com.Root(), Start: com.Leaf(0), Claim: com.Leaf(n),
					StartProof: com.Proof(0), ClaimProof: com.Proof(n), Program: programOf(f.taskID)}
				g, log, err := dispute.Play(m, 1000, open, challenger, d, c)
				if err != nil {
					t.Fatal(err)
				}
				last := log[len(log)-1]
				if _, proved := last.Move.(dispute.Prove); !proved || last.Err != nil {
					t.Fatalf("the game did not end in the referee's check: last move %T, %v", last.Move, last.Err)
				}
				if g.Winner != want {
					t.Fatalf("the %s won", g.Winner)
				}
				if g.Rounds > uint64(bound) || g.RefereeFLOPs > accelvm.MaxChunkFLOPs {
					t.Fatalf("%d rounds (bound %d), %d referee FLOPs", g.Rounds, bound, g.RefereeFLOPs)
				}
			})
		}
	}
}

// FuzzRefereeCheck feeds the resolved referee arbitrary witnesses for one chunk of an honest
// step: every witness it accepts must give the honest post leaf.
func FuzzRefereeCheck(f *testing.F) {
	fx := newRefereeFixture(f)
	vm := fx.vm(f)
	honest := fx.honestTrace(f)
	path := dispute.Path{Step: 1, Instr: 2, Chunk: 0} // the first matmul's first tile
	c, err := honest.Commit(dispute.Position{Level: dispute.LevelChunk, Step: path.Step, Instr: path.Instr})
	if err != nil {
		f.Fatal(err)
	}
	good, err := honest.Witness(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, w []byte) {
		post, _, err := vm.Check(path, c.Leaf(0), w)
		if err != nil && !errors.Is(err, dispute.ErrBadProof) {
			t.Fatalf("error %v does not wrap ErrBadProof", err)
		}
		if want := c.Leaf(1); err == nil && post != want {
			t.Fatalf("accepted a witness giving %x, not the honest leaf %x", post[:4], want[:4])
		}
	})
}
