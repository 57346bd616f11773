package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestDevnet(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-steps", "40", "-checkpoint", "10", "-samples", "6", "-batch", "32", "-json"}, &out); err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if r.Cheaters != 1 || r.CheatersCaught != 1 || r.HonestAccepted != 1 {
		t.Errorf("cheaters %d, caught %d, honest accepted %d; want 1, 1, 1", r.Cheaters, r.CheatersCaught, r.HonestAccepted)
	}
	if len(r.Solvers) != 2 || len(r.Solvers[0].Checked) != 6 || r.Solvers[0].Mismatch != -1 || r.Solvers[1].Mismatch < 20 {
		t.Errorf("solvers %+v", r.Solvers)
	}
	if r.TestAccuracy < 0.5 {
		t.Errorf("test accuracy %.3f after 40 steps", r.TestAccuracy)
	}
}

func TestDevnetText(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-steps", "10", "-checkpoint", "5", "-samples", "3", "-batch", "16"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"committed root", "accepted", "cheaters caught"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(context.Background(), []string{"-steps", "0"}, &out); err == nil {
		t.Error("-steps 0 accepted")
	}
}
