package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deai-go/deai/accel/dataset"
	"github.com/deai-go/deai/chain/embedded"
	"github.com/deai-go/deai/dispute/accelvm"
)

// small is the reduced configuration the tests run: seconds, not minutes.
var small = []string{"-dataset", "embedded", "-steps", "16", "-checkpoint", "4", "-samples", "8", "-batch", "16", "-hidden", "8", "-fraction", "0.4", "-workers", "6"}

func runJSON(t *testing.T, args ...string) Report {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append(append([]string{"-json"}, small...), args...), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var r Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return r
}

// checkOutcome asserts what every run must show: each cheater caught and slashed, the honest
// solver paid, tokens conserved, the labeling campaign settled.
func checkOutcome(t *testing.T, r Report) {
	t.Helper()
	if r.Cheaters < 1 || r.CheatersSlashed != r.Cheaters {
		t.Errorf("cheaters %d, slashed %d", r.Cheaters, r.CheatersSlashed)
	}
	if !r.HonestPaid {
		t.Error("the honest solver was not paid")
	}
	if !r.Conserved {
		t.Errorf("conservation: %s", r.Conservation)
	}
	if r.DisputeRounds < 1 || r.LabelsAccepted < 1 || r.TestAccuracy <= 0.1 {
		t.Errorf("dispute rounds %d, labels accepted %d, test accuracy %.3f", r.DisputeRounds, r.LabelsAccepted, r.TestAccuracy)
	}
	for _, task := range r.Tasks {
		if task.Cheats && (!task.Disputed || task.Winner != "challenger" || task.Paid != "0") {
			t.Errorf("cheating task %+v", task)
		}
		if task.Disputed && (task.Rounds > uint64(task.RoundBound) || task.Chunk == "" || task.RefereeFLOPs < 0 || task.RefereeFLOPs > accelvm.MaxChunkFLOPs) {
			t.Errorf("dispute of task %s: %d rounds (bound %d), the referee recomputed %q: %d FLOPs", task.ID[:8], task.Rounds, task.RoundBound, task.Chunk, task.RefereeFLOPs)
		}
		if !task.Cheats && (task.Disputed || task.Paid == "0") {
			t.Errorf("honest task %+v", task)
		}
	}
}

func TestDevnet(t *testing.T) {
	for _, s := range strategyNames() {
		t.Run(s, func(t *testing.T) {
			r := runJSON(t, "-cheat", s)
			checkOutcome(t, r)
			if r.Strategy != s || r.Continued || r.HeightStart != 0 {
				t.Errorf("strategy %q, continued %v from %d", r.Strategy, r.Continued, r.HeightStart)
			}
		})
	}
}

// TestDevnetWideModel runs a model whose state no transaction could carry: the referee's
// witness is one chunk's, whatever the model.
func TestDevnetWideModel(t *testing.T) {
	r := runJSON(t, "-hidden", "256")
	checkOutcome(t, r)
}

func TestDevnetContinues(t *testing.T) {
	dir := t.TempDir()
	first := runJSON(t, "-data", dir)
	second := runJSON(t, "-data", dir, "-cheat", "fake")
	checkOutcome(t, first)
	checkOutcome(t, second)
	if !second.Continued || second.HeightStart != first.HeightEnd || second.HeightEnd <= second.HeightStart {
		t.Errorf("second run: continued %v, heights %d..%d; first ended at %d", second.Continued, second.HeightStart, second.HeightEnd, first.HeightEnd)
	}
	if second.Labeling.Campaign != first.Labeling.Campaign+1 {
		t.Errorf("campaigns %d then %d", first.Labeling.Campaign, second.Labeling.Campaign)
	}
}

func TestDevnetText(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), small, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"stage 1 submission", "stage 4 proof", "stage 6 challenge", "stage 7 arbitration", "stage 8 settlement",
		"labeling: finalized", "caught and slashed 1", "conservation holds"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDevnetFlags(t *testing.T) {
	for _, args := range [][]string{{"-steps", "1"}, {"-cheat", "nope"}, {"-fraction", "0"}, {"-workers", "40"}, {"-hidden", "0"}, {"extra"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), append(slices.Clone(small), args...), &out); err == nil {
				t.Errorf("accepted")
			}
		})
	}
}

func TestDevnetCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := run(ctx, small, &out); err == nil {
		t.Error("a cancelled run succeeded")
	}
}

// TestHelperProcess is the devnet as a child process for TestDevnetKill.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("DEAI_DEVNET_HELPER") != "1" {
		t.Skip("helper process")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	if err := run(context.Background(), args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestDevnetKill kills the devnet with SIGKILL in the middle of a run and checks that the
// chain lost nothing it acknowledged (every block line is printed after the block's fsync),
// then runs the devnet again on the same directory.
func TestDevnetKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperProcess$", "--", "-data", dir, "-blocks"}, small...)...)
	cmd.Env = append(os.Environ(), "DEAI_DEVNET_HELPER=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var height uint64
	var root string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var h uint64
		var r string
		if n, _ := fmt.Sscanf(sc.Text(), "block %d %s", &h, &r); n == 2 {
			height, root = h, r
			if h >= 19 { // offers attested, tasks matched, proofs committed, the game under way
				break
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	go func() { // drain, so the child never blocks on a full pipe before dying
		for sc.Scan() {
		}
	}()
	cmd.Wait()
	if height < 19 {
		t.Fatalf("the child acknowledged only block %d; stderr:\n%s", height, stderr.String())
	}

	train, _, err := dataset.EmbeddedFashionMNIST()
	if err != nil {
		t.Fatal(err)
	}
	_, ms, err := machines(train, dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := embedded.Open(embedded.Config{ChainID: chainID, Path: filepath.Join(dir, "chain.db"), Machines: ms})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	head, err := c.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := c.HeaderAt(ctx, height)
	if err != nil {
		t.Fatal(err)
	}
	if head.Height < height || hex.EncodeToString(hdr.StateRoot[:]) != root {
		t.Fatalf("after the kill: head %d, block %d root %x; acknowledged block %d root %s", head.Height, height, hdr.StateRoot, height, root)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r := runJSON(t, "-data", dir)
	checkOutcome(t, r)
	if !r.Continued || r.HeightStart < height {
		t.Errorf("restart: continued %v from height %d; %d was acknowledged", r.Continued, r.HeightStart, height)
	}
}
