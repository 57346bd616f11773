//go:build amd64 && !purego

package kern

// useAVX2 selects the AVX2 GEMM kernel. It is set at start-up from CPUID
// (see hasAVX2); tests clear it to run the pure-Go twin on the same
// inputs. Both give identical bits: the kernel multiplies with VMULPS and
// adds with VADDPS, one IEEE-754 rounding each, exactly like
// acc + float32(a*b), and never uses FMA.
var useAVX2 = hasAVX2()

// hasAVX2 reports whether the CPU executes AVX2 and the operating system
// saves the YMM registers, the conditions Go's own internal/cpu checks:
// CPUID leaf 1 ECX bits 27 (OSXSAVE) and 28 (AVX), XCR0 bits 1 and 2 (SSE
// and AVX state enabled, read with XGETBV), and CPUID leaf 7 EBX bit 5
// (AVX2). golang.org/x/sys/cpu would answer the same but is not a
// dependency of this module.
func hasAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

// cpuid executes CPUID with EAX = leaf and ECX = sub.
//
//go:noescape
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// xgetbv executes XGETBV with ECX = 0 and returns XCR0.
//
//go:noescape
func xgetbv() (eax, edx uint32)

// gemm4x16 computes a 4×16 tile of C from k steps: with A(r,l) at
// a[r*ars+l*acs] and B(l,j) at b[l*ldb+j] (a packed panel, ldb = 16, or
// B itself),
//
//	acc(r,j) = accumulate ? c[r*ldc+j] : +0
//	for l = 0..k-1: acc(r,j) = acc(r,j) + float32(A(r,l)*B(l,j))
//	c[r*ldc+j] = acc(r,j)
//
// for r < 4, j < 16: each lane of the eight YMM accumulators is one element
// of C folded over l ascending, VMULPS then VADDPS. Strides are in elements.
// The caller checks that every element addressed lies inside its slice.
//
//go:noescape
func gemm4x16(k int, a *float32, ars, acs int, b *float32, ldb int, c *float32, ldc int, accumulate bool)

// gemm1x16 is gemm4x16 for one row of C.
//
//go:noescape
func gemm1x16(k int, a *float32, acs int, b *float32, ldb int, c *float32, accumulate bool)

// gemmKC is the number of reduction steps packed at a time: a 16-column
// panel of gemmKC rows of B is 16 KiB, and stays in the L1 cache while every
// row tile of C consumes it. Splitting the fold over l into blocks changes
// nothing: a block ends by storing the float32 accumulators into C and the
// next resumes from them.
const gemmKC = 256

// gemmTiles computes the block [i0, i1) × [j0, j1) of C, with the AVX2
// kernel when the CPU has it and with the pure-Go twin otherwise.
func gemmTiles(t *gemmTask, i0, i1, j0, j1 int) {
	if useAVX2 {
		t.avx2(i0, i1, j0, j1)
	} else {
		t.generic(i0, i1, j0, j1)
	}
}

// gemmPackRows is the least number of rows of C for which a full-width
// panel of a non-transposed B is packed: packing costs about as much as one
// 4-row tile, and pays for itself by the contiguous, cache-friendly panel
// only when many tiles read it.
const gemmPackRows = 32

// avx2 computes the block [i0, i1) × [j0, j1) of C with gemm4x16 and
// gemm1x16: for every 16-column panel of C, and every block of gemmKC
// reduction steps, it packs that block of B into a contiguous 16-wide panel
// (zero-padded past j1), unless B is not transposed, the panel is full and
// few rows read it, in which case the kernel reads B in place; then it runs
// the kernel on every 4-row tile, then on every remaining row. A panel
// narrower than 16 columns goes through a 4×16 scratch tile. The fold of
// every C(i,j) stays one sequential pass over l ascending.
func (t *gemmTask) avx2(i0, i1, j0, j1 int) {
	var pack [gemmKC * 16]float32
	var tile [4 * 16]float32
	k, ars, acs, ldc := t.k, t.ars, t.acs, t.ldc
	a, c := t.a, t.c
	for ; j0 < j1; j0 += 16 {
		w := min(16, j1-j0)
		direct := !t.transB && w == 16 && i1-i0 < gemmPackRows
		for l0 := 0; l0 < k; l0 += gemmKC {
			kb := min(gemmKC, k-l0)
			bp, ldb := &pack[0], 16
			if t.packed != nil {
				bp = &t.packed[(j0/16*k+l0)*16]
			} else if direct {
				o := l0*t.ldb + j0
				_ = t.b[o+(kb-1)*t.ldb+15]
				bp, ldb = &t.b[o], t.ldb
			} else {
				t.packB(pack[:kb*16], j0, w, l0, kb)
			}
			acc := t.accumulate || l0 > 0
			i := i0
			for ; i+4 <= i1; i += 4 {
				// The kernel reads A(i..i+3, l0..l0+kb-1); index the last
				// one so that a violated precondition panics here.
				p := i*ars + l0*acs
				_ = a[p+3*ars+(kb-1)*acs]
				if w == 16 {
					_ = c[(i+3)*ldc+j0+15]
					gemm4x16(kb, &a[p], ars, acs, bp, ldb, &c[i*ldc+j0], ldc, acc)
					continue
				}
				if acc {
					for r := range 4 {
						copy(tile[r*16:r*16+w], c[(i+r)*ldc+j0:(i+r)*ldc+j0+w])
					}
				}
				gemm4x16(kb, &a[p], ars, acs, bp, ldb, &tile[0], 16, acc)
				for r := range 4 {
					copy(c[(i+r)*ldc+j0:(i+r)*ldc+j0+w], tile[r*16:r*16+w])
				}
			}
			for ; i < i1; i++ {
				p := i*ars + l0*acs
				_ = a[p+(kb-1)*acs]
				if w == 16 {
					_ = c[i*ldc+j0+15]
					gemm1x16(kb, &a[p], acs, bp, ldb, &c[i*ldc+j0], acc)
					continue
				}
				if acc {
					copy(tile[:w], c[i*ldc+j0:i*ldc+j0+w])
				}
				gemm1x16(kb, &a[p], acs, bp, ldb, &tile[0], acc)
				copy(c[i*ldc+j0:i*ldc+j0+w], tile[:w])
			}
		}
	}
}

// packB copies B(l0+l, j0+j), l < kb, j < w, into pack[l*16+j], and zeros
// the columns j ≥ w.
func (t *gemmTask) packB(pack []float32, j0, w, l0, kb int) {
	b, ldb := t.b, t.ldb
	if w < 16 {
		clear(pack)
	}
	if !t.transB {
		if w == 16 {
			for l := range kb {
				o := (l0+l)*ldb + j0
				*(*[16]float32)(pack[l*16:]) = *(*[16]float32)(b[o:])
			}
			return
		}
		for l := range kb {
			o := (l0+l)*ldb + j0
			copy(pack[l*16:l*16+w], b[o:o+w])
		}
		return
	}
	// B(l,j) = b[j*ldb+l]: column j of op(B) is row j of b.
	for j := range w {
		o := (j0+j)*ldb + l0
		col := b[o : o+kb]
		for l, v := range col {
			pack[l*16+j] = v
		}
	}
}

// prepack packs all of a transposed B into t.packed, panel after panel (each gemmKC-row block
// as packB lays it out), when split is set: Gemm is about to split the rows of C among
// workers, and each of them would otherwise pack the whole of B again for its rows. (A
// transposed B is packed column by column, a strided gather that costs as much as the
// products when C has few rows, as in a convolution's weight gradient.) The packing itself is
// split among the workers; the products read the packed panels exactly as they read packB's.
func (t *gemmTask) prepack(p Par, split bool) {
	if !useAVX2 || !split || t.byCols || !t.transB {
		return
	}
	panels, blocks := (t.n+15)/16, (t.k+gemmKC-1)/gemmKC
	buf := packBufs.get(panels * t.k * 16)
	t.packed = *buf
	t.packBuf = buf
	p.Run(panels*blocks, max(1, (1<<16)/(gemmKC*16)), (*packTask)(t))
}

// unpack returns the packed buffer for reuse.
func (t *gemmTask) unpack() {
	if t.packBuf != nil {
		packBufs.put(t.packBuf)
	}
}

// packBufs recycles prepack's buffers.
var packBufs bufList[float32]

// packTask packs units [lo, hi) of prepack: unit u is block u%blocks of panel u/blocks.
type packTask gemmTask

// Range implements Ranger.
func (pt *packTask) Range(lo, hi int) {
	t := (*gemmTask)(pt)
	blocks := (t.k + gemmKC - 1) / gemmKC
	for u := lo; u < hi; u++ {
		jp, l0 := u/blocks, u%blocks*gemmKC
		kb := min(gemmKC, t.k-l0)
		o := (jp*t.k + l0) * 16
		t.packB(t.packed[o:o+kb*16], jp*16, min(16, t.n-jp*16), l0, kb)
	}
}

// packedGemm reports whether gemmPackedB runs the AVX2 kernel (Conv2DGradWeight then writes
// its im2col straight into the packed layout).
func packedGemm() bool { return useAVX2 }

// gemmPackedB is Gemm(p, false, true, m, n, k, a, lda, B, ·, c, ldc, false) for a B given in
// the packed panel layout that prepack produces: B(l, j) = packed[((j/16)*k + l)*16 + j%16],
// +0 past column n. It needs the AVX2 kernel (packedGemm).
func gemmPackedB(p Par, m, n, k int, a []float32, lda int, packed []float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 {
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	tiles, cols := (m+gemmRows-1)/gemmRows, (n+gemmCols-1)/gemmCols
	byCols := splitByCols(p, m, n, k, tiles, cols)
	work, units := int64(gemmRows)*int64(n)*int64(k), tiles
	if byCols {
		work, units = int64(m)*int64(gemmCols)*int64(k), cols
	}
	t := gemmTasks.Get().(*gemmTask)
	*t = gemmTask{transB: true, byCols: byCols, m: m, n: n, k: k, a: a, ars: lda, acs: 1, c: c, ldc: ldc, packed: packed}
	p.Run(units, int(max(1, gemmGrain/work)), t)
	*t = gemmTask{}
	gemmTasks.Put(t)
}
