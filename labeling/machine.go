package labeling

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/deai-go/deai/chain/sm"
	"github.com/deai-go/deai/labeling/aggregate"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// Name is the machine name of the labeling market on a chain.
const Name = "labeling"

// Ledger is what the campaign machine needs from the token ledger (a consumer-side
// interface: *stake.Ledger implements it). ApplyOp applies one operation atomically, with the
// checks and the escrow fee (Params().FeeBps) that package stake documents; Balance and
// Escrow read the entries that a transaction's operations touch, which the machine checks
// before it applies the first (see Atomicity in the package documentation).
type Ledger interface {
	Balance(a stake.Address) uint256.Int
	Escrow(id [32]byte) (stake.Escrow, bool)
	Params() stake.Params
	ApplyOp(env sm.Env, sender stake.Address, op stake.Op) ([]sm.Event, error)
}

var _ Ledger = (*stake.Ledger)(nil)

// Phases of a campaign.
const (
	phaseOpen uint8 = iota
	phaseFinalized
	phaseClosed // unclaimed rewards burned
)

type word struct {
	owner stake.Address
	guild uint32 // 0: held by owner; else held by that guild
}

type guild struct {
	owner   stake.Address
	cutBps  uint32
	members []stake.Address // ascending
	words   uint32
}

func (g *guild) isMember(a stake.Address) bool {
	if a == g.owner {
		return true
	}
	_, ok := slices.BinarySearchFunc(g.members, a, cmpAddr)
	return ok
}

func cmpAddr(a, b stake.Address) int { return bytes.Compare(a[:], b[:]) }

type participant struct {
	addr      stake.Address
	validator bool
	guild     uint32
	bond      uint256.Int
}

type label struct {
	worker          uint32 // participant index
	item            uint32
	class           uint8
	approve, reject uint8
}

type vote struct {
	validator, label uint32
	approve          bool
}

type claim struct {
	addr    stake.Address
	amount  uint256.Int
	claimed bool
}

type campaign struct {
	client       stake.Address
	spec         CreateCampaign
	end          uint64
	phase        uint8
	vault        uint256.Int // what the vault escrow holds
	participants []participant
	labels       []label
	votes        []vote
	claims       []claim // ascending address, after finalization

	// indexes, rebuilt on Import
	byAddr  map[stake.Address]uint32
	labelAt map[[2]uint32]uint32 // (worker, item) → label
	voted   map[[2]uint32]bool   // (validator, label)
	perItem []uint8
}

// Totals is the machine's token accounting, summed over every campaign and guild since
// genesis. In = Paid + Refunded + Burned + Fees + Held holds after every transaction.
type Totals struct {
	// In is every token the machine took: budgets, platform fees, guild costs, bonds.
	In uint256.Int
	// Paid went to workers, validators, guild owners and word holders (net of ledger fees).
	Paid uint256.Int
	// Refunded went back to clients (unearned budget) and participants (unslashed bonds).
	Refunded uint256.Int
	// Burned is unclaimed rewards and slashed bonds destroyed.
	Burned uint256.Int
	// Fees are platform fees, guild costs and the ledger's escrow fees on releases.
	Fees uint256.Int
	// Held is what vaults and bond escrows hold now.
	Held uint256.Int
}

// Machine is the labeling market: word NFTs, guilds and campaigns, as a deterministic state
// machine that moves tokens through a Ledger. It implements sm.Machine and is not safe for
// concurrent use.
type Machine struct {
	cfg       Config
	ledger    Ledger
	words     map[uint32]*word
	guilds    []*guild
	campaigns []*campaign
	totals    Totals

	rootValid bool
	root      [32]byte
}

var _ sm.Machine = (*Machine)(nil)

// New returns an empty machine with cfg (after EnsureDefaults) moving tokens on ledger.
// cfg.Self should be an address only this machine controls.
func New(cfg Config, ledger Ledger) (*Machine, error) {
	cfg = cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ledger == nil {
		return nil, errf(ErrInvalidConfig, "nil ledger")
	}
	return &Machine{cfg: cfg, ledger: ledger, words: map[uint32]*word{}}, nil
}

// Name returns "labeling".
func (m *Machine) Name() string { return Name }

// Config returns the machine's configuration (after EnsureDefaults).
func (m *Machine) Config() Config { return m.cfg }

// Totals returns the token accounting.
func (m *Machine) Totals() Totals { return m.totals }

// VaultID returns the stake escrow ID of campaign id's vault.
func (m *Machine) VaultID(id uint64) [32]byte {
	h := sha256.New()
	h.Write([]byte("deai/labeling/vault/v1\x00"))
	h.Write(m.cfg.Self[:])
	h.Write(binary.BigEndian.AppendUint64(nil, id))
	return [32]byte(h.Sum(nil))
}

// BondID returns the stake escrow ID of who's bond in campaign id.
func (m *Machine) BondID(id uint64, who stake.Address) [32]byte {
	h := sha256.New()
	h.Write([]byte("deai/labeling/bond/v1\x00"))
	h.Write(m.cfg.Self[:])
	h.Write(binary.BigEndian.AppendUint64(nil, id))
	h.Write(who[:])
	return [32]byte(h.Sum(nil))
}

// WordOwner returns who holds word id (a guild's owner for a word the guild holds), the
// guild holding it (0 for none), and whether it exists.
func (m *Machine) WordOwner(id uint32) (owner stake.Address, guild uint32, ok bool) {
	w := m.words[id]
	if w == nil {
		return stake.Address{}, 0, false
	}
	if w.guild != 0 {
		return m.guilds[w.guild-1].owner, w.guild, true
	}
	return w.owner, 0, true
}

// CampaignInfo summarizes a campaign.
type CampaignInfo struct {
	Client stake.Address
	End    uint64
	// Finalized and Closed tell the phase: open, finalized (claims), closed (burned).
	Finalized, Closed bool
	// Vault is what the vault holds; Participants, Labels and Votes count what was sent.
	Vault                       uint256.Int
	Participants, Labels, Votes int
	Spec                        CreateCampaign
}

// Campaign returns campaign id's summary.
func (m *Machine) Campaign(id uint64) (CampaignInfo, bool) {
	c := m.campaign(id)
	if c == nil {
		return CampaignInfo{}, false
	}
	return CampaignInfo{Client: c.client, End: c.end, Finalized: c.phase >= phaseFinalized, Closed: c.phase == phaseClosed,
		Vault: c.vault, Participants: len(c.participants), Labels: len(c.labels), Votes: len(c.votes), Spec: c.spec}, true
}

// Claimable returns who's reward in campaign id and whether it was claimed (or burned).
func (m *Machine) Claimable(id uint64, who stake.Address) (amount uint256.Int, claimed bool) {
	c := m.campaign(id)
	if c == nil {
		return amount, false
	}
	if i, ok := slices.BinarySearchFunc(c.claims, who, func(x claim, a stake.Address) int { return cmpAddr(x.addr, a) }); ok {
		return c.claims[i].amount, c.claims[i].claimed
	}
	return amount, false
}

func (m *Machine) campaign(id uint64) *campaign {
	if id == 0 || id > uint64(len(m.campaigns)) {
		return nil
	}
	return m.campaigns[id-1]
}

// Apply decodes payload (EncodeTx's encoding) and applies it; it implements sm.Machine.
func (m *Machine) Apply(env sm.Env, sender [20]byte, payload []byte) ([]sm.Event, error) {
	tx, err := DecodeTx(payload)
	if err != nil {
		return nil, err
	}
	return m.ApplyTx(env, stake.Address(sender), tx)
}

// ApplyTx applies tx sent by sender at env. On error neither the machine nor the ledger
// changed; errors are *TxError wrapping the package's sentinels (and, for ErrLedger, the
// ledger's error).
func (m *Machine) ApplyTx(env sm.Env, sender stake.Address, tx Tx) ([]sm.Event, error) {
	var ev []sm.Event
	var err error
	var id uint64
	switch t := tx.(type) {
	case MintWord:
		ev, err = m.mintWord(sender, t)
	case TransferWord:
		ev, err = m.transferWord(sender, t)
	case CreateGuild:
		ev, err = m.createGuild(env, sender, t)
	case AddMember:
		ev, err = m.addMember(sender, t)
	case DepositWord:
		ev, err = m.depositWord(sender, t)
	case CreateCampaign:
		ev, err = m.createCampaign(env, sender, t)
	case Join:
		id = t.Campaign
		ev, err = m.join(env, sender, t)
	case Submit:
		id = t.Campaign
		ev, err = m.submit(env, sender, t)
	case Vote:
		id = t.Campaign
		ev, err = m.vote(env, sender, t)
	case Finalize:
		id = t.Campaign
		ev, err = m.finalize(env, t.Campaign)
	case Claim:
		id = t.Campaign
		ev, err = m.claim(env, sender, t.Campaign)
	case BurnUnclaimed:
		id = t.Campaign
		ev, err = m.burnUnclaimed(env, t.Campaign)
	default:
		return nil, &TxError{Kind: "unknown", Err: errf(ErrMalformed, "unknown transaction %T", tx)}
	}
	if err != nil {
		return nil, &TxError{Kind: txNames[tx.code()], Campaign: id, Err: err}
	}
	m.rootValid = false
	return ev, nil
}

func event(kind string, data []byte) sm.Event { return sm.Event{Machine: Name, Kind: kind, Data: data} }

// DecodeScore decodes the Data of a "score" event.
func DecodeScore(data []byte) (campaign uint64, s Score, err error) {
	r := &reader{b: data}
	campaign, s.Addr, s.Validator = r.u64(), r.addr(), r.boolean()
	s.Submitted, s.Accepted, s.Verdict = r.u32(), r.u32(), aggregate.Verdict(r.u8())
	s.Reward, s.Slashed = r.amt(), r.amt()
	return campaign, s, r.end()
}
