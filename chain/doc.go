// Package chain defines what a chain adapter must do for the SDK, and the values that cross
// that boundary: signed transactions, headers, receipts and events. Its subpackages are the
// contract with the domain state machines (chain/sm), the embedded chain that runs them
// in-process (chain/embedded, the default everywhere) and the conformance suite every adapter
// must pass (chain/chaintest).
//
// An Adapter accepts signed transactions for named state machines (Submit), reports their
// inclusion (Receipt, WaitIncluded), answers read-only queries (Query), streams events
// (Subscribe: a channel the producer closes, ended by ctx, with errors in-band), tells chain
// time and height (Head, HeaderAt), and gives randomness that no party can know before a
// commitment (Beacon: the hash of a block produced after it). Everything in it is
// representable on an EVM: 20-byte addresses, 32-byte hashes, uint64 heights and times, byte
// payloads whose amounts are uint256; nothing takes a Go callback. So an EVM adapter and a
// go-plugin plugin can implement it.
//
// # Transactions
//
// A Tx names a chain, a nonce, a machine and a payload (the machine's own encoding). It is
// signed with secp256k1 (go-ethereum's crypto): the sender is recovered from the signature,
// and its address is the Ethereum address of the key. The chain id stops replay across
// chains; the nonce, which must equal the number of the sender's earlier transactions, stops
// replay within one. Signatures with S in the upper half of the curve order (the malleable
// twin of a valid one) are rejected. Encodings, integers big-endian:
//
//	unsigned  = 0x01 ‖ chainID u64 ‖ nonce u64 ‖ u8 n ‖ machine ‖ u32 n ‖ payload
//	signed    = unsigned ‖ R[32] ‖ S[32] ‖ V[1]        (V is 0 or 1)
//	sign over   SHA-256("deai/chain/tx/v1\x00" ‖ unsigned)
//	tx hash   = SHA-256("deai/chain/txid/v1\x00" ‖ signed)
//
// A machine name is 1-32 bytes of [a-z0-9_.-]; a payload at most MaxPayload bytes.
//
// # Inclusion and failure
//
// Submit rejects what no block may contain (wrong chain id, bad signature, unknown machine,
// wrong nonce, malformed fields), with typed errors and no trace. A transaction that is
// well-formed but that its machine rejects (insufficient funds, unknown account, …) is
// included with Status Failed: its nonce is spent, the machine's state is unchanged, and
// Receipt.Err returns an *ExecError carrying the machine's error text, whose sentinel text
// (e.g. "stake: insufficient funds") identifies the kind.
//
// # Headers and the beacon
//
//	header = 0x01 ‖ chainID u64 ‖ height u64 ‖ time u64 ‖ parent ‖ txRoot ‖ resultRoot ‖ stateRoot
//	hash   = SHA-256("deai/chain/header/v1\x00" ‖ header)
//
// Beacon(h) is the hash of block h. To draw randomness for something committed in block c,
// use Beacon(c+k) with k >= 1: the commitment was fixed before that block existed. The
// producer of a block can still bias its hash by choosing what goes in (true of any chain's
// block hash); the embedded chain's operator is trusted by whoever runs it, and an EVM
// adapter may use RANDAO (block.prevrandao) instead.
//
// # Contracts
//
// Adapters are safe for concurrent use, honour ctx in every method, never retain caller
// slices, and return errors wrapping this package's sentinels.
package chain
