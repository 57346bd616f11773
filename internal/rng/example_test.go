package rng_test

import (
	"fmt"

	"github.com/deai-go/deai/internal/rng"
)

// Streams are functions of (seed, stream): every machine draws the same values.
func Example() {
	s := rng.New(42, 1)
	fmt.Println(s.Uint32(), s.Uint32n(10), s.Float32())
	fmt.Println(rng.Permutation(rng.New(42, 2), 8))
	// Output:
	// 43202409 1 0.23206615
	// [0 1 4 5 6 2 7 3]
}
