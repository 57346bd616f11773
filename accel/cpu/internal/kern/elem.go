package kern

import "github.com/deai-go/deai/internal/f32"

// Add sets z[i] = x[i] + y[i] for i < len(z). x and y must be at least as
// long as z; z may alias x or y.
func Add(z, x, y []float32) {
	x, y = x[:len(z)], y[:len(z)]
	for i := range z {
		z[i] = x[i] + y[i]
	}
}

// Scale sets y[i] = x[i]*s for i < len(y). x must be at least as long as y;
// y may alias x.
func Scale(y, x []float32, s float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] = float32(x[i] * s)
	}
}

// ReLU sets y[i] = x[i] if x[i] > 0, else +0, for i < len(y): negative
// values, both zeros and NaN all give +0. x must be at least as long as y;
// y may alias x.
func ReLU(y, x []float32) {
	relu(y, x[:len(y)])
}

// reluGo is the pure-Go ReLU kernel; len(x) ≥ len(y).
func reluGo(y, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = 0
		}
	}
}

// ReLUGrad sets dx[i] = dy[i] if y[i] > 0, else +0, for i < len(dx), where
// y is the output of ReLU. dy and y must be at least as long as dx; dx may
// alias dy.
func ReLUGrad(dx, dy, y []float32) {
	reluGrad(dx, dy[:len(dx)], y[:len(dx)])
}

// reluGradGo is the pure-Go ReLUGrad kernel; len(dy), len(y) ≥ len(dx).
func reluGradGo(dx, dy, y []float32) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// Tanh sets y[i] = f32.Tanh(x[i]) for i < len(y). x must be at least as
// long as y; y may alias x.
func Tanh(y, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] = f32.Tanh(v)
	}
}

// TanhGrad sets dx[i] = dy[i]*(1 - y[i]*y[i]) for i < len(dx), where y is
// the output of Tanh, with y[i]*y[i] rounded before the subtraction. dy and
// y must be at least as long as dx; dx may alias dy or y.
func TanhGrad(dx, dy, y []float32) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	for i, v := range y {
		dx[i] = float32(dy[i] * (1 - float32(v*v)))
	}
}

// BiasAdd adds b[j] in place to every element of channel j of x, an n×c×s
// tensor (s is the spatial size, 1 for dense layers):
// x[(i*c+j)*s+t] = x[(i*c+j)*s+t] + b[j]. len(x) ≥ n*c*s, len(b) ≥ c.
func BiasAdd(x, b []float32, n, c, s int) { BiasAddRows(x, b, c, s, 0, n*c) }

// BiasAddRows is BiasAdd on the rows [r0, r1) of s elements, row r = i*c+j
// holding channel j of sample i.
func BiasAddRows(x, b []float32, c, s, r0, r1 int) {
	if s == 1 { // dense layers: one value per row, the channel advancing with the row
		x, j := x[r0:r1], r0%c
		for r := range x {
			x[r] = x[r] + b[j]
			if j++; j == c {
				j = 0
			}
		}
		return
	}
	for r := r0; r < r1; r++ {
		row, bj := x[r*s:r*s+s], b[r%c]
		for t := range row {
			row[t] = row[t] + bj
		}
	}
}

// BiasGrad sets db[j] to the sum over channel j of dy, an n×c×s tensor:
// one fold from +0 over i ascending, then t ascending, of dy[(i*c+j)*s+t].
// len(db) ≥ c, len(dy) ≥ n*c*s.
func BiasGrad(db, dy []float32, n, c, s int) { BiasGradChannels(db, dy, n, c, s, 0, c) }

// BiasGradChannels is BiasGrad for the channels [j0, j1) only: every
// channel's sum is its own fold, so channels may be computed apart.
func BiasGradChannels(db, dy []float32, n, c, s, j0, j1 int) {
	clear(db[j0:j1])
	for i := range n { // sample-major, so that dense layers (s = 1) read dy in order
		for j := j0; j < j1; j++ {
			o := (i*c + j) * s
			acc := db[j]
			for _, v := range dy[o : o+s] {
				acc = acc + v
			}
			db[j] = acc
		}
	}
}
