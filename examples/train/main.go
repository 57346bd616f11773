// Command train trains a Fashion-MNIST model on the bit-exact reference backend and reports
// its speed, its test accuracy and the hash of its final training state.
//
//	go run ./examples/train -model mlp|cnn [-epochs N | -steps N] [-batch B] [-lr X]
//	    [-opt adamw|sgd] [-seed S] [-data DIR] [-workers W] [-json]
//	    [-prove [-out DIR] [-verify] [-checkpoint K] [-solver ADDR] [-samples S] [-beacon B]]
//	go run ./examples/train -verify-dir DIR [-samples S] [-beacon B] [-json]
//
// With -prove it trains with a proof of learning (package pol): the state hash of every step
// chained and committed, a checkpoint every K steps. -out DIR writes the proof (proof.pb), its
// checkpoints (checkpoints/) and the task a verifier needs (task.json); -verify then verifies
// the proof as a verifier would, replaying sampled steps. -verify-dir DIR verifies a proof that
// someone else wrote with -out, without training: verification is a separate act by a separate
// party. With -prove the weights and data order come from the run seed pol derives from the
// task, the solver and -seed, so final_state_hash differs from a run without -prove.
//
// With -data embedded it uses the real Fashion-MNIST subset compiled into the SDK. Without
// -data it uses /usr/share/datasets/fashion-mnist when installed (Debian package
// dataset-fashion-mnist) and otherwise the real subset embedded in the SDK. Two runs with the
// same flags print the same final_state_hash on any machine, whatever -workers.
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
	"strings"
	"time"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/pol"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

// Report is what a training run prints with -json.
type Report struct {
	Model          string  `json:"model"`
	GraphHash      string  `json:"graph_hash"`
	Optimizer      string  `json:"optimizer"`
	LR             float32 `json:"lr"`
	Batch          int     `json:"batch"`
	Seed           uint64  `json:"seed"`
	Steps          int     `json:"steps"`
	Epochs         float64 `json:"epochs"`
	DataSource     string  `json:"data_source"`
	TrainSamples   int     `json:"train_samples"`
	TestSamples    int     `json:"test_samples"`
	Workers        int     `json:"workers"`
	Seconds        float64 `json:"seconds"`
	SamplesPerSec  float64 `json:"samples_per_sec"`
	StepFLOPs      int64   `json:"step_flops"`
	GFLOPS         float64 `json:"gflops"`
	FinalLoss      float32 `json:"final_loss"`
	TestAccuracy   float64 `json:"test_accuracy"`
	TestLoss       float64 `json:"test_loss"`
	FinalStateHash string  `json:"final_state_hash"`

	// With -prove, -verify or -verify-dir.
	Solver          string  `json:"solver,omitempty"`
	ProofRoot       string  `json:"proof_root,omitempty"`
	ProofBytes      int     `json:"proof_bytes,omitempty"`
	CheckpointBytes int64   `json:"checkpoint_bytes,omitempty"`
	ProveOverhead   float64 `json:"prove_overhead,omitempty"`
	VerifyFraction  float64 `json:"verify_fraction,omitempty"`
	VerifySteps     int     `json:"verify_steps,omitempty"`
	VerifySeconds   float64 `json:"verify_seconds,omitempty"`
	Verdict         string  `json:"verdict,omitempty"`
}

type options struct {
	model, opt, data string
	epochs, steps    int
	batch, workers   int
	lr               float64
	seed             uint64
	json             bool
	// proofs
	prove, verify  bool
	out, verifyDir string
	checkpoint     int
	samples        int
	solver, beacon string
	explicit       map[string]bool // flags set on the command line
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.model, "model", "mlp", "model: mlp (784-128-10) or cnn (2 conv layers)")
	fs.IntVar(&o.epochs, "epochs", 1, "passes over the training set (ignored when -steps is set)")
	fs.IntVar(&o.steps, "steps", 0, "number of training steps (overrides -epochs)")
	fs.IntVar(&o.batch, "batch", 64, "batch size")
	fs.Float64Var(&o.lr, "lr", 0, "learning rate (default 0.001 for adamw, 0.01 for sgd)")
	fs.StringVar(&o.opt, "opt", "adamw", "optimizer: adamw or sgd (momentum 0.9)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the initial weights and of the data order")
	fs.StringVar(&o.data, "data", "", "directory with the Fashion-MNIST IDX files, or \"embedded\" (default: the Debian dataset when installed, else the embedded subset)")
	fs.IntVar(&o.workers, "workers", 0, "kernel goroutines (default GOMAXPROCS; results do not depend on it)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object instead of text")
	fs.BoolVar(&o.prove, "prove", false, "train with a proof of learning")
	fs.StringVar(&o.out, "out", "", "with -prove: write the proof, its checkpoints and the task to this directory")
	fs.BoolVar(&o.verify, "verify", false, "with -prove: verify the proof by sampled replay")
	fs.StringVar(&o.verifyDir, "verify-dir", "", "verify the proof another run wrote with -out to this directory (no training)")
	fs.IntVar(&o.checkpoint, "checkpoint", pol.DefaultCheckpointEvery, "with -prove: a checkpoint every this many steps")
	fs.IntVar(&o.samples, "samples", pol.DefaultSamples, "steps the verifier draws for replay")
	fs.StringVar(&o.solver, "solver", defaultSolver, "the solver's 20-byte address (hex) the proof is bound to")
	fs.StringVar(&o.beacon, "beacon", "", "the verifier's randomness, fixed after the proof (empty: Fiat-Shamir over the proof)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.explicit = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.explicit[f.Name] = true })
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if o.model != "mlp" && o.model != "cnn" {
		errs = append(errs, fmt.Errorf("-model %q: want mlp or cnn", o.model))
	}
	if o.opt != "adamw" && o.opt != "sgd" {
		errs = append(errs, fmt.Errorf("-opt %q: want adamw or sgd", o.opt))
	}
	if o.epochs < 1 && o.steps == 0 {
		errs = append(errs, fmt.Errorf("-epochs %d: want at least 1", o.epochs))
	}
	if o.steps < 0 {
		errs = append(errs, fmt.Errorf("-steps %d: want at least 1", o.steps))
	}
	if o.batch < 1 || o.batch > graph.MaxBatch {
		errs = append(errs, fmt.Errorf("-batch %d: want 1..%d", o.batch, graph.MaxBatch))
	}
	if o.workers < 0 {
		errs = append(errs, fmt.Errorf("-workers %d: want 0 or more", o.workers))
	}
	if (o.out != "" || o.verify) && !o.prove {
		errs = append(errs, errors.New("-out and -verify need -prove"))
	}
	if o.prove && o.verifyDir != "" {
		errs = append(errs, errors.New("-verify-dir verifies someone else's proof: it does not combine with -prove"))
	}
	if o.checkpoint < 1 || o.samples < 1 {
		errs = append(errs, fmt.Errorf("-checkpoint %d, -samples %d: want at least 1", o.checkpoint, o.samples))
	}
	if _, err := pol.ParseAddress(o.solver); err != nil {
		errs = append(errs, fmt.Errorf("-solver: %w", err))
	}
	return o, errors.Join(errs...)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if o.verifyDir != "" {
		return verifyDir(ctx, o, stdout)
	}
	var train, test *dataset.Set
	source := "embedded Fashion-MNIST subset"
	if o.data == "embedded" {
		train, test, err = dataset.EmbeddedFashionMNIST()
	} else {
		train, test, source, err = dataset.FashionMNIST(o.data)
	}
	if err != nil {
		return err
	}
	g := graph.FashionMLP()
	if o.model == "cnn" {
		g = graph.FashionCNN()
	}
	opt := graph.Optimizer{Kind: graph.AdamW, LR: float32(o.lr)}
	if o.opt == "sgd" {
		opt.Kind = graph.SGD
	}
	prog, err := graph.Compile(g, o.batch, opt)
	if err != nil {
		return err
	}
	if train.N < o.batch {
		return fmt.Errorf("-batch %d is larger than the training set (%d samples)", o.batch, train.N)
	}
	perEpoch := dataset.StepsPerEpoch(train.N, o.batch)
	steps := o.steps
	if steps == 0 {
		steps = o.epochs * perEpoch
	}
	b, err := cpu.New(cpu.Config{Workers: o.workers})
	if err != nil {
		return err
	}
	dev, err := b.Device(ctx)
	if err != nil {
		return err
	}
	if o.prove {
		return prove(ctx, o, b, prog, train, test, source, uint64(steps), stdout, stderr)
	}
	r, err := b.Open(ctx, accel.RunSpec{Program: prog, Seed: o.seed, Data: train})
	if err != nil {
		return err
	}
	defer r.Close()

	bar := newProgress(stderr, steps, !o.json)
	const segment = 25
	var last accel.StepResult
	var elapsed time.Duration
	var order [][]int32 // the batches of epoch orderEpoch (dataset.Batches)
	var orderEpoch uint64
	for done := 0; done < steps; {
		n := min(segment, steps-done)
		batches := make([][]int32, n)
		for i := range batches {
			step := done + i
			if epoch := uint64(step / perEpoch); order == nil || epoch != orderEpoch {
				order, orderEpoch = dataset.Batches(o.seed, epoch, train.N, o.batch), epoch
			}
			batches[i] = order[step%perEpoch]
		}
		start := time.Now()
		res, err := r.Train(ctx, batches)
		elapsed += time.Since(start)
		if err != nil {
			return fmt.Errorf("training step %d: %w", done+len(res), err)
		}
		last = res[len(res)-1]
		done += n
		bar.update(done, last.Loss)
	}
	bar.finish()
	ev, err := r.(accel.Evaluator).Evaluate(ctx, test)
	if err != nil {
		return err
	}
	rep := Report{
		Model: o.model, GraphHash: g.Hash().String(), Optimizer: o.opt, LR: prog.Opt.LR, Batch: o.batch,
		Seed: o.seed, Steps: steps, Epochs: float64(steps) / float64(perEpoch), DataSource: source,
		TrainSamples: train.N, TestSamples: test.N, Workers: dev.Cores, Seconds: elapsed.Seconds(),
		StepFLOPs: prog.StepFLOPs(), FinalLoss: last.Loss, TestAccuracy: ev.Accuracy(), TestLoss: ev.Loss,
		FinalStateHash: last.Hash.String(),
	}
	if s := elapsed.Seconds(); s > 0 {
		rep.SamplesPerSec = float64(steps*o.batch) / s
		rep.GFLOPS = float64(prog.StepFLOPs()) * float64(steps) / s / 1e9
	}
	return printReport(stdout, o, rep)
}

// printReport prints rep as JSON or as text.
func printReport(stdout io.Writer, o options, rep Report) error {
	if o.json {
		enc := json.NewEncoder(stdout)
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "model %s (%s), %s lr %g, batch %d, seed %d\n", rep.Model, rep.GraphHash[:16], rep.Optimizer, rep.LR, rep.Batch, rep.Seed)
	fmt.Fprintf(stdout, "data: %s (%d train, %d test)\n", rep.DataSource, rep.TrainSamples, rep.TestSamples)
	fmt.Fprintf(stdout, "trained %d steps (%.2f epochs) in %.1fs: %.0f samples/s, %.2f GFLOP/s on %d workers\n",
		rep.Steps, rep.Epochs, rep.Seconds, rep.SamplesPerSec, rep.GFLOPS, rep.Workers)
	fmt.Fprintf(stdout, "final loss %.4f, test accuracy %.4f (test loss %.4f)\n", rep.FinalLoss, rep.TestAccuracy, rep.TestLoss)
	fmt.Fprintf(stdout, "final state hash %s\n", rep.FinalStateHash)
	printProof(stdout, rep)
	return nil
}

// progress draws a progress bar on a terminal; elsewhere it stays silent.
type progress struct {
	w     io.Writer
	total int
	on    bool
}

func newProgress(w io.Writer, total int, want bool) *progress {
	f, ok := w.(*os.File)
	on := want && ok
	if on {
		st, err := f.Stat()
		on = err == nil && st.Mode()&os.ModeCharDevice != 0
	}
	return &progress{w: w, total: total, on: on}
}

func (p *progress) update(done int, loss float32) {
	if !p.on {
		return
	}
	const width = 30
	fill := done * width / p.total
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d steps, loss %.4f", strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, p.total, loss)
}

func (p *progress) finish() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}
