package aggregate

import (
	"fmt"
	"math"
	"testing"
)

// dawidSkeneRef is the first, plain implementation of Dawid-Skene (separate M- and E-steps,
// one pass over the labels each, generic in K), kept as the oracle that the optimized
// DawidSkene must match bit for bit.
func dawidSkeneRef(d *Dataset, cfg Config) (Result, error) {
	if err := d.Validate(); err != nil {
		return Result{}, err
	}
	cfg = cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	K := d.Classes
	start, idx := byItem(d)
	cells := make([]int32, len(idx))
	for n, x := range idx {
		l := d.Labels[x]
		cells[n] = l.Worker*int32(K) + l.Class
	}
	ones := make([]float64, d.Workers)
	for i := range ones {
		ones[i] = 1
	}
	post := weightedVote(d, ones).Probs
	prev := make([]float64, len(post))
	prior := make([]float64, K)
	conf := make([]float64, d.Workers*K*K)
	s := cfg.Smoothing
	mstep := func() {
		for k := range prior {
			prior[k] = s
		}
		for i := 0; i < d.Items; i++ {
			if start[i] == start[i+1] {
				continue
			}
			for k := 0; k < K; k++ {
				prior[k] += post[i*K+k]
			}
		}
		normalize(prior)
		for n := range conf {
			conf[n] = s
		}
		for i := 0; i < d.Items; i++ {
			for _, cell := range cells[start[i]:start[i+1]] {
				for k := 0; k < K; k++ {
					conf[int(cell)*K+k] += post[i*K+k]
				}
			}
		}
		for base := 0; base < len(conf); base += K * K {
			for k := 0; k < K; k++ {
				sum := 0.0
				for l := 0; l < K; l++ {
					sum += conf[base+l*K+k]
				}
				for l := 0; l < K; l++ {
					conf[base+l*K+k] /= sum
				}
			}
		}
	}
	estep := func() {
		for i := 0; i < d.Items; i++ {
			t := post[i*K : (i+1)*K]
			copy(t, prior)
			for n, cell := range cells[start[i]:start[i+1]] {
				for k := range t {
					t[k] *= conf[int(cell)*K+k]
				}
				if n%rescaleEvery == rescaleEvery-1 {
					rescale(t)
				}
			}
			normalize(t)
		}
	}
	change := func() float64 {
		sum, n := 0.0, 0
		for i := 0; i < d.Items; i++ {
			if start[i] == start[i+1] {
				continue
			}
			n++
			for k := i * K; k < (i+1)*K; k++ {
				sum += math.Abs(post[k] - prev[k])
			}
		}
		if n == 0 {
			return 0
		}
		return sum / float64(2*n)
	}
	iters, conv := 0, false
	for iters < cfg.MaxIterations {
		mstep()
		copy(prev, post)
		estep()
		iters++
		if change() <= cfg.Tolerance {
			conv = true
			break
		}
	}
	mstep()
	r := Result{Classes: K, Labels: make([]int, d.Items), Probs: post, Skill: make([]float64, d.Workers),
		Iterations: iters, Converged: conv}
	for i := range r.Labels {
		r.Labels[i] = -1
		if start[i] < start[i+1] {
			r.Labels[i] = argmax(post[i*K : (i+1)*K])
		}
	}
	for j := range r.Skill {
		for k := 0; k < K; k++ {
			r.Skill[j] = float64(prior[k]*conf[(j*K+k)*K+k]) + r.Skill[j]
		}
	}
	return r, nil
}

// sameBits reports the first difference between two results, or "".
func sameBits(a, b Result) string {
	switch {
	case a.Iterations != b.Iterations || a.Converged != b.Converged:
		return "iterations or convergence differ"
	case len(a.Probs) != len(b.Probs) || len(a.Skill) != len(b.Skill) || len(a.Labels) != len(b.Labels):
		return "lengths differ"
	}
	for n := range a.Probs {
		if math.Float64bits(a.Probs[n]) != math.Float64bits(b.Probs[n]) {
			return "probs differ"
		}
	}
	for n := range a.Skill {
		if math.Float64bits(a.Skill[n]) != math.Float64bits(b.Skill[n]) {
			return "skills differ"
		}
	}
	for n := range a.Labels {
		if a.Labels[n] != b.Labels[n] {
			return "labels differ"
		}
	}
	return ""
}

// TestDawidSkeneMatchesReference checks that the optimized Dawid-Skene, with either form of
// its M-step and on one or three goroutines, gives the same bits as the plain reference on the real data sets and on simulated crowds with 1 to 9 classes,
// unlabelled items, idle workers, repeated labels and long items (more than rescaleEvery
// labels, so the rescaling path runs).
func TestDawidSkeneMatchesReference(t *testing.T) {
	type tc struct {
		name string
		d    *Dataset
		cfg  Config
	}
	var cases []tc
	for _, name := range []string{"bluebirds", "adultcontent2"} {
		c := loadCorpus(t, name)
		cases = append(cases, tc{name, &c.Dataset, Config{}})
	}
	for _, K := range []int{1, 2, 3, 4, 5, 9} {
		lo := 0.3
		if K == 1 {
			lo = 1 // simulate needs a wrong class to draw
		}
		c := simulate(uint64(40+K), 300, 30, 3+K, K, lo, max(lo, 0.9))
		d := c.d
		d.Items += 7                                  // unlabelled items at the end
		d.Workers += 3                                // idle workers
		d.Labels = append(d.Labels, d.Labels[:50]...) // repeated labels
		cases = append(cases, tc{"sim-K" + string(rune('0'+K)), &d, Config{}})
	}
	long := simulate(7, 40, 60, 600, 4, 0.2, 0.7) // 600 labels per item: products fall below 2^-600
	cases = append(cases, tc{"long", &long.d, Config{Smoothing: 0.5, Tolerance: 1e-9}})
	capped := simulate(8, 500, 20, 4, 3, 0.4, 0.8)
	cases = append(cases, tc{"capped", &capped.d, Config{MaxIterations: 3}})
	for n, d := range []Dataset{ // degenerate shapes
		{Classes: 1},
		{Classes: 5, Items: 3, Workers: 2},
		{Classes: 4, Items: 3, Workers: 2, Labels: []Label{{1, 2, 3}, {1, 2, 3}, {0, 0, 0}}},
		{Classes: 5, Items: 1, Workers: 1, Labels: []Label{{0, 0, 4}}},
		{Classes: 7, Items: 2, Workers: 3, Labels: []Label{{2, 1, 6}}},
	} {
		cases = append(cases, tc{fmt.Sprintf("degenerate-%d", n), &d, Config{}})
	}
	defer func(b, s int) { dsGatherBytes, dsMinShare = b, s }(dsGatherBytes, dsMinShare)
	dsMinShare = 64 // split even small fits among goroutines
	for _, c := range cases {
		want, err := dawidSkeneRef(c.d, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []struct {
			name  string
			bytes int
		}{{"gather", math.MaxInt}, {"scatter", 0}} {
			for _, par := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%s/parallelism=%d", c.name, m.name, par), func(t *testing.T) {
					dsGatherBytes = m.bytes
					cfg := c.cfg
					cfg.Parallelism = par
					got, err := DawidSkene(c.d, cfg)
					if err != nil {
						t.Fatal(err)
					}
					if diff := sameBits(got, want); diff != "" {
						t.Errorf("%s (iterations %d vs %d)", diff, got.Iterations, want.Iterations)
					}
				})
			}
		}
	}
}

// TestDawidSkeneSplit checks that a fit divides its work as documented: parts of about
// equal labels, covering every item and every row once.
func TestDawidSkeneSplit(t *testing.T) {
	c := loadCorpus(t, "adultcontent2")
	for _, par := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprint(par), func(t *testing.T) {
			e, err := newEM(&c.Dataset, Config{Parallelism: par})
			if err != nil {
				t.Fatal(err)
			}
			e.initMajority()
			f := newDSFit(e)
			want := min(par, len(c.Labels)/dsMinShare)
			if len(f.esegs) != want || len(f.rsegs) != want {
				t.Fatalf("%d E-step parts and %d row parts, want %d", len(f.esegs), len(f.rsegs), want)
			}
			items, labels := 0, 0
			for x, s := range f.esegs {
				if s.out != items || s.pos != labels {
					t.Fatalf("part %d starts at item %d, label %d; want %d, %d", x, s.out, s.pos, items, labels)
				}
				n := 0
				for _, g := range s.groups {
					items += g.items
					n += g.items * g.n
				}
				labels += n
				if d := n - len(c.Labels)/want; d > 64 || d < -64 {
					t.Errorf("part %d has %d labels, %d from an equal share", x, n, d)
				}
			}
			if items != f.labelled || labels != len(f.ecells) {
				t.Errorf("parts cover %d items and %d labels, want %d and %d", items, labels, f.labelled, len(f.ecells))
			}
			next := 0
			for _, r := range f.rsegs {
				if r[0] != next || r[1] <= r[0] {
					t.Fatalf("row parts %v", f.rsegs)
				}
				next = r[1]
			}
			if next != len(f.rowStart)-1 {
				t.Errorf("row parts end at %d, want %d", next, len(f.rowStart)-1)
			}
		})
	}
}
