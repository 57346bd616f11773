// Package dispute is the arbitration game of stages 6 and 7: when a defender (a solver, or a
// verifier standing by its verdict) and a challenger (a whistleblower) disagree about a
// committed computation, a k-ary bisection narrows the disagreement to one chunk of one
// instruction of one training step, and the referee (the chain) recomputes only that chunk.
//
// # The game
//
// A computation has three levels (Level): the T committed steps; the G transitions of one
// step (the instructions of its program); the E_i chunks of one instruction. Every level is a
// sequence of leaves (state commitments) whose first leaf is agreed and whose last is
// disputed. The defender commits each level as a Merkle root (internal/merkle) and, while the
// disputed interval is wider than one transition, reveals the leaves at Position.Points(K)
// with inclusion proofs (Bisect); the challenger picks the first part whose right end it
// disagrees with (Pick). A narrowed interval descends (Descend: the next level's root, whose
// first and last leaves are proven to be the agreed and disputed leaves) until, at the chunk
// level, the defender hands the referee a witness opening the agreed leaf (Prove). VM.Check
// recomputes the transition; the defender wins if it yields the disputed leaf. The game
// takes at most MaxRounds(K, T, G, E) = ⌈log_K T⌉ + ⌈log_K G⌉ + ⌈log_K E⌉ + 2 rounds.
//
// The bisection is one-sided: only the defender's leaves are ever revealed. The challenger's
// picks keep the left end of the interval at a leaf it agrees with, so an honest challenger
// ends at a transition from a true leaf to a false one, which the referee refutes; an honest
// defender's leaves are all true, so whatever a lying challenger picks, the referee confirms
// the last transition.
//
// # Moves, clocks and bonds
//
// Machine is a chain/sm.Machine ("dispute"); every move is a transaction (EncodeMove). Each
// side has a chess clock of Config.Clock seconds of chain time (sm.Env.Time): a move after
// its sender's clock ran out is refused, and anyone may then send Timeout, which ends the
// game against the silent side. Every move escrows Config.Bond on the stake ledger (the cost
// of the reply it invites); at the end the winner receives every bond, and the loser's
// bonded stake is slashed by Config.SlashNum/SlashDen (part to the winner, the rest to the
// jackpot treasury). A rejected move changes nothing.
//
// # Forced errors and jackpots
//
// Jackpot sizes Truebit's jackpot: J = (1 + margin)·c/ρ for a verification cost c and a
// forced-error rate ρ; Payout caps each payout at a third of the pool; Split shares a payout
// geometrically among the challengers who caught the error, so n Sybil identities together
// never receive more than the payout. EconConfig is the agent-based Monte-Carlo with its
// closed forms.
//
// # Tests and toys
//
// Toy and ToyTrace are the synthetic computation (op-challenger's alphabet trace); Honest and
// Liar are agents (the liar's Tricks: consistent lie, equivocation, wrong input claim,
// invalid Merkle path, withholding, late reply); Play drives a game to its end and returns
// its transcript.
package dispute
