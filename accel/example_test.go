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
	// b98b0dbb5945574b46048da3abd87d55c0cf6d23287f7d620788e1d79111b711
	// +0 and -0 differ: true
	// NaN payloads agree: true
}
