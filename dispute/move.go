package dispute

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/stake"
)

// Move is one transaction of a game: Open, Bisect, Pick, Descend, Prove or Timeout.
type Move interface {
	game() [32]byte
	op() string
}

// Open starts game Game: the sender challenges Defender's claim, committed as Root over the
// Steps+1 step-boundary leaves; Start (leaf 0, agreed) and Claim (leaf Steps, disputed) are
// proven against it. The defender moves next.
type Open struct {
	Game                   [32]byte
	Defender               stake.Address
	Steps                  uint64
	Root, Start, Claim     Hash
	StartProof, ClaimProof merkle.Proof
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

func (o Open) game() [32]byte    { return o.Game }
func (b Bisect) game() [32]byte  { return b.Game }
func (p Pick) game() [32]byte    { return p.Game }
func (d Descend) game() [32]byte { return d.Game }
func (p Prove) game() [32]byte   { return p.Game }
func (t Timeout) game() [32]byte { return t.Game }
func (Open) op() string          { return "open" }
func (Bisect) op() string        { return "bisect" }
func (Pick) op() string          { return "pick" }
func (Descend) op() string       { return "descend" }
func (Prove) op() string         { return "prove" }
func (Timeout) op() string       { return "timeout" }

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
