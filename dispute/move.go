package dispute

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/stake"
)

// Move is one transaction of the machine: a game's Open, Bisect, Pick, Descend, Prove or
// Timeout, or a forced-error task's Commit, Post, Challenge, Reveal or Finalize.
type Move interface {
	game() [32]byte
	op() string
}

// Open starts game Game: the sender challenges Defender's claim, committed as Root over the
// Steps+1 step-boundary leaves; Start (leaf 0, agreed) and Claim (leaf Steps, disputed) are
// proven against it. The defender moves next. Program, when set, names the computation
// (Config.Resolve maps it to the referee's VM; zero: Config.VM). Task, when set, disputes
// the result of a revealed forced-error task: the sender must be one of its challengers
// with no game yet, Defender its solver, Root its posted result, and the game must open
// within Forced.DisputeWindow of the reveal. Both fields are omitted from the encoding when
// zero, so a plain Open encodes as it always did.
type Open struct {
	Game                   [32]byte
	Defender               stake.Address
	Steps                  uint64
	Root, Start, Claim     Hash
	StartProof, ClaimProof merkle.Proof
	Program                Hash     `json:",omitzero"`
	Task                   [32]byte `json:",omitzero"`
}

// Bisect reveals the defender's leaves at Position.Points(K), each with its proof against
// the current level's root.
type Bisect struct {
	Game   [32]byte
	Leaves []Hash
	Proofs []merkle.Proof
}

// Pick chooses part Part of the last bisection: the challenger agrees with its left end and
// disputes its right end.
type Pick struct {
	Game [32]byte
	Part uint64
}

// Descend commits the defender's next level (Root over n+1 leaves) of the narrowed
// transition, proving that its first and last leaves are the agreed and disputed leaves.
type Descend struct {
	Game                   [32]byte
	Root                   Hash
	StartProof, ClaimProof merkle.Proof
}

// Prove hands the referee the witness of the one disputed chunk transition.
type Prove struct {
	Game    [32]byte
	Witness []byte
}

// Timeout ends a game whose mover's clock ran out; anyone may send it.
type Timeout struct {
	Game [32]byte
}

// Commit opens forced-error task Task: the sender (its solver) seals the correct result and
// a secret (Seal) before any randomness about the task is known, and pays Forced.Fee into
// the jackpot treasury.
type Commit struct {
	Task [32]byte
	Seal Hash
}

// Post publishes the solver's result of Task in a block after its Commit. The block's
// beacon (sm.Env.Beacon, the parent block's hash, fixed after the commitment) and the
// sealed secret decide whether the task is forced (ForcedDraw); only the solver knows until
// it reveals. A forced solver posts a deliberately wrong result.
type Post struct {
	Task   [32]byte
	Result Hash
}

// Challenge disputes Task's posted result within Forced.Window of the Post; the sender
// escrows Forced.Deposit. Challengers are recorded in the order their challenges land.
type Challenge struct {
	Task [32]byte
}

// Reveal opens the seal of Task after its challenge window and within Forced.RevealWindow:
// the secret and the correct result. It settles the task (see Task).
type Reveal struct {
	Task    [32]byte
	Secret  Hash
	Correct Hash
}

// Finalize settles Task when its solver did not reveal in time (treated as wrong) or when
// its dispute window closed with no game pending (accepted); anyone may send it.
type Finalize struct {
	Task [32]byte
}

func (o Open) game() [32]byte      { return o.Game }
func (c Commit) game() [32]byte    { return c.Task }
func (p Post) game() [32]byte      { return p.Task }
func (c Challenge) game() [32]byte { return c.Task }
func (r Reveal) game() [32]byte    { return r.Task }
func (f Finalize) game() [32]byte  { return f.Task }
func (Commit) op() string          { return "commit" }
func (Post) op() string            { return "post" }
func (Challenge) op() string       { return "challenge" }
func (Reveal) op() string          { return "reveal" }
func (Finalize) op() string        { return "finalize" }
func (b Bisect) game() [32]byte    { return b.Game }
func (p Pick) game() [32]byte      { return p.Game }
func (d Descend) game() [32]byte   { return d.Game }
func (p Prove) game() [32]byte     { return p.Game }
func (t Timeout) game() [32]byte   { return t.Game }
func (Open) op() string            { return "open" }
func (Bisect) op() string          { return "bisect" }
func (Pick) op() string            { return "pick" }
func (Descend) op() string         { return "descend" }
func (Prove) op() string           { return "prove" }
func (Timeout) op() string         { return "timeout" }

// MaxPayload bounds an encoded move.
const MaxPayload = 1 << 22

type envelope struct {
	Op   string
	Move json.RawMessage
}

// EncodeMove returns the canonical encoding of mv: JSON {"Op": name, "Move": fields}.
func EncodeMove(mv Move) ([]byte, error) {
	if mv == nil {
		return nil, fmt.Errorf("%w: nil move", ErrEncoding)
	}
	body, err := json.Marshal(mv)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	return json.Marshal(envelope{Op: mv.op(), Move: body})
}

// DecodeMove decodes a payload EncodeMove produced. Anything else (unknown fields, another
// spelling, trailing data) is rejected, so every accepted payload is canonical.
func DecodeMove(b []byte) (Move, error) {
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("%w: payload of %d bytes", ErrEncoding, len(b))
	}
	var env envelope
	if err := strictJSON(b, &env); err != nil {
		return nil, err
	}
	var mv Move
	var err error
	switch env.Op {
	case "open":
		var v Open
		err = strictJSON(env.Move, &v)
		mv = v
	case "bisect":
		var v Bisect
		err = strictJSON(env.Move, &v)
		mv = v
	case "pick":
		var v Pick
		err = strictJSON(env.Move, &v)
		mv = v
	case "descend":
		var v Descend
		err = strictJSON(env.Move, &v)
		mv = v
	case "prove":
		var v Prove
		err = strictJSON(env.Move, &v)
		mv = v
	case "timeout":
		var v Timeout
		err = strictJSON(env.Move, &v)
		mv = v
	case "commit":
		var v Commit
		err = strictJSON(env.Move, &v)
		mv = v
	case "post":
		var v Post
		err = strictJSON(env.Move, &v)
		mv = v
	case "challenge":
		var v Challenge
		err = strictJSON(env.Move, &v)
		mv = v
	case "reveal":
		var v Reveal
		err = strictJSON(env.Move, &v)
		mv = v
	case "finalize":
		var v Finalize
		err = strictJSON(env.Move, &v)
		mv = v
	default:
		return nil, fmt.Errorf("%w: unknown move %q", ErrEncoding, env.Op)
	}
	if err != nil {
		return nil, err
	}
	again, err := EncodeMove(mv)
	if err != nil || !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not the canonical encoding", ErrEncoding)
	}
	return mv, nil
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	if d.More() {
		return fmt.Errorf("%w: trailing data", ErrEncoding)
	}
	return nil
}
