package accelvm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/pol"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

var (
	alice = stake.Address{0xa1}
	bob   = stake.Address{0xb0}
	self  = stake.Address{0xd1}
)

var (
	embOnce sync.Once
	embSet  *dataset.Set
	embErr  error
)

func embedded(t testing.TB) *dataset.Set {
	t.Helper()
	embOnce.Do(func() { embSet, _, embErr = dataset.EmbeddedFashionMNIST() })
	if embErr != nil {
		t.Fatal(embErr)
	}
	return embSet
}

// run is a trained run with its proof: what both parties of a dispute start from.
type run struct {
	task  pol.Task
	res   *pol.Result
	vm    *VM
	train time.Duration // one training step
}

func newRun(t testing.TB, g *graph.Graph, batch int, steps uint64, every int) *run {
	t.Helper()
	ctx := context.Background()
	data := embedded(t)
	task := pol.Task{ID: pol.Hash{7}, Graph: g, Batch: batch, Optimizer: graph.Optimizer{Kind: graph.AdamW}, Seed: 11,
		Steps: steps, Data: data, CheckpointEvery: every}
	be, err := cpu.New(cpu.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := pol.Train(ctx, pol.TrainConfig{Task: task, Solver: pol.Address(alice), Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := task.Program()
	if err != nil {
		t.Fatal(err)
	}
	// A plain training step (no proof work) on the same backend, for the time budget.
	plain, err := be.Open(ctx, accel.RunSpec{Program: prog, Data: data, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	batches := make([][]int32, steps)
	for i := range batches {
		batches[i] = dataset.BatchAt(1, data.N, batch, uint64(i))
	}
	start := time.Now()
	if _, err := plain.Train(ctx, batches); err != nil {
		t.Fatal(err)
	}
	perStep := time.Since(start) / time.Duration(steps)
	vm, err := New(ctx, Config{Program: prog, Data: data, RunSeed: res.Proof.Binding.RunSeed()})
	if err != nil {
		t.Fatal(err)
	}
	return &run{task: task, res: res, vm: vm, train: perStep}
}

func (r *run) trace(t testing.TB, f *Fault) *Trace {
	t.Helper()
	pr, err := pol.NewProver(pol.ProverConfig{Task: r.task, Proof: r.res.Proof, Store: r.res.Store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close() })
	tr, err := NewTrace(context.Background(), TraceConfig{VM: r.vm, States: r.res.Proof.States, Opener: pr, Fault: f})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func ledger(t testing.TB) *stake.Ledger {
	l, err := stake.New(stake.Genesis{Accounts: []stake.GenesisAccount{
		{Address: alice, Balance: *uint256.NewInt(10_000)}, {Address: bob, Balance: *uint256.NewInt(10_000)}},
		Authorities: []stake.Address{self}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// maxChunks returns the largest E over the transitions of vm.
func maxChunks(vm *VM) uint64 {
	var e uint64
	for i := range vm.Instrs() {
		e = max(e, vm.Chunks(i))
	}
	return e
}

// dispute plays one game on a dispute machine with bonds on a stake ledger, the liar on side
// liar with fault f.
func play(t testing.TB, r *run, k uint64, f Fault, liar dispute.Side) dispute.Game {
	t.Helper()
	honest, lying := r.trace(t, nil), r.trace(t, &f)
	dTrace, cTrace := dispute.TraceProvider(honest), dispute.TraceProvider(lying)
	if liar == dispute.Defender {
		dTrace, cTrace = lying, honest
	}
	m, err := dispute.New(dispute.Config{Self: self, VM: r.vm, K: k, Clock: 100, Bond: *uint256.NewInt(10)}, ledger(t))
	if err != nil {
		t.Fatal(err)
	}
	steps := uint64(len(r.res.Proof.States) - 1)
	com, err := dTrace.Commit(dispute.Root(steps))
	if err != nil {
		t.Fatal(err)
	}
	open := dispute.Open{Game: [32]byte{byte(f.Step), byte(f.Instr), byte(f.Chunk), byte(liar)}, Defender: alice, Steps: steps,
		Root: com.Root(), Start: com.Leaf(0), Claim: com.Leaf(steps), StartProof: com.Proof(0), ClaimProof: com.Proof(steps)}
	g, _, err := dispute.Play(m, 1000, open, bob, &dispute.Honest{Side: dispute.Defender, Trace: dTrace}, &dispute.Honest{Side: dispute.Challenger, Trace: cTrace})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// masked reports whether fault f does not reach the state after its step (then the lying
// trace is honest and there is nothing to dispute).
func masked(t testing.TB, r *run, f Fault) bool {
	t.Helper()
	c, err := r.trace(t, &f).Commit(dispute.Root(uint64(len(r.res.Proof.States) - 1)))
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf(f.Step+1) == Hash(r.res.Proof.States[f.Step+1])
}

// TestHonestWins plays disputes on a real Fashion-MNIST MLP run with the fault at a random
// step, program instruction and chunk, the liar on either side. Rationale: the honest party
// must win every game, within ⌈log_k T⌉ + ⌈log_k G⌉ + ⌈log_k E⌉ + 2 rounds, and the referee
// recomputes one chunk of at most 2^16 FLOPs.
func TestHonestWins(t *testing.T) {
	r := newRun(t, graph.FashionMLP(), 64, 12, 4)
	const k = 4
	steps := uint64(len(r.res.Proof.States) - 1)
	bound := dispute.MaxRounds(k, steps, r.vm.Instrs(), maxChunks(r.vm))
	src := rand.New(rand.NewPCG(5, 5))
	n := 12
	if testing.Short() {
		n = 4
	}
	for i := range n {
		var f Fault
		for {
			tr := 2 + src.Uint64N(uint64(len(r.vm.p.Instrs)))
			f = Fault{Step: src.Uint64N(steps), Instr: tr, Chunk: src.Uint64N(r.vm.Chunks(tr))}
			if !masked(t, r, f) {
				break
			}
		}
		liar := dispute.Side(1 + i%2)
		t.Run(fmt.Sprintf("%s-lies-step%d-%s%d-chunk%d", liar, f.Step, r.vm.Name(f.Instr), f.Instr, f.Chunk), func(t *testing.T) {
			g := play(t, r, k, f, liar)
			if g.Winner == liar || g.Winner == 0 {
				t.Fatalf("winner %s, liar %s", g.Winner, liar)
			}
			if int(g.Rounds) > bound {
				t.Fatalf("%d rounds, bound %d", g.Rounds, bound)
			}
			if g.RefereeFLOPs > 1<<16 {
				t.Fatalf("referee FLOPs %d > 2^16", g.RefereeFLOPs)
			}
			if g.Pos.Step != f.Step || g.Pos.Instr != f.Instr || g.Pos.Lo != f.Chunk {
				t.Errorf("game ended at %v, fault at %+v", g.Pos, f)
			}
			t.Logf("rounds %d (bound %d), moves %d, referee FLOPs %d at %v", g.Rounds, bound, g.Moves, g.RefereeFLOPs, g.Pos)
		})
	}
}

// TestEveryTransition checks, for one step of the Fashion MLP at batch 64, that the honest trace's leaves
// tie to the proof (leaf 0 and leaf G are pol's state hashes) and that the referee accepts
// the honest witness of sampled chunks of every transition and rejects a corrupted one.
func TestEveryTransition(t *testing.T) {
	r := newRun(t, graph.FashionMLP(), 64, 3, 2)
	tr := r.trace(t, nil)
	const step = 1
	il, err := tr.Commit(dispute.Position{Level: dispute.LevelInstr, Step: step})
	if err != nil {
		t.Fatal(err)
	}
	G := r.vm.Instrs()
	if il.Leaf(0) != Hash(r.res.Proof.States[step]) || il.Leaf(G) != Hash(r.res.Proof.States[step+1]) {
		t.Fatal("instruction level does not run from h_t to h_t+1")
	}
	for i := range G {
		t.Run(fmt.Sprintf("%d-%s", i, r.vm.Name(i)), func(t *testing.T) {
			cl, err := tr.Commit(dispute.Position{Level: dispute.LevelChunk, Step: step, Instr: i})
			if err != nil {
				t.Fatal(err)
			}
			E := r.vm.Chunks(i)
			if cl.Leaf(0) != il.Leaf(i) || cl.Leaf(E) != il.Leaf(i+1) {
				t.Fatal("chunk level does not join the instruction level")
			}
			for _, e := range []uint64{0, E / 2, E - 1} {
				p := dispute.Path{Step: step, Instr: i, Chunk: e}
				w, err := tr.Witness(p)
				if err != nil {
					t.Fatal(err)
				}
				post, flops, err := r.vm.Check(p, cl.Leaf(e), w)
				if err != nil {
					t.Fatalf("chunk %d: %v", e, err)
				}
				if post != cl.Leaf(e+1) {
					t.Fatalf("chunk %d: referee's post differs from the honest leaf", e)
				}
				if flops > 1<<16 {
					t.Errorf("chunk %d: %d FLOPs", e, flops)
				}
				t.Logf("%s chunk %d of %d: %d FLOPs, witness %d bytes", r.vm.Name(i), e, E, flops, len(w))
				if _, _, err := r.vm.Check(p, cl.Leaf(e+1), w); err == nil {
					t.Fatalf("chunk %d: witness accepted for the wrong leaf", e)
				}
				if _, _, err := r.vm.Check(p, cl.Leaf(e), w[:len(w)/2]); err == nil {
					t.Fatalf("chunk %d: truncated witness accepted", e)
				}
			}
		})
	}
}

// TestRefereeFLOPs reports, per primitive of the Fashion MLP at batch 64, the largest chunk
// the referee recomputes, and checks the 2^16 bound.
func TestRefereeFLOPs(t *testing.T) {
	prog, err := graph.Compile(graph.FashionMLP(), 64, graph.Optimizer{Kind: graph.AdamW})
	if err != nil {
		t.Fatal(err)
	}
	worst := map[graph.Prim]int64{}
	chunks := map[graph.Prim]int{}
	for _, in := range prog.Instrs {
		n := numChunks(prog, in)
		chunks[in.Prim] += n
		for e := range n {
			worst[in.Prim] = max(worst[in.Prim], chunkFLOPs(prog, in, chunkAt(prog, in, e)))
		}
	}
	prims := slices.Sorted(maps.Keys(worst))
	for _, p := range prims {
		f := worst[p]
		t.Logf("%-18s max chunk %6d FLOPs, %5d chunks per step", p, f, chunks[p])
		if f > 1<<16 {
			t.Errorf("%s: %d FLOPs > 2^16", p, f)
		}
	}
}

// BenchmarkDispute times a full dispute over a Fashion-MNIST MLP training run (batch 64,
// AdamW, T = 40 steps, a checkpoint every k = 10): both parties build fresh traces whose
// provers regenerate the disputed step's state from the nearest checkpoint, the fault is at
// the last step before a checkpoint (the most regeneration), the liar defends, and the game
// runs on the dispute machine with bonds. It reports the dispute's time against the issue's
// budget, the time of 2·k training steps plus one second (train-step measured in the same
// process just before).
func BenchmarkDispute(b *testing.B) {
	const every = 10
	r := newRun(b, graph.FashionMLP(), 64, 40, every)
	const k = 8
	tr := uint64(2 + 12) // the matmul dW1 = Xᵀ·dY of the backward pass
	f := Fault{Step: 2*every - 1, Instr: tr, Chunk: r.vm.Chunks(tr) / 2}
	if r.vm.Name(tr) != "matmul" {
		b.Fatalf("transition %d is %s", tr, r.vm.Name(tr))
	}
	var rounds uint64
	for b.Loop() {
		g := play(b, r, k, f, dispute.Defender)
		if g.Winner != dispute.Challenger {
			b.Fatalf("winner %s", g.Winner)
		}
		rounds = g.Rounds
	}
	per := b.Elapsed() / time.Duration(b.N)
	budget := 2*every*r.train + time.Second
	b.ReportMetric(float64(per.Milliseconds()), "ms/dispute")
	b.ReportMetric(float64(r.train.Microseconds())/1000, "ms/train-step")
	b.ReportMetric(float64(budget.Milliseconds()), "ms-budget")
	b.ReportMetric(float64(rounds), "rounds")
}

// FuzzCheck feeds the referee arbitrary witnesses for a chunk of every kind: it must never
// panic, and it accepts only what opens the agreed leaf.
func FuzzCheck(f *testing.F) {
	g, err := graph.MLP(784, 10, 16)
	if err != nil {
		f.Fatal(err)
	}
	r := newRun(f, g, 4, 2, 1)
	tr := r.trace(f, nil)
	type target struct {
		p   dispute.Path
		pre Hash
	}
	var targets []target
	for i := range r.vm.Instrs() {
		cl, err := tr.Commit(dispute.Position{Level: dispute.LevelChunk, Step: 0, Instr: i})
		if err != nil {
			f.Fatal(err)
		}
		p := dispute.Path{Step: 0, Instr: i, Chunk: r.vm.Chunks(i) - 1}
		w, err := tr.Witness(p)
		if err != nil {
			f.Fatal(err)
		}
		targets = append(targets, target{p, cl.Leaf(p.Chunk)})
		f.Add(uint8(i), w)
	}
	f.Fuzz(func(t *testing.T, which uint8, w []byte) {
		tg := targets[int(which)%len(targets)]
		post, _, err := r.vm.Check(tg.p, tg.pre, w)
		if err == nil && post == (Hash{}) {
			t.Fatal("accepted with an empty post-state")
		}
	})
}

// TestBadWitness: a witness whose input values, partial results, write proofs or environment
// proofs were altered is rejected with dispute.ErrBadProof.
func TestBadWitness(t *testing.T) {
	g, err := graph.MLP(784, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(t, g, 4, 2, 1)
	tr := r.trace(t, nil)
	const mm = 2 // the first matmul
	cl, err := tr.Commit(dispute.Position{Level: dispute.LevelChunk, Step: 0, Instr: mm})
	if err != nil {
		t.Fatal(err)
	}
	last := r.vm.Chunks(mm) - 1
	tests := []struct {
		name  string
		chunk uint64
		edit  func(w *Witness)
	}{
		{"input value", 1, func(w *Witness) { w.Reads[0].Segs[0].Vals[3]++ }},
		{"input proof", 1, func(w *Witness) { w.Reads[1].Segs[0].Proof.Siblings[0][0] ^= 1 }},
		{"slot root", 1, func(w *Witness) { w.Reads[0].Root[0] ^= 1 }},
		{"partial result", 1, func(w *Witness) { w.Parts[0][0] ^= 1 }},
		{"running sums", 1, func(w *Witness) { w.Writes[0][0].Vals[0]++ }},
		{"missing write", 1, func(w *Witness) { w.Writes[0] = w.Writes[0][1:] }},
		{"environment", 1, func(w *Witness) { w.Env[0] ^= 1 }},
		{"environment update", last, func(w *Witness) { w.EnvOld[0][0] ^= 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := dispute.Path{Step: 0, Instr: mm, Chunk: tc.chunk}
			w, err := tr.witness(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.vm.Check(p, cl.Leaf(tc.chunk), mustEncode(t, w)); err != nil {
				t.Fatalf("honest witness rejected: %v", err)
			}
			tc.edit(w)
			_, _, err = r.vm.Check(p, cl.Leaf(tc.chunk), mustEncode(t, w))
			if !errors.Is(err, dispute.ErrBadProof) {
				t.Fatalf("altered witness: %v", err)
			}
		})
	}
}

func mustEncode(t testing.TB, w *Witness) []byte {
	t.Helper()
	b, err := w.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
