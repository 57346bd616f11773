package labeling

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error Apply returns wraps exactly one of them (or a stake error
// from the ledger, wrapped with context). The list is append-only: the texts cross the chain
// as receipt reasons.
var (
	// ErrMalformed: a transaction, query or state encoding is not canonical.
	ErrMalformed = errors.New("labeling: malformed encoding")
	// ErrUnknownCampaign, ErrUnknownWord, ErrUnknownGuild: no such object.
	ErrUnknownCampaign = errors.New("labeling: unknown campaign")
	ErrUnknownWord     = errors.New("labeling: unknown word")
	ErrUnknownGuild    = errors.New("labeling: unknown guild")
	// ErrUnknownParticipant: the sender (or the named worker) has not joined the campaign in
	// the needed role.
	ErrUnknownParticipant = errors.New("labeling: unknown participant")
	// ErrUnknownItem: an item index is outside the campaign's items.
	ErrUnknownItem = errors.New("labeling: unknown item")
	// ErrUnknownLabel: a vote names a label nobody submitted.
	ErrUnknownLabel = errors.New("labeling: unknown label")
	// ErrInvalidLabel: a class is outside the campaign's label schema.
	ErrInvalidLabel = errors.New("labeling: label outside the schema")
	// ErrDuplicate: a second label by one worker on one item, a second vote by one validator
	// on one label, a second join, an existing word.
	ErrDuplicate = errors.New("labeling: duplicate")
	// ErrNotEligible: a worker holds no word NFT and belongs to no guild that holds one, or
	// a validator votes on its own label.
	ErrNotEligible = errors.New("labeling: not eligible")
	// ErrNotAuthorized: the sender may not do this (mint without being the admin, move
	// another's word, manage another's guild).
	ErrNotAuthorized = errors.New("labeling: not authorized")
	// ErrTooEarly: the campaign has not reached the needed phase (finalize before the end,
	// claim before finalization, burn before the claim window closed).
	ErrTooEarly = errors.New("labeling: too early")
	// ErrTooLate: the campaign is past the phase (label or join after the end, claim after
	// the window, finalize twice).
	ErrTooLate = errors.New("labeling: too late")
	// ErrNothingToClaim: the sender has no claim, or claimed already.
	ErrNothingToClaim = errors.New("labeling: nothing to claim")
	// ErrFull: a limit is reached (labels per item, participants, words).
	ErrFull = errors.New("labeling: limit reached")
	// ErrInvalidCampaign: campaign parameters are out of range.
	ErrInvalidCampaign = errors.New("labeling: invalid campaign")
	// ErrInvalidConfig: a Config fails validation.
	ErrInvalidConfig = errors.New("labeling: invalid config")
	// ErrInvalidState: an imported state breaks an invariant.
	ErrInvalidState = errors.New("labeling: invalid state")
	// ErrLedger: the token ledger refused an operation; the error also wraps the ledger's
	// own error (errors.Is finds both).
	ErrLedger = errors.New("labeling: ledger refused")
)

// TxError reports a refused transaction: its kind, the campaign (0 if none) and the cause,
// which wraps one of the sentinels.
type TxError struct {
	Kind     string
	Campaign uint64
	Err      error
}

func (e *TxError) Error() string {
	if e.Campaign != 0 {
		return fmt.Sprintf("labeling: %s on campaign %d: %v", e.Kind, e.Campaign, e.Err)
	}
	return fmt.Sprintf("labeling: %s: %v", e.Kind, e.Err)
}

// Unwrap returns the cause.
func (e *TxError) Unwrap() error { return e.Err }

func errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
