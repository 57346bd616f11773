package pol_test

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/pol"
	"github.com/deai-go/deai/pol/internal/poltest"
)

// TestToleranceMode profiles a backend that perturbs results as a different reduction order
// would, makes proofs with it, and checks that honest ones pass while an exact verifier
// refuses them. It also demonstrates what the mode cannot detect: a forged final state within
// the thresholds passes; one beyond them is caught.
func TestToleranceMode(t *testing.T) {
	ctx := context.Background()
	ref, err := cpu.New(cpu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	be := poltest.Perturbed{Inner: ref}
	tk := task(t, 24, 8)
	th, err := pol.Profile(ctx, pol.ProfileConfig{Task: tk, Solver: alice, Backend: be, Steps: 24, Runs: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if th.LInf <= 0 || th.L1 <= 0 || th.L2 <= 0 {
		t.Fatalf("thresholds %+v: a perturbing backend must get nonzero thresholds", th)
	}
	exact, err := pol.Profile(ctx, pol.ProfileConfig{Task: tk, Solver: alice, Backend: ref, Steps: 8, Runs: 4})
	if err != nil || exact != (pol.Thresholds{}) {
		t.Errorf("the reference profiled against itself: %+v %v, want zero thresholds", exact, err)
	}
	t.Logf("profiled thresholds %+v", th)

	res := train(t, tk, alice, pol.TrainConfig{Backend: be})
	if res.Proof.Binding.Mode != pol.Tolerance {
		t.Fatalf("a proof made on a backend that is not bit-exact has mode %v", res.Proof.Binding.Mode)
	}
	v := verifier(t, pol.Config{Samples: 6, Thresholds: &th})
	op := &poltest.CachingOpener{Opener: prover(t, tk, res, be)}
	trialsN := 300
	if testing.Short() {
		trialsN = 50
	}
	for i := range trialsN {
		vd, err := v.Verify(ctx, tk, alice, res.Proof, binary.LittleEndian.AppendUint32(nil, uint32(i)), op)
		if err != nil || !vd.Accepted {
			t.Fatalf("honest tolerance proof, beacon %d: %+v %v", i, vd, err)
		}
	}
	if vd, _ := verifier(t, pol.Config{}).VerifyStructure(tk, alice, res.Proof); vd.Reason != pol.ReasonMode {
		t.Errorf("an exact verifier on a tolerance proof: %+v", vd)
	}

	// Forge the last step: move one weight of the final state by c.
	prog := mustProgram(t, tk)
	last := tk.Steps - 1
	forge := func(c float32) (*pol.Proof, pol.Opener) {
		st := res.Final.Clone()
		st.Tensors[0][0] += c
		h := st.Hash(prog)
		enc, err := pol.EncodeCheckpoint(st)
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Store.Put(ctx, h, enc); err != nil {
			t.Fatal(err)
		}
		states := slices.Clone(res.Proof.States)
		states[tk.Steps] = h
		headers := slices.Clone(res.Proof.Checkpoints)
		headers[len(headers)-1] = pol.HeaderOf(prog, tk.Steps, st)
		p := pol.Seal(res.Proof.Binding, states, headers)
		pr, err := pol.NewProver(pol.ProverConfig{Task: tk, Proof: p, Store: res.Store, Backend: be})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pr.Close() })
		return p, pr
	}
	for _, tt := range []struct {
		name   string
		c      float32
		accept bool
	}{{"within the thresholds: undetectable", float32(th.LInf / 8), true}, {"beyond the thresholds", float32(th.LInf * 100), false}} {
		t.Run(tt.name, func(t *testing.T) {
			p, o := forge(tt.c)
			var b []byte
			for i := 0; ; i++ {
				b = binary.LittleEndian.AppendUint32(nil, uint32(i))
				if slices.Contains(pol.Sample(p, b, 6), last) {
					break
				}
			}
			vd, err := v.Verify(ctx, tk, alice, p, b, o)
			if err != nil {
				t.Fatal(err)
			}
			if vd.Accepted != tt.accept || (!tt.accept && (vd.Reason != pol.ReasonTolerance || vd.Step != last)) {
				t.Errorf("forged last step (moved by %g), sampled: %+v", tt.c, vd)
			}
		})
	}
}
