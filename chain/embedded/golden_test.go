package embedded

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/chain/chaintest"
	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

var rewrite = flag.Bool("rewrite", false, "rewrite golden files in testdata")

// TestGolden pins the transaction encoding, signatures (RFC 6979, deterministic), transaction
// hashes and block headers of a fixed scenario on a fixed clock: a change here breaks every
// stored chain and every other adapter's agreement. Regenerate with -rewrite.
func TestGolden(t *testing.T) {
	ctx := t.Context()
	clock := time.Unix(1_700_000_000, 0)
	c, err := Open(Config{ChainID: 7, Machines: []sm.Machine{newLedger(t, chaintest.Genesis())}, Clock: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	keys := chaintest.Keys()
	var sb strings.Builder
	g, _ := c.HeaderAt(ctx, 0)
	fmt.Fprintf(&sb, "genesis %x %x\n", g.Encode(), g.Hash())
	for i := range 3 {
		for j, k := range keys {
			to := stake.Address(chain.KeyAddress(keys[(j+1)%len(keys)]))
			var op stake.Op = stake.Transfer{To: to, Amount: *uint256.NewInt(uint64(100*i + j + 1))}
			if j == 3 {
				op = stake.Bond{Amount: *uint256.NewInt(uint64(i + 1))}
			}
			p, _ := stake.EncodeOp(op)
			tx, err := chain.Sign(chain.Tx{ChainID: 7, Nonce: uint64(i), Machine: stake.Name, Payload: p}, k)
			if err != nil {
				t.Fatal(err)
			}
			h, err := c.Submit(ctx, tx)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				fmt.Fprintf(&sb, "tx %x %x\n", tx.Encode(), h[:])
			}
		}
		clock = clock.Add(12 * time.Second)
		hdr, err := c.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "block %d %x %x\n", hdr.Height, hdr.Encode(), hdr.Hash())
	}
	got := sb.String()
	path := filepath.Join("testdata", "golden.txt")
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -rewrite to create)", err)
	}
	if got != string(want) {
		t.Errorf("golden mismatch (run with -rewrite if the change is intended):\n%s", got)
	}
}
