package kern

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// MaxLen is the largest number of elements any tensor or scratch buffer
// described by a ConvShape or PoolShape may have. It keeps every index
// computation within a 32-bit int, so that 386 behaves like amd64.
const MaxLen = math.MaxInt32

// ConvShape describes a 2-D convolution (cross-correlation, as in every
// deep-learning framework) of an NCHW input with O filters of C×KH×KW,
// strides SH, SW and zero padding PH, PW on both sides, no dilation, no
// groups.
//
//	x: N×C×H×W     w: O×C×KH×KW     y: N×O×OH×OW
type ConvShape struct {
	N, C, H, W int // input batch, channels, height, width
	O          int // output channels (filters)
	KH, KW     int // kernel height, width
	SH, SW     int // strides
	PH, PW     int // zero padding added above and below, left and right
}

// OH returns the output height (H+2*PH-KH)/SH + 1.
func (s ConvShape) OH() int { return (s.H+2*s.PH-s.KH)/s.SH + 1 }

// OW returns the output width (W+2*PW-KW)/SW + 1.
func (s ConvShape) OW() int { return (s.W+2*s.PW-s.KW)/s.SW + 1 }

// CKK returns C*KH*KW, the number of rows of the im2col matrix and the
// length of one filter.
func (s ConvShape) CKK() int { return s.C * s.KH * s.KW }

// XLen returns N*C*H*W, the length of the input.
func (s ConvShape) XLen() int { return s.N * s.C * s.H * s.W }

// WLen returns O*C*KH*KW, the length of the filters.
func (s ConvShape) WLen() int { return s.O * s.CKK() }

// YLen returns N*O*OH*OW, the length of the output.
func (s ConvShape) YLen() int { return s.N * s.O * s.OH() * s.OW() }

// ColLen returns C*KH*KW*OH*OW, the length of the im2col scratch buffer of
// one sample that Im2col, Conv2D, Conv2DGradInput and Conv2DGradWeight need.
func (s ConvShape) ColLen() int { return s.CKK() * s.OH() * s.OW() }

// Validate returns nil if s describes a convolution the kernels accept, or
// the errors.Join of every problem, each wrapping ErrShape: N ≥ 0; C, H, W,
// O, KH, KW, SH, SW ≥ 1; PH, PW ≥ 0; the padded input at least as large as
// the kernel; and every length (XLen, WLen, YLen, ColLen) at most MaxLen.
func (s ConvShape) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: conv: "+format, append([]any{ErrShape}, args...)...))
	}
	if s.N < 0 {
		bad("N=%d < 0", s.N)
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"C", s.C}, {"H", s.H}, {"W", s.W}, {"O", s.O}, {"KH", s.KH}, {"KW", s.KW}, {"SH", s.SH}, {"SW", s.SW}} {
		if d.v < 1 {
			bad("%s=%d < 1", d.name, d.v)
		}
	}
	if s.PH < 0 || s.PW < 0 {
		bad("padding %dx%d < 0", s.PH, s.PW)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if s.H > MaxLen || s.W > MaxLen || s.PH > MaxLen || s.PW > MaxLen ||
		s.H+2*s.PH < s.KH || s.W+2*s.PW < s.KW {
		bad("kernel %dx%d larger than padded input %dx%d+2*(%d,%d)", s.KH, s.KW, s.H, s.W, s.PH, s.PW)
		return errors.Join(errs...)
	}
	oh, ow := int64(s.OH()), int64(s.OW())
	for _, l := range []struct {
		name string
		dims []int64
	}{
		{"x", []int64{int64(s.N), int64(s.C), int64(s.H), int64(s.W)}},
		{"w", []int64{int64(s.O), int64(s.C), int64(s.KH), int64(s.KW)}},
		{"y", []int64{int64(s.N), int64(s.O), oh, ow}},
		{"col", []int64{int64(s.C), int64(s.KH), int64(s.KW), oh, ow}},
	} {
		if !fits(l.dims) {
			bad("%s has more than %d elements (%v)", l.name, MaxLen, l.dims)
		}
	}
	return errors.Join(errs...)
}

// fits reports whether the product of dims, all ≥ 0, is at most MaxLen.
func fits(dims []int64) bool {
	p := int64(1)
	for _, d := range dims {
		if d == 0 {
			return true
		}
		if d > MaxLen || p > MaxLen/d {
			return false
		}
		p *= d
	}
	return true
}

// Im2col unfolds one sample x (C×H×W) into col, a CKK×(OH*OW) matrix:
//
//	col[((ci*KH+ky)*KW+kx)*OH*OW + oy*OW+ox] = x[(ci*H+iy)*W+ix]
//	iy = oy*SH+ky-PH, ix = ox*SW+kx-PW
//
// or +0 where (iy, ix) falls in the padding. s.N is ignored. s must be
// valid, len(x) ≥ C*H*W and len(col) ≥ s.ColLen().
func Im2col(col, x []float32, s ConvShape) {
	im2colRows(col, x, s, 0, s.CKK())
}

// im2colRows fills rows [r0, r1) of the im2col matrix.
func im2colRows(col, x []float32, s ConvShape, r0, r1 int) {
	im2colRowsAt(col, s.OH()*s.OW(), 0, x, s, r0, r1)
}

// im2colRowsAt fills rows [r0, r1) of the im2col matrix of one sample into a wider matrix:
// row r goes to col[r*ld+off : r*ld+off+OH*OW].
func im2colRowsAt(col []float32, ld, off int, x []float32, s ConvShape, r0, r1 int) {
	oh, ow := s.OH(), s.OW()
	for r := r0; r < r1; r++ {
		ci, ky, kx := r/(s.KH*s.KW), r/s.KW%s.KH, r%s.KW
		// Output columns ox in [oxLo, oxHi) read inside the image.
		oxLo, oxHi := validRange(ow, s.SW, kx-s.PW, s.W)
		for oy := range oh {
			dst := col[r*ld+off+oy*ow : r*ld+off+oy*ow+ow]
			iy := oy*s.SH + ky - s.PH
			if iy < 0 || iy >= s.H {
				clear(dst)
				continue
			}
			src := x[(ci*s.H+iy)*s.W : (ci*s.H+iy)*s.W+s.W]
			clear(dst[:oxLo])
			if s.SW == 1 {
				copy(dst[oxLo:oxHi], src[oxLo+kx-s.PW:])
			} else {
				for ox := oxLo; ox < oxHi; ox++ {
					dst[ox] = src[ox*s.SW+kx-s.PW]
				}
			}
			clear(dst[oxHi:])
		}
	}
}

// validRange returns the range [lo, hi) of output positions o in [0, n)
// whose input position o*stride+off lies in [0, size), with lo ≤ hi.
func validRange(n, stride, off, size int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	// o*stride+off ≤ size-1  ⇔  o ≤ (size-1-off)/stride
	if size-1-off < 0 {
		return min(lo, n), min(lo, n)
	}
	hi = min(n, (size-1-off)/stride+1)
	lo = min(lo, hi)
	return lo, hi
}

// Conv2D computes y = conv(x, w) for a batch: for each sample n in turn, it
// unfolds x[n] into col with Im2col and sets
//
//	y[n] (O×OH*OW) = Gemm(w (O×CKK), col (CKK×OH*OW))
//
// so every output is one fold from +0 over r = (ci*KH+ky)*KW+kx ascending
// of float32(w[o][r]*col[r][q]), padded positions included as products
// with +0. No bias is added (see BiasAdd). s must be valid; len(x) ≥
// s.XLen(), len(w) ≥ s.WLen(), len(y) ≥ s.YLen(), len(col) ≥ s.ColLen();
// col is scratch, overwritten.
func Conv2D(p Par, y, x, w, col []float32, s ConvShape) {
	if bySamples(p, s) {
		runSamples(p, sampleTask{y: y, x: x, w: w, s: s})
		return
	}
	ckk, q := s.CKK(), s.OH()*s.OW()
	xn, yn := s.C*s.H*s.W, s.O*q
	t := convTasks.Get().(*convTask)
	for n := range s.N {
		*t = convTask{col: col, x: x[n*xn : n*xn+xn], s: s}
		p.Run(ckk, rowGrain(q), t)
		Gemm(p, false, false, s.O, q, ckk, w, ckk, col, q, y[n*yn:n*yn+yn], q, false)
	}
	*t = convTask{}
	convTasks.Put(t)
}

// convTask is the parallel part of a convolution kernel for one sample:
// im2col of x into col, by rows of col, or (col2im set) col2im of col into
// x, by channels.
type convTask struct {
	col, x []float32
	s      ConvShape
	col2im bool
}

// convTasks recycles convTask values, so that the kernels do not allocate.
var convTasks = sync.Pool{New: func() any { return new(convTask) }}

// Range fills rows [lo, hi) of col (im2col) or folds the channels [lo, hi)
// of col into x (col2im).
func (t *convTask) Range(lo, hi int) {
	if t.col2im {
		col2imChannels(t.x, t.col, t.s, lo, hi)
	} else {
		im2colRows(t.col, t.x, t.s, lo, hi)
	}
}

// Conv2DGradInput computes dx, the gradient of the input, from dy, the
// gradient of the output of Conv2D. For each sample n in turn:
//
//	dcol (CKK×OH*OW) = Gemm(transA: w^T (CKK×O), dy[n] (O×OH*OW))
//
// (each element one fold over o ascending), then col2im: dx[n] is set to
// +0, and for r = (ci*KH+ky)*KW+kx ascending, then q = oy*OW+ox ascending,
// dx[n][ci][iy][ix] = dx[n][ci][iy][ix] + dcol[r][q] wherever
// (iy, ix) = (oy*SH+ky-PH, ox*SW+kx-PW) lies inside the image. s must be
// valid; len(dx) ≥ s.XLen(), len(dy) ≥ s.YLen(), len(w) ≥ s.WLen(),
// len(dcol) ≥ s.ColLen(); dcol is scratch, overwritten.
func Conv2DGradInput(p Par, dx, dy, w, dcol []float32, s ConvShape) {
	if bySamples(p, s) {
		runSamples(p, sampleTask{grad: true, y: dy, x: dx, w: w, s: s})
		return
	}
	ckk, q := s.CKK(), s.OH()*s.OW()
	xn, yn := s.C*s.H*s.W, s.O*q
	t := convTasks.Get().(*convTask)
	for n := range s.N {
		Gemm(p, true, false, ckk, q, s.O, w, ckk, dy[n*yn:n*yn+yn], q, dcol, q, false)
		// Rows of channel ci only touch dx[n][ci]: channels are independent.
		*t = convTask{col: dcol, x: dx[n*xn : n*xn+xn], s: s, col2im: true}
		p.Run(s.C, rowGrain(s.KH*s.KW*q), t)
	}
	*t = convTask{}
	convTasks.Put(t)
}

// col2imChannels folds the rows of channels [c0, c1) of dcol into dx.
func col2imChannels(dx, dcol []float32, s ConvShape, c0, c1 int) {
	oh, ow := s.OH(), s.OW()
	q := oh * ow
	clear(dx[c0*s.H*s.W : c1*s.H*s.W])
	for ci := c0; ci < c1; ci++ {
		for ky := range s.KH {
			for kx := range s.KW {
				r := (ci*s.KH+ky)*s.KW + kx
				oxLo, oxHi := validRange(ow, s.SW, kx-s.PW, s.W)
				for oy := range oh {
					iy := oy*s.SH + ky - s.PH
					if iy < 0 || iy >= s.H {
						continue
					}
					src := dcol[r*q+oy*ow : r*q+oy*ow+ow]
					dst := dx[(ci*s.H+iy)*s.W : (ci*s.H+iy)*s.W+s.W]
					for ox := oxLo; ox < oxHi; ox++ {
						ix := ox*s.SW + kx - s.PW
						dst[ix] = dst[ix] + src[ox]
					}
				}
			}
		}
	}
}

// Conv2DGradWeight computes dw (O×CKK), the gradient of the filters, from
// the input x and dy, the gradient of the output of Conv2D:
//
//	dw[o][r] = fold from +0, over n ascending then q ascending, of
//	           float32(dy[n][o][q] * col_n[r][q])
//
// where col_n = Im2col(x[n]): one sequential sum over the concatenated
// index n*OH*OW+q. It runs as Gemm(transB: dy[n] (O×OH*OW), col_n^T) for
// n ascending, accumulating into dw. s must be valid; len(dw) ≥ s.WLen(),
// len(dy) ≥ s.YLen(), len(x) ≥ s.XLen(), len(col) ≥ s.ColLen(); col is
// scratch, overwritten. N = 0 sets dw to +0.
func Conv2DGradWeight(p Par, dw, dy, x, col []float32, s ConvShape) {
	ckk, q := s.CKK(), s.OH()*s.OW()
	xn, yn := s.C*s.H*s.W, s.O*q
	if nq := s.N * q; bySamples(p, s) && int64((ckk+15)/16*16)*int64(nq) <= maxKept && int64(s.O)*int64(nq) <= maxKept {
		// One product over the concatenated index: dy as O×(N·OH·OW) and every sample's
		// im2col side by side, gathered in parallel; the fold over n·OH·OW+q is the same.
		// Where the AVX2 kernel runs, the im2col is written straight into the layout of its
		// packed B panels (im2colPacked), saving a pass over the matrix.
		db := concatDy.get(s.O * nq)
		if packedGemm() {
			cb, ob := concatCols.get((ckk+15)/16*16*nq), convOffsets.get(ckk)
			for r := range ckk {
				ci, ky, kx := r/(s.KH*s.KW), r/s.KW%s.KH, r%s.KW
				(*ob)[r] = int32((ci*s.H+ky)*s.W + kx)
			}
			runSamples(p, sampleTask{weight: true, packed: true, y: dy, x: x, col: *cb, dyT: *db, offs: *ob, s: s})
			gemmPackedB(p, s.O, ckk, nq, *db, nq, *cb, dw, ckk)
			concatCols.put(cb)
			convOffsets.put(ob)
		} else {
			cb := concatCols.get(ckk * nq)
			runSamples(p, sampleTask{weight: true, y: dy, x: x, col: *cb, dyT: *db, s: s})
			Gemm(p, false, true, s.O, ckk, nq, *db, nq, *cb, nq, dw, ckk, false)
			concatCols.put(cb)
		}
		concatDy.put(db)
		return
	}
	clear(dw[:s.O*ckk])
	t := convTasks.Get().(*convTask)
	for n := range s.N {
		*t = convTask{col: col, x: x[n*xn : n*xn+xn], s: s}
		p.Run(ckk, rowGrain(q), t)
		Gemm(p, false, true, s.O, ckk, q, dy[n*yn:n*yn+yn], q, col, q, dw, ckk, true)
	}
	*t = convTask{}
	convTasks.Put(t)
}

// im2colPacked writes the im2col matrix of one sample, transposed, into the packed panel
// layout of the AVX2 GEMM (see packB): value (r, l) of the k-column matrix, row r =
// (ci*KH+ky)*KW+kx, column l = col0 + oy*OW+ox, goes to packed[((r/16)*k + l)*16 + r%16], and
// the rows from CKK up to the next multiple of 16 are +0. It walks output positions in order
// and writes each one's 16 values of a panel together, reading the (small) image at random;
// offs[r] = (ci*H+ky)*W+kx. A window inside the image reads x[base+offs[r]]; one that
// overlaps the padding checks every value.
func im2colPacked(packed []float32, k, col0 int, x []float32, offs []int32, s ConvShape) {
	oh, ow := s.OH(), s.OW()
	ckk := s.CKK()
	panels := (ckk + 15) / 16
	for oy := range oh {
		iy0 := oy*s.SH - s.PH
		rowsInside := iy0 >= 0 && iy0+s.KH <= s.H
		for ox := range ow {
			l := col0 + oy*ow + ox
			ix0 := ox*s.SW - s.PW
			if rowsInside && ix0 >= 0 && ix0+s.KW <= s.W {
				base := iy0*s.W + ix0
				for jp := range panels {
					d := (*[16]float32)(packed[(jp*k+l)*16:])
					r0 := jp * 16
					if r0+16 <= ckk {
						o := (*[16]int32)(offs[r0:])
						for j := range d {
							d[j] = x[base+int(o[j])]
						}
						continue
					}
					for j := range d {
						d[j] = 0
						if r := r0 + j; r < ckk {
							d[j] = x[base+int(offs[r])]
						}
					}
				}
				continue
			}
			r := 0
			for ci := range s.C {
				for ky := range s.KH {
					iy := iy0 + ky
					inside := iy >= 0 && iy < s.H
					row := (ci*s.H + iy) * s.W
					for kx := range s.KW {
						var v float32
						if ix := ix0 + kx; inside && ix >= 0 && ix < s.W {
							v = x[row+ix]
						}
						packed[((r>>4)*k+l)*16+r&15] = v
						r++
					}
				}
			}
			for ; r < panels*16; r++ {
				packed[((r>>4)*k+l)*16+r&15] = 0
			}
		}
	}
}

// bySamples reports whether a convolution runs its samples in parallel, each on one worker
// with its own scratch, rather than one after the other with each sample's work split among
// the workers: when there are samples for every worker. The bits are the same either way.
func bySamples(p Par, s ConvShape) bool { return p.Workers > 1 && s.N >= p.Workers }

// sampleTask is a convolution run sample by sample on the workers: Conv2D (y from x and w),
// Conv2DGradInput (grad: x from y and w) or the gathering of Conv2DGradWeight (weight: the
// samples' im2col into col and dy transposed into dyT).
type sampleTask struct {
	grad, weight bool
	packed       bool // weight: col is in the packed panel layout (im2colPacked)
	y, x, w      []float32
	col, dyT     []float32
	offs         []int32 // packed: the offset in a sample of every im2col row's first value
	s            ConvShape
}

// runSamples runs t over all samples (through a recycled task value, so that it does not
// allocate).
func runSamples(p Par, t sampleTask) {
	pt := sampleTasks.Get().(*sampleTask)
	*pt = t
	p.Run(t.s.N, 1, pt)
	*pt = sampleTask{}
	sampleTasks.Put(pt)
}

var sampleTasks = sync.Pool{New: func() any { return new(sampleTask) }}

// Range runs samples [lo, hi).
func (t *sampleTask) Range(lo, hi int) {
	s := t.s
	ckk, q := s.CKK(), s.OH()*s.OW()
	xn, yn := s.C*s.H*s.W, s.O*q
	if t.weight {
		nq := s.N * q
		for n := lo; n < hi; n++ {
			if t.packed {
				im2colPacked(t.col, nq, n*q, t.x[n*xn:n*xn+xn], t.offs, s)
			} else {
				im2colRowsAt(t.col, nq, n*q, t.x[n*xn:n*xn+xn], s, 0, ckk)
			}
			for o := range s.O {
				copy(t.dyT[o*nq+n*q:o*nq+n*q+q], t.y[n*yn+o*q:n*yn+o*q+q])
			}
		}
		return
	}
	buf := sampleCols.get(s.ColLen())
	col := *buf
	for n := lo; n < hi; n++ {
		if t.grad {
			Gemm(Par{}, true, false, ckk, q, s.O, t.w, ckk, t.y[n*yn:n*yn+yn], q, col, q, false)
			col2imChannels(t.x[n*xn:n*xn+xn], col, s, 0, s.C)
		} else {
			im2colRows(col, t.x[n*xn:n*xn+xn], s, 0, ckk)
			Gemm(Par{}, false, false, s.O, q, ckk, t.w, ckk, col, q, t.y[n*yn:n*yn+yn], q, false)
		}
	}
	sampleCols.put(buf)
}

// Scratch buffers of the convolutions run by samples, one list per use so that buffers of
// very different sizes do not replace each other: every sample task's im2col, and
// Conv2DGradWeight's concatenated im2col and transposed dy.
var sampleCols, concatCols, concatDy bufList[float32]

// convOffsets holds im2colPacked's offset tables.
var convOffsets bufList[int32]

// bufList keeps scratch buffers for reuse. Unlike a sync.Pool it is not emptied by garbage
// collections, so that a steady training loop allocates nothing; it keeps buffers of at most
// maxKept values.
type bufList[T any] struct {
	sync.Mutex
	list []*[]T
}

// maxKept is the largest buffer (in values) a bufList keeps.
const maxKept = 1 << 23

// get returns a buffer of n values (contents undefined).
func (l *bufList[T]) get(n int) *[]T {
	l.Lock()
	var b *[]T
	if k := len(l.list); k > 0 {
		b = l.list[k-1]
		l.list = l.list[:k-1]
	}
	l.Unlock()
	if b == nil {
		b = new([]T)
	}
	if cap(*b) < n {
		*b = make([]T, n)
	}
	*b = (*b)[:n]
	return b
}

// put returns b for reuse.
func (l *bufList[T]) put(b *[]T) {
	if cap(*b) > maxKept {
		return
	}
	l.Lock()
	l.list = append(l.list, b)
	l.Unlock()
}

// rowGrain returns how many rows of the given length make a unit of
// parallel work for memory-bound loops.
func rowGrain(rowLen int) int {
	return max(1, (1<<15)/max(rowLen, 1))
}
