package labeling

import (
	"fmt"
	"testing"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/stake"
)

// BenchmarkTxLedgerSize measures one multi-operation transaction (CreateCampaign: an escrow
// for the vault and a platform fee, two ledger operations) on ledgers of 10^3 and 10^6
// accounts. The machine checks every operation against the entries it touches before the
// first one moves, so the cost per transaction does not grow with the ledger.
func BenchmarkTxLedgerSize(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			g := stake.Genesis{Params: stake.Params{FeeBps: 30}}
			g.Accounts = make([]stake.GenesisAccount, 0, n+1)
			client := addr(tagClient, 0)
			g.Accounts = append(g.Accounts, stake.GenesisAccount{Address: client, Balance: amt(1 << 62)})
			for i := range n {
				var a stake.Address
				a[0], a[1], a[2], a[3] = 0x77, byte(i>>16), byte(i>>8), byte(i)
				g.Accounts = append(g.Accounts, stake.GenesisAccount{Address: a, Balance: amt(1000)})
			}
			l, err := stake.New(g)
			if err != nil {
				b.Fatal(err)
			}
			m, err := New(Config{Self: self, Admin: admin, FeeBps: 100}, l)
			if err != nil {
				b.Fatal(err)
			}
			tx := CreateCampaign{Items: 1, Classes: 2, LabelsPerItem: 1, Reward: amt(100), Duration: 60}
			env := sm.Env{ChainID: 1, Height: 1, Time: 1000}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.ApplyTx(env, client, tx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
