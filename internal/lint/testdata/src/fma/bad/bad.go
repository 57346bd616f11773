package bad

// Weight is a named float type; its conversion is Weight(...).
type Weight float32

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i] // want "write float32(a[i] * b[i])"
	}
	return s
}

func axpy(a, x, y float64) float64 {
	return a*x + y // want "write float64(a * x)"
}

func msub(a, x, y float32) float32 {
	return y - a*x // want "multiply-add"
}

func paren(a, x, y float32) float32 {
	return (a * x) - y // want "multiply-add"
}

func negated(a, x, y float64) float64 {
	return -(a * x) + y // want "multiply-add"
}

func subAssign(a, x, y float64) float64 {
	y -= a * x // want "multiply-add"
	return y
}

func named(a, x, y Weight) Weight {
	return a*x + y // want "write Weight(a * x)"
}

func viaVar(a, x, y float64) float64 {
	t := a * x // want "across statements"
	return t + y
}

func mulAssign(a, x, y float32) float32 {
	a *= x // want "across statements"
	a += y
	return a
}

func varDecl(a, x, y float32) float32 {
	var t = a * x // want "across statements"
	return y - t
}

func accumulate(a, x []float32) float32 {
	var s float32
	for i := range a {
		t := a[i] * x[i] // want "across statements"
		s += t
	}
	return s
}

func scale(a, x float32) float32 {
	return a * x // want "inlining"
}

func add(a, b float32) float32 { return a + b }

func callArg(a, x, y float32) float32 {
	return add(a*x, y) // want "inlining"
}

func closure(a, y float32) func() float32 {
	return func() float32 { return 2*a + y } // want "multiply-add"
}
