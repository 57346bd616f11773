package labeling_test

import (
	"fmt"
	"os"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/labeling"
	"github.com/deai-go/deai/labeling/aggregate"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// Example runs a campaign on the real Bluebirds labels: 39 crowd workers, all in one guild
// that holds a word NFT, label 108 images; 20 of them are gold. The machine runs Wald's test
// on the gold answers, Dawid-Skene on the rest, pays by approval tier and burns the bonds of
// the workers it flags.
func Example() {
	labels, _ := os.Open("testdata/bluebirds/labels.yaml")
	defer labels.Close()
	gt, _ := os.Open("testdata/bluebirds/gt.yaml")
	defer gt.Close()
	data, err := aggregate.ParseBluebirds(labels, gt)
	if err != nil {
		fmt.Println(err)
		return
	}
	id := func(tag byte, i int) (a stake.Address) { a[0], a[19] = tag, byte(i); return a }
	self, admin, client, guildOwner := id(0xf0, 0), id(0xad, 0), id(0xc1, 0), id(0xd1, 0)
	genesis := stake.Genesis{Accounts: []stake.GenesisAccount{
		{Address: client, Balance: *uint256.NewInt(10_000_000)}, {Address: guildOwner, Balance: *uint256.NewInt(10_000)}}}
	for j := range data.Workers {
		genesis.Accounts = append(genesis.Accounts, stake.GenesisAccount{Address: id(0xa1, j), Balance: *uint256.NewInt(1_000)})
	}
	ledger, _ := stake.New(genesis)
	m, err := labeling.New(labeling.Config{Self: self, Admin: admin, MaxLabelsPerItem: 64,
		SPRT: aggregate.SPRT{Honest: 0.7, Spammer: 0.4, FalseAlarm: 0.01, Miss: 0.05}}, ledger)
	if err != nil {
		fmt.Println(err)
		return
	}
	env := sm.Env{ChainID: 1, Time: 1_000}
	send := func(from stake.Address, tx labeling.Tx) []sm.Event {
		ev, err := m.ApplyTx(env, from, tx)
		if err != nil {
			fmt.Println(err)
		}
		return ev
	}
	send(admin, labeling.MintWord{Word: 7, To: guildOwner})
	send(guildOwner, labeling.CreateGuild{CutBps: 500})
	send(guildOwner, labeling.DepositWord{Guild: 1, Word: 7})
	var gold []labeling.GoldItem
	for i := 0; i < data.Items; i += data.Items / 20 {
		gold = append(gold, labeling.GoldItem{Item: uint32(i), Class: uint8(data.Gold[i])})
	}
	send(client, labeling.CreateCampaign{Items: uint32(data.Items), Classes: 2, LabelsPerItem: 39,
		Reward: *uint256.NewInt(10), HolderReward: *uint256.NewInt(5_000), WorkerBond: *uint256.NewInt(100),
		Duration: 86_400, Words: []labeling.WordUse{{Word: 7, Weight: 1}}, Gold: gold})
	for j := range data.Workers {
		send(guildOwner, labeling.AddMember{Guild: 1, Member: id(0xa1, j)})
		send(id(0xa1, j), labeling.Join{Campaign: 1, Guild: 1})
	}
	for _, l := range data.Labels {
		send(id(0xa1, int(l.Worker)), labeling.Submit{Campaign: 1, Item: uint32(l.Item), Class: uint8(l.Class)})
	}
	env.Time += 86_400
	var flagged, paid, full int
	for _, e := range send(client, labeling.Finalize{Campaign: 1}) {
		if e.Kind != "score" {
			continue
		}
		_, s, _ := labeling.DecodeScore(e.Data)
		switch {
		case s.Verdict == aggregate.Spammer:
			flagged++
		case !s.Reward.IsZero():
			paid++
		}
		if s.Submitted > 0 && s.Accepted == s.Submitted {
			full++
		}
	}
	fmt.Printf("workers: %d flagged as spammers, %d paid, %d with every label accepted\n", flagged, paid, full)
	for _, a := range []stake.Address{id(0xa1, 0), guildOwner} {
		amount, _ := m.Claimable(1, a)
		fmt.Printf("claimable by %s: %s\n", a, amount.Dec())
	}
	t := m.Totals()
	fmt.Printf("in %s = refunded %s + burned %s + fees %s + held %s\n",
		t.In.Dec(), t.Refunded.Dec(), t.Burned.Dec(), t.Fees.Dec(), t.Held.Dec())
	// Output:
	// workers: 6 flagged as spammers, 31 paid, 0 with every label accepted
	// claimable by 0xa100000000000000000000000000000000000000: 730
	// claimable by 0xd100000000000000000000000000000000000000: 5781
	// in 53198 = refunded 29547 + burned 640 + fees 2178 + held 20833
}
