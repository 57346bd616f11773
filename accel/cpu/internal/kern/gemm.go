package kern

import (
	"errors"
	"fmt"
	"sync"
)

// ErrShape is the sentinel wrapped by every shape and length error of this
// package.
var ErrShape = errors.New("kern: invalid shape")

// gemmRows is the row tile of Gemm: the unit of parallel work, and the
// number of rows of C the axpy micro-kernel updates together.
const gemmRows = 4

// gemmGrain is the least number of multiply-adds worth handing to another
// worker: about 10 µs of the AVX2 kernel, more than a wake-up costs.
const gemmGrain = 1 << 18

// Gemm computes C = op(A)·op(B), or C = C + op(A)·op(B) when accumulate is
// set, for an m×k op(A), a k×n op(B) and an m×n C, all row-major:
//
//	A(i,l) = a[i*lda+l]   (a[l*lda+i] if transA)
//	B(l,j) = b[l*ldb+j]   (b[j*ldb+l] if transB)
//	C(i,j) = c[i*ldc+j]
//
// Every C(i,j) is one sequential fold over l = 0..k-1 ascending,
//
//	acc = acc + float32(A(i,l)*B(l,j))
//
// starting from +0, or from the current C(i,j) when accumulate is set; so
// Gemm over [k0,k) with accumulate continues a Gemm over [0,k0) bit for bit.
// k = 0 sets C to +0 (or leaves it as it is when accumulate is set).
// Elements of c outside the m×n window are neither read nor written.
//
// Gemm splits the rows of C (or, when C is wider than tall, its columns)
// among p.Workers goroutines; the result does not depend on p. On amd64 with
// AVX2 the tiles are computed by an assembly kernel with the same
// arithmetic (see "Assembly kernels" in the package documentation).
// Preconditions, which CheckGemm verifies: m, n, k ≥ 0; the
// leading dimensions are at least the row lengths they stride; the slices
// are long enough for the elements addressed; c does not overlap a or b.
// Gemm panics (index out of range) if they are violated.
func Gemm(p Par, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 {
		if !accumulate {
			for i := range m {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	ars, acs := lda, 1
	if transA {
		ars, acs = 1, lda
	}
	// Split the larger side: row tiles of gemmRows rows, or panels of
	// gemmCols columns when C is wide and short (the convolutions' per-sample
	// products), so that each worker packs only the panels of B it uses.
	tiles, cols := (m+gemmRows-1)/gemmRows, (n+gemmCols-1)/gemmCols
	byCols := splitByCols(p, m, n, k, tiles, cols)
	work := int64(gemmRows) * int64(n) * int64(k)
	units := tiles
	if byCols {
		work = int64(m) * int64(gemmCols) * int64(k)
		units = cols
	}
	grain := int(max(1, gemmGrain/work))
	t := gemmTasks.Get().(*gemmTask)
	*t = gemmTask{transB: transB, byCols: byCols, m: m, n: n, k: k, a: a, ars: ars, acs: acs, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate}
	t.prepack(p, p.Workers > 1 && units/grain >= 2)
	p.Run(units, grain, t)
	t.unpack()
	*t = gemmTask{}
	gemmTasks.Put(t)
}

// splitByCols reports whether Gemm splits the columns of C among workers rather than its rows.
// Every range of rows reads all of B and every range of columns all of A, so with several
// workers the split re-reads the smaller operand (when each side has a range for every
// worker); otherwise, and with one worker, it splits the larger side of C.
func splitByCols(p Par, m, n, k, tiles, cols int) bool {
	if p.Workers > 1 && tiles >= p.Workers && cols >= p.Workers {
		return int64(m)*int64(k) < int64(k)*int64(n)
	}
	return cols > tiles
}

// gemmCols is the column panel of Gemm when it splits columns.
const gemmCols = 16

// gemmTask is one Gemm call, split by Par.Run into tiles of gemmRows rows
// of C, or (byCols) into panels of gemmCols columns. A(i,l) = a[i*ars+l*acs].
type gemmTask struct {
	transB     bool
	byCols     bool
	m, n, k    int
	a          []float32
	ars, acs   int
	b          []float32
	ldb        int
	c          []float32
	ldc        int
	accumulate bool
	// packed, when not nil, holds all of op(B) packed once for every worker (see prepack).
	packed  []float32
	packBuf *[]float32
}

// gemmTasks recycles gemmTask values, so that Gemm does not allocate.
var gemmTasks = sync.Pool{New: func() any { return new(gemmTask) }}

// Range computes the row tiles (or column panels) [lo, hi) of C, with the
// assembly kernel where the architecture and the CPU have one (see
// gemmTiles), or with the pure-Go kernels of this file; both compute
// identical bits.
func (t *gemmTask) Range(lo, hi int) {
	if t.byCols {
		gemmTiles(t, 0, t.m, lo*gemmCols, min(hi*gemmCols, t.n))
	} else {
		gemmTiles(t, lo*gemmRows, min(hi*gemmRows, t.m), 0, t.n)
	}
}

// generic computes the block [i0, i1) × [j0, j1) of C with the pure-Go
// kernels.
func (t *gemmTask) generic(i0, i1, j0, j1 int) {
	c := t.c[j0:]
	if t.transB {
		gemmDot(i0, i1, j1-j0, t.k, t.a, t.ars, t.acs, t.b[j0*t.ldb:], t.ldb, c, t.ldc, t.accumulate)
	} else {
		gemmAxpy(i0, i1, j1-j0, t.k, t.a, t.ars, t.acs, t.b[j0:], t.ldb, c, t.ldc, t.accumulate)
	}
}

// CheckGemm reports whether the arguments of Gemm with the same names
// satisfy its preconditions, wrapping ErrShape if they do not. It does not
// check for overlap.
func CheckGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("%w: gemm m=%d n=%d k=%d", ErrShape, m, n, k)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	return errors.Join(
		checkMatrix("a", a, ar, ac, lda),
		checkMatrix("b", b, br, bc, ldb),
		checkMatrix("c", c, m, n, ldc),
	)
}

// checkMatrix checks that s holds a rows×cols row-major matrix with leading
// dimension ld.
func checkMatrix(name string, s []float32, rows, cols, ld int) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	if ld < cols {
		return fmt.Errorf("%w: gemm %s: leading dimension %d < %d columns", ErrShape, name, ld, cols)
	}
	need := int64(rows-1)*int64(ld) + int64(cols)
	if int64(len(s)) < need {
		return fmt.Errorf("%w: gemm %s: length %d < %d needed for %dx%d with ld %d", ErrShape, name, len(s), need, rows, cols, ld)
	}
	return nil
}

// gemmAxpy computes rows [i0,i1) of C for B not transposed: for each l in
// ascending order it adds A(i,l)·(row l of B) to row i of C, which folds
// every C(i,j) over l ascending. A(i,l) = a[i*ars+l*acs].
func gemmAxpy(i0, i1, n, k int, a []float32, ars, acs int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	i := i0
	for ; i+2 <= i1; i += 2 {
		c0 := c[i*ldc : i*ldc+n]
		c1 := c[(i+1)*ldc : (i+1)*ldc+n]
		if !accumulate {
			clear(c0)
			clear(c1)
		}
		l := 0
		for ; l+4 <= k; l += 4 {
			p0, p1 := i*ars+l*acs, (i+1)*ars+l*acs
			o := l * ldb
			axpy2x4(c0, c1,
				a[p0], a[p0+acs], a[p0+2*acs], a[p0+3*acs],
				a[p1], a[p1+acs], a[p1+2*acs], a[p1+3*acs],
				b[o:o+n], b[o+ldb:o+ldb+n], b[o+2*ldb:o+2*ldb+n], b[o+3*ldb:o+3*ldb+n])
		}
		for ; l < k; l++ {
			o := l * ldb
			axpy2x1(c0, c1, a[i*ars+l*acs], a[(i+1)*ars+l*acs], b[o:o+n])
		}
	}
	for ; i < i1; i++ {
		c0 := c[i*ldc : i*ldc+n]
		if !accumulate {
			clear(c0)
		}
		l := 0
		for ; l+4 <= k; l += 4 {
			p0 := i*ars + l*acs
			o := l * ldb
			axpy1x4(c0, a[p0], a[p0+acs], a[p0+2*acs], a[p0+3*acs],
				b[o:o+n], b[o+ldb:o+ldb+n], b[o+2*ldb:o+2*ldb+n], b[o+3*ldb:o+3*ldb+n])
		}
		for ; l < k; l++ {
			o := l * ldb
			axpy1x1(c0, a[i*ars+l*acs], b[o:o+n])
		}
	}
}

// axpy2x4 adds four consecutive l terms to two rows of C, in l order.
func axpy2x4(c0, c1 []float32, a00, a01, a02, a03, a10, a11, a12, a13 float32, b0, b1, b2, b3 []float32) {
	n := len(c0)
	c1, b0, b1, b2, b3 = c1[:n], b0[:n], b1[:n], b2[:n], b3[:n]
	for j := range n {
		x0, x1, x2, x3 := b0[j], b1[j], b2[j], b3[j]
		s := c0[j]
		s = s + float32(a00*x0)
		s = s + float32(a01*x1)
		s = s + float32(a02*x2)
		s = s + float32(a03*x3)
		c0[j] = s
		t := c1[j]
		t = t + float32(a10*x0)
		t = t + float32(a11*x1)
		t = t + float32(a12*x2)
		t = t + float32(a13*x3)
		c1[j] = t
	}
}

// axpy2x1 adds one l term to two rows of C.
func axpy2x1(c0, c1 []float32, a0, a1 float32, b0 []float32) {
	n := len(c0)
	c1, b0 = c1[:n], b0[:n]
	for j := range n {
		x := b0[j]
		c0[j] = c0[j] + float32(a0*x)
		c1[j] = c1[j] + float32(a1*x)
	}
}

// axpy1x4 adds four consecutive l terms to one row of C, in l order.
func axpy1x4(c0 []float32, a0, a1, a2, a3 float32, b0, b1, b2, b3 []float32) {
	n := len(c0)
	b0, b1, b2, b3 = b0[:n], b1[:n], b2[:n], b3[:n]
	for j := range n {
		s := c0[j]
		s = s + float32(a0*b0[j])
		s = s + float32(a1*b1[j])
		s = s + float32(a2*b2[j])
		s = s + float32(a3*b3[j])
		c0[j] = s
	}
}

// axpy1x1 adds one l term to one row of C.
func axpy1x1(c0 []float32, a0 float32, b0 []float32) {
	b0 = b0[:len(c0)]
	for j := range c0 {
		c0[j] = c0[j] + float32(a0*b0[j])
	}
}

// gemmDot computes rows [i0,i1) of C for B transposed, where row j of B^T
// (column j of op(B)) is contiguous: each C(i,j) is a dot product folded
// over l ascending, four columns at a time. A(i,l) = a[i*ars+l*acs].
func gemmDot(i0, i1, n, k int, a []float32, ars, acs int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	for i := i0; i < i1; i++ {
		crow := c[i*ldc : i*ldc+n]
		ai := i * ars
		j := 0
		for ; j+4 <= n; j += 4 {
			var s0, s1, s2, s3 float32
			if accumulate {
				s0, s1, s2, s3 = crow[j], crow[j+1], crow[j+2], crow[j+3]
			}
			o := j * ldb
			b0, b1, b2, b3 := b[o:o+k], b[o+ldb:o+ldb+k], b[o+2*ldb:o+2*ldb+k], b[o+3*ldb:o+3*ldb+k]
			if acs == 1 {
				s0, s1, s2, s3 = dot4(s0, s1, s2, s3, a[ai:ai+k], b0, b1, b2, b3)
			} else {
				for l := range k {
					x := a[ai+l*acs]
					s0 = s0 + float32(x*b0[l])
					s1 = s1 + float32(x*b1[l])
					s2 = s2 + float32(x*b2[l])
					s3 = s3 + float32(x*b3[l])
				}
			}
			crow[j], crow[j+1], crow[j+2], crow[j+3] = s0, s1, s2, s3
		}
		for ; j < n; j++ {
			var s float32
			if accumulate {
				s = crow[j]
			}
			o := j * ldb
			b0 := b[o : o+k]
			for l := range k {
				s = s + float32(a[ai+l*acs]*b0[l])
			}
			crow[j] = s
		}
	}
}

// dot4 folds four dot products of a with b0..b3 over l ascending, starting
// from s0..s3.
func dot4(s0, s1, s2, s3 float32, a, b0, b1, b2, b3 []float32) (float32, float32, float32, float32) {
	k := len(a)
	b0, b1, b2, b3 = b0[:k], b1[:k], b2[:k], b3[:k]
	for l, x := range a {
		s0 = s0 + float32(x*b0[l])
		s1 = s1 + float32(x*b1[l])
		s2 = s2 + float32(x*b2[l])
		s3 = s3 + float32(x*b3[l])
	}
	return s0, s1, s2, s3
}
