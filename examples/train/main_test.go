package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-go/deai/accel/dataset"
)

var accuracy = flag.Bool("accuracy", false, "run the accuracy tests on the full Fashion-MNIST (minutes)")

func runJSON(t *testing.T, args ...string) Report {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append(args, "-json"), &out, &errOut); err != nil {
		t.Fatalf("run %v: %v\n%s", args, err, errOut.String())
	}
	var r Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out.String())
	}
	return r
}

func TestTrainEmbedded(t *testing.T) {
	a := runJSON(t, "-data", "embedded", "-steps", "40", "-batch", "32", "-workers", "1")
	b := runJSON(t, "-data", "embedded", "-steps", "40", "-batch", "32", "-workers", "2")
	if a.FinalStateHash != b.FinalStateHash || a.TestAccuracy != b.TestAccuracy {
		t.Errorf("workers 1 and 2 differ: %s %v vs %s %v", a.FinalStateHash, a.TestAccuracy, b.FinalStateHash, b.TestAccuracy)
	}
	if a.Model != "mlp" || a.Steps != 40 || a.SamplesPerSec <= 0 || len(a.FinalStateHash) != 64 || a.TestSamples == 0 {
		t.Errorf("report %+v", a)
	}
	if a.TestAccuracy < 0.6 {
		t.Errorf("40 steps reached test accuracy %.3f, want at least 0.6", a.TestAccuracy)
	}
	c := runJSON(t, "-data", "embedded", "-steps", "40", "-batch", "32", "-seed", "2")
	if c.FinalStateHash == a.FinalStateHash {
		t.Error("another seed gave the same state")
	}
}

func TestTextOutput(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-data", "embedded", "-model", "cnn", "-steps", "2", "-batch", "8", "-opt", "sgd"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"model cnn", "sgd lr 0.01", "test accuracy", "final state hash"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-model", "rnn"}, `-model "rnn"`},
		{[]string{"-opt", "lbfgs", "-batch", "0"}, "-batch 0"},
		{[]string{"-data", "/nonexistent"}, "/nonexistent"},
		{[]string{"-data", "embedded", "-batch", "100000"}, "-batch 100000"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-out", "/tmp/x"}, "need -prove"},
		{[]string{"-prove", "-verify-dir", "/tmp/x"}, "does not combine"},
		{[]string{"-prove", "-solver", "0x12"}, "-solver"},
		{[]string{"-verify-dir", "/nonexistent"}, "/nonexistent"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// TestAccuracy trains the reference models on the full Fashion-MNIST and checks their test
// accuracy: MLP ≥ 0.87 and CNN ≥ 0.90 (the dataset's published benchmark has scikit-learn's
// MLPClassifier at 0.877). The runs are bit-exact, so these figures are the same on every
// machine. Run with -accuracy (scripts/test.sh does).
func TestAccuracy(t *testing.T) {
	if !*accuracy {
		t.Skip("run with -accuracy (minutes; needs the Debian package dataset-fashion-mnist)")
	}
	if _, err := os.Stat(dataset.DefaultFashionMNISTDir); err != nil {
		t.Fatalf("the full Fashion-MNIST is missing (apt-get install dataset-fashion-mnist): %v", err)
	}
	for _, tt := range []struct {
		model, epochs string
		min           float64
	}{{"mlp", "10", 0.87}, {"cnn", "5", 0.90}} {
		t.Run(tt.model, func(t *testing.T) {
			r := runJSON(t, "-model", tt.model, "-epochs", tt.epochs, "-data", dataset.DefaultFashionMNISTDir)
			t.Logf("%s: %d steps, test accuracy %.4f, %.0f samples/s, final state %s", tt.model, r.Steps, r.TestAccuracy, r.SamplesPerSec, r.FinalStateHash)
			if r.TestAccuracy < tt.min {
				t.Errorf("%s test accuracy %.4f, want ≥ %.2f", tt.model, r.TestAccuracy, tt.min)
			}
		})
	}
}

func TestProveAndVerifyDir(t *testing.T) {
	dir := t.TempDir()
	a := runJSON(t, "-data", "embedded", "-steps", "30", "-batch", "16", "-prove", "-checkpoint", "10", "-out", dir, "-verify", "-samples", "6")
	if a.Verdict != "accepted" || len(a.ProofRoot) != 64 || a.ProofBytes <= 0 || a.CheckpointBytes <= 0 || a.VerifySteps == 0 {
		t.Fatalf("report %+v", a)
	}
	if a.VerifyFraction <= 0 || a.VerifyFraction > 0.2 || a.ProveOverhead < 0 {
		t.Errorf("verify fraction %v (6 draws of 30 steps), prove overhead %v", a.VerifyFraction, a.ProveOverhead)
	}
	// Proving is deterministic: the same flags give the same root, whatever the workers.
	b := runJSON(t, "-data", "embedded", "-steps", "30", "-batch", "16", "-prove", "-checkpoint", "10", "-workers", "1")
	if b.ProofRoot != a.ProofRoot || b.FinalStateHash != a.FinalStateHash {
		t.Errorf("a second run proves %s, the first %s", b.ProofRoot, a.ProofRoot)
	}
	v := runJSON(t, "-verify-dir", dir, "-samples", "6", "-beacon", "block 7")
	if v.Verdict != "accepted" || v.ProofRoot != a.ProofRoot || v.Solver != a.Solver {
		t.Fatalf("verify-dir: %+v", v)
	}
	// Lose the checkpoints: the proof can no longer be served.
	if err := os.RemoveAll(filepath.Join(dir, "checkpoints")); err != nil {
		t.Fatal(err)
	}
	v = runJSON(t, "-verify-dir", dir, "-samples", "6")
	if !strings.HasPrefix(v.Verdict, "rejected: unserved") {
		t.Errorf("verdict without checkpoints: %q", v.Verdict)
	}
	// A corrupted proof file does not decode.
	p := filepath.Join(dir, "proof.pb")
	enc, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, enc[:len(enc)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-verify-dir", dir}, &out, &out); err == nil || !strings.Contains(err.Error(), "pol: invalid proof") {
		t.Errorf("truncated proof: err = %v", err)
	}
}
