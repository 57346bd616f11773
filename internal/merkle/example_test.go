package merkle_test

import (
	"fmt"

	"github.com/deai-go/deai/internal/merkle"
)

// Commit to five leaves, prove one, and check the proof against the root alone.
func Example() {
	var leaves []merkle.Hash
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		leaves = append(leaves, merkle.LeafHash([]byte(s)))
	}
	t := merkle.New(leaves)
	p, err := t.Proof(3)
	if err != nil {
		panic(err)
	}
	fmt.Println("siblings:", len(p.Siblings))
	fmt.Println("valid:", merkle.Verify(t.Root(), leaves[3], p) == nil)
	fmt.Println("other leaf:", merkle.Verify(t.Root(), leaves[2], p) != nil)
	// Output:
	// siblings: 3
	// valid: true
	// other leaf: true
}
