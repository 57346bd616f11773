package kern

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BenchmarkGemmVsGonum runs the deterministic GEMM and gonum's Sgemm (the pure-Go BLAS the Go
// ecosystem uses; not bit-exact across architectures) on the same square float32 matrices, side
// by side in one run. Both use GOMAXPROCS workers: compare them with -cpu 1 and -cpu 2.
//
//	go test -run '^$' -bench GemmVsGonum -cpu 1,2 -count 3 ./accel/cpu/internal/kern
func BenchmarkGemmVsGonum(b *testing.B) {
	for _, n := range []int{256, 512, 1024} {
		r := rand.New(rand.NewPCG(uint64(n), 1))
		a, bm, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
		for i := range a {
			a[i], bm[i] = r.Float32()-0.5, r.Float32()-0.5
		}
		flops := 2 * float64(n) * float64(n) * float64(n)
		b.Run(fmt.Sprintf("n=%d/deai", n), func(b *testing.B) {
			p := Par{Workers: runtime.GOMAXPROCS(0)}
			for b.Loop() {
				Gemm(p, false, false, n, n, n, a, n, bm, n, c, n, false)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("n=%d/gonum", n), func(b *testing.B) {
			var impl gonum.Implementation
			for b.Loop() {
				impl.Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, a, n, bm, n, 0, c, n)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
