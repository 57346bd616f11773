package f32_test

import (
	"fmt"
	"math"

	"github.com/deai-go/deai/internal/f32"
)

// The canonical functions give the same bits on every architecture.
func Example() {
	for _, x := range []float32{-1, 0, 0.5, 10} {
		fmt.Printf("x=%v exp=%#08x log=%#08x tanh=%#08x\n", x, math.Float32bits(f32.Exp(x)), math.Float32bits(f32.Log(x)), math.Float32bits(f32.Tanh(x)))
	}
	// Output:
	// x=-1 exp=0x3ebc5ab2 log=0x7fc00000 tanh=0xbf42f7d6
	// x=0 exp=0x3f800000 log=0xff800000 tanh=0x00000000
	// x=0.5 exp=0x3fd3094c log=0xbf317218 tanh=0x3eec9a9f
	// x=10 exp=0x46ac14ee log=0x40135d8e tanh=0x3f800000
}
