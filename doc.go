// Package deai is an SDK for verifiable, decentralized machine-learning markets: a compute
// market where submitters pay solvers to train models and verifiers check the work, and a
// crowd-labeling market where clients pay workers to label data and validators check the
// labels. Its packages are building blocks behind small interfaces; this package holds only
// this documentation.
//
// # Roles
//
//   - Submitter: posts a task (a model graph, hyperparameters, a dataset commitment, a budget).
//   - Solver: trains the model on an accelerator backend and commits a proof of learning.
//   - Verifier: replays sampled steps of the proof on the reference backend.
//   - Whistleblower: checks verifiers, and challenges wrong verdicts with a bond.
//   - Referee: the chain; it recomputes one small chunk of one operation to settle a dispute.
//   - Client, worker, validator, guild, word-NFT holder: the labeling market's roles.
//
// # The eight stages
//
//  1. Submission (market, stake): a task's work is estimated by compiling its graph into a
//     training-step program (accel/graph) and pricing the program's exact FLOPs like gas; the
//     budget is escrowed and the excess refunded after.
//  2. Profiling (pol): for backends that are not bit-exact, seeded re-runs give the distance
//     thresholds verification uses; bit-exact backends need none.
//  3. Training (market, accel, pol): the task is matched to a solver, who trains it on an
//     accel.Backend.
//  4. Proof (pol): per-step state hashes, chained and Merkle-committed, with checkpoints, the
//     data order derived from a committed seed, bound to the task and the solver.
//  5. Verification (pol): steps sampled with randomness fixed after the commitment are
//     replayed on accel/cpu and compared bit for bit.
//  6. Challenge (dispute): a wrong verdict or claim is challenged with a bond.
//  7. Arbitration (dispute, accel): bisection narrows a disagreement to one step, one
//     instruction of that step's program, and one chunk of that instruction, which the
//     referee recomputes with Backend.Exec.
//  8. Settlement (stake): rewards, slashing, jackpots, refunds and burns.
//
// # The one scenario
//
// A submitter builds graph.FashionMLP, compiles it with graph.Compile and escrows the price of
// its FLOPs. A solver opens the program on a backend (accel/cpu, or a GPU plugin), trains over
// batches that dataset.BatchAt derives from the task's seed, and commits the state hash that
// Run.Train returns after every step. A verifier opens the same program on accel/cpu from a
// committed checkpoint, replays a sampled step, and compares hashes: equal bits or a fraud.
// Run examples/train to watch the first half of it; examples/devnet runs all of it.
//
// # Vocabulary
//
//   - Graph: a static model graph (accel/graph); its Hash names it.
//   - Program: the primitives of one training step (forward, backward, update) over slots.
//   - State: parameters, optimizer state, step number and generator state; StateHash.
//   - Trace: the hash of every instruction's outputs in one step.
//   - Commitment: a Merkle root (SHA-256, domain-separated) over samples, steps or states.
//
// # Rules every implementation obeys
//
//   - Determinism: no result depends on the clock, map order, goroutine scheduling, GOMAXPROCS
//     or the architecture; randomness comes from internal/rng streams with explicit seeds.
//   - Implementations must not retain or modify caller slices; anything that blocks takes a
//     context.Context first and never stores it.
//   - Bad input is an error that names what was wrong, never a panic.
package deai
