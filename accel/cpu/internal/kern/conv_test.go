package kern

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

var convShapes = []ConvShape{
	{N: 1, C: 1, H: 1, W: 1, O: 1, KH: 1, KW: 1, SH: 1, SW: 1},
	{N: 2, C: 1, H: 5, W: 5, O: 3, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1},
	{N: 2, C: 3, H: 7, W: 6, O: 4, KH: 3, KW: 2, SH: 2, SW: 1, PH: 1, PW: 0},
	{N: 1, C: 2, H: 6, W: 7, O: 5, KH: 2, KW: 3, SH: 2, SW: 3, PH: 0, PW: 2},
	{N: 3, C: 2, H: 4, W: 4, O: 2, KH: 1, KW: 1, SH: 1, SW: 1, PH: 2, PW: 1},
	{N: 1, C: 1, H: 3, W: 3, O: 1, KH: 5, KW: 5, SH: 1, SW: 1, PH: 2, PW: 2},
	{N: 2, C: 5, H: 9, W: 8, O: 7, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1},
	{N: 0, C: 2, H: 4, W: 4, O: 2, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1},
}

// convShapesLarge have enough samples and work for every schedule: samples in parallel, the
// concatenated weight-gradient product split by rows with B packed once (prepack), AVX2
// tiles. (Not in convShapes, whose outputs the golden hash pins.)
var convShapesLarge = []ConvShape{
	{N: 9, C: 3, H: 14, W: 14, O: 32, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1},
}

// convX returns x[n][ci][iy][ix], or +0 in the padding.
func convX(x []float32, s ConvShape, n, ci, iy, ix int) float32 {
	if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
		return 0
	}
	return x[((n*s.C+ci)*s.H+iy)*s.W+ix]
}

// conv2DNaive is the direct convolution in the documented order.
func conv2DNaive(x, w []float32, s ConvShape) []float32 {
	oh, ow := s.OH(), s.OW()
	y := make([]float32, s.YLen())
	for n := range s.N {
		for o := range s.O {
			for oy := range oh {
				for ox := range ow {
					var acc float32
					for ci := range s.C {
						for ky := range s.KH {
							for kx := range s.KW {
								v := convX(x, s, n, ci, oy*s.SH+ky-s.PH, ox*s.SW+kx-s.PW)
								acc = acc + float32(w[((o*s.C+ci)*s.KH+ky)*s.KW+kx]*v)
							}
						}
					}
					y[((n*s.O+o)*oh+oy)*ow+ox] = acc
				}
			}
		}
	}
	return y
}

// conv2D64 is the float64 reference convolution.
func conv2D64(x, w []float64, s ConvShape) []float64 {
	oh, ow := s.OH(), s.OW()
	y := make([]float64, s.YLen())
	for n := range s.N {
		for o := range s.O {
			for oy := range oh {
				for ox := range ow {
					var acc float64
					for ci := range s.C {
						for ky := range s.KH {
							for kx := range s.KW {
								iy, ix := oy*s.SH+ky-s.PH, ox*s.SW+kx-s.PW
								if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
									acc += w[((o*s.C+ci)*s.KH+ky)*s.KW+kx] * x[((n*s.C+ci)*s.H+iy)*s.W+ix]
								}
							}
						}
					}
					y[((n*s.O+o)*oh+oy)*ow+ox] = acc
				}
			}
		}
	}
	return y
}

// conv2DGradInputNaive computes dx in the documented order: each dcol
// element a fold over o, added into dx for r ascending, then q ascending.
func conv2DGradInputNaive(dy, w []float32, s ConvShape) []float32 {
	oh, ow, ckk := s.OH(), s.OW(), s.CKK()
	dx := make([]float32, s.XLen())
	for n := range s.N {
		for ci := range s.C {
			for ky := range s.KH {
				for kx := range s.KW {
					r := (ci*s.KH+ky)*s.KW + kx
					for oy := range oh {
						for ox := range ow {
							var d float32
							for o := range s.O {
								d = d + float32(w[o*ckk+r]*dy[((n*s.O+o)*oh+oy)*ow+ox])
							}
							iy, ix := oy*s.SH+ky-s.PH, ox*s.SW+kx-s.PW
							if iy >= 0 && iy < s.H && ix >= 0 && ix < s.W {
								i := ((n*s.C+ci)*s.H+iy)*s.W + ix
								dx[i] = dx[i] + d
							}
						}
					}
				}
			}
		}
	}
	return dx
}

// conv2DGradWeightNaive computes dw in the documented order: one fold
// over n, then q.
func conv2DGradWeightNaive(dy, x []float32, s ConvShape) []float32 {
	oh, ow, ckk := s.OH(), s.OW(), s.CKK()
	dw := make([]float32, s.WLen())
	for o := range s.O {
		for ci := range s.C {
			for ky := range s.KH {
				for kx := range s.KW {
					var acc float32
					for n := range s.N {
						for oy := range oh {
							for ox := range ow {
								v := convX(x, s, n, ci, oy*s.SH+ky-s.PH, ox*s.SW+kx-s.PW)
								acc = acc + float32(dy[((n*s.O+o)*oh+oy)*ow+ox]*v)
							}
						}
					}
					dw[o*ckk+(ci*s.KH+ky)*s.KW+kx] = acc
				}
			}
		}
	}
	return dw
}

func TestConv2D(t *testing.T) {
	r := newRand()
	for _, s := range append(convShapes[:len(convShapes):len(convShapes)], convShapesLarge...) {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			x, w, dy := randSlice(r, s.XLen()), randSlice(r, s.WLen()), randSlice(r, s.YLen())
			wantY := conv2DNaive(x, w, s)
			wantDX := conv2DGradInputNaive(dy, w, s)
			wantDW := conv2DGradWeightNaive(dy, x, s)
			refY := conv2D64(to64(x), to64(w), s)
			checkClose(t, wantY, refY, 1e-5)
			for _, workers := range []int{1, 2, 3, 8} {
				p := Par{Workers: workers}
				col := randSlice(r, s.ColLen()) // garbage scratch
				y := randSlice(r, s.YLen())
				Conv2D(p, y, x, w, col, s)
				checkBits(t, y, wantY)
				dx := randSlice(r, s.XLen())
				Conv2DGradInput(p, dx, dy, w, col, s)
				checkBits(t, dx, wantDX)
				dw := randSlice(r, s.WLen())
				Conv2DGradWeight(p, dw, dy, x, col, s)
				checkBits(t, dw, wantDW)
			}
		})
	}
}

func TestIm2col(t *testing.T) {
	r := newRand()
	for _, s := range convShapes {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			oh, ow := s.OH(), s.OW()
			x := randSlice(r, s.C*s.H*s.W)
			col := randSlice(r, s.ColLen())
			Im2col(col, x, s)
			one := s
			one.N = 1
			for ci := range s.C {
				for ky := range s.KH {
					for kx := range s.KW {
						for oy := range oh {
							for ox := range ow {
								got := col[(((ci*s.KH+ky)*s.KW+kx)*oh+oy)*ow+ox]
								want := convX(x, one, 0, ci, oy*s.SH+ky-s.PH, ox*s.SW+kx-s.PW)
								if math.Float32bits(got) != math.Float32bits(want) {
									t.Fatalf("col[%d,%d,%d][%d,%d] = %v, want %v", ci, ky, kx, oy, ox, got, want)
								}
							}
						}
					}
				}
			}
		})
	}
}

func TestGradConv(t *testing.T) {
	r := newRand()
	for _, s := range convShapes[1:4] {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			x, w, dy := randSlice(r, s.XLen()), randSlice(r, s.WLen()), randSlice(r, s.YLen())
			col := make([]float32, s.ColLen())
			x64, w64 := to64(x), to64(w)
			t.Run("input", func(t *testing.T) {
				dx := make([]float32, s.XLen())
				Conv2DGradInput(Par{Workers: 2}, dx, dy, w, col, s)
				gradCheck(t, dx, to64(x), 1e-3, func(x []float64) float64 { return dot64(dy, conv2D64(x, w64, s)) })
			})
			t.Run("weight", func(t *testing.T) {
				dw := make([]float32, s.WLen())
				Conv2DGradWeight(Par{Workers: 2}, dw, dy, x, col, s)
				gradCheck(t, dw, to64(w), 1e-3, func(w []float64) float64 { return dot64(dy, conv2D64(x64, w, s)) })
			})
		})
	}
}

func TestConvShapeValidate(t *testing.T) {
	ok := ConvShape{N: 1, C: 1, H: 4, W: 4, O: 1, KH: 3, KW: 3, SH: 1, SW: 1}
	tests := []struct {
		name   string
		edit   func(*ConvShape)
		valid  bool
		oh, ow int
	}{
		{"valid", func(*ConvShape) {}, true, 2, 2},
		{"padded", func(s *ConvShape) { s.PH, s.PW = 1, 2 }, true, 4, 6},
		{"strided", func(s *ConvShape) { s.SH, s.SW = 2, 3 }, true, 1, 1},
		{"empty batch", func(s *ConvShape) { s.N = 0 }, true, 2, 2},
		{"negative batch", func(s *ConvShape) { s.N = -1 }, false, 0, 0},
		{"no channels", func(s *ConvShape) { s.C = 0 }, false, 0, 0},
		{"no filters", func(s *ConvShape) { s.O = 0 }, false, 0, 0},
		{"zero stride", func(s *ConvShape) { s.SW = 0 }, false, 0, 0},
		{"negative padding", func(s *ConvShape) { s.PH = -1 }, false, 0, 0},
		{"kernel too large", func(s *ConvShape) { s.KH = 5 }, false, 0, 0},
		{"too large", func(s *ConvShape) { s.N, s.C = 1<<20, 1<<20 }, false, 0, 0},
		{"huge dims", func(s *ConvShape) { s.H, s.KH = math.MaxInt/2, math.MaxInt/2 }, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			err := s.Validate()
			if (err == nil) != tt.valid {
				t.Fatalf("Validate() = %v, want valid %v", err, tt.valid)
			}
			if err != nil {
				if !errors.Is(err, ErrShape) {
					t.Fatalf("Validate() = %v, not ErrShape", err)
				}
				return
			}
			if s.OH() != tt.oh || s.OW() != tt.ow {
				t.Fatalf("output %dx%d, want %dx%d", s.OH(), s.OW(), tt.oh, tt.ow)
			}
		})
	}
}

func TestValidRange(t *testing.T) {
	for n := range 6 {
		for stride := 1; stride < 4; stride++ {
			for off := -5; off < 5; off++ {
				for size := 1; size < 6; size++ {
					lo, hi := validRange(n, stride, off, size)
					for o := range n {
						in := o*stride+off >= 0 && o*stride+off < size
						if in != (o >= lo && o < hi) {
							t.Fatalf("validRange(%d,%d,%d,%d) = [%d,%d), wrong at %d", n, stride, off, size, lo, hi, o)
						}
					}
					if lo > hi || hi > n {
						t.Fatalf("validRange(%d,%d,%d,%d) = [%d,%d)", n, stride, off, size, lo, hi)
					}
				}
			}
		}
	}
}

func BenchmarkConv2D(b *testing.B) {
	shapes := []struct {
		name string
		s    ConvShape
	}{
		{"N64_1x28x28_16k3p1", ConvShape{N: 64, C: 1, H: 28, W: 28, O: 16, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1}},
		{"N64_16x14x14_32k3p1", ConvShape{N: 64, C: 16, H: 14, W: 14, O: 32, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1}},
	}
	for _, sh := range shapes {
		s := sh.s
		r := newRand()
		x, w, dy := randSlice(r, s.XLen()), randSlice(r, s.WLen()), randSlice(r, s.YLen())
		y, dx, dw, col := make([]float32, s.YLen()), make([]float32, s.XLen()), make([]float32, s.WLen()), make([]float32, s.ColLen())
		flops := 2 * float64(s.YLen()) * float64(s.CKK())
		for _, workers := range []int{1, 2} {
			p := Par{Workers: workers}
			for _, op := range []struct {
				name string
				run  func()
			}{
				{"fwd", func() { Conv2D(p, y, x, w, col, s) }},
				{"dx", func() { Conv2DGradInput(p, dx, dy, w, col, s) }},
				{"dw", func() { Conv2DGradWeight(p, dw, dy, x, col, s) }},
			} {
				b.Run(fmt.Sprintf("%s/%s/w=%d", sh.name, op.name, workers), func(b *testing.B) {
					for b.Loop() {
						op.run()
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
