package aggregate

import "fmt"

// Online aggregates the labels of a live campaign as they arrive: Add is O(classes), the
// running majority vote of an item is always at hand, and DawidSkene refits warm, starting
// from the previous fit's posteriors (majority-vote shares for items new since), so a refit
// after a few more labels takes a few iterations instead of a full run. Workers and items
// may appear at any time; the number of classes is fixed. Results depend only on the
// sequence of labels added. An Online is not safe for concurrent use.
type Online struct {
	cfg   Config
	d     Dataset
	votes []float64 // Items × Classes label counts
	post  []float64 // the last fit's posteriors (may cover fewer items than d)
	fit   []bool    // whether post covers item i and item i had labels then
}

// NewOnline returns an empty Online for classes classes; cfg tunes the refits.
func NewOnline(classes int, cfg Config) (*Online, error) {
	if classes < 1 {
		return nil, fmt.Errorf("%w: %d classes", ErrInvalidDataset, classes)
	}
	cfg = cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Online{cfg: cfg, d: Dataset{Classes: classes}}, nil
}

// Add records one label. Worker and item indices may exceed those seen so far (the dataset
// grows); a negative index or a class out of range is an error and changes nothing.
func (o *Online) Add(l Label) error {
	if l.Worker < 0 || l.Item < 0 || l.Class < 0 || int(l.Class) >= o.d.Classes {
		return fmt.Errorf("%w: label (worker %d, item %d, class %d) with %d classes",
			ErrInvalidDataset, l.Worker, l.Item, l.Class, o.d.Classes)
	}
	o.d.Workers = max(o.d.Workers, int(l.Worker)+1)
	if int(l.Item) >= o.d.Items {
		o.d.Items = int(l.Item) + 1
		o.votes = append(o.votes, make([]float64, o.d.Items*o.d.Classes-len(o.votes))...)
	}
	o.d.Labels = append(o.d.Labels, l)
	o.votes[int(l.Item)*o.d.Classes+int(l.Class)]++
	return nil
}

// Len returns the number of labels added.
func (o *Online) Len() int { return len(o.d.Labels) }

// Majority returns item's majority-vote class (the lowest index among ties), or -1 if the
// item has no labels.
func (o *Online) Majority(item int) int {
	if item < 0 || item >= o.d.Items {
		return -1
	}
	return argmax(o.votes[item*o.d.Classes : (item+1)*o.d.Classes])
}

// Dataset returns the labels added so far (the Online keeps it; do not modify it).
func (o *Online) Dataset() *Dataset { return &o.d }

// DawidSkene refits Dawid-Skene (see the function DawidSkene) to every label added so far,
// warm-started: items covered by the previous fit start from its posteriors, the others
// from their majority-vote shares.
func (o *Online) DawidSkene() (Result, error) {
	e, err := newEM(&o.d, o.cfg)
	if err != nil {
		return Result{}, err
	}
	e.initMajority()
	K := o.d.Classes
	for i, ok := range o.fit {
		if ok {
			copy(e.post[i*K:(i+1)*K], o.post[i*K:(i+1)*K])
		}
	}
	r := e.dawidSkene()
	o.post = append(o.post[:0], e.post...)
	o.fit = o.fit[:0]
	for i := 0; i < o.d.Items; i++ {
		o.fit = append(o.fit, e.start[i] < e.start[i+1])
	}
	return r, nil
}
