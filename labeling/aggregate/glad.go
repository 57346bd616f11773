package aggregate

import "math"

// GLAD is generative labels, abilities and difficulties (Whitehill et al. 2009), fitted by
// EM: worker j answers item i correctly with probability σ(α_j·β_i), where α_j is the
// worker's ability and β_i = exp(b_i) > 0 the item's inverse difficulty; a wrong answer is
// uniform over the other classes.
//
// Initialization: the posteriors are the majority-vote shares, α_j = 1, b_i = 0. Each
// iteration: the M-step sets the class prior as DawidSkene does and moves α and b by
// gladSteps steps of gradient ascent on the expected log-likelihood plus Gaussian priors
// α_j ~ N(1, 1/λ), b_i ~ N(0, 1/λ) (λ = gladPrior = 10), each step the gradient divided by
// (the parameter's labels + λ), a Newton-like scale that keeps the steps stable; the E-step
// sets post[i][k] ∝ prior[k] × Π_{labels (j, i, l)} (σ(α_j β_i) if l = k, else
// (1 − σ(α_j β_i))/(K − 1)), with exact rescaling after every factor. Stopping as in
// DawidSkene. A worker's Skill is σ(α_j), its accuracy on an item of average difficulty.
//
// The exponential is the package's own (exp, below), built from exact operations with
// every product rounded before the addition, so results are the same bits on every
// architecture; all sums run in the order of d.Labels.
func GLAD(d *Dataset, cfg Config) (Result, error) {
	e, err := newEM(d, cfg)
	if err != nil {
		return Result{}, err
	}
	e.initMajority()
	K := d.Classes
	alpha := make([]float64, d.Workers)
	b := make([]float64, d.Items)
	beta := make([]float64, d.Items)
	ga := make([]float64, d.Workers)
	gb := make([]float64, d.Items)
	na := make([]float64, d.Workers)
	nb := make([]float64, d.Items)
	prior := make([]float64, K)
	for j := range alpha {
		alpha[j] = 1
	}
	for _, l := range d.Labels {
		na[l.Worker]++
		nb[l.Item]++
	}
	wrongShare := 1.0
	if K > 1 {
		wrongShare = 1 / float64(K-1)
	}
	mstep := func() {
		s := e.cfg.Smoothing
		for k := range prior {
			prior[k] = s
		}
		for i := 0; i < d.Items; i++ {
			if e.start[i] == e.start[i+1] {
				continue
			}
			for k := range K {
				prior[k] += e.post[i*K+k]
			}
		}
		normalize(prior)
		for range gladSteps {
			for i := range beta {
				beta[i] = exp(b[i])
			}
			clear(ga)
			clear(gb)
			for _, l := range d.Labels {
				j, i := int(l.Worker), int(l.Item)
				sg := sigmoid(float64(alpha[j] * beta[i]))
				r := e.post[i*K+int(l.Class)] - sg // P(correct) − σ
				ga[j] = float64(r*beta[i]) + ga[j]
				gb[i] = float64(float64(r*alpha[j])*beta[i]) + gb[i]
			}
			for j := range alpha {
				alpha[j] += (ga[j] - float64(gladPrior*(alpha[j]-1))) / (na[j] + gladPrior)
			}
			for i := range b {
				b[i] += (gb[i] - float64(gladPrior*b[i])) / (nb[i] + gladPrior)
			}
		}
		for i := range beta {
			beta[i] = exp(b[i])
		}
	}
	estep := func() {
		for i := 0; i < d.Items; i++ {
			t := e.post[i*K : (i+1)*K]
			copy(t, prior)
			for _, c := range e.cells[e.start[i]:e.start[i+1]] {
				j, l := int(c)/K, int(c)%K
				sg := sigmoid(float64(alpha[j] * beta[i]))
				wrong := float64((1 - sg) * wrongShare)
				for k := range t {
					if k == l {
						t[k] *= sg
					} else {
						t[k] *= wrong
					}
				}
				rescale(t)
			}
			normalize(t)
		}
	}
	iters, conv := e.run(mstep, estep)
	skill := make([]float64, d.Workers)
	for j := range skill {
		if na[j] > 0 {
			skill[j] = sigmoid(alpha[j])
		}
	}
	return e.result(iters, conv, skill), nil
}

// gladSteps is the number of gradient steps in each GLAD M-step, gladPrior the precision λ of
// the Gaussian priors α_j ~ N(1, 1/λ) and b_i ~ N(0, 1/λ).
const (
	gladSteps = 5
	gladPrior = 10.0
)

// sigmoid returns 1/(1 + e^−x), kept off 0 and 1 by 2^-40 so that no factor of a product
// vanishes (rescale keeps the products in range).
func sigmoid(x float64) float64 {
	const lo, hi = 0x1p-40, 1 - 0x1p-40
	x = max(-60, min(60, x))
	return max(lo, min(hi, 1/(1+exp(-x))))
}

// exp returns e^x for |x| ≤ 700, to a few ulps, the same bits on every architecture:
// x = k·ln2 + r with |r| ≤ ln2/2 (Cody-Waite, every product rounded), e^r by its Taylor
// polynomial of degree 13 in Horner form with every product rounded before the addition,
// and the exact scaling by 2^k. (math.Exp differs between amd64 and arm64.)
func exp(x float64) float64 {
	const (
		invLn2 = 1.44269504088896338700e+00
		ln2Hi  = 6.93147180369123816490e-01
		ln2Lo  = 1.90821492927058770002e-10
	)
	x = max(-700, min(700, x))
	k := math.Floor(float64(x*invLn2) + 0.5)
	r := x - float64(k*ln2Hi)
	r -= float64(k * ln2Lo)
	p := 1.0 / 6227020800 // 1/13!
	for _, c := range [...]float64{1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320,
		1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1, 1} {
		p = float64(p*r) + c
	}
	return math.Ldexp(p, int(k))
}
