package embedded

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/deai-go/deai/chain/chaintest"
	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
)

func newLedger(t testing.TB, g stake.Genesis) *stake.Ledger {
	t.Helper()
	l, err := stake.New(g)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(t *testing.T) Config
		auto bool
	}{
		{"memory", func(t *testing.T) Config { return Config{} }, false},
		{"bbolt", func(t *testing.T) Config {
			return Config{Path: filepath.Join(t.TempDir(), "chain.db"), SnapshotInterval: 3}
		}, false},
		{"autocommit", func(t *testing.T) Config {
			return Config{Path: filepath.Join(t.TempDir(), "chain.db"), AutoCommit: true}
		}, true},
		{"cadence", func(t *testing.T) Config { return Config{BlockInterval: time.Millisecond} }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chaintest.TestAdapter(t, func(t *testing.T, g stake.Genesis) chaintest.Harness {
				cfg := tc.cfg(t)
				cfg.Machines = []sm.Machine{newLedger(t, g)}
				c, err := Open(cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				h := chaintest.Harness{Adapter: c}
				if !tc.auto {
					h.Commit = func(ctx context.Context) error { _, err := c.Commit(ctx); return err }
				}
				return h
			})
		})
	}
}
