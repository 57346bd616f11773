package kern

import (
	"errors"
	"fmt"
	"math"
)

// PoolShape describes a 2-D pooling of an NCHW input over KH×KW windows
// with strides SH, SW and no padding:
//
//	x: N×C×H×W     y: N×C×OH×OW
type PoolShape struct {
	N, C, H, W int // input batch, channels, height, width
	KH, KW     int // window height, width
	SH, SW     int // strides
}

// OH returns the output height (H-KH)/SH + 1.
func (s PoolShape) OH() int { return (s.H-s.KH)/s.SH + 1 }

// OW returns the output width (W-KW)/SW + 1.
func (s PoolShape) OW() int { return (s.W-s.KW)/s.SW + 1 }

// XLen returns N*C*H*W, the length of the input.
func (s PoolShape) XLen() int { return s.N * s.C * s.H * s.W }

// YLen returns N*C*OH*OW, the length of the output.
func (s PoolShape) YLen() int { return s.N * s.C * s.OH() * s.OW() }

// Validate returns nil if s describes a pooling the kernels accept, or the
// errors.Join of every problem, each wrapping ErrShape: N, C ≥ 0; KH, KW,
// SH, SW ≥ 1; KH ≤ H and KW ≤ W; XLen at most MaxLen.
func (s PoolShape) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: pool: "+format, append([]any{ErrShape}, args...)...))
	}
	if s.N < 0 || s.C < 0 {
		bad("N=%d C=%d < 0", s.N, s.C)
	}
	if s.KH < 1 || s.KW < 1 || s.SH < 1 || s.SW < 1 {
		bad("window %dx%d stride %dx%d < 1", s.KH, s.KW, s.SH, s.SW)
	}
	if s.KH > s.H || s.KW > s.W {
		bad("window %dx%d larger than input %dx%d", s.KH, s.KW, s.H, s.W)
	}
	if len(errs) == 0 && !fits([]int64{int64(s.N), int64(s.C), int64(s.H), int64(s.W)}) {
		bad("x has more than %d elements", MaxLen)
	}
	return errors.Join(errs...)
}

// maxArg returns the index in x and the value of the maximum of the window
// at (oy, ox) of plane x (H×W): the scan runs over ky, then kx, ascending,
// starting from the first element and replacing it only when v > best, so
// the first maximum wins, a NaN first element wins, and later NaNs never do.
func maxArg(x []float32, s PoolShape, oy, ox int) (int, float32) {
	arg := oy*s.SH*s.W + ox*s.SW
	best := x[arg]
	for ky := range s.KH {
		row := (oy*s.SH+ky)*s.W + ox*s.SW
		for kx, v := range x[row : row+s.KW] {
			if v > best {
				best, arg = v, row+kx
			}
		}
	}
	return arg, best
}

// is2x2 reports whether s pools 2×2 windows with stride 2, the common case MaxPool2D and
// MaxPool2DGrad run by a specialised loop (the same scan, the same bits).
func (s PoolShape) is2x2() bool { return s.KH == 2 && s.KW == 2 && s.SH == 2 && s.SW == 2 }

// max2x2 is maxArg for a 2×2 window a b / c d: it returns the position (0..3, in scan order)
// and the value of the first maximum, by the rule of maxArg, without branches: each step
// keeps the best so far unless the next value is greater (an ordered comparison, false for
// NaNs), selecting bits and positions by masks.
func max2x2(a, b, c, d float32) (int, float32) {
	best, arg := math.Float32bits(a), uint32(0)
	m := -b2u(b > a)
	best ^= (best ^ math.Float32bits(b)) & m
	arg ^= (arg ^ 1) & m
	cur := math.Float32frombits(best)
	m = -b2u(c > cur)
	best ^= (best ^ math.Float32bits(c)) & m
	arg ^= (arg ^ 2) & m
	cur = math.Float32frombits(best)
	m = -b2u(d > cur)
	best ^= (best ^ math.Float32bits(d)) & m
	arg ^= (arg ^ 3) & m
	return int(arg), math.Float32frombits(best)
}

// b2u is 1 for true and 0 for false (the compiler emits a SETcc, no branch).
func b2u(b bool) uint32 {
	var u uint32
	if b {
		u = 1
	}
	return u
}

// MaxPool2D sets every output to the maximum of its window, scanned over
// ky, then kx, ascending from the first element with a `v > best`
// comparison: the first maximum wins; NaN is returned only when it is the
// first element of the window. s must be valid; len(x) ≥ s.XLen(),
// len(y) ≥ s.YLen().
func MaxPool2D(y, x []float32, s PoolShape) {
	oh, ow, plane := s.OH(), s.OW(), s.H*s.W
	if s.is2x2() {
		for nc := range s.N * s.C {
			xp := x[nc*plane : nc*plane+plane]
			yp := y[nc*oh*ow : nc*oh*ow+oh*ow]
			for oy := range oh {
				r0 := xp[2*oy*s.W : 2*oy*s.W+2*ow]
				r1 := xp[(2*oy+1)*s.W : (2*oy+1)*s.W+2*ow]
				yr := yp[oy*ow : oy*ow+ow]
				for ox := range yr {
					_, yr[ox] = max2x2(r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1])
				}
			}
		}
		return
	}
	for nc := range s.N * s.C {
		xp := x[nc*plane : nc*plane+plane]
		yp := y[nc*oh*ow : nc*oh*ow+oh*ow]
		for oy := range oh {
			for ox := range ow {
				_, yp[oy*ow+ox] = maxArg(xp, s, oy, ox)
			}
		}
	}
}

// MaxPool2DGrad computes dx from dy, the gradient of the output of
// MaxPool2D on x: dx is set to +0, then for every output in order
// (n, c, oy, ox) ascending, dx[argmax] = dx[argmax] + dy[output], with
// argmax recomputed from x by the rule of MaxPool2D. s must be valid;
// len(dx), len(x) ≥ s.XLen(), len(dy) ≥ s.YLen().
func MaxPool2DGrad(dx, dy, x []float32, s PoolShape) {
	oh, ow, plane := s.OH(), s.OW(), s.H*s.W
	clear(dx[:s.XLen()])
	if s.is2x2() {
		// The windows do not overlap: every element of dx receives at most one addition.
		for nc := range s.N * s.C {
			xp := x[nc*plane : nc*plane+plane]
			dxp := dx[nc*plane : nc*plane+plane]
			dyp := dy[nc*oh*ow : nc*oh*ow+oh*ow]
			for oy := range oh {
				o0, o1 := 2*oy*s.W, (2*oy+1)*s.W
				r0, r1 := xp[o0:o0+2*ow], xp[o1:o1+2*ow]
				dr := dyp[oy*ow : oy*ow+ow]
				for ox, g := range dr {
					i, _ := max2x2(r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1])
					e := o0 + (i>>1)*s.W + 2*ox + i&1 // the window's row i/2, column i%2
					dxp[e] = dxp[e] + g
				}
			}
		}
		return
	}
	for nc := range s.N * s.C {
		xp := x[nc*plane : nc*plane+plane]
		dxp := dx[nc*plane : nc*plane+plane]
		dyp := dy[nc*oh*ow : nc*oh*ow+oh*ow]
		for oy := range oh {
			for ox := range ow {
				i, _ := maxArg(xp, s, oy, ox)
				dxp[i] = dxp[i] + dyp[oy*ow+ox]
			}
		}
	}
}

// AvgPool2D sets every output to the mean of its window: a fold from +0
// over ky, then kx, ascending, divided (correctly rounded) by
// float32(KH*KW). s must be valid; len(x) ≥ s.XLen(), len(y) ≥ s.YLen().
func AvgPool2D(y, x []float32, s PoolShape) {
	oh, ow, plane := s.OH(), s.OW(), s.H*s.W
	area := float32(s.KH * s.KW)
	for nc := range s.N * s.C {
		xp := x[nc*plane : nc*plane+plane]
		yp := y[nc*oh*ow : nc*oh*ow+oh*ow]
		for oy := range oh {
			for ox := range ow {
				var acc float32
				for ky := range s.KH {
					row := (oy*s.SH+ky)*s.W + ox*s.SW
					for _, v := range xp[row : row+s.KW] {
						acc = acc + v
					}
				}
				yp[oy*ow+ox] = acc / area
			}
		}
	}
}

// AvgPool2DGrad computes dx from dy, the gradient of the output of
// AvgPool2D: dx is set to +0, then for every output in order (n, c, oy, ox)
// ascending, g = dy[output] / float32(KH*KW) (correctly rounded) is added,
// dx[e] = dx[e] + g, to every element e of its window in order ky, then kx,
// ascending. s must be valid; len(dx) ≥ s.XLen(), len(dy) ≥ s.YLen().
func AvgPool2DGrad(dx, dy []float32, s PoolShape) {
	oh, ow, plane := s.OH(), s.OW(), s.H*s.W
	area := float32(s.KH * s.KW)
	clear(dx[:s.XLen()])
	for nc := range s.N * s.C {
		dxp := dx[nc*plane : nc*plane+plane]
		dyp := dy[nc*oh*ow : nc*oh*ow+oh*ow]
		for oy := range oh {
			for ox := range ow {
				g := dyp[oy*ow+ox] / area
				for ky := range s.KH {
					row := (oy*s.SH+ky)*s.W + ox*s.SW
					win := dxp[row : row+s.KW]
					for kx := range win {
						win[kx] = win[kx] + g
					}
				}
			}
		}
	}
}
