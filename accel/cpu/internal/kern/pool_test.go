package kern

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

var poolShapes = []PoolShape{
	{N: 1, C: 1, H: 1, W: 1, KH: 1, KW: 1, SH: 1, SW: 1},
	{N: 2, C: 3, H: 4, W: 4, KH: 2, KW: 2, SH: 2, SW: 2},
	{N: 1, C: 2, H: 5, W: 7, KH: 3, KW: 2, SH: 1, SW: 2}, // overlapping rows
	{N: 2, C: 1, H: 6, W: 6, KH: 3, KW: 3, SH: 2, SW: 2}, // overlapping, truncated
	{N: 1, C: 1, H: 3, W: 5, KH: 3, KW: 5, SH: 1, SW: 1}, // global
}

// poolWindow calls fn with the index in x of every element of the window
// of output (nc, oy, ox) in scan order.
func poolWindow(s PoolShape, nc, oy, ox int, fn func(i int)) {
	for ky := range s.KH {
		for kx := range s.KW {
			fn((nc*s.H+oy*s.SH+ky)*s.W + ox*s.SW + kx)
		}
	}
}

// poolNaive returns the max and average pools and their gradients for dy,
// in the documented order, and the float64 references of the forward pools.
func poolNaive(x, dy []float32, s PoolShape) (mx, avg, dmx, davg []float32, mx64, avg64 []float64) {
	oh, ow := s.OH(), s.OW()
	mx, avg = make([]float32, s.YLen()), make([]float32, s.YLen())
	mx64, avg64 = make([]float64, s.YLen()), make([]float64, s.YLen())
	dmx, davg = make([]float32, s.XLen()), make([]float32, s.XLen())
	area := float32(s.KH * s.KW)
	for nc := range s.N * s.C {
		for oy := range oh {
			for ox := range ow {
				o := (nc*oh+oy)*ow + ox
				arg, first := -1, true
				var sum float32
				sum64, max64 := 0.0, math.Inf(-1)
				poolWindow(s, nc, oy, ox, func(i int) {
					if first || x[i] > x[arg] {
						arg, first = i, false
					}
					sum = sum + x[i]
					sum64 += float64(x[i])
					max64 = math.Max(max64, float64(x[i]))
				})
				mx[o], avg[o] = x[arg], sum/area
				mx64[o], avg64[o] = max64, sum64/float64(area)
				dmx[arg] = dmx[arg] + dy[o]
				g := dy[o] / area
				poolWindow(s, nc, oy, ox, func(i int) { davg[i] = davg[i] + g })
			}
		}
	}
	return
}

func TestPool(t *testing.T) {
	r := newRand()
	for _, s := range poolShapes {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			x, dy := randSlice(r, s.XLen()), randSlice(r, s.YLen())
			mx, avg, dmx, davg, mx64, avg64 := poolNaive(x, dy, s)
			y := randSlice(r, s.YLen())
			MaxPool2D(y, x, s)
			checkBits(t, y, mx)
			checkClose(t, y, mx64, 0)
			AvgPool2D(y, x, s)
			checkBits(t, y, avg)
			checkClose(t, y, avg64, 1e-6)
			dx := randSlice(r, s.XLen())
			MaxPool2DGrad(dx, dy, x, s)
			checkBits(t, dx, dmx)
			dx = randSlice(r, s.XLen())
			AvgPool2DGrad(dx, dy, s)
			checkBits(t, dx, davg)
		})
	}
}

func TestMaxPoolSpecials(t *testing.T) {
	nan := float32(math.NaN())
	s := PoolShape{N: 1, C: 1, H: 1, W: 3, KH: 1, KW: 3, SH: 1, SW: 1}
	tests := []struct {
		name string
		x    []float32
		arg  int
		nan  bool
	}{
		{"first of ties", []float32{1, 2, 2}, 1, false},
		{"NaN first wins", []float32{nan, 5, 6}, 0, true},
		{"later NaN ignored", []float32{1, nan, 0}, 0, false},
		{"NaN then larger", []float32{1, nan, 3}, 2, false},
		{"zeros", []float32{float32(math.Copysign(0, -1)), 0, 0}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := make([]float32, 1)
			MaxPool2D(y, tt.x, s)
			if tt.nan != math.IsNaN(float64(y[0])) || (!tt.nan && math.Float32bits(y[0]) != math.Float32bits(tt.x[tt.arg])) {
				t.Fatalf("max = %v, want x[%d] = %v", y[0], tt.arg, tt.x[tt.arg])
			}
			dx := make([]float32, 3)
			MaxPool2DGrad(dx, []float32{7}, tt.x, s)
			want := make([]float32, 3)
			want[tt.arg] = 7
			checkBits(t, dx, want)
		})
	}
}

func TestGradPool(t *testing.T) {
	r := newRand()
	for _, s := range poolShapes[1:4] {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			x, dy := randSlice(r, s.XLen()), randSlice(r, s.YLen())
			fwd := func(x []float64, avg bool) float64 {
				var l float64
				oh, ow := s.OH(), s.OW()
				for nc := range s.N * s.C {
					for oy := range oh {
						for ox := range ow {
							v := math.Inf(-1)
							if avg {
								v = 0
							}
							poolWindow(s, nc, oy, ox, func(i int) {
								if avg {
									v += x[i] / float64(s.KH*s.KW)
								} else {
									v = math.Max(v, x[i])
								}
							})
							l += float64(dy[(nc*oh+oy)*ow+ox]) * v
						}
					}
				}
				return l
			}
			t.Run("max", func(t *testing.T) {
				dx := make([]float32, s.XLen())
				MaxPool2DGrad(dx, dy, x, s)
				// A tiny step: max is piecewise linear, and random inputs are
				// far apart compared to it.
				gradCheck(t, dx, to64(x), 1e-7, func(x []float64) float64 { return fwd(x, false) })
			})
			t.Run("avg", func(t *testing.T) {
				dx := make([]float32, s.XLen())
				AvgPool2DGrad(dx, dy, s)
				gradCheck(t, dx, to64(x), 1e-3, func(x []float64) float64 { return fwd(x, true) })
			})
		})
	}
}

func TestPoolShapeValidate(t *testing.T) {
	ok := PoolShape{N: 1, C: 1, H: 4, W: 4, KH: 2, KW: 2, SH: 2, SW: 2}
	tests := []struct {
		name  string
		edit  func(*PoolShape)
		valid bool
	}{
		{"valid", func(*PoolShape) {}, true},
		{"empty", func(s *PoolShape) { s.N, s.C = 0, 0 }, true},
		{"negative", func(s *PoolShape) { s.C = -1 }, false},
		{"window too large", func(s *PoolShape) { s.KW = 5 }, false},
		{"zero window", func(s *PoolShape) { s.KH = 0 }, false},
		{"zero stride", func(s *PoolShape) { s.SH = 0 }, false},
		{"too large", func(s *PoolShape) { s.N, s.C, s.H, s.W = 1<<16, 1<<16, 4, 4 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			err := s.Validate()
			if (err == nil) != tt.valid {
				t.Fatalf("Validate() = %v, want valid %v", err, tt.valid)
			}
			if err != nil && !errors.Is(err, ErrShape) {
				t.Fatalf("Validate() = %v, not ErrShape", err)
			}
		})
	}
}

// TestMaxPool2x2Specials runs the specialised 2×2 loops over every arrangement of special
// values in a window against the generic scan (maxArg).
func TestMaxPool2x2Specials(t *testing.T) {
	vals := []float32{1, -1, 0, float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 2}
	s := PoolShape{N: 1, C: 1, H: 2, W: 2, KH: 2, KW: 2, SH: 2, SW: 2}
	x := make([]float32, 4)
	y, dx := make([]float32, 1), make([]float32, 4)
	for a := range vals {
		for b := range vals {
			for c := range vals {
				for d := range vals {
					x[0], x[1], x[2], x[3] = vals[a], vals[b], vals[c], vals[d]
					arg, best := maxArg(x, s, 0, 0)
					MaxPool2D(y, x, s)
					if math.Float32bits(y[0]) != math.Float32bits(best) {
						t.Fatalf("window %v: max %v, maxArg %v", x, y[0], best)
					}
					g := float32(math.Copysign(0, -1)) // −0 shows whether the addition to +0 happened
					MaxPool2DGrad(dx, []float32{g}, x, s)
					for i, v := range dx {
						want := float32(0)
						if i == arg {
							want = 0 + g
						}
						if math.Float32bits(v) != math.Float32bits(want) {
							t.Fatalf("window %v: dx %v, want the gradient at %d", x, dx, arg)
						}
					}
				}
			}
		}
	}
}

func BenchmarkMaxPool(b *testing.B) {
	r := newRand()
	for _, s := range []PoolShape{
		{N: 64, C: 16, H: 28, W: 28, KH: 2, KW: 2, SH: 2, SW: 2},
		{N: 64, C: 16, H: 28, W: 28, KH: 3, KW: 3, SH: 2, SW: 2},
	} {
		x, dy := randSlice(r, s.XLen()), randSlice(r, s.YLen())
		y, dx := make([]float32, s.YLen()), make([]float32, s.XLen())
		b.Run(fmt.Sprintf("fwd/%dx%d", s.KH, s.KW), func(b *testing.B) {
			b.SetBytes(int64(4 * s.XLen()))
			for b.Loop() {
				MaxPool2D(y, x, s)
			}
		})
		b.Run(fmt.Sprintf("grad/%dx%d", s.KH, s.KW), func(b *testing.B) {
			b.SetBytes(int64(4 * s.XLen()))
			for b.Loop() {
				MaxPool2DGrad(dx, dy, x, s)
			}
		})
	}
}
