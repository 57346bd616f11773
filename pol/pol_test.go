package pol_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/pol"
	"github.com/deai-go/deai/pol/internal/poltest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden_proof.txt")

func task(t testing.TB, steps uint64, every int) pol.Task {
	t.Helper()
	tk, err := poltest.Task(steps, every)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

var alice = poltest.Solver("alice")

func train(t testing.TB, tk pol.Task, solver pol.Address, cfg pol.TrainConfig) *pol.Result {
	t.Helper()
	cfg.Task, cfg.Solver = tk, solver
	res, err := pol.Train(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func prover(t testing.TB, tk pol.Task, res *pol.Result, be accel.Backend) *pol.Prover {
	t.Helper()
	p, err := pol.NewProver(pol.ProverConfig{Task: tk, Proof: res.Proof, Store: res.Store, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func verifier(t testing.TB, cfg pol.Config) *pol.Verifier {
	t.Helper()
	v, err := pol.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestHonestProofEndToEnd(t *testing.T) {
	ctx := context.Background()
	tk := task(t, 40, 10)
	store, err := pol.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res := train(t, tk, alice, pol.TrainConfig{Store: store, Segment: 7})
	p := res.Proof
	if p.Steps() != 40 || len(p.Checkpoints) != 5 || p.Binding.Mode != pol.Exact {
		t.Fatalf("proof of %d steps, %d checkpoints, mode %v", p.Steps(), len(p.Checkpoints), p.Binding.Mode)
	}
	if got := res.Final.Hash(mustProgram(t, tk)); got != p.Final() {
		t.Errorf("final state %s, proof ends at %s", got, p.Final())
	}
	enc, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := pol.DecodeProof(enc)
	if err != nil {
		t.Fatal(err)
	}
	if dec.ID() != p.ID() {
		t.Fatal("decoded proof has another ID")
	}
	// The bound stated in the issue: (T/k)·|state| + 64 B per step; the proof itself (without
	// the checkpoints in the store) must stay under 64 B per step plus the headers.
	if limit := 64*int(p.Steps()) + len(p.Checkpoints)*(64+32*len(p.Checkpoints[0].Tensors)) + 512; len(enc) > limit {
		t.Errorf("proof of %d bytes exceeds %d", len(enc), limit)
	}
	v := verifier(t, pol.Config{Samples: 12})
	vd, err := v.Verify(ctx, tk, alice, dec, []byte("block 1"), prover(t, tk, res, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !vd.Accepted || vd.Err() != nil || vd.Replayed == 0 || vd.Replayed != len(vd.Sampled) {
		t.Fatalf("honest proof: %+v", vd)
	}
	prog := mustProgram(t, tk)
	if vd.ReplayFLOPs != int64(vd.Replayed)*prog.StepFLOPs() {
		t.Errorf("replay FLOPs %d for %d steps", vd.ReplayFLOPs, vd.Replayed)
	}
}

func mustProgram(t testing.TB, tk pol.Task) *graph.Program {
	t.Helper()
	p, err := tk.Program()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProofsIndependentOfWorkers: proofs made with any worker count (and so any GOMAXPROCS)
// are the same bits; with the golden root below, the same holds across architectures (the
// test runs under GOARCH=386 and arm64 too).
func TestProofsIndependentOfWorkers(t *testing.T) {
	tk := task(t, 30, 10)
	var roots []pol.Hash
	for _, w := range []int{1, 2, 3, 8} {
		be, err := cpu.New(cpu.Config{Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, train(t, tk, alice, pol.TrainConfig{Backend: be}).Proof.Root)
	}
	for i, r := range roots {
		if r != roots[0] {
			t.Errorf("workers config %d gives root %s, workers 1 gives %s", i, r, roots[0])
		}
	}
	golden := filepath.Join("testdata", "golden_proof.txt")
	line := "small-mlp-30-steps " + roots[0].String() + "\n"
	if *update {
		if err := os.WriteFile(golden, []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != line {
		t.Errorf("proof root on %s/%s: %q, golden %q", runtime.GOOS, runtime.GOARCH, line, want)
	}
}

// TestHonestNoFalseRejections verifies one honest proof with 10,000 beacons (1,000 with
// -short), each draw replaying its steps for real on the reference backend; none may fail.
// Openings come from the real Prover, remembered across verifications.
func TestHonestNoFalseRejections(t *testing.T) {
	trials := 10000
	if testing.Short() {
		trials = 1000
	}
	tk := task(t, 64, 16)
	res := train(t, tk, alice, pol.TrainConfig{})
	op := &poltest.CachingOpener{Opener: prover(t, tk, res, nil)}
	v := verifier(t, pol.Config{Samples: 3})
	ctx := context.Background()
	var mu sync.Mutex
	replayed := 0
	var wg sync.WaitGroup
	workers := 2
	for w := range workers {
		wg.Go(func() {
			for i := w; i < trials; i += workers {
				vd, err := v.Verify(ctx, tk, alice, res.Proof, []byte{byte(i), byte(i >> 8), byte(i >> 16)}, op)
				if err != nil || !vd.Accepted {
					t.Errorf("trial %d: %+v %v", i, vd, err)
					return
				}
				mu.Lock()
				replayed += vd.Replayed
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d verifications, %d steps replayed, 0 rejected", trials, replayed)
}

func TestStructuralRejections(t *testing.T) {
	ctx := context.Background()
	tk := task(t, 20, 5)
	res := train(t, tk, alice, pol.TrainConfig{})
	reseal := func(f func(b *pol.Binding, states []pol.Hash, hs []pol.CheckpointHeader) []pol.CheckpointHeader) *pol.Proof {
		p := res.Proof
		b := p.Binding
		states := append([]pol.Hash(nil), p.States...)
		hs := append([]pol.CheckpointHeader(nil), p.Checkpoints...)
		hs = f(&b, states, hs)
		return pol.Seal(b, states, hs)
	}
	other := tk
	other.Seed = 8
	tests := []struct {
		name   string
		task   pol.Task
		solver pol.Address
		proof  *pol.Proof
		want   pol.Reason
	}{
		{"other task", func() pol.Task { o := tk; o.ID[0] ^= 1; return o }(), alice, res.Proof, pol.ReasonTask},
		{"other solver", tk, poltest.Solver("bob"), res.Proof, pol.ReasonSolver},
		{"other seed", other, alice, res.Proof, pol.ReasonHyperparameters},
		{"other lr", func() pol.Task { o := tk; o.Optimizer.LR = 0.004; return o }(), alice, res.Proof, pol.ReasonHyperparameters},
		{"other steps", func() pol.Task { o := tk; o.Steps = 21; return o }(), alice, res.Proof, pol.ReasonHyperparameters},
		{"other interval", func() pol.Task { o := tk; o.CheckpointEvery = 4; return o }(), alice, res.Proof, pol.ReasonHyperparameters},
		{"other dataset", func() pol.Task {
			o := tk
			d, _ := tk.Data.Subset([]int32{1, 0, 2, 3, 4, 5, 6, 7, 8, 9})
			o.Data = d
			return o
		}(), alice, res.Proof, pol.ReasonDataset},
		{"root flipped", tk, alice, func() *pol.Proof { p := *res.Proof; p.Root[3] ^= 1; return &p }(), pol.ReasonRoot},
		{"state flipped", tk, alice, func() *pol.Proof {
			p := *res.Proof
			p.States = append([]pol.Hash(nil), p.States...)
			p.States[7][0] ^= 1
			return &p
		}(), pol.ReasonRoot},
		{"states reordered", tk, alice, func() *pol.Proof {
			p := *res.Proof
			p.States = append([]pol.Hash(nil), p.States...)
			p.States[3], p.States[4] = p.States[4], p.States[3]
			return &p
		}(), pol.ReasonRoot},
		{"start forged", tk, alice, reseal(func(_ *pol.Binding, s []pol.Hash, hs []pol.CheckpointHeader) []pol.CheckpointHeader {
			s[0][5] ^= 1
			return hs
		}), pol.ReasonStart},
		{"header forged", tk, alice, reseal(func(_ *pol.Binding, s []pol.Hash, hs []pol.CheckpointHeader) []pol.CheckpointHeader {
			h := hs[2]
			h.Step++
			hs[2] = h
			return hs
		}), pol.ReasonCheckpoint},
		{"header missing", tk, alice, reseal(func(_ *pol.Binding, s []pol.Hash, hs []pol.CheckpointHeader) []pol.CheckpointHeader {
			return hs[:len(hs)-1]
		}), pol.ReasonMalformed},
		{"states truncated", tk, alice, func() *pol.Proof { p := *res.Proof; p.States = p.States[:10]; return &p }(), pol.ReasonMalformed},
		{"tolerance without thresholds", tk, alice, reseal(func(b *pol.Binding, s []pol.Hash, hs []pol.CheckpointHeader) []pol.CheckpointHeader {
			b.Mode = pol.Tolerance
			return hs
		}), pol.ReasonMode},
		{"unknown mode", tk, alice, reseal(func(b *pol.Binding, s []pol.Hash, hs []pol.CheckpointHeader) []pol.CheckpointHeader {
			b.Mode = 9
			return hs
		}), pol.ReasonMode},
		{"nil proof", tk, alice, nil, pol.ReasonMalformed},
	}
	v := verifier(t, pol.Config{Samples: 4})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vd, err := v.Verify(ctx, tt.task, tt.solver, tt.proof, nil, failOpener{t})
			if err != nil {
				t.Fatal(err)
			}
			if vd.Accepted || vd.Reason != tt.want || !vd.Reason.Structural() || len(vd.Sampled) != 0 {
				t.Errorf("verdict %+v, want structural %v", vd, tt.want)
			}
			if err := vd.Err(); !errors.Is(err, pol.ErrInvalidProof) {
				t.Errorf("Err() = %v, want ErrInvalidProof", err)
			} else if _, ok := errors.AsType[*pol.RejectedError](err); !ok || !strings.Contains(err.Error(), tt.want.String()) {
				t.Errorf("Err() = %v, want a *RejectedError naming %v", err, tt.want)
			}
		})
	}
}

// failOpener fails the test when a verifier asks it for anything.
type failOpener struct{ t *testing.T }

func (f failOpener) Open(context.Context, uint64) (*pol.Opening, error) {
	f.t.Error("structural rejection asked for an opening")
	return nil, errors.New("no")
}

// openerFunc adapts a function to pol.Opener.
type openerFunc func(ctx context.Context, i uint64) (*pol.Opening, error)

func (f openerFunc) Open(ctx context.Context, i uint64) (*pol.Opening, error) { return f(ctx, i) }

func TestBadOpenings(t *testing.T) {
	ctx := context.Background()
	tk := task(t, 20, 5)
	res := train(t, tk, alice, pol.TrainConfig{})
	honest := prover(t, tk, res, nil)
	tamper := func(f func(o *pol.Opening)) pol.Opener {
		return openerFunc(func(ctx context.Context, i uint64) (*pol.Opening, error) {
			o, err := honest.Open(ctx, i)
			if err == nil {
				f(o)
			}
			return o, err
		})
	}
	missing := pol.NewMemStore()
	for _, c := range res.Proof.Checkpoints {
		if c.Index == 0 {
			continue // every other checkpoint is lost
		}
		b, err := res.Store.Get(ctx, res.Proof.States[c.Index])
		if err != nil {
			t.Fatal(err)
		}
		missing.Put(ctx, res.Proof.States[c.Index], b)
	}
	lost, err := pol.NewProver(pol.ProverConfig{Task: tk, Proof: res.Proof, Store: missing})
	if err != nil {
		t.Fatal(err)
	}
	defer lost.Close()
	corrupt := pol.NewMemStore()
	for _, c := range res.Proof.Checkpoints {
		corrupt.Put(ctx, res.Proof.States[c.Index], []byte("not a checkpoint"))
	}
	garbled, err := pol.NewProver(pol.ProverConfig{Task: tk, Proof: res.Proof, Store: corrupt})
	if err != nil {
		t.Fatal(err)
	}
	defer garbled.Close()
	tests := []struct {
		name string
		o    pol.Opener
		want pol.Reason
	}{
		{"prover down", openerFunc(func(context.Context, uint64) (*pol.Opening, error) { return nil, errors.New("connection refused") }), pol.ReasonUnserved},
		{"checkpoint 0 missing", lost, pol.ReasonUnserved},
		{"checkpoints corrupt", garbled, pol.ReasonUnserved},
		{"nil opening", openerFunc(func(context.Context, uint64) (*pol.Opening, error) { return nil, nil }), pol.ReasonOpening},
		{"wrong index", tamper(func(o *pol.Opening) { o.Index++ }), pol.ReasonOpening},
		{"state changed", tamper(func(o *pol.Opening) { o.Pre.Tensors[0][0] += 1 }), pol.ReasonOpening},
		{"state misshapen", tamper(func(o *pol.Opening) { o.Pre.Tensors = o.Pre.Tensors[1:] }), pol.ReasonOpening},
		{"wrong sibling", tamper(func(o *pol.Opening) { o.Path.Siblings[0][0] ^= 1 }), pol.ReasonPath},
		{"short path", tamper(func(o *pol.Opening) { o.Path.Siblings = o.Path.Siblings[1:] }), pol.ReasonPath},
		{"wrong prev", tamper(func(o *pol.Opening) { o.Prev[0] ^= 1 }), pol.ReasonPath},
		{"wrong path size", tamper(func(o *pol.Opening) { o.Path.Size = 1 << 50 }), pol.ReasonPath},
	}
	v := verifier(t, pol.Config{Samples: 6})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vd, err := v.Verify(ctx, tk, alice, res.Proof, []byte("beacon"), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if vd.Accepted || vd.Reason != tt.want || vd.Reason.Structural() {
				t.Errorf("verdict %+v, want %v", vd, tt.want)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := v.Verify(cctx, tk, alice, res.Proof, nil, prover(t, tk, res, nil))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled (an infrastructure error, not a verdict)", err)
		}
	})
}

func TestDecodeRejects(t *testing.T) {
	tk := task(t, 20, 5)
	res := train(t, tk, alice, pol.TrainConfig{})
	enc, err := res.Proof.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", enc[:len(enc)/2]},
		{"one byte short", enc[:len(enc)-1]},
		{"trailing field", append(append([]byte(nil), enc...), 0x30, 0x01)},
		{"duplicated", append(append([]byte(nil), enc...), enc...)},
		{"oversized", make([]byte, pol.MaxProofBytes+1)},
		{"garbage", bytes.Repeat([]byte{0xff}, 100)},
		{"many headers", append(append([]byte(nil), enc...), bytes.Repeat([]byte{0x2a, 0x00}, 1000)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pol.DecodeProof(tt.b)
			if !errors.Is(err, pol.ErrInvalidProof) || !errors.Is(err, pol.ErrMalformed) {
				t.Errorf("err = %v, want ErrInvalidProof and ErrMalformed", err)
			}
		})
	}
}

func FuzzDecodeProof(f *testing.F) {
	tk := task(f, 12, 4)
	res := train(f, tk, alice, pol.TrainConfig{})
	enc, err := res.Proof.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add(enc[:40])
	f.Add([]byte{0x08, 0x01})
	v := verifier(f, pol.Config{Samples: 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := pol.DecodeProof(b)
		if err != nil {
			if !errors.Is(err, pol.ErrInvalidProof) {
				t.Fatalf("decode error %v does not wrap ErrInvalidProof", err)
			}
			return
		}
		again, err := p.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical encoding")
		}
		if _, err := v.VerifyStructure(tk, alice, p); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzDecodeCheckpoint(f *testing.F) {
	tk := task(f, 4, 4)
	prog := mustProgram(f, tk)
	enc, err := pol.EncodeCheckpoint(accel.InitialState(prog, 3))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add(enc[:10])
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := pol.DecodeCheckpoint(b, prog)
		if err != nil {
			if !errors.Is(err, pol.ErrInvalidProof) {
				t.Fatalf("error %v does not wrap ErrInvalidProof", err)
			}
			return
		}
		if err := st.Check(prog); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := pol.NewDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]pol.Store{"mem": pol.NewMemStore(), "dir": ds} {
		t.Run(name, func(t *testing.T) {
			k := pol.Hash{1, 2, 3}
			if _, err := s.Get(ctx, k); !errors.Is(err, pol.ErrNotFound) {
				t.Errorf("Get of a missing key: %v", err)
			}
			data := []byte("checkpoint bytes")
			if err := s.Put(ctx, k, data); err != nil {
				t.Fatal(err)
			}
			data[0] = 'X'
			got, err := s.Get(ctx, k)
			if err != nil || string(got) != "checkpoint bytes" {
				t.Errorf("Get = %q, %v", got, err)
			}
			if err := s.Put(ctx, k, []byte("again")); err != nil {
				t.Fatal(err)
			}
		})
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if d != nil && !d.IsDir() {
			files = append(files, filepath.Base(p))
		}
		return nil
	})
	if len(files) != 1 || strings.HasPrefix(files[0], ".tmp") {
		t.Errorf("store directory holds %v, want the one checkpoint and no temporary files", files)
	}
}

func TestStackedProofs(t *testing.T) {
	ctx := context.Background()
	base := task(t, 16, 8)
	bres := train(t, base, alice, pol.TrainConfig{})
	ft := task(t, 12, 4)
	ft.ID[0] ^= 0xff
	ft.Base = bres.Proof
	prog := mustProgram(t, ft)
	last, err := pol.LoadCheckpoint(ctx, bres.Store, prog, bres.Proof.Final())
	if err != nil {
		t.Fatal(err)
	}
	bob := poltest.Solver("bob")
	res := train(t, ft, bob, pol.TrainConfig{BaseState: last})
	if res.Proof.Binding.Parent != bres.Proof.ID() || res.Proof.States[0] != bres.Proof.Final() {
		t.Fatal("the fine-tuning proof does not start from its base")
	}
	v := verifier(t, pol.Config{Samples: 6})
	vd, err := v.Verify(ctx, ft, bob, res.Proof, []byte("b"), prover(t, ft, res, nil))
	if err != nil || !vd.Accepted {
		t.Fatalf("stacked proof: %+v %v", vd, err)
	}
	// Another base: the parent binding no longer matches.
	other := ft
	other.Base = train(t, task(t, 8, 8), alice, pol.TrainConfig{}).Proof
	if vd, _ := v.VerifyStructure(other, bob, res.Proof); vd.Reason != pol.ReasonParent {
		t.Errorf("proof checked against another base: %+v", vd)
	}
	// A base state that is not the base proof's final state is refused by the trainer.
	if _, err := pol.Train(ctx, pol.TrainConfig{Task: ft, Solver: bob, BaseState: accel.InitialState(prog, 1)}); err == nil {
		t.Error("trained from a state that is not the base's final state")
	}
}

func TestSamplesFor(t *testing.T) {
	tests := []struct {
		f, p float64
		want int
	}{{0.05, 0.99, 90}, {1, 0.99, 1}, {0.2, 0.99, 21}, {0.01, 0.99, 459}}
	for _, tt := range tests {
		if got := pol.SamplesFor(tt.f, tt.p); got != tt.want {
			t.Errorf("SamplesFor(%v, %v) = %d, want %d", tt.f, tt.p, got, tt.want)
		}
	}
	// Verifying a 100,000-step run at f ≥ 5%, p ≥ 0.99 replays 90 steps: 0.09% of the
	// training FLOPs (the verifier's replays are whole steps of the same program).
	if frac := float64(pol.SamplesFor(0.05, 0.99)) / 100000; frac > 0.001 {
		t.Errorf("verifier fraction %.5f > 0.1%%", frac)
	}
}
