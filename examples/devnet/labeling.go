package main

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/labeling"
	"github.com/deai-go/deai/labeling/aggregate"
	"github.com/holiman/uint256"
)

func (w *world) labelingTx(ctx context.Context, n *node, tx labeling.Tx) (chain.Hash, error) {
	b, err := labeling.EncodeTx(tx)
	if err != nil {
		return chain.Hash{}, err
	}
	return w.submit(ctx, n, labeling.Name, b)
}

// LabelReport is what the labeling campaign did.
type LabelReport struct {
	Campaign uint64 `json:"campaign"`
	Workers  int    `json:"workers"`
	Items    int    `json:"items"`
	Labels   int    `json:"labels_submitted"`
	Accepted int    `json:"labels_accepted"`
	Spammers int    `json:"spammers_flagged"`
	Paid     int    `json:"workers_paid"`
	Claimed  string `json:"claimed"`
	Burned   string `json:"burned"`
	Fees     string `json:"fees"`
	Refunded string `json:"refunded"`
}

// label runs a campaign on the Bluebirds corpus: a word NFT held by a guild whose members are
// the corpus's workers, every real crowd label a Submit transaction, Finalize (Wald's test on
// gold, Dawid-Skene on the rest, tiered pay, slashing), then the claims.
func (d *devnet) label(ctx context.Context, corpus *aggregate.Corpus, workers []*node) (*LabelReport, error) {
	w := d.w
	one := func(n *node, tx labeling.Tx) (chain.Receipt, error) {
		h, err := w.labelingTx(ctx, n, tx)
		if err != nil {
			return chain.Receipt{}, err
		}
		rs, err := w.commit(ctx, h)
		if err != nil {
			return chain.Receipt{}, fmt.Errorf("%s: %T: %w", n.name, tx, err)
		}
		return rs[0], nil
	}
	many := func(hs []chain.Hash) error {
		_, err := w.commit(ctx, hs...)
		return err
	}
	word := uint32(1)
	for {
		if _, _, ok := w.labeling.WordOwner(word); !ok {
			break
		}
		word++
	}
	if _, err := one(w.admin, labeling.MintWord{Word: word, To: w.guildOwner.addr}); err != nil {
		return nil, err
	}
	r, err := one(w.guildOwner, labeling.CreateGuild{CutBps: 500})
	if err != nil {
		return nil, err
	}
	guild := uint32(0)
	for _, e := range r.Events {
		if e.Machine == labeling.Name && e.Kind == "guild_create" && len(e.Data) >= 4 {
			guild = binary.BigEndian.Uint32(e.Data)
		}
	}
	if _, err := one(w.guildOwner, labeling.DepositWord{Guild: guild, Word: word}); err != nil {
		return nil, err
	}
	nw := len(workers)
	var gold []labeling.GoldItem
	for i := 0; i < corpus.Items; i += max(1, corpus.Items/20) {
		gold = append(gold, labeling.GoldItem{Item: uint32(i), Class: uint8(corpus.Gold[i])})
	}
	r, err = one(w.client, labeling.CreateCampaign{Items: uint32(corpus.Items), Classes: 2, LabelsPerItem: uint8(nw),
		Reward: *uint256.NewInt(10), HolderReward: *uint256.NewInt(5000), WorkerBond: *uint256.NewInt(100),
		Duration: 3600, Words: []labeling.WordUse{{Word: word, Weight: 1}}, Gold: gold})
	if err != nil {
		return nil, err
	}
	var campaign uint64
	for _, e := range r.Events {
		if e.Machine == labeling.Name && e.Kind == "campaign_create" && len(e.Data) >= 8 {
			campaign = binary.BigEndian.Uint64(e.Data)
		}
	}
	d.event("labeling: %s opens campaign %d on Bluebirds (%d items, %d gold), word NFT %d held by guild %d of %s",
		w.client.name, campaign, corpus.Items, len(gold), word, guild, w.guildOwner.name)
	var hs []chain.Hash
	for _, n := range workers {
		h, err := w.labelingTx(ctx, w.guildOwner, labeling.AddMember{Guild: guild, Member: n.addr})
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	if err := many(hs); err != nil {
		return nil, err
	}
	hs = hs[:0]
	for _, n := range workers {
		h, err := w.labelingTx(ctx, n, labeling.Join{Campaign: campaign, Guild: guild})
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	if err := many(hs); err != nil {
		return nil, err
	}
	hs = hs[:0]
	for _, l := range corpus.Labels {
		if int(l.Worker) >= nw {
			continue
		}
		h, err := w.labelingTx(ctx, workers[l.Worker], labeling.Submit{Campaign: campaign, Item: uint32(l.Item), Class: uint8(l.Class)})
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	if err := many(hs); err != nil {
		return nil, err
	}
	lr := &LabelReport{Campaign: campaign, Workers: nw, Items: corpus.Items, Labels: len(hs)}
	d.event("labeling: %d workers joined through the guild and submitted %d real crowd labels in one block", nw, len(hs))
	info, _ := w.labeling.Campaign(campaign)
	if err := w.advanceTo(ctx, info.End); err != nil {
		return nil, err
	}
	r, err = one(w.client, labeling.Finalize{Campaign: campaign})
	if err != nil {
		return nil, err
	}
	for _, e := range r.Events {
		if e.Machine != labeling.Name || e.Kind != "score" {
			continue
		}
		_, s, err := labeling.DecodeScore(e.Data)
		if err != nil {
			return nil, err
		}
		lr.Accepted += int(s.Accepted)
		if s.Verdict == aggregate.Spammer {
			lr.Spammers++
		}
		if !s.Reward.IsZero() {
			lr.Paid++
		}
	}
	hs = hs[:0]
	var claimed uint256.Int
	for _, n := range append([]*node{w.guildOwner}, workers...) {
		amt, done := w.labeling.Claimable(campaign, n.addr)
		if amt.IsZero() || done {
			continue
		}
		claimed.Add(&claimed, &amt)
		h, err := w.labelingTx(ctx, n, labeling.Claim{Campaign: campaign})
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	if err := many(hs); err != nil {
		return nil, err
	}
	t := w.labeling.Totals()
	lr.Claimed, lr.Burned, lr.Fees, lr.Refunded = claimed.Dec(), t.Burned.Dec(), t.Fees.Dec(), t.Refunded.Dec()
	d.event("labeling: finalized: %d labels accepted, %d spammers flagged and slashed, %d workers paid; %d claims paid %s",
		lr.Accepted, lr.Spammers, lr.Paid, len(hs), claimed.Dec())
	return lr, nil
}
