// Package labeling is the crowd-labeling market in the Synesis One style, as a deterministic
// state machine (Machine, which implements chain/sm.Machine under the name "labeling") that
// moves tokens through the stake ledger. Its statistics live in labeling/aggregate.
//
// # Roles and objects
//
//   - Admin mints word NFTs (at most Config.MaxWords, default 10,000, as Synesis One's Kanon).
//   - A guild is created by anyone at the cost of Config.GuildCost (to the FeeTreasury); its
//     owner admits members; members deposit their words into it, for good. The guild's rule
//     CutBps takes that part of each member's campaign reward for the guild's owner, who also
//     receives the word-usage rewards of the guild's words.
//   - A client creates a campaign: items, a label schema (2 to 64 classes), labels accepted
//     per item, a validator quorum, the reward per accepted label, per agreeing validator vote
//     and for word holders, the bonds, a duration and honeypot (gold) items. Creation
//     escrows the whole budget (the most the campaign can pay) in a vault, a stake escrow the
//     machine arbitrates, and pays the platform fee (Config.FeeBps of the budget).
//   - A worker joins by holding a word NFT or through a guild it belongs to that holds one;
//     a validator joins freely. Either bonds the campaign's bond into an escrow.
//   - Workers submit one label per item; validators vote on labels, at most Quorum votes per
//     label, never on their own.
//
// # Settlement
//
// Finalize, after the end, decides everything in one step, in this order:
//
//  1. Wald's sequential test (aggregate.SPRT, Config.SPRT) runs over each worker's gold
//     answers in submission order; a worker it flags is a spammer.
//  2. Dawid-Skene (aggregate.DawidSkene, Config.Aggregation) aggregates the labels of the
//     others on the non-gold items. A label is accepted if its worker is no spammer, it
//     equals the gold class (gold items) or the aggregate (other items), and its validator
//     votes, once they reach the quorum, do not reject it by majority.
//  3. A worker's approval rate is accepted/submitted labels (a validator's: votes agreeing
//     with the outcome/votes). It is paid Reward (ValidatorReward) per accepted label (vote)
//     times the PayBps of the first of Config.Tiers it reaches; below Config.MinApprovalBps
//     it is paid nothing and loses Config.LowQualitySlashBps of its bond; a spammer loses
//     Config.SpammerSlashBps. Slashed bonds are burned; the rest is refunded.
//  4. Word holders share HolderReward by the campaign's word weights (rounded down).
//  5. Everything not owed is refunded to the client at once; what is owed stays in the vault
//     as claims.
//
// Claims are paid from the finalized campaign until End + Config.ClaimWindow, once each;
// BurnUnclaimed then burns the rest. Every release from an escrow pays the ledger's escrow fee
// (stake Params.FeeBps), which the machine counts as fees.
//
// # Token accounting
//
// Totals keeps In = Paid + Refunded + Burned + Fees + Held exactly, where Held is what the
// vaults and bond escrows hold on the ledger; the machine's own ledger account (Config.Self)
// holds nothing between transactions. The tests check this after every transaction of
// random sequences, against the ledger.
//
// # Atomicity
//
// Validate, then apply. Every transaction checks everything it can before the first token
// moves, and then checks each of its ledger operations against the ledger entries the
// operation touches, as the transaction's earlier operations leave them (a journal of the
// touched balances and escrows, read through Ledger.Balance and Ledger.Escrow): escrow
// existence and arbiter, positive amounts, balances and escrow holdings that cover them,
// payee counts, overflow, and the escrow fee of every release (Ledger.Params). Only when all
// pass are the operations applied, in order. A transaction therefore moves all its tokens or
// none, at a cost that depends on the entries it touches, not on the size of the ledger
// (BenchmarkTxLedgerSize). On error neither the machine nor the ledger changed. A ledger
// that refuses an operation these checks accepted breaks the stake ledger's documented
// contract (*stake.Ledger never does): the machine reports ErrInvalidState, leaves its own
// state unchanged, and the ledger keeps the operations applied before the refused one.
// Errors are *TxError, wrapping one of the package's sentinels (ErrUnknownItem,
// ErrInvalidLabel, ErrDuplicate, ErrTooLate, …), and for ledger refusals ErrLedger together
// with the stake error.
//
// # Transaction encoding (version 1)
//
// Integers are big-endian; amount is 32 bytes (uint256); addr 20 bytes; bool one byte 0 or 1.
//
//	0x01 ‖ code ‖ fields
//	 1 MintWord        word u32 ‖ to addr
//	 2 TransferWord    word u32 ‖ to addr
//	 3 CreateGuild     cutBps u32
//	 4 AddMember       guild u32 ‖ member addr
//	 5 DepositWord     guild u32 ‖ word u32
//	 6 CreateCampaign  items u32 ‖ classes u8 ‖ labelsPerItem u8 ‖ quorum u8 ‖ reward ‖
//	                   validatorReward ‖ holderReward ‖ workerBond ‖ validatorBond (amounts) ‖
//	                   duration u64 ‖ u16 n ‖ n × (word u32 ‖ weight u32) ‖
//	                   u16 m ‖ m × (item u32 ‖ class u8)
//	 7 Join            campaign u64 ‖ validator bool ‖ guild u32
//	 8 Submit          campaign u64 ‖ item u32 ‖ class u8
//	 9 Vote            campaign u64 ‖ worker addr ‖ item u32 ‖ approve bool
//	10 Finalize        campaign u64
//	11 Claim           campaign u64
//	12 BurnUnclaimed   campaign u64
//
// DecodeTx accepts exactly what EncodeTx produces. Campaigns and guilds are numbered from 1
// in creation order.
//
// # Events
//
// Machine "labeling"; Data by Kind: word_mint (word ‖ to), word_transfer (word ‖ from ‖ to),
// guild_create (guild ‖ owner ‖ cutBps ‖ cost), guild_member (guild ‖ member), word_deposit
// (word ‖ guild), campaign_create (campaign ‖ client ‖ budget ‖ fee ‖ end u64), join
// (campaign ‖ who ‖ validator ‖ guild ‖ bond), label (campaign ‖ worker ‖ item ‖ class), vote
// (campaign ‖ validator ‖ worker ‖ item ‖ approve), score (DecodeScore: campaign ‖ who ‖
// validator ‖ submitted u32 ‖ accepted u32 ‖ verdict u8 ‖ reward ‖ slashed; one per
// participant, before) finalize (campaign ‖ refund ‖ owed ‖ burned), claim (campaign ‖ who ‖
// net ‖ fee), burn (campaign ‖ burned ‖ fee).
//
// # State encoding and root (version 1)
//
// Export writes 0x01 ‖ totals (In, Paid, Refunded, Burned, Fees, Held) ‖ words (u32 n, by
// ascending id: id ‖ owner ‖ guild u32) ‖ guilds (u32 n, by id: owner ‖ cutBps ‖ words u32 ‖
// u32 m ‖ m × member addr ascending) ‖ campaigns (u32 n, by id: client ‖ end ‖ phase u8 ‖
// vault ‖ u32 len ‖ the CreateCampaign encoding ‖ participants, labels, votes in arrival
// order and claims by ascending address, each list with a u32 count). Import accepts exactly
// what Export produces from a consistent state. Root is
// SHA-256("deai/labeling/root/v1\x00" ‖ Export()).
//
// # Limitations
//
// Gold items are public in the campaign's transaction: a worker who reads the chain can
// answer them right. A commit-reveal of the gold set is the remedy and is not built yet.
// Validators are paid per agreeing vote but not tested sequentially; guilds cannot be left.
//
// A Machine is not safe for concurrent use.
package labeling
