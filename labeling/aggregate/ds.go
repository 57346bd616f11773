package aggregate

import (
	"math"
	"runtime"
	"sync"
)

// DawidSkene estimates every worker's confusion matrix and the class prior by EM (Dawid and
// Skene 1979) and labels each item with its most probable class (the lowest index among
// ties).
//
// Initialization: the posteriors are the majority-vote shares. Each iteration: the M-step
// sets prior[k] ∝ Smoothing + Σ_i post[i][k] and confusion[j][k][l] ∝ Smoothing +
// Σ_{labels (j, i, l)} post[i][k]; the E-step sets post[i][k] ∝ prior[k] ×
// Π_{labels (j, i, l)} confusion[j][k][l], multiplied in the order of d.Labels with exact
// power-of-two rescaling and no logarithms. It stops when the mean total variation distance
// between successive posteriors is at most cfg.Tolerance, or after cfg.MaxIterations. A
// worker's Skill is its estimated accuracy Σ_k prior[k] confusion[j][k][k]. Unlabelled items
// get the prior and label -1.
//
// Cost: one pass over the labels per iteration (the E-step of an item and the M-step counts
// it contributes are computed together), O(Workers·Classes²) per iteration for the
// normalization, no allocation after the start.
func DawidSkene(d *Dataset, cfg Config) (Result, error) {
	e, err := newEM(d, cfg)
	if err != nil {
		return Result{}, err
	}
	e.initMajority()
	return e.dawidSkene(), nil
}

// dsFit is the working state of one Dawid-Skene fit.
//
// Class vectors are padded to a stride P (2 for K ≤ 2, 4 for K ≤ 4, 5 for K = 5, K beyond)
// so that the common cases run in unrolled kernels with the vector in registers. The padding
// entries are exactly zero throughout (zero prior, zero confusion columns, zero counts), so
// they add nothing to any sum and multiply nothing into one: the results are the bits of the
// unpadded arithmetic.
//
// An iteration makes two passes over the labels, each in an order that keeps its sums in
// the documented order while its loops stay predictable:
//   - estep walks the labelled items grouped by label count (items with the same count run
//     back to back, so loop trip counts and rescale points repeat) and writes the new
//     posteriors; an item's posterior depends on no other item, so the order of items
//     changes no bit;
//   - the M-step sums, in item order, the change and the prior counts, and counts every
//     confusion row: Smoothing plus the posteriors of the row's labels' items, in item and
//     label order, as the plain M-step adds them. When the posteriors fit in cache
//     (Items·P·8 ≤ dsGatherBytes) it walks the rows and gathers the posteriors of each
//     row's items into registers (items, count); otherwise it walks the items once and
//     scatters each posterior into the rows of its labels (mpass), which keeps the
//     posteriors streaming and the Workers·K·P counts in cache. Both give the same bits.
//
// The kernels for P = 2, 4 and 5 reach the rows through array pointers laid out in visiting
// order (dsRows), so a label costs no index arithmetic and no bounds check.
type dsFit struct {
	e        *em
	K, P     int
	s        float64
	labelled int
	post     []float64 // Items × P, the current posteriors
	old      []float64 // Items × P, the previous ones (mpass copies post to old)
	prior    []float64 // P, normalized
	pcnt     []float64 // P, prior counts
	init     []float64 // P: Smoothing, padding 0
	unif     []float64 // P: the uniform distribution, padding 0
	tmp      []float64 // P scratch
	conf     []float64 // (Workers·K) × P: conf[(j*K+l)*P+k] = P(worker j says l | class k)
	order    []int32   // the labelled items i by ascending label count, then index, as offsets i·P
	groups   []dsGroup // runs of order with one label count
	ecells   []int32   // the rows r = j*K+l of the labels of order[0], order[1], …, as offsets r·P
	gather   bool      // the M-step gathers posteriors row by row (small data) instead of scattering them
	rowStart []int32   // gather: the labels of row r are rowItems[rowStart[r]:rowStart[r+1]]
	rowItems []int32   // gather: their items, ascending, as offsets i·P
	esegs    []dsSeg   // the E-step's share of each goroutine
	rsegs    [][2]int  // gather: the confusion rows [lo, hi) of each goroutine's count
	p2       *dsRows[[2]float64]
	p4       *dsRows[[4]float64]
	p5       *dsRows[[5]float64]
}

// dsGatherBytes is the largest posterior table (Items·P float64s, in bytes) for which the
// M-step gathers by row; tests change it to run both forms.
var dsGatherBytes = 1 << 20

// dsGroup is a run of items with n labels each.
type dsGroup struct{ n, items int }

// dsSeg is a contiguous part of the E-step's item sequence: groups, starting at item out of
// order and label pos of ecells.
type dsSeg struct {
	groups   []dsGroup
	out, pos int
}

// dsMinShare is the fewest labels worth a goroutine of their own; tests lower it.
var dsMinShare = 16384

// dawidSkene fits Dawid-Skene from the posteriors in e.post (the vote shares, or a warm
// start) and writes the final posteriors back to e.post.
func (e *em) dawidSkene() Result {
	f := newDSFit(e)
	f.mpass() // the first M-step, from the initial posteriors
	f.mstep()
	iters, conv := 0, false
	for iters < e.cfg.MaxIterations {
		f.estep()
		sum := f.mpass()
		f.mstep()
		iters++
		change := 0.0
		if f.labelled > 0 {
			change = sum / float64(2*f.labelled)
		}
		if change <= e.cfg.Tolerance {
			conv = true
			break
		}
	}
	K, P := f.K, f.P
	for i := 0; i < e.d.Items; i++ {
		copy(e.post[i*K:(i+1)*K], f.post[i*P:i*P+K])
	}
	return e.result(iters, conv, f.skill())
}

func newDSFit(e *em) *dsFit {
	K, items := e.d.Classes, e.d.Items
	P := K
	switch {
	case K <= 2:
		P = 2
	case K <= 4:
		P = 4
	}
	f := &dsFit{e: e, K: K, P: P, s: e.cfg.Smoothing,
		post: make([]float64, items*P), old: make([]float64, items*P),
		prior: make([]float64, P), pcnt: make([]float64, P), init: make([]float64, P),
		unif: make([]float64, P), tmp: make([]float64, P),
		conf:   make([]float64, e.d.Workers*K*P),
		ecells: make([]int32, 0, len(e.cells))}
	for k := range K {
		f.init[k], f.unif[k] = f.s, 1/float64(K)
	}
	for i := 0; i < items; i++ {
		copy(f.post[i*P:i*P+K], e.post[i*K:(i+1)*K])
	}
	copy(f.old, f.post)
	// The E-step order: a counting sort of the labelled items by label count, stable.
	count := func(i int32) int { return e.start[i+1] - e.start[i] }
	most := 0
	for i := range int32(items) {
		most = max(most, count(i))
	}
	byCount := make([]int32, most+2)
	for i := range int32(items) {
		byCount[count(i)+1]++
	}
	for n := 1; n < len(byCount); n++ {
		byCount[n] += byCount[n-1]
	}
	unlabelled := byCount[1]
	f.labelled = items - int(unlabelled)
	f.order = make([]int32, f.labelled)
	for i := range int32(items) {
		if n := count(i); n > 0 {
			f.order[byCount[n]-unlabelled] = i
			byCount[n]++
		}
	}
	for x, i := range f.order {
		n := count(i)
		if g := len(f.groups) - 1; g >= 0 && f.groups[g].n == n {
			f.groups[g].items++
		} else {
			f.groups = append(f.groups, dsGroup{n: n, items: 1})
		}
		for _, c := range e.cells[e.start[i]:e.start[i+1]] {
			f.ecells = append(f.ecells, c*int32(P))
		}
		f.order[x] = i * int32(P)
	}
	f.gather = int64(items)*int64(P)*8 <= int64(dsGatherBytes)
	if f.gather { // a counting sort of the labels by row, stable in item order
		rows := e.d.Workers * K
		f.rowStart, f.rowItems = make([]int32, rows+1), make([]int32, len(e.cells))
		for _, c := range e.cells {
			f.rowStart[c+1]++
		}
		for r := 1; r <= rows; r++ {
			f.rowStart[r] += f.rowStart[r-1]
		}
		next := make([]int32, rows)
		copy(next, f.rowStart)
		for i := range items {
			for _, c := range e.cells[e.start[i]:e.start[i+1]] {
				f.rowItems[next[c]] = int32(i * P)
				next[c]++
			}
		}
	}
	f.split(e.cfg.Parallelism)
	switch P {
	case 2:
		f.p2 = newDSRows(f, func(b []float64, off int32) *[2]float64 { return (*[2]float64)(b[off:]) })
	case 4:
		f.p4 = newDSRows(f, func(b []float64, off int32) *[4]float64 { return (*[4]float64)(b[off:]) })
	case 5:
		f.p5 = newDSRows(f, func(b []float64, off int32) *[5]float64 { return (*[5]float64)(b[off:]) })
	}
	return f
}

// dsRows holds, for P = 2, 4 or 5 (A = [P]float64), the table rows that the kernels
// visit, as array pointers in visiting order.
type dsRows[A any] struct {
	econf []*A // the confusion row of every label, in estep order
	out   []*A // the posterior of every labelled item, in estep order
	mconf []*A // scatter: the confusion row of every label, in item order
	mpost []*A // gather: the posterior of every label's item, in row order
}

func newDSRows[A any](f *dsFit, at func(b []float64, off int32) *A) *dsRows[A] {
	r := &dsRows[A]{out: make([]*A, len(f.order))}
	for n, i := range f.order {
		r.out[n] = at(f.post, i)
	}
	if f.gather {
		r.mpost = make([]*A, len(f.rowItems))
		for n, i := range f.rowItems {
			r.mpost[n] = at(f.post, i)
		}
	} else {
		r.mconf = make([]*A, len(f.e.cells))
		for n, c := range f.e.cells {
			r.mconf[n] = at(f.conf, c*int32(f.P))
		}
	}
	identity := !f.gather && len(f.order) == f.e.d.Items
	for x, i := range f.order {
		identity = identity && int(i) == x*f.P
	}
	if identity {
		r.econf = r.mconf // the E-step order is the item order: share the rows
	} else {
		r.econf = make([]*A, len(f.ecells))
		for n, c := range f.ecells {
			r.econf[n] = at(f.conf, c)
		}
	}
	return r
}

// split divides the E-step's items and the gathering count's rows among up to par
// goroutines (0: GOMAXPROCS) in parts of about equal labels, at least dsMinShare each, or
// only P ≤ 5 (the generic kernels share scratch space and stay on one goroutine). Each
// goroutine writes its own items' posteriors or its own rows' counts: no sum is split.
func (f *dsFit) split(par int) {
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	par = max(1, min(par, len(f.ecells)/dsMinShare))
	if f.P != 2 && f.P != 4 && f.P != 5 {
		par = 1
	}
	total := len(f.ecells)
	f.esegs = []dsSeg{{}}
	out, pos := 0, 0
	for _, g := range f.groups {
		for range g.items {
			s := &f.esegs[len(f.esegs)-1]
			if len(f.esegs) < par && pos*par >= total*len(f.esegs) && len(s.groups) > 0 {
				f.esegs = append(f.esegs, dsSeg{out: out, pos: pos})
				s = &f.esegs[len(f.esegs)-1]
			}
			if n := len(s.groups); n > 0 && s.groups[n-1].n == g.n {
				s.groups[n-1].items++
			} else {
				s.groups = append(s.groups, dsGroup{n: g.n, items: 1})
			}
			out++
			pos += g.n
		}
	}
	if !f.gather {
		return
	}
	rows := len(f.rowStart) - 1
	f.rsegs = [][2]int{{0, rows}}
	for r := 0; r < rows && len(f.rsegs) < par; r++ {
		if int(f.rowStart[r])*par >= total*len(f.rsegs) && r > f.rsegs[len(f.rsegs)-1][0] {
			f.rsegs[len(f.rsegs)-1][1] = r
			f.rsegs = append(f.rsegs, [2]int{r, rows})
		}
	}
}

// each runs fn(0), …, fn(n-1), on n goroutines if n > 1, and returns when all have.
func each(n int, fn func(int)) {
	if n == 1 {
		fn(0)
		return
	}
	var wg sync.WaitGroup
	for x := range n {
		wg.Go(func() { fn(x) })
	}
	wg.Wait()
}

// estep writes the new posterior of every labelled item from the current parameters.
func (f *dsFit) estep() {
	switch f.P {
	case 2:
		each(len(f.esegs), func(x int) { f.estep2(f.esegs[x]) })
	case 4:
		each(len(f.esegs), func(x int) { f.estep4(f.esegs[x]) })
	case 5:
		each(len(f.esegs), func(x int) { f.estep5(f.esegs[x]) })
	default:
		f.estepK()
	}
}

// mpass runs the M-step's counting in item order: it gives the unlabelled items the
// normalized prior and, over the labelled items, sums the change Σ_k |post − old|, copies
// post to old, and counts the prior (Smoothing + Σ_i post[i]) and, in conf, every
// confusion row j*K+l (Smoothing + Σ_{labels (j, i, l)} post[i]). It returns the change sum.
func (f *dsFit) mpass() float64 {
	if f.gather {
		var sum float64
		switch f.P {
		case 2:
			sum = f.items2()
			each(len(f.rsegs), func(x int) { f.count2(f.rsegs[x][0], f.rsegs[x][1]) })
		case 4:
			sum = f.items4()
			each(len(f.rsegs), func(x int) { f.count4(f.rsegs[x][0], f.rsegs[x][1]) })
		case 5:
			sum = f.items5()
			each(len(f.rsegs), func(x int) { f.count5(f.rsegs[x][0], f.rsegs[x][1]) })
		default:
			sum = f.itemsK()
			f.countK()
		}
		return sum
	}
	switch f.P {
	case 2:
		return f.mpass2()
	case 4:
		return f.mpass4()
	case 5:
		return f.mpass5()
	}
	return f.mpassK()
}

// resetCounts sets the prior and confusion counts to their pseudo-counts (padding 0).
func (f *dsFit) resetCounts() {
	copy(f.pcnt, f.init)
	for r := 0; r < len(f.conf); r += f.P {
		copy(f.conf[r:r+f.P], f.init)
	}
}

// mpassK is mpass for any stride.
func (f *dsFit) mpassK() float64 {
	K, P, start := f.K, f.P, f.e.start
	f.resetCounts()
	u := f.tmp
	copy(u, f.prior)
	normalize(u[:K])
	pc := f.pcnt[:K]
	sum := 0.0
	for i := 0; i < f.e.d.Items; i++ {
		t := f.post[i*P : i*P+K]
		if start[i] == start[i+1] {
			copy(t, u[:K])
			continue
		}
		o := f.old[i*P : i*P+K]
		for k, v := range t {
			sum += math.Abs(v - o[k])
		}
		for k, v := range t {
			pc[k] += v
		}
		copy(o, t)
		for _, c := range f.e.cells[start[i]:start[i+1]] {
			w := f.conf[int(c)*P : int(c)*P+K]
			for k, v := range t {
				w[k] += v
			}
		}
	}
	return sum
}

// mpass5 is mpassK for P = 5 with the sums and the posterior in registers.
func (f *dsFit) mpass5() float64 {
	start, post, old, rows := f.e.start, f.post, f.old, f.p5.mconf
	f.resetCounts()
	u := f.tmp
	copy(u, f.prior)
	normalize(u[:f.K])
	u0, u1, u2, u3, u4 := u[0], u[1], u[2], u[3], u[4]
	in := (*[5]float64)(f.init)
	q0, q1, q2, q3, q4 := in[0], in[1], in[2], in[3], in[4]
	sum := 0.0
	for i := 0; i+1 < len(start); i++ {
		t := (*[5]float64)(post[i*5:])
		lo, hi := start[i], start[i+1]
		if lo == hi {
			t[0], t[1], t[2], t[3], t[4] = u0, u1, u2, u3, u4
			continue
		}
		o := (*[5]float64)(old[i*5:])
		t0, t1, t2, t3, t4 := t[0], t[1], t[2], t[3], t[4]
		sum += math.Abs(t0 - o[0])
		sum += math.Abs(t1 - o[1])
		sum += math.Abs(t2 - o[2])
		sum += math.Abs(t3 - o[3])
		sum += math.Abs(t4 - o[4])
		q0, q1, q2, q3, q4 = q0+t0, q1+t1, q2+t2, q3+t3, q4+t4
		o[0], o[1], o[2], o[3], o[4] = t0, t1, t2, t3, t4
		for _, w := range rows[lo:hi] {
			w[0] += t0
			w[1] += t1
			w[2] += t2
			w[3] += t3
			w[4] += t4
		}
	}
	q := (*[5]float64)(f.pcnt)
	q[0], q[1], q[2], q[3], q[4] = q0, q1, q2, q3, q4
	return sum
}

// mpass4 is mpass5 for P = 4.
func (f *dsFit) mpass4() float64 {
	start, post, old, rows := f.e.start, f.post, f.old, f.p4.mconf
	f.resetCounts()
	u := f.tmp
	copy(u, f.prior)
	normalize(u[:f.K])
	u0, u1, u2, u3 := u[0], u[1], u[2], u[3]
	in := (*[4]float64)(f.init)
	q0, q1, q2, q3 := in[0], in[1], in[2], in[3]
	sum := 0.0
	for i := 0; i+1 < len(start); i++ {
		t := (*[4]float64)(post[i*4:])
		lo, hi := start[i], start[i+1]
		if lo == hi {
			t[0], t[1], t[2], t[3] = u0, u1, u2, u3
			continue
		}
		o := (*[4]float64)(old[i*4:])
		t0, t1, t2, t3 := t[0], t[1], t[2], t[3]
		sum += math.Abs(t0 - o[0])
		sum += math.Abs(t1 - o[1])
		sum += math.Abs(t2 - o[2])
		sum += math.Abs(t3 - o[3])
		q0, q1, q2, q3 = q0+t0, q1+t1, q2+t2, q3+t3
		o[0], o[1], o[2], o[3] = t0, t1, t2, t3
		for _, w := range rows[lo:hi] {
			w[0] += t0
			w[1] += t1
			w[2] += t2
			w[3] += t3
		}
	}
	q := (*[4]float64)(f.pcnt)
	q[0], q[1], q[2], q[3] = q0, q1, q2, q3
	return sum
}

// mpass2 is mpass5 for P = 2.
func (f *dsFit) mpass2() float64 {
	start, post, old, rows := f.e.start, f.post, f.old, f.p2.mconf
	f.resetCounts()
	u := f.tmp
	copy(u, f.prior)
	normalize(u[:f.K])
	u0, u1 := u[0], u[1]
	in := (*[2]float64)(f.init)
	q0, q1 := in[0], in[1]
	sum := 0.0
	for i := 0; i+1 < len(start); i++ {
		t := (*[2]float64)(post[i*2:])
		lo, hi := start[i], start[i+1]
		if lo == hi {
			t[0], t[1] = u0, u1
			continue
		}
		o := (*[2]float64)(old[i*2:])
		t0, t1 := t[0], t[1]
		sum += math.Abs(t0 - o[0])
		sum += math.Abs(t1 - o[1])
		q0, q1 = q0+t0, q1+t1
		o[0], o[1] = t0, t1
		for _, w := range rows[lo:hi] {
			w[0] += t0
			w[1] += t1
		}
	}
	q := (*[2]float64)(f.pcnt)
	q[0], q[1] = q0, q1
	return sum
}

// itemsK is the item-order half of mpass for the gathering M-step, any stride.
func (f *dsFit) itemsK() float64 {
	K, P, start := f.K, f.P, f.e.start
	u := f.tmp
	copy(u, f.prior)
	normalize(u[:K])
	copy(f.pcnt, f.init)
	pc := f.pcnt[:K]
	sum := 0.0
	for i := 0; i < f.e.d.Items; i++ {
		t := f.post[i*P : i*P+K]
		if start[i] == start[i+1] {
			copy(t, u[:K])
			continue
		}
		o := f.old[i*P : i*P+K]
		for k, v := range t {
			sum += math.Abs(v - o[k])
		}
		for k, v := range t {
			pc[k] += v
		}
		copy(o, t)
	}
	return sum
}

// countK sets every row of conf to Smoothing plus the posteriors of its labels' items.
func (f *dsFit) countK() {
	P := f.P
	for r := 0; r+1 < len(f.rowStart); r++ {
		a := f.conf[r*P : (r+1)*P]
		copy(a, f.init)
		for _, i := range f.rowItems[f.rowStart[r]:f.rowStart[r+1]] {
			for k, v := range f.post[i : int(i)+P] {
				a[k] += v
			}
		}
	}
}

// items5 is items for P = 5, the sums in registers.
func (f *dsFit) items5() float64 {
	start, post, old := f.e.start, f.post, f.old
	u := f.tmp
	copy(u, f.prior)
	normalize(u[:f.K])
	u0, u1, u2, u3, u4 := u[0], u[1], u[2], u[3], u[4]
	in := (*[5]float64)(f.init)
	q0, q1, q2, q3, q4 := in[0], in[1], in[2], in[3], in[4]
	sum := 0.0
	for i := 0; i+1 < len(start); i++ {
		t := (*[5]float64)(post[i*5:])
		if start[i] == start[i+1] {
			t[0], t[1], t[2], t[3], t[4] = u0, u1, u2, u3, u4
			continue
		}
		o := (*[5]float64)(old[i*5:])
		t0, t1, t2, t3, t4 := t[0], t[1], t[2], t[3], t[4]
		sum += math.Abs(t0 - o[0])
		sum += math.Abs(t1 - o[1])
		sum += math.Abs(t2 - o[2])
		sum += math.Abs(t3 - o[3])
		sum += math.Abs(t4 - o[4])
		q0, q1, q2, q3, q4 = q0+t0, q1+t1, q2+t2, q3+t3, q4+t4
		o[0], o[1], o[2], o[3], o[4] = t0, t1, t2, t3, t4
	}
	q := (*[5]float64)(f.pcnt)
	q[0], q[1], q[2], q[3], q[4] = q0, q1, q2, q3, q4
	return sum
}

// items4 is items5 for P = 4.
func (f *dsFit) items4() float64 {
	start, post, old := f.e.start, f.post, f.old
	u := f.tmp
	copy(u, f.prior)
	normalize(u[:f.K])
	u0, u1, u2, u3 := u[0], u[1], u[2], u[3]
	in := (*[4]float64)(f.init)
	q0, q1, q2, q3 := in[0], in[1], in[2], in[3]
	sum := 0.0
	for i := 0; i+1 < len(start); i++ {
		t := (*[4]float64)(post[i*4:])
		if start[i] == start[i+1] {
			t[0], t[1], t[2], t[3] = u0, u1, u2, u3
			continue
		}
		o := (*[4]float64)(old[i*4:])
		t0, t1, t2, t3 := t[0], t[1], t[2], t[3]
		sum += math.Abs(t0 - o[0])
		sum += math.Abs(t1 - o[1])
		sum += math.Abs(t2 - o[2])
		sum += math.Abs(t3 - o[3])
		q0, q1, q2, q3 = q0+t0, q1+t1, q2+t2, q3+t3
		o[0], o[1], o[2], o[3] = t0, t1, t2, t3
	}
	q := (*[4]float64)(f.pcnt)
	q[0], q[1], q[2], q[3] = q0, q1, q2, q3
	return sum
}

// items2 is items5 for P = 2.
func (f *dsFit) items2() float64 {
	start, post, old := f.e.start, f.post, f.old
	u := f.tmp
	copy(u, f.prior)
	normalize(u[:f.K])
	u0, u1 := u[0], u[1]
	in := (*[2]float64)(f.init)
	q0, q1 := in[0], in[1]
	sum := 0.0
	for i := 0; i+1 < len(start); i++ {
		t := (*[2]float64)(post[i*2:])
		if start[i] == start[i+1] {
			t[0], t[1] = u0, u1
			continue
		}
		o := (*[2]float64)(old[i*2:])
		t0, t1 := t[0], t[1]
		sum += math.Abs(t0 - o[0])
		sum += math.Abs(t1 - o[1])
		q0, q1 = q0+t0, q1+t1
		o[0], o[1] = t0, t1
	}
	q := (*[2]float64)(f.pcnt)
	q[0], q[1] = q0, q1
	return sum
}

// count5 is countK for P = 5, the sums in registers.
func (f *dsFit) count5(lo, hi int) {
	conf, items, rs := f.conf, f.p5.mpost, f.rowStart
	in := (*[5]float64)(f.init)
	for r := lo; r < hi; r++ {
		a0, a1, a2, a3, a4 := in[0], in[1], in[2], in[3], in[4]
		for _, p := range items[rs[r]:rs[r+1]] {
			a0 += p[0]
			a1 += p[1]
			a2 += p[2]
			a3 += p[3]
			a4 += p[4]
		}
		w := (*[5]float64)(conf[r*5:])
		w[0], w[1], w[2], w[3], w[4] = a0, a1, a2, a3, a4
	}
}

// count4 is count5 for P = 4.
func (f *dsFit) count4(lo, hi int) {
	conf, items, rs := f.conf, f.p4.mpost, f.rowStart
	in := (*[4]float64)(f.init)
	for r := lo; r < hi; r++ {
		a0, a1, a2, a3 := in[0], in[1], in[2], in[3]
		for _, p := range items[rs[r]:rs[r+1]] {
			a0 += p[0]
			a1 += p[1]
			a2 += p[2]
			a3 += p[3]
		}
		w := (*[4]float64)(conf[r*4:])
		w[0], w[1], w[2], w[3] = a0, a1, a2, a3
	}
}

// count2 is count5 for P = 2.
func (f *dsFit) count2(lo, hi int) {
	conf, items, rs := f.conf, f.p2.mpost, f.rowStart
	in := (*[2]float64)(f.init)
	for r := lo; r < hi; r++ {
		a0, a1 := in[0], in[1]
		for _, p := range items[rs[r]:rs[r+1]] {
			a0 += p[0]
			a1 += p[1]
		}
		w := (*[2]float64)(conf[r*2:])
		w[0], w[1] = a0, a1
	}
}

// mstep turns the counts into parameters: the prior, and for every worker j and class k the
// distribution P(· | k) (the entries (j*K+l)*P+k over l).
func (f *dsFit) mstep() {
	K, P := f.K, f.P
	copy(f.prior, f.pcnt)
	normalize(f.prior[:K])
	if P == 5 {
		f.norm5()
		return
	}
	for base := 0; base < len(f.conf); base += K * P {
		m := f.conf[base : base+K*P]
		for k := range K {
			sum := 0.0
			for l := range K {
				sum += m[l*P+k]
			}
			for l := range K {
				m[l*P+k] /= sum
			}
		}
	}
}

// norm5 is mstep's normalization for K = P = 5: each column sum in the same order (the
// first term exactly as 0 + it), the same divisions.
func (f *dsFit) norm5() {
	for base := 0; base+25 <= len(f.conf); base += 25 {
		m := (*[25]float64)(f.conf[base:])
		s0 := m[0] + m[5] + m[10] + m[15] + m[20]
		s1 := m[1] + m[6] + m[11] + m[16] + m[21]
		s2 := m[2] + m[7] + m[12] + m[17] + m[22]
		s3 := m[3] + m[8] + m[13] + m[18] + m[23]
		s4 := m[4] + m[9] + m[14] + m[19] + m[24]
		for l := 0; l < 25; l += 5 {
			r := (*[5]float64)(m[l:])
			r[0], r[1], r[2], r[3], r[4] = r[0]/s0, r[1]/s1, r[2]/s2, r[3]/s3, r[4]/s4
		}
	}
}

// estepK writes the new posterior of every labelled item: prior × the confusion entries of
// its labels, multiplied in label order with a rescale check after every rescaleEvery
// factors, then normalized.
func (f *dsFit) estepK() {
	P, K := f.P, f.K
	t := f.tmp
	pos, oi := 0, 0
	for _, g := range f.groups {
		for range g.items {
			i := int(f.order[oi])
			oi++
			cs := f.ecells[pos : pos+g.n]
			pos += g.n
			copy(t, f.prior)
			for n, c := range cs {
				r := f.conf[c : int(c)+P]
				for k := range t {
					t[k] *= r[k]
				}
				if n%rescaleEvery == rescaleEvery-1 {
					rescale(t)
				}
			}
			normalize(t[:K])
			copy(f.post[i:i+P], t)
		}
	}
}

// estep5 is estepK for P = 5 with the class vector in registers: the same operations in
// the same order.
func (f *dsFit) estep5(seg dsSeg) {
	rows, outs := f.p5.econf[seg.pos:], f.p5.out[seg.out:]
	pr := (*[5]float64)(f.prior)
	p0, p1, p2, p3, p4 := pr[0], pr[1], pr[2], pr[3], pr[4]
	u := (*[5]float64)(f.unif)
	pos := 0
	for _, g := range seg.groups {
		for _, o := range outs[:g.items] {
			cs := rows[pos : pos+g.n]
			pos += g.n
			t0, t1, t2, t3, t4 := p0, p1, p2, p3, p4
			for len(cs) >= rescaleEvery {
				b := (*[rescaleEvery]*[5]float64)(cs)
				t0, t1, t2, t3, t4 = mul5(t0, t1, t2, t3, t4, b[0])
				t0, t1, t2, t3, t4 = mul5(t0, t1, t2, t3, t4, b[1])
				t0, t1, t2, t3, t4 = mul5(t0, t1, t2, t3, t4, b[2])
				t0, t1, t2, t3, t4 = mul5(t0, t1, t2, t3, t4, b[3])
				t0, t1, t2, t3, t4 = mul5(t0, t1, t2, t3, t4, b[4])
				t0, t1, t2, t3, t4 = mul5(t0, t1, t2, t3, t4, b[5])
				t0, t1, t2, t3, t4 = mul5(t0, t1, t2, t3, t4, b[6])
				t0, t1, t2, t3, t4 = mul5(t0, t1, t2, t3, t4, b[7])
				if max(max4(t0, t1, t2, t3), t4) < rescaleBelow {
					t0, t1, t2, t3, t4 = t0*rescaleBy, t1*rescaleBy, t2*rescaleBy, t3*rescaleBy, t4*rescaleBy
				}
				cs = cs[rescaleEvery:]
			}
			for _, r := range cs {
				t0, t1, t2, t3, t4 = mul5(t0, t1, t2, t3, t4, r)
			}
			if s := t0 + t1 + t2 + t3 + t4; s <= 0 {
				t0, t1, t2, t3, t4 = u[0], u[1], u[2], u[3], u[4]
			} else {
				inv := 1 / s
				t0, t1, t2, t3, t4 = t0*inv, t1*inv, t2*inv, t3*inv, t4*inv
			}
			o[0], o[1], o[2], o[3], o[4] = t0, t1, t2, t3, t4
		}
		outs = outs[g.items:]
	}
}

// mul5 returns the products t_k·r[k].
func mul5(t0, t1, t2, t3, t4 float64, r *[5]float64) (float64, float64, float64, float64, float64) {
	return t0 * r[0], t1 * r[1], t2 * r[2], t3 * r[3], t4 * r[4]
}

// estep4 is estep5 for P = 4.
func (f *dsFit) estep4(seg dsSeg) {
	rows, outs := f.p4.econf[seg.pos:], f.p4.out[seg.out:]
	pr := (*[4]float64)(f.prior)
	p0, p1, p2, p3 := pr[0], pr[1], pr[2], pr[3]
	u := (*[4]float64)(f.unif)
	pos := 0
	for _, g := range seg.groups {
		for _, o := range outs[:g.items] {
			cs := rows[pos : pos+g.n]
			pos += g.n
			t0, t1, t2, t3 := p0, p1, p2, p3
			for len(cs) >= rescaleEvery {
				b := (*[rescaleEvery]*[4]float64)(cs)
				t0, t1, t2, t3 = mul4(t0, t1, t2, t3, b[0])
				t0, t1, t2, t3 = mul4(t0, t1, t2, t3, b[1])
				t0, t1, t2, t3 = mul4(t0, t1, t2, t3, b[2])
				t0, t1, t2, t3 = mul4(t0, t1, t2, t3, b[3])
				t0, t1, t2, t3 = mul4(t0, t1, t2, t3, b[4])
				t0, t1, t2, t3 = mul4(t0, t1, t2, t3, b[5])
				t0, t1, t2, t3 = mul4(t0, t1, t2, t3, b[6])
				t0, t1, t2, t3 = mul4(t0, t1, t2, t3, b[7])
				if max4(t0, t1, t2, t3) < rescaleBelow {
					t0, t1, t2, t3 = t0*rescaleBy, t1*rescaleBy, t2*rescaleBy, t3*rescaleBy
				}
				cs = cs[rescaleEvery:]
			}
			for _, r := range cs {
				t0, t1, t2, t3 = mul4(t0, t1, t2, t3, r)
			}
			if s := t0 + t1 + t2 + t3; s <= 0 {
				t0, t1, t2, t3 = u[0], u[1], u[2], u[3]
			} else {
				inv := 1 / s
				t0, t1, t2, t3 = t0*inv, t1*inv, t2*inv, t3*inv
			}
			o[0], o[1], o[2], o[3] = t0, t1, t2, t3
		}
		outs = outs[g.items:]
	}
}

// mul4 returns the products t_k·r[k].
func mul4(t0, t1, t2, t3 float64, r *[4]float64) (float64, float64, float64, float64) {
	return t0 * r[0], t1 * r[1], t2 * r[2], t3 * r[3]
}

// estep2 is estep5 for P = 2.
func (f *dsFit) estep2(seg dsSeg) {
	rows, outs := f.p2.econf[seg.pos:], f.p2.out[seg.out:]
	pr := (*[2]float64)(f.prior)
	p0, p1 := pr[0], pr[1]
	u := (*[2]float64)(f.unif)
	pos := 0
	for _, g := range seg.groups {
		for _, o := range outs[:g.items] {
			cs := rows[pos : pos+g.n]
			pos += g.n
			t0, t1 := p0, p1
			for len(cs) >= rescaleEvery {
				b := (*[rescaleEvery]*[2]float64)(cs)
				t0, t1 = mul2(t0, t1, b[0])
				t0, t1 = mul2(t0, t1, b[1])
				t0, t1 = mul2(t0, t1, b[2])
				t0, t1 = mul2(t0, t1, b[3])
				t0, t1 = mul2(t0, t1, b[4])
				t0, t1 = mul2(t0, t1, b[5])
				t0, t1 = mul2(t0, t1, b[6])
				t0, t1 = mul2(t0, t1, b[7])
				if max(t0, t1) < rescaleBelow {
					t0, t1 = t0*rescaleBy, t1*rescaleBy
				}
				cs = cs[rescaleEvery:]
			}
			for _, r := range cs {
				t0, t1 = mul2(t0, t1, r)
			}
			if s := t0 + t1; s <= 0 {
				t0, t1 = u[0], u[1]
			} else {
				inv := 1 / s
				t0, t1 = t0*inv, t1*inv
			}
			o[0], o[1] = t0, t1
		}
		outs = outs[g.items:]
	}
}

// mul2 returns the products t_k·r[k].
func mul2(t0, t1 float64, r *[2]float64) (float64, float64) {
	return t0 * r[0], t1 * r[1]
}

// max4 returns the largest of four non-negative numbers (rescale's maximum).
func max4(a, b, c, d float64) float64 {
	if b > a {
		a = b
	}
	if c > a {
		a = c
	}
	if d > a {
		a = d
	}
	return a
}

// skill returns every worker's Σ_k prior[k] confusion[j][k][k].
func (f *dsFit) skill() []float64 {
	K, P := f.K, f.P
	out := make([]float64, f.e.d.Workers)
	for j := range out {
		acc := 0.0
		for k := range K {
			acc = float64(f.prior[k]*f.conf[(j*K+k)*P+k]) + acc
		}
		out[j] = acc
	}
	return out
}
