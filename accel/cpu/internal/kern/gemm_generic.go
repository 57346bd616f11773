//go:build !amd64 || purego

package kern

// gemmTiles computes the block [i0, i1) × [j0, j1) of C. This build has
// no assembly kernel: the pure-Go kernels are the only ones.
func gemmTiles(t *gemmTask, i0, i1, j0, j1 int) { t.generic(i0, i1, j0, j1) }

// prepack does nothing in this build: the pure-Go kernels read B in place.
func (t *gemmTask) prepack(Par, bool) {}

// unpack does nothing in this build.
func (t *gemmTask) unpack() {}
