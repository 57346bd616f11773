package labeling

import (
	"encoding/binary"

	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// Tx is one transaction of the labeling machine: one of MintWord, TransferWord,
// CreateGuild, AddMember, DepositWord, CreateCampaign, Join, Submit, Vote, Finalize, Claim,
// BurnUnclaimed.
type Tx interface {
	code() byte
}

// MintWord creates word NFT Word (any unused number) owned by To. Admin only.
type MintWord struct {
	Word uint32
	To   stake.Address
}

// TransferWord gives the sender's word NFT to To (not while a guild holds it).
type TransferWord struct {
	Word uint32
	To   stake.Address
}

// CreateGuild creates a guild owned by the sender, at the cost of Config.GuildCost. CutBps
// is the guild's rule for sharing rewards: that part of each member's campaign reward goes
// to the guild's owner, who in turn receives the word-usage rewards of the guild's words.
type CreateGuild struct {
	CutBps uint32
}

// AddMember admits Member to Guild. Guild owner only.
type AddMember struct {
	Guild  uint32
	Member stake.Address
}

// DepositWord moves the sender's word NFT into Guild (the sender must own the guild or be
// a member); from then on the guild holds it, for good.
type DepositWord struct {
	Guild, Word uint32
}

// WordUse is how often a campaign uses a word: its share of the campaign's HolderReward.
type WordUse struct {
	Word, Weight uint32
}

// GoldItem is a honeypot: an item whose class the client knows.
type GoldItem struct {
	Item  uint32
	Class uint8
}

// CreateCampaign opens a campaign owned by the sender and funds its vault. The vault (a stake
// escrow the machine arbitrates) receives the budget
//
//	Items × LabelsPerItem × (Reward + Quorum × ValidatorReward) + HolderReward,
//
// the most the campaign can ever pay, and FeeTreasury receives the platform fee
// ceil(budget × FeeBps / 10000); what is not earned is refunded at finalization.
type CreateCampaign struct {
	// Items is the number of items (indices 0..Items-1); Classes the label schema (labels are
	// 0..Classes-1, 2 to 64 classes); LabelsPerItem the labels accepted per item (at most
	// Config.MaxLabelsPerItem); Quorum the validator votes that settle one label (0: none).
	Items                          uint32
	Classes, LabelsPerItem, Quorum uint8
	// Reward is paid per accepted label (at full tier), ValidatorReward per vote that agrees
	// with the final outcome, HolderReward to the holders of Words in proportion to their
	// weights. WorkerBond and ValidatorBond are what joining bonds.
	Reward, ValidatorReward, HolderReward uint256.Int
	WorkerBond, ValidatorBond             uint256.Int
	// Duration is the labeling period in seconds from creation.
	Duration uint64
	// Words are the word NFTs the campaign uses (distinct, existing).
	Words []WordUse
	// Gold are the honeypot items (distinct items, classes in the schema).
	Gold []GoldItem
}

// Join enters the sender into a campaign as a worker (through its own word NFT, or through
// Guild ≠ 0 if it owns or belongs to that guild and the guild holds a word) or, with
// Validator, as a validator; either bonds the campaign's bond into an escrow.
type Join struct {
	Campaign  uint64
	Validator bool
	Guild     uint32
}

// Submit labels Item with Class. Joined workers only, before the end, once per item.
type Submit struct {
	Campaign uint64
	Item     uint32
	Class    uint8
}

// Vote approves or rejects Worker's label on Item. Joined validators only, before the end,
// once per label, never on their own.
type Vote struct {
	Campaign uint64
	Worker   stake.Address
	Item     uint32
	Approve  bool
}

// Finalize settles a campaign after its end (anyone may send it, once): spammer tests,
// aggregation, payouts, slashing, refunds.
type Finalize struct{ Campaign uint64 }

// Claim pays the sender's reward from a finalized campaign, once, before the claim window
// closes.
type Claim struct{ Campaign uint64 }

// BurnUnclaimed burns what was not claimed once the claim window has closed (anyone, once).
type BurnUnclaimed struct{ Campaign uint64 }

const (
	txMintWord byte = 1 + iota
	txTransferWord
	txCreateGuild
	txAddMember
	txDepositWord
	txCreateCampaign
	txJoin
	txSubmit
	txVote
	txFinalize
	txClaim
	txBurnUnclaimed
)

func (MintWord) code() byte       { return txMintWord }
func (TransferWord) code() byte   { return txTransferWord }
func (CreateGuild) code() byte    { return txCreateGuild }
func (AddMember) code() byte      { return txAddMember }
func (DepositWord) code() byte    { return txDepositWord }
func (CreateCampaign) code() byte { return txCreateCampaign }
func (Join) code() byte           { return txJoin }
func (Submit) code() byte         { return txSubmit }
func (Vote) code() byte           { return txVote }
func (Finalize) code() byte       { return txFinalize }
func (Claim) code() byte          { return txClaim }
func (BurnUnclaimed) code() byte  { return txBurnUnclaimed }

var txNames = [...]string{"", "mint_word", "transfer_word", "create_guild", "add_member", "deposit_word",
	"create_campaign", "join", "submit", "vote", "finalize", "claim", "burn_unclaimed"}

const encVersion = 1

// maxList bounds the Words and Gold lists of a CreateCampaign.
const maxList = 65535

func appendU32(b []byte, x uint32) []byte { return binary.BigEndian.AppendUint32(b, x) }
func appendU64(b []byte, x uint64) []byte { return binary.BigEndian.AppendUint64(b, x) }
func appendAmt(b []byte, x *uint256.Int) []byte {
	w := x.Bytes32()
	return append(b, w[:]...)
}
func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// EncodeTx returns the canonical encoding of tx (see the package documentation).
func EncodeTx(tx Tx) ([]byte, error) {
	b := []byte{encVersion, 0}
	switch t := tx.(type) {
	case MintWord:
		b = append(appendU32(b, t.Word), t.To[:]...)
	case TransferWord:
		b = append(appendU32(b, t.Word), t.To[:]...)
	case CreateGuild:
		b = appendU32(b, t.CutBps)
	case AddMember:
		b = append(appendU32(b, t.Guild), t.Member[:]...)
	case DepositWord:
		b = appendU32(appendU32(b, t.Guild), t.Word)
	case CreateCampaign:
		if len(t.Words) > maxList || len(t.Gold) > maxList {
			return nil, errf(ErrMalformed, "%d words, %d gold items: at most %d", len(t.Words), len(t.Gold), maxList)
		}
		b = appendU32(b, t.Items)
		b = append(b, t.Classes, t.LabelsPerItem, t.Quorum)
		for _, x := range []*uint256.Int{&t.Reward, &t.ValidatorReward, &t.HolderReward, &t.WorkerBond, &t.ValidatorBond} {
			b = appendAmt(b, x)
		}
		b = appendU64(b, t.Duration)
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Words)))
		for _, w := range t.Words {
			b = appendU32(appendU32(b, w.Word), w.Weight)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Gold)))
		for _, g := range t.Gold {
			b = append(appendU32(b, g.Item), g.Class)
		}
	case Join:
		b = appendU32(appendBool(appendU64(b, t.Campaign), t.Validator), t.Guild)
	case Submit:
		b = append(appendU32(appendU64(b, t.Campaign), t.Item), t.Class)
	case Vote:
		b = append(appendU64(b, t.Campaign), t.Worker[:]...)
		b = appendBool(appendU32(b, t.Item), t.Approve)
	case Finalize:
		b = appendU64(b, t.Campaign)
	case Claim:
		b = appendU64(b, t.Campaign)
	case BurnUnclaimed:
		b = appendU64(b, t.Campaign)
	default:
		return nil, errf(ErrMalformed, "unknown transaction %T", tx)
	}
	b[1] = tx.code()
	return b, nil
}

// reader decodes big-endian fields and remembers the first failure.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return make([]byte, n)
	}
	if len(r.b)-r.off < n {
		r.err = errf(ErrMalformed, "truncated at byte %d: need %d more, have %d", r.off, n, len(r.b)-r.off)
		return make([]byte, n)
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) u8() byte    { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64 { return binary.BigEndian.Uint64(r.take(8)) }
func (r *reader) addr() (a stake.Address) {
	copy(a[:], r.take(20))
	return a
}
func (r *reader) amt() (x uint256.Int) {
	x.SetBytes32(r.take(32))
	return x
}
func (r *reader) boolean() bool {
	at := r.off
	switch r.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	if r.err == nil {
		r.err = errf(ErrMalformed, "byte %d: boolean not 0 or 1", at)
	}
	return false
}
func (r *reader) end() error {
	if r.err == nil && r.off != len(r.b) {
		r.err = errf(ErrMalformed, "%d trailing bytes", len(r.b)-r.off)
	}
	return r.err
}

// DecodeTx decodes a transaction. It accepts exactly the encodings EncodeTx produces;
// semantic checks happen in Apply.
func DecodeTx(b []byte) (Tx, error) {
	r := &reader{b: b}
	if v := r.u8(); r.err == nil && v != encVersion {
		return nil, errf(ErrMalformed, "version %d, want %d", v, encVersion)
	}
	var tx Tx
	switch c := r.u8(); c {
	case txMintWord:
		tx = MintWord{Word: r.u32(), To: r.addr()}
	case txTransferWord:
		tx = TransferWord{Word: r.u32(), To: r.addr()}
	case txCreateGuild:
		tx = CreateGuild{CutBps: r.u32()}
	case txAddMember:
		tx = AddMember{Guild: r.u32(), Member: r.addr()}
	case txDepositWord:
		tx = DepositWord{Guild: r.u32(), Word: r.u32()}
	case txCreateCampaign:
		t := CreateCampaign{Items: r.u32(), Classes: r.u8(), LabelsPerItem: r.u8(), Quorum: r.u8()}
		t.Reward, t.ValidatorReward, t.HolderReward = r.amt(), r.amt(), r.amt()
		t.WorkerBond, t.ValidatorBond = r.amt(), r.amt()
		t.Duration = r.u64()
		n := int(r.u16())
		if r.err == nil && len(r.b)-r.off < 8*n {
			return nil, errf(ErrMalformed, "%d words do not fit in %d bytes", n, len(r.b)-r.off)
		}
		for range n {
			t.Words = append(t.Words, WordUse{Word: r.u32(), Weight: r.u32()})
		}
		n = int(r.u16())
		if r.err == nil && len(r.b)-r.off < 5*n {
			return nil, errf(ErrMalformed, "%d gold items do not fit in %d bytes", n, len(r.b)-r.off)
		}
		for range n {
			t.Gold = append(t.Gold, GoldItem{Item: r.u32(), Class: r.u8()})
		}
		tx = t
	case txJoin:
		tx = Join{Campaign: r.u64(), Validator: r.boolean(), Guild: r.u32()}
	case txSubmit:
		tx = Submit{Campaign: r.u64(), Item: r.u32(), Class: r.u8()}
	case txVote:
		tx = Vote{Campaign: r.u64(), Worker: r.addr(), Item: r.u32(), Approve: r.boolean()}
	case txFinalize:
		tx = Finalize{Campaign: r.u64()}
	case txClaim:
		tx = Claim{Campaign: r.u64()}
	case txBurnUnclaimed:
		tx = BurnUnclaimed{Campaign: r.u64()}
	default:
		if r.err == nil {
			return nil, errf(ErrMalformed, "unknown transaction code %d", c)
		}
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return tx, nil
}
