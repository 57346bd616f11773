package aggregate

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error of this package wraps one of them.
var (
	// ErrInvalidDataset: a Dataset names a worker, item or class outside its bounds, or
	// has no classes.
	ErrInvalidDataset = errors.New("aggregate: invalid dataset")
	// ErrInvalidConfig: a Config or SPRT fails validation.
	ErrInvalidConfig = errors.New("aggregate: invalid config")
	// ErrMalformed: a crowd data file does not parse.
	ErrMalformed = errors.New("aggregate: malformed input")
)

// Label is one answer: Worker said that Item belongs to Class. All three are dense indices
// (0 ≤ Worker < Dataset.Workers, and so on).
type Label struct {
	Worker, Item, Class int32
}

// Dataset is a set of labels over dense indices. The order of Labels matters only to the
// sequential spammer test; every aggregation result is independent of it except through
// floating-point summation order, which is the order of Labels (fixed, so results are
// reproducible bit for bit).
type Dataset struct {
	// Workers, Items and Classes are the numbers of workers, items and classes.
	Workers, Items, Classes int
	// Labels are the answers. A worker may label an item more than once; every label counts.
	Labels []Label
}

// Validate reports whether every label is within the dataset's bounds.
func (d *Dataset) Validate() error {
	if d.Classes < 1 {
		return fmt.Errorf("%w: %d classes", ErrInvalidDataset, d.Classes)
	}
	if d.Workers < 0 || d.Items < 0 {
		return fmt.Errorf("%w: %d workers, %d items", ErrInvalidDataset, d.Workers, d.Items)
	}
	for n, l := range d.Labels {
		if l.Worker < 0 || int(l.Worker) >= d.Workers || l.Item < 0 || int(l.Item) >= d.Items ||
			l.Class < 0 || int(l.Class) >= d.Classes {
			return fmt.Errorf("%w: label %d (worker %d, item %d, class %d) outside %d workers, %d items, %d classes",
				ErrInvalidDataset, n, l.Worker, l.Item, l.Class, d.Workers, d.Items, d.Classes)
		}
	}
	return nil
}

// Result is the outcome of an aggregation.
type Result struct {
	// Classes is the number of classes.
	Classes int
	// Labels holds the aggregated class of every item, or -1 for an item nobody labelled.
	Labels []int
	// Probs holds, for item i, the probability of class k at Probs[i*Classes+k]: the
	// posterior for the probabilistic methods, the (weighted) vote share for the voting
	// methods. An unlabelled item has the uniform distribution (DawidSkene and MACE: the
	// estimated class prior).
	Probs []float64
	// Skill holds every worker's estimated probability of answering correctly (see each
	// method for its estimate), or 0 for a worker with no labels.
	Skill []float64
	// Iterations is how many EM iterations ran (0 for the voting methods).
	Iterations int
	// Converged reports whether EM met its tolerance before the iteration cap (true for the
	// voting methods).
	Converged bool
}

// Prob returns the probability that item belongs to class.
func (r *Result) Prob(item, class int) float64 { return r.Probs[item*r.Classes+class] }

// argmax returns the index of the largest of p, the lowest index among exact ties, or -1 if
// every entry is zero. This is the package's one tie-breaking rule: the lowest class index
// wins.
func argmax(p []float64) int {
	best, bv := -1, 0.0
	for k, v := range p {
		if v > bv {
			best, bv = k, v
		}
	}
	return best
}

// byItem groups label indices by item: the labels of item i are idx[start[i]:start[i+1]],
// in the order of d.Labels.
func byItem(d *Dataset) (start []int, idx []int32) {
	start = make([]int, d.Items+1)
	for _, l := range d.Labels {
		start[l.Item+1]++
	}
	for i := 1; i <= d.Items; i++ {
		start[i] += start[i-1]
	}
	idx = make([]int32, len(d.Labels))
	next := make([]int, d.Items)
	copy(next, start[:d.Items])
	for n, l := range d.Labels {
		idx[next[l.Item]] = int32(n)
		next[l.Item]++
	}
	return start, idx
}

// Accuracy returns the fraction of items with a gold class (gold[i] ≥ 0) whose predicted
// class equals it, counting only items with at least one label (pred[i] ≥ 0), and that count.
// This is how crowd-kit and the published AdultContent2 figures measure accuracy.
func Accuracy(pred, gold []int) (acc float64, n int) {
	right := 0
	for i, g := range gold {
		if g < 0 || i >= len(pred) || pred[i] < 0 {
			continue
		}
		n++
		if pred[i] == g {
			right++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(right) / float64(n), n
}
