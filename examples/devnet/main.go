// Command devnet runs the whole deai network on one machine: the embedded chain in a data
// directory, accounts from a genesis, and in-process nodes (a submitter, an honest solver, a
// solver that cheats with a strategy of the attack harness, verifiers, a whistleblower, a
// court that settles, and the crowd of a labeling campaign). Every protocol act is a signed
// transaction to one of the chain's machines (stake, market, dispute, labeling):
//
//  1. submission: two Fashion-MNIST training tasks (an MLP) are priced like gas and escrowed;
//     offers whose capacity was attested by an on-chain-checked benchmark are matched;
//  2. profiling: none needed, the reference backend is bit-exact;
//  3. training: the honest solver trains with pol.Train, the cheater runs its attack;
//  4. proof: each commits its proof-of-learning root;
//  5. verification: verifiers and a whistleblower drawn by the chain's beacon replay sampled
//     steps bit for bit;
//  6. challenge: on a rejection the whistleblower bonds and opens a dispute game;
//  7. arbitration: the whistleblower replicates the run and plays against the cheater, one
//     move per transaction: bisection over the committed steps, then over the transitions of
//     the disputed step, then over the chunks of the disputed transition, down to one chunk
//     of at most 2^16 FLOPs that the referee (dispute/accelvm) recomputes on accel/cpu;
//  8. settlement: the loser's stake is slashed, the honest solver paid, the cheater's task
//     refunded, the catchers paid a jackpot.
//
// Then a labeling campaign runs on the real Bluebirds crowd labels, and a report gives the
// balances before and after per role, the conservation check and the costs.
//
//	go run ./examples/devnet [-data DIR] [-cheat skip|fake|interpolate|topq|batches] [-fraction F]
//	                         [-steps N] [-batch B] [-hidden H] [-checkpoint K] [-samples S]
//	                         [-workers W] [-dataset embedded|DIR|""] [-blocks] [-json]
//
// A dispute names the task as its program; the dispute machine resolves it to the accelvm
// referee of the task's training step, built from the chain's records only (the market's
// task, matched offer and spec hash, the spec published in the data directory, the dataset
// by its commitment). The referee's work and a witness's size are bounded by the chunk,
// whatever -hidden is.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/chain"
	"github.com/deai-go/deai/chain/embedded"
	"github.com/deai-go/deai/dispute"
	"github.com/deai-go/deai/labeling"
	"github.com/deai-go/deai/market"
	"github.com/deai-go/deai/stake"
	"github.com/holiman/uint256"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "devnet: stopped:", err)
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "devnet:", err)
		os.Exit(1)
	}
}

type config struct {
	steps, checkpoint, samples, batch, hidden, workers int
	fraction                                           float64
	cheat, data, dataset                               string
	json, blocks                                       bool
}

// devnet is one run of the network.
type devnet struct {
	cfg         config
	w           *world
	out         io.Writer
	start       time.Time
	train, test *dataset.Set
	source      string
	runID       uint64
	registered  map[stake.Address]bool
	offers      [][32]byte
	jobs        []*job
	gas         uint64
	bar         *bar
	mu          sync.Mutex
}

func (d *devnet) event(format string, a ...any) {
	if d.cfg.json {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.bar.clear()
	fmt.Fprintf(d.out, "[%6.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, a...))
}

func run(ctx context.Context, args []string, w io.Writer) error {
	var c config
	fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.StringVar(&c.data, "data", "", "directory of the chain (kept; a later run continues from it); default a temporary directory removed at exit")
	fs.IntVar(&c.steps, "steps", 300, "training steps of each task")
	fs.IntVar(&c.batch, "batch", 64, "batch size")
	fs.IntVar(&c.hidden, "hidden", 32, "hidden units of the MLP (784-hidden-10, AdamW)")
	fs.IntVar(&c.checkpoint, "checkpoint", 25, "solvers keep a checkpoint every this many steps")
	fs.IntVar(&c.samples, "samples", 16, "steps each verifier replays")
	fs.StringVar(&c.cheat, "cheat", "skip", "the cheating solver's strategy (pol/attack): "+strings.Join(strategyNames(), ", "))
	fs.Float64Var(&c.fraction, "fraction", 0.2, "fraction of the steps the cheater forges")
	fs.IntVar(&c.workers, "workers", 39, "Bluebirds workers in the labeling campaign (1-39)")
	fs.StringVar(&c.dataset, "dataset", "", `Fashion-MNIST: "" for the Debian dataset when installed (else the embedded subset), "embedded" (the subset compiled into the SDK), or a directory`)
	fs.BoolVar(&c.json, "json", false, "print the report as one JSON object")
	fs.BoolVar(&c.blocks, "blocks", false, "print a line for every committed block (height and state root)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	if c.steps < 2 || c.batch < 1 || c.hidden < 1 || c.checkpoint < 1 || c.samples < 1 {
		errs = append(errs, errors.New("-steps must be at least 2; -batch, -hidden, -checkpoint and -samples positive"))
	}
	if strategies[c.cheat] == nil {
		errs = append(errs, fmt.Errorf("-cheat %q: want one of %s", c.cheat, strings.Join(strategyNames(), ", ")))
	}
	if !(c.fraction > 0 && c.fraction <= 1) {
		errs = append(errs, fmt.Errorf("-fraction %v out of (0, 1]", c.fraction))
	}
	if c.workers < 1 || c.workers > bluebirdsWorkers {
		errs = append(errs, fmt.Errorf("-workers %d out of [1, %d]", c.workers, bluebirdsWorkers))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	d := &devnet{cfg: c, out: w, start: time.Now(), registered: map[stake.Address]bool{}, bar: newBar(w, c.json)}
	return d.run(ctx)
}

func (d *devnet) run(ctx context.Context) (err error) {
	c := d.cfg
	dir := c.data
	if dir == "" {
		if dir, err = os.MkdirTemp("", "deai-devnet-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	src := c.dataset
	if src == "embedded" {
		src = dataset.EmbeddedSource
	}
	if d.train, d.test, d.source, err = dataset.FashionMNIST(src); err != nil {
		return err
	}
	corpus, err := labeling.Bluebirds()
	if err != nil {
		return err
	}
	w, ms, err := machines(d.train, dir)
	if err != nil {
		return err
	}
	d.w = w
	path := filepath.Join(dir, "chain.db")
	_, statErr := os.Stat(path)
	w.c, err = embedded.Open(embedded.Config{ChainID: chainID, Path: path, Machines: ms})
	if err != nil {
		return fmt.Errorf("opening the chain in %s: %w", dir, err)
	}
	defer func() {
		if cerr := w.c.Close(); err == nil {
			err = cerr
		}
	}()
	if c.blocks {
		w.onCommit = func(h chain.Header) {
			d.mu.Lock()
			d.bar.clear()
			fmt.Fprintf(d.out, "block %d %x\n", h.Height, h.StateRoot[:])
			d.mu.Unlock()
		}
	}
	head, err := w.head(ctx)
	if err != nil {
		return err
	}
	rep := &Report{DataDir: dir, Continued: statErr == nil, HeightStart: head.Height, DataSource: d.source, Strategy: c.cheat,
		Steps: c.steps, Batch: c.batch, Hidden: c.hidden}
	if rep.Continued {
		d.event("chain: continuing the chain in %s at height %d (state root %x)", dir, head.Height, head.StateRoot[:8])
	} else {
		d.event("chain: new embedded chain %d in %s; genesis mints %s to each of %d accounts", chainID, dir, genesisBalance.Dec(), len(w.all()))
	}
	d.event("data: Fashion-MNIST from %s (%d training, %d test samples); Bluebirds crowd labels (%d workers, %d items)",
		d.source, d.train.N, d.test.N, corpus.Workers, corpus.Items)
	if err := d.recover(ctx); err != nil {
		return fmt.Errorf("recovering unfinished work: %w", err)
	}
	if head, err = w.head(ctx); err != nil {
		return err
	}
	d.runID = head.Height
	before := d.snapshot()
	if err := d.compute(ctx); err != nil {
		return err
	}
	lr, err := d.label(ctx, corpus, w.workers[:c.workers])
	if err != nil {
		return err
	}
	return d.report(ctx, rep, before, lr)
}

// recover finishes what an interrupted earlier run left on the chain: open games time out
// (against the side whose move it was: its node lost its in-memory proof with the process),
// matched tasks expire, proven ones are settled unaccepted, offers are closed. Campaigns left
// open keep their vaults; a new run opens its own.
func (d *devnet) recover(ctx context.Context) error {
	w := d.w
	head, err := w.head(ctx)
	if err != nil || head.Height == 0 {
		return err
	}
	var tasks, offers, games [][32]byte
	for h := uint64(1); h <= head.Height; h++ {
		b, err := w.c.Block(ctx, h)
		if err != nil {
			return err
		}
		for _, r := range b.Receipts {
			for _, e := range r.Events {
				switch {
				case e.Machine == market.Name && e.Kind == "verifier" && len(e.Data) == 20:
					d.registered[stake.Address(e.Data)] = true
				case e.Machine == market.Name && e.Kind == "offer_post" && len(e.Data) >= 52:
					offers = append(offers, [32]byte(e.Data[:32]))
				case e.Machine == market.Name && e.Kind == "task_post" && len(e.Data) >= 32:
					tasks = append(tasks, [32]byte(e.Data[:32]))
				case e.Machine == dispute.Name && e.Kind == "open" && len(e.Data) >= 32:
					games = append(games, [32]byte(e.Data[:32]))
				}
			}
		}
	}
	fixed := 0
	for _, id := range games {
		g, ok := w.dispute.Game(id)
		if !ok || g.Phase == dispute.PhaseDone {
			continue
		}
		if err := w.advanceTo(ctx, g.Last+max(g.Clock[0], g.Clock[1])+2); err != nil {
			return err
		}
		if _, err := w.disputeMove(ctx, w.court, dispute.Timeout{Game: id}); err != nil {
			return err
		}
		fixed++
	}
	for _, id := range tasks {
		t, ok := w.market.Task(id)
		if !ok {
			continue
		}
		switch t.Status {
		case market.TaskMatched:
			if err := w.advanceTo(ctx, t.Deadline); err != nil {
				return err
			}
			if _, err := w.marketTx(ctx, w.submitter, market.Expire{Task: id}); err != nil {
				return err
			}
			fixed++
		case market.TaskProven, market.TaskAssigned:
			if _, err := w.marketTx(ctx, w.court, market.Settle{Task: id, Accepted: false}); err != nil {
				return err
			}
			fixed++
		}
	}
	for _, id := range offers {
		o, ok := w.market.Offer(id)
		if !ok {
			continue
		}
		for _, n := range []*node{w.honest, w.cheat} {
			if n.addr == o.Solver {
				if _, err := w.marketTx(ctx, n, market.CloseOffer{Offer: id}); err != nil {
					return err
				}
				fixed++
			}
		}
	}
	if fixed > 0 {
		d.event("recovery: finished %d items an interrupted run left open (games timed out, tasks expired or settled, offers closed)", fixed)
	}
	return nil
}

type holding struct{ balance, bonded uint256.Int }

func (d *devnet) snapshot() map[stake.Address]holding {
	out := map[stake.Address]holding{}
	for _, n := range d.w.all() {
		a := d.w.ledger.Account(n.addr)
		out[n.addr] = holding{a.Balance, a.Bonded}
	}
	return out
}

// Report is the devnet's result; -json prints it as one JSON object. Amounts are decimal
// strings of token units. TestAccuracy is the honest solver's model on the test set;
// CheatersSlashed counts cheating solvers whose dispute the challenger won, whose bond was
// slashed and who were paid nothing; ProofOverhead is the proof's own work over the training
// time of the honest run; VerifierCost is the FLOPs one verifier of the honest task replayed
// over that task's training FLOPs; GasUnits adds the market's work units of the tasks, the benchmark rounds
// the chain recomputed to attest capacity and the FLOPs the referee recomputed; Conserved is
// true when the ledger's invariant holds, nothing was minted after genesis, every market
// escrow was paid and refunded exactly, and the labeling machine's accounts balance.
type Report struct {
	DataDir         string       `json:"data_dir"`
	Continued       bool         `json:"continued"`
	HeightStart     uint64       `json:"height_start"`
	HeightEnd       uint64       `json:"height_end"`
	StateRoot       string       `json:"state_root"`
	DataSource      string       `json:"data_source"`
	Strategy        string       `json:"cheat_strategy"`
	Steps           int          `json:"steps"`
	Batch           int          `json:"batch"`
	Hidden          int          `json:"hidden"`
	Roles           []RoleReport `json:"roles"`
	Tasks           []TaskReport `json:"tasks"`
	Labeling        *LabelReport `json:"labeling"`
	TestAccuracy    float64      `json:"test_accuracy"`
	Cheaters        int          `json:"cheaters"`
	CheatersSlashed int          `json:"cheaters_slashed"`
	HonestPaid      bool         `json:"honest_paid"`
	Slashed         string       `json:"stake_slashed"`
	Rewards         string       `json:"solver_rewards"`
	DisputeRounds   int          `json:"dispute_rounds"`
	LabelsAccepted  int          `json:"labels_accepted"`
	ProofOverhead   float64      `json:"proof_overhead"`
	VerifierCost    float64      `json:"verifier_cost"`
	GasUnits        uint64       `json:"gas_units"`
	Transactions    int          `json:"transactions"`
	TxBytes         int          `json:"transaction_bytes"`
	Conserved       bool         `json:"conserved"`
	Conservation    string       `json:"conservation"`
	Seconds         float64      `json:"seconds"`
}

// RoleReport is one participant's (or group's) holdings before and after the run.
type RoleReport struct {
	Name          string `json:"name"`
	Role          string `json:"role"`
	BalanceBefore string `json:"balance_before"`
	BalanceAfter  string `json:"balance_after"`
	BondedBefore  string `json:"bonded_before"`
	BondedAfter   string `json:"bonded_after"`
	Change        string `json:"change"`
}

// TaskReport is one training task's course through the stages.
type TaskReport struct {
	ID            string   `json:"id"`
	Solver        string   `json:"solver"`
	Cheats        bool     `json:"cheats"`
	Units         uint64   `json:"work_units"`
	ForgedSteps   int      `json:"forged_steps"`
	Root          string   `json:"proof_root"`
	Verdicts      []string `json:"verdicts"`
	Disputed      bool     `json:"disputed"`
	Winner        string   `json:"dispute_winner,omitempty"`
	Rounds        uint64   `json:"dispute_rounds"`
	RoundBound    int      `json:"dispute_round_bound,omitempty"`
	Chunk         string   `json:"dispute_chunk,omitempty"`
	RefereeFLOPs  int64    `json:"referee_flops"`
	Slashed       string   `json:"slashed"`
	Paid          string   `json:"paid"`
	VerifierFLOPs int64    `json:"verifier_flops"`
}

func signed(after, before *uint256.Int) string {
	var x uint256.Int
	if after.Lt(before) {
		return "-" + x.Sub(before, after).Dec()
	}
	return "+" + x.Sub(after, before).Dec()
}

func (d *devnet) report(ctx context.Context, rep *Report, before map[stake.Address]holding, lr *LabelReport) error {
	w := d.w
	head, err := w.head(ctx)
	if err != nil {
		return err
	}
	rep.HeightEnd, rep.StateRoot = head.Height, fmt.Sprintf("%x", head.StateRoot[:])
	rep.Labeling, rep.LabelsAccepted = lr, lr.Accepted
	var slashed, rewards uint256.Int
	for _, j := range d.jobs {
		tr := TaskReport{ID: fmt.Sprintf("%x", j.id[:]), Solver: j.solver.name, Cheats: j.cheats, Units: j.units, ForgedSteps: len(j.forged),
			Root: fmt.Sprintf("%x", j.proof.Root[:]), Verdicts: j.verdict, Disputed: j.game != [32]byte{}, Winner: j.winner, Rounds: j.rounds,
			RoundBound: j.bound, Chunk: j.chunk, RefereeFLOPs: j.refFLOP, Slashed: j.slashed.Dec(), Paid: j.paid.Dec(), VerifierFLOPs: j.verFLOP}
		rep.Tasks = append(rep.Tasks, tr)
		slashed.Add(&slashed, &j.slashed)
		rewards.Add(&rewards, &j.paid)
		rep.DisputeRounds += int(j.rounds)
		if j.cheats {
			rep.Cheaters++
			if j.caught && !j.slashed.IsZero() && j.paid.IsZero() {
				rep.CheatersSlashed++
			}
			continue
		}
		rep.HonestPaid = !j.paid.IsZero() && !j.caught
		if j.trainT > 0 {
			rep.ProofOverhead = j.proofT.Seconds() / j.trainT.Seconds()
		}
		prog, err := j.task.Program()
		if err != nil {
			return err
		}
		be, err := cpu.New(cpu.Config{})
		if err != nil {
			return err
		}
		r, err := be.Open(ctx, accel.RunSpec{Program: prog, State: j.final, Data: d.train})
		if err != nil {
			return err
		}
		ev, err := r.(accel.Evaluator).Evaluate(ctx, d.test)
		r.Close()
		if err != nil {
			return err
		}
		rep.TestAccuracy = ev.Accuracy()
		if j.verRuns > 0 {
			rep.VerifierCost = float64(j.verFLOP) / float64(j.verRuns) / float64(int64(j.task.Steps)*prog.StepFLOPs())
		}
	}
	rep.Slashed, rep.Rewards = slashed.Dec(), rewards.Dec()
	rep.GasUnits, rep.Transactions, rep.TxBytes = d.gas, w.txs, w.txBytes

	row := func(name, role string, ns []*node) {
		var bb, ba, db, da uint256.Int
		for _, n := range ns {
			h := before[n.addr]
			a := w.ledger.Account(n.addr)
			bb.Add(&bb, &h.balance)
			db.Add(&db, &h.bonded)
			ba.Add(&ba, &a.Balance)
			da.Add(&da, &a.Bonded)
		}
		var t0, t1 uint256.Int
		t0.Add(&bb, &db)
		t1.Add(&ba, &da)
		rep.Roles = append(rep.Roles, RoleReport{Name: name, Role: role, BalanceBefore: bb.Dec(), BalanceAfter: ba.Dec(),
			BondedBefore: db.Dec(), BondedAfter: da.Dec(), Change: signed(&t1, &t0)})
	}
	for _, n := range []*node{w.submitter, w.honest, w.cheat} {
		row(n.name, n.role, []*node{n})
	}
	for _, n := range w.watchers {
		row(n.name, "verifier/whistleblower", []*node{n})
	}
	for _, n := range []*node{w.court, w.admin, w.client, w.guildOwner} {
		row(n.name, n.role, []*node{n})
	}
	row(fmt.Sprintf("workers (%d)", d.cfg.workers), "labeling workers", w.workers[:d.cfg.workers])

	// Conservation: the ledger's invariant, nothing minted after genesis, the market's escrow
	// exactness and the labeling machine's token accounting.
	var problems []string
	if err := w.ledger.Check(); err != nil {
		problems = append(problems, err.Error())
	}
	if m := w.ledger.Minted(); !m.Eq(&w.minted) {
		problems = append(problems, fmt.Sprintf("minted %s, genesis %s", m.Dec(), w.minted.Dec()))
	}
	if err := w.market.Check(); err != nil {
		problems = append(problems, err.Error())
	}
	t := w.labeling.Totals()
	var out uint256.Int
	for _, x := range []*uint256.Int{&t.Paid, &t.Refunded, &t.Burned, &t.Fees, &t.Held} {
		out.Add(&out, x)
	}
	if !out.Eq(&t.In) {
		problems = append(problems, fmt.Sprintf("labeling: in %s, out %s", t.In.Dec(), out.Dec()))
	}
	supply := w.ledger.Supply()
	burned := w.ledger.Burned()
	rep.Conserved = len(problems) == 0
	rep.Conservation = fmt.Sprintf("minted %s = supply %s + burned %s; market escrows exact; labeling in %s = paid+refunded+burned+fees+held", w.minted.Dec(), supply.Dec(), burned.Dec(), t.In.Dec())
	if !rep.Conserved {
		rep.Conservation = "VIOLATED: " + strings.Join(problems, "; ")
	}
	rep.Seconds = time.Since(d.start).Seconds()
	if d.cfg.json {
		return json.NewEncoder(d.out).Encode(rep)
	}
	return printReport(d.out, rep)
}
