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
// game against the silent side. Every move escrows a bond on the stake ledger: Config.Bond
// plus the price of the reply it invites (Costs: a bisection's reply costs its revealed
// leaves and their Merkle paths, a descent's the whole next level, a proof's the referee's
// chunk work; Machine.BondFor). At the end the winner receives every bond, so the loser's
// bonds pay for the winner's replies, and the loser's bonded stake is slashed by
// Config.SlashNum/SlashDen (part to the winner, the rest to the jackpot treasury). A
// rejected move changes nothing, neither the machine nor the ledger (a transaction that
// needs several ledger operations snapshots the ledger and restores it on failure).
//
// # Programs
//
// Open.Program names the computation a game disputes; Config.Resolve maps it to the VM
// that referees it, so one machine referees disputes over different programs. A game that
// names no program uses Config.VM.
//
// # Forced errors and jackpots
//
// Tasks (Task) are Truebit's forced-error rounds as transactions: Commit (the solver seals
// its correct result and a secret, paying Forced.Fee into stake.TreasuryJackpot), Post (the
// result, in a later block whose beacon decides, with the secret, whether the task is
// forced: ForcedDraw at rate ρ = Forced.RateNum/RateDen; a forced solver posts a wrong
// result), Challenge (anyone, within Forced.Window, with a deposit, recorded in order),
// Reveal (the solver opens the seal after the window) and Finalize. A revealed forced error
// pays Payout(pool, J) = min(J, pool/3) out of the jackpot treasury, shared by Split (each
// of n challengers gets J·r^(n−1), r ≤ 1/2, so n Sybil identities never get more than
// one), and costs the solver nothing; a solver that does not reveal in time, or whose
// reveal shows a wrong result, is slashed; a consistent, challenged, non-forced result goes
// to the dispute game (Open.Task). Jackpot sizes J = (1 + margin)·c/ρ for a verification
// cost c, so lazy verification is dominated.
//
// # Economics
//
// Whistleblower is the agent that replicates (or samples) verifiers' work, challenges, and
// joins or leaves the pool by its expected payout. Equilibria is the agent-based Monte-Carlo
// (EquilibriaConfig: solvers forging a fraction f, diligent and lazy verifiers,
// whistleblowers, the jackpot pool in exact tokens) that reports, per configuration, the
// cheating EV (closed form and Monte-Carlo with its standard error), whether lazy
// verification is dominated, the pool's minimum, the whistleblowers' equilibrium and the
// Sybil check (Report.Markdown). EconConfig is the earlier, single-verifier simulation.
//
// # Tests and toys
//
// Toy and ToyTrace are the synthetic computation (op-challenger's alphabet trace); Honest and
// Liar are agents (the liar's Tricks: consistent lie, equivocation, wrong input claim,
// invalid Merkle path, withholding, late reply); Play drives a game to its end and returns
// its transcript.
package dispute
