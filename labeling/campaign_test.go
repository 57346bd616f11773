package labeling

import (
	"errors"
	"testing"

	"github.com/deai-go/deai/labeling/aggregate"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

const (
	tagClient = 0xc1
	tagWorker = 0xa1
	tagValid  = 0xb1
	tagGuild  = 0xd1
)

// smallCampaign sets up words, a guild and a campaign of 20 binary items (5 of them gold,
// 3 labels each, quorum 1) and returns the world.
func smallCampaign(t testing.TB) *world {
	w := newWorld(t, Config{}, 100, 1_000_000, []byte{tagClient, tagWorker, tagValid, tagGuild}, 8)
	for i := range 4 {
		w.must(admin, MintWord{Word: uint32(100 + i), To: addr(tagWorker, i)})
	}
	w.must(admin, MintWord{Word: 200, To: addr(tagGuild, 0)})
	w.must(addr(tagGuild, 0), CreateGuild{CutBps: 1000})
	w.must(addr(tagGuild, 0), DepositWord{Guild: 1, Word: 200})
	w.must(addr(tagGuild, 0), AddMember{Guild: 1, Member: addr(tagWorker, 5)})
	gold := []GoldItem{{0, 1}, {1, 0}, {2, 1}, {3, 0}, {4, 1}}
	w.must(addr(tagClient, 0), CreateCampaign{Items: 20, Classes: 2, LabelsPerItem: 3, Quorum: 1,
		Reward: amt(100), ValidatorReward: amt(10), HolderReward: amt(1000),
		WorkerBond: amt(500), ValidatorBond: amt(300), Duration: 3600,
		Words: []WordUse{{100, 1}, {200, 3}}, Gold: gold})
	return w
}

func truth(item uint32) uint8 { return uint8(item*7%3) % 2 }

func TestCampaignLifecycle(t *testing.T) {
	w := smallCampaign(t)
	good := []stake.Address{addr(tagWorker, 0), addr(tagWorker, 1), addr(tagWorker, 5)}
	spammer := addr(tagWorker, 2)
	w.must(good[0], Join{Campaign: 1})
	w.must(good[1], Join{Campaign: 1})
	w.must(good[2], Join{Campaign: 1, Guild: 1})
	w.must(spammer, Join{Campaign: 1})
	w.must(addr(tagValid, 0), Join{Campaign: 1, Validator: true})
	gold := map[uint32]uint8{0: 1, 1: 0, 2: 1, 3: 0, 4: 1}
	for item := uint32(0); item < 20; item++ {
		want := truth(item)
		if g, ok := gold[item]; ok {
			want = g
		}
		for _, a := range good {
			w.must(a, Submit{Campaign: 1, Item: item, Class: want})
		}
	}
	// The spammer answers the gold items wrong and finds the other items full.
	for item := uint32(0); item < 5; item++ {
		if _, err := w.apply(spammer, Submit{Campaign: 1, Item: item, Class: 1 - gold[item]}); !errors.Is(err, ErrFull) {
			t.Fatalf("fourth label on item %d: %v, want ErrFull", item, err)
		}
	}
	w.must(addr(tagValid, 0), Vote{Campaign: 1, Worker: good[0], Item: 7, Approve: true})
	if _, err := w.apply(addr(tagValid, 0), Claim{Campaign: 1}); !errors.Is(err, ErrTooEarly) {
		t.Fatalf("claim before finalization: %v", err)
	}
	if _, err := w.apply(addr(tagValid, 0), Finalize{Campaign: 1}); !errors.Is(err, ErrTooEarly) {
		t.Fatalf("finalize before the end: %v", err)
	}
	w.now += 3600
	if _, err := w.apply(good[0], Submit{Campaign: 1, Item: 19, Class: 0}); !errors.Is(err, ErrTooLate) {
		t.Fatalf("label after the end: %v", err)
	}
	ev := w.must(addr(tagClient, 1), Finalize{Campaign: 1})
	if _, err := w.apply(addr(tagClient, 1), Finalize{Campaign: 1}); !errors.Is(err, ErrTooLate) {
		t.Fatalf("second finalize: %v", err)
	}
	if len(ev) != 6 || ev[5].Kind != "finalize" {
		t.Fatalf("events %v", ev)
	}
	// Each good worker: 20 accepted labels × 100 at full tier; the guild member gives 10% to
	// the guild's owner, who also earns 3/4 of the holder reward; the validator one vote.
	want := map[stake.Address]uint64{
		good[0]: 2000, good[1]: 2000, good[2]: 1800,
		addr(tagGuild, 0): 200 + 750,
		addr(tagValid, 0): 10,
	}
	want[addr(tagWorker, 0)] += 250 // the holder of word 100
	for a, x := range want {
		got, claimed := w.m.Claimable(1, a)
		if got.Uint64() != x || claimed {
			t.Errorf("%s: claimable %s (claimed %v), want %d", a, got.Dec(), claimed, x)
		}
	}
	if got, _ := w.m.Claimable(1, spammer); !got.IsZero() {
		t.Errorf("spammer may claim %s", got.Dec())
	}
	before := w.ledger.Balance(good[1])
	w.must(good[1], Claim{Campaign: 1})
	after := w.ledger.Balance(good[1])
	// 2000 less the ledger's 1% fee, plus the bond back (refunded at finalization already).
	if d := new(uint256.Int).Sub(&after, &before); d.Uint64() != 1980 {
		t.Errorf("claim paid %s, want 1980", d.Dec())
	}
	if _, err := w.apply(good[1], Claim{Campaign: 1}); !errors.Is(err, ErrNothingToClaim) {
		t.Fatalf("double claim: %v", err)
	}
	if _, err := w.apply(addr(tagValid, 0), BurnUnclaimed{Campaign: 1}); !errors.Is(err, ErrTooEarly) {
		t.Fatalf("burn inside the window: %v", err)
	}
	w.now += w.m.Config().ClaimWindow
	if _, err := w.apply(good[0], Claim{Campaign: 1}); !errors.Is(err, ErrTooLate) {
		t.Fatalf("claim after the window: %v", err)
	}
	burnedBefore := w.ledger.Burned()
	w.must(addr(tagValid, 0), BurnUnclaimed{Campaign: 1})
	if _, err := w.apply(addr(tagValid, 0), BurnUnclaimed{Campaign: 1}); !errors.Is(err, ErrTooLate) {
		t.Fatalf("second burn: %v", err)
	}
	if b := w.ledger.Burned(); !b.Gt(&burnedBefore) {
		t.Error("nothing burned")
	}
	if c, _ := w.m.Campaign(1); !c.Closed || !c.Vault.IsZero() {
		t.Errorf("campaign after the burn: %+v", c)
	}
}

// TestSpammerSlashed runs a campaign where one worker answers gold items at random and
// checks that Wald's test flags it, its bond is burned and it earns nothing.
func TestSpammerSlashed(t *testing.T) {
	w := newWorld(t, Config{}, 0, 1_000_000, []byte{tagClient, tagWorker}, 4)
	for i := range 4 {
		w.must(admin, MintWord{Word: uint32(i), To: addr(tagWorker, i)})
	}
	var gold []GoldItem
	for i := uint32(0); i < 40; i++ {
		gold = append(gold, GoldItem{Item: i, Class: truth(i)})
	}
	w.must(addr(tagClient, 0), CreateCampaign{Items: 60, Classes: 2, LabelsPerItem: 4,
		Reward: amt(10), WorkerBond: amt(1000), Duration: 100, Gold: gold})
	for i := range 4 {
		w.must(addr(tagWorker, i), Join{Campaign: 1})
	}
	for item := uint32(0); item < 60; item++ {
		for i := range 4 {
			class := truth(item)
			if i == 3 && item%4 != 0 { // the spammer: right one time in four
				class = 1 - class
			}
			w.must(addr(tagWorker, i), Submit{Campaign: 1, Item: item, Class: class})
		}
	}
	w.now += 100
	burned := w.ledger.Burned()
	ev := w.must(addr(tagClient, 0), Finalize{Campaign: 1})
	verdict := aggregate.Verdict(ev[3].Data[8+20+1+4+4])
	if verdict != aggregate.Spammer {
		t.Fatalf("spammer's verdict %v", verdict)
	}
	after := w.ledger.Burned()
	if d := new(uint256.Int).Sub(&after, &burned); d.Uint64() != 1000 {
		t.Errorf("burned %s, want the spammer's whole bond 1000", d.Dec())
	}
	for i := range 3 {
		if got, _ := w.m.Claimable(1, addr(tagWorker, i)); got.Uint64() != 600 {
			t.Errorf("worker %d may claim %s, want 600", i, got.Dec())
		}
	}
	if got, _ := w.m.Claimable(1, addr(tagWorker, 3)); !got.IsZero() {
		t.Errorf("spammer may claim %s", got.Dec())
	}
}

// TestBadInput checks that every refused transaction returns its typed error and leaves the
// machine and the ledger unchanged (world.apply checks the roots).
func TestBadInput(t *testing.T) {
	w := smallCampaign(t)
	worker, valid := addr(tagWorker, 0), addr(tagValid, 0)
	w.must(worker, Join{Campaign: 1})
	w.must(valid, Join{Campaign: 1, Validator: true})
	w.must(worker, Submit{Campaign: 1, Item: 5, Class: 1})
	spec := CreateCampaign{Items: 10, Classes: 2, LabelsPerItem: 1, Reward: amt(1), Duration: 10}
	for _, tc := range []struct {
		name   string
		sender stake.Address
		tx     Tx
		want   error
	}{
		{"unknown campaign", worker, Submit{Campaign: 9, Item: 0, Class: 0}, ErrUnknownCampaign},
		{"unknown item", worker, Submit{Campaign: 1, Item: 20, Class: 0}, ErrUnknownItem},
		{"label outside schema", worker, Submit{Campaign: 1, Item: 6, Class: 2}, ErrInvalidLabel},
		{"duplicate label", worker, Submit{Campaign: 1, Item: 5, Class: 0}, ErrDuplicate},
		{"unknown worker", addr(tagWorker, 1), Submit{Campaign: 1, Item: 5, Class: 0}, ErrUnknownParticipant},
		{"validator labels", valid, Submit{Campaign: 1, Item: 5, Class: 0}, ErrUnknownParticipant},
		{"vote unknown label", valid, Vote{Campaign: 1, Worker: worker, Item: 6, Approve: true}, ErrUnknownLabel},
		{"vote by worker", worker, Vote{Campaign: 1, Worker: worker, Item: 5}, ErrUnknownParticipant},
		{"join twice", worker, Join{Campaign: 1}, ErrDuplicate},
		{"join without word", addr(tagClient, 3), Join{Campaign: 1}, ErrNotEligible},
		{"join foreign guild", addr(tagWorker, 1), Join{Campaign: 1, Guild: 1}, ErrNotEligible},
		{"join unknown guild", addr(tagWorker, 1), Join{Campaign: 1, Guild: 7}, ErrUnknownGuild},
		{"join without bond money", addr(0xee, 1), Join{Campaign: 1, Validator: true}, ErrLedger},
		{"mint by non-admin", worker, MintWord{Word: 9, To: worker}, ErrNotAuthorized},
		{"mint twice", admin, MintWord{Word: 100, To: worker}, ErrDuplicate},
		{"transfer another's word", worker, TransferWord{Word: 101, To: worker}, ErrNotAuthorized},
		{"transfer unknown word", worker, TransferWord{Word: 999, To: worker}, ErrUnknownWord},
		{"guild cut", worker, CreateGuild{CutBps: 10001}, ErrInvalidCampaign},
		{"guild without money", addr(0xee, 2), CreateGuild{}, ErrLedger},
		{"add member not owner", worker, AddMember{Guild: 1, Member: worker}, ErrNotAuthorized},
		{"deposit into unknown guild", worker, DepositWord{Guild: 5, Word: 100}, ErrUnknownGuild},
		{"campaign with no items", addr(tagClient, 1), func() Tx { s := spec; s.Items = 0; return s }(), ErrInvalidCampaign},
		{"campaign with one class", addr(tagClient, 1), func() Tx { s := spec; s.Classes = 1; return s }(), ErrInvalidCampaign},
		{"campaign with unknown word", addr(tagClient, 1), func() Tx { s := spec; s.Words = []WordUse{{42, 1}}; return s }(), ErrUnknownWord},
		{"gold outside schema", addr(tagClient, 1), func() Tx { s := spec; s.Gold = []GoldItem{{1, 5}}; return s }(), ErrInvalidCampaign},
		{"campaign beyond balance", addr(tagClient, 1), func() Tx { s := spec; s.Reward = amt(1 << 40); return s }(), ErrLedger},
		{"claim unknown campaign", worker, Claim{Campaign: 5}, ErrUnknownCampaign},
		{"finalize early", worker, Finalize{Campaign: 1}, ErrTooEarly},
		{"burn early", worker, BurnUnclaimed{Campaign: 1}, ErrTooEarly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.apply(tc.sender, tc.tx)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if te, ok := errors.AsType[*TxError](err); !ok || te.Kind == "" {
				t.Fatalf("error %v is not a *TxError with a kind", err)
			}
		})
	}
	if _, err := w.m.Apply(w.env(), worker, []byte{1, 99}); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown code: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{FeeBps: 20000, Tiers: []Tier{{5000, 100}, {6000, 100}}}.EnsureDefaults().Validate()
	for _, want := range []string{"Self", "Admin", "FeeBps", "tier 1"} {
		if err == nil || !errors.Is(err, ErrInvalidConfig) || !contains(err.Error(), want) {
			t.Errorf("Validate: %v, want ErrInvalidConfig mentioning %s", err, want)
		}
	}
	if _, err := New(Config{Self: self, Admin: admin}, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil ledger: %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
