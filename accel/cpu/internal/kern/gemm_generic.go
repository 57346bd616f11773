//go:build !amd64 || purego

package kern

// gemmTiles computes the block [i0, i1) × [j0, j1) of C. This build has
// no assembly kernel: the pure-Go kernels are the only ones.
func gemmTiles(t *gemmTask, i0, i1, j0, j1 int) { t.generic(i0, i1, j0, j1) }

// prepack does nothing in this build: the pure-Go kernels read B in place.
func (t *gemmTask) prepack(Par, bool) {}

// unpack does nothing in this build.
func (t *gemmTask) unpack() {}

// packedGemm is false in this build: Conv2DGradWeight gathers a plain im2col for Gemm.
func packedGemm() bool { return false }

// gemmPackedB is not used in this build (packedGemm is false); it computes the same fold
// from the packed layout value by value, for completeness.
func gemmPackedB(_ Par, m, n, k int, a []float32, lda int, packed []float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var acc float32
			for l := range k {
				acc = acc + float32(a[i*lda+l]*packed[((j>>4)*k+l)*16+j&15])
			}
			c[i*ldc+j] = acc
		}
	}
}
