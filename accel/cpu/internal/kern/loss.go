package kern

import (
	"fmt"

	"github.com/deai-go/deai/internal/f32"
)

// SoftmaxXent computes the softmax of every row of logits (n×k) into probs
// (n×k) and returns the mean cross-entropy against labels. For each row,
// with x its logits:
//
//	m    = x[0], replaced in j order by x[j] whenever x[j] > m (first maximum)
//	e[j] = f32.Exp(x[j] - m)
//	s    = fold from +0 of e[j], j ascending
//	p[j] = e[j] / s
//	row  = f32.Log(s) - (x[label] - m)
//
// and the result is (fold from +0 of row over rows ascending) / float32(n),
// every operation rounded to float32. A NaN anywhere in a row makes that
// row's probabilities and the loss NaN. n = 0 returns +0.
//
// Preconditions, which CheckLabels verifies for labels: k ≥ 1,
// 0 ≤ labels[i] < k, len(logits), len(probs) ≥ n*k, len(labels) ≥ n.
// probs may alias logits.
func SoftmaxXent(probs, logits []float32, labels []int32, n, k int) float32 {
	if n <= 0 {
		return 0
	}
	return SoftmaxXentRows(probs, logits, labels, n, k, 0) / float32(n)
}

// SoftmaxXentRows is SoftmaxXent without the final division: it continues the running total
// of the row losses from total over rows rows (the fold SoftmaxXent starts from +0) and returns
// it, so that a referee recomputes a range of rows on its own.
func SoftmaxXentRows(probs, logits []float32, labels []int32, rows, k int, total float32) float32 {
	for i := range rows {
		x, p := logits[i*k:i*k+k], probs[i*k:i*k+k]
		m := x[0]
		for _, v := range x {
			if v > m {
				m = v
			}
		}
		d := x[labels[i]] - m // read before p overwrites an aliased x
		var s float32
		for j, v := range x {
			e := f32.Exp(v - m)
			p[j] = e
			s = s + e
		}
		for j := range p {
			p[j] = p[j] / s
		}
		total = total + (f32.Log(s) - d)
	}
	return total
}

// SoftmaxXentGrad computes the gradient of the loss of SoftmaxXent with
// respect to the logits from its probabilities:
//
//	dlogits[i*k+j] = (probs[i*k+j] - t) / float32(n),  t = 1 if j == labels[i], else 0
//
// with the subtraction rounded to float32 before the correctly rounded
// division. Same preconditions as SoftmaxXent; dlogits may alias probs.
func SoftmaxXentGrad(dlogits, probs []float32, labels []int32, n, k int) {
	fn := float32(n)
	for i := range n {
		p, d := probs[i*k:i*k+k], dlogits[i*k:i*k+k]
		lab := int(labels[i])
		for j, v := range p {
			var t float32
			if j == lab {
				t = 1
			}
			d[j] = (v - t) / fn
		}
	}
}

// CheckLabels returns an error wrapping ErrShape unless k ≥ 1,
// len(labels) ≥ n and every one of the first n labels is in [0, k).
func CheckLabels(labels []int32, n, k int) error {
	if k < 1 || n < 0 || len(labels) < n {
		return fmt.Errorf("%w: softmax: %d labels for n=%d k=%d", ErrShape, len(labels), n, k)
	}
	for i, l := range labels[:n] {
		if l < 0 || int(l) >= k {
			return fmt.Errorf("%w: softmax: label %d of row %d not in [0, %d)", ErrShape, l, i, k)
		}
	}
	return nil
}
