// Package sm is the contract between the chain and the domain state machines it runs (stake
// now; market, dispute and labeling as they land). It imports nothing but the standard
// library, so a domain package can implement it without knowing anything about chains, and an
// adapter can run any machine without knowing anything about its domain.
//
// A Machine is a deterministic function of its state and its inputs: Apply takes the block's
// Env, the authenticated sender and an opaque payload (the machine's own canonical
// transaction encoding) and returns the events of the change or an error. Everything that
// crosses this boundary is representable on an EVM: 20-byte addresses, 32-byte hashes,
// unsigned integers and byte strings; nothing is a Go callback.
//
// # Contracts
//
//   - Apply either succeeds, or returns an error and leaves the state exactly as it was: a
//     chain includes failing transactions (their nonce is spent) and relies on this for
//     atomicity.
//   - Apply, Root, Export and Query depend only on the state and the arguments: no clock, no
//     randomness, no map iteration order, no environment. Two machines that applied the same
//     sequence of (Env, sender, payload) from the same state have the same Root.
//   - Export returns a canonical encoding: equal states give equal bytes. Import replaces the
//     whole state with an exported one and rejects anything Export would not produce; after an
//     Import, Export returns the imported bytes and Root is unchanged.
//   - Root is a 32-byte commitment to the whole state (by convention SHA-256 with domain
//     separation).
//   - Query answers a read-only request in the machine's own encoding and never changes the
//     state.
//   - A Machine is not safe for concurrent use; the chain serializes every call. Machines must
//     not retain the payload or query slices they are given.
package sm
