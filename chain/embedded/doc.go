// Package embedded is the embedded chain: an in-process chain.Adapter, the default
// everywhere, modelled on go-ethereum's simulated backend (Commit, AdjustTime) but running the
// SDK's own state machines (package chain/sm) and durable on disk.
//
// Machines are registered by the caller, in their genesis state, through Config.Machines: no
// global registry. Blocks are made on demand (Commit), at a cadence (Config.BlockInterval) or
// as soon as transactions are pending (Config.AutoCommit). Chain time is the injected clock
// (Config.Clock) plus the offset AdjustTime adds, in seconds, and never decreases.
//
// # Durability
//
// With Config.Path the chain keeps its blocks in a bbolt file. Commit applies the queued
// transactions, writes the block (header, transactions with their senders, receipts) in one
// bbolt transaction, and returns only after bbolt's fsync. Transactions submitted meanwhile
// wait for the next block, so one fsync covers many transactions (group commit). WaitIncluded
// answers only after the fsync: an acknowledged transaction survives a crash, and a block is
// in the file whole or not at all.
//
// Every Config.SnapshotInterval blocks the same bbolt transaction stores a snapshot: the
// nonces and every machine's Export. Open restores the latest snapshot, checks it against its
// block's state root, replays the blocks after it, and checks every replayed header against
// the stored one (chain.ErrCorrupt otherwise). The genesis block records the chain id and the
// genesis state root; opening a store with other machines or another chain id fails with
// ErrGenesisMismatch. The transaction index (hash → height, index) is rebuilt in memory on
// Open by reading every block, which bounds start-up time and memory by the chain's length.
//
// If writing a block fails, the chain stops (every later call returns the error): its memory
// state would be ahead of its file.
//
// # State root and block encoding
//
//	stateRoot  = SHA-256("deai/chain/state/v1\x00" ‖ nonceRoot ‖ (u8 n ‖ name ‖ machineRoot)…)
//	nonceRoot  = SHA-256("deai/chain/nonces/v1\x00" ‖ (addr ‖ nonce u64)…)
//	txRoot     = SHA-256("deai/chain/txs/v1\x00" ‖ txHash…)
//	resultRoot = SHA-256("deai/chain/results/v1\x00" ‖ receipt…)
//	receipt    = status u8 ‖ u16 n ‖ reason ‖ u32 m ‖ m × (u8 n ‖ kind ‖ u32 n ‖ data)
//	block      = header ‖ u32 n ‖ n × (sender ‖ u32 n ‖ signed tx ‖ u32 n ‖ receipt)
//
// machines by name, senders by address, integers big-endian. Each block executes with
// sm.Env{Height, Time, Beacon: parent hash}.
//
// A Chain is safe for concurrent use. Queries see the state of the head block.
package embedded
