package market

import (
	"fmt"

	"github.com/deai-go/deai/internal/merkle"
	"github.com/holiman/uint256"
)

// Tx is one transaction of the market machine: one of PostOffer, CommitAttestation,
// ProveAttestation, CloseOffer, PostTask, Bid, Accept, CloseAuction, CommitProof,
// AssignVerifiers, Settle, Expire, RegisterVerifier.
type Tx interface{ txcode() byte }

// MaxIdentities bounds the identities an offer declares.
const MaxIdentities = 16

// PostOffer rests a solver's offer, pending its capacity attestation. The benchmark seed is
// BenchSeed(ID, beacon of this block).
type PostOffer struct {
	ID    [32]byte
	Props Props
	// Price per work unit; Capacity claimed in work units per second; Stake the bonded
	// stake the offer carries (at most the solver's bond).
	Price    uint256.Int
	Capacity uint64
	Stake    uint256.Int
	// Identities are further addresses of the solver; none is assigned to check its work.
	Identities [][20]byte
}

// CommitAttestation commits the benchmark's Merkle root over Rounds leaves.
type CommitAttestation struct {
	Offer  [32]byte
	Root   [32]byte
	Rounds uint64
}

// ProveAttestation opens the sampled rounds (SampleRounds with this block's beacon) in a
// later block than the commitment. Paths are ProveSamples' output.
type ProveAttestation struct {
	Offer [32]byte
	Paths [][]merkle.Hash
}

// CloseOffer takes an offer out of the book; only when nothing is reserved on it.
type CloseOffer struct{ Offer [32]byte }

// Mode selects how a task finds its solver.
type Mode uint8

// Modes.
const (
	// Continuous matches the task at once against the book, or fails with ErrNoMatch.
	Continuous Mode = 0
	// AuctionAuto opens a reverse auction; after the bid window CloseAuction picks the
	// lowest bid (ties by TieKey with the closing block's beacon).
	AuctionAuto Mode = 1
	// AuctionSubmitter opens a reverse auction; after the bid window the submitter Accepts
	// one bid within Config.AcceptWindow, or CloseAuction closes the order unaccepted.
	AuctionSubmitter Mode = 2
)

// PostTask escrows the task's fee ceiling and matches it (Continuous) or opens an auction.
type PostTask struct {
	ID   [32]byte
	Mode Mode
	// Window is the auction's bid window in seconds (auction modes only).
	Window uint64
	Spec   TaskSpec
}

// Bid offers to run an auctioned task from one of the sender's active offers at Price per
// unit (at most the task's ceiling); it reserves the task's rate on the offer.
type Bid struct {
	Task, Offer [32]byte
	Price       uint256.Int
}

// Accept picks a bid of a task in AuctionSubmitter mode (submitter only).
type Accept struct{ Task, Offer [32]byte }

// CloseAuction ends an auction: in AuctionAuto mode after the bid window it picks the
// winner; in either mode, with no bids or (AuctionSubmitter) after the accept window, it
// closes the order, releases every reservation and refunds the escrow.
type CloseAuction struct{ Task [32]byte }

// CommitProof records the solver's proof-of-learning root before the deadline.
type CommitProof struct {
	Task, Root [32]byte
}

// AssignVerifiers draws the task's verifiers and whistleblowers with this block's beacon, in a later
// block than CommitProof. Anyone may send it.
type AssignVerifiers struct{ Task [32]byte }

// Settle ends a proven task (a settler only): Accepted pays the solver Units × price and
// refunds the rest; otherwise everything is refunded.
type Settle struct {
	Task     [32]byte
	Accepted bool
}

// Expire ends a matched task whose deadline passed without a proof: the escrow is refunded
// and the reservation released. Anyone may send it.
type Expire struct{ Task [32]byte }

// RegisterVerifier makes the sender a candidate for assignment, weighted by its bond.
type RegisterVerifier struct{}

const txVersion = 1

const (
	txPostOffer = 1 + iota
	txCommitAttestation
	txProveAttestation
	txCloseOffer
	txPostTask
	txBid
	txAccept
	txCloseAuction
	txCommitProof
	txAssign
	txSettle
	txExpire
	txRegisterVerifier
)

func (PostOffer) txcode() byte         { return txPostOffer }
func (CommitAttestation) txcode() byte { return txCommitAttestation }
func (ProveAttestation) txcode() byte  { return txProveAttestation }
func (CloseOffer) txcode() byte        { return txCloseOffer }
func (PostTask) txcode() byte          { return txPostTask }
func (Bid) txcode() byte               { return txBid }
func (Accept) txcode() byte            { return txAccept }
func (CloseAuction) txcode() byte      { return txCloseAuction }
func (CommitProof) txcode() byte       { return txCommitProof }
func (AssignVerifiers) txcode() byte   { return txAssign }
func (Settle) txcode() byte            { return txSettle }
func (Expire) txcode() byte            { return txExpire }
func (RegisterVerifier) txcode() byte  { return txRegisterVerifier }

// EncodeTx returns the canonical encoding of tx (see doc.go). It fails for lists beyond
// their limits or a nil tx.
func EncodeTx(tx Tx) ([]byte, error) {
	if tx == nil {
		return nil, fmt.Errorf("%w: nil transaction", ErrMalformed)
	}
	w := &writer{b: []byte{txVersion, tx.txcode()}}
	switch t := tx.(type) {
	case PostOffer:
		if len(t.Identities) > MaxIdentities {
			return nil, fmt.Errorf("%w: %d identities exceed %d", ErrMalformed, len(t.Identities), MaxIdentities)
		}
		w.id(t.ID)
		w.u64(t.Props.Memory)
		w.u8(uint8(t.Props.Precisions))
		w.bool(t.Props.BitExact)
		w.amt(&t.Price)
		w.u64(t.Capacity)
		w.amt(&t.Stake)
		w.u8(uint8(len(t.Identities)))
		for _, a := range t.Identities {
			w.addr(a)
		}
	case CommitAttestation:
		w.id(t.Offer)
		w.id(t.Root)
		w.u64(t.Rounds)
	case ProveAttestation:
		if len(t.Paths) != AttestSamples {
			return nil, fmt.Errorf("%w: %d paths, want %d", ErrMalformed, len(t.Paths), AttestSamples)
		}
		w.id(t.Offer)
		for _, p := range t.Paths {
			if len(p) > merkle.MaxSiblings {
				return nil, fmt.Errorf("%w: path of %d siblings", ErrMalformed, len(p))
			}
			w.u8(uint8(len(p)))
			for _, h := range p {
				w.id(h)
			}
		}
	case CloseOffer:
		w.id(t.Offer)
	case PostTask:
		w.id(t.ID)
		w.u8(uint8(t.Mode))
		w.u64(t.Window)
		encodeSpec(w, &t.Spec)
	case Bid:
		w.id(t.Task)
		w.id(t.Offer)
		w.amt(&t.Price)
	case Accept:
		w.id(t.Task)
		w.id(t.Offer)
	case CloseAuction:
		w.id(t.Task)
	case CommitProof:
		w.id(t.Task)
		w.id(t.Root)
	case AssignVerifiers:
		w.id(t.Task)
	case Settle:
		w.id(t.Task)
		w.bool(t.Accepted)
	case Expire:
		w.id(t.Task)
	case RegisterVerifier:
	default:
		return nil, fmt.Errorf("%w: transaction type %T", ErrMalformed, tx)
	}
	return w.b, nil
}

// DecodeTx decodes EncodeTx's encoding and accepts nothing else: no trailing bytes, no
// unknown versions or codes, no out-of-range booleans or counts. Semantic checks happen in
// Apply.
func DecodeTx(b []byte) (Tx, error) {
	r := newReader(b)
	if v := r.U8(); r.Err == nil && v != txVersion {
		return nil, fmt.Errorf("%w: version %d", ErrMalformed, v)
	}
	code := r.U8()
	var tx Tx
	switch code {
	case txPostOffer:
		t := PostOffer{ID: r.ID()}
		t.Props.Memory = r.U64()
		t.Props.Precisions = PrecisionSet(r.U8())
		t.Props.BitExact = r.Bool()
		t.Price = r.Amount()
		t.Capacity = r.U64()
		t.Stake = r.Amount()
		n := int(r.U8())
		if n > MaxIdentities {
			r.Fail("%d identities", n)
		}
		for range n {
			if r.Err != nil {
				break
			}
			t.Identities = append(t.Identities, r.Addr())
		}
		tx = t
	case txCommitAttestation:
		tx = CommitAttestation{Offer: r.ID(), Root: r.ID(), Rounds: r.U64()}
	case txProveAttestation:
		t := ProveAttestation{Offer: r.ID()}
		for range AttestSamples {
			n := int(r.U8())
			if n > merkle.MaxSiblings {
				r.Fail("path of %d siblings", n)
			}
			if r.Err != nil {
				break
			}
			p := make([]merkle.Hash, 0, n)
			for range n {
				p = append(p, merkle.Hash(r.ID()))
			}
			t.Paths = append(t.Paths, p)
		}
		tx = t
	case txCloseOffer:
		tx = CloseOffer{Offer: r.ID()}
	case txPostTask:
		t := PostTask{ID: r.ID(), Mode: Mode(r.U8()), Window: r.U64()}
		t.Spec = decodeSpec(r)
		tx = t
	case txBid:
		tx = Bid{Task: r.ID(), Offer: r.ID(), Price: r.Amount()}
	case txAccept:
		tx = Accept{Task: r.ID(), Offer: r.ID()}
	case txCloseAuction:
		tx = CloseAuction{Task: r.ID()}
	case txCommitProof:
		tx = CommitProof{Task: r.ID(), Root: r.ID()}
	case txAssign:
		tx = AssignVerifiers{Task: r.ID()}
	case txSettle:
		tx = Settle{Task: r.ID(), Accepted: r.Bool()}
	case txExpire:
		tx = Expire{Task: r.ID()}
	case txRegisterVerifier:
		tx = RegisterVerifier{}
	default:
		r.Fail("unknown transaction code %d", code)
	}
	r.End()
	if r.Err != nil {
		return nil, r.Err
	}
	return tx, nil
}
