package stake

import (
	"errors"
	"fmt"

	"github.com/holiman/uint256"
)

// Sentinel errors. Every error Apply returns wraps exactly one of them; errors.Is tells them
// apart. The list is append-only: their texts cross the chain as receipt reasons.
var (
	// ErrInsufficientFunds: an amount exceeds what its source holds. The error is an
	// *InsufficientFundsError.
	ErrInsufficientFunds = errors.New("stake: insufficient funds")
	// ErrUnknownAccount: the sender holds nothing at all.
	ErrUnknownAccount = errors.New("stake: unknown account")
	// ErrUnknownEscrow: no escrow has the given ID.
	ErrUnknownEscrow = errors.New("stake: unknown escrow")
	// ErrEscrowExists: an escrow with the given ID exists already.
	ErrEscrowExists = errors.New("stake: escrow exists")
	// ErrNotAuthorized: the sender may not perform the operation (slash and payout need an
	// authority; escrow release and refund need the escrow's arbiter).
	ErrNotAuthorized = errors.New("stake: not authorized")
	// ErrZeroAmount: an amount that must be positive is zero.
	ErrZeroAmount = errors.New("stake: zero amount")
	// ErrInvalidFraction: a slashing fraction is not in (0, 1] or a basis-point figure
	// exceeds 10000.
	ErrInvalidFraction = errors.New("stake: invalid fraction")
	// ErrNothingToWithdraw: no unbonding entry of the sender has matured.
	ErrNothingToWithdraw = errors.New("stake: nothing to withdraw")
	// ErrTooManyUnbonding: the sender has Params.MaxUnbondingEntries entries already.
	ErrTooManyUnbonding = errors.New("stake: too many unbonding entries")
	// ErrInvalidPayout: a payout list is empty, too long, or its weights sum to zero.
	ErrInvalidPayout = errors.New("stake: invalid payout")
	// ErrMalformed: an encoding (transaction, query or state) is not canonical.
	ErrMalformed = errors.New("stake: malformed encoding")
	// ErrInvalidGenesis: a Genesis fails validation.
	ErrInvalidGenesis = errors.New("stake: invalid genesis")
	// ErrInvalidState: an imported state breaks an invariant (conservation, ordering).
	ErrInvalidState = errors.New("stake: invalid state")
	// ErrOverflow: a figure would exceed 2^256-1. Conservation makes this unreachable from a
	// valid state; it guards against corrupted ones.
	ErrOverflow = errors.New("stake: overflow")
)

// InsufficientFundsError reports an amount larger than its source. It wraps
// ErrInsufficientFunds.
type InsufficientFundsError struct {
	// Account is the holder (the sender, the escrow's owner or the zero address for a
	// treasury).
	Account Address
	// Source names what was short: "balance", "bonded", "escrow", "treasury <name>".
	Source string
	// Have is what the source holds; Need is what the operation required.
	Have, Need uint256.Int
}

func (e *InsufficientFundsError) Error() string {
	return fmt.Sprintf("stake: insufficient funds: %s of %s holds %s, needs %s",
		e.Source, e.Account, e.Have.Dec(), e.Need.Dec())
}

// Unwrap returns ErrInsufficientFunds.
func (e *InsufficientFundsError) Unwrap() error { return ErrInsufficientFunds }

func insufficient(a Address, source string, have, need *uint256.Int) error {
	return &InsufficientFundsError{Account: a, Source: source, Have: *have, Need: *need}
}
