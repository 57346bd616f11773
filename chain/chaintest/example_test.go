package chaintest_test

import (
	"context"
	"testing"

	"github.com/deai-go/deai/chain/chaintest"
	"github.com/deai-go/deai/chain/embedded"
	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
)

// An adapter's own test runs the conformance suite against a fresh adapter per case; here the
// embedded chain in memory, whose blocks the harness commits on demand.
func ExampleTestAdapter() {
	conformance := func(t *testing.T) {
		chaintest.TestAdapter(t, func(t *testing.T, g stake.Genesis) chaintest.Harness {
			ledger, err := stake.New(g)
			if err != nil {
				t.Fatal(err)
			}
			c, err := embedded.Open(embedded.Config{Machines: []sm.Machine{ledger}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return chaintest.Harness{Adapter: c, Commit: func(ctx context.Context) error {
				_, err := c.Commit(ctx)
				return err
			}}
		})
	}
	_ = conformance // in a _test.go file: func TestConformance(t *testing.T) { conformance(t) }
}
