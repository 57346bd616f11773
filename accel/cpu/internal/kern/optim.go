package kern

import "github.com/deai-go/deai/internal/f32"

// SGD applies one step of stochastic gradient descent with momentum and
// (coupled) weight decay to every element i < len(w), in place:
//
//	gg   = g[i] + float32(wd*w[i])
//	v[i] = float32(momentum*v[i]) + gg
//	w[i] = w[i] - float32(lr*v[i])
//
// each product rounded to float32 before the sum. g and v must be at least
// as long as w. With momentum 0, v is simply the last gg.
func SGD(w, g, v []float32, lr, momentum, wd float32) {
	g, v = g[:len(w)], v[:len(w)]
	sgd(w, g, v, lr, momentum, wd)
}

// sgdGo is the pure-Go SGD kernel; len(g) and len(v) ≥ len(w).
func sgdGo(w, g, v []float32, lr, momentum, wd float32) {
	g, v = g[:len(w)], v[:len(w)]
	for i, wi := range w {
		gg := g[i] + float32(wd*wi)
		vi := float32(momentum*v[i]) + gg
		v[i] = vi
		w[i] = wi - float32(lr*vi)
	}
}

// AdamW applies one step of Adam with decoupled weight decay to every
// element i < len(w), in place. c1 = 1/(1-b1^t) and c2 = 1/(1-b2^t) are the
// bias corrections of step t ≥ 1, computed by the caller (AdamCorrections
// gives the canonical values). With ob1 = 1-b1 and ob2 = 1-b2 rounded to
// float32 once, and w the old weight:
//
//	m[i] = float32(b1*m[i]) + float32(ob1*g[i])
//	v[i] = float32(b2*v[i]) + float32(float32(ob2*g[i])*g[i])
//	mh   = float32(m[i]*c1)
//	vh   = float32(v[i]*c2)
//	u    = mh / (f32.Sqrt(vh) + eps)
//	w[i] = w - float32(lr*(u + float32(wd*w)))
//
// every operation rounded to float32, products before sums. g, m and v
// must be at least as long as w.
func AdamW(w, g, m, v []float32, lr, b1, b2, eps, wd, c1, c2 float32) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	adamW(w, g, m, v, adamParams{b1: b1, ob1: 1 - b1, b2: b2, ob2: 1 - b2, c1: c1, c2: c2, eps: eps, wd: wd, lr: lr})
}

// adamParams are the scalars of one AdamW step, in the order the assembly
// kernel reads them.
type adamParams struct {
	b1, ob1, b2, ob2, c1, c2, eps, wd, lr float32
}

// adamWGo is the pure-Go AdamW kernel; len(g), len(m) and len(v) ≥ len(w).
func adamWGo(w, g, m, v []float32, p adamParams) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	b1, ob1, b2, ob2, c1, c2, eps, wd, lr := p.b1, p.ob1, p.b2, p.ob2, p.c1, p.c2, p.eps, p.wd, p.lr
	for i, wi := range w {
		gi := g[i]
		mi := float32(b1*m[i]) + float32(ob1*gi)
		vi := float32(b2*v[i]) + float32(float32(ob2*gi)*gi)
		m[i], v[i] = mi, vi
		mh := float32(mi * c1)
		vh := float32(vi * c2)
		u := mh / (f32.Sqrt(vh) + eps)
		w[i] = wi - float32(lr*(u+float32(wd*wi)))
	}
}

// AdamCorrections returns the bias corrections of AdamW for step t ≥ 1,
// c1 = 1/(1-b1^t) and c2 = 1/(1-b2^t), with the powers computed as
// sequential float32 products from 1 (p = p*b, t times) and every
// operation rounded to float32. t ≤ 0 counts as 1. It costs t products:
// a caller stepping many times keeps p1 and p2 itself, multiplying them by
// b1 and b2 once per step, which gives the same bits.
func AdamCorrections(b1, b2 float32, t int) (c1, c2 float32) {
	p1, p2 := b1, b2
	for range t - 1 {
		p1 = float32(p1 * b1)
		p2 = float32(p2 * b2)
	}
	return 1 / (1 - p1), 1 / (1 - p2)
}
