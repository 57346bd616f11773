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

// TestHonestWins plays disputes on real Fashion-MNIST runs (the MLP at batch 64 and 512, the
// CNN at batch 64) with the fault at a random step and chunk of an instruction of every
// primitive the program uses (convolutions, pooling, bias, softmax included; on the MLP at
// batch 64 also at random instructions), the liar on either side. Rationale: the honest
// party must win every game, within ⌈log_k T⌉ + ⌈log_k G⌉ + ⌈log_k E⌉ + 2 rounds, and the
// referee recomputes one chunk of at most 2^16 FLOPs.
func TestHonestWins(t *testing.T) {
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			if testing.Short() && m.batch > 64 {
				t.Skip("short")
			}
			honestWins(t, m)
		})
	}
}

func honestWins(t *testing.T, m model) {
	r := newRun(t, m.graph(), m.batch, 6, 3)
	const k = 4
	steps := uint64(len(r.res.Proof.States) - 1)
	bound := dispute.MaxRounds(k, steps, r.vm.Instrs(), maxChunks(r.vm))
	src := rand.New(rand.NewPCG(5, uint64(m.batch)))
	// One transition per primitive, chosen at random among the instructions that use it.
	byPrim := map[graph.Prim][]uint64{}
	for i, in := range r.vm.p.Instrs {
		byPrim[in.Prim] = append(byPrim[in.Prim], uint64(i+2))
	}
	var trs []uint64
	for _, p := range slices.Sorted(maps.Keys(byPrim)) {
		if testing.Short() && !slices.Contains([]graph.Prim{graph.PrimConv2DGradInput, graph.PrimMaxPool2DGrad, graph.PrimBiasGrad, graph.PrimSoftmaxXent}, p) {
			continue
		}
		trs = append(trs, byPrim[p][src.IntN(len(byPrim[p]))])
	}
	if m.name == "mlp64" && !testing.Short() {
		for range 6 {
			trs = append(trs, 2+src.Uint64N(uint64(len(r.vm.p.Instrs))))
		}
	}
	for i, tr := range trs {
		var f Fault
		found := false
		for range 20 {
			f = Fault{Step: src.Uint64N(steps), Instr: tr, Chunk: src.Uint64N(r.vm.Chunks(tr))}
			if !masked(t, r, f) {
				found = true
				break
			}
		}
		if !found {
			t.Logf("every fault tried at %s (transition %d) was masked", r.vm.Name(tr), tr)
			continue
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
			if g.RefereeFLOPs > MaxChunkFLOPs {
				t.Fatalf("referee FLOPs %d > 2^16", g.RefereeFLOPs)
			}
			if g.Pos.Step != f.Step || g.Pos.Instr != f.Instr || g.Pos.Lo != f.Chunk {
				t.Errorf("game ended at %v, fault at %+v", g.Pos, f)
			}
			t.Logf("rounds %d (bound %d), moves %d, referee FLOPs %d at %v", g.Rounds, bound, g.Moves, g.RefereeFLOPs, g.Pos)
		})
	}
}

// model is a real model the package is tested on.
type model struct {
	name  string
	graph func() *graph.Graph
	batch int
}

// models are the Fashion-MNIST MLP at batch 64 and 512 and the CNN of examples/train
// (conv16-pool-conv32-pool-dense) at batch 64.
var models = []model{
	{"mlp64", graph.FashionMLP, 64},
	{"mlp512", graph.FashionMLP, 512},
	{"cnn64", graph.FashionCNN, 64},
}

// TestEveryTransition checks, for one step of each real model, that the honest trace's leaves
// tie to the proof (leaf 0 and leaf G are pol's state hashes) and that the referee accepts
// the honest witness of sampled chunks of every transition (first, middle, last and a random
// one), with at most MaxChunkFLOPs and a witness of at most MaxWitness bytes, and rejects it
// for the wrong leaf or truncated.
func TestEveryTransition(t *testing.T) {
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			if testing.Short() && m.batch > 64 {
				t.Skip("short")
			}
			everyTransition(t, m)
		})
	}
}

func everyTransition(t *testing.T, m model) {
	r := newRun(t, m.graph(), m.batch, 3, 2)
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
	src := rand.New(rand.NewPCG(uint64(m.batch), 1))
	var worstW int
	var worstF int64
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
			for _, e := range []uint64{0, E / 2, src.Uint64N(E), E - 1} {
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
				if flops > MaxChunkFLOPs {
					t.Errorf("chunk %d: %d FLOPs", e, flops)
				}
				if len(w) > MaxWitness {
					t.Errorf("chunk %d: witness of %d bytes > %d", e, len(w), MaxWitness)
				}
				worstW, worstF = max(worstW, len(w)), max(worstF, flops)
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
	t.Logf("%s: worst sampled chunk %d FLOPs, witness %d bytes", m.name, worstF, worstW)
}

// TestRefereeFLOPs reports, per primitive of each real model and optimizer, the largest chunk
// the referee recomputes, and checks the 2^16 bound.
func TestRefereeFLOPs(t *testing.T) {
	for _, m := range models {
		for _, opt := range []graph.OptKind{graph.AdamW, graph.SGD} {
			t.Run(fmt.Sprintf("%s-%d", m.name, opt), func(t *testing.T) { refereeFLOPs(t, m, opt) })
		}
	}
}

func refereeFLOPs(t *testing.T, m model, opt graph.OptKind) {
	prog, err := graph.Compile(m.graph(), m.batch, graph.Optimizer{Kind: opt})
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
		if f > MaxChunkFLOPs {
			t.Errorf("%s: %d FLOPs > 2^16", p, f)
		}
	}
}

// BenchmarkDispute times a full dispute over a Fashion-MNIST training run, for the MLP (batch
// 64, AdamW, T = 40 steps, a checkpoint every k = 10) and the CNN of examples/train (batch 64,
// AdamW, T = 20, k = 10): both parties build fresh traces whose provers regenerate the
// disputed step's state from the nearest checkpoint, the fault is at the last step before a
// checkpoint (the most regeneration) in the middle chunk of the MLP's matmul dW1 = Xᵀ·dY or the
// CNN's second convolution, the liar defends, and the game runs on the dispute machine with
// bonds. It reports the dispute's time against the budget, the time of 2·k training
// steps plus one second (train-step measured in the same process just before).
func BenchmarkDispute(b *testing.B) {
	const every = 10
	for _, bc := range []struct {
		name  string
		graph func() *graph.Graph
		steps uint64
		prim  graph.Prim
		nth   int
	}{
		{"mlp64", graph.FashionMLP, 40, graph.PrimMatMul, 4},
		{"cnn64", graph.FashionCNN, 20, graph.PrimConv2D, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := newRun(b, bc.graph(), 64, bc.steps, every)
			const k = 8
			var tr uint64
			seen := 0
			for i, in := range r.vm.p.Instrs {
				if in.Prim == bc.prim {
					if seen == bc.nth {
						tr = uint64(i + 2)
						break
					}
					seen++
				}
			}
			f := Fault{Step: 2*every - 1, Instr: tr, Chunk: r.vm.Chunks(tr) / 2}
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
			b.Logf("fault at step %d transition %d (%s) chunk %d of %d", f.Step, tr, r.vm.Name(tr), f.Chunk, r.vm.Chunks(tr))
		})
	}
}

// FuzzCheck feeds the referee arbitrary witnesses for the first and last chunk of every
// transition: it must never panic, and it accepts only what opens the agreed leaf.
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
		for _, e := range slices.Compact([]uint64{0, r.vm.Chunks(i) - 1}) {
			p := dispute.Path{Step: 0, Instr: i, Chunk: e}
			w, err := tr.Witness(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(len(targets)), w)
			targets = append(targets, target{p, cl.Leaf(p.Chunk)})
		}
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

// segBytes bounds the encoding of one Seg in a witness: 128 values of at most 9 bytes in gob,
// a proof of at most 32 siblings of 35 bytes, and framing.
const segBytes = SegLen*9 + 32*35 + 64

// stateWitness bounds the encoding of an "open" or "seal" witness: a block of StateBlock
// values of at most 9 bytes in gob, three proofs and at most 512 hashes (the tensor hashes of
// the state, the partial results, the carry) of 35 bytes, and framing.
const stateWitness = StateBlock*9 + 3*32*35 + 512*35 + 4<<10

// TestWitnessBound checks, for every chunk of every transition of one step of each real model,
// that the segments the chunk reads and writes, at segBytes each plus 16 KiB of framing and
// environment proofs, stay within MaxWitness, so that every honest witness decodes, and
// encodes every "open" and "seal" witness (within stateWitness). It reports the largest count
// per primitive and the largest state witness.
func TestWitnessBound(t *testing.T) {
	if stateWitness > MaxWitness {
		t.Fatalf("a state block does not fit MaxWitness")
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			if testing.Short() && m.batch > 64 {
				t.Skip("short")
			}
			r := newRun(t, m.graph(), m.batch, 1, 1)
			tr := r.trace(t, nil)
			sr, err := tr.step(0)
			if err != nil {
				t.Fatal(err)
			}
			worst := map[string]int{}
			for i := uint64(2); i < r.vm.seal(); i++ {
				name := r.vm.Name(i)
				outs := r.vm.outs(i)
				count := func(rec *recorder, ws []write) int {
					n := 0
					for _, segs := range rec.in {
						n += len(segs)
					}
					for _, w := range ws {
						n += len(touchedSegs(w.idx))
					}
					return n
				}
				newRec := func() *recorder {
					rec := &recorder{in: map[int]map[int]bool{}, old: make([]map[int]bool, len(outs))}
					for k := range outs {
						rec.old[k] = map[int]bool{}
					}
					return rec
				}
				cur := newRec()
				_, err := tr.simulate(sr, i, func(e int, ws, _ []write, partial [][]float32) (*recorder, error) {
					if e == 0 {
						if err := tr.recordChunk(sr, i, cur, partial); err != nil {
							return nil, err
						}
					}
					n := count(cur, ws)
					worst[name] = max(worst[name], n)
					if n*segBytes+16<<10 > MaxWitness {
						t.Errorf("%s (transition %d) chunk %d touches %d segments", name, i, e, n)
					}
					cur = newRec()
					return cur, nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range slices.Sorted(maps.Keys(worst)) {
				t.Logf("%-18s at most %4d segments per chunk (≤ %d KiB)", name, worst[name], (worst[name]*segBytes+16<<10)>>10)
			}
			// "open" and "seal": every chunk's encoded witness.
			for _, i := range []uint64{trOpen, r.vm.seal()} {
				most := 0
				for e := range r.vm.Chunks(i) {
					w, err := tr.Witness(dispute.Path{Step: 0, Instr: i, Chunk: e})
					if err != nil {
						t.Fatal(err)
					}
					if len(w) > stateWitness {
						t.Errorf("%s chunk %d: witness of %d bytes > %d", r.vm.Name(i), e, len(w), stateWitness)
					}
					most = max(most, len(w))
				}
				t.Logf("%-18s at most %d bytes per chunk, %d chunks", r.vm.Name(i), most, r.vm.Chunks(i))
			}
		})
	}
}
