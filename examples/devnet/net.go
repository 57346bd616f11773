package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"time"

	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/chain/embedded"
	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/labeling"
	"github.com/deai-go/deai/labeling/aggregate"
	"github.com/deai-go/deai/market"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// node is one participant: a key and a name.
type node struct {
	name, role string
	key        *ecdsa.PrivateKey
	addr       stake.Address
}

func newNode(name, role string) *node {
	k, err := chain.KeyFromSeed("deai/devnet/" + name)
	if err != nil {
		panic(err) // KeyFromSeed fails only on an empty seed; these are fixed and non-empty
	}
	return &node{name: name, role: role, key: k, addr: stake.Address(chain.KeyAddress(k))}
}

// Machine addresses: no key signs for them; the machines act as them on the ledger.
var (
	marketAddr   = stake.Address{0xde, 0xa1, 0x01}
	disputeAddr  = stake.Address{0xde, 0xa1, 0x02}
	labelingAddr = stake.Address{0xde, 0xa1, 0x03}
)

const chainID = 7007

// world is the devnet's chain with its machines and nodes.
type world struct {
	c        *embedded.Chain
	ledger   *stake.Ledger
	market   *market.Machine
	dispute  *dispute.Machine
	labeling *labeling.Machine
	referee  *referee
	specs    *specStore

	submitter, honest, cheat, court, admin, client, guildOwner *node
	watchers                                                   []*node // verifiers and whistleblowers
	workers                                                    []*node
	minted, disputeBond                                        uint256.Int

	offset    time.Duration // total AdjustTime
	txs       int
	txBytes   int
	onCommit  func(chain.Header)
	eventLine func(format string, a ...any)
}

var genesisBalance = uint256.MustFromDecimal("1000000000000000000") // 10^18 units per account

// bluebirdsWorkers is the number of crowd workers in the Bluebirds corpus; each has an
// account at genesis, whatever -workers a run uses, so that every run has the same genesis.
const bluebirdsWorkers = 39

// machines builds the genesis machines (the same on every run: the chain replays them).
// Task specs are published in specDir (none: in memory only), where the referee finds them
// by the hash the market records.
func machines(train *dataset.Set, specDir string) (*world, []sm.Machine, error) {
	w := &world{
		submitter: newNode("submitter", "submitter"), honest: newNode("solver-honest", "solver"),
		cheat: newNode("solver-cheat", "solver (cheats)"), court: newNode("court", "settler"),
		admin: newNode("word-admin", "labeling admin"), client: newNode("labeling-client", "labeling client"),
		guildOwner: newNode("guild-owner", "guild owner"),
	}
	for i := 1; i <= 4; i++ {
		w.watchers = append(w.watchers, newNode(fmt.Sprintf("watcher-%d", i), "verifier/whistleblower"))
	}
	for i := range bluebirdsWorkers {
		w.workers = append(w.workers, newNode(fmt.Sprintf("worker-%02d", i), "labeling worker"))
	}
	var accts []stake.GenesisAccount
	for _, n := range w.all() {
		accts = append(accts, stake.GenesisAccount{Address: n.addr, Balance: *genesisBalance})
		w.minted.Add(&w.minted, genesisBalance)
	}
	l, err := stake.New(stake.Genesis{Accounts: accts, Params: stake.Params{FeeBps: 100},
		Authorities: []stake.Address{disputeAddr, w.court.addr}})
	if err != nil {
		return nil, nil, err
	}
	m, err := market.New(market.Config{Address: marketAddr, Settlers: []stake.Address{w.court.addr}, Verifiers: 2, Whistleblowers: 1}, l)
	if err != nil {
		return nil, nil, err
	}
	w.specs = newSpecStore(specDir)
	w.referee = newReferee(m, w.specs, train)
	w.disputeBond = *uint256.NewInt(1_000_000)
	d, err := dispute.New(dispute.Config{Self: disputeAddr, Resolve: w.referee.resolve, K: 8, Clock: 3600, Bond: w.disputeBond,
		SlashNum: 1, SlashDen: 2, SlashRewardBps: 5000}, l)
	if err != nil {
		return nil, nil, err
	}
	lab, err := labeling.New(labeling.Config{Self: labelingAddr, Admin: w.admin.addr, MaxLabelsPerItem: 64,
		SPRT: aggregate.SPRT{Honest: 0.7, Spammer: 0.4, FalseAlarm: 0.01, Miss: 0.05}}, l)
	if err != nil {
		return nil, nil, err
	}
	w.ledger, w.market, w.dispute, w.labeling = l, m, d, lab
	return w, []sm.Machine{l, m, d, lab}, nil
}

func (w *world) all() []*node {
	out := []*node{w.submitter, w.honest, w.cheat, w.court, w.admin, w.client, w.guildOwner}
	out = append(out, w.watchers...)
	return append(out, w.workers...)
}

// submit signs and queues one transaction of n to machine.
func (w *world) submit(ctx context.Context, n *node, machine string, payload []byte) (chain.Hash, error) {
	nonce, err := w.c.Nonce(ctx, chain.Address(n.addr))
	if err != nil {
		return chain.Hash{}, err
	}
	tx, err := chain.Sign(chain.Tx{ChainID: w.c.ChainID(), Nonce: nonce, Machine: machine, Payload: payload}, n.key)
	if err != nil {
		return chain.Hash{}, err
	}
	h, err := w.c.Submit(ctx, tx)
	if err != nil {
		return chain.Hash{}, fmt.Errorf("%s: %s transaction: %w", n.name, machine, err)
	}
	w.txs++
	w.txBytes += len(payload)
	return h, nil
}

// commit makes a block and returns the receipts of hs, failing on a failed one.
func (w *world) commit(ctx context.Context, hs ...chain.Hash) ([]chain.Receipt, error) {
	hdr, err := w.c.Commit(ctx)
	if err != nil {
		return nil, err
	}
	if w.onCommit != nil {
		w.onCommit(hdr)
	}
	out := make([]chain.Receipt, len(hs))
	for i, h := range hs {
		r, err := w.c.Receipt(ctx, h)
		if err != nil {
			return nil, err
		}
		if err := r.Err(); err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// do submits one transaction, commits it in its own block and returns its receipt.
func (w *world) do(ctx context.Context, n *node, machine string, payload []byte) (chain.Receipt, error) {
	h, err := w.submit(ctx, n, machine, payload)
	if err != nil {
		return chain.Receipt{}, err
	}
	rs, err := w.commit(ctx, h)
	if err != nil {
		return chain.Receipt{}, fmt.Errorf("%s: %s transaction: %w", n.name, machine, err)
	}
	return rs[0], nil
}

func (w *world) stakeOp(ctx context.Context, n *node, op stake.Op) (chain.Receipt, error) {
	b, err := stake.EncodeOp(op)
	if err != nil {
		return chain.Receipt{}, err
	}
	return w.do(ctx, n, stake.Name, b)
}

func (w *world) marketTx(ctx context.Context, n *node, tx market.Tx) (chain.Receipt, error) {
	b, err := market.EncodeTx(tx)
	if err != nil {
		return chain.Receipt{}, err
	}
	return w.do(ctx, n, market.Name, b)
}

func (w *world) disputeMove(ctx context.Context, n *node, mv dispute.Move) (chain.Receipt, error) {
	b, err := dispute.EncodeMove(mv)
	if err != nil {
		return chain.Receipt{}, err
	}
	return w.do(ctx, n, dispute.Name, b)
}

// advanceTo makes the next blocks' time at least t (chain seconds).
func (w *world) advanceTo(ctx context.Context, t uint64) error {
	now := uint64(time.Now().Add(w.offset).Unix())
	if now < t {
		d := time.Duration(t-now+2) * time.Second
		w.c.AdjustTime(d)
		w.offset += d
	}
	_, err := w.commit(ctx)
	return err
}

func (w *world) head(ctx context.Context) (chain.Header, error) { return w.c.Head(ctx) }
