package aggregate

// MajorityVote gives every item the class most of its labels name, the lowest class index
// among ties. Probs holds the vote shares; a worker's Skill is the fraction of its labels that
// agree with the majority.
func MajorityVote(d *Dataset) (Result, error) {
	if err := d.Validate(); err != nil {
		return Result{}, err
	}
	w := make([]float64, d.Workers)
	for i := range w {
		w[i] = 1
	}
	r := weightedVote(d, w)
	r.Skill = agreement(d, r.Labels)
	return r, nil
}

// Wawa is worker agreement with aggregate (crowd-kit's Wawa): a majority vote, then every
// worker weighted by its agreement with that vote (its Skill), then a weighted vote. Ties go
// to the lowest class index; a worker who never agrees has weight 0.
func Wawa(d *Dataset) (Result, error) {
	mv, err := MajorityVote(d)
	if err != nil {
		return Result{}, err
	}
	r := weightedVote(d, mv.Skill)
	r.Skill = mv.Skill
	return r, nil
}

// weightedVote sums weight[worker] per (item, class) in the order of d.Labels and normalizes.
func weightedVote(d *Dataset, weight []float64) Result {
	K := d.Classes
	r := Result{Classes: K, Labels: make([]int, d.Items), Probs: make([]float64, d.Items*K), Converged: true}
	for _, l := range d.Labels {
		r.Probs[int(l.Item)*K+int(l.Class)] += weight[l.Worker]
	}
	for i := 0; i < d.Items; i++ {
		p := r.Probs[i*K : (i+1)*K]
		r.Labels[i] = argmax(p)
		normalize(p)
	}
	return r
}

// normalize scales p to sum to 1; an all-zero p becomes uniform.
func normalize(p []float64) {
	s := 0.0
	for _, v := range p {
		s += v
	}
	if s <= 0 {
		for k := range p {
			p[k] = 1 / float64(len(p))
		}
		return
	}
	inv := 1 / s
	for k := range p {
		p[k] *= inv
	}
}

// agreement returns every worker's fraction of labels equal to labels[item] (0 for a worker
// with no labels).
func agreement(d *Dataset, labels []int) []float64 {
	agree := make([]float64, d.Workers)
	total := make([]float64, d.Workers)
	for _, l := range d.Labels {
		total[l.Worker]++
		if int(l.Class) == labels[l.Item] {
			agree[l.Worker]++
		}
	}
	for j := range agree {
		if total[j] > 0 {
			agree[j] /= total[j]
		}
	}
	return agree
}
