// Command devnet runs the protocol on one machine with what the SDK has so far: a solver trains
// the reference MLP on Fashion-MNIST with the bit-exact reference backend and commits the state
// hash of every step under one Merkle root; a second solver cheats by skipping the last steps
// and committing invented hashes; a verifier, on its own backend instance, draws steps to check
// from randomness derived from the root (Fiat-Shamir), replays each from the nearest
// checkpoint, and compares bits. Later issues grow it into the whole network (market, stake,
// disputes, labeling, the embedded chain).
//
//	go run ./examples/devnet [-steps N] [-checkpoint K] [-samples S] [-data DIR] [-json]
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/deai-go/deai/internal/rng"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "devnet:", err)
		os.Exit(1)
	}
}

// Report is the devnet's result, printed as one JSON object with -json.
type Report struct {
	DataSource     string         `json:"data_source"`
	Steps          int            `json:"steps"`
	Checkpoint     int            `json:"checkpoint"`
	Samples        int            `json:"samples"`
	Solvers        []SolverReport `json:"solvers"`
	TestAccuracy   float64        `json:"test_accuracy"`
	Cheaters       int            `json:"cheaters"`
	CheatersCaught int            `json:"cheaters_caught"`
	HonestAccepted int            `json:"honest_accepted"`
}

// SolverReport is what the verifier concluded about one solver.
type SolverReport struct {
	Name     string   `json:"name"`
	Cheats   bool     `json:"cheats"`
	Root     string   `json:"root"`
	Checked  []uint64 `json:"checked_steps"`
	Mismatch int64    `json:"first_mismatch"` // -1 when every checked step matched
	Accepted bool     `json:"accepted"`
}

type config struct {
	steps, checkpoint, samples, batch int
	data                              string
	seed                              uint64
	json                              bool
}

func run(ctx context.Context, args []string, w io.Writer) error {
	var c config
	fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.IntVar(&c.steps, "steps", 200, "training steps of the task")
	fs.IntVar(&c.checkpoint, "checkpoint", 20, "solvers keep a full checkpoint every this many steps")
	fs.IntVar(&c.samples, "samples", 8, "steps the verifier replays per proof")
	fs.IntVar(&c.batch, "batch", 64, "batch size")
	fs.Uint64Var(&c.seed, "seed", 1, "task seed (initial weights and data order)")
	fs.StringVar(&c.data, "data", "embedded", `Fashion-MNIST directory, "" for the Debian dataset when installed, or "embedded"`)
	fs.BoolVar(&c.json, "json", false, "print the report as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.steps < 1 || c.checkpoint < 1 || c.samples < 1 || c.batch < 1 {
		return fmt.Errorf("-steps, -checkpoint, -samples and -batch must be positive")
	}
	say := func(format string, a ...any) {
		if !c.json {
			fmt.Fprintf(w, format+"\n", a...)
		}
	}
	dir := c.data
	if dir == "embedded" {
		dir = dataset.EmbeddedSource
	}
	train, test, source, err := dataset.FashionMNIST(dir)
	if err != nil {
		return err
	}
	prog, err := graph.Compile(graph.FashionMLP(), c.batch, graph.Optimizer{Kind: graph.AdamW})
	if err != nil {
		return err
	}
	say("task: %s, MLP %s, %d steps of batch %d, %d FLOPs per step", source, prog.Graph.Hash().String()[:16], c.steps, c.batch, prog.StepFLOPs())
	rep := Report{DataSource: source, Steps: c.steps, Checkpoint: c.checkpoint, Samples: c.samples}
	for _, s := range []struct {
		name   string
		cheats bool
	}{{"solver-honest", false}, {"solver-lazy", true}} {
		sol, err := solve(ctx, prog, train, c, s.cheats)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		say("%s committed root %s", s.name, sol.root.String()[:16])
		checked, mismatch, err := verify(ctx, prog, train, c, sol)
		if err != nil {
			return fmt.Errorf("verifying %s: %w", s.name, err)
		}
		sr := SolverReport{Name: s.name, Cheats: s.cheats, Root: sol.root.String(), Checked: checked, Mismatch: mismatch, Accepted: mismatch < 0}
		if sr.Accepted {
			say("verifier replayed steps %v of %s bit for bit: accepted", checked, s.name)
		} else {
			say("verifier replayed steps %v of %s: step %d does not match its commitment: rejected", checked, s.name, mismatch)
		}
		if s.cheats {
			rep.Cheaters++
			if !sr.Accepted {
				rep.CheatersCaught++
			}
		} else {
			if sr.Accepted {
				rep.HonestAccepted++
			}
			ev, err := sol.run.(accel.Evaluator).Evaluate(ctx, test)
			if err != nil {
				return err
			}
			rep.TestAccuracy = ev.Accuracy()
			say("%s's model: test accuracy %.4f on %d samples", s.name, rep.TestAccuracy, ev.Samples)
		}
		sol.run.Close()
		rep.Solvers = append(rep.Solvers, sr)
	}
	say("cheaters caught: %d of %d; honest solvers accepted: %d of 1", rep.CheatersCaught, rep.Cheaters, rep.HonestAccepted)
	if c.json {
		return json.NewEncoder(w).Encode(rep)
	}
	return nil
}

// solution is what a solver commits and keeps.
type solution struct {
	hashes      []accel.Hash            // hashes[i] is the state hash after step i (hashes[0]: initial)
	checkpoints map[uint64]*accel.State // every c.checkpoint steps
	root        merkle.Hash
	run         accel.Run
}

func solve(ctx context.Context, prog *graph.Program, train *dataset.Set, c config, cheat bool) (*solution, error) {
	b, err := cpu.New(cpu.Config{})
	if err != nil {
		return nil, err
	}
	r, err := b.Open(ctx, accel.RunSpec{Program: prog, Seed: c.seed, Data: train})
	if err != nil {
		return nil, err
	}
	st, err := r.State(ctx)
	if err != nil {
		return nil, err
	}
	sol := &solution{hashes: []accel.Hash{st.Hash(prog)}, checkpoints: map[uint64]*accel.State{0: st}, run: r}
	honest := c.steps
	if cheat {
		honest = c.steps / 2 // the lazy solver trains half and invents the rest
	}
	for step := 0; step < c.steps; step++ {
		if step >= honest {
			h := sha256.Sum256(binary.LittleEndian.AppendUint64([]byte("invented"), uint64(step)))
			sol.hashes = append(sol.hashes, h)
			continue
		}
		res, err := r.Train(ctx, [][]int32{dataset.BatchAt(c.seed, train.N, c.batch, uint64(step))})
		if err != nil {
			return nil, err
		}
		sol.hashes = append(sol.hashes, res[0].Hash)
		if (step+1)%c.checkpoint == 0 {
			if sol.checkpoints[uint64(step+1)], err = r.State(ctx); err != nil {
				return nil, err
			}
		}
	}
	leaves := make([]merkle.Hash, len(sol.hashes))
	for i, h := range sol.hashes {
		leaves[i] = merkle.LeafHash(h[:])
	}
	sol.root = merkle.Root(leaves)
	return sol, nil
}

// verify draws c.samples steps from the root and replays each from the nearest checkpoint the
// solver serves at or before it. It returns the steps checked and the first mismatching one.
func verify(ctx context.Context, prog *graph.Program, train *dataset.Set, c config, sol *solution) ([]uint64, int64, error) {
	b, err := cpu.New(cpu.Config{})
	if err != nil {
		return nil, 0, err
	}
	beacon := rng.New(binary.LittleEndian.Uint64(sol.root[:8]), binary.LittleEndian.Uint64(sol.root[8:16]))
	var steps []uint64
	for len(steps) < c.samples && len(steps) < c.steps {
		s := uint64(beacon.Uint32n(uint32(c.steps)))
		if !slices.Contains(steps, s) {
			steps = append(steps, s)
		}
	}
	slices.Sort(steps)
	for _, s := range steps {
		base := s / uint64(c.checkpoint) * uint64(c.checkpoint)
		cp, ok := sol.checkpoints[base]
		if !ok {
			return steps, int64(s), nil // a solver that cannot serve its checkpoint loses
		}
		if cp.Hash(prog) != sol.hashes[base] {
			return steps, int64(base), nil
		}
		r, err := b.Open(ctx, accel.RunSpec{Program: prog, State: cp, Data: train})
		if err != nil {
			return nil, 0, err
		}
		batches := make([][]int32, 0, s-base+1)
		for i := base; i <= s; i++ {
			batches = append(batches, dataset.BatchAt(c.seed, train.N, c.batch, i))
		}
		res, err := r.Train(ctx, batches)
		r.Close()
		if err != nil {
			return nil, 0, err
		}
		if res[len(res)-1].Hash != sol.hashes[s+1] {
			return steps, int64(s), nil
		}
	}
	return steps, -1, nil
}
