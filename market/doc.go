// Package market is the compute market (stages 1 and 3 of the protocol): a submitter's task
// meets a solver's hardware at a price, the fee is escrowed through package stake, and
// verifiers and whistleblowers are assigned by the chain's randomness beacon so that nobody
// chooses their own judge.
//
// # Tasks and work estimation
//
// A TaskSpec names a model graph (its canonical encoding and hash), a dataset (commitment,
// size, location), hyperparameters, a step count, a deadline, a price ceiling per work unit
// or a total budget, and Requirements (memory, precisions, a bit-exact backend, a minimum
// bonded stake). TaskSpec.Estimate unrolls the graph's training step into primitives
// (graph.Decode's limits bound its size, MaxSteps the steps, MaxUnits the product, so
// estimation halts on any input) and prices them like gas (the approach of the Gensyn
// litepaper):
//
//	StepGas = Σ_instr GasWeight(prim) × FLOPs(instr) + MemoryBytes / 4
//	Units   = Steps × StepGas,   fee = Units × price
//
// It does not compile: graph.DecodeWork checks the encoding exactly as graph.Decode does
// and counts the step's primitives, FLOPs per primitive and slot memory in the same linear
// pass, without building the graph (a 10^5-node graph in about 8 ms, see BENCHMARKS.md),
// and EstimateWork prices that summary. The result equals EstimateProgram of the compiled
// step, errors included (tests hold them equal). FLOPs are the exact counts of
// graph.Program.FLOPs, with this gas table (gas per FLOP):
//
//	1  matmul, conv2d, conv2d_grad_input, conv2d_grad_weight, copy, adam_step
//	2  bias_add, bias_grad, relu, relu_grad, tanh_grad, maxpool2d(_grad), avgpool2d(_grad),
//	   add, softmax_xent_grad, sgd, adamw
//	8  tanh, softmax_xent (elementary functions)
//
// A primitive missing from the table is ErrUnknownOp. PostTask escrows Units × ceiling (the
// ceiling is floor(Budget/Units) for a budget); settlement pays Units × the matched price
// and refunds the rest, so paid + refunded = escrowed exactly.
//
// # Offers and capacity attestation
//
// An offer carries the solver's device properties, a price per unit, a claimed capacity in
// work units per second, a bonded stake (at most the solver's bond) and further identities of
// the solver. It is matched only after its capacity is attested (io.net paid for ~1.8M fake
// GPUs; unverified capacity is never paid here): the benchmark seed is BenchSeed(offer,
// beacon of the posting block); the solver runs rounds of a 64×64 integer-valued matmul on
// its backend (RunBenchmark; exact on any float32 hardware, see attest.go), commits the
// Merkle root over the round hashes, and in a later block opens AttestSamples rounds that
// SampleRounds derives from that block's beacon. The chain recomputes them (RoundLeaf,
// about 0.5 MFLOP each). If all check, the offer's capacity is min(claimed, Rounds ×
// BenchGasPerRound / seconds since posting); otherwise the offer fails for good. What it
// shows is throughput over a window, not which device produced it. A solver that skipped a
// fraction 1−f of the rounds passes a given beacon with probability f^16, and waiting for a
// lucky beacon lowers its measured rate, since the clock runs until the proof lands.
//
// # Matching
//
// Book is the matching engine. An offer is eligible for a Demand when its quantized memory
// (QuantizeMemory: three significant bits) is at least the need, its precisions include the
// required ones, it is bit-exact if required, its price is at most the ceiling, its free
// capacity (Capacity − Reserved) covers the task's rate (ceil(Units / seconds to the
// deadline)), and its stake is at least MinStake. Among eligible offers the lowest price
// wins; ties go to the lowest TieKey(offer, task, beacon), a hash that neither arrival order
// nor a chosen offer ID can predict, then the lowest ID (Better). A match reserves the rate;
// no reservation ever exceeds capacity. The book keeps offers by device profile and, within
// one, in price order, in blocks of 64 to 128 whose prices, free capacities and stakes lie in
// contiguous arrays, each block summarised by its largest free capacity (and how many offers
// have it) and its largest stake, and groups of 64 blocks by their largest free capacity, so
// a search skips full or under-staked runs. Every offer knows its block, so a reservation or
// a release updates a few summary words in place, without a search. A match costs
// O(profiles + blocks skipped + tied offers at the best price) and reads a few cache lines
// per eligible profile, however many offers rest: 10^6 resting offers make it 1.2-1.3
// times slower than 10^3 (BENCHMARKS.md). Tests compare it with a brute-force matcher on
// 100,000 random scenarios and on books of thousands of offers in many groups.
//
// Two modes: Continuous matches at PostTask (or fails with ErrNoMatch, changing nothing);
// a reverse auction (AuctionAuto, AuctionSubmitter) collects Bids during a window, each at
// most the ceiling and reserving the rate on the bidding offer; then the lowest bid wins
// (auto), or the submitter Accepts one within Config.AcceptWindow; an order closed without a
// winner releases every reservation and refunds the escrow. These are the three problems
// filed against Akash's market (bids above the ceiling, reservations beyond capacity,
// resources locked after an order closed unaccepted), each pinned by a regression test.
//
// # Assignment
//
// After CommitProof, AssignVerifiers in a later block draws Config.Verifiers verifiers and
// Config.Whistleblowers whistleblowers from the registered verifiers, weighted by bonded
// stake, excluding the solver and its declared identities (Assign specifies the draw).
// Anyone may send it; a party that can time its transaction chooses among the beacons of
// the blocks it waits for, which the whistleblowers' bonds and the verifiers' sampling
// bound but do not remove.
//
// # The machine
//
// Machine implements chain/sm.Machine under the name "market": offers, tasks and bids are
// its state and every change is a transaction. Tokens move only through the Ledger
// interface (*stake.Ledger): EscrowCreate from the submitter at PostTask (the market's
// Config.Address is the arbiter), EscrowRelease to the solver and EscrowRefund at the end.
// Apply checks everything before the first token moves, so on error nothing changed here
// or in the ledger. The book is rebuilt from the state on Import.
//
// # Transaction encoding (version 1)
//
// Integers are big-endian; amount is 32 bytes, addr 20, id 32; bool is one byte 0 or 1.
//
//	0x01 ‖ code ‖ fields
//	 1 PostOffer          id ‖ memory u64 ‖ precisions u8 ‖ bitExact bool ‖ price amount ‖
//	                      capacity u64 ‖ stake amount ‖ n u8 (≤ 16) ‖ n × addr
//	 2 CommitAttestation  offer id ‖ root id ‖ rounds u64
//	 3 ProveAttestation   offer id ‖ 16 × (n u8 (≤ 64) ‖ n × sibling id)
//	 4 CloseOffer         offer id
//	 5 PostTask           id ‖ mode u8 ‖ window u64 ‖ spec
//	 6 Bid                task id ‖ offer id ‖ price amount
//	 7 Accept             task id ‖ offer id
//	 8 CloseAuction       task id
//	 9 CommitProof        task id ‖ root id
//	10 AssignVerifiers    task id
//	11 Settle             task id ‖ accepted bool
//	12 Expire             task id
//	13 RegisterVerifier   (nothing)
//
// spec (EncodeSpec) is graph (u32 length ‖ bytes) ‖ graph hash ‖ dataset root ‖ samples u64
// ‖ location (u8 length ‖ bytes) ‖ batch u32 ‖ optimizer kind u8 ‖ lr, momentum, weight
// decay, beta1, beta2, eps as float32 bits u32 ‖ seed u64 ‖ steps u64 ‖ deadline u64 ‖
// max price amount ‖ budget amount ‖ memory u64 ‖ precisions u8 ‖ bitExact bool ‖ min
// stake amount. DecodeTx accepts exactly what EncodeTx produces.
//
// # Events
//
// Machine "market", Kind and Data: offer_post (offer ‖ solver), attest_commit (offer ‖
// root), attest_ok (offer ‖ capacity u64), attest_fail (offer), offer_close (offer),
// task_post (task ‖ submitter ‖ units u64 ‖ escrow amount), match (task ‖ offer ‖ price),
// bid (task ‖ offer ‖ price), auction_close (task), proof_commit (task ‖ root), assign
// (task ‖ addr ‖ "verifier" or "whistleblower"), settle (task ‖ paid ‖ refunded), expire
// (task), verifier (addr); plus the ledger's own events for every token movement.
//
// # State encoding and root (version 1)
//
// Export writes 0x01 ‖ u32 n ‖ n offers (ascending id) ‖ u32 n ‖ n tasks (ascending id) ‖
// u32 n ‖ n verifier addrs (ascending), each record in the field order of Offer and Task
// (state.go); Import accepts exactly those bytes from a state that passes Check. Root is
// SHA-256("deai/market/root/v1\x00" ‖ Export()).
//
// Neither Book nor Machine is safe for concurrent use.
package market
