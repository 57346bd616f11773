package market

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the package returns wraps exactly one of them; errors.Is tells
// them apart. The list is append-only: their texts cross the chain as receipt reasons.
var (
	// ErrInvalidSpec: a TaskSpec fails validation (see TaskSpec.Validate).
	ErrInvalidSpec = errors.New("market: invalid task spec")
	// ErrInvalidOffer: an offer fails validation (zero price, zero capacity, no memory, an
	// unknown precision).
	ErrInvalidOffer = errors.New("market: invalid offer")
	// ErrTooLarge: a graph, a step count or a work estimate exceeds the package's limits.
	ErrTooLarge = errors.New("market: too large")
	// ErrUnknownOp: a program holds a primitive the gas table does not price.
	ErrUnknownOp = errors.New("market: unknown op")
	// ErrPrice: a price is zero, above the task's ceiling, or makes a fee overflow 2^256-1.
	ErrPrice = errors.New("market: invalid price")
	// ErrExpired: a deadline or a window has passed.
	ErrExpired = errors.New("market: expired")
	// ErrNoMatch: no resting offer meets the task's requirements and price.
	ErrNoMatch = errors.New("market: no matching offer")
	// ErrCapacity: a reservation would exceed an offer's verified capacity.
	ErrCapacity = errors.New("market: capacity exceeded")
	// ErrUnknown: no offer, task or bid has the given ID.
	ErrUnknown = errors.New("market: unknown id")
	// ErrExists: an offer or task with the given ID exists already.
	ErrExists = errors.New("market: id exists")
	// ErrNotAuthorized: the sender may not perform the transaction.
	ErrNotAuthorized = errors.New("market: not authorized")
	// ErrState: the offer or task is not in a state that allows the transaction.
	ErrState = errors.New("market: wrong state")
	// ErrAttestation: a capacity attestation's proofs do not check.
	ErrAttestation = errors.New("market: invalid attestation")
	// ErrMalformed: an encoding (transaction, query or state) is not canonical.
	ErrMalformed = errors.New("market: malformed encoding")
	// ErrStake: the ledger refused a token movement, or a bonded stake is too small.
	ErrStake = errors.New("market: stake")
	// ErrNoCandidates: too few eligible verifiers to assign.
	ErrNoCandidates = errors.New("market: not enough candidates")
)

// RequirementError reports a task requirement that an offer, or every resting offer, fails.
// It wraps ErrNoMatch.
type RequirementError struct {
	// Task is the task's ID.
	Task [32]byte
	// Offers is how many offers were considered; Why names the first failing requirement
	// of the closest one, or "no offers".
	Offers int
	Why    string
}

func (e *RequirementError) Error() string {
	return fmt.Sprintf("market: no matching offer for task %x: %d offers considered: %s", e.Task[:4], e.Offers, e.Why)
}

// Unwrap returns ErrNoMatch.
func (e *RequirementError) Unwrap() error { return ErrNoMatch }
