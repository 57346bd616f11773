package aggregate

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// crowd is a simulated campaign: items with true classes, workers with accuracies.
type crowd struct {
	truth    []int
	accuracy []float64 // per worker; spammers answer uniformly at random
	d        Dataset
}

// simulate draws items × perItem labels over K classes from workers whose accuracy is drawn
// uniformly from [lo, hi]; a wrong answer is uniform over the other classes.
func simulate(seed uint64, items, workers, perItem, K int, lo, hi float64) *crowd {
	r := rand.New(rand.NewPCG(seed, 0xc20d))
	c := &crowd{truth: make([]int, items), accuracy: make([]float64, workers)}
	for i := range c.truth {
		c.truth[i] = r.IntN(K)
	}
	for j := range c.accuracy {
		c.accuracy[j] = lo + (hi-lo)*r.Float64()
	}
	c.d = Dataset{Workers: workers, Items: items, Classes: K, Labels: make([]Label, 0, items*perItem)}
	for i := range items {
		for range perItem {
			j := r.IntN(workers)
			c.d.Labels = append(c.d.Labels, Label{Worker: int32(j), Item: int32(i), Class: int32(answer(r, c.truth[i], K, c.accuracy[j]))})
		}
	}
	return c
}

func answer(r *rand.Rand, truth, K int, acc float64) int {
	if r.Float64() < acc {
		return truth
	}
	a := r.IntN(K - 1)
	if a >= truth {
		a++
	}
	return a
}

// TestSimulatedSkill checks that every method recovers the true classes of a simulated crowd
// better than chance and that Dawid-Skene's skill estimates track the true accuracies.
func TestSimulatedSkill(t *testing.T) {
	c := simulate(1, 2000, 100, 5, 4, 0.4, 0.95)
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			r, err := m.run(&c.d)
			if err != nil {
				t.Fatal(err)
			}
			acc, _ := Accuracy(r.Labels, c.truth)
			t.Logf("accuracy %.4f", acc)
			if acc < 0.85 {
				t.Errorf("accuracy %.4f < 0.85", acc)
			}
			if m.name != "DawidSkene" {
				return
			}
			worst, mean := 0.0, 0.0
			for j, s := range r.Skill {
				worst = max(worst, abs(s-c.accuracy[j]))
				mean += abs(s-c.accuracy[j]) / float64(len(r.Skill))
			}
			t.Logf("skill error: mean %.3f, largest %.3f (about 100 labels per worker)", mean, worst)
			if mean > 0.05 || worst > 0.2 {
				t.Errorf("skill error: mean %.3f > 0.05 or largest %.3f > 0.2", mean, worst)
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestSpammerDetection is the spammer test: 5,000 workers, 20% spammers (half answer
// uniformly at random, half always give the same class), 4 balanced classes, honest gold
// accuracy uniform in [0.75, 0.95], a quarter of the items gold, up to 200 labels each.
// Wald's test with the default SPRT must flag ≥ 99% of the spammers, with a median of ≤ 60
// labels each, and flag ≤ 0.5% of the honest workers.
func TestSpammerDetection(t *testing.T) {
	const (
		workers   = 5000
		K         = 4
		goldShare = 0.25
		maxLabels = 200
	)
	s := SPRT{}.EnsureDefaults()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 0x5a4d))
	var spamFlagged, spammers, honestFlagged, honest int
	var when []int
	for j := range workers {
		spammer := j%5 == 0
		constant := spammer && j%10 == 0
		acc := 0.75 + 0.2*r.Float64()
		fixed := r.IntN(K)
		var test Test
		for n := 1; n <= maxLabels && test.Verdict == Pending; n++ {
			if r.Float64() >= goldShare {
				continue // a label on an ordinary item: no gold answer to judge
			}
			truth := r.IntN(K)
			var a int
			switch {
			case constant:
				a = fixed
			case spammer:
				a = r.IntN(K)
			default:
				a = answer(r, truth, K, acc)
			}
			test = s.Observe(test, a == truth)
			if test.Verdict == Spammer && spammer {
				when = append(when, n)
			}
		}
		if spammer {
			spammers++
			if test.Verdict == Spammer {
				spamFlagged++
			}
		} else {
			honest++
			if test.Verdict == Spammer {
				honestFlagged++
			}
		}
	}
	slices.Sort(when)
	median := when[len(when)/2]
	flagged := float64(spamFlagged) / float64(spammers)
	falseAlarms := float64(honestFlagged) / float64(honest)
	t.Logf("spammers flagged %d/%d (%.2f%%), median %d labels; honest flagged %d/%d (%.2f%%)",
		spamFlagged, spammers, 100*flagged, median, honestFlagged, honest, 100*falseAlarms)
	if flagged < 0.99 {
		t.Errorf("flagged %.4f of spammers, want ≥ 0.99", flagged)
	}
	if median > 60 {
		t.Errorf("median %d labels to flag a spammer, want ≤ 60", median)
	}
	if falseAlarms > 0.005 {
		t.Errorf("flagged %.4f of honest workers, want ≤ 0.005", falseAlarms)
	}
}

func TestSPRT(t *testing.T) {
	s := SPRT{}.EnsureDefaults()
	for _, tc := range []struct {
		name    string
		answers string // r right, w wrong
		want    Verdict
	}{
		{"fresh", "", Pending},
		{"all right", "rrrrrrrrrr", Honest},
		{"all wrong", "wwwwwwwwww", Spammer},
		{"one wrong", "w", Pending},
		{"stops at the verdict", "wwwwwwwwwwrrrrrrrrrrrrrrrrrrrr", Spammer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var x Test
			for _, c := range tc.answers {
				x = s.Observe(x, c == 'r')
			}
			if x.Verdict != tc.want {
				t.Errorf("verdict %v, want %v (ratio %v)", x.Verdict, tc.want, x.Ratio)
			}
		})
	}
	bad := []SPRT{
		{Honest: 0.5, Spammer: 0.6, FalseAlarm: 0.01, Miss: 0.01},
		{Honest: 1, Spammer: 0.5, FalseAlarm: 0.01, Miss: 0.01},
		{Honest: 0.8, Spammer: 0.5, FalseAlarm: 0.6, Miss: 0.01},
		{Honest: 0.8, Spammer: 0.5, FalseAlarm: 0.01, Miss: -1},
	}
	for _, b := range bad {
		if err := b.Validate(); err == nil {
			t.Errorf("%+v validated", b)
		}
	}
}

// TestOnline adds labels one at a time with periodic warm refits and checks that the final
// fit agrees with a batch fit and that warm refits need fewer iterations.
func TestOnline(t *testing.T) {
	c := simulate(3, 500, 40, 5, 3, 0.5, 0.95)
	o, err := NewOnline(3, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var last Result
	for n, l := range c.d.Labels {
		if err := o.Add(l); err != nil {
			t.Fatal(err)
		}
		if (n+1)%700 == 0 { // the last 200 labels arrive after the last refit
			if last, err = o.DawidSkene(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := o.Add(Label{Worker: 0, Item: 0, Class: 3}); err == nil {
		t.Error("class out of range accepted")
	}
	if o.Len() != len(c.d.Labels) {
		t.Fatalf("Len %d, want %d", o.Len(), len(c.d.Labels))
	}
	cold, err := DawidSkene(&c.d, Config{})
	if err != nil {
		t.Fatal(err)
	}
	warm, err := o.DawidSkene()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cold fit %d iterations, warm refit %d (previous refit %d)", cold.Iterations, warm.Iterations, last.Iterations)
	if warm.Iterations >= cold.Iterations {
		t.Errorf("warm refit took %d iterations, cold %d", warm.Iterations, cold.Iterations)
	}
	differ := 0
	for i := range cold.Labels {
		if cold.Labels[i] != warm.Labels[i] {
			differ++
		}
	}
	if differ > len(cold.Labels)/100 {
		t.Errorf("%d of %d labels differ between warm and cold fits", differ, len(cold.Labels))
	}
	mv, err := MajorityVote(&c.d)
	if err != nil {
		t.Fatal(err)
	}
	for i := range mv.Labels {
		if got := o.Majority(i); got != mv.Labels[i] {
			t.Fatalf("item %d: online majority %d, batch %d", i, got, mv.Labels[i])
		}
	}
	if o.Majority(-1) != -1 || o.Majority(1<<20) != -1 {
		t.Error("majority of an unknown item is not -1")
	}
}
