// Package stake is the token ledger: balances, bonds, unbonding, escrow, slashing, rewards,
// treasuries and burns, as a pure deterministic state machine (stage 8 of the protocol,
// settlement). It knows nothing of markets, games or chains: a Ledger applies operations and
// returns events, and implements chain/sm.Machine so that any chain can run it.
//
// Tokens are never lost, never created after genesis, and never float. Amounts are unsigned
// 256-bit integers (github.com/holiman/uint256) with checked arithmetic; the only mint is
// Genesis. The ledger keeps, at every moment,
//
//	Minted = Σ balances + Σ bonded + Σ unbonding + Σ escrowed + Σ treasuries + Burned
//
// (Check verifies it; Supply = Minted − Burned). Because every holding is part of that sum,
// no holding can exceed 2^256−1 and no operation can overflow; products (fractions, fees,
// shares) are computed at 512 bits and are never larger than their base.
//
// # Operations
//
// An operation is sent by an authenticated address (the chain checks signatures) at a chain
// time (sm.Env.Time, seconds):
//
//   - Transfer: balance → another balance (the recipient's account is created).
//   - Bond: balance → bond. Unbond: bond → an unbonding entry that matures after
//     Params.UnbondingPeriod; entries started at the same time merge, at most
//     Params.MaxUnbondingEntries per account. Withdraw: every matured entry → balance.
//   - Burn: balance → destroyed. Fund: balance → a named treasury.
//   - EscrowCreate: balance → an escrow with an arbiter. EscrowRelease (arbiter only): escrow →
//     payees, each payout less a fee to TreasuryJackpot. EscrowRefund (arbiter only): the rest
//     → the owner. An escrow that reaches zero is closed.
//   - Slash (authorities only): a fraction of the target's bond and of its unbonding entries
//     started at or after the offence time Since → a reward to a beneficiary, the rest to a
//     treasury or burned.
//   - Payout (authorities only): a treasury → recipients in proportion to weights (rewards,
//     jackpots).
//
// An account that holds nothing does not exist: operations by it fail with
// ErrUnknownAccount, and it is absent from the state and its root.
//
// # Rounding policy
//
// Every division rounds in the direction that can never pay out more than was taken:
//
//   - What is slashed rounds up: ceil(amount × Num / Den), separately for the bond and each
//     unbonding entry (each cut ≤ its bucket since Num ≤ Den). A positive fraction of a
//     positive stake always slashes at least one unit.
//   - What is paid rounds down: a slashing reward is floor(slashed × RewardBps / 10000); a
//     payout share is floor(Total × weight / Σ weights); a release's payee receives
//     amount − fee, where the fee, ceil(amount × FeeBps / 10000), is what is taken.
//   - Dust, what rounding down left unpaid, goes to a named treasury: Total − Σ shares of a
//     Payout to TreasuryDust, and slashed − reward to the Slash's Treasury (burned if none).
//
// So Σ paid ≤ Σ collected by construction: the failure of cosmos-sdk #3723, where rewards
// rounded up paid out more than a pool held, cannot happen, and the tests check it over
// adversarial weights.
//
// # Errors
//
// On error an operation changes nothing. Errors wrap one sentinel (ErrInsufficientFunds,
// ErrUnknownAccount, …) and carry facts; ErrInsufficientFunds comes as an
// *InsufficientFundsError with the holder, the source and both amounts.
//
// # Transaction encoding (version 1)
//
// The payload of a chain transaction to machine "stake". Integers are big-endian; amount is
// 32 bytes (uint256), addr 20 bytes, id 32 bytes, name is a length byte and 1-32 bytes of
// [a-z0-9_] (for Slash, length 0 means burn), n is a u16 in [1, 1024].
//
//	0x01 ‖ op ‖ fields
//	 1 Transfer      to addr ‖ amount
//	 2 Bond          amount
//	 3 Unbond        amount
//	 4 Withdraw      (nothing)
//	 5 Burn          amount
//	 6 Fund          name ‖ amount
//	 7 EscrowCreate  id ‖ arbiter addr ‖ amount
//	 8 EscrowRelease id ‖ n ‖ n × (to addr ‖ amount)
//	 9 EscrowRefund  id
//	10 Slash         target addr ‖ num u64 ‖ den u64 ‖ since u64 ‖ beneficiary addr ‖
//	                 rewardBps u32 ‖ name
//	11 Payout        name ‖ total amount ‖ n ‖ n × (to addr ‖ weight u64)
//
// DecodeOp accepts exactly the encodings EncodeOp produces (no trailing bytes, no unknown
// versions or codes); semantic checks (zero amounts, fractions) happen in Apply.
//
// # Events
//
// Every change emits an sm.Event with Machine "stake", a Kind and Data:
//
//	transfer        from addr ‖ to addr ‖ amount
//	bond            who addr ‖ amount
//	unbond          who addr ‖ amount ‖ end u64
//	withdraw        who addr ‖ amount
//	burn            who addr ‖ amount
//	fund            who addr ‖ amount ‖ name
//	escrow_create   id ‖ owner addr ‖ arbiter addr ‖ amount
//	escrow_release  id ‖ to addr ‖ net amount ‖ fee amount   (one per payee)
//	escrow_refund   id ‖ owner addr ‖ amount
//	slash           target addr ‖ from bond amount ‖ from unbonding amount ‖ since u64 ‖
//	                beneficiary addr ‖ reward amount ‖ name
//	payout          to addr ‖ share amount ‖ name              (one per recipient)
//	dust            amount ‖ source treasury name               (when shares left dust)
//
// # State encoding and root (version 1)
//
// Export writes
//
//	0x01 ‖ unbondingPeriod u64 ‖ maxUnbondingEntries u32 ‖ feeBps u32 ‖
//	u32 n ‖ n × authority addr                                   (ascending)
//	minted amount ‖ burned amount ‖
//	u32 n ‖ n × (name ‖ amount)                                   (treasuries, ascending name)
//	u32 n ‖ n × (addr ‖ balance ‖ bonded ‖ u32 m ‖ m × (amount ‖ start u64 ‖ end u64))
//	                                                              (accounts, ascending addr;
//	                                                               entries ascending start)
//	u32 n ‖ n × (id ‖ owner addr ‖ arbiter addr ‖ amount)         (escrows, ascending id)
//
// with no zero holdings (empty accounts, treasuries and escrows are absent). Import accepts
// exactly these bytes from a state that satisfies conservation.
//
// The root commits to the same content, in a shape whose update costs what changed, not the
// size of the state (a chain asks for it every block):
//
//	root      = SHA-256("deai/stake/root/v2\x00" ‖ SHA-256(head) ‖ tree(accounts) ‖ tree(escrows))
//	head      = Export's bytes up to and including the treasuries
//	tree      = SHA-256("deai/stake/tree/v1\x00" ‖ mid(0) ‖ … ‖ mid(255))
//	mid(i)    = SHA-256("deai/stake/mid/v1\x00" ‖ bucket(256i) ‖ … ‖ bucket(256i+255))
//	bucket(p) = SHA-256("deai/stake/bucket/v1\x00" ‖ (key ‖ record)…)   or 32 zero bytes if empty
//
// where bucket p holds the records whose key (address or escrow id) begins with the two
// bytes p, in ascending key order, and a record is encoded as in Export (account: balance ‖
// bonded ‖ entries; escrow: owner ‖ arbiter ‖ amount).
//
// # Queries
//
// Query answers 0x01 ‖ kind ‖ args (built by QueryAccount, QueryEscrow, QueryTreasury,
// QuerySupply) with EncodeAccount's encoding, DecodeEscrow's, a 32-byte amount, or
// minted ‖ burned.
//
// A Ledger is not safe for concurrent use.
package stake
