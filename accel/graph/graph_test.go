package graph

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-go/deai/internal/golden"
)

func TestReferenceModels(t *testing.T) {
	tests := []struct {
		name    string
		g       *Graph
		params  int
		nodes   int
		classes int
	}{
		{"mlp", FashionMLP(), 784*128 + 128 + 128*10 + 10, 11, 10},
		{"cnn", FashionCNN(), 16*9 + 16 + 32*16*9 + 32 + 32*7*7*10 + 10, 19, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.g.ParamCount(); got != tt.params {
				t.Errorf("ParamCount = %d, want %d", got, tt.params)
			}
			if got := tt.g.Len(); got != tt.nodes {
				t.Errorf("Len = %d, want %d", got, tt.nodes)
			}
			if got := tt.g.Classes(); got != tt.classes {
				t.Errorf("Classes = %d, want %d", got, tt.classes)
			}
		})
	}
	cnn := FashionCNN()
	var shapes []string
	for _, n := range cnn.Nodes() {
		if n.Op != OpParam {
			shapes = append(shapes, fmt.Sprintf("%s%v", n.Op, n.Shape))
		}
	}
	want := "input[1 28 28] conv2d[16 28 28] bias_add[16 28 28] relu[16 28 28] maxpool2d[16 14 14] " +
		"conv2d[32 14 14] bias_add[32 14 14] relu[32 14 14] maxpool2d[32 7 7] flatten[1568] matmul[10] bias_add[10] softmax_cross_entropy[]"
	if got := strings.Join(shapes, " "); got != want {
		t.Errorf("CNN shapes:\n got %s\nwant %s", got, want)
	}
}

// TestGolden pins the canonical encodings' hashes and the compiled programs of the reference
// models: a change here changes every proof made with them. Regenerate with -rewrite.
func TestGolden(t *testing.T) {
	var b strings.Builder
	for _, m := range []struct {
		name string
		g    *Graph
	}{{"mlp", FashionMLP()}, {"cnn", FashionCNN()}} {
		fmt.Fprintf(&b, "graph %s %s\n", m.name, m.g.Hash())
		for _, opt := range []Optimizer{{Kind: SGD}, {Kind: AdamW}} {
			p, err := Compile(m.g, 64, opt)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "program %s b64 opt%d: %d slots, %d state, step %d FLOPs, forward %d FLOPs\n",
				m.name, opt.Kind, len(p.Slots), len(p.State), p.StepFLOPs(), p.ForwardFLOPs())
			for i, in := range p.Instrs {
				var ins, outs []string
				for _, s := range in.In {
					ins = append(ins, p.Slots[s].Name)
				}
				for _, s := range in.Out {
					outs = append(outs, p.Slots[s].Name)
				}
				fmt.Fprintf(&b, "  %2d %d %-18s %s <- %s (%d FLOPs)\n", i, in.Phase, in.Prim, strings.Join(outs, ","), strings.Join(ins, ","), p.FLOPs(in))
			}
		}
	}
	golden.Text(t, filepath.Join("testdata", "golden.txt"), b.String())
}

func TestMLPForwardFLOPs(t *testing.T) {
	p, err := Compile(FashionMLP(), 64, Optimizer{})
	if err != nil {
		t.Fatal(err)
	}
	// matmul 784→128, bias, relu, matmul 128→10, bias, softmax cross-entropy.
	want := int64(2*64*784*128 + 64*128 + 64*128 + 2*64*128*10 + 64*10 + 64*(5*10+4) + 1)
	if got := p.ForwardFLOPs(); got != want {
		t.Errorf("ForwardFLOPs = %d, want %d", got, want)
	}
	var total int64
	for _, c := range p.Costs() {
		total += c.Total()
	}
	if total != p.StepFLOPs() {
		t.Errorf("Costs sum to %d, StepFLOPs = %d", total, p.StepFLOPs())
	}
	// The backward pass of a dense layer costs twice its forward pass (dW and dX), except for
	// the first layer, whose input needs no gradient.
	costs := p.Costs()
	if c := costs[3]; c.Op != OpMatMul || c.Backward != 2*64*784*128 {
		t.Errorf("first matmul cost %+v, want backward %d (dW only)", c, 2*64*784*128)
	}
}

func TestBuilderErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func() (*Graph, error)
		want  string
	}{
		{"dense on image", func() (*Graph, error) {
			b := NewBuilder(1, 28, 28)
			return b.SoftmaxCrossEntropy(b.Dense(b.Input(), 10))
		}, "want rank 1"},
		{"conv on vector", func() (*Graph, error) {
			b := NewBuilder(784)
			return b.SoftmaxCrossEntropy(b.Conv2D(b.Input(), 4, 3, 1, 1))
		}, "want [C H W]"},
		{"window too large", func() (*Graph, error) {
			b := NewBuilder(1, 4, 4)
			return b.SoftmaxCrossEntropy(b.Dense(b.Flatten(b.MaxPool2D(b.Input(), 5, 1)), 2))
		}, "larger than the input"},
		{"one class", func() (*Graph, error) {
			b := NewBuilder(8)
			return b.SoftmaxCrossEntropy(b.Dense(b.Input(), 1))
		}, "2 <= classes"},
		{"zero-size input", func() (*Graph, error) {
			b := NewBuilder(0)
			return b.SoftmaxCrossEntropy(b.Dense(b.Input(), 2))
		}, "out of range"},
		{"huge input", func() (*Graph, error) {
			b := NewBuilder(1<<16, 1<<16)
			return b.SoftmaxCrossEntropy(b.Dense(b.Flatten(b.Input()), 2))
		}, "exceeds"},
		{"stride zero", func() (*Graph, error) {
			b := NewBuilder(1, 8, 8)
			return b.SoftmaxCrossEntropy(b.Dense(b.Flatten(b.Conv2D(b.Input(), 2, 3, 0, 1)), 2))
		}, "stride 0"},
		{"too many classes for a referee", func() (*Graph, error) {
			b := NewBuilder(8)
			return b.SoftmaxCrossEntropy(b.Dense(b.Input(), MaxClasses+1))
		}, "2 <= classes <= 8192"},
		{"too many filters for a referee", func() (*Graph, error) {
			b := NewBuilder(1, 8, 8) // 3x3 with 3641 filters: 9·7283 = 65,547 FLOPs per element
			return b.SoftmaxCrossEntropy(b.Dense(b.Flatten(b.Conv2D(b.Input(), 3641, 3, 1, 1)), 2))
		}, "MaxUnitWork"},
		{"pool window too large for a referee", func() (*Graph, error) {
			b := NewBuilder(1, 300, 300)
			return b.SoftmaxCrossEntropy(b.Dense(b.Flatten(b.MaxPool2D(b.Input(), 256, 256)), 2))
		}, "MaxUnitWork"},
		{"foreign value", func() (*Graph, error) {
			b := NewBuilder(8)
			return b.SoftmaxCrossEntropy(b.ReLU(Value{id: 42}))
		}, "does not belong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := tt.build()
			if err == nil {
				t.Fatalf("built %d nodes, want an error", g.Len())
			}
			if !errors.Is(err, ErrInvalidGraph) {
				t.Errorf("error %v is not ErrInvalidGraph", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, g := range []*Graph{FashionMLP(), FashionCNN(), tanhNet(t)} {
		enc := g.Encode()
		d, err := Decode(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Encode(), enc) || d.Hash() != g.Hash() {
			t.Errorf("round trip changed the graph")
		}
	}
	if FashionMLP().Hash() == FashionCNN().Hash() {
		t.Error("different graphs share a hash")
	}
}

func tanhNet(t testing.TB) *Graph {
	b := NewBuilder(2, 6, 6)
	x := b.AvgPool2D(b.Tanh(b.Conv2D(b.Input(), 3, 3, 1, 0)), 2, 2)
	g, err := b.SoftmaxCrossEntropy(b.Dense(b.Tanh(b.Dense(b.Flatten(x), 5)), 3))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// mutate returns a copy of enc with f applied.
func mutate(enc []byte, f func([]byte) []byte) []byte { return f(append([]byte(nil), enc...)) }

func TestDecodeErrors(t *testing.T) {
	enc := FashionMLP().Encode()
	// Offsets into the MLP encoding: header 14 bytes, then node 0 ("input", rank 1).
	const node1 = 14 + 1 + 1 + 5 + 1 + 1 + 4 + 12 + 1 + 8
	tests := []struct {
		name string
		enc  []byte
		is   error
		want string
	}{
		{"empty", nil, ErrMalformed, "truncated"},
		{"bad magic", mutate(enc, func(b []byte) []byte { b[0] = 'X'; return b }), ErrMalformed, "bad magic"},
		{"version", mutate(enc, func(b []byte) []byte { b[8] = 9; return b }), ErrMalformed, "unsupported version 9"},
		{"node count zero", mutate(enc, func(b []byte) []byte { copy(b[10:], []byte{0, 0, 0, 0}); return b }), ErrMalformed, "node count 0"},
		{"node count huge", mutate(enc, func(b []byte) []byte { copy(b[10:], []byte{0, 0, 0, 1}); return b }), ErrMalformed, "out of range"},
		{"node count over input", mutate(enc, func(b []byte) []byte { copy(b[10:], []byte{0, 4, 0, 0}); return b }), ErrMalformed, "cannot fit"},
		{"trailing", append(append([]byte(nil), enc...), 0), ErrMalformed, "trailing"},
		{"truncated", enc[:len(enc)-3], ErrMalformed, "truncated"},
		{"unknown op", mutate(enc, func(b []byte) []byte { b[node1] = 99; return b }), ErrInvalidGraph, "unknown op"},
		{"first not input", mutate(enc, func(b []byte) []byte { b[14] = byte(OpReLU); return b }), ErrInvalidGraph, "first node"},
		{"wrong stored shape", mutate(enc, func(b []byte) []byte { b[14+1+1+5+1+1] = 7; return b }), ErrInvalidGraph, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Decode(tt.enc)
			if err == nil {
				t.Fatalf("decoded %d nodes, want an error", g.Len())
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	// Every truncation fails cleanly.
	for i := range enc {
		if _, err := Decode(enc[:i]); err == nil {
			t.Fatalf("prefix of %d bytes decoded", i)
		}
	}
}

func TestCycleRejected(t *testing.T) {
	g := FashionMLP()
	nodes := g.Nodes()
	nodes[4].Inputs[0] = 6 // relu's matmul input now points forward: a cycle
	if _, err := newGraph(nodes); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("err = %v, want a cycle error", err)
	}
	nodes = g.Nodes()
	nodes[4].Inputs[0] = 4 // self-loop
	if _, err := newGraph(nodes); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("err = %v, want a cycle error", err)
	}
}

func TestCompileErrors(t *testing.T) {
	g := FashionMLP()
	if _, err := Compile(g, 0, Optimizer{}); err == nil {
		t.Error("batch 0 compiled")
	}
	if _, err := Compile(nil, 8, Optimizer{}); err == nil {
		t.Error("nil graph compiled")
	}
	err := Optimizer{Kind: AdamW, LR: -1, Beta1: 2, Beta2: 0.9, Eps: 1e-8}.Validate()
	if err == nil || !strings.Contains(err.Error(), "beta1") || !strings.Contains(err.Error(), "learning rate") {
		t.Errorf("Validate = %v, want both beta1 and learning rate named", err)
	}
}

func TestInitState(t *testing.T) {
	p, err := Compile(FashionMLP(), 4, Optimizer{Kind: AdamW})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := p.InitState(1), p.InitState(1), p.InitState(2)
	limit := float32(0.08748177) // sqrt(6/784)
	for i, s := range p.State {
		slot := p.Slots[s]
		switch {
		case slot.Name == "dense1.w":
			for _, v := range a[i] {
				if v < -limit || v >= limit {
					t.Fatalf("dense1.w value %v outside ±%v", v, limit)
				}
			}
			if fmt.Sprint(a[i][:4]) != fmt.Sprint(b[i][:4]) || fmt.Sprint(a[i][:4]) == fmt.Sprint(c[i][:4]) {
				t.Error("init is not a function of the seed")
			}
		case slot.Name == "adam.pow":
			if a[i][0] != 1 || a[i][1] != 1 {
				t.Errorf("adam.pow = %v, want [1 1]", a[i])
			}
		case slot.Kind == KindOptState || slot.Name == "dense1.b":
			for _, v := range a[i] {
				if v != 0 {
					t.Fatalf("%s not zero", slot.Name)
				}
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(FashionMLP().Encode())
	f.Add(FashionCNN().Encode())
	f.Add([]byte(encMagic))
	f.Add(tanhNet(f).Encode())
	f.Fuzz(func(t *testing.T, enc []byte) {
		g, err := Decode(enc)
		h, w, werr := DecodeWork(enc, 2, Optimizer{})
		if err != nil {
			// DecodeWork shares Decode's parser and validator: the same first error.
			if werr == nil || werr.Error() != err.Error() {
				t.Fatalf("Decode: %v; DecodeWork: %v", err, werr)
			}
			return
		}
		if sw, serr := g.StepWork(2, Optimizer{}); werr != nil || serr != nil || h != g.Hash() || w != sw {
			t.Fatalf("DecodeWork %v %+v (%v) differs from Decode and StepWork %v %+v (%v)", h, w, werr, g.Hash(), sw, serr)
		}
		if !bytes.Equal(g.Encode(), enc) {
			t.Fatalf("accepted a non-canonical encoding")
		}
		if _, err := Compile(g, 2, Optimizer{}); err != nil {
			t.Fatalf("a decoded graph does not compile: %v", err)
		}
	})
}
