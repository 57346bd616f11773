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
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/dispute"
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
// which a sampled replay catches and the step-level dispute pins down.
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
	prog, err := probe.Compile()
	if err != nil {
		return err
	}
	if st, err := pol.EncodeCheckpoint(accel.InitialState(prog, 0)); err != nil {
		return err
	} else if len(st) > 640<<10 {
		return fmt.Errorf("a state of %d bytes does not fit a dispute witness in one transaction (%d bytes at most): use a smaller -hidden", len(st), chain.MaxPayload)
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

// truth is the challenger's own trajectory of a task, trained lazily as far as asked.
type truth struct {
	ctx    context.Context
	run    accel.Run
	task   pol.Task
	seed   uint64
	leaves []pol.Hash
}

func newTruth(ctx context.Context, task pol.Task, solver pol.Address) (*truth, error) {
	task = task.EnsureDefaults()
	prog, err := task.Program()
	if err != nil {
		return nil, err
	}
	b := task.Binding(solver, pol.Exact)
	be, err := cpu.New(cpu.Config{})
	if err != nil {
		return nil, err
	}
	st := accel.InitialState(prog, b.RunSeed())
	r, err := be.Open(ctx, accel.RunSpec{Program: prog, State: st, Data: task.Data})
	if err != nil {
		return nil, err
	}
	return &truth{ctx: ctx, run: r, task: task, seed: b.RunSeed(), leaves: []pol.Hash{pol.Leaf(0, st.Hash(prog), b.Hash())}}, nil
}

func (t *truth) leaf(i uint64) (pol.Hash, error) {
	for uint64(len(t.leaves)) <= i {
		s := uint64(len(t.leaves) - 1)
		res, err := t.run.Train(t.ctx, [][]int32{dataset.BatchAt(t.seed, t.task.Data.N, t.task.Batch, s)})
		if err != nil {
			return pol.Hash{}, err
		}
		t.leaves = append(t.leaves, pol.Leaf(s+1, res[0].Hash, t.leaves[s]))
	}
	return t.leaves[i], nil
}

func toMerkle(hs []pol.Hash) []merkle.Hash {
	out := make([]merkle.Hash, len(hs))
	for i, h := range hs {
		out[i] = merkle.Hash(h)
	}
	return out
}

// challenge plays the dispute game (stages 6 and 7): challenger against j's solver, every
// move a transaction, until the referee decides.
func (d *devnet) challenge(ctx context.Context, j *job, challenger *node, role string, catchers []*node) error {
	w := d.w
	defender := j.solver
	steps := j.proof.Steps()
	leaves := pol.Leaves(j.proof.Binding, j.proof.States)
	tree := merkle.New(toMerkle(leaves))
	sp, err := tree.Proof(0)
	if err != nil {
		return err
	}
	cp, err := tree.Proof(int(steps))
	if err != nil {
		return err
	}
	id := hashID([]byte("deai/devnet/game"), j.id[:])
	j.game = id
	before := w.ledger.Account(defender.addr)
	tr, err := newTruth(ctx, j.task, pol.Address(defender.addr))
	if err != nil {
		return err
	}
	defer tr.run.Close()
	if _, err := w.disputeMove(ctx, challenger, dispute.Open{Game: id, Defender: defender.addr, Steps: steps, Root: merkle.Hash(j.proof.Root),
		Start: merkle.Hash(leaves[0]), Claim: merkle.Hash(leaves[steps]), StartProof: sp, ClaimProof: cp}); err != nil {
		return err
	}
	d.event("stage 6 challenge: %s bonds %s and disputes %s's claim over %d steps (game %x)", role, w.disputeBond.Dec(), defender.name, steps, id[:4])
	spec := market.EncodeSpec(&j.spec)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		g, _ := w.dispute.Game(id)
		var mv dispute.Move
		mover := defender
		switch g.Phase {
		case dispute.PhaseBisect:
			pts := g.Pos.Points(w.dispute.K())
			b := dispute.Bisect{Game: id}
			for _, p := range pts {
				pr, err := tree.Proof(int(p))
				if err != nil {
					return err
				}
				b.Leaves = append(b.Leaves, merkle.Hash(leaves[p]))
				b.Proofs = append(b.Proofs, pr)
			}
			mv = b
		case dispute.PhasePick:
			mover = challenger
			pts := g.Pos.Points(w.dispute.K())
			part := uint64(len(pts))
			for i, p := range pts {
				mine, err := tr.leaf(p)
				if err != nil {
					return err
				}
				if merkle.Hash(mine) != g.Points[i] {
					part = uint64(i)
					break
				}
			}
			mv = dispute.Pick{Game: id, Part: part}
		case dispute.PhaseDescend:
			two := merkle.New([]merkle.Hash{g.LoLeaf, g.HiLeaf})
			p0, _ := two.Proof(0)
			p1, _ := two.Proof(1)
			mv = dispute.Descend{Game: id, Root: two.Root(), StartProof: p0, ClaimProof: p1}
		case dispute.PhaseProve:
			op, err := j.opener.Open(ctx, g.Pos.Step)
			if err != nil {
				return err
			}
			st, err := pol.EncodeCheckpoint(op.Pre)
			if err != nil {
				return err
			}
			mv = dispute.Prove{Game: id, Witness: encodeWitness(j.id, spec, op, st)}
			d.event("stage 7 arbitration: narrowed to step %d; %s hands the referee the state before it (%d bytes); the referee replays that step on accel/cpu", g.Pos.Step, defender.name, len(st))
		case dispute.PhaseDone:
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
			d.event("stage 7 arbitration: the referee decides for the %s after %d rounds (bisections and descents into the one-transition instruction and chunk levels of this step-level referee) and %d moves, %d FLOPs recomputed on chain; %s slashed %s of its bond, the bonds go to the winner",
				g.Winner, g.Rounds, g.Moves, g.RefereeFLOPs, defender.name, j.slashed.Dec())
			return d.jackpot(ctx, j, catchers)
		default:
			return fmt.Errorf("game %x in phase %d", id[:4], g.Phase)
		}
		r, err := w.disputeMove(ctx, mover, mv)
		if err != nil {
			return err
		}
		if g.Phase == dispute.PhasePick {
			ng, _ := w.dispute.Game(id)
			d.event("stage 7 arbitration: round %d at block %d: %s picks part %d, the dispute narrows to %s", ng.Rounds, r.Height, mover.name, mv.(dispute.Pick).Part, ng.Pos)
		}
	}
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
