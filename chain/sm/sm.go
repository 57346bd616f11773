package sm

// Env is what a chain tells a machine about the block a transaction executes in.
type Env struct {
	// ChainID names the chain; transactions signed for another chain never reach Apply.
	ChainID uint64
	// Height is the number of the block being built (genesis is 0, the first block 1).
	Height uint64
	// Time is the block's chain time in seconds since the Unix epoch. It never decreases
	// from one block to the next.
	Time uint64
	// Beacon is the hash of the parent block: a value nobody could know before the parent
	// was produced.
	Beacon [32]byte
}

// Event is one change reported by a machine. Data is the machine's canonical encoding of the
// change, documented per Kind in the machine's package.
type Event struct {
	// Machine is the Name of the machine that emitted the event.
	Machine string
	// Kind names the change, e.g. "transfer".
	Kind string
	// Data is the encoded change.
	Data []byte
}

// Machine is a deterministic domain state machine run by a chain. See the package
// documentation for the contracts every implementation obeys.
type Machine interface {
	// Name identifies the machine on the chain; transactions are addressed to it by name.
	// It is 1 to 32 bytes of [a-z0-9_.-].
	Name() string
	// Apply executes one transaction sent by sender (an authenticated 20-byte address).
	Apply(env Env, sender [20]byte, payload []byte) ([]Event, error)
	// Query answers a read-only request.
	Query(query []byte) ([]byte, error)
	// Root commits to the whole state.
	Root() [32]byte
	// Export encodes the whole state canonically.
	Export() ([]byte, error)
	// Import replaces the state with an exported one.
	Import(state []byte) error
}

// ValidName reports whether name is a valid Machine name: 1 to 32 bytes of [a-z0-9_.-].
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > 32 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
