package dispute

import (
	"crypto/sha256"
	"errors"
)

// Errors. Every rejected transaction wraps one of them and leaves the state unchanged.
var (
	// ErrBadMove: a move that the game's rules forbid (wrong phase, out of turn, bad index).
	ErrBadMove = errors.New("dispute: bad move")
	// ErrBadProof: a Merkle proof or a referee witness that does not verify.
	ErrBadProof = errors.New("dispute: invalid proof")
	// ErrClock: a move after its sender's chess clock ran out, or a timeout claimed early.
	ErrClock = errors.New("dispute: clock")
	// ErrNoGame: no game with that id, or a game that has ended.
	ErrNoGame = errors.New("dispute: no such game")
	// ErrNoTask: no forced-error task with that id, or a task that has been settled.
	ErrNoTask = errors.New("dispute: no such task")
	// ErrEncoding: a payload, query or state that does not decode.
	ErrEncoding = errors.New("dispute: malformed encoding")
	// ErrBadTrace: a trace or commitment that cannot be built (sizes out of range).
	ErrBadTrace = errors.New("dispute: bad trace")
	// ErrStake: the ledger refused a token movement.
	ErrStake = errors.New("dispute: stake")
	// ErrConfig: an invalid configuration.
	ErrConfig = errors.New("dispute: invalid config")
)

func sha(b []byte) Hash { return sha256.Sum256(b) }
