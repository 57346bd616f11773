//go:build amd64 && !purego

package kern

// sgdAVX2 applies SGD to the first n elements (n a multiple of 8) with
// the arithmetic of sgdGo, eight lanes at a time: VMULPS, VADDPS and VSUBPS
// round exactly as the Go float32 operations do, and no FMA is used.
//
//go:noescape
func sgdAVX2(n int, w, grad, v *float32, lr, momentum, wd float32)

// adamWAVX2 applies AdamW to the first n elements (n a multiple of 8) with
// the arithmetic of adamWGo, eight lanes at a time, VSQRTPS (correctly
// rounded, as f32.Sqrt) and VDIVPS included. p points to the scalars.
//
//go:noescape
func adamWAVX2(n int, w, grad, m, v *float32, p *adamParams)

// sgd runs SGD with the AVX2 kernel on the largest multiple of 8 elements
// when the CPU has AVX2, and with the pure-Go kernel on the rest.
func sgd(w, g, v []float32, lr, momentum, wd float32) {
	n := 0
	if useAVX2 {
		n = len(w) &^ 7
	}
	if n > 0 {
		_, _ = g[n-1], v[n-1]
		sgdAVX2(n, &w[0], &g[0], &v[0], lr, momentum, wd)
	}
	sgdGo(w[n:], g[n:], v[n:], lr, momentum, wd)
}

// adamW runs AdamW with the AVX2 kernel on the largest multiple of 8
// elements when the CPU has AVX2, and with the pure-Go kernel on the rest.
func adamW(w, g, m, v []float32, p adamParams) {
	n := 0
	if useAVX2 {
		n = len(w) &^ 7
	}
	if n > 0 {
		_, _, _ = g[n-1], m[n-1], v[n-1]
		adamWAVX2(n, &w[0], &g[0], &m[0], &v[0], &p)
	}
	adamWGo(w[n:], g[n:], m[n:], v[n:], p)
}
