package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

func printReport(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "\nreport: chain %s, blocks %d..%d, state root %s\n", r.DataDir, r.HeightStart, r.HeightEnd, r.StateRoot[:16])
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "participant\trole\tbalance before\tbalance after\tbonded before\tbonded after\tchange\t")
	for _, x := range r.Roles {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", x.Name, x.Role, x.BalanceBefore, x.BalanceAfter, x.BondedBefore, x.BondedAfter, x.Change)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range r.Tasks {
		fmt.Fprintf(w, "task %s: %s (cheats %v, %d forged steps), %d work units; verdicts: %s; disputed %v", t.ID[:8], t.Solver, t.Cheats, t.ForgedSteps, t.Units, strings.Join(t.Verdicts, ", "), t.Disputed)
		if t.Disputed {
			fmt.Fprintf(w, " (won by the %s in %d rounds of at most %d; the referee recomputed %s: %d FLOPs)", t.Winner, t.Rounds, t.RoundBound, t.Chunk, t.RefereeFLOPs)
		}
		fmt.Fprintf(w, "; slashed %s; paid %s\n", t.Slashed, t.Paid)
	}
	l := r.Labeling
	fmt.Fprintf(w, "labeling: campaign %d, %d workers, %d items: %d of %d labels accepted, %d spammers flagged, %d workers paid, %s claimed, fees %s, burned %s (all campaigns)\n",
		l.Campaign, l.Workers, l.Items, l.Accepted, l.Labels, l.Spammers, l.Paid, l.Claimed, l.Fees, l.Burned)
	fmt.Fprintf(w, "cheaters %d, caught and slashed %d; honest solver paid: %v; stake slashed %s; solver rewards %s\n", r.Cheaters, r.CheatersSlashed, r.HonestPaid, r.Slashed, r.Rewards)
	fmt.Fprintf(w, "model: test accuracy %.4f (%s, MLP 784-%d-10, %d steps of batch %d)\n", r.TestAccuracy, r.DataSource, r.Hidden, r.Steps, r.Batch)
	fmt.Fprintf(w, "costs: proof overhead %.1f%% of training time; each verifier replayed %.2f%% of the training FLOPs; dispute rounds %d; gas-like units %d; %d transactions (%d payload bytes)\n",
		100*r.ProofOverhead, 100*r.VerifierCost, r.DisputeRounds, r.GasUnits, r.Transactions, r.TxBytes)
	verdict := "holds"
	if !r.Conserved {
		verdict = "FAILS"
	}
	_, err := fmt.Fprintf(w, "conservation %s: %s\nfinished in %.1fs\n", verdict, r.Conservation, r.Seconds)
	return err
}

// bar draws training progress: a redrawn bar on a terminal, a line per quarter otherwise.
type bar struct {
	w     io.Writer
	tty   bool
	quiet bool
	shown bool
	last  map[string]uint64
}

func newBar(w io.Writer, quiet bool) *bar {
	b := &bar{w: w, quiet: quiet, last: map[string]uint64{}}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	return b
}

// set reports progress; callers hold the devnet's lock.
func (b *bar) set(name string, done, total uint64, loss float32) {
	if b.quiet || total == 0 {
		return
	}
	if b.tty {
		const width = 30
		n := int(done * width / total)
		fmt.Fprintf(b.w, "\r  %s [%s%s] %d/%d loss %.4f ", name, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, loss)
		b.shown = true
		return
	}
	q := done * 4 / total
	if q > b.last[name] || done == total {
		b.last[name] = q
		fmt.Fprintf(b.w, "  %s: %d/%d steps, loss %.4f\n", name, done, total, loss)
	}
}

func (b *bar) clear() {
	if b.shown {
		fmt.Fprint(b.w, "\r\033[K")
		b.shown = false
	}
}

func (b *bar) done() { b.clear() }
