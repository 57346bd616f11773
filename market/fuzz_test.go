package market

import (
	"bytes"
	"context"
	"errors"
	"math"
	"testing"

	"github.com/deai-go/deai/accel/cpu"
	"github.com/deai-go/deai/accel/graph"
	"github.com/deai-go/deai/internal/merkle"
	"github.com/holiman/uint256"
)

func FuzzDecodeTx(f *testing.F) {
	spec := mlpSpec(100)
	for _, tx := range []Tx{
		PostOffer{ID: [32]byte{1}, Props: gpu, Price: *uint256.NewInt(5), Capacity: 9, Identities: [][20]byte{{2}}},
		CommitAttestation{Offer: [32]byte{1}, Rounds: 64}, CloseOffer{}, PostTask{ID: [32]byte{3}, Mode: AuctionAuto, Window: 5, Spec: spec},
		Bid{Price: *uint256.NewInt(1)}, Accept{}, CloseAuction{}, CommitProof{}, AssignVerifiers{}, Settle{Accepted: true}, Expire{}, RegisterVerifier{},
		ProveAttestation{Paths: make([][]merkle.Hash, AttestSamples)},
	} {
		b, err := EncodeTx(tx)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again, err := EncodeTx(tx)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded %T re-encodes to %x (%v), input %x", tx, again, err, b)
		}
	})
}

func FuzzImport(f *testing.F) {
	w := newWorld(f)
	w.attest(solverA, [32]byte{0xa1}, 2, 1<<40, gpu)
	w.must(w.apply(submitter, PostTask{ID: [32]byte{1}, Spec: mlpSpec(w.env.Time + 10000)}))
	st, _ := w.m.Export()
	f.Add(st)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, _ := New(w.m.cfg, w.ledger)
		root := m.Root()
		if err := m.Import(b); err != nil {
			if m.Root() != root {
				t.Fatal("failed import changed the state")
			}
			return
		}
		if again, _ := m.Export(); !bytes.Equal(again, b) {
			t.Fatal("import accepted a non-canonical state")
		}
	})
}

func TestSpecEncoding(t *testing.T) {
	s := mlpSpec(77)
	s.Req.Precisions, s.Req.BitExact = 3, true
	got, err := DecodeSpec(EncodeSpec(&s))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(EncodeSpec(&got), EncodeSpec(&s)) || got.Deadline != 77 || !got.Req.BitExact {
		t.Fatal("spec does not round-trip")
	}
	if _, err := DecodeSpec(EncodeSpec(&s)[:10]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated spec: %v", err)
	}
}

func TestEstimate(t *testing.T) {
	s := mlpSpec(10)
	e, err := s.Estimate(0)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Compile()
	if e.StepFLOPs != uint64(p.StepFLOPs()) || e.Units != e.StepGas*s.Steps || e.StepGas <= e.StepFLOPs {
		t.Fatalf("estimate %+v disagrees with the program's %d FLOPs", e, p.StepFLOPs())
	}
	if _, err := GasWeight(graph.Prim(200)); !errors.Is(err, ErrUnknownOp) {
		t.Fatalf("unknown primitive: %v", err)
	}
	for p := graph.PrimMatMul; p <= graph.PrimAdamW; p++ {
		if _, err := GasWeight(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	s.Steps = MaxSteps
	s.Batch = 60000
	if _, err := s.Estimate(0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("work beyond MaxUnits: %v", err)
	}
}

// TestBenchmarkOnReference: the reference backend's results hash to RoundLeaf, and a
// commitment over them passes the sampled check.
func TestBenchmarkOnReference(t *testing.T) {
	b, err := cpu.New(cpu.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	leaves, err := RunBenchmark(context.Background(), b, 42, MinRounds)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range leaves {
		if l != RoundLeaf(42, uint64(i)) {
			t.Fatalf("round %d: backend and integer reference differ", i)
		}
	}
	paths, _ := ProveSamples(leaves, [32]byte{1}, [32]byte{2})
	root := merkle.Root(leaves)
	if err := CheckSamples(42, [32]byte{1}, root, [32]byte{2}, MinRounds, paths); err != nil {
		t.Fatal(err)
	}
	if err := CheckSamples(43, [32]byte{1}, root, [32]byte{2}, MinRounds, paths); !errors.Is(err, ErrAttestation) {
		t.Fatalf("wrong seed: %v", err)
	}
}

func TestEstimateLargestGraph(t *testing.T) {
	g := deepMLP(t, graph.MaxNodes)
	s := TaskSpec{Graph: g.Encode(), GraphHash: g.Hash(), Dataset: Dataset{Samples: 100}, Batch: 64, Steps: 10, Deadline: 1, MaxPrice: *uint256.NewInt(1)}
	if _, err := s.Estimate(0); err != nil {
		t.Fatal(err)
	}
	s.Graph = append(s.Graph, 0)
	if _, err := s.Estimate(0); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("trailing byte: %v", err)
	}
}

// TestEstimateEqualsProgram: TaskSpec.Estimate, which never compiles, returns exactly what
// pricing the compiled program (EstimateProgram) returns, errors included, on the reference
// MLP and CNN, a tanh and average-pooling net, an MLP of 4,091 nodes, batch sizes from 1 to
// 60,000, both optimizers, and step counts up to MaxSteps (where the work exceeds MaxUnits).
func TestEstimateEqualsProgram(t *testing.T) {
	b := graph.NewBuilder(2, 6, 6)
	x := b.AvgPool2D(b.Tanh(b.Conv2D(b.Input(), 3, 3, 1, 0)), 2, 2)
	tanh, err := b.SoftmaxCrossEntropy(b.Dense(b.Tanh(b.Dense(b.Flatten(x), 5)), 3))
	if err != nil {
		t.Fatal(err)
	}
	graphs := map[string]*graph.Graph{"mlp": graph.FashionMLP(), "cnn": graph.FashionCNN(), "tanh": tanh, "deep": deepMLP(t, 4096)}
	for name, g := range graphs {
		t.Run(name, func(t *testing.T) {
			for _, batch := range []int{1, 64, 60000} {
				for _, opt := range []graph.Optimizer{{Kind: graph.SGD}, {Kind: graph.AdamW}} {
					for _, steps := range []uint64{1, 1000, MaxSteps} {
						s := TaskSpec{Graph: g.Encode(), GraphHash: g.Hash(), Dataset: Dataset{Samples: 60000}, Batch: batch,
							Optimizer: opt, Steps: steps, Deadline: 10, MaxPrice: *uint256.NewInt(1)}
						got, gerr := s.Estimate(0)
						var want Estimate
						p, werr := s.Compile()
						if werr == nil {
							want, werr = EstimateProgram(p, steps)
						}
						if got != want || (gerr == nil) != (werr == nil) || gerr != nil && !errors.Is(gerr, ErrTooLarge) && !errors.Is(gerr, ErrInvalidSpec) {
							t.Fatalf("batch %d opt %d steps %d: Estimate %+v (%v), program %+v (%v)", batch, opt.Kind, steps, got, gerr, want, werr)
						}
						for _, e := range []error{ErrTooLarge, ErrInvalidSpec} {
							if errors.Is(gerr, e) != errors.Is(werr, e) {
								t.Fatalf("batch %d steps %d: errors %v and %v differ in kind", batch, steps, gerr, werr)
							}
						}
					}
				}
			}
		})
	}
}

// TestEstimateWorkSaturated: a saturated FLOP count is ErrTooLarge, never a wrapped sum.
func TestEstimateWorkSaturated(t *testing.T) {
	var w graph.Work
	w.Instrs, w.Count[graph.PrimMatMul], w.FLOPs[graph.PrimMatMul] = 1, 1, math.MaxInt64
	if _, err := EstimateWork(&w, 1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("saturated FLOPs: %v", err)
	}
	w.FLOPs[graph.PrimMatMul] = 1 << 40
	w.Elements = 10
	e, err := EstimateWork(&w, 3)
	if err != nil || e.StepFLOPs != 1<<40 || e.StepGas != 1<<40+10 || e.Units != 3*(1<<40+10) || e.MemoryBytes != 40 {
		t.Fatalf("got %+v, %v", e, err)
	}
}
