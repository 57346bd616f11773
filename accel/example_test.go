package accel_test

import (
	"fmt"
	"math"

	"github.com/deai-go/deai/accel"
)

// Tensor hashes cover the exact bits and the shape; every NaN hashes alike, because processors
// differ in the NaN payloads they produce.
func ExampleTensorHash() {
	a := accel.TensorHash([]int{2, 2}, []float32{1, -2, 0.5, float32(math.Inf(1))})
	fmt.Println(a)
	negZero := float32(math.Copysign(0, -1))
	fmt.Println("+0 and -0 differ:", accel.TensorHash([]int{1}, []float32{0}) != accel.TensorHash([]int{1}, []float32{negZero}))
	nan1, nan2 := math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc00001)
	fmt.Println("NaN payloads agree:", accel.TensorHash([]int{1}, []float32{nan1}) == accel.TensorHash([]int{1}, []float32{nan2}))
	// Output:
	// 495f175cc2c6cb2b13e8e5e72719c27144a64ae86f03f51e77230cc432758e34
	// +0 and -0 differ: true
	// NaN payloads agree: true
}
