package attack_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/deai-go/deai/pol"
	"github.com/deai-go/deai/pol/attack"
	"github.com/deai-go/deai/pol/internal/poltest"
)

func setup(t *testing.T, steps uint64, every int, f float64) attack.Setup {
	t.Helper()
	tk, err := poltest.Task(steps, every)
	if err != nil {
		t.Fatal(err)
	}
	return attack.Setup{Task: tk, Attacker: poltest.Solver("mallory"), Victim: poltest.Solver("alice"), Fraction: f}
}

func beacon(i int) []byte { return binary.LittleEndian.AppendUint64([]byte("beacon"), uint64(i)) }

// trials verifies f's proof with n beacons (split over two goroutines) and checks every
// verdict: a structural forgery is rejected by structure alone; any other is rejected exactly
// when a forged step is sampled, at the first sampled forged step, and accepted otherwise
// (its honest steps replay exactly). It returns how many verifications rejected.
func trials(t *testing.T, v *pol.Verifier, task pol.Task, who pol.Address, f *attack.Forgery, n int) int {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	rejected := 0
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				b := beacon(i)
				vd, err := v.Verify(ctx, task, who, f.Proof, b, f.Opener)
				if err != nil {
					t.Errorf("%s trial %d: %v", f.Name, i, err)
					return
				}
				if !vd.Accepted {
					mu.Lock()
					rejected++
					mu.Unlock()
				}
				if f.Structural {
					if vd.Accepted || !vd.Reason.Structural() || vd.Replayed != 0 {
						t.Errorf("%s trial %d: %+v, want a structural rejection", f.Name, i, vd)
						return
					}
					continue
				}
				first := -1
				for _, s := range vd.Sampled {
					if _, ok := slices.BinarySearch(f.Forged, s); ok {
						first = int(s)
						break
					}
				}
				switch {
				case first >= 0 && (vd.Accepted || vd.Step != uint64(first) || vd.Reason.Structural()):
					t.Errorf("%s trial %d: forged step %d sampled (of %v), verdict %+v", f.Name, i, first, vd.Sampled, vd)
					return
				case first < 0 && !vd.Accepted:
					t.Errorf("%s trial %d: no forged step sampled, yet rejected: %+v", f.Name, i, vd)
					return
				}
			}
		})
	}
	wg.Wait()
	return rejected
}

// TestAttacksRejected runs A1–A7 (at 25% forged steps) against the bit-exact verifier with
// 1,000 beacons each (200 with -short).
func TestAttacksRejected(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	s := setup(t, 32, 8, 0.25)
	forgeries, err := attack.All(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := pol.NewVerifier(pol.Config{Samples: 3})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range forgeries {
		names[f.Name[:2]] = true
		t.Run(f.Name, func(t *testing.T) {
			if !f.Structural && len(f.Forged) == 0 {
				t.Fatal("a forgery with no forged step")
			}
			rej := trials(t, v, s.Task, s.Attacker, f, n)
			t.Logf("%s: %d forged of %d steps, rejected %d of %d verifications", f.Name, len(f.Forged), f.Proof.Steps(), rej, n)
		})
	}
	for i := 1; i <= 7; i++ {
		if !names[fmt.Sprintf("A%d", i)] {
			t.Errorf("attack A%d missing", i)
		}
	}
}

// TestDetectionCurve checks that the empirical detection rate of partial training (A7 skip)
// agrees with 1−(1−f)^s for f ∈ {1, 0.2, 0.05, 0.01} over 10,000 verifications each (1,000
// with -short). Draws are uniform with replacement, so the formula is exact; the tolerance is
// five standard deviations of a binomial proportion.
func TestDetectionCurve(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	const samples = 3
	v, err := pol.NewVerifier(pol.Config{Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []float64{1, 0.2, 0.05, 0.01} {
		t.Run(fmt.Sprint(f), func(t *testing.T) {
			s := setup(t, 100, 25, f)
			fs, err := attack.A7Partial(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			forged := fs[0]
			if got := float64(len(forged.Forged)) / 100; got != f {
				t.Fatalf("%d forged steps of 100, want fraction %v", len(forged.Forged), f)
			}
			rej := trials(t, v, s.Task, s.Attacker, forged, n)
			want := 1 - math.Pow(1-f, samples)
			got := float64(rej) / float64(n)
			sd := math.Sqrt(want * (1 - want) / float64(n))
			t.Logf("f=%v s=%d: detected %d of %d = %.4f, 1-(1-f)^s = %.4f (σ %.4f)", f, samples, rej, n, got, want, sd)
			if math.Abs(got-want) > 5*sd+1e-12 {
				t.Errorf("detection rate %.4f, want %.4f ± %.4f", got, want, 5*sd)
			}
		})
	}
}

// TestCostAt100kSteps states the verifier's cost at the scale: catching f ≥ 5% with
// probability ≥ 0.99 takes SamplesFor(0.05, 0.99) = 90 replayed steps, 0.09% of the FLOPs of a
// 100,000-step run.
func TestCostAt100kSteps(t *testing.T) {
	s := pol.SamplesFor(0.05, 0.99)
	if p := 1 - math.Pow(0.95, float64(s)); p < 0.99 {
		t.Fatalf("%d samples detect f=5%% with probability %.4f", s, p)
	}
	if frac := float64(s) / 1e5; frac > 0.001 {
		t.Errorf("verify fraction %.5f > 0.001", frac)
	}
}
