package chain

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
)

// Address is a 20-byte account address, derived from a secp256k1 public key as Ethereum
// derives it (the last 20 bytes of the Keccak-256 of the uncompressed key).
type Address [20]byte

// String returns the address as 0x-prefixed lower-case hex.
func (a Address) String() string { return "0x" + hex.EncodeToString(a[:]) }

// Hash is a 32-byte SHA-256 digest.
type Hash [32]byte

// String returns the hash as 0x-prefixed lower-case hex.
func (h Hash) String() string { return "0x" + hex.EncodeToString(h[:]) }

// Header describes one block. Block 0 is genesis.
type Header struct {
	ChainID uint64
	Height  uint64
	// Time is the block's chain time in seconds since the Unix epoch; it never decreases.
	Time uint64
	// Parent is the hash of block Height-1 (zero for genesis).
	Parent Hash
	// TxRoot commits to the block's transactions, ResultRoot to their receipts, StateRoot
	// to the state after them (nonces and every machine's root).
	TxRoot, ResultRoot, StateRoot Hash
}

// Status is the outcome of an included transaction.
type Status uint8

const (
	// Failed: the machine rejected the transaction; its nonce is spent and the state is
	// otherwise unchanged.
	Failed Status = 0
	// Succeeded: the machine applied the transaction.
	Succeeded Status = 1
)

// Receipt reports an included transaction.
type Receipt struct {
	Tx     Hash
	Height uint64
	Index  uint32
	Sender Address
	Status Status
	// Reason is the machine's error text when Status is Failed.
	Reason string
	// Events are the changes the transaction made, in order.
	Events []Event
}

// Err returns nil for a successful transaction and an *ExecError for a failed one.
func (r Receipt) Err() error {
	if r.Status == Succeeded {
		return nil
	}
	return &ExecError{Tx: r.Tx, Reason: r.Reason}
}

// Event is one change made by an included transaction.
type Event struct {
	Height  uint64
	TxIndex uint32
	Tx      Hash
	Machine string
	Kind    string
	Data    []byte
}

// Notification is one element of an event stream: an Event, or, as the last element before
// the channel closes, an Err explaining why the stream ended early (never for ctx ending).
type Notification struct {
	Event Event
	Err   error
}

// Adapter is what a chain must do for the SDK: accept signed transactions, report their
// inclusion and results, answer state queries, stream events, and tell chain time, height and
// randomness. Everything is representable on an EVM (uint256 amounts inside payloads, 32-byte
// hashes, 20-byte addresses) and nothing takes a callback, so an EVM adapter or a plugin
// process can implement it.
//
// Implementations are safe for concurrent use. Every method honours ctx; none retains
// caller slices.
type Adapter interface {
	// ChainID is the chain's identifier; transactions must be signed for it.
	ChainID() uint64
	// Submit verifies a signed transaction (chain id, signature, machine, nonce) and queues
	// it for inclusion. It fails with errors wrapping ErrWrongChain (*ChainIDError),
	// ErrBadSignature, ErrUnknownMachine, ErrNonce (*NonceError), ErrMalformed or
	// ErrMempoolFull; a rejected transaction leaves no trace.
	Submit(ctx context.Context, tx SignedTx) (Hash, error)
	// Nonce returns the nonce the sender's next transaction must carry (counting queued ones).
	Nonce(ctx context.Context, sender Address) (uint64, error)
	// Receipt returns the receipt of an included transaction, ErrPending if it is queued,
	// or ErrNotFound.
	Receipt(ctx context.Context, tx Hash) (Receipt, error)
	// WaitIncluded blocks until the transaction is included durably and returns its
	// receipt; ErrNotFound if the chain does not know it.
	WaitIncluded(ctx context.Context, tx Hash) (Receipt, error)
	// Query asks a machine a read-only question about the state at the head.
	Query(ctx context.Context, machine string, query []byte) ([]byte, error)
	// Head returns the latest block's header: chain time and height.
	Head(ctx context.Context) (Header, error)
	// HeaderAt returns the header at a height, ErrFuture beyond the head.
	HeaderAt(ctx context.Context, height uint64) (Header, error)
	// Beacon returns the randomness of a block: its header hash, which no party knew
	// before the block was produced. A value committed in block h is bound to randomness
	// that is unknown at commitment time by reading Beacon(h+k), k >= 1, once it exists;
	// ErrFuture until then.
	Beacon(ctx context.Context, height uint64) (Hash, error)
	// Subscribe streams the events of every block from height from on (past blocks first),
	// in order, until ctx ends or the adapter closes. The producer closes the channel.
	Subscribe(ctx context.Context, from uint64) (<-chan Notification, error)
}

// Sentinel errors. The list is append-only.
var (
	ErrBadSignature   = errors.New("chain: bad signature")
	ErrWrongChain     = errors.New("chain: wrong chain id")
	ErrNonce          = errors.New("chain: wrong nonce")
	ErrUnknownMachine = errors.New("chain: unknown machine")
	ErrMalformed      = errors.New("chain: malformed encoding")
	ErrMempoolFull    = errors.New("chain: mempool full")
	ErrNotFound       = errors.New("chain: not found")
	ErrPending        = errors.New("chain: pending")
	ErrFuture         = errors.New("chain: block not produced yet")
	ErrClosed         = errors.New("chain: closed")
	ErrExecution      = errors.New("chain: transaction failed")
	ErrCorrupt        = errors.New("chain: corrupt store")
)

// ChainIDError reports a transaction signed for another chain. It wraps ErrWrongChain.
type ChainIDError struct{ Want, Got uint64 }

func (e *ChainIDError) Error() string {
	return fmt.Sprintf("chain: wrong chain id: transaction for %d, chain is %d", e.Got, e.Want)
}

// Unwrap returns ErrWrongChain.
func (e *ChainIDError) Unwrap() error { return ErrWrongChain }

// NonceError reports a transaction whose nonce is not the sender's next. It wraps ErrNonce.
type NonceError struct {
	Sender    Address
	Want, Got uint64
}

func (e *NonceError) Error() string {
	return fmt.Sprintf("chain: wrong nonce: %s sent %d, next is %d", e.Sender, e.Got, e.Want)
}

// Unwrap returns ErrNonce.
func (e *NonceError) Unwrap() error { return ErrNonce }

// ExecError reports a transaction the machine rejected; Reason is the machine's error text.
// It wraps ErrExecution.
type ExecError struct {
	Tx     Hash
	Reason string
}

func (e *ExecError) Error() string {
	return fmt.Sprintf("chain: transaction %s failed: %s", e.Tx, e.Reason)
}

// Unwrap returns ErrExecution.
func (e *ExecError) Unwrap() error { return ErrExecution }
