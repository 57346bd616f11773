//go:build amd64 && !purego

package kern

// reluAVX2 sets y[i] = x[i] > 0 ? x[i] : +0 for the first n elements (n a
// multiple of 8) with VMAXPS(x, +0), which returns its second operand, +0,
// unless x > 0: so -0 and NaN give +0, exactly as reluGo. Branch-free,
// unlike the Go loop, whose branch mispredicts on half of a layer's
// activations.
//
//go:noescape
func reluAVX2(n int, y, x *float32)

// reluGradAVX2 sets dx[i] = y[i] > 0 ? dy[i] : +0 for the first n elements
// (n a multiple of 8): VCMPPS (greater than, ordered, so a NaN y gives
// false) builds a mask that VANDPS applies to the bits of dy.
//
//go:noescape
func reluGradAVX2(n int, dx, dy, y *float32)

// relu runs ReLU with the AVX2 kernel on the largest multiple of 8
// elements when the CPU has AVX2, and with the pure-Go kernel on the rest.
func relu(y, x []float32) {
	n := 0
	if useAVX2 {
		n = len(y) &^ 7
	}
	if n > 0 {
		_ = x[n-1]
		reluAVX2(n, &y[0], &x[0])
	}
	reluGo(y[n:], x[n:])
}

// reluGrad runs ReLUGrad with the AVX2 kernel on the largest multiple of 8
// elements when the CPU has AVX2, and with the pure-Go kernel on the rest.
func reluGrad(dx, dy, y []float32) {
	n := 0
	if useAVX2 {
		n = len(dx) &^ 7
	}
	if n > 0 {
		_, _ = dy[n-1], y[n-1]
		reluGradAVX2(n, &dx[0], &dy[0], &y[0])
	}
	reluGradGo(dx[n:], dy[n:], y[n:])
}
