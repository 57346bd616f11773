package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/deai-go/deai/accel"
	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/pol"
)

// defaultSolver is the address -solver defaults to.
const defaultSolver = "0x00000000000000000000000000000000000de5a1"

// TaskFile is task.json: what a verifier needs besides the proof and its checkpoints.
type TaskFile struct {
	TaskID          string  `json:"task_id"`
	Model           string  `json:"model"`
	GraphHash       string  `json:"graph_hash"`
	Batch           int     `json:"batch"`
	Optimizer       string  `json:"optimizer"`
	LR              float32 `json:"lr"`
	Seed            uint64  `json:"seed"`
	Steps           uint64  `json:"steps"`
	CheckpointEvery int     `json:"checkpoint_every"`
	Data            string  `json:"data"`
	DatasetRoot     string  `json:"dataset_root"`
	DatasetSize     int     `json:"dataset_size"`
	Solver          string  `json:"solver"`
}

// taskID names the example's task: SHA-256 of its description.
func taskID(model string, prog *graph.Program, seed, steps uint64, root pol.Hash) pol.Hash {
	b := []byte("deai/examples/train/task\x00" + model + "\x00")
	gh := prog.Graph.Hash()
	b = append(b, gh[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(prog.Batch))
	b = binary.LittleEndian.AppendUint64(b, seed)
	b = binary.LittleEndian.AppendUint64(b, steps)
	return sha256.Sum256(append(b, root[:]...))
}

// prove trains with a proof, writes it with -out and verifies it with -verify.
func prove(ctx context.Context, o options, be *cpu.Backend, prog *graph.Program, train, test *dataset.Set, source string, steps uint64, stdout, stderr io.Writer) error {
	solver, err := pol.ParseAddress(o.solver)
	if err != nil {
		return err
	}
	task := pol.Task{
		ID: taskID(o.model, prog, o.seed, steps, pol.Hash(train.Commitment())), Graph: prog.Graph, Batch: o.batch,
		Optimizer: prog.Opt, Seed: o.seed, Steps: steps, Data: train, CheckpointEvery: o.checkpoint,
	}
	var store pol.Store = pol.NewMemStore()
	if o.out != "" {
		if store, err = pol.NewDirStore(filepath.Join(o.out, "checkpoints")); err != nil {
			return err
		}
	}
	bar := newProgress(stderr, int(steps), !o.json)
	res, err := pol.Train(ctx, pol.TrainConfig{
		Task: task, Solver: solver, Backend: be, Store: store, Clock: time.Now,
		Progress: func(done uint64, loss float32) { bar.update(int(done), loss) },
	})
	if err != nil {
		return err
	}
	bar.finish()
	enc, err := res.Proof.MarshalBinary()
	if err != nil {
		return err
	}
	r, err := be.Open(ctx, accel.RunSpec{Program: prog, State: res.Final, Data: train})
	if err != nil {
		return err
	}
	defer r.Close()
	ev, err := r.(accel.Evaluator).Evaluate(ctx, test)
	if err != nil {
		return err
	}
	dev, err := be.Device(ctx)
	if err != nil {
		return err
	}
	secs := (res.TrainTime + res.ProofTime).Seconds()
	rep := Report{
		Model: o.model, GraphHash: prog.Graph.Hash().String(), Optimizer: o.opt, LR: prog.Opt.LR, Batch: o.batch,
		Seed: o.seed, Steps: int(steps), Epochs: float64(steps) / float64(dataset.StepsPerEpoch(train.N, o.batch)), DataSource: source,
		TrainSamples: train.N, TestSamples: test.N, Workers: dev.Cores, Seconds: secs,
		StepFLOPs: prog.StepFLOPs(), FinalLoss: res.Loss, TestAccuracy: ev.Accuracy(), TestLoss: ev.Loss,
		FinalStateHash: res.Proof.Final().String(), Solver: solver.String(), ProofRoot: res.Proof.Root.String(), ProofBytes: len(enc),
	}
	if secs > 0 {
		rep.SamplesPerSec = float64(int(steps)*o.batch) / secs
		rep.GFLOPS = float64(prog.StepFLOPs()) * float64(steps) / secs / 1e9
	}
	if t := res.TrainTime.Seconds(); t > 0 {
		rep.ProveOverhead = res.ProofTime.Seconds() / t
	}
	if o.out != "" {
		data := o.data
		if data == "" || data == "embedded" || source == "embedded Fashion-MNIST subset" {
			data = "embedded"
		}
		tf := TaskFile{
			TaskID: task.ID.String(), Model: o.model, GraphHash: rep.GraphHash, Batch: o.batch, Optimizer: o.opt, LR: prog.Opt.LR,
			Seed: o.seed, Steps: steps, CheckpointEvery: o.checkpoint, Data: data,
			DatasetRoot: pol.Hash(train.Commitment()).String(), DatasetSize: train.N, Solver: solver.String(),
		}
		if err := writeFiles(o.out, tf, enc); err != nil {
			return err
		}
		if rep.CheckpointBytes, err = dirBytes(filepath.Join(o.out, "checkpoints")); err != nil {
			return err
		}
	}
	if o.verify {
		if err := verifyInto(ctx, &rep, o, task, solver, res.Proof, res.Store); err != nil {
			return err
		}
	}
	return printReport(stdout, o, rep)
}

// verifyInto verifies p with a fresh verifier (openings served by a prover over store) and
// records the verdict and its cost in rep.
func verifyInto(ctx context.Context, rep *Report, o options, task pol.Task, solver pol.Address, p *pol.Proof, store pol.Store) error {
	v, err := pol.NewVerifier(pol.Config{Samples: o.samples})
	if err != nil {
		return err
	}
	pr, err := pol.NewProver(pol.ProverConfig{Task: task, Proof: p, Store: store})
	if err != nil {
		return err
	}
	defer pr.Close()
	start := time.Now()
	vd, err := v.Verify(ctx, task, solver, p, []byte(o.beacon), pr)
	if err != nil {
		return err
	}
	rep.VerifySeconds = time.Since(start).Seconds()
	rep.VerifySteps = vd.Replayed
	if total := float64(p.Steps()) * float64(rep.StepFLOPs); total > 0 {
		rep.VerifyFraction = float64(vd.ReplayFLOPs) / total
	}
	rep.Verdict = "accepted"
	if !vd.Accepted {
		rep.Verdict = fmt.Sprintf("rejected: %s at step %d: %s", vd.Reason, vd.Step, vd.Detail)
	}
	return nil
}

func writeFiles(dir string, tf TaskFile, proof []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tj, err := json.MarshalIndent(tf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "task.json"), append(tj, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "proof.pb"), proof, 0o644)
}

func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return n, err
}

// verifyDir verifies the proof another run wrote to o.verifyDir, from its files alone.
func verifyDir(ctx context.Context, o options, stdout io.Writer) error {
	tj, err := os.ReadFile(filepath.Join(o.verifyDir, "task.json"))
	if err != nil {
		return err
	}
	var tf TaskFile
	if err := json.Unmarshal(tj, &tf); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(o.verifyDir, "task.json"), err)
	}
	enc, err := os.ReadFile(filepath.Join(o.verifyDir, "proof.pb"))
	if err != nil {
		return err
	}
	p, err := pol.DecodeProof(enc)
	if err != nil {
		return err
	}
	g := graph.FashionMLP()
	switch tf.Model {
	case "mlp":
	case "cnn":
		g = graph.FashionCNN()
	default:
		return fmt.Errorf("task.json: model %q: want mlp or cnn", tf.Model)
	}
	opt := graph.Optimizer{Kind: graph.AdamW, LR: tf.LR}
	if tf.Optimizer == "sgd" {
		opt.Kind = graph.SGD
	}
	data := tf.Data
	if o.explicit["data"] {
		data = o.data
	}
	var train *dataset.Set
	source := "embedded Fashion-MNIST subset"
	if data == "embedded" {
		train, _, err = dataset.EmbeddedFashionMNIST()
	} else {
		train, _, source, err = dataset.FashionMNIST(data)
	}
	if err != nil {
		return err
	}
	solver, err := pol.ParseAddress(tf.Solver)
	if err != nil {
		return fmt.Errorf("task.json: %w", err)
	}
	var id pol.Hash
	if b, err := hex.DecodeString(tf.TaskID); err != nil || len(b) != len(id) {
		return fmt.Errorf("task.json: task id %q: want 64 hex digits", tf.TaskID)
	} else {
		copy(id[:], b)
	}
	if g.Hash().String() != tf.GraphHash {
		return fmt.Errorf("task.json: graph hash %s, the %s model here hashes to %s", tf.GraphHash, tf.Model, g.Hash())
	}
	if root := pol.Hash(train.Commitment()).String(); root != tf.DatasetRoot {
		return fmt.Errorf("the dataset %s has root %s, the task names %s", source, root, tf.DatasetRoot)
	}
	task := pol.Task{ID: id, Graph: g, Batch: tf.Batch, Optimizer: opt, Seed: tf.Seed, Steps: tf.Steps, Data: train, CheckpointEvery: tf.CheckpointEvery}
	prog, err := task.EnsureDefaults().Program()
	if err != nil {
		return err
	}
	store, err := pol.NewDirStore(filepath.Join(o.verifyDir, "checkpoints"))
	if err != nil {
		return err
	}
	rep := Report{
		Model: tf.Model, GraphHash: tf.GraphHash, Optimizer: tf.Optimizer, LR: prog.Opt.LR, Batch: tf.Batch, Seed: tf.Seed,
		Steps: int(tf.Steps), DataSource: source, TrainSamples: train.N, StepFLOPs: prog.StepFLOPs(),
		FinalStateHash: p.Final().String(), Solver: solver.String(), ProofRoot: p.Root.String(), ProofBytes: len(enc),
	}
	if rep.CheckpointBytes, err = dirBytes(filepath.Join(o.verifyDir, "checkpoints")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := verifyInto(ctx, &rep, o, task, solver, p, store); err != nil {
		return err
	}
	if o.json {
		return json.NewEncoder(stdout).Encode(rep)
	}
	fmt.Fprintf(stdout, "proof %s of %d steps by %s (%s, %d bytes)\n", rep.ProofRoot[:16], rep.Steps, rep.Solver, o.verifyDir, rep.ProofBytes)
	fmt.Fprintf(stdout, "replayed %d steps (%.4f%% of the training FLOPs) in %.2fs: %s\n", rep.VerifySteps, 100*rep.VerifyFraction, rep.VerifySeconds, rep.Verdict)
	return nil
}

// printProof prints the proof lines of a text report, when there is a proof.
func printProof(w io.Writer, rep Report) {
	if rep.ProofRoot == "" {
		return
	}
	fmt.Fprintf(w, "proof root %s (%d bytes, checkpoints %d bytes), proof overhead %.1f%%, solver %s\n", rep.ProofRoot, rep.ProofBytes, rep.CheckpointBytes, 100*rep.ProveOverhead, rep.Solver)
	if rep.Verdict != "" {
		fmt.Fprintf(w, "verified: replayed %d steps (%.4f%% of the training FLOPs) in %.2fs: %s\n", rep.VerifySteps, 100*rep.VerifyFraction, rep.VerifySeconds, rep.Verdict)
	}
}
