package sm_test

import (
	"fmt"

	"github.com/deai-go/deai/chain/sm"
)

// Machines are addressed by name on the chain.
func ExampleValidName() {
	for _, name := range []string{"stake", "market.v2", "", "Labeling", "a-name-that-is-much-too-long-to-be-valid"} {
		fmt.Printf("%q %v\n", name, sm.ValidName(name))
	}
	// Output:
	// "stake" true
	// "market.v2" true
	// "" false
	// "Labeling" false
	// "a-name-that-is-much-too-long-to-be-valid" false
}
