package labeling

import (
	"errors"
	"fmt"
	"slices"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/labeling/aggregate"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// tokens stages the ledger operations of one transaction: validate, then apply. do checks
// an operation against the ledger entries it touches, as the transaction's earlier
// operations leave them (a journal of the touched balances and escrows, read through the
// Ledger on first touch), and stages it; commit applies the staged operations in order.
// do makes every check the stake ledger makes on these operations (escrow existence and
// arbiter, positive amounts, balances and escrow holdings that cover them, payee counts,
// overflow), so a transaction either fails before its first token moves or moves them all;
// the cost is that of the entries touched, whatever the size of the ledger.
type tokens struct {
	m      *Machine
	env    sm.Env
	feeBps uint32
	bal    map[stake.Address]*uint256.Int // touched balances, as staged
	esc    map[[32]byte]*escrowView       // touched escrows, as staged
	ops    []stagedOp
}

// escrowView is an escrow as the staged operations leave it.
type escrowView struct {
	owner, arbiter stake.Address
	amount         uint256.Int
	open           bool
}

type stagedOp struct {
	sender   stake.Address
	op       stake.Op
	net, fee uint256.Int // what a release pays and charges, as the ledger will report it
}

func (m *Machine) tokens(env sm.Env) *tokens {
	return &tokens{m: m, env: env, feeBps: m.ledger.Params().FeeBps,
		bal: map[stake.Address]*uint256.Int{}, esc: map[[32]byte]*escrowView{}}
}

func (t *tokens) balance(a stake.Address) *uint256.Int {
	b := t.bal[a]
	if b == nil {
		v := t.m.ledger.Balance(a)
		b = &v
		t.bal[a] = b
	}
	return b
}

func (t *tokens) escrow(id [32]byte) *escrowView {
	e := t.esc[id]
	if e == nil {
		le, ok := t.m.ledger.Escrow(id)
		e = &escrowView{owner: le.Owner, arbiter: le.Arbiter, amount: le.Amount, open: ok}
		t.esc[id] = e
	}
	return e
}

// spend takes amt from a's staged balance.
func (t *tokens) spend(a stake.Address, amt *uint256.Int) error {
	if amt.IsZero() {
		return stake.ErrZeroAmount
	}
	b := t.balance(a)
	if b.Lt(amt) {
		return &stake.InsufficientFundsError{Account: a, Source: "balance", Have: *b, Need: *amt}
	}
	b.Sub(b, amt)
	return nil
}

// credit adds amt to a's staged balance.
func (t *tokens) credit(a stake.Address, amt *uint256.Int) error {
	b := t.balance(a)
	if _, o := b.AddOverflow(b, amt); o {
		return stake.ErrOverflow
	}
	return nil
}

// do checks op sent by sender against the staged state, stages it, and returns, for an
// escrow release, the net paid and the ledger's fee. After an error the journal may hold a
// partial update: the caller abandons the transaction (nothing was applied).
func (t *tokens) do(sender stake.Address, op stake.Op) (net, fee uint256.Int, err error) {
	if err := t.check(sender, op, &net, &fee); err != nil {
		return uint256.Int{}, uint256.Int{}, fmt.Errorf("%w: %w", ErrLedger, err)
	}
	t.ops = append(t.ops, stagedOp{sender: sender, op: op, net: net, fee: fee})
	return net, fee, nil
}

func (t *tokens) check(sender stake.Address, op stake.Op, net, fee *uint256.Int) error {
	switch op := op.(type) {
	case stake.EscrowCreate:
		e := t.escrow(op.ID)
		if e.open {
			return fmt.Errorf("stake: escrow %x: %w", op.ID, stake.ErrEscrowExists)
		}
		if err := t.spend(sender, &op.Amount); err != nil {
			return err
		}
		*e = escrowView{owner: sender, arbiter: op.Arbiter, amount: op.Amount, open: true}
	case stake.Fund:
		if !validTreasury(op.Treasury) {
			return fmt.Errorf("%w: treasury name %q", stake.ErrMalformed, op.Treasury)
		}
		return t.spend(sender, &op.Amount)
	case stake.Burn:
		return t.spend(sender, &op.Amount)
	case stake.EscrowRelease:
		e := t.escrow(op.ID)
		switch {
		case !e.open:
			return fmt.Errorf("stake: release %x: %w", op.ID, stake.ErrUnknownEscrow)
		case sender != e.arbiter:
			return fmt.Errorf("stake: release %x by %s: %w", op.ID, sender, stake.ErrNotAuthorized)
		case len(op.Payouts) == 0 || len(op.Payouts) > stake.MaxPayouts:
			return fmt.Errorf("stake: release %x: %w: %d payees", op.ID, stake.ErrInvalidPayout, len(op.Payouts))
		}
		var total uint256.Int
		for i := range op.Payouts {
			if op.Payouts[i].Amount.IsZero() {
				return fmt.Errorf("stake: release %x payee %d: %w", op.ID, i, stake.ErrZeroAmount)
			}
			if _, o := total.AddOverflow(&total, &op.Payouts[i].Amount); o {
				return &stake.InsufficientFundsError{Account: e.owner, Source: "escrow", Have: e.amount, Need: *new(uint256.Int).SetAllOne()}
			}
		}
		if e.amount.Lt(&total) {
			return &stake.InsufficientFundsError{Account: e.owner, Source: "escrow", Have: e.amount, Need: total}
		}
		for i := range op.Payouts {
			p := &op.Payouts[i]
			f := bps(&p.Amount, t.feeBps, true) // the ledger's ceil(amount × FeeBps / 10000)
			var n uint256.Int
			n.Sub(&p.Amount, &f)
			if err := t.credit(p.To, &n); err != nil {
				return err
			}
			net.Add(net, &n)
			fee.Add(fee, &f)
		}
		e.amount.Sub(&e.amount, &total)
		e.open = !e.amount.IsZero()
	case stake.EscrowRefund:
		e := t.escrow(op.ID)
		switch {
		case !e.open:
			return fmt.Errorf("stake: refund %x: %w", op.ID, stake.ErrUnknownEscrow)
		case sender != e.arbiter:
			return fmt.Errorf("stake: refund %x by %s: %w", op.ID, sender, stake.ErrNotAuthorized)
		}
		if err := t.credit(e.owner, &e.amount); err != nil {
			return err
		}
		e.amount.Clear()
		e.open = false
	default:
		return fmt.Errorf("%w: no preflight for %T", ErrInvalidState, op)
	}
	return nil
}

// commit applies the staged operations in order. The checks in do make a refusal here a
// broken ledger contract: it is reported as ErrInvalidState (with the ledger's error), and
// the operations before the refused one stay applied.
func (t *tokens) commit() error {
	for n, s := range t.ops {
		ev, err := t.m.ledger.ApplyOp(t.env, s.sender, s.op)
		if err != nil {
			return fmt.Errorf("%w: the ledger refused operation %d of %d (%T), which its preflight accepted: %w",
				ErrInvalidState, n+1, len(t.ops), s.op, err)
		}
		var net, fee uint256.Int
		for _, e := range ev {
			if e.Kind == "escrow_release" && len(e.Data) == 32+20+32+32 {
				var x, f uint256.Int
				x.SetBytes32(e.Data[52:84])
				f.SetBytes32(e.Data[84:116])
				net.Add(&net, &x)
				fee.Add(&fee, &f)
			}
		}
		if !net.Eq(&s.net) || !fee.Eq(&s.fee) {
			return fmt.Errorf("%w: the ledger paid %s net and %s fee on operation %d, its preflight %s and %s",
				ErrInvalidState, net.Dec(), fee.Dec(), n+1, s.net.Dec(), s.fee.Dec())
		}
	}
	t.ops = t.ops[:0]
	return nil
}

func release(id [32]byte, to stake.Address, amt uint256.Int) stake.Op {
	return stake.EscrowRelease{ID: id, Payouts: []stake.PayTo{{To: to, Amount: amt}}}
}

func u32be(x uint32) []byte { return appendU32(nil, x) }

func (m *Machine) mintWord(sender stake.Address, t MintWord) ([]sm.Event, error) {
	if sender != m.cfg.Admin {
		return nil, errf(ErrNotAuthorized, "%s is not the admin", sender)
	}
	if m.words[t.Word] != nil {
		return nil, errf(ErrDuplicate, "word %d exists", t.Word)
	}
	if uint32(len(m.words)) >= m.cfg.MaxWords {
		return nil, errf(ErrFull, "%d words minted", len(m.words))
	}
	m.words[t.Word] = &word{owner: t.To}
	return []sm.Event{event("word_mint", append(u32be(t.Word), t.To[:]...))}, nil
}

func (m *Machine) transferWord(sender stake.Address, t TransferWord) ([]sm.Event, error) {
	w := m.words[t.Word]
	if w == nil {
		return nil, errf(ErrUnknownWord, "word %d", t.Word)
	}
	if w.guild != 0 || w.owner != sender {
		return nil, errf(ErrNotAuthorized, "word %d is not %s's to move", t.Word, sender)
	}
	w.owner = t.To
	return []sm.Event{event("word_transfer", append(append(u32be(t.Word), sender[:]...), t.To[:]...))}, nil
}

func (m *Machine) createGuild(env sm.Env, sender stake.Address, t CreateGuild) ([]sm.Event, error) {
	if t.CutBps > 10000 {
		return nil, errf(ErrInvalidCampaign, "guild cut %d bps exceeds 10000", t.CutBps)
	}
	if uint64(len(m.guilds)) >= 1<<31 {
		return nil, errf(ErrFull, "%d guilds", len(m.guilds))
	}
	cost := m.cfg.GuildCost
	if bal := m.ledger.Balance(sender); bal.Lt(&cost) {
		return nil, fmt.Errorf("%w: %w", ErrLedger, &stake.InsufficientFundsError{Account: sender, Source: "balance", Have: bal, Need: cost})
	}
	tk := m.tokens(env)
	if _, _, err := tk.do(sender, stake.Fund{Treasury: m.cfg.FeeTreasury, Amount: cost}); err != nil {
		return nil, err
	}
	if err := tk.commit(); err != nil {
		return nil, err
	}
	m.guilds = append(m.guilds, &guild{owner: sender, cutBps: t.CutBps})
	m.totals.In.Add(&m.totals.In, &cost)
	m.totals.Fees.Add(&m.totals.Fees, &cost)
	id := uint32(len(m.guilds))
	d := append(append(u32be(id), sender[:]...), u32be(t.CutBps)...)
	return []sm.Event{event("guild_create", appendAmt(d, &cost))}, nil
}

func (m *Machine) guild(id uint32) *guild {
	if id == 0 || int(id) > len(m.guilds) {
		return nil
	}
	return m.guilds[id-1]
}

func (m *Machine) addMember(sender stake.Address, t AddMember) ([]sm.Event, error) {
	g := m.guild(t.Guild)
	if g == nil {
		return nil, errf(ErrUnknownGuild, "guild %d", t.Guild)
	}
	if g.owner != sender {
		return nil, errf(ErrNotAuthorized, "%s does not own guild %d", sender, t.Guild)
	}
	i, found := slices.BinarySearchFunc(g.members, t.Member, cmpAddr)
	if found || t.Member == g.owner {
		return nil, errf(ErrDuplicate, "%s is in guild %d", t.Member, t.Guild)
	}
	if uint32(len(g.members)) >= m.cfg.MaxParticipants {
		return nil, errf(ErrFull, "guild %d has %d members", t.Guild, len(g.members))
	}
	g.members = slices.Insert(g.members, i, t.Member)
	return []sm.Event{event("guild_member", append(u32be(t.Guild), t.Member[:]...))}, nil
}

func (m *Machine) depositWord(sender stake.Address, t DepositWord) ([]sm.Event, error) {
	w := m.words[t.Word]
	if w == nil {
		return nil, errf(ErrUnknownWord, "word %d", t.Word)
	}
	g := m.guild(t.Guild)
	if g == nil {
		return nil, errf(ErrUnknownGuild, "guild %d", t.Guild)
	}
	if w.guild != 0 || w.owner != sender {
		return nil, errf(ErrNotAuthorized, "word %d is not %s's to deposit", t.Word, sender)
	}
	if !g.isMember(sender) {
		return nil, errf(ErrNotAuthorized, "%s is not in guild %d", sender, t.Guild)
	}
	w.guild = t.Guild
	g.words++
	return []sm.Event{event("word_deposit", append(u32be(t.Word), u32be(t.Guild)...))}, nil
}

// budgetOf returns the most a campaign can pay: Items × LabelsPerItem × (Reward + Quorum ×
// ValidatorReward) + HolderReward.
func budgetOf(t *CreateCampaign) (uint256.Int, bool) {
	var per, z uint256.Int
	if _, o := per.MulOverflow(&t.ValidatorReward, uint256.NewInt(uint64(t.Quorum))); o {
		return z, false
	}
	if _, o := per.AddOverflow(&per, &t.Reward); o {
		return z, false
	}
	if _, o := z.MulOverflow(&per, uint256.NewInt(uint64(t.Items)*uint64(t.LabelsPerItem))); o {
		return z, false
	}
	if _, o := z.AddOverflow(&z, &t.HolderReward); o {
		return z, false
	}
	return z, true
}

// bps returns floor(x × num / 10000) (roundUp: ceil); num ≤ 10000 so it never exceeds x.
func bps(x *uint256.Int, num uint32, roundUp bool) uint256.Int {
	var z uint256.Int
	n, d := uint256.NewInt(uint64(num)), uint256.NewInt(10000)
	z.MulDivOverflow(x, n, d)
	if roundUp {
		var r uint256.Int
		if !r.MulMod(x, n, d).IsZero() {
			z.AddUint64(&z, 1)
		}
	}
	return z
}

const maxDuration = 10 * 365 * 24 * 3600

func (m *Machine) checkSpec(t *CreateCampaign) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, errf(ErrInvalidCampaign, format, args...)) }
	if t.Items == 0 || t.Items > m.cfg.MaxItems {
		bad("%d items not in [1, %d]", t.Items, m.cfg.MaxItems)
	}
	if t.Classes < 2 || t.Classes > 64 {
		bad("%d classes not in [2, 64]", t.Classes)
	}
	if t.LabelsPerItem == 0 || uint32(t.LabelsPerItem) > m.cfg.MaxLabelsPerItem {
		bad("%d labels per item not in [1, %d]", t.LabelsPerItem, m.cfg.MaxLabelsPerItem)
	}
	if t.Quorum > 15 {
		bad("quorum %d exceeds 15", t.Quorum)
	}
	if t.Reward.IsZero() {
		bad("zero reward")
	}
	if t.Duration == 0 || t.Duration > maxDuration {
		bad("duration %d not in [1, %d]", t.Duration, maxDuration)
	}
	if !t.HolderReward.IsZero() && len(t.Words) == 0 {
		bad("holder reward without words")
	}
	words := map[uint32]bool{}
	for _, w := range t.Words {
		if m.words[w.Word] == nil {
			errs = append(errs, errf(ErrUnknownWord, "word %d", w.Word))
		}
		if words[w.Word] || w.Weight == 0 {
			bad("word %d listed twice or with weight 0", w.Word)
		}
		words[w.Word] = true
	}
	gold := map[uint32]bool{}
	for _, g := range t.Gold {
		if g.Item >= t.Items || g.Class >= t.Classes || gold[g.Item] {
			bad("gold item %d (class %d) out of range or listed twice", g.Item, g.Class)
		}
		gold[g.Item] = true
	}
	if _, ok := budgetOf(t); !ok {
		bad("budget exceeds 2^256-1")
	}
	return errors.Join(errs...)
}

func (m *Machine) createCampaign(env sm.Env, sender stake.Address, t CreateCampaign) ([]sm.Event, error) {
	if err := m.checkSpec(&t); err != nil {
		return nil, err
	}
	if env.Time > ^uint64(0)-t.Duration-m.cfg.ClaimWindow {
		return nil, errf(ErrInvalidCampaign, "end time overflows")
	}
	budget, _ := budgetOf(&t)
	fee := bps(&budget, m.cfg.FeeBps, true)
	var need uint256.Int
	if _, o := need.AddOverflow(&budget, &fee); o {
		return nil, errf(ErrInvalidCampaign, "budget and fee exceed 2^256-1")
	}
	if bal := m.ledger.Balance(sender); bal.Lt(&need) {
		return nil, fmt.Errorf("%w: %w", ErrLedger, &stake.InsufficientFundsError{Account: sender, Source: "balance", Have: bal, Need: need})
	}
	id := uint64(len(m.campaigns)) + 1
	tk := m.tokens(env)
	if _, _, err := tk.do(sender, stake.EscrowCreate{ID: m.VaultID(id), Arbiter: m.cfg.Self, Amount: budget}); err != nil {
		return nil, err
	}
	if !fee.IsZero() {
		if _, _, err := tk.do(sender, stake.Fund{Treasury: m.cfg.FeeTreasury, Amount: fee}); err != nil {
			return nil, err
		}
	}
	if err := tk.commit(); err != nil {
		return nil, err
	}
	t.Words, t.Gold = slices.Clone(t.Words), slices.Clone(t.Gold)
	c := &campaign{client: sender, spec: t, end: env.Time + t.Duration, vault: budget}
	c.index()
	m.campaigns = append(m.campaigns, c)
	m.totals.In.Add(&m.totals.In, &need)
	m.totals.Fees.Add(&m.totals.Fees, &fee)
	m.totals.Held.Add(&m.totals.Held, &budget)
	d := append(appendU64(nil, id), sender[:]...)
	d = appendU64(appendAmt(appendAmt(d, &budget), &fee), c.end)
	return []sm.Event{event("campaign_create", d)}, nil
}

// index rebuilds a campaign's lookup tables from its lists.
func (c *campaign) index() {
	c.byAddr = make(map[stake.Address]uint32, len(c.participants))
	for i, p := range c.participants {
		c.byAddr[p.addr] = uint32(i)
	}
	c.labelAt = make(map[[2]uint32]uint32, len(c.labels))
	c.perItem = make([]uint8, c.spec.Items)
	for i, l := range c.labels {
		c.labelAt[[2]uint32{l.worker, l.item}] = uint32(i)
		c.perItem[l.item]++
	}
	c.voted = make(map[[2]uint32]bool, len(c.votes))
	for _, v := range c.votes {
		c.voted[[2]uint32{v.validator, v.label}] = true
	}
}

// open returns campaign id if it accepts work at env.
func (m *Machine) open(env sm.Env, id uint64) (*campaign, error) {
	c := m.campaign(id)
	if c == nil {
		return nil, errf(ErrUnknownCampaign, "campaign %d", id)
	}
	if c.phase != phaseOpen || env.Time >= c.end {
		return nil, errf(ErrTooLate, "campaign ended at %d, now %d", c.end, env.Time)
	}
	return c, nil
}

// holdsWord reports whether a holds a word NFT directly.
func (m *Machine) holdsWord(a stake.Address) bool {
	for _, w := range m.words { // an existence test: the order of the map does not matter
		if w.guild == 0 && w.owner == a {
			return true
		}
	}
	return false
}

func (m *Machine) join(env sm.Env, sender stake.Address, t Join) ([]sm.Event, error) {
	c, err := m.open(env, t.Campaign)
	if err != nil {
		return nil, err
	}
	if _, dup := c.byAddr[sender]; dup {
		return nil, errf(ErrDuplicate, "%s joined already", sender)
	}
	if uint32(len(c.participants)) >= m.cfg.MaxParticipants {
		return nil, errf(ErrFull, "%d participants", len(c.participants))
	}
	bond := c.spec.WorkerBond
	switch {
	case t.Validator:
		if t.Guild != 0 {
			return nil, errf(ErrNotEligible, "validators join without a guild")
		}
		bond = c.spec.ValidatorBond
	case t.Guild != 0:
		g := m.guild(t.Guild)
		if g == nil {
			return nil, errf(ErrUnknownGuild, "guild %d", t.Guild)
		}
		if !g.isMember(sender) || g.words == 0 {
			return nil, errf(ErrNotEligible, "%s is not in guild %d, or it holds no word", sender, t.Guild)
		}
	default:
		if !m.holdsWord(sender) {
			return nil, errf(ErrNotEligible, "%s holds no word NFT", sender)
		}
	}
	if !bond.IsZero() {
		if bal := m.ledger.Balance(sender); bal.Lt(&bond) {
			return nil, fmt.Errorf("%w: %w", ErrLedger, &stake.InsufficientFundsError{Account: sender, Source: "balance", Have: bal, Need: bond})
		}
		tk := m.tokens(env)
		if _, _, err := tk.do(sender, stake.EscrowCreate{ID: m.BondID(t.Campaign, sender), Arbiter: m.cfg.Self, Amount: bond}); err != nil {
			return nil, err
		}
		if err := tk.commit(); err != nil {
			return nil, err
		}
		m.totals.In.Add(&m.totals.In, &bond)
		m.totals.Held.Add(&m.totals.Held, &bond)
	}
	c.byAddr[sender] = uint32(len(c.participants))
	c.participants = append(c.participants, participant{addr: sender, validator: t.Validator, guild: t.Guild, bond: bond})
	d := append(appendU64(nil, t.Campaign), sender[:]...)
	d = append(appendBool(d, t.Validator), u32be(t.Guild)...)
	return []sm.Event{event("join", appendAmt(d, &bond))}, nil
}

func (m *Machine) submit(env sm.Env, sender stake.Address, t Submit) ([]sm.Event, error) {
	c, err := m.open(env, t.Campaign)
	if err != nil {
		return nil, err
	}
	w, ok := c.byAddr[sender]
	if !ok || c.participants[w].validator {
		return nil, errf(ErrUnknownParticipant, "%s is not a worker of the campaign", sender)
	}
	if t.Item >= c.spec.Items {
		return nil, errf(ErrUnknownItem, "item %d of %d", t.Item, c.spec.Items)
	}
	if t.Class >= c.spec.Classes {
		return nil, errf(ErrInvalidLabel, "class %d of %d", t.Class, c.spec.Classes)
	}
	if _, dup := c.labelAt[[2]uint32{w, t.Item}]; dup {
		return nil, errf(ErrDuplicate, "%s labelled item %d already", sender, t.Item)
	}
	if c.perItem[t.Item] >= c.spec.LabelsPerItem {
		return nil, errf(ErrFull, "item %d has %d labels", t.Item, c.perItem[t.Item])
	}
	c.labelAt[[2]uint32{w, t.Item}] = uint32(len(c.labels))
	c.labels = append(c.labels, label{worker: w, item: t.Item, class: t.Class})
	c.perItem[t.Item]++
	d := append(append(appendU64(nil, t.Campaign), sender[:]...), u32be(t.Item)...)
	return []sm.Event{event("label", append(d, t.Class))}, nil
}

func (m *Machine) vote(env sm.Env, sender stake.Address, t Vote) ([]sm.Event, error) {
	c, err := m.open(env, t.Campaign)
	if err != nil {
		return nil, err
	}
	v, ok := c.byAddr[sender]
	if !ok || !c.participants[v].validator {
		return nil, errf(ErrUnknownParticipant, "%s is not a validator of the campaign", sender)
	}
	w, ok := c.byAddr[t.Worker]
	if !ok || c.participants[w].validator {
		return nil, errf(ErrUnknownParticipant, "%s is not a worker of the campaign", t.Worker)
	}
	l, ok := c.labelAt[[2]uint32{w, t.Item}]
	if !ok {
		return nil, errf(ErrUnknownLabel, "%s has no label on item %d", t.Worker, t.Item)
	}
	if c.voted[[2]uint32{v, l}] {
		return nil, errf(ErrDuplicate, "%s voted on this label already", sender)
	}
	lb := &c.labels[l]
	if lb.approve+lb.reject >= c.spec.Quorum {
		return nil, errf(ErrFull, "label has its quorum of %d votes", c.spec.Quorum)
	}
	c.voted[[2]uint32{v, l}] = true
	c.votes = append(c.votes, vote{validator: v, label: l, approve: t.Approve})
	if t.Approve {
		lb.approve++
	} else {
		lb.reject++
	}
	d := append(append(appendU64(nil, t.Campaign), sender[:]...), t.Worker[:]...)
	return []sm.Event{event("vote", appendBool(append(d, u32be(t.Item)...), t.Approve))}, nil
}

// Score is one participant's outcome at finalization (also the data of a "score" event).
type Score struct {
	Addr                stake.Address
	Validator           bool
	Submitted, Accepted uint32 // labels (workers) or votes and agreeing votes (validators)
	Verdict             aggregate.Verdict
	Reward, Slashed     uint256.Int
}

// settle computes a campaign's outcome without changing anything: the scores, the claims
// (ascending address) and their total.
func (m *Machine) settle(c *campaign) ([]Score, []claim, uint256.Int, error) {
	s := &c.spec
	gold := make([]int, s.Items)
	for i := range gold {
		gold[i] = -1
	}
	for _, g := range s.Gold {
		gold[g.Item] = int(g.Class)
	}
	n := len(c.participants)
	tests := make([]aggregate.Test, n)
	for _, l := range c.labels {
		if g := gold[l.item]; g >= 0 {
			tests[l.worker] = m.cfg.SPRT.Observe(tests[l.worker], int(l.class) == g)
		}
	}
	d := aggregate.Dataset{Workers: n, Items: int(s.Items), Classes: int(s.Classes)}
	for _, l := range c.labels {
		if tests[l.worker].Verdict != aggregate.Spammer && gold[l.item] < 0 {
			d.Labels = append(d.Labels, aggregate.Label{Worker: int32(l.worker), Item: int32(l.item), Class: int32(l.class)})
		}
	}
	agg := make([]int, s.Items)
	if len(d.Labels) > 0 {
		r, err := aggregate.DawidSkene(&d, m.cfg.Aggregation)
		if err != nil {
			return nil, nil, uint256.Int{}, errf(ErrInvalidState, "aggregation: %v", err)
		}
		agg = r.Labels
	}
	accepted := make([]bool, len(c.labels))
	scores := make([]Score, n)
	for i, p := range c.participants {
		scores[i] = Score{Addr: p.addr, Validator: p.validator, Verdict: tests[i].Verdict}
	}
	for i, l := range c.labels {
		ok := int(l.class) == agg[l.item]
		if g := gold[l.item]; g >= 0 {
			ok = int(l.class) == g
		}
		if tests[l.worker].Verdict == aggregate.Spammer {
			ok = false
		}
		if s.Quorum > 0 && l.approve+l.reject >= s.Quorum && l.reject > l.approve {
			ok = false
		}
		accepted[i] = ok
		scores[l.worker].Submitted++
		if ok {
			scores[l.worker].Accepted++
		}
	}
	for _, v := range c.votes {
		scores[v.validator].Submitted++
		if v.approve == accepted[v.label] {
			scores[v.validator].Accepted++
		}
	}
	owed := map[stake.Address]*uint256.Int{}
	pay := func(a stake.Address, x *uint256.Int) {
		if x.IsZero() {
			return
		}
		if owed[a] == nil {
			owed[a] = new(uint256.Int)
		}
		owed[a].Add(owed[a], x)
	}
	for i, p := range c.participants {
		sc := &scores[i]
		if sc.Submitted == 0 {
			continue
		}
		approval := uint32(uint64(sc.Accepted) * 10000 / uint64(sc.Submitted))
		var payBps, slashBps uint32
		switch {
		case sc.Verdict == aggregate.Spammer:
			slashBps = m.cfg.SpammerSlashBps
		case approval < m.cfg.MinApprovalBps:
			slashBps = m.cfg.LowQualitySlashBps
		default:
			for _, t := range m.cfg.Tiers {
				if approval >= t.MinApprovalBps {
					payBps = t.PayBps
					break
				}
			}
		}
		sc.Slashed = bps(&p.bond, slashBps, true)
		unit := s.Reward
		if p.validator {
			unit = s.ValidatorReward
		}
		var gross uint256.Int
		gross.Mul(&unit, uint256.NewInt(uint64(sc.Accepted)))
		sc.Reward = bps(&gross, payBps, false)
		reward := sc.Reward
		if g := m.guild(p.guild); g != nil && g.owner != p.addr {
			cut := bps(&reward, g.cutBps, false)
			pay(g.owner, &cut)
			reward.Sub(&reward, &cut)
		}
		pay(p.addr, &reward)
	}
	if !s.HolderReward.IsZero() {
		var total uint64
		for _, w := range s.Words {
			total += uint64(w.Weight)
		}
		for _, w := range s.Words {
			var share uint256.Int
			share.MulDivOverflow(&s.HolderReward, uint256.NewInt(uint64(w.Weight)), uint256.NewInt(total))
			owner, _, _ := m.WordOwner(w.Word)
			pay(owner, &share)
		}
	}
	claims := make([]claim, 0, len(owed))
	var sum uint256.Int
	for a, x := range owed {
		claims = append(claims, claim{addr: a, amount: *x})
		sum.Add(&sum, x)
	}
	slices.SortFunc(claims, func(x, y claim) int { return cmpAddr(x.addr, y.addr) })
	if c.vault.Lt(&sum) {
		return nil, nil, uint256.Int{}, errf(ErrInvalidState, "claims %s exceed the vault %s", sum.Dec(), c.vault.Dec())
	}
	return scores, claims, sum, nil
}

func (m *Machine) finalize(env sm.Env, id uint64) ([]sm.Event, error) {
	c := m.campaign(id)
	if c == nil {
		return nil, errf(ErrUnknownCampaign, "campaign %d", id)
	}
	if c.phase != phaseOpen {
		return nil, errf(ErrTooLate, "finalized already")
	}
	if env.Time < c.end {
		return nil, errf(ErrTooEarly, "campaign ends at %d, now %d", c.end, env.Time)
	}
	scores, claims, owed, err := m.settle(c)
	if err != nil {
		return nil, err
	}
	var refund uint256.Int
	refund.Sub(&c.vault, &owed)
	tk := m.tokens(env)
	var refunded, fees, burned, toBurn, held uint256.Int
	vault := m.VaultID(id)
	switch {
	case refund.IsZero():
	case owed.IsZero():
		if _, _, err := tk.do(m.cfg.Self, stake.EscrowRefund{ID: vault}); err != nil {
			return nil, err
		}
		refunded.Add(&refunded, &refund)
	default:
		net, fee, err := tk.do(m.cfg.Self, release(vault, c.client, refund))
		if err != nil {
			return nil, err
		}
		refunded.Add(&refunded, &net)
		fees.Add(&fees, &fee)
	}
	held.Add(&held, &refund)
	for i, p := range c.participants {
		if p.bond.IsZero() {
			continue
		}
		held.Add(&held, &p.bond)
		bid := m.BondID(id, p.addr)
		slashed := scores[i].Slashed
		if !slashed.IsZero() {
			net, fee, err := tk.do(m.cfg.Self, release(bid, m.cfg.Self, slashed))
			if err != nil {
				return nil, err
			}
			toBurn.Add(&toBurn, &net)
			fees.Add(&fees, &fee)
		}
		if slashed.Lt(&p.bond) {
			if _, _, err := tk.do(m.cfg.Self, stake.EscrowRefund{ID: bid}); err != nil {
				return nil, err
			}
			var rest uint256.Int
			rest.Sub(&p.bond, &slashed)
			refunded.Add(&refunded, &rest)
		}
	}
	if !toBurn.IsZero() {
		if _, _, err := tk.do(m.cfg.Self, stake.Burn{Amount: toBurn}); err != nil {
			return nil, err
		}
		burned.Add(&burned, &toBurn)
	}
	if err := tk.commit(); err != nil {
		return nil, err
	}
	c.phase = phaseFinalized
	c.claims = claims
	c.vault = owed
	m.totals.Refunded.Add(&m.totals.Refunded, &refunded)
	m.totals.Fees.Add(&m.totals.Fees, &fees)
	m.totals.Burned.Add(&m.totals.Burned, &burned)
	m.totals.Held.Sub(&m.totals.Held, &held)
	ev := make([]sm.Event, 0, len(scores)+1)
	for _, sc := range scores {
		d := append(appendU64(nil, id), sc.Addr[:]...)
		d = append(appendBool(d, sc.Validator), u32be(sc.Submitted)...)
		d = append(append(d, u32be(sc.Accepted)...), byte(sc.Verdict))
		ev = append(ev, event("score", appendAmt(appendAmt(d, &sc.Reward), &sc.Slashed)))
	}
	d := appendAmt(appendAmt(appendU64(nil, id), &refund), &owed)
	return append(ev, event("finalize", appendAmt(d, &burned))), nil
}

func (m *Machine) claim(env sm.Env, sender stake.Address, id uint64) ([]sm.Event, error) {
	c := m.campaign(id)
	if c == nil {
		return nil, errf(ErrUnknownCampaign, "campaign %d", id)
	}
	switch {
	case c.phase == phaseOpen:
		return nil, errf(ErrTooEarly, "campaign not finalized")
	case c.phase == phaseClosed || env.Time >= c.end+m.cfg.ClaimWindow:
		return nil, errf(ErrTooLate, "claim window closed at %d", c.end+m.cfg.ClaimWindow)
	}
	i, ok := slices.BinarySearchFunc(c.claims, sender, func(x claim, a stake.Address) int { return cmpAddr(x.addr, a) })
	if !ok || c.claims[i].claimed {
		return nil, errf(ErrNothingToClaim, "%s", sender)
	}
	amt := c.claims[i].amount
	tk := m.tokens(env)
	net, fee, err := tk.do(m.cfg.Self, release(m.VaultID(id), sender, amt))
	if err != nil {
		return nil, err
	}
	if err := tk.commit(); err != nil {
		return nil, err
	}
	c.claims[i].claimed = true
	c.vault.Sub(&c.vault, &amt)
	m.totals.Paid.Add(&m.totals.Paid, &net)
	m.totals.Fees.Add(&m.totals.Fees, &fee)
	m.totals.Held.Sub(&m.totals.Held, &amt)
	d := append(appendU64(nil, id), sender[:]...)
	return []sm.Event{event("claim", appendAmt(appendAmt(d, &net), &fee))}, nil
}

func (m *Machine) burnUnclaimed(env sm.Env, id uint64) ([]sm.Event, error) {
	c := m.campaign(id)
	if c == nil {
		return nil, errf(ErrUnknownCampaign, "campaign %d", id)
	}
	switch {
	case c.phase == phaseOpen || env.Time < c.end+m.cfg.ClaimWindow:
		return nil, errf(ErrTooEarly, "claim window open until %d", c.end+m.cfg.ClaimWindow)
	case c.phase == phaseClosed:
		return nil, errf(ErrTooLate, "burned already")
	}
	left := c.vault
	var net, fee uint256.Int
	if !left.IsZero() {
		tk := m.tokens(env)
		var err error
		if net, fee, err = tk.do(m.cfg.Self, release(m.VaultID(id), m.cfg.Self, left)); err != nil {
			return nil, err
		}
		if !net.IsZero() {
			if _, _, err := tk.do(m.cfg.Self, stake.Burn{Amount: net}); err != nil {
				return nil, err
			}
		}
		if err := tk.commit(); err != nil {
			return nil, err
		}
	}
	for i := range c.claims {
		c.claims[i].claimed = true
	}
	c.phase = phaseClosed
	c.vault.Clear()
	m.totals.Burned.Add(&m.totals.Burned, &net)
	m.totals.Fees.Add(&m.totals.Fees, &fee)
	m.totals.Held.Sub(&m.totals.Held, &left)
	return []sm.Event{event("burn", appendAmt(appendAmt(appendU64(nil, id), &net), &fee))}, nil
}
