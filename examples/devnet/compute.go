package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/dispute/accelvm"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/market"
	"github.com/deai-go/deai/pol"
	"github.com/deai-go/deai/pol/attack"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

// job is one training task as the devnet follows it.
type job struct {
	id      [32]byte
	spec    market.TaskSpec
	task    pol.Task
	solver  *node
	cheats  bool
	proof   *pol.Proof
	opener  pol.Opener
	final   *accel.State
	forged  []uint64
	units   uint64
	height  uint64 // block of the proof commitment
	verdict []string
	caught  bool
	slashed uint256.Int
	paid    uint256.Int
	rounds  uint64
	refFLOP int64
	trainT  time.Duration
	proofT  time.Duration
	verFLOP int64
	verRuns int
	roles   map[*node]string
	// rejecters are the watchers whose verification rejected the proof; challenger is the
	// one who challenges (the whistleblower when one was assigned).
	rejecters  []*node
	challenger *node
	game       [32]byte
	winner     string
	bound      int    // the game's bound on rounds
	chunk      string // the chunk the referee recomputed
}

func hashID(parts ...[]byte) (id [32]byte) {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	copy(id[:], h.Sum(nil))
	return id
}

func u64b(x uint64) []byte { return binary.BigEndian.AppendUint64(nil, x) }

// strategies are the cheating solver's choices from pol/attack: each forges training steps,
// which a sampled replay catches and the dispute pins down to one chunk of one step.
var strategies = map[string]func(context.Context, attack.Setup) (*attack.Forgery, error){
	"skip":        partial(0),
	"fake":        partial(1),
	"interpolate": attack.A1Interpolation,
	"topq":        attack.A2TopQEvasion,
	"batches":     attack.A3SubstitutedBatches,
}

// partial returns A7's variant i (0 skip, 1 fake). A7Partial builds both; the devnet keeps one.
func partial(i int) func(context.Context, attack.Setup) (*attack.Forgery, error) {
	return func(ctx context.Context, s attack.Setup) (*attack.Forgery, error) {
		fs, err := attack.A7Partial(ctx, s)
		if err != nil {
			return nil, err
		}
		return fs[i], nil
	}
}

func strategyNames() []string {
	var out []string
	for k := range strategies {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// compute runs stages 1 to 8 of the compute market for two tasks: one lands on the cheating
// solver, one on the honest one.
func (d *devnet) compute(ctx context.Context) error {
	w, c := d.w, d.cfg
	run := d.runID

	// Stakes: solvers and watchers bond; watchers register for assignment.
	bond := uint256.NewInt(1_000_000_000)
	for _, n := range append([]*node{w.honest, w.cheat}, w.watchers...) {
		if acc := w.ledger.Account(n.addr); acc.Bonded.Lt(bond) {
			var more uint256.Int
			more.Sub(bond, &acc.Bonded)
			if _, err := w.stakeOp(ctx, n, stake.Bond{Amount: more}); err != nil {
				return err
			}
		}
	}
	for _, n := range w.watchers {
		if !d.registered[n.addr] {
			if _, err := w.marketTx(ctx, n, market.RegisterVerifier{}); err != nil {
				return err
			}
			d.registered[n.addr] = true
		}
	}
	d.event("stake: solvers and %d watchers bonded %s each; watchers registered as verifiers", len(w.watchers), bond.Dec())

	// Stage 1 needs the estimate to size the offers, so the submitter prices its task first.
	g, err := graph.MLP(784, 10, c.hidden)
	if err != nil {
		return err
	}
	head, err := w.head(ctx)
	if err != nil {
		return err
	}
	const span = 86400
	deadline := head.Time + span
	mkSpec := func(seed uint64) market.TaskSpec {
		return market.TaskSpec{Graph: g.Encode(), GraphHash: g.Hash(),
			Dataset: market.Dataset{Root: d.train.Commitment(), Samples: uint64(d.train.N), Location: d.source},
			Batch:   c.batch, Optimizer: graph.Optimizer{Kind: graph.AdamW}, Seed: seed, Steps: uint64(c.steps),
			Deadline: deadline, MaxPrice: *uint256.NewInt(3)}
	}
	probe := mkSpec(0)
	est, err := probe.Estimate(head.Time)
	if err != nil {
		return err
	}
	rate := (est.Units + span - 1) / span

	// Offers, with their capacity attested by the benchmark (stage 3's precondition).
	be, err := cpu.New(cpu.Config{})
	if err != nil {
		return err
	}
	props := market.Props{Memory: 16 << 30, Precisions: 1, BitExact: true}
	offers := map[[32]byte]*node{}
	type offerSpec struct {
		n        *node
		price    uint64
		capacity uint64
	}
	oss := []offerSpec{{w.cheat, 1, rate * 3 / 2}, {w.honest, 2, rate * 4}}
	ids := make([][32]byte, len(oss))
	var hs []chain.Hash
	for i, o := range oss {
		ids[i] = hashID([]byte("deai/devnet/offer"), o.n.addr[:], u64b(run))
		offers[ids[i]] = o.n
		b, _ := market.EncodeTx(market.PostOffer{ID: ids[i], Props: props, Price: *uint256.NewInt(o.price), Capacity: o.capacity, Stake: *bond})
		h, err := w.submit(ctx, o.n, market.Name, b)
		if err != nil {
			return err
		}
		hs = append(hs, h)
	}
	if _, err := w.commit(ctx, hs...); err != nil {
		return err
	}
	leaves := make([][]merkle.Hash, len(oss))
	hs = hs[:0]
	for i, o := range oss {
		off, _ := w.market.Offer(ids[i])
		if leaves[i], err = market.RunBenchmark(ctx, be, off.Seed, market.MinRounds); err != nil {
			return err
		}
		b, _ := market.EncodeTx(market.CommitAttestation{Offer: ids[i], Root: merkle.Root(leaves[i]), Rounds: market.MinRounds})
		h, err := w.submit(ctx, o.n, market.Name, b)
		if err != nil {
			return err
		}
		hs = append(hs, h)
	}
	if _, err := w.commit(ctx, hs...); err != nil {
		return err
	}
	top, err := w.head(ctx)
	if err != nil {
		return err
	}
	hs = hs[:0]
	for i, o := range oss {
		paths, err := market.ProveSamples(leaves[i], ids[i], top.Hash())
		if err != nil {
			return err
		}
		b, _ := market.EncodeTx(market.ProveAttestation{Offer: ids[i], Paths: paths})
		h, err := w.submit(ctx, o.n, market.Name, b)
		if err != nil {
			return err
		}
		hs = append(hs, h)
	}
	if _, err := w.commit(ctx, hs...); err != nil {
		return err
	}
	for i, o := range oss {
		off, _ := w.market.Offer(ids[i])
		if off.Status != market.OfferActive {
			return fmt.Errorf("%s's offer failed its capacity attestation", o.n.name)
		}
		d.event("market: %s offers %d units/s at price %d (attested %d units/s from %d benchmark rounds, %d checked on chain)",
			o.n.name, o.capacity, o.price, off.Capacity, market.MinRounds, market.AttestSamples)
		d.gas += market.AttestSamples * market.BenchGasPerRound
	}
	d.offers = ids

	// Stage 1: submission. Two tasks; the cheapest offer takes the first and has no room left.
	var jobs []*job
	for k := range 2 {
		spec := mkSpec(run*2 + uint64(k))
		id := hashID([]byte("deai/devnet/task"), u64b(run), u64b(uint64(k)))
		if _, err := w.specs.put(&spec); err != nil { // published before the market records its hash
			return err
		}
		r, err := w.marketTx(ctx, w.submitter, market.PostTask{ID: id, Mode: market.Continuous, Spec: spec})
		if err != nil {
			return err
		}
		t, _ := w.market.Task(id)
		solver := offers[t.Offer]
		if solver == nil {
			return fmt.Errorf("task %x matched an offer the devnet does not know", id[:4])
		}
		fee, _ := market.Fee(t.Units, &t.Price)
		d.event("stage 1 submission: task %x (%d steps, %d work units) escrows %s; matched at block %d to %s at price %s (fee %s)",
			id[:4], spec.Steps, t.Units, t.Escrowed.Dec(), r.Height, solver.name, t.Price.Dec(), fee.Dec())
		jobs = append(jobs, &job{id: id, spec: spec, solver: solver, cheats: solver == w.cheat, units: t.Units,
			task: pol.Task{ID: id, Graph: g, Batch: c.batch, Optimizer: spec.Optimizer, Seed: spec.Seed, Steps: spec.Steps,
				Data: d.train, CheckpointEvery: c.checkpoint}})
		d.gas += t.Units
	}
	d.jobs = jobs
	d.event("stage 2 profiling: the reference backend is bit-exact, so verification compares bits (threshold 0); no profiling runs are needed")

	// Stages 3 and 4: training with proof, both solvers at once.
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.solve(ctx, j)
		}()
	}
	wg.Wait()
	d.bar.done()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	hs = hs[:0]
	for _, j := range jobs {
		b, _ := market.EncodeTx(market.CommitProof{Task: j.id, Root: j.proof.Root})
		h, err := w.submit(ctx, j.solver, market.Name, b)
		if err != nil {
			return err
		}
		hs = append(hs, h)
	}
	rs, err := w.commit(ctx, hs...)
	if err != nil {
		return err
	}
	for i, j := range jobs {
		j.height = rs[i].Height
		d.event("stage 4 proof: %s commits root %x of task %x at block %d (%d steps, %d checkpoints)",
			j.solver.name, j.proof.Root[:8], j.id[:4], j.height, j.proof.Steps(), len(j.proof.Checkpoints))
	}

	// Stage 5: assignment by the beacon of a later block, then verification.
	if _, err := w.commit(ctx); err != nil {
		return err
	}
	hs = hs[:0]
	for _, j := range jobs {
		b, _ := market.EncodeTx(market.AssignVerifiers{Task: j.id})
		h, err := w.submit(ctx, w.submitter, market.Name, b)
		if err != nil {
			return err
		}
		hs = append(hs, h)
	}
	if rs, err = w.commit(ctx, hs...); err != nil {
		return err
	}
	for i, j := range jobs {
		assigned := map[string][]*node{}
		for _, e := range rs[i].Events {
			if e.Machine != market.Name || e.Kind != "assign" || len(e.Data) < 52 {
				continue
			}
			a := stake.Address(e.Data[32:52])
			for _, n := range w.watchers {
				if n.addr == a {
					assigned[string(e.Data[52:])] = append(assigned[string(e.Data[52:])], n)
				}
			}
		}
		if err := d.verify(ctx, j, assigned["verifier"], assigned["whistleblower"]); err != nil {
			return err
		}
	}

	// Stages 6 and 7: a rejected proof is challenged and arbitrated.
	for _, j := range jobs {
		if j.challenger != nil {
			if err := d.challenge(ctx, j, j.challenger, j.roles[j.challenger], j.rejecters); err != nil {
				return err
			}
		}
	}

	// Stage 8: settlement by the court, from the verdicts and the games' outcomes.
	for _, j := range jobs {
		accepted := !j.caught
		if _, err := w.marketTx(ctx, w.court, market.Settle{Task: j.id, Accepted: accepted}); err != nil {
			return err
		}
		t, _ := w.market.Task(j.id)
		j.paid = t.Paid
		d.event("stage 8 settlement: task %x accepted=%v: %s paid to %s, %s refunded to the submitter", j.id[:4], accepted, t.Paid.Dec(), j.solver.name, t.Refunded.Dec())
	}
	for i, id := range ids {
		if _, err := w.marketTx(ctx, oss[i].n, market.CloseOffer{Offer: id}); err != nil {
			return err
		}
	}
	d.offers = nil
	return nil
}

// solve runs one solver: pol.Train for the honest one, the chosen attack for the cheater.
func (d *devnet) solve(ctx context.Context, j *job) error {
	me := pol.Address(j.solver.addr)
	if !j.cheats {
		res, err := pol.Train(ctx, pol.TrainConfig{Task: j.task, Solver: me, Clock: time.Now,
			Progress: func(done uint64, loss float32) {
				d.mu.Lock()
				d.bar.set(j.solver.name, done, j.task.Steps, loss)
				d.mu.Unlock()
			}})
		if err != nil {
			return fmt.Errorf("%s: %w", j.solver.name, err)
		}
		p, err := pol.NewProver(pol.ProverConfig{Task: j.task, Proof: res.Proof, Store: res.Store})
		if err != nil {
			return err
		}
		j.proof, j.opener, j.final, j.trainT, j.proofT = res.Proof, p, res.Final, res.TrainTime, res.ProofTime
		d.event("stage 3 training: %s trained %d steps honestly (loss %.4f), %v training + %v proof work", j.solver.name, j.task.Steps, res.Loss, res.TrainTime.Round(time.Millisecond), res.ProofTime.Round(time.Millisecond))
		return nil
	}
	f, err := strategies[d.cfg.cheat](ctx, attack.Setup{Task: j.task, Attacker: me, Victim: pol.Address(d.w.honest.addr), Fraction: d.cfg.fraction})
	if err != nil {
		return fmt.Errorf("%s: %w", j.solver.name, err)
	}
	j.proof, j.opener, j.forged = f.Proof, f.Opener, f.Forged
	d.event("stage 3 training: %s ran %q: %d of %d steps forged", j.solver.name, f.Name, len(f.Forged), j.task.Steps)
	return nil
}

// verify runs the assigned verifiers and whistleblowers on j and, on a rejection, the
// dispute game (stages 5 to 7).
func (d *devnet) verify(ctx context.Context, j *job, verifiers, whistleblowers []*node) error {
	w := d.w
	solver := pol.Address(j.solver.addr)
	v, err := pol.NewVerifier(pol.Config{Samples: d.cfg.samples})
	if err != nil {
		return err
	}
	beacon, err := w.c.Beacon(ctx, j.height+1)
	if err != nil {
		return err
	}
	j.roles = map[*node]string{}
	for _, n := range verifiers {
		j.roles[n] = n.name + " (verifier)"
	}
	for _, n := range whistleblowers {
		j.roles[n] = n.name + " (whistleblower)"
	}
	for _, n := range append(slices.Clone(verifiers), whistleblowers...) {
		b := hashID(beacon[:], n.addr[:])
		vd, err := v.Verify(ctx, j.task, solver, j.proof, b[:], j.opener)
		if err != nil {
			return fmt.Errorf("%s verifying %s: %w", n.name, j.solver.name, err)
		}
		j.verFLOP += vd.ReplayFLOPs
		j.verRuns++
		if vd.Accepted {
			d.event("stage 5 verification: %s replayed %d steps of %s bit for bit: accepted", j.roles[n], vd.Replayed, j.solver.name)
			j.verdict = append(j.verdict, n.name+": accepted")
			continue
		}
		d.event("stage 5 verification: %s rejects %s: %s check fails at step %d", j.roles[n], j.solver.name, vd.Reason, vd.Step)
		j.verdict = append(j.verdict, fmt.Sprintf("%s: rejected (%s, step %d)", n.name, vd.Reason, vd.Step))
		j.rejecters = append(j.rejecters, n)
	}
	j.challenger = nil
	if len(j.rejecters) > 0 {
		j.challenger = j.rejecters[0]
		if len(whistleblowers) > 0 {
			j.challenger = whistleblowers[0]
		}
	}
	return nil
}

// challenge plays the dispute game (stages 6 and 7): challenger against j's solver, every
// move a transaction, until the referee decides. The game names the task as its program, so
// the dispute machine referees it with the accelvm VM of the task's training step. The
// challenger replicates the defender's run (same binding, same seed) with proof and plays
// from its own proof and prover; the defender plays from its proof and opener, a forger
// from its forged run (forgedTrace). Both are dispute agents.
func (d *devnet) challenge(ctx context.Context, j *job, challenger *node, role string, catchers []*node) error {
	w := d.w
	defender := j.solver
	// The challenger disputes the defender's published states only if they are the ones the
	// market recorded the root of.
	if t, _ := w.market.Task(j.id); pol.Hash(t.Proof) != j.proof.Root || pol.Seal(j.proof.Binding, j.proof.States, nil).Root != j.proof.Root {
		return fmt.Errorf("%s's published states of task %x are not those of the root the market recorded", defender.name, j.id[:4])
	}
	vm, err := w.referee.vm(ctx, j.id)
	if err != nil {
		return err
	}
	prog, err := j.task.Program()
	if err != nil {
		return err
	}
	began := time.Now()
	mine, err := pol.Train(ctx, pol.TrainConfig{Task: j.task, Solver: pol.Address(defender.addr)})
	if err != nil {
		return fmt.Errorf("%s replicating task %x: %w", challenger.name, j.id[:4], err)
	}
	prover, err := pol.NewProver(pol.ProverConfig{Task: j.task, Proof: mine.Proof, Store: mine.Store})
	if err != nil {
		return err
	}
	defer prover.Close()
	ours, err := accelvm.NewTrace(ctx, accelvm.TraceConfig{VM: vm, States: mine.Proof.States, Opener: prover})
	if err != nil {
		return err
	}
	var def dispute.Agent
	if j.cheats {
		ft, err := newForgedTrace(ctx, vm, j.task, j.proof, j.opener)
		if err != nil {
			return err
		}
		def = &dispute.Liar{Honest: dispute.Honest{Side: dispute.Defender, Trace: ft}, Trick: dispute.TrickConsistent}
	} else {
		tr, err := accelvm.NewTrace(ctx, accelvm.TraceConfig{VM: vm, States: j.proof.States, Opener: j.opener})
		if err != nil {
			return err
		}
		def = &dispute.Honest{Side: dispute.Defender, Trace: tr}
	}
	chal := &dispute.Honest{Side: dispute.Challenger, Trace: ours}
	d.event("stage 6 challenge: %s replicates %s's run of task %x with proof (%d steps, %v) to play from its own proof and prover",
		role, defender.name, j.id[:4], j.task.Steps, time.Since(began).Round(time.Millisecond))

	steps := j.proof.Steps()
	claimed := make([]dispute.Hash, len(j.proof.States))
	for i, h := range j.proof.States {
		claimed[i] = dispute.Hash(h)
	}
	com, err := dispute.Materialized(claimed)
	if err != nil {
		return err
	}
	id := hashID([]byte("deai/devnet/game"), j.id[:])
	j.game = id
	before := w.ledger.Account(defender.addr)
	k := w.dispute.K()
	var maxChunks uint64
	for i := range vm.Instrs() {
		maxChunks = max(maxChunks, vm.Chunks(i))
	}
	j.bound = dispute.MaxRounds(k, steps, vm.Instrs(), maxChunks)
	began = time.Now()
	if _, err := w.disputeMove(ctx, challenger, dispute.Open{Game: id, Defender: defender.addr, Steps: steps, Root: com.Root(),
		Start: com.Leaf(0), Claim: com.Leaf(steps), StartProof: com.Proof(0), ClaimProof: com.Proof(steps), Program: programOf(j.id)}); err != nil {
		return err
	}
	d.event("stage 6 challenge: %s bonds %s and disputes %s's claim over %d steps (game %x); the referee of program %x is the task's training step: %d transitions of at most %d chunks of at most %d FLOPs, so at most %d rounds",
		role, w.disputeBond.Dec(), defender.name, steps, id[:4], j.id[:4], vm.Instrs(), maxChunks, accelvm.MaxChunkFLOPs, j.bound)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		g, _ := w.dispute.Game(id)
		if g.Phase == dispute.PhaseDone {
			j.rounds, j.refFLOP = g.Rounds, g.RefereeFLOPs
			winner := g.Defender
			if g.Winner == dispute.Challenger {
				winner = g.Challenger
			}
			j.winner = g.Winner.String()
			after := w.ledger.Account(defender.addr)
			j.slashed.Sub(&before.Bonded, &after.Bonded)
			j.caught = winner == challenger.addr
			d.gas += uint64(g.RefereeFLOPs)
			d.event("stage 7 arbitration: the referee decides for the %s after %d rounds (bound ⌈log_%d %d⌉+⌈log_%d %d⌉+⌈log_%d %d⌉+2 = %d) and %d moves in %v; %s slashed %s of its bond, the bonds go to the winner",
				g.Winner, g.Rounds, k, steps, k, vm.Instrs(), k, maxChunks, j.bound, g.Moves, time.Since(began).Round(time.Millisecond), defender.name, j.slashed.Dec())
			return d.jackpot(ctx, j, catchers)
		}
		side, agent, mover, other := dispute.Defender, def, defender, challenger
		if g.Phase == dispute.PhasePick {
			side, agent, mover, other = dispute.Challenger, chal, challenger, defender
		}
		mv, _, err := agent.Next(g, k)
		if err != nil {
			return fmt.Errorf("%s in game %x: %w", mover.name, id[:4], err)
		}
		if mv == nil { // silent: once its clock ran out, the other side ends the game
			if err := w.advanceTo(ctx, g.Last+g.Clock[side-1]+1); err != nil {
				return err
			}
			if _, err := w.disputeMove(ctx, other, dispute.Timeout{Game: id}); err != nil {
				return err
			}
			continue
		}
		r, err := w.disputeMove(ctx, mover, mv)
		if err != nil {
			return err
		}
		ng, _ := w.dispute.Game(id)
		switch v := mv.(type) {
		case dispute.Pick:
			d.event("stage 7 arbitration: round %d at block %d: %s picks part %d of %d: the dispute narrows to %s",
				ng.Rounds, r.Height, mover.name, v.Part, len(g.Points)+1, where(vm, ng.Pos))
		case dispute.Descend:
			into := fmt.Sprintf("step %d: its %d transitions (open, load, the program's %d instructions, seal)", ng.Pos.Step, ng.Pos.Hi, ng.Pos.Hi-3)
			if ng.Pos.Level == dispute.LevelChunk {
				into = fmt.Sprintf("transition %d (%s) of step %d: its %d chunk(s)", ng.Pos.Instr, vm.Name(ng.Pos.Instr), ng.Pos.Step, ng.Pos.Hi)
			}
			d.event("stage 7 arbitration: round %d at block %d: %s descends into %s, committed as root %x",
				ng.Rounds, r.Height, mover.name, into, v.Root[:4])
		case dispute.Prove:
			j.chunk = where(vm, g.Pos)
			d.event("stage 7 arbitration: at block %d %s hands the referee the witness of %s (%d bytes: the chunk's inputs and outputs with Merkle paths); the referee recomputes that chunk on accel/cpu: %d FLOPs (a whole step is %d)",
				r.Height, mover.name, j.chunk, len(v.Witness), ng.RefereeFLOPs, prog.StepFLOPs())
		}
	}
}

// where describes position p of a game refereed by vm.
func where(vm *accelvm.VM, p dispute.Position) string {
	switch p.Level {
	case dispute.LevelInstr:
		s := fmt.Sprintf("step %d, transitions [%d,%d] of its %d", p.Step, p.Lo, p.Hi, vm.Instrs())
		if p.Narrowed() {
			s += " (" + vm.Name(p.Lo) + ")"
		}
		return s
	case dispute.LevelChunk:
		s := fmt.Sprintf("step %d, transition %d (%s), chunks [%d,%d] of its %d", p.Step, p.Instr, vm.Name(p.Instr), p.Lo, p.Hi, vm.Chunks(p.Instr))
		if p.Narrowed() {
			s = fmt.Sprintf("step %d, transition %d (%s), chunk %d of %d", p.Step, p.Instr, vm.Name(p.Instr), p.Lo, vm.Chunks(p.Instr))
		}
		return s
	}
	return fmt.Sprintf("steps [%d,%d]", p.Lo, p.Hi)
}

// jackpot pays the watchers who caught a forgery out of the jackpot treasury (Truebit's
// jackpot: what keeps verifiers checking), capped by dispute.Payout.
func (d *devnet) jackpot(ctx context.Context, j *job, catchers []*node) error {
	if !j.caught || len(catchers) == 0 {
		return nil
	}
	pool := d.w.ledger.Treasury(stake.TreasuryJackpot)
	total := dispute.Payout(&pool, &j.slashed)
	if total.IsZero() {
		return nil
	}
	var shares []stake.Share
	for _, n := range catchers {
		shares = append(shares, stake.Share{To: n.addr, Weight: 1})
	}
	if _, err := d.w.stakeOp(ctx, d.w.court, stake.Payout{Treasury: stake.TreasuryJackpot, Total: total, Recipients: shares}); err != nil {
		return err
	}
	d.event("stage 8 settlement: jackpot of %s paid to the %d watchers who caught the forgery", total.Dec(), len(catchers))
	return nil
}
