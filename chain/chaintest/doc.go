// Package chaintest is the conformance suite every chain.Adapter must pass, as
// testing/fstest is for file systems: an adapter's test calls TestAdapter with a constructor
// for fresh instances.
//
// The suite drives the adapter through the stake machine: the constructor receives the stake
// Genesis (Keys funded with Funds each, the first key an authority) and returns a Harness whose
// adapter runs a stake.Ledger from it under stake.Name. It checks genesis state, transfers with
// receipts and events, rejection at submission (wrong chain id, bad, zero and malleable
// signatures, nonce gaps and replays, unknown machines, malformed names) with typed errors
// and nothing changed, failed execution (over balance, unknown account, unauthorized,
// malformed payload) with the nonce spent and the state otherwise unchanged, event
// subscriptions (live and replayed, closed by the producer when ctx ends), the beacon and
// headers, concurrent submitters, and waiting.
//
// An EVM adapter passes it by deploying the stake contracts at genesis; the embedded chain
// passes it in memory, on bbolt, with group commit and with a block cadence.
package chaintest
